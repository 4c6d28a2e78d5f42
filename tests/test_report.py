"""`safetycli report`: what a producer reads at the end of a day, in every format: exceptions first,
each run with its signers, the log's head to check later, and the impossible made visible."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from safetycli import crew
from safetycli.ledger import Ledger
from tests.reviewdata import PRODUCER, Production, build

PERIOD = ["--from", "2026-03-01", "--to", "2026-03-31"]


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        yield build(tmp_path_factory.mktemp("report") / "ws")


@pytest.fixture(scope="module")
def season(prod: Production) -> dict:  # type: ignore[type-arg]
    return prod.json(["report", *PERIOD])  # type: ignore[no-any-return]


def report(prod: Production, *args: str) -> str:
    result = prod.invoke(["report", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def head(prod: Production) -> str:
    with Ledger.open(prod.db) as ledger:
        seq, digest = ledger.head()
    return f"{seq}:{digest}"


# --- Markdown, the default -----------------------------------------------------------------------


def test_exceptions_come_before_the_runs_and_every_kind_is_named(prod: Production) -> None:
    md = report(prod, *PERIOD)
    headings = re.findall(r"^#+ .*$", md, flags=re.MULTILINE)
    assert headings[0] == "# Firearm safety report: Night Train: 2026-03-01 to 2026-03-31"
    assert headings[1:15] == [
        "## Exceptions",
        "### Incidents and complaints (0)",
        "### Holds: work stopped (3)",
        "### Stop-work on a scene (0)",
        "### Corrections: answers put right afterwards (0)",
        "### Roster changes and PIN resets (0)",
        "### Runs answered from a file, not at the keyboard (7)",
        "### Refused items (3)",
        "### Not applicable (1)",
        "### Runs left open or aborted (4)",
        "### Failed PIN attempts (6)",
        "### Lock-outs (1)",
        "### Signatures by someone not signed in for the item",
        "## Runs",
    ]
    assert md.index("## Exceptions") < md.index("## Runs")


def test_holds_say_who_raised_why_who_cleared_the_note_and_how_long(prod: Production) -> None:
    md = report(prod, *PERIOD)
    held_cleared = prod.runs["held-cleared"]
    row = next(line for line in md.splitlines() if "Meeting re-held on set" in line)
    # The check by its question, the id in small print.
    assert row.startswith(
        f"| {held_cleared} · scene 14 | Safety meeting held where the scene is shot? "
        "(meeting-held) |"
    )
    assert "Dana Reyes (1st AD)" in row
    assert "Safety meeting held where the scene is shot? -- answered no" in row
    assert "Sam Ortiz (armorer), Dana Reyes (1st AD)" in row
    assert re.search(r"\| \d+ s \|$", row)
    open_hold = next(line for line in md.splitlines() if "NOT VERIFIED: stop | **NOT" in line)
    assert open_hold.endswith("| still stopped |")


def test_unfinished_runs_say_why(prod: Production) -> None:
    md = report(prod, *PERIOD)
    section = md[md.index("### Runs left open or aborted") : md.index("### Failed PIN")]
    assert f"| {prod.runs['open']} · scene 12A | test-scene | **OPEN** |" in section
    assert "left open: resume it or abort it" in section
    assert (
        "**HELD**" in section and "held: State of the firearm -- answered NOT VERIFIED" in section
    )
    assert "aborted by Dana Reyes (1st AD): Actor locked out; scene cut" in section
    assert prod.runs["clean"] not in section


def test_failed_pins_and_lockouts(prod: Production) -> None:
    md = report(prod, *PERIOD)
    pins = md[md.index("### Failed PIN attempts") : md.index("### Lock-outs")]
    assert pins.count("| Jo Park (actor) | witness | wrong PIN |") == 5
    assert "| Alex Kim (actor) | sign-in | wrong PIN |" in pins
    lockouts = md[md.index("### Lock-outs") : md.index("### Signatures")]
    assert "| Jo Park | locked out |" in lockouts


def test_no_signature_by_anyone_not_signed_in_is_stated_not_implied(prod: Production) -> None:
    md = report(prod, *PERIOD)
    assert (
        "None found: each of the 39 signatures in 7 runs was checked against the run's roll call"
        in md
    )


def test_each_run_in_order_with_its_signers(prod: Production) -> None:
    md = report(prod, *PERIOD)
    runs = md[md.index("## Runs") :]
    titles = re.findall(r"^### \d+\. (.*)$", runs, flags=re.MULTILINE)
    assert titles == [
        "2026-03-02 · scene 12A · test-scene v3 · COMPLETE",
        "2026-03-02 · scene 14 · test-scene v3 · COMPLETE",
        "2026-03-03 · scene 12A · test-scene v3 · OPEN",
        "2026-03-03 · scene 20 · test-meeting v1 · COMPLETE",
        "2026-03-03 · scene 20 · test-scene v3 · HELD",
        "2026-03-04 · scene 31 · test-scene v3 · OPEN",
        "2026-03-04 · scene 32 · test-scene v3 · ABORTED",
    ]
    assert "Signed in: Riley Chen (1st AD)\n" in runs
    # People sign in when their first check comes up: the open run stopped (no answer for the
    # firearms list) before any check of the actor's, so Jo never signed in there.
    assert "Signed in: Dana Reyes (1st AD); Riley Chen (armorer)\n" in runs


def test_the_foot_prints_the_log_head_and_how_to_check_it(prod: Production) -> None:
    md = report(prod, *PERIOD)
    anchor = head(prod)
    seq, digest = anchor.split(":")
    assert f"Log head: event {seq}, hash `{digest}`." in md
    assert md.rstrip().endswith(f"safetycli verify --expect-head {anchor}")


def test_a_day_holds_only_that_days_runs(prod: Production) -> None:
    data = prod.json(["report", "--day", "2026-03-02"])
    assert [r["id"] for r in data["runs"]] == [prod.runs["clean"], prod.runs["held-cleared"]]
    assert data["period"] == {"from": "2026-03-02", "to": "2026-03-02"}
    assert data["counts"]["holds"] == 2
    assert data["exceptions"]["unfinished"] == []
    assert data["exceptions"]["failed_pins"] == []


def test_default_is_today_and_an_empty_day_says_so(prod: Production) -> None:
    md = report(prod)
    assert f"# Firearm safety report: Night Train: {date.today().isoformat()}" in md
    assert "No runs in this period." in md
    # Every section but one says None: the crew was put on the roster today, and that shows.
    assert md.count("None.") == 10
    assert "### Roster changes and PIN resets (6)" in md


# --- JSON and CSV --------------------------------------------------------------------------------


def test_json_report(prod: Production, season: dict) -> None:  # type: ignore[type-arg]
    assert set(season) >= {"period", "counts", "exceptions", "runs", "head", "verify_command"}
    assert season["counts"] == {
        "runs": 7,
        "open": 2,
        "held": 1,
        "complete": 3,
        "aborted": 1,
        "signatures": 39,
        "incidents": 0,
        "open_incidents": 0,
        "holds": 3,
        "refused": 3,
        "not_applicable": 1,
        "failed_pins": 6,
        "lockouts": 1,
        "not_signed_in": 0,
        "scene_holds": 0,
        "corrections": 0,
        "roster_changes": 0,
        "answers_file_runs": 7,
    }
    hold = season["exceptions"]["holds"][0]
    assert hold["run"] == prod.runs["held-cleared"]
    assert hold["cleared_by"][0] == {"name": "Sam Ortiz", "role": "armorer"}
    assert hold["stopped_seconds"] >= 0
    na = season["exceptions"]["not_applicable"][0]
    assert (na["item"], na["reason"]) == ("weather-checked", "Interior scene: no weather")
    assert na["by"] == {"name": "Dana Reyes", "role": "first_ad"}
    assert f"{season['head']['seq']}:{season['head']['hash']}" == head(prod)
    assert season["exceptions"]["not_signed_in"] == {"checked": 39, "found": []}


def test_csv_report_is_one_flat_table(prod: Production) -> None:
    rows = list(csv.DictReader(io.StringIO(report(prod, *PERIOD, "--format", "csv"))))
    sections = [r["section"] for r in rows]
    assert sections.count("hold") == 3
    assert sections.count("run") == 7
    assert sections.index("hold") < sections.index("run")
    assert sections[-1] == "log-head"
    assert rows[-1]["detail"] == head(prod)
    cleared = next(r for r in rows if r["section"] == "hold" and r["status"] == "cleared")
    assert cleared["cleared_by"] == "Sam Ortiz (armorer), Dana Reyes (first_ad)"
    assert cleared["note"] == "Meeting re-held on set with everyone"
    run = next(r for r in rows if r["section"] == "run" and r["run"] == prod.runs["meeting"])
    assert run["detail"] == "first_ad: Riley Chen"


# --- HTML, files, bad input ----------------------------------------------------------------------


def test_html_is_one_self_contained_file_that_runs_nothing(
    prod: Production, tmp_path: Path
) -> None:
    out = tmp_path / "day.html"
    result = prod.invoke(["report", *PERIOD, "--format", "html", "-o", str(out)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.strip() == f"Report written to {out}"
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "@import" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert '<meta name="viewport"' in html
    assert "@media print" in html
    assert html.index('id="exceptions"') < html.index('id="runs"')
    assert head(prod).split(":")[1] in html


def test_output_file_replaces_an_old_report_whole(prod: Production, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    out.write_text("old report\n" * 1000, encoding="utf-8")
    assert prod.invoke(["report", "--day", "2026-03-02", "-o", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("# Firearm safety report")
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "2026-13-01"], "error: --day '2026-13-01' is not a date: use YYYY-MM-DD"),
        (["--day", "2026-03-02", "--to", "2026-03-03"], "error: give either --day or --from/--to"),
        (["--from", "2026-03-09", "--to", "2026-03-01"], "error: --from 2026-03-09 is after --to"),
    ],
)
def test_bad_dates_are_one_line_and_exit_2(prod: Production, args: list[str], message: str) -> None:
    result = prod.invoke(["report", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(message)


# --- what should never happen, shown when it does ----------------------------------------------


def test_a_signature_by_someone_not_signed_in_is_reported(prod: Production, tmp_path: Path) -> None:
    """The walk-through cannot produce this; a log edited through another tool (or a bug) could.
    The report must find it rather than trust the walk-through."""
    copy = Production(tmp_path / "ws", runs=dict(prod.runs))
    shutil.copytree(prod.home, copy.home)
    run_id = prod.runs["clean"]
    with Ledger.open(copy.db) as ledger:
        ledger.append(
            "item.performed",
            {
                "phase": "prep",
                "take": None,
                "item": "meeting-held",
                "answer": True,
                "name": "Riley Chen",
                "role": "first_ad",
                "ok": True,
                "reason": None,
            },
            run=run_id,
            person="Riley Chen",
        )
    data = copy.json(["report", "--day", "2026-03-02"])
    found = data["exceptions"]["not_signed_in"]["found"]
    assert [(f["run"], f["name"], f["role"], f["item"]) for f in found] == [
        (run_id, "Riley Chen", "first_ad", "meeting-held")
    ]
    md = report(copy, "--day", "2026-03-02")
    assert "**1 found.** Among 22 signatures in 2 runs" in md
    shown = copy.invoke(["log", "show", run_id]).stdout
    assert "Signatures by someone not signed in: 1" in shown


def test_failed_pins_outside_any_run_are_on_the_day_they_happened(
    prod: Production, tmp_path: Path
) -> None:
    """A wrong producer PIN while approving a roster change belongs to no run: it is reported on
    the (UTC) calendar day it happened."""
    copy = Production(tmp_path / "ws", runs=dict(prod.runs))
    shutil.copytree(prod.home, copy.home)
    with pytest.MonkeyPatch.context() as mp, Ledger.open(copy.db) as ledger:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        with pytest.raises(crew.AuthError):
            crew.add_member(ledger, "Lee Grant", ["dp"], "2468", (PRODUCER[0], "0000"))
    today = date.today().isoformat()
    data = copy.json(["report", "--day", today])
    (entry,) = data["exceptions"]["failed_pins"]
    assert (entry["run"], entry["name"], entry["reason"]) == (None, "Pat Producer", "wrong-pin")
    assert "| outside any run |" in report(copy, "--day", today)


def test_roster_changes_and_file_runs_are_what_an_investigator_reads_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Who was put on the roster, whose PIN a producer reset (and whether they changed their
    own), and which runs were answered from a file rather than by people at the keyboard."""
    monkeypatch.setattr(crew, "SCRYPT_N", 2**8)
    prod = build(tmp_path / "ws")
    with Ledger.open(prod.db) as ledger:
        crew.set_pin(ledger, "Sam Ortiz", "2580", approver=("Pat Producer", "9137"), old_pin="4821")
        crew.set_pin(ledger, "Dana Reyes", "3690", old_pin="1170")
    today = prod.json(["report"])
    roster = {(r["name"], r["what"]) for r in today["exceptions"]["roster"]}
    assert ("Sam Ortiz", "PIN reset by Pat Producer") in roster
    assert ("Dana Reyes", "changed their own PIN") in roster
    assert ("Sam Ortiz", "added as armorer, approved by Pat Producer") in roster
    md = report(prod)
    assert "PIN reset by Pat Producer" in md
    season = prod.json(["report", *PERIOD])
    files = {a["run"] for a in season["exceptions"]["answers_file_runs"]}
    assert prod.runs["clean"] in files


def test_html_summary_chips_count_every_kind_of_exception(prod: Production, tmp_path: Path) -> None:
    counts = json.loads(prod.invoke(["report", *PERIOD, "--format", "json"]).stdout)["counts"]
    out = tmp_path / "day.html"
    assert prod.invoke(["report", *PERIOD, "--format", "html", "-o", str(out)]).exit_code == 0
    html = out.read_text(encoding="utf-8")
    chips = html[html.index('<ul class="counts"') : html.index("</ul>")]
    assert counts["answers_file_runs"] > 0  # the data holds some: a chip counts them
    for key, one, many in (
        ("scene_holds", "scene stop-work", "scene stop-works"),
        ("corrections", "correction", "corrections"),
        ("roster_changes", "roster change", "roster changes"),
        ("answers_file_runs", "run from a file", "runs from a file"),
    ):
        n = counts[key]
        alert = ' class="alert"' if n else ""
        assert f"<li{alert}><b>{n}</b> {one if n == 1 else many}</li>" in chips
