"""What stopped work on a laptop from the production's other laptops, in that laptop's own review.

Laptop B pulls a run held on laptop A (it holds B's scene 12A) and the stop-work of laptop C,
whose sync the server refused (unverified: a stop-work on 12A and a misfire). A producer
reviewing B's day must see each, and who lifted it: in `report` (every format), in `log show`
of B's run they stopped, in `log list`'s `scene_held` (as `status` says) and, for the misfire,
in `incident list` and `incident show`. Everything C wrote is data: escaped everywhere.

Runs against the real throwaway PostgreSQL (tests/pgserver.py) with real workspaces.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.test_central import Laptop, device_of, on, sync
from tests.test_central_forkstop import board, forked
from tests.walk_helpers import (
    ARMORER,
    CLEARERS,
    FIRST_AD,
    PRODUCER,
    cheap_pins,
    clear_run,
    hold_run,
    invoke,
    log_list,
    log_show,
    ok,
    write_answers,
)

# What another laptop's crew typed: Rich markup, HTML, Markdown and a spreadsheet formula.
ON_A = "[bold red]strap[/] <script>alert('a')</script> | *loose*"
ON_C = "<img src=x onerror=alert(1)> [link](http://x) smoke"
NAME_C = '=HYPERLINK("http://x") <b>Mallory</b>'
MISFIRE = "click <i>no bang</i> [red]x[/red]"


class _Text(HTMLParser):
    """The text a browser shows, and the tags it would build."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def shown_html(page: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.text).split()), parser.tags


def report(cli: CliRunner, day: str, fmt: str) -> str:
    return ok(cli, ["report", "--day", day, "--format", fmt]).stdout


def test_a_laptops_own_review_shows_what_other_laptops_stopped_it_with_and_who_lifted_it(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b, c = laptop("a"), laptop("b"), laptop("c")
    today = datetime.now(UTC).date().isoformat()
    for ws in (a, b, c, a):
        sync(cli, ws, central)
    forked(cli, c, central, tmp_path)
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run = ["run", "firearm-scene", "--scene", "12A", "--day", today, "--answers", str(partial)]
    on(b, monkeypatch)
    assert invoke(cli, run).exit_code == 4  # B's own run of 12A, left open
    (on_b,) = [r["id"] for r in log_list(cli)]
    on(a, monkeypatch)
    assert invoke(cli, run).exit_code == 4
    (on_a,) = [r["id"] for r in log_list(cli)]
    with cheap_pins():
        hold_run(cli, on_a, ON_A)
    sync(cli, a, central)

    # B's list marks its run's scene held by A's run, as its board does.
    on(b, monkeypatch)
    sync(cli, b, central)
    (listed,) = log_list(cli)
    (on_board,) = board(cli)["runs"]
    assert listed["scene_held"] is True and on_board["scene_held"] is True

    on(c, monkeypatch)
    hold = ["hold", "--scene", "12A", "--day", today, "--reason", ON_C, "--by", NAME_C]
    ok(cli, hold)
    ok(cli, ["incident", "report", "--kind", "misfire", "--text", MISFIRE])
    sync(cli, c, central, expect=1)

    on(b, monkeypatch)
    sync(cli, b, central)
    got = json.loads(report(cli, today, "json"))
    found = got["exceptions"]["from_other_laptops"]
    assert got["counts"]["from_other_laptops"] == len(found) == 3
    by_what = {(s["source"], s["kind"]): s for s in found}
    held_run = by_what[("held-run", "run hold")]
    assert (held_run["device"], held_run["run"], held_run["scene"]) == (device_of(a), on_a, "12A")
    assert held_run["reason"] == ON_A and held_run["cleared_at"] is None
    stop = by_what[("unverified", "stop-work")]
    assert (stop["device"], stop["scene"], stop["reason"]) == (device_of(c), "12A", ON_C)
    assert stop["raised_by"]["name"] == NAME_C and "equivocation" in stop["alarm"]
    misfire = by_what[("unverified", "incident")]
    assert MISFIRE in misfire["reason"] and misfire["ref"].startswith(device_of(c))
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert all(f"`{key}`" in readme for key in held_run), "report JSON keys, in the README"
    assert "`exceptions.from_other_laptops`" in readme

    markdown = report(cli, today, "md")
    assert "Stop-work from other laptops (3)" in markdown
    assert device_of(a) in markdown and device_of(c) in markdown
    assert re.search(r"(?<!\\)<", markdown) is None  # every < escaped: no tag is built
    assert "\\<script\\>" in markdown and "\\<img" in markdown
    assert "\\[bold red\\]strap" in markdown  # a Markdown link or markup reads as typed

    text, tags = shown_html(report(cli, today, "html"))
    assert "script" not in tags and "img" not in tags and "i" not in tags
    assert ON_A in text and ON_C in text and NAME_C in text and MISFIRE in text
    assert f"run {on_a} held on laptop {device_of(a)}" in text

    rows = list(csv.DictReader(io.StringIO(report(cli, today, "csv"))))
    ours = [r for r in rows if r["section"] == "from-other-laptops"]
    assert len(ours) == 3
    (c_row,) = [r for r in ours if r["scene"] == "12A" and device_of(c) in r["detail"]]
    assert c_row["name"] == "'" + NAME_C  # a spreadsheet shows it, never runs it
    assert "not cleared, unverified" in c_row["status"] and ON_C in c_row["detail"]

    # B's run, stopped by both: its record names each stop, from where, and that it is on.
    shown = log_show(cli, on_b)["stopped_from_other_laptops"]
    assert {(s["source"], s["device"]) for s in shown} == {
        ("held-run", device_of(a)),
        ("unverified", device_of(c)),
    }
    table = ok(cli, ["log", "show", on_b]).stdout
    assert "Stop-work from other laptops" in table
    assert ON_A in table and ON_C in table and MISFIRE in table  # Rich markup shown as typed

    # The misfire is in B's register, marked unverified, with what clears it.
    listed_incidents = json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)
    (unverified,) = [i for i in listed_incidents if i.get("unverified")]
    assert (unverified["device"], unverified["status"]) == (device_of(c), "open")
    assert unverified["text"] == MISFIRE
    assert f"--unverified {misfire['ref']}" in unverified["clear"]
    assert "producer" in unverified["must_close"]
    incident_table = ok(cli, ["incident", "list"]).stdout
    assert "UNVERIFIED" in incident_table and device_of(c) in incident_table
    one = json.loads(ok(cli, ["incident", "show", unverified["id"], "--format", "json"]).stdout)
    assert one["unverified"] is True and one["ref"] == misfire["ref"]
    told = ok(cli, ["incident", "show", unverified["id"]]).stdout
    assert "UNVERIFIED" in told and f"--unverified {misfire['ref']}" in told
    assert MISFIRE in " ".join(told.split())

    # Lifted: C's on B (a producer among those who clear), A's run on A; both synced.
    producer = ["--by", f"producer={PRODUCER[0]}", "--pin-stdin"]
    with cheap_pins():
        pins = f"{ARMORER[1]}\n{FIRST_AD[1]}\n{PRODUCER[1]}\n"
        clear = ["clear", "--scene", "12A", "--note", "checked <ok>", *CLEARERS, *producer]
        ok(cli, clear, input=pins)
        clear = ["clear", "--unverified", misfire["ref"], "--note", "pin replaced"]
        armorer = ["--by", f"armorer={ARMORER[0]}"]
        ok(cli, [*clear, *armorer, *producer], input=f"{ARMORER[1]}\n{PRODUCER[1]}\n")
    (listed,) = log_list(cli)
    assert listed["scene_held"] is True  # A's run still holds 12A
    on(a, monkeypatch)
    with cheap_pins():
        clear_run(cli, on_a, "strap replaced")
    sync(cli, a, central)
    on(b, monkeypatch)
    sync(cli, b, central)
    (listed,) = log_list(cli)
    (on_board,) = board(cli)["runs"]
    assert listed["scene_held"] is False and on_board["scene_held"] is False

    found = json.loads(report(cli, today, "json"))["exceptions"]["from_other_laptops"]
    assert len(found) == 3 and all(s["cleared_at"] for s in found)
    lines = {s["source"] + " " + s["kind"]: s["line"] for s in found}
    assert "strap replaced" in lines["held-run run hold"]
    assert (
        PRODUCER[0] in lines["unverified stop-work"]
        and "checked <ok>" in lines["unverified stop-work"]
    )
    assert "pin replaced" in lines["unverified incident"]
    text, _ = shown_html(report(cli, today, "html"))
    assert "checked <ok>" in text and "still on" not in text
    (closed,) = [
        i
        for i in json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)
        if i.get("unverified")
    ]
    assert closed["status"] == "closed" and closed["action"] == "pin replaced"
    assert closed["closed_by"] and closed["clear"] is None


def test_a_laptop_that_never_synced_has_no_such_section(cli: CliRunner, home: Path) -> None:
    """A laptop working alone reads nothing more, and its report is as it was."""
    got = json.loads(ok(cli, ["report", "--format", "json"]).stdout)
    assert "from_other_laptops" not in got["exceptions"]
    assert "Stop-work from other laptops" not in ok(cli, ["report", "--format", "md"]).stdout


# --- the filters, on another laptop's pulled holds (no server needed) ------------------------


class _Pulled:
    """A laptop's review source as elsewhere.py reads it: its pulled `foreign.db`, no key."""

    key = None

    def __init__(self, foreign: Any) -> None:
        self._foreign = foreign

    def foreign(self) -> Any:
        return self._foreign

    def unverified_stops(self) -> list[Any]:
        return []


def other_laptops_season(tmp_path: Path) -> Any:
    """Laptop X's chain, pulled: runs of scene 12A on three days, each started among other runs'
    starts (so a start must be found by its run, not as the nearest one), held and cleared;
    the last still on."""
    from safetycli.central.foreign import ForeignLog
    from safetycli.ledger import canonical_json, row_hash
    from safetycli.storage import GENESIS

    chain: list[tuple[str, str | None, dict[str, Any]]] = []
    for day, run, still in (("2026-10-01", "rx-1", False), ("2026-10-29", "rx-2", False)) + (
        ("2026-11-20", "rx-3", True),
    ):
        chain.append((f"{day}T09:00:00.000000Z", run, {"scene": "12A", "day": day}))
        chain.append((f"{day}T09:01:00.000000Z", f"{run}-other", {"scene": "9", "day": day}))
        hold = {"reason": f"held on {day}", "raised_by": {"name": "Sam", "role": "armorer"}}
        chain.append((f"{day}T10:00:00.000000Z", run, {"hold": hold}))
        if not still:
            chain.append((f"{day}T11:00:00.000000Z", run, {"note": f"ok {day}"}))
    rows, prev = [], GENESIS
    for seq, (at, run, data) in enumerate(chain, start=1):
        if "scene" in data:
            kind, payload = "run.started", {**data, "protocol": {"id": "p"}, "context": {}}
        elif "hold" in data:
            kind, payload = "hold.raised", data["hold"]
        else:
            kind = "hold.cleared"
            payload = {"note": data["note"], "cleared_by": [{"name": "Dana", "role": "first_ad"}]}
        text = canonical_json(payload)
        digest = row_hash(seq, at, kind, run, None, text, prev)
        rows.append((seq, at, kind, run, None, text, prev, digest, None))
        prev = digest
    foreign = ForeignLog.open(tmp_path / "foreign.db")
    assert foreign.add("laptop-x", len(rows), prev, rows) == (len(rows), None)
    return foreign


def test_a_days_review_names_the_other_laptops_holds_of_its_day_and_those_still_on(
    tmp_path: Path,
) -> None:
    from safetycli import elsewhere

    source = _Pulled(other_laptops_season(tmp_path))
    since, until = elsewhere.around("2026-10-29", "2026-10-29")
    near = elsewhere.held_runs(source, since, until)  # type: ignore[arg-type]
    assert {(s.run, s.day) for s in near} == {("rx-2", "2026-10-29"), ("rx-3", "2026-11-20")}
    day = elsewhere.in_period(near, "2026-10-29", "2026-10-29")
    assert [(s.run, s.note, s.is_on) for s in day] == [
        ("rx-2", "ok 2026-10-29", False),
        ("rx-3", None, True),  # still on: whenever raised
    ]
    assert "cleared at 2026-10-29T11:00:00.000000Z by Dana: ok 2026-10-29" in day[0].line
    every = elsewhere.held_runs(source)  # type: ignore[arg-type]
    assert [s.run for s in every] == ["rx-1", "rx-2", "rx-3"]


def test_a_runs_record_names_only_what_stopped_its_scene_while_it_was_under_way(
    tmp_path: Path,
) -> None:
    from safetycli import elsewhere

    every = elsewhere.held_runs(_Pulled(other_laptops_season(tmp_path)))  # type: ignore[arg-type]

    def during(scene: str, day: str, start: str, end: str | None) -> list[str | None]:
        return [s.run for s in elsewhere.during(every, scene, day, start, end)]

    assert during("12a", "2026-10-29", "2026-10-29T09:30:00Z", "2026-10-29T10:30:00Z") == ["rx-2"]
    # Cleared before it started; raised after it ended; another scene: none of them.
    assert during("12A", "2026-10-29", "2026-10-29T11:30:00Z", None) == ["rx-3"]
    assert during("12A", "2026-10-29", "2026-10-29T08:00:00Z", "2026-10-29T09:59:00Z") == []
    assert during("9", "2026-10-29", "2026-10-29T09:30:00Z", None) == []
