"""Once `verify` has found the log altered, every command says so until a verify passes.

The crew trial's insider: with the laptop, python's sqlite3 drops the log's update trigger,
rewrites the reason of a hold the crew raised and cleared earlier (and the row's hash, so the
row reads clean), and puts the trigger back. Only `verify` reads the whole chain, so before this
the set's everyday commands went on without a word. Driven as a crew drives it: separate
`safetycli` processes, stdout and stderr read apart."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pexpect
import pytest
from typer.testing import CliRunner

from safetycli.ledger import row_hash
from tests.test_alarm_report import rolled_back  # noqa: F401 - a fixture, used by name
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    DAY,
    clear_run,
    hold_run,
    ok,
    resume,
    safetycli_argv,
    start,
    subprocess_env,
    write_answers,
)

TRUE_REASON = "firing pin loose on the 4471"
FALSE_REASON = "actor asked for a re-check"


def safetycli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """One command in its own process, as at the set laptop's terminal."""
    done = subprocess.run(
        [*safetycli_argv(), *args],
        env=subprocess_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def alarms(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("ALARM: ")]


def rewrite(db_path: Path, seq: int, old: str, new: str) -> None:
    """What the insider did: the trigger dropped, the text replaced (with a hash that matches
    the new row, so the row itself reads clean), the trigger put back as it was."""
    db = sqlite3.connect(db_path)
    (trigger,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'events_no_update'"
    ).fetchone()
    db.execute("DROP TRIGGER events_no_update")
    at, kind, run, person, data, prev = db.execute(
        "SELECT at, kind, run, person, data, prev_hash FROM events WHERE seq = ?", (seq,)
    ).fetchone()
    assert old in data
    data = data.replace(old, new)
    digest = row_hash(seq, at, kind, run, person, data, prev)
    db.execute("UPDATE events SET data = ?, hash = ? WHERE seq = ?", (data, digest, seq))
    db.execute(trigger)
    db.commit()
    db.close()


def hold_seq(db_path: Path, reason: str) -> int:
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT seq FROM events WHERE kind = 'hold.raised' AND data LIKE ?", (f"%{reason}%",)
        ).fetchall()
    ((seq,),) = rows
    return int(seq)


@pytest.fixture
def tampered(cli: CliRunner, crewed: Path, tmp_path: Path) -> dict[str, Any]:
    """A run held for a loose firing pin, cleared and completed; then its hold's reason
    rewritten to something harmless. The log's everyday reads do not notice."""
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4, scene="12A")
    hold_run(cli, run_id, TRUE_REASON)
    clear_run(cli, run_id, "pin replaced, checked again")
    resume(cli, run_id, write_answers(tmp_path / "all.yaml"), expect=0)
    db_path = crewed / "log.db"
    seq = hold_seq(db_path, TRUE_REASON)
    rewrite(db_path, seq, TRUE_REASON, FALSE_REASON)
    # The premise, as the trial found it: the everyday commands say nothing of it.
    before = safetycli(crewed, "status", "--format", "json")
    assert before.returncode == 0 and json.loads(before.stdout)["warnings"] == []
    assert alarms(before) == []
    return {"home": crewed, "seq": seq, "run": run_id, "db": db_path}


def found_altered(home: Path, seq: int) -> None:
    done = safetycli(home, "verify")
    assert done.returncode == 1
    assert done.stdout.startswith(f"LOG ALTERED at event {seq}: ")
    assert "every command on this laptop that opens this log says so" in done.stdout


def test_after_verify_finds_the_log_altered_every_command_says_so(
    tampered: dict[str, Any], tmp_path: Path
) -> None:
    home, seq = tampered["home"], tampered["seq"]
    found_altered(home, seq)

    status = safetycli(home, "status")
    assert status.returncode == 0
    (line,) = alarms(status)
    assert f"found this log altered at event {seq}" in line and "until a verify passes" in line
    assert "ALARM" not in status.stdout  # said once, on stderr, as the other alarms

    as_json = safetycli(home, "status", "--format", "json")
    assert as_json.returncode == 0 and len(alarms(as_json)) == 1
    warnings = json.loads(as_json.stdout)["warnings"]
    assert len(warnings) == 1 and f"altered at event {seq}" in warnings[0]

    for args in (["log", "list"], ["incident", "list"], ["crew", "list"], ["armory", "list"]):
        done = safetycli(home, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert len(alarms(done)) == 1, args

    # The producer's day report carries it in the document itself, in every format.
    report = safetycli(home, "report", "--day", DAY, "--format", "json")
    assert report.returncode == 0 and len(alarms(report)) == 1
    data = json.loads(report.stdout)
    alarm = data["log_alarm"]
    assert (alarm["kind"], alarm["event"]) == ("altered", seq)
    assert alarm["line"].startswith(f"LOG ALTERED at event {seq}")
    page = tmp_path / "day.html"
    assert (
        safetycli(home, "report", "--day", DAY, "--format", "html", "-o", str(page)).returncode == 0
    )
    html = page.read_text(encoding="utf-8")
    assert html.index('id="log-alarm"') < html.index("<h1")
    assert f"event {seq} of this log altered" in html
    assert "<title>ALARM" in html
    md = safetycli(home, "report", "--day", DAY, "--format", "md").stdout
    assert "ALARM: safetycli verify found this log altered" in md.split("## ")[0]
    csv_first = safetycli(home, "report", "--day", DAY, "--format", "csv").stdout.splitlines()[1]
    assert csv_first.startswith("log-alarm,") and ",altered," in csv_first


def test_writing_commands_go_on_recording_and_say_it(tampered: dict[str, Any]) -> None:
    """A crew member must always be able to stop work: a hold is recorded after the alarm as
    before it, and the command that recorded it says the log is not to be trusted."""
    home, seq = tampered["home"], tampered["seq"]
    found_altered(home, seq)
    partial = home.parent / "partial.yaml"
    run = safetycli(
        home, "run", "firearm-scene", "--scene", "14", "--day", DAY, "--answers", str(partial)
    )
    assert run.returncode == 4 and len(alarms(run)) == 1
    listed = json.loads(safetycli(home, "log", "list", "--format", "json").stdout)
    (new_run,) = [r["id"] for r in listed if r["scene"] == "14"]

    hold = safetycli(
        home,
        *("hold", new_run, "--reason", "smoke near the cart", "--by", ACTOR[0], "--pin-stdin"),
        stdin=f"{ACTOR[1]}\n",
    )
    assert hold.returncode == 0 and len(alarms(hold)) == 1
    shown = json.loads(safetycli(home, "log", "show", new_run, "--format", "json").stdout)
    assert [h["reason"] for h in shown["holds"]] == ["smoke near the cart"]

    scene = safetycli(home, "hold", "--scene", "7B", "--reason", "loose cable", "--by", "Lee")
    assert scene.returncode == 0 and len(alarms(scene)) == 1
    status = json.loads(safetycli(home, "status", "--format", "json").stdout)
    assert [h["scene"] for h in status["scene_holds"]] == ["7B"]
    assert status["runs"][0]["hold"]["reason"] == "smoke near the cart"


def test_a_passing_verify_clears_it_and_says_so(tampered: dict[str, Any]) -> None:
    home, seq, db_path = tampered["home"], tampered["seq"], tampered["db"]
    found_altered(home, seq)
    assert alarms(safetycli(home, "status"))
    rewrite(db_path, seq, FALSE_REASON, TRUE_REASON)  # the log restored as the crew wrote it

    done = safetycli(home, "verify")
    assert done.returncode == 0 and done.stdout.startswith("Log intact")
    assert f"(from event {seq}) is cleared" in done.stdout
    status = safetycli(home, "status", "--format", "json")
    assert alarms(status) == [] and json.loads(status.stdout)["warnings"] == []
    report = json.loads(safetycli(home, "report", "--day", DAY, "--format", "json").stdout)
    assert report["log_alarm"] is None
    again = safetycli(home, "verify")  # nothing left to clear: nothing said about it
    assert again.returncode == 0 and "cleared" not in again.stdout


def test_verify_as_json_keeps_stdout_parseable_and_says_it_on_stderr(
    tampered: dict[str, Any],
) -> None:
    home, seq = tampered["home"], tampered["seq"]
    done = safetycli(home, "verify", "--format", "json")
    assert done.returncode == 1 and json.loads(done.stdout)["first_bad_seq"] == seq
    assert "every command on this laptop that opens this log says so" in done.stderr
    assert alarms(safetycli(home, "log", "list"))


def test_another_workspace_on_the_same_state_folder_is_not_told(
    tampered: dict[str, Any], cli: CliRunner, tmp_path: Path
) -> None:
    home, seq = tampered["home"], tampered["seq"]
    found_altered(home, seq)
    other = tmp_path / "other-production"
    ok(cli, ["init", "--home", str(other), "--production", "Another Show"])
    for args in (
        ["status"],
        ["log", "list"],
        ["hold", "--scene", "1", "--reason", "x", "--by", "L"],
    ):
        done = safetycli(other, *args)
        assert done.returncode == 0 and alarms(done) == [], args
    assert json.loads(safetycli(other, "status", "--format", "json").stdout)["warnings"] == []
    assert alarms(safetycli(home, "status"))  # the altered one still is


def test_a_new_log_made_where_the_altered_one_was_is_not_told(
    tampered: dict[str, Any], cli: CliRunner, tmp_path: Path
) -> None:
    """The workspace kept aside as evidence, a new one made at the same folder: its log has
    another first event, and the verdict is not about it."""
    home, seq = tampered["home"], tampered["seq"]
    found_altered(home, seq)
    shutil.move(home, tmp_path / "evidence")
    ok(cli, ["init", "--home", str(home), "--production", "Test Production"])
    done = safetycli(home, "status", "--format", "json")
    assert done.returncode == 0 and alarms(done) == []
    assert json.loads(done.stdout)["warnings"] == []


def test_deleting_the_verdict_only_removes_the_reminder(tampered: dict[str, Any]) -> None:
    home, seq = tampered["home"], tampered["seq"]
    found_altered(home, seq)
    (verdict,) = Path(subprocess_env(home)["SAFETYCLI_STATE_DIR"]).glob("*.verdict")
    verdict.unlink()
    assert alarms(safetycli(home, "status")) == []
    found_altered(home, seq)  # verify still finds it, and writes it down again
    assert alarms(safetycli(home, "status"))


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        '{"seq": 3}',
        '{"seq": "3", "why": "x", "more": 0, "found_at": "2026-11-26T04:00:00Z", "head": "1:a",'
        ' "first": "b", "workspace": "c"}',
    ],
    ids=["garbage", "fields missing", "wrong types"],
)
def test_a_verdict_file_that_cannot_be_read_stops_nothing(
    tampered: dict[str, Any], content: str
) -> None:
    home, seq = tampered["home"], tampered["seq"]
    found_altered(home, seq)
    (verdict,) = Path(subprocess_env(home)["SAFETYCLI_STATE_DIR"]).glob("*.verdict")
    verdict.write_text(content, encoding="utf-8")
    for args in (["status"], ["hold", "--scene", "9", "--reason", "x", "--by", "L"]):
        done = safetycli(home, *args)
        assert done.returncode == 0 and alarms(done) == [], args


def test_what_verify_finds_in_the_rosters_meaning_is_remembered_too(
    cli: CliRunner, crewed: Path
) -> None:
    """Not only a broken chain: a roster event with no producer's approval (a problem in what
    the log says, the chain whole) is a log that cannot be trusted, said by every command."""
    from safetycli import crew
    from safetycli.credentials import fingerprint
    from safetycli.ledger import Ledger
    from tests.walk_helpers import PRODUCER

    with Ledger.open(crewed / "log.db") as ledger:  # safetycli's own code, the PIN check skipped
        encoded = crew.hash_pin("6060", ledger.pepper)
        added = ledger.append(
            "crew.added",
            {
                "name": "Eve Mallory",
                "roles": ["armorer"],
                "approved_by": PRODUCER[0],
                "pin_fingerprint": fingerprint(encoded),
            },
            person="Eve Mallory",
            credential=("Eve Mallory", encoded),
        )
    done = safetycli(crewed, "verify")
    assert done.returncode == 1
    listed = safetycli(crewed, "log", "list")
    (line,) = alarms(listed)
    assert f"event {added.seq}" in line and "Eve Mallory" in line


def test_the_set_board_shows_a_verdict_found_while_it_is_up_and_its_clearing(
    tampered: dict[str, Any],
) -> None:
    """The monitor at video village: a verify run at another terminal turns the board's alarm
    on at its next tick, and the verify that passes turns it off."""
    home, seq, db_path = tampered["home"], tampered["seq"], tampered["db"]
    argv = safetycli_argv()
    board = pexpect.spawn(
        argv[0],
        [*argv[1:], "status", "--watch", "--interval", "0.2"],
        env={**subprocess_env(home), "TERM": "dumb"},
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    try:
        board.expect("SET BOARD")
        board.expect("No open or held runs")
        found_altered(home, seq)
        board.expect("LOG ALTERED: DO NOT RELY ON IT UNTIL A VERIFY PASSES")
        board.expect(rf"altered\s+at\s+event\s+{seq}")  # wrapped as the terminal's width
        rewrite(db_path, seq, FALSE_REASON, TRUE_REASON)
        assert safetycli(home, "verify").returncode == 0
        board.expect("SET BOARD")  # drawn again: the alarm is gone from the new drawing
        board.expect("No open or held runs")
        assert "LOG ALTERED" not in (board.before or "")
    finally:
        board.terminate(force=True)


def test_the_stderr_line_reads_in_spanish_for_a_spanish_crew(tampered: dict[str, Any]) -> None:
    home, seq = tampered["home"], tampered["seq"]
    found_altered(home, seq)
    env = {**subprocess_env(home), "SAFETYCLI_LANG": "es"}
    done = subprocess.run(
        [*safetycli_argv(), "status"], env=env, capture_output=True, text=True, timeout=60
    )
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("ALARM: ")]
    assert f"evento {seq}" in line
    # JSON is for programs: the same words in every language.
    done = subprocess.run(
        [*safetycli_argv(), "status", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"altered at event {seq}" in json.loads(done.stdout)["warnings"][0]


def test_the_armorer_and_the_first_ad_can_still_clear_a_hold(tampered: dict[str, Any]) -> None:
    """Clearing writes too: it is recorded, with the alarm said."""
    home, seq = tampered["home"], tampered["seq"]
    found_altered(home, seq)
    partial = home.parent / "partial.yaml"
    assert (
        safetycli(
            home, "run", "firearm-scene", "--scene", "3", "--day", DAY, "--answers", str(partial)
        ).returncode
        == 4
    )
    listed = json.loads(safetycli(home, "log", "list", "--format", "json").stdout)
    (run_id,) = [r["id"] for r in listed if r["scene"] == "3"]
    held = safetycli(
        home,
        *("hold", run_id, "--reason", "wrong prop", "--by", ARMORER[0], "--pin-stdin"),
        stdin=f"{ARMORER[1]}\n",
    )
    assert held.returncode == 0
    from tests.walk_helpers import CLEAR_PINS, CLEARERS

    cleared = safetycli(
        home, "clear", run_id, "--note", "swapped", *CLEARERS, "--pin-stdin", stdin=CLEAR_PINS
    )
    assert cleared.returncode == 0 and len(alarms(cleared)) == 1
    shown = json.loads(safetycli(home, "log", "show", run_id, "--format", "json").stdout)
    assert shown["holds"][0]["note"] == "swapped"


@pytest.mark.usefixtures("rolled_back")
def test_a_log_that_went_back_says_its_head_marks_alarm_once(cli: CliRunner) -> None:
    """An older copy put back: verify failed (and its verdict stands), and the head mark says it
    too. One ALARM line, the head mark's, which says what happened in its own words."""
    from tests.walk_helpers import invoke

    result = invoke(cli, ["log", "list"])
    assert result.exit_code == 0
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("ALARM: ")]
    assert "went backwards" in line


def test_deleting_the_first_event_does_not_make_it_another_log(tampered: dict[str, Any]) -> None:
    """The verdict names its log by the first event's hash; a log whose first event was then
    deleted is still this one, and still told."""
    home, seq, db_path = tampered["home"], tampered["seq"], tampered["db"]
    found_altered(home, seq)
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TRIGGER events_no_delete")
        db.execute("DELETE FROM events WHERE seq = 1")
    done = safetycli(home, "log", "list")
    assert done.returncode == 0 and len(alarms(done)) == 1
