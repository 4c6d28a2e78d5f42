"""verify's structure check attacked again (issue 14, item 4), now that the compiled program
walks the lean indexes' pages itself: `safetycli verify` must never report a whole file where
SQLite's `PRAGMA integrity_check` reports anything.

The hole found: a record's header-size varint written in two bytes (0x80, n) instead of one.
The walk read it as any varint and found (key, rowid); SQLite's own comparator for an index
whose first field is text (vdbeRecordCompareString, the one every lookup of these indexes
uses) takes the header size from the record's first byte and the key's serial type from its
second, so it reads the entry as a number, and no lookup finds it: integrity_check reports the
row missing from the index. Closed by accepting only the varints SQLite writes (the shortest
form) in an entry's header: the entry is then a doubt and the statement answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests import test_structcheck_attack as attack
from tests.test_structcheck_attack import (
    LAYOUT,
    LEAN,
    _cells,
    _fields,
    _geometry,
    _leaf_pages,
    _write_leaf,
    full,
    structure_lines,
    verify,
)

# The first attack's fixtures: the compiled program, a season past its threshold, a copy of it.
native = attack.native
season = attack.season
home = attack.home
declined = attack.declined


def _page(path: Path, pageno: int) -> bytes:
    size, _ = _geometry(path)
    with path.open("rb") as file:
        file.seek((pageno - 1) * size)
        return file.read(size)


def long_header_size(path: Path, index: str) -> int:
    """The attack: one entry's header size written as the two-byte varint (0x80, n + 1), the
    rest of its record as it was. Returns the entry's rowid."""
    pageno = _leaf_pages(path, index)[1]
    records = _cells(_page(path, pageno))
    i = len(records) // 2
    record = records[i]
    header, types = _fields(record)
    assert header < 127 and types[1] == 2  # a two-byte rowid: the events past 127
    records[i] = bytes([0x80, header + 1]) + record[1:]
    _write_leaf(path, pageno, records)
    return int.from_bytes(record[-2:], "big")


@pytest.mark.parametrize("index", LEAN)
def test_a_header_size_in_a_longer_varint_gets_sqlite_s_answer(
    native: Path, home: Path, index: str, declined: list[str]
) -> None:
    path = home / "log.db"
    rowid = long_header_size(path, index)
    expected = full(path)
    assert expected, "integrity_check finds the entry missing"
    column = index.removeprefix("events_")
    db = sqlite3.connect(path)
    (key,) = db.execute(
        f"SELECT {column} FROM events NOT INDEXED WHERE seq = ?", (rowid,)
    ).fetchone()
    found = db.execute(
        f"SELECT count(*) FROM events INDEXED BY {index} WHERE {column} = ? AND seq = ?",
        (key, rowid),
    ).fetchone()
    db.close()
    assert found == (0,)  # the event is in the log; a lookup through the index misses it
    code, report = verify(home)
    assert code == 1 and report["ok"] is False
    assert structure_lines(report) == expected
    assert declined == [f"index process: {LAYOUT}: {index}"]
