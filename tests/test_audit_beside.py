"""`verify` runs its meaning checks (audit.py) in a thread of their own, beside the chain scan.
That changes when the work is done, never the answer: the problems are the ones `audit` finds
on the verifying ledger, in the same order, whatever is wrong, and when the thread cannot open
the log the audit runs after the scan as before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetycli import crew
from safetycli.audit import AuditBeside, audit
from safetycli.cli import app
from safetycli.ledger import Ledger
from tests.reviewdata import ENV, build


@pytest.fixture
def prod_home(tmp_path: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        return build(tmp_path / "ws").home


def _tamper(home: Path) -> str:
    """A held run marked complete in the run-status table, and two people's PIN hashes swapped
    in credentials.db: three problems of two kinds. Returns the run."""
    db = sqlite3.connect(home / "log.db")
    held = db.execute("SELECT run FROM run_view WHERE open_holds > 0").fetchone()[0]
    db.execute("UPDATE run_view SET open_holds = 0, completed = 1 WHERE run = ?", (held,))
    db.commit()
    db.close()
    creds = sqlite3.connect(home / "credentials.db")
    (a, fa, sa), (b, fb, sb) = creds.execute(
        "SELECT person, fingerprint, secret FROM credentials ORDER BY person LIMIT 2"
    ).fetchall()
    creds.execute(
        "UPDATE credentials SET secret = ? WHERE person = ? AND fingerprint = ?", (sb, a, fa)
    )
    creds.execute(
        "UPDATE credentials SET secret = ? WHERE person = ? AND fingerprint = ?", (sa, b, fb)
    )
    creds.commit()
    creds.close()
    return str(held)


def _beside(path: Path, ledger: Ledger, integrity: list[str]) -> list[str]:
    thread = AuditBeside(path)
    thread.start()
    return [p.reason for p in thread.result(ledger, integrity)]


def test_the_audit_beside_the_scan_finds_what_the_audit_after_it_finds(prod_home: Path) -> None:
    held = _tamper(prod_home)
    integrity = ["row 7 missing from index events_kind"]  # as the structure check reports it
    with Ledger.open(prod_home / "log.db", create=False) as ledger:
        after = [p.reason for p in audit(ledger, integrity)]
        beside = _beside(prod_home / "log.db", ledger, integrity)
    assert beside == after
    assert len(after) == 4  # the structure line, the run, and both swapped hashes
    assert any(held in reason for reason in after)
    assert sum("swapped in credentials.db" in reason for reason in after) == 2


def test_an_intact_log_has_nothing_beside_it_either(prod_home: Path) -> None:
    with Ledger.open(prod_home / "log.db", create=False) as ledger:
        assert _beside(prod_home / "log.db", ledger, []) == [] == audit(ledger, [])


def test_when_the_thread_cannot_open_the_log_the_audit_runs_after_the_scan(
    prod_home: Path,
) -> None:
    """A log the thread cannot open (here: a path with no log) still gets the whole audit,
    on the caller's ledger."""
    _tamper(prod_home)
    with Ledger.open(prod_home / "log.db", create=False) as ledger:
        after = [p.reason for p in audit(ledger, [])]
        beside = _beside(prod_home / "missing.db", ledger, [])
    assert beside == after
    assert len(after) == 3


def test_an_unreadable_log_is_one_problem_beside_the_scan_too(
    prod_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite failing mid-audit is one line (the structure lines give way to it), as in
    `audit`; a row edited in place gives no line here (the chain's verdict names it)."""
    from safetycli import audit as audit_module
    from safetycli.storage import LogDamaged

    def unreadable(_ledger: Ledger) -> list[object]:
        raise sqlite3.DatabaseError("database disk image is malformed")

    def damaged(_ledger: Ledger) -> list[object]:
        raise LogDamaged("event 3 was altered")

    with Ledger.open(prod_home / "log.db", create=False) as ledger:
        monkeypatch.setattr(audit_module, "meaning", unreadable)
        after = [p.reason for p in audit(ledger, ["x"])]
        assert _beside(prod_home / "log.db", ledger, ["x"]) == after
        assert len(after) == 1 and "malformed" in after[0]
        monkeypatch.setattr(audit_module, "meaning", damaged)
        assert _beside(prod_home / "log.db", ledger, ["x"]) == [] == audit(ledger, ["x"])


def test_verify_names_every_problem_the_audit_finds(prod_home: Path) -> None:
    """The command end to end: exit 1 and each problem on its own line."""
    held = _tamper(prod_home)
    with Ledger.open(prod_home / "log.db", create=False) as ledger:
        expected = [p.reason for p in audit(ledger, [])]
    result = CliRunner().invoke(app, ["verify", "--home", str(prod_home)], env=ENV)
    assert result.exit_code == 1
    shown = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM: ")]
    assert shown == [f"PROBLEM: {reason}" for reason in expected]
    assert any(held in line for line in shown)
