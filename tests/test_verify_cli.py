"""`safetycli verify` as a producer or a script sees it: the verdict, the exit code, the event it
names, and one clear line when the question itself is wrong."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetycli.cli import app
from safetycli.ledger import GENESIS
from tests.test_ledger import delete, edit, fill, head_of, insert, rewrite_tail, swap
from tests.test_security_log import key_of

# `init` writes three (the device key, the workspace, its recovery code), fill() twelve more.
EVENTS = 15
MACED = "Every event carries device "


@pytest.fixture
def log(home: Path) -> Path:
    path = home / "log.db"
    fill(path)
    return path


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, ["verify", *args])
    return result.exit_code, result.stdout, result.stderr


def test_intact_log(cli: CliRunner, log: Path) -> None:
    code, out, err = run(cli)
    assert code == 0
    first, second = out.splitlines()
    assert first == f"Log intact: {EVENTS} events, head {EVENTS}:{head_of(log, EVENTS)}"
    assert second.startswith(MACED)
    assert err == ""  # no progress bar when stderr is not a terminal


def test_intact_log_as_json(cli: CliRunner, log: Path) -> None:
    code, out, _ = run(cli, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert {"ok", "events", "head", "first_bad_seq"} <= set(report)
    assert (report["ok"], report["events"], report["head"], report["first_bad_seq"]) == (
        True,
        EVENTS,
        head_of(log, EVENTS),
        None,
    )


TAMPERING: dict[str, tuple[Callable[[Path], None], int]] = {
    "edited data": (lambda p: edit(p, 6, "data", '{"i":5}'), 6),
    "edited time": (lambda p: edit(p, 6, "at", "2020-01-01T00:00:00.000000Z"), 6),
    "edited kind": (lambda p: edit(p, 9, "kind", "signoff"), 9),
    "edited person": (lambda p: edit(p, 2, "person", "Someone Else"), 2),
    "deleted row": (lambda p: delete(p, 6), 6),
    "inserted row": (lambda p: insert(p, 6, fresh_hash=False), 6),
    "swapped rows": (lambda p: swap(p, 4, 10), 4),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_altered_log_names_the_first_bad_event(
    cli: CliRunner, log: Path, tamper: tuple[Callable[[Path], None], int]
) -> None:
    change, bad = tamper
    change(log)
    code, out, _ = run(cli)
    assert code == 1
    assert out.startswith(f"LOG ALTERED at event {bad}: ")
    code, out, _ = run(cli, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert (report["ok"], report["first_bad_seq"], report["events"]) == (False, bad, bad - 1)


def test_altered_log_says_what_to_do(cli: CliRunner, log: Path) -> None:
    edit(log, 6, "data", '{"i":5}')
    code, out, _ = run(cli)
    assert code == 1
    assert out.splitlines() == [
        "LOG ALTERED at event 6: event 6 was altered after it was written",
        "Events 1-5 check out; from event 6 on, this log cannot be trusted.",
        f"What to do: copy {log.resolve()} somewhere safe exactly as it is now (it is evidence),"
        " and tell the producer and the safety rep before anyone relies on this log.",
        "Until a verify passes, every command on this laptop that opens this log says so"
        " (ALARM), and work is still recorded.",
    ]


def test_a_spanish_producer_reads_the_verdict_in_spanish_and_json_does_not_change(
    cli: CliRunner, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetycli import i18n

    as_json = run(cli, "--format", "json")[1]
    edit(log, 6, "data", '{"i":5}')
    altered_json = run(cli, "--format", "json")[1]
    monkeypatch.setenv(i18n.ENV, "es")
    code, out, _ = run(cli)
    with i18n.speaking("es"):
        altered = i18n._("LOG ALTERED at event {seq}: {why}").split("{seq}")[0]
        todo = i18n._(
            "What to do: copy {path} somewhere safe exactly as it is now (it is evidence), and "
            "tell the producer and the safety rep before anyone relies on this log."
        ).format(path=log.resolve())
    assert code == 1 and altered.startswith("REGISTRO ALTERADO")
    assert out.startswith(altered + "6: ") and todo in out and "What to do" not in out
    assert run(cli, "--format", "json")[1] == altered_json != as_json


def test_printed_head_is_confirmed(cli: CliRunner, log: Path) -> None:
    code, out, _ = run(cli, "--expect-head", f"7:{head_of(log, 7)}")
    assert code == 0
    assert f"It contains the head you gave (7:{head_of(log, 7)}): nothing up to it changed." in out
    assert run(cli, "--expect-head", head_of(log, 7)[:12])[0] == 0


def test_a_rewritten_tail_with_fresh_hashes_is_caught_by_the_device_mac(
    cli: CliRunner, log: Path
) -> None:
    """Whoever has only log.db can recompute every hash, not the device's MACs."""
    rewrite_tail(log, 6)
    code, out, _ = run(cli)
    assert code == 1
    assert out.startswith("LOG ALTERED at event 6: event 6 has no valid device MAC")
    report = json.loads(run(cli, "--format", "json")[1])
    assert (report["ok"], report["first_bad_seq"], report["events"]) == (False, 6, 5)


def test_an_appended_event_without_the_key_is_caught(cli: CliRunner, log: Path) -> None:
    insert(log, EVENTS + 1, fresh_hash=True)  # a valid chain, no MAC
    code, out, _ = run(cli)
    assert code == 1
    assert out.startswith(f"LOG ALTERED at event {EVENTS + 1}: event {EVENTS + 1} has no valid")


def test_without_the_key_verify_does_not_vouch_and_a_copy_of_it_checks(
    cli: CliRunner, log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On another machine (the production office), the key is not there: the chain is checked,
    the verdict is not "intact"; with a copy of the key file the MACs are checked too."""
    key_file = key_of(log.parent)
    monkeypatch.setenv("SAFETYCLI_KEY_DIR", str(tmp_path / "elsewhere"))
    code, out, _ = run(cli)
    assert code == 1
    assert "DEVICE MACS NOT CHECKED" in out
    report = json.loads(run(cli, "--format", "json")[1])
    assert (report["ok"], report["first_bad_seq"]) == (False, None)
    assert report["macs_unchecked"]
    code, out, _ = run(cli, "--key", str(key_file))
    assert code == 0, out
    assert out.startswith("Log intact")


def test_rewritten_tail_without_the_key_is_caught_only_with_the_printed_head(
    cli: CliRunner, log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = f"9:{head_of(log, 9)}"
    rewrite_tail(log, 6)
    monkeypatch.setenv("SAFETYCLI_KEY_DIR", str(tmp_path / "elsewhere"))
    code, out, _ = run(cli)
    assert code == 1  # the rewrite holds together on its own, but nothing vouches for it
    assert out.startswith("The chain holds")
    code, out, _ = run(cli, "--expect-head", printed, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert (report["ok"], report["first_bad_seq"]) == (False, 9)
    assert (report["events"], report["head"]) == (EVENTS, head_of(log, EVENTS))
    code, out, _ = run(cli, "--expect-head", printed)
    assert code == 1
    assert out.splitlines()[:2] == [
        "LOG ALTERED at event 9: event 9 is not the event that head names: the log was rewritten"
        " at or before event 9 after that head was printed",
        f"The chain holds on its own (head {EVENTS}:{head_of(log, EVENTS)}), so it was rewritten"
        " with fresh hashes after the head you gave was printed: that report is the true record.",
    ]


@pytest.mark.parametrize("head", ["zz", "", "12:abc", "x:" + "a" * 64])
def test_malformed_head_is_one_line_exit_2(cli: CliRunner, log: Path, head: str) -> None:
    code, out, err = run(cli, "--expect-head", head)
    assert code == 2
    assert out == ""
    assert err.startswith("error: --expect-head ") and err.count("\n") == 1


def test_no_workspace_is_one_line_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    code, out, err = run(cli)
    assert (code, out) == (2, "")
    assert err == "error: no workspace here: run `safetycli init` (or pass --home DIR)\n"


def test_console_script_without_workspace_prints_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SAFETYCLI_HOME"}
    done = subprocess.run(
        [sys.executable, "-m", "safetycli", "verify"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "error: no workspace here: run `safetycli init` (or pass --home DIR)\n"


def test_log_from_a_newer_safetycli_is_one_line_exit_2(cli: CliRunner, log: Path) -> None:
    with sqlite3.connect(log) as db:
        db.execute("PRAGMA user_version = 99")
    code, out, err = run(cli)
    assert (code, out) == (2, "")
    assert err.startswith("error: this log was written by a newer safetycli (schema 99")
    assert err.count("\n") == 1


def test_missing_log_file_is_reported_altered(cli: CliRunner, log: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{log}{suffix}").unlink(missing_ok=True)
    code, out, _ = run(cli, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert (report["ok"], report["events"], report["head"], report["first_bad_seq"]) == (
        False,
        0,
        GENESIS,
        1,
    )
    assert not log.exists()  # verify never creates an empty log in its place


def test_replaced_log_file_is_reported_altered(cli: CliRunner, log: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{log}{suffix}").unlink(missing_ok=True)
    log.write_bytes(b"PK\x03\x04 not a database at all" * 200)
    code, out, _ = run(cli)
    assert code == 1
    assert out.startswith("LOG ALTERED at event 1: the log ")
    assert "is damaged: file is not a database" in out


def test_progress_bar_appears_on_a_terminal(home: Path) -> None:
    """On a TTY stderr a bar shows the work; the verdict on stdout is unchanged."""
    import pty

    fill(home / "log.db")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "safetycli", "verify"],
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "TERM": "xterm"},
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    out = proc.stdout.read() if proc.stdout else b""
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    assert b"Verifying the log" in shown
    assert out.decode().startswith(f"Log intact: {EVENTS} events")
