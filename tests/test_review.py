"""`log list` (every filter, every format, newest first) and `log show`, as a producer uses them
on a small production's log; and what listing relies on to scale (the day index, no replay)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from safetycli import crew, review
from safetycli.cli import common
from safetycli.ledger import SCHEMA_VERSION, Ledger
from safetycli.review import RunFilter, _starts, run_summaries, summary
from safetycli.runner import replay
from tests.reviewdata import Production, build

LIST_KEYS = {"id", "protocol", "scene", "day", "status", "started_at", "ended_at", "holds"}
SHOW_KEYS = {"id", "protocol", "scene", "day", "status", "context", "signoffs", "holds"}
SIGNOFF_KEYS = {"seq", "at", "phase", "item", "answer", "by", "witnesses"}
HOLD_KEYS = {"item", "raised_at", "reason", "cleared_at", "cleared_by", "note"}


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        yield build(tmp_path_factory.mktemp("review") / "ws")


def ids(prod: Production, *args: str) -> list[str]:
    """Run labels that `log list ARGS --format json` gives, in its order."""
    by_id = {v: k for k, v in prod.runs.items()}
    return [by_id[r["id"]] for r in prod.json(["log", "list", *args])]


def one_line_error(prod: Production, args: list[str]) -> str:
    result = prod.invoke(args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- log list ------------------------------------------------------------------------------------


def test_newest_shooting_day_first_then_newest_start(prod: Production) -> None:
    assert ids(prod) == [
        "aborted",
        "wrong-pin",
        "held",
        "meeting",
        "open",
        "held-cleared",
        "clean",
    ]


def test_json_is_the_documented_contract(prod: Production) -> None:
    runs = prod.json(["log", "list"])
    assert all(set(r) == LIST_KEYS | {"scene_held"} for r in runs)
    clean = next(r for r in runs if r["id"] == prod.runs["clean"])
    assert clean["protocol"] == "test-scene"
    assert clean["scene"] == "12A"
    assert clean["day"] == "2026-03-02"
    assert clean["status"] == "complete"
    assert clean["holds"] == 0
    assert clean["started_at"] < clean["ended_at"]


def test_statuses_and_holds_match_a_full_replay_of_every_run(prod: Production) -> None:
    """The list reads a few lifecycle events per run instead of replaying it: it must agree with
    the replay, which is the truth."""
    with Ledger.open(prod.db) as ledger:
        fast = list(run_summaries(ledger))
        slow = [summary(replay(r["id"], ledger.events(run=r["id"]))) for r in fast]
    without_scene = [{k: v for k, v in r.items() if k != "scene_held"} for r in fast]
    assert without_scene == [{k: v for k, v in r.items() if k != "scene_held"} for r in slow]
    assert {r["status"] for r in fast} == {"open", "held", "complete", "aborted"}
    # A held run holds its whole scene, as `status` says: the meeting of scene 20 too.
    held = {r["id"] for r in fast if r["scene_held"]}
    assert held == {prod.runs["held"], prod.runs["meeting"]}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--day", "2026-03-03"], ["held", "meeting", "open"]),
        (["--day", "2026-03-05"], []),
        (["--from", "2026-03-03"], ["aborted", "wrong-pin", "held", "meeting", "open"]),
        (["--to", "2026-03-02"], ["held-cleared", "clean"]),
        (
            ["--from", "2026-03-02", "--to", "2026-03-03"],
            ["held", "meeting", "open"] + ["held-cleared", "clean"],
        ),
        (["--scene", "12A"], ["open", "clean"]),
        (["--scene", "12a"], ["open", "clean"]),
        (["--scene", "20", "--day", "2026-03-03"], ["held", "meeting"]),
        (["--status", "held"], ["held"]),
        (["--status", "open"], ["wrong-pin", "open"]),
        (["--status", "COMPLETE"], ["meeting", "held-cleared", "clean"]),
        (["--status", "aborted"], ["aborted"]),
        (["--protocol", "test-meeting"], ["meeting"]),
        (["--protocol", "no-such-protocol"], []),
        # Riley signed in as armorer for one run and as 1st AD for the meeting.
        (["--person", "Riley Chen"], ["meeting", "open"]),
        (["--person", "  riley CHEN "], ["meeting", "open"]),
        (["--person", "Riley Chen", "--role", "armorer"], ["open"]),
        (["--person", "Riley Chen", "--role", "first_ad"], ["meeting"]),
        # Jo only failed PINs in the aborted run; `open` stopped before the actor's first
        # check, and people sign in when their checks come up, so Jo never signed in there.
        (["--person", "Jo Park"], ["aborted"]),
        (["--person", "Nobody Here"], []),
        # On 2026-03-03 both runs stopped before any check of the actor's: the 2nd has them.
        (["--role", "actor", "--day", "2026-03-03"], []),
        (["--role", "actor", "--day", "2026-03-02"], ["held-cleared", "clean"]),
        (["--role", "first_ad", "--protocol", "test-meeting"], ["meeting"]),
        (["--role", "producer"], []),
    ],
)
def test_filters(prod: Production, args: list[str], expected: list[str]) -> None:
    assert ids(prod, *args) == expected


def test_person_includes_failed_pin_attempts_and_hold_clearances(prod: Production) -> None:
    """Alex's only part in the wrong-pin run is a refused PIN; Sam cleared holds in held-cleared."""
    assert "wrong-pin" in ids(prod, "--person", "alex kim")
    assert "held-cleared" in ids(prod, "--person", "Sam Ortiz", "--role", "armorer")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "2026-02-30"], "--day '2026-02-30' is not a date: use YYYY-MM-DD"),
        (["--day", "yesterday"], "--day 'yesterday' is not a date: use YYYY-MM-DD"),
        (["--from", "03/01/2026"], "--from '03/01/2026' is not a date: use YYYY-MM-DD"),
        (["--to", "2026-3-1x"], "--to '2026-3-1x' is not a date: use YYYY-MM-DD"),
        (["--day", "2026-03-02", "--from", "2026-03-01"], "give either --day or --from/--to"),
        (["--from", "2026-03-04", "--to", "2026-03-02"], "--from 2026-03-04 is after --to"),
        (["--status", "stopped"], "--status 'stopped' is not a run status: use one of open"),
        (["--role", "armourer"], "--role 'armourer' is not a role: roles are producer"),
        (["--scene", "  "], "--scene needs a value"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(prod: Production, args: list[str], message: str) -> None:
    assert one_line_error(prod, ["log", "list", *args]).startswith(f"error: {message}")


def test_csv_has_the_list_columns_and_every_run(prod: Production) -> None:
    result = prod.invoke(["log", "list", "--format", "csv", "--day", "2026-03-02"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "id,day,scene,protocol,status,holds,started_at,ended_at,scene_held"
    assert lines[1].startswith(f"{prod.runs['held-cleared']},2026-03-02,14,test-scene,complete,2,")
    assert len(lines) == 3


def test_piped_table_is_plain_lines_never_cut(prod: Production) -> None:
    """When piped, no Rich box and no `…`: every value whole, one run a line, tab-separated."""
    result = prod.invoke(["log", "list"], input=None)
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == [
        "id",
        "day",
        "scene",
        "protocol",
        "status",
        "holds",
        "started_at",
        "ended_at",
        "scene_held",
    ]
    assert len(lines) == 1 + len(prod.runs)
    assert all(len(line.split("\t")) == 9 for line in lines)
    assert "…" not in result.stdout and "┃" not in result.stdout
    assert max(len(line) for line in lines) > 80  # full timestamps: nothing was cut at 80


def test_terminal_table_shows_every_run(prod: Production, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    result = prod.invoke(["log", "list", "--day", "2026-03-03"])
    assert result.exit_code == 0
    assert "Runs" in result.stdout
    for label in ("meeting", "held", "open"):
        assert prod.runs[label] in result.stdout
    assert prod.runs["clean"] not in result.stdout
    empty = prod.invoke(["log", "list", "--day", "2026-01-01"])
    assert empty.stdout.strip() == "No runs."


# --- log show ------------------------------------------------------------------------------------


def test_show_json_keeps_the_contract_and_adds_the_timeline(prod: Production) -> None:
    detail = prod.json(["log", "show", prod.runs["held-cleared"]])
    assert SHOW_KEYS <= set(detail)
    assert set(detail["protocol"]) >= {"id", "version", "sha256"}
    assert detail["protocol"]["version"] == 3
    assert detail["context"] == {"blanks": False}
    for signoff in detail["signoffs"]:
        assert SIGNOFF_KEYS <= set(signoff)
        assert set(signoff["by"]) == {"name", "role"}
        for witness in signoff["witnesses"]:
            assert {"name", "role"} <= set(witness)
    first, second = detail["holds"]
    assert HOLD_KEYS <= set(first)
    assert first["item"] == "meeting-held"
    assert first["note"] == "Meeting re-held on set with everyone"
    assert first["cleared_by"] == [
        {"name": "Sam Ortiz", "role": "armorer"},
        {"name": "Dana Reyes", "role": "first_ad"},
    ]
    assert first["stopped_seconds"] >= 0
    assert second["note"] == "Second meeting, AD satisfied"
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[0] == "run.started" and kinds[-1] == "run.completed"
    assert [e["seq"] for e in detail["timeline"]] == sorted(e["seq"] for e in detail["timeline"])


def test_show_tells_the_story_in_order(prod: Production) -> None:
    out = prod.invoke(["log", "show", prod.runs["held-cleared"]]).stdout
    assert out.splitlines()[0] == (
        f"Run {prod.runs['held-cleared']}: test-scene v3 · scene 14 · day 2026-03-02 · COMPLETE"
    )
    order = [
        "signed in  Dana Reyes (1st AD)",
        "performed  prep · meeting-held = no · by Dana Reyes (1st AD) · answered no",
        "HOLD raised on prep · meeting-held by Dana Reyes (1st AD)",
        "HOLD cleared by Sam Ortiz (armorer), Dana Reyes (1st AD): "
        "Meeting re-held on set with everyone · work stopped",
        "performed  prep · meeting-held = yes · by Dana Reyes (1st AD)",
        # Each witness and read-back names the check it is for, whatever line is above it.
        "  witnessed prep · meeting-held by Sam Ortiz (armorer): yes",
        "performed  each-take take 1 · state-announced = EMPTY · by Sam Ortiz (armorer)",
        "  read back each-take take 1 · state-announced by Alex Kim (actor): EMPTY",
        "run COMPLETE",
        "Holds (2):",
        "All 10 signatures were by people signed in for their role.",
    ]
    positions = [out.index(text) for text in order]
    assert positions == sorted(positions)


def test_show_names_not_applicable_reasons_failed_pins_and_lockouts(prod: Production) -> None:
    clean = prod.invoke(["log", "show", prod.runs["clean"]]).stdout
    assert "not-applicable prep · weather-checked: Interior scene: no weather" in clean
    assert "by Dana Reyes (1st AD)" in clean
    assert "Not applicable (1):" in clean
    aborted = prod.invoke(["log", "show", prod.runs["aborted"]]).stdout
    assert aborted.count("PIN refused Jo Park (actor) for witness: wrong PIN") == 5
    assert "LOCKED OUT Jo Park after 5 wrong PINs" in aborted
    assert "run ABORTED by Dana Reyes (1st AD): Actor locked out; scene cut" in aborted
    assert "Failed PIN attempts: 5; lock-outs: 1" in aborted
    held = prod.invoke(["log", "show", prod.runs["held"]]).stdout
    assert "NOT CLEARED" in held and "work stopped still stopped" in held


def test_show_unknown_run_is_one_line_exit_2(prod: Production) -> None:
    assert one_line_error(prod, ["log", "show", "r-000000"]) == (
        "error: unknown run `r-000000`: see `safetycli log list`"
    )


def test_status_still_lists_open_and_held_runs(prod: Production) -> None:
    status = prod.json(["status"])
    runs = status["runs"]
    assert {r["id"] for r in runs} == {prod.runs[k] for k in ("open", "held", "wrong-pin")}
    held = next(r for r in runs if r["status"] == "held")
    assert held["hold"]["item"] == "state-announced"
    assert held["scene_held"] is True
    assert status["scene_holds"] == []


# --- how it scales -------------------------------------------------------------------------------


def test_a_day_is_found_through_the_day_index(prod: Production) -> None:
    """`log list --day` and `report --day` must not read every run start of the season."""
    with Ledger.open(prod.db) as ledger:
        query: list[str] = []
        ledger.db.set_trace_callback(query.append)
        list(_starts(ledger, RunFilter.build(day="2026-03-03"), newest_first=True))
        ledger.db.set_trace_callback(None)
        sql = next(q for q in query if "run.started" in q)
        plan = " ".join(str(row) for row in ledger.db.execute("EXPLAIN QUERY PLAN " + sql))
    assert "events_started_day" in plan


def test_an_older_log_gains_the_day_index_when_opened(prod: Production, tmp_path: Path) -> None:
    """A log written before the index existed (schema 2) is migrated on open and lists the same."""
    old = tmp_path / "old.db"
    shutil.copy(prod.db, old)
    db = sqlite3.connect(old)
    db.execute("DROP INDEX events_started_day")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    with Ledger.open(old) as ledger:
        version = ledger.db.execute("PRAGMA user_version").fetchone()[0]
        names = {r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master")}
        listed = [r["id"] for r in run_summaries(ledger, RunFilter.build(day="2026-03-03"))]
        assert ledger.verify().ok
    assert version == SCHEMA_VERSION >= 3
    assert "events_started_day" in names
    assert listed == [prod.runs[k] for k in ("held", "meeting", "open")]


def test_json_list_streams_the_same_bytes_as_a_whole_list(
    prod: Production, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [{"a": 1, "b": [1, 2]}, {"a": "x\ny"}]
    common.stream_json_list(iter(records))
    streamed = capsys.readouterr().out
    common.print_json(records)
    assert streamed == capsys.readouterr().out
    common.stream_json_list(iter([]))
    assert json.loads(capsys.readouterr().out) == []


def test_review_reads_the_log_only_through_the_storage_interface() -> None:
    """No SQL and no SQLite class in review: the central store must be able to serve it."""
    source = Path(review.__file__).read_text(encoding="utf-8")
    for sqlite_only in ("SELECT", "execute(", ".db.", "sqlite", "BEGIN", "COMMIT", "Ledger"):
        assert sqlite_only not in source, sqlite_only
