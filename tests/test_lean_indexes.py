"""Migration 8: the three indexes of events by one column each (ledger.LEAN_INDEXES).

An entry of `events(kind)` is (kind, seq): SQLite ends it with the row's number. The indexes of
migration 1 named seq again, a second copy nobody reads. Dropping it must cost no command a seek:
every query the review commands run is planned on both shapes and compared.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from safetycli import crew
from safetycli.ledger import LEAN_INDEXES, MIGRATIONS, Ledger
from tests.reviewdata import Production, build

# What the first migration made, which logs written before migration 8 still have.
OLD_SHAPES = {
    "events_run": "CREATE INDEX events_run ON events(run, seq) WHERE run IS NOT NULL",
    "events_person": "CREATE INDEX events_person ON events(person, seq) WHERE person IS NOT NULL",
    "events_kind": "CREATE INDEX events_kind ON events(kind, seq)",
}

# Read-only review commands, with the filters that reach for each index.
COMMANDS = [
    ["status"],
    ["log", "list"],
    ["log", "list", "--person", "Sam Ortiz"],
    ["log", "list", "--day", "2026-03-03"],
    ["log", "list", "--status", "held"],
    ["report"],
    ["report", "--from", "2026-03-01", "--to", "2026-03-05"],
    ["crew", "list"],
    ["incident", "list"],
    ["verify"],
]


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        yield build(tmp_path_factory.mktemp("lean") / "ws")


def entry_fields(db: sqlite3.Connection, name: str) -> list[str | None]:
    return [row[2] for row in db.execute(f"PRAGMA index_xinfo({name})")]


def with_old_indexes(db: sqlite3.Connection) -> None:
    for name, sql in OLD_SHAPES.items():
        db.execute(f"DROP INDEX {name}")
        db.execute(sql)


def plan(db: sqlite3.Connection, sql: str) -> str:
    return " | ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))


def full_scans(text: str) -> int:
    """Steps that read the whole events table, or sort what an index would have given in order."""
    return len(re.findall(r"SCAN events(?! USING)|TEMP B-TREE", text))


def test_a_new_log_stores_each_entry_as_its_key_and_row(prod: Production) -> None:
    db = sqlite3.connect(prod.db)
    for name, column, _ in LEAN_INDEXES:
        assert entry_fields(db, name) == [column, None]  # None: the row's number, seq


def test_no_review_query_loses_its_index(
    prod: Production, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        db = connect(*args, **kwargs)  # type: ignore[arg-type]
        db.set_trace_callback(seen.append)
        return db

    monkeypatch.setattr(sqlite3, "connect", traced)
    for args in COMMANDS:
        assert prod.invoke(args).exit_code in (0, 1, 3), args
    monkeypatch.undo()
    queries = sorted({q for q in seen if re.search(r"\bFROM events\b", q) and "PRAGMA" not in q})
    assert len(queries) > 20  # the commands above did read the log through many queries

    old_path = tmp_path / "old.db"
    shutil.copy(prod.db, old_path)
    old = sqlite3.connect(old_path, isolation_level=None)
    with_old_indexes(old)
    new = sqlite3.connect(prod.db)
    worse = []
    for sql in queries:
        try:
            before = plan(old, sql)
        except sqlite3.OperationalError:  # a statement of a temporary table or another file
            continue
        after = plan(new, sql)
        if full_scans(after) > full_scans(before):
            worse.append(f"{sql}\n  before: {before}\n  after:  {after}")
    assert not worse, "\n".join(worse)


def test_a_log_with_the_first_indexes_is_migrated_and_still_holds(
    prod: Production, tmp_path: Path
) -> None:
    path = tmp_path / "v7.db"
    shutil.copy(prod.db, path)
    db = sqlite3.connect(path, isolation_level=None)
    with_old_indexes(db)
    db.execute("PRAGMA user_version = 7")
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    db.close()
    with Ledger.open(path, create=False) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        for name, column, _ in LEAN_INDEXES:
            assert entry_fields(ledger.db, name) == [column, None]
        assert ledger.count() == events
        assert ledger.verify().ok
        assert ledger.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
