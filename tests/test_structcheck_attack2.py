"""verify's structure check attacked again (issue 14, item 4), now that the compiled program
walks the lean indexes' pages itself: `safetycli verify` must never report a whole file where
SQLite's `PRAGMA integrity_check` reports anything.

The holes found, each closed by a doubt (the statement then answers):

1. A record's header-size varint written in two bytes (0x80, n) instead of one.
The walk read it as any varint and found (key, rowid); SQLite's own comparator for an index
whose first field is text (vdbeRecordCompareString, the one every lookup of these indexes
uses) takes the header size from the record's first byte and the key's serial type from its
second, so it reads the entry as a number, and no lookup finds it: integrity_check reports the
row missing from the index. Closed by accepting only the varints SQLite writes (the shortest
form) in an entry's cell and header.
2. An interior page without cells made the index's root (a free page, and writable_schema for
the root's number, which the schema check does not compare). quick_check passes it and the walk
went on to its right-most child; SQLite's cursor calls any page without cells corrupt except a
leaf root (an empty index) and page 1, so integrity_check answers "malformed". The same for a
leaf without cells under the root. Closed by the same rule in the walk.
3. The same page above the day index's root, in a log without run starts: the day index is
checked through SQLite's own lookups, one per run start, so none read it, and its cells counted
by dbstat matched; integrity_check counts its entries through a cursor. Closed by dbstat: no
page of it without cells but an empty leaf root.

Attempts that held: a rowid in a wider integer (SQLite compares it by value: whole to both, the
last test); overlapping cells, cells in the pointer array or the free space, free blocks and
fragment counts (quick_check, which runs on every b-tree the walk reads, or the walk's bounds);
two pointers to one cell (strict order); index roots swapped, on page 1 or on another tree's page
(the sums, the walk's page rules, quick_check's "2nd reference"); the day index's entries made
longer (its lookups and dbstat's payload sum)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from safetycli import structcheck
from tests import test_structcheck_attack as attack
from tests.sqlitepages import full, lookup_misses
from tests.test_structcheck_attack import (
    LAYOUT,
    LEAN,
    _cells,
    _encode_varint,
    _fields,
    _geometry,
    _leaf_pages,
    _varint,
    _write_leaf,
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
    assert lookup_misses(path, index, rowid)  # the event is in the log; the index hides it
    code, report = verify(home)
    assert code == 1 and report["ok"] is False
    assert structure_lines(report) == expected
    assert declined == [f"index process: {LAYOUT}: {index}"]


EMPTY_PAGE = "a page without cells other than an empty index's root"


def _put_page(path: Path, pageno: int, data: bytes) -> None:
    size, _ = _geometry(path)
    with path.open("r+b") as file:
        file.seek((pageno - 1) * size)
        file.write(data)


def empty_root_above(path: Path, index: str) -> None:
    """The attack: a free page taken off the freelist and made an interior index page with no
    cell and the index's root as its right-most child; the schema (writable_schema) names it
    the index's root. Every page is still used once and every entry read in order."""
    free = _take_free_page(path)
    db = sqlite3.connect(path)
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()
    db.close()
    size, usable = _geometry(path)
    page = bytearray(size)
    page[0] = 0x02  # an interior index page, no cells, no free blocks
    page[5:7] = (usable % 65536).to_bytes(2, "big")  # its content starts at the page's end
    page[8:12] = root.to_bytes(4, "big")
    _put_page(path, free, page)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET rootpage = ? WHERE name = ?", (free, index))
    db.close()


@pytest.mark.parametrize("index", LEAN)
def test_an_index_under_an_empty_interior_root_gets_sqlite_s_answer(
    native: Path, home: Path, index: str, declined: list[str]
) -> None:
    """quick_check passes such a page; SQLite's cursor calls an interior root without cells
    corrupt (only page 1 may be one), so integrity_check's lookups fail."""
    path = home / "log.db"
    empty_root_above(path, index)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    db.close()
    expected = full(path)
    assert expected, "integrity_check cannot read the index"
    code, report = verify(home)
    assert code == 1 and report["ok"] is False
    if index == "events_kind":  # verify reads the log through it too, and stops there
        return
    assert structure_lines(report) == expected
    assert declined == [f"index process: {EMPTY_PAGE}: {index}"]


def test_the_day_index_under_an_empty_interior_root_gets_sqlite_s_answer(
    native: Path, home: Path, declined: list[str]
) -> None:
    """The day index is checked through SQLite's lookups, one per run start: this season has
    none, so no lookup reads its root; integrity_check counts its entries through a cursor,
    which calls the root corrupt."""
    path = home / "log.db"
    empty_root_above(path, "events_started_day")
    expected = full(path)
    assert expected, "integrity_check cannot read the index"
    code, report = verify(home)
    assert code == 1 and report["ok"] is False
    assert structure_lines(report) == expected
    assert declined == [structcheck.DAY_EMPTY_PAGE]


def _take_free_page(path: Path) -> int:
    """A page made free (a table created and dropped), then taken off the freelist."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE scratch(x)")
    db.execute("DROP TABLE scratch")  # its page is now the freelist's one trunk page
    db.close()
    size, _ = _geometry(path)
    head = bytearray(path.read_bytes()[:size])
    assert int.from_bytes(head[36:40], "big") == 1
    free = int.from_bytes(head[32:36], "big")
    head[32:40] = bytes(8)  # the freelist is empty
    _put_page(path, 1, bytes(head))
    return free


def empty_leaf_under_root(path: Path, index: str) -> None:
    """The attack: the root's right-most leaf gives its last entry to the root, as a new last
    cell whose left child is that leaf, and the root's right-most child becomes a free page
    made an index leaf without cells. Every entry stays, in order; every page is used once."""
    free = _take_free_page(path)
    db = sqlite3.connect(path)
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()
    db.close()
    size, usable = _geometry(path)
    page = bytearray(_page(path, root))
    assert page[0] == 0x02, "a two-level index"
    cells = []
    for i in range(int.from_bytes(page[3:5], "big")):
        at = int.from_bytes(page[12 + 2 * i : 14 + 2 * i], "big")
        payload, used = _varint(page, at + 4)
        cells.append(bytes(page[at : at + 4 + used + payload]))
    leaf = int.from_bytes(page[8:12], "big")
    records = _cells(_page(path, leaf))
    last = records.pop()
    _write_leaf(path, leaf, records)
    cells.append(leaf.to_bytes(4, "big") + _encode_varint(len(last)) + last)
    end = usable
    page[12:usable] = bytes(usable - 12)
    for i, cell in enumerate(cells):
        end -= len(cell)
        page[end : end + len(cell)] = cell
        page[12 + 2 * i : 14 + 2 * i] = end.to_bytes(2, "big")
    assert 12 + 2 * len(cells) <= end
    page[1:3] = bytes(2)
    page[3:5] = len(cells).to_bytes(2, "big")
    page[5:7] = end.to_bytes(2, "big")
    page[7] = 0
    page[8:12] = free.to_bytes(4, "big")
    _put_page(path, root, bytes(page))
    empty = bytearray(size)
    empty[0] = 0x0A
    empty[5:7] = (usable % 65536).to_bytes(2, "big")
    _put_page(path, free, bytes(empty))


@pytest.mark.parametrize("index", ["events_run", "events_person"])
def test_an_empty_leaf_under_an_index_s_root_gets_sqlite_s_answer(
    native: Path, home: Path, index: str, declined: list[str]
) -> None:
    """Below the root too: no entry is in the empty leaf, so a lookup need not reach it, but
    SQLite's cursor calls a page without cells corrupt when it does (integrity_check's count)."""
    path = home / "log.db"
    empty_leaf_under_root(path, index)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    db.close()
    expected = full(path)
    assert expected, "integrity_check counts the index through a cursor, which cannot"
    code, report = verify(home)
    assert code == 1 and report["ok"] is False
    assert structure_lines(report) == expected
    assert declined == [f"index process: {EMPTY_PAGE}: {index}"]


@pytest.mark.parametrize("index", ["events_run", "events_kind"])
def test_a_rowid_in_a_wider_integer_is_whole_to_both(
    native: Path, home: Path, index: str, declined: list[str]
) -> None:
    """An attempt that held: a rowid written in four bytes instead of two. SQLite compares the
    field by its value, so every lookup finds it and integrity_check says ok; the walk reads
    the same value, so verify proves the same verdict without the statement."""
    path = home / "log.db"
    pageno = _leaf_pages(path, index)[1]
    records = _cells(_page(path, pageno))
    record = records[5]
    header, types = _fields(record)
    assert types[1] == 2
    widened = record[header:-2] + b"\x00\x00" + record[-2:]
    records[5] = bytes([header]) + record[1 : header - 1] + bytes([4]) + widened
    _write_leaf(path, pageno, records)
    assert full(path) == []
    code, report = verify(home)
    assert (code, report["ok"], report["problems"]) == (0, True, [])
    assert declined == []
