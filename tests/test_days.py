"""The shooting day is the production's, not the laptop's (days.py).

A laptop left on UTC, a production in Denver: at 20:04 local it is already tomorrow in UTC. The
run started then, its incident, the roster change made a minute before it, and the report of
that evening must all agree on one day, Denver's. East of UTC (Tokyo) the laptop's date is the
day before. The laptop's clock is set as the other tests set it: the ledger's `now_utc` (every
event's time, and now `days.today`), and `session.clock` (the walk-through's pauses)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli import days, ledger, session
from tests.test_armory import PIN, armorer, stocked  # noqa: F401 (stocked: a fixture)
from tests.walk_helpers import ARMORER, PRODUCER, add_crew, invoke, ok, refused, write_answers


class LaptopClock:
    """The laptop's clock, set to a moment and ticking a millisecond per reading, so events
    keep their order."""

    def __init__(self, at: str) -> None:
        self.now = datetime.fromisoformat(at)

    def set(self, at: str) -> None:
        self.now = datetime.fromisoformat(at)

    def read(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def logged(self) -> str:
        return self.read().isoformat(timespec="microseconds").replace("+00:00", "Z")


@pytest.fixture
def laptop_clock(monkeypatch: pytest.MonkeyPatch) -> LaptopClock:
    clock = LaptopClock("2026-11-26T00:00:00+00:00")
    monkeypatch.setattr(ledger, "now_utc", clock.logged)
    monkeypatch.setattr(session, "clock", clock.read)
    return clock


def workspace_in(
    zone: str, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> Path:
    ws = tmp_path / "ws"
    ok(cli, ["init", "--home", str(ws), "--timezone", zone])
    monkeypatch.setenv("SAFETYCLI_HOME", str(ws))
    add_crew(ws / "log.db")
    return ws


def as_json(cli: CliRunner, args: list[str]) -> Any:
    return json.loads(ok(cli, [*args, "--format", "json"]).stdout)


# Denver is 7 hours behind UTC in November: 20:04 there is 03:04 the next day in UTC. Tokyo is
# 9 hours ahead: 08:04 there is 23:04 the day before in UTC.
EVENINGS = [
    pytest.param("America/Denver", "2026-11-25", "2026-11-26T03:04:00+00:00", id="denver"),
    pytest.param("Asia/Tokyo", "2026-11-26", "2026-11-25T23:04:00+00:00", id="tokyo"),
]


@pytest.mark.parametrize(("zone", "local_day", "started"), EVENINGS)
def test_a_run_its_incident_and_roster_change_fall_on_the_productions_day(
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cheap_scrypt: None,
    laptop_clock: LaptopClock,
    zone: str,
    local_day: str,
    started: str,
) -> None:
    at = datetime.fromisoformat(started)
    laptops_day = at.date().isoformat()
    assert laptops_day != local_day  # the laptop's calendar says another day

    def at_minute(offset: int) -> None:
        laptop_clock.set((at + timedelta(minutes=offset)).isoformat())

    at_minute(-10)
    workspace_in(zone, tmp_path, cli, monkeypatch)
    at_minute(-1)  # a roster change a minute before the run
    ok(cli, ["crew", "add", "Lee Grip", "--role", "dp", "--pin-stdin"], f"2468\n{PRODUCER[1]}\n")
    at_minute(0)  # the run, with no --day: the day under way where the production shoots
    done = write_answers(tmp_path / "done.yaml")
    assert (
        invoke(cli, ["run", "firearm-scene", "--scene", "12A", "--answers", str(done)]).exit_code
        == 0
    )
    at_minute(3)  # a second run stops on a hold
    failing = write_answers(tmp_path / "hold.yaml", answers={"meeting-held": False})
    held = invoke(cli, ["run", "firearm-scene", "--scene", "14", "--answers", str(failing)])
    assert held.exit_code == 3, held.output
    # The HOLD panel reads the raise on the run's own day: a clock time, no other date.
    assert re.search(rf"\b\d\d:0[67]:\d\d {re.escape(zone)}", held.stdout), held.stdout
    assert not re.search(rf"\d\d \d\d:0[67]:\d\d {re.escape(zone)}", held.stdout)
    at_minute(8)  # a misfire, reported and closed
    ok(
        cli,
        ["incident", "report", "--kind", "misfire", "--text", "click, no bang", "--by", ARMORER[0]],
    )
    (incident,) = as_json(cli, ["incident", "list"])
    by = ["--by", f"armorer={ARMORER[0]}", "--by", f"producer={PRODUCER[0]}", "--pin-stdin"]
    ok(
        cli,
        ["incident", "close", incident["id"], "--action", "swapped", *by],
        f"{ARMORER[1]}\n{PRODUCER[1]}\n",
    )

    # The runs are recorded for the production's day, and listed under it.
    listed = as_json(cli, ["log", "list"])
    assert sorted(r["day"] for r in listed) == [local_day, local_day]
    assert len(as_json(cli, ["log", "list", "--day", local_day])) == 2
    assert as_json(cli, ["log", "list", "--day", laptops_day]) == []
    (on_hold,) = as_json(cli, ["status"])["runs"]
    assert on_hold["day"] == local_day and on_hold["status"] == "held"
    panel = invoke(cli, ["status"]).stdout
    assert local_day in panel and laptops_day not in panel

    # The report with no --day is the production's today: the runs, the hold, the incident and
    # the roster change, each filed under that day.
    report = as_json(cli, ["report"])
    assert report["period"] == {"from": local_day, "to": local_day}
    counts = report["counts"]
    assert (counts["runs"], counts["complete"], counts["held"]) == (2, 1, 1)
    assert counts["holds"] == 1 and counts["incidents"] == 1
    (misfire,) = report["exceptions"]["incidents"]
    assert misfire["status"] == "closed" and misfire["day"] == local_day
    added = [r for r in report["exceptions"]["roster"] if r["name"] == "Lee Grip"]
    assert [r["day"] for r in added] == [local_day]
    assert _same_but_made(report, as_json(cli, ["report", "--day", local_day]))
    markdown = ok(cli, ["report"]).stdout
    assert "No runs in this period" not in markdown and "Lee Grip" in markdown

    # The laptop's own date holds none of it.
    other = as_json(cli, ["report", "--day", laptops_day])
    assert other["counts"]["runs"] == 0 and other["exceptions"]["incidents"] == []
    assert not [r for r in other["exceptions"]["roster"] if r["name"] == "Lee Grip"]


def _same_but_made(one: dict[str, Any], two: dict[str, Any]) -> bool:
    return {**one, "generated_at": None} == {**two, "generated_at": None}


# --- one rule: a local day as a range of the log's UTC times ------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "bounds"),
    [
        ("UTC", "2026-11-25", ("2026-11-25T00:00:00", "2026-11-26T00:00:00")),
        ("America/Denver", "2026-11-25", ("2026-11-25T07:00:00", "2026-11-26T07:00:00")),
        ("Asia/Tokyo", "2026-11-26", ("2026-11-25T15:00:00", "2026-11-26T15:00:00")),
        # The clocks change: a 23-hour day in March, a 25-hour one in November.
        ("America/Denver", "2026-03-08", ("2026-03-08T07:00:00", "2026-03-09T06:00:00")),
        ("America/Denver", "2026-11-01", ("2026-11-01T06:00:00", "2026-11-02T07:00:00")),
    ],
)
def test_a_local_day_is_the_utc_range_its_clocks_cover(
    zone: str, day: str, bounds: tuple[str, str]
) -> None:
    assert days.window(day, day, zone) == bounds
    assert days.window(None, day, zone) == (None, bounds[1])
    assert days.window(day, None, zone) == (bounds[0], None)


@pytest.mark.parametrize("zone", ["UTC", "America/Denver", "Asia/Tokyo", "Australia/Lord_Howe"])
def test_the_range_holds_exactly_the_times_that_fall_on_the_days_at_any_precision(
    zone: str,
) -> None:
    """What the report asks the log in SQL (`since <= at < until`, as text) is what a person
    reads: the local date of each time, whatever precision the time was logged at."""
    stamps: list[Callable[[datetime], str]] = [
        lambda t: t.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        lambda t: t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        lambda t: t.isoformat(timespec="seconds").replace("+00:00", "Z"),
    ]
    first, last = "2026-03-28", "2026-04-05"  # Lord Howe's half-hour change is on 04-05
    since, until = days.window(first, last, zone)
    checked = 0
    moment = datetime(2026, 3, 26, tzinfo=UTC)
    while moment < datetime(2026, 4, 8, tzinfo=UTC):
        # Each half hour (where every zone's midnight falls), and a hair either side of it.
        for near in (timedelta(microseconds=-1), timedelta(0), timedelta(seconds=1)):
            for stamp in stamps:
                at = stamp(moment + near)
                by_text = (since is None or at >= since) and (until is None or at < until)
                assert by_text == days.within(days.local_day(at, zone), first, last), (zone, at)
                checked += by_text
        moment += timedelta(minutes=30)
    assert checked > 9 * 48 * 3 * 3 - 30  # nine days, give or take a change of clocks


def test_the_days_events_outside_runs_are_read_through_the_kind_index(tmp_path: Path) -> None:
    """A report asks for the roster changes and refused PINs of its days by the kind index and
    their times, never by reading the whole log (issue 14's flat cost)."""
    from safetycli.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", "Index")
    add_crew(ws.db_path)
    seen: list[str] = []
    with ledger.Ledger.open(ws.db_path) as log:
        log.db.set_trace_callback(seen.append)
        since, until = days.window("2026-11-25", "2026-11-25", "America/Denver")
        list(log.outside_runs(["crew.added", "auth.failed"], since=since, until=until))
    (sql,) = [q for q in seen if "run IS NULL" in q]
    plan = " | ".join(
        str(row[3]) for row in sqlite3.connect(ws.db_path).execute(f"EXPLAIN QUERY PLAN {sql}")
    )
    assert "events_kind" in plan and not re.search(r"SCAN events(?! USING)", plan), plan


def test_the_armorys_shooting_day_is_the_productions(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    laptop_clock: LaptopClock,
) -> None:
    """A dummy check at 20:04 in Denver, on a laptop whose UTC date is already tomorrow, is
    that evening's; the laptop's date is not a day the armorer can name."""
    config = stocked / "config.toml"
    text = re.sub(r'(?m)^timezone = ".*"\n', "", config.read_text())
    config.write_text(f'timezone = "America/Denver"\n{text}')
    laptop_clock.set("2030-11-27T03:04:00+00:00")
    armorer(cli, "check-dummies", "--lot", "D-1", "--method", "rattle")
    shown = as_json(cli, ["armory", "show", "D-1"])
    assert [c["day"] for c in shown["checks"]] == ["2030-11-26"]
    ok(cli, ["armory", "rounds", "issue", "--lot", "D-1", "--count", "6", "--pin-stdin"], PIN)
    tomorrow = ["armory", "check-dummies", "--lot", "D-1", "--method", "rattle"]
    assert "--day 2030-11-27" in refused(
        cli, [*tomorrow, "--day", "2030-11-27", "--pin-stdin"], PIN
    )
