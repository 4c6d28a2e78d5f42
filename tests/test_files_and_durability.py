"""Issue 10, items 3 and 5: the attacks an insider with the laptop used, reproduced, and now
caught, refused or reported. Files and secrets: private modes, PIN hashes out of the log, answers
files. Nothing lost silently: the high-water mark, and SQLite's failures as one line."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from safetycli import crew
from safetycli import ledger as ledger_module
from safetycli.events import HOLD_RAISED
from safetycli.headmark import HeadMarks
from safetycli.ledger import Ledger
from safetycli.storage import LogUnwritable
from safetycli.workspace import find_workspace
from tests.test_run_cli import invoke
from tests.walk_helpers import ACTOR, ARMORER, add_crew, subprocess_env, write_answers

DAY = "2026-11-23"
HASH_TEXT = b"scrypt$"  # how every stored PIN hash begins


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crew, "SCRYPT_N", 2**8)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask (022): files are private because safetycli makes them so."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def crewed(home: Path) -> Path:
    add_crew(home / "log.db")
    return home


def one_line(result: Result, code: int) -> str:
    """Exit `code` and exactly one line on stderr; returns it without `error: `."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0].removeprefix("error: ")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def start_run(cli: CliRunner, answers: Path, expect: int) -> str:
    result = invoke(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(answers)]
    )
    assert result.exit_code == expect, result.output
    with Ledger.open(find_workspace().db_path, create=False) as ledger:
        return str(ledger.latest(kinds=["run.started"])[0].run)


def file_bytes(home: Path, name: str) -> bytes:
    return b"".join(p.read_bytes() for p in (home / name, home / f"{name}-wal") if p.exists())


# --- item 3: files and secrets -------------------------------------------------------------------


def test_a_new_workspace_is_private_whatever_the_umask(
    cli: CliRunner, tmp_path: Path, loose_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    assert invoke(cli, ["init", "--home", str(ws)]).exit_code == 0
    monkeypatch.setenv("SAFETYCLI_HOME", str(ws))
    add_crew(ws / "log.db")
    assert mode(ws) == 0o700 and mode(ws / "checklists") == 0o700
    for name in ("config.toml", "log.db", "credentials.db", "log.head"):
        assert mode(ws / name) == 0o600, name
    (outside,) = (tmp_path / "state").iterdir()
    assert mode(outside) == 0o600 and mode(outside.parent) == 0o700
    with Ledger.open(ws / "log.db", create=False) as ledger:  # -wal and -shm exist while open
        ledger.append("take.next", {})
        for name in ("log.db-wal", "log.db-shm"):
            assert mode(ws / name) == 0o600, name


def test_a_loose_workspace_is_tightened_when_opened(cli: CliRunner, crewed: Path) -> None:
    """Tightened rather than warned about: a warning on every command is soon ignored, and only
    the owner's account uses these files."""
    os.chmod(crewed, 0o755)
    for name in ("config.toml", "log.db", "credentials.db"):
        os.chmod(crewed / name, 0o644)
    assert invoke(cli, ["crew", "list"]).exit_code == 0
    assert mode(crewed) == 0o700
    for name in ("config.toml", "log.db", "credentials.db"):
        assert mode(crewed / name) == 0o600, name


def test_an_exported_log_carries_no_pin_hash(cli: CliRunner, crewed: Path, tmp_path: Path) -> None:
    """`verify` tells people to copy log.db as evidence: the copy has no hash to guess from."""
    result = invoke(cli, ["crew", "set-pin", ACTOR[0], "--pin-stdin"], input=f"2580\n{ACTOR[1]}\n")
    assert result.exit_code == 0, result.output
    assert invoke(cli, ["verify"]).exit_code == 0
    evidence = tmp_path / "evidence.db"
    shutil.copy(crewed / "log.db", evidence)
    assert HASH_TEXT not in file_bytes(crewed, "log.db")
    assert HASH_TEXT not in evidence.read_bytes()
    with sqlite3.connect(evidence) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "credentials" not in names
    assert HASH_TEXT in (crewed / "credentials.db").read_bytes()


def test_an_older_log_moves_its_pin_hashes_out_and_keeps_signing_in(
    cli: CliRunner, crewed: Path
) -> None:
    """Schema 3 kept the hashes in log.db: migration 4 moves them to credentials.db, drops the
    table, and leaves no hash in the log's free pages."""
    store = sqlite3.connect(crewed / "credentials.db")
    rows = store.execute("SELECT person, secret FROM credentials").fetchall()
    store.close()
    (crewed / "credentials.db").unlink()
    db = sqlite3.connect(crewed / "log.db", isolation_level=None)
    db.execute("CREATE TABLE credentials (person TEXT PRIMARY KEY, secret TEXT NOT NULL)")
    db.executemany("INSERT INTO credentials VALUES (?, ?)", rows)
    db.execute("PRAGMA user_version = 3")
    db.close()
    assert HASH_TEXT in (crewed / "log.db").read_bytes()

    result = invoke(cli, ["crew", "set-pin", ACTOR[0], "--pin-stdin"], input=f"2580\n{ACTOR[1]}\n")
    assert result.exit_code == 0, result.output  # the old PIN was found, in its new place
    with sqlite3.connect(crewed / "log.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(ledger_module.MIGRATIONS)
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "credentials" not in names
    assert HASH_TEXT not in file_bytes(crewed, "log.db")
    with Ledger.open(crewed / "log.db", create=False) as ledger:
        assert crew.authenticate(ledger, ARMORER[0], ARMORER[1], role=None, purpose="t")
        assert crew.authenticate(ledger, ACTOR[0], "2580", role=None, purpose="t")


def test_a_crash_between_credential_and_event_keeps_the_old_pin(
    crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new hash is written first; the event that would select it never lands."""

    chained_row = ledger_module._chained_row

    def power_cut(seq: int, at: str, prev: str, event: Any, key: Any) -> Any:
        if event.kind == "crew.pin-set":  # the PIN checks before it land; this does not
            raise sqlite3.OperationalError("disk I/O error")
        return chained_row(seq, at, prev, event, key)

    with Ledger.open(crewed / "log.db", create=False) as ledger:
        with monkeypatch.context() as mp:
            mp.setattr(ledger_module, "_chained_row", power_cut)
            with pytest.raises(LogUnwritable, match="the disk failed"):
                crew.set_pin(ledger, ACTOR[0], "2580", old_pin=ACTOR[1])
        crew.authenticate(ledger, ACTOR[0], ACTOR[1], role=None, purpose="t")
        with pytest.raises(crew.AuthError, match="wrong PIN"):
            crew.authenticate(ledger, ACTOR[0], "2580", role=None, purpose="t")


def test_a_planted_credential_row_is_never_selected(crewed: Path) -> None:
    """A row added with a PIN the attacker knows: the log's fingerprint does not select it."""
    planted = crew.hash_pin("2580")
    with sqlite3.connect(crewed / "credentials.db") as db:
        db.execute(
            "INSERT INTO credentials VALUES (?, ?, ?)",
            (ACTOR[0], crew.fingerprint(planted), planted),
        )
    with Ledger.open(crewed / "log.db", create=False) as ledger:
        with pytest.raises(crew.AuthError, match="wrong PIN"):
            crew.authenticate(ledger, ACTOR[0], "2580", role=None, purpose="t")


def test_an_answers_file_others_can_read_is_refused(cli: CliRunner, crewed: Path) -> None:
    path = write_answers(crewed.parent / "answers.yaml")
    for loose in (0o644, 0o640):
        os.chmod(path, loose)
        line = one_line(
            invoke(cli, ["run", "firearm-scene", "--scene", "12A", "--answers", str(path)]), 2
        )
        assert line == f"{path} holds PINs and can be read by others: chmod 600 {path}"
    with sqlite3.connect(crewed / "log.db") as db:
        assert db.execute("SELECT count(*) FROM events WHERE kind = 'run.started'").fetchone() == (
            0,
        )
    os.chmod(path, 0o600)
    start_run(cli, path, expect=0)


# --- item 5: nothing lost silently ---------------------------------------------------------------

# A run process that dies without closing the log: its events are only in the -wal file.
CRASH_AFTER = """
import os, sys
from safetycli.cli import app
from safetycli.ledger import Ledger
kept = []
Ledger.close = lambda self: kept.append(self)  # never checkpointed into log.db
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    os._exit(0)
"""


def assert_refused_everywhere(cli: CliRunner, home: Path, answers: Path, words: str) -> None:
    """Every command that writes refuses with one line; reading ones say it; verify exits 1."""
    words = words.lower()
    line = one_line(invoke(cli, ["status"]), 2)
    assert words in line.lower() and "nothing was written" in line
    line = one_line(
        invoke(cli, ["run", "firearm-scene", "--scene", "14", "--answers", str(answers)]), 2
    )
    assert words in line.lower()
    held = invoke(cli, ["hold", "--scene", "14", "--reason", "smoke", "--by", "Lee"])
    line = one_line(held, 2)
    assert line.startswith("THE HOLD WAS NOT RECORDED: stop work by voice now. ")
    assert words in line.lower()
    # A live round found is a stop-work too, anonymous or not: said as loudly as a hold.
    found = ["incident", "report", "--kind", "live-round-found", "--text", "in the dummy box"]
    line = one_line(invoke(cli, [*found, "--anonymous"]), 2)
    assert line.startswith("THE HOLD WAS NOT RECORDED: stop work by voice now. ")
    assert words in line.lower()
    # A near miss stops nothing: its failure is the plain line.
    near = ["incident", "report", "--kind", "near-miss", "--text", "muzzle swept", "--anonymous"]
    line = one_line(invoke(cli, near), 2)
    assert words in line.lower() and "NOT RECORDED" not in line
    result = invoke(cli, ["verify"])
    assert result.exit_code == 1 and "LOG ALTERED" in result.stdout, result.output
    assert words in result.stdout.lower()


def test_deleting_the_wal_after_a_run_is_caught(cli: CliRunner, crewed: Path) -> None:
    answers = write_answers(crewed.parent / "answers.yaml")
    start_run(cli, answers, expect=0)  # a first run, safe in log.db
    argv = ["run", "firearm-scene", "--scene", "12B", "--day", DAY, "--answers", str(answers)]
    done = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER, *argv], env=subprocess_env(crewed), check=False
    )
    assert done.returncode == 0
    assert (crewed / "log.db-wal").stat().st_size > 0
    for name in ("log.db-wal", "log.db-shm"):
        (crewed / name).unlink()
    listed = invoke(cli, ["log", "list"])
    assert listed.exit_code == 0 and listed.stderr.startswith("ALARM: the log went backwards")
    assert "12B" not in listed.stdout  # the completed run's sign-offs are gone, and it says so
    assert_refused_everywhere(cli, crewed, answers, "the log went backwards")


@pytest.mark.parametrize("how", ["deleted", "emptied", "deleted with log.head"])
def test_a_log_deleted_or_emptied_while_a_run_is_held_is_caught(
    cli: CliRunner, crewed: Path, how: str
) -> None:
    held = write_answers(crewed.parent / "held.yaml", answers={"meeting-held": False})
    start_run(cli, held, expect=3)
    for name in ("log.db-wal", "log.db-shm"):
        (crewed / name).unlink(missing_ok=True)
    if how == "emptied":
        (crewed / "log.db").write_bytes(b"")
    else:
        (crewed / "log.db").unlink()
    if how == "deleted with log.head":
        (crewed / "log.head").unlink()  # the mark outside the workspace still knows
    words = "is empty, but" if how == "emptied" else "is missing, but"
    assert_refused_everywhere(cli, crewed, held, words)
    if how == "emptied":
        assert (crewed / "log.db").read_bytes() == b""  # never a new empty log in its place
    else:
        assert not (crewed / "log.db").exists()
    refusal = one_line(invoke(cli, ["init", "--home", str(crewed)]), 2)
    assert refusal.startswith("a workspace already exists")


def test_a_log_put_back_from_an_older_copy_is_caught(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = write_answers(crewed.parent / "answers.yaml")
    older = tmp_path / "older.db"
    db = sqlite3.connect(crewed / "log.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    shutil.copy(crewed / "log.db", older)
    start_run(cli, answers, expect=0)
    assert not (crewed / "log.db-wal").exists()  # every command closed the log
    shutil.copy(older, crewed / "log.db")
    assert_refused_everywhere(cli, crewed, answers, "the log went backwards")


def test_a_hold_deleted_from_the_middle_of_the_log_lets_nobody_past_it(
    cli: CliRunner, crewed: Path
) -> None:
    """An insider with the workspace deletes a hold from the log (its head and the marks are
    untouched, so the log did not 'go backwards'): resuming past the hold, syncing it or any
    other write must be refused, as for a log that lost its end."""
    held = write_answers(crewed.parent / "held.yaml", answers={"meeting-held": False})
    run_id = start_run(cli, held, expect=3)
    answers = write_answers(crewed.parent / "answers.yaml")
    done = invoke(cli, ["run", "firearm-scene", "--scene", "14", "--answers", str(answers)])
    assert done.exit_code == 0, done.output  # the hold is no longer the log's last event
    db = sqlite3.connect(crewed / "log.db", isolation_level=None)
    db.execute("DROP TRIGGER events_no_delete")
    assert db.execute("DELETE FROM events WHERE kind = ?", (HOLD_RAISED,)).rowcount == 1
    db.close()
    before = file_bytes(crewed, "log.db")
    line = one_line(invoke(cli, ["resume", run_id, "--answers", str(answers)]), 2)
    assert "is missing from the log: rows were deleted" in line and "nothing was written" in line
    assert file_bytes(crewed, "log.db") == before  # nothing of the resume was recorded
    assert_refused_everywhere(cli, crewed, answers, "missing")


def test_the_mark_never_raises_a_false_alarm_and_init_keeps_an_old_one_aside(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = write_answers(crewed.parent / "answers.yaml")
    start_run(cli, answers, expect=0)
    assert invoke(cli, ["verify"]).exit_code == 0
    mark = HeadMarks(crewed).read()
    with Ledger.open(crewed / "log.db", create=False) as ledger:
        assert mark is not None and (mark.seq, mark.hash) == ledger.head()
    shutil.rmtree(crewed)  # the whole workspace made again: allowed, and said
    result = invoke(cli, ["init", "--home", str(crewed)])
    assert result.exit_code == 0 and result.stderr.startswith(
        f"warning: a workspace here held {mark.seq} events before"
    )
    assert invoke(cli, ["verify"]).exit_code == 0


# --- item 5: a lock held too long, a full disk, a damaged page -----------------------------------


def test_a_write_lock_held_too_long_is_one_line_with_the_resume_command(
    cli: CliRunner, crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = write_answers(crewed.parent / "partial.yaml", drop=("meeting-covered",))
    run_id = start_run(cli, partial, expect=4)
    monkeypatch.setattr(ledger_module, "BUSY_TIMEOUT_MS", 100)  # stands for 15 s
    other = sqlite3.connect(crewed / "log.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        full = write_answers(crewed.parent / "full.yaml")
        line = one_line(invoke(cli, ["resume", run_id, "--answers", str(full)]), 2)
        assert line.startswith(
            "another safetycli command held the log's write lock too long (nothing was recorded)"
        )
        assert line.endswith(
            f"(run {run_id} is left open: safetycli resume {run_id} --answers {full})"
        )
        line = one_line(
            invoke(cli, ["run", "firearm-scene", "--scene", "9", "--answers", str(full)]), 2
        )
        assert line.startswith("another safetycli command held the log's write lock too long")
    finally:
        other.execute("ROLLBACK")
        other.close()
    invoke(cli, ["resume", run_id, "--answers", str(full)])


def test_a_hold_in_a_walk_through_that_the_full_disk_refused_says_so_loudly(
    cli: CliRunner, crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ledger_module._chained_row

    def full_at_the_hold(seq: int, at: str, prev: str, event: object, key: object) -> object:
        if getattr(event, "kind", None) == HOLD_RAISED:
            raise sqlite3.OperationalError("database or disk is full")
        return real(seq, at, prev, event, key)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger_module, "_chained_row", full_at_the_hold)
    answers = write_answers(crewed.parent / "held.yaml", answers={"meeting-held": False})
    result = invoke(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(answers)]
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1
    assert lines[0].startswith(
        "error: THE HOLD WAS NOT RECORDED: stop work by voice now. The disk is full (nothing was"
        " recorded): free some space on this laptop"
    )
    assert "is left open: safetycli resume r-" in lines[0]


def test_a_manual_hold_on_a_full_disk_says_so_loudly(
    cli: CliRunner, crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Ledger.open.__func__  # type: ignore[attr-defined]

    def full_disk(cls: type[Ledger], path: Path, *, create: bool = True) -> Ledger:
        opened = real_open(cls, path, create=create)
        pages = opened.db.execute("PRAGMA page_count").fetchone()[0]
        opened.db.execute(f"PRAGMA max_page_count = {pages}")  # no room for one more page
        return opened

    monkeypatch.setattr(Ledger, "open", classmethod(full_disk))
    args = ["hold", "--scene", "14", "--reason", "smoke", "--by", "Lee (grip)"]
    for _ in range(200):  # fill what room the last page had left
        result = invoke(cli, args)
        if result.exit_code != 0:
            break
    line = one_line(result, 2)
    assert line.startswith("THE HOLD WAS NOT RECORDED: stop work by voice now. The disk is full")


def test_a_damaged_page_is_one_line_and_verify_says_altered(cli: CliRunner, crewed: Path) -> None:
    answers = write_answers(crewed.parent / "answers.yaml")
    start_run(cli, answers, expect=0)
    path = crewed / "log.db"
    with sqlite3.connect(path) as db:
        page = db.execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(path.read_bytes())
    raw[page : len(raw)] = b"\xa5" * (len(raw) - page)  # every page but the schema's
    path.write_bytes(bytes(raw))
    for args in (["status"], ["log", "list"], ["crew", "list"]):
        line = one_line(invoke(cli, args), 2)
        assert "damaged" in line and "run `safetycli verify`" in line, args
    result = invoke(cli, ["verify"])
    assert result.exit_code == 1 and "LOG ALTERED" in result.stdout
