"""verify's structure check attacked by an insider with the laptop, a database tool and a hex
editor (issue 14, item 4): `safetycli verify` must never report a whole file where SQLite's
`PRAGMA integrity_check` reports anything; and it must not raise a false alarm on an intact log.

The hole found: an index entry's rowid is read from the END of its record (SQLite's IdxRowid),
while integrity_check's lookups read the record field by field. An entry made one byte short,
whose key ends in the byte its rowid is (`r-0001` at event 49, `item.done` at event 101), still
reads as (key, rowid) in a covering scan, yet no lookup finds it; another entry on the same page
given an empty field more keeps the page's payload sum. Every key, rowid, count, order and sum the
index scan reads stays the table's, so the compiled proof said whole; the statement says rows are
missing from the index, and every query through it loses them.

Closed by reading the entries themselves: the compiled program walks each index's pages and
reads every record field by field (exactly a text key and an integer rowid, and not a byte
more or less), so each forged entry is a doubt of its layout and the statement answers."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli import chainscan, crew, structcheck
from safetycli.cli import app
from safetycli.events import NewEvent
from safetycli.ledger import NATIVE_MIN_EVENTS, Ledger
from tests.reviewdata import ENV, build
from tests.sqlitepages import encode_varint as _encode_varint
from tests.sqlitepages import full, lookup_misses
from tests.sqlitepages import read_varint as _varint

# Keys that end in an ordinary character whose code is some event's number: a 1-byte rowid.
KINDS = ("take.next", "item.witnessed", "item.done")  # seq % 3: event 101 is an item.done ('e')
CAST = ("Riley Chen", "Alex Kim", "Sam Ortiz", "Dana Reyes", "Jo Park", "Pat Producer")
LEAN = ("events_run", "events_person", "events_kind")


@pytest.fixture(scope="module")
def native() -> Path:
    program = chainscan.native_helper()
    if program is None:
        pytest.skip("verify's compiled program is not built on this machine")
    return program


def _run_of(seq: int) -> str:
    return f"r-{seq // 40:04d}"  # forty events a run: event 49 belongs to r-0001 ('1' is 49)


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace whose log is long enough for verify's compiled path (every event MAC'd with
    the laptop's device key), written through the ledger as a data generator writes it."""
    home = tmp_path_factory.mktemp("season") / "ws"
    done = CliRunner().invoke(app, ["init", "--home", str(home), "--production", "Night Train"])
    assert done.exit_code == 0, done.output
    with Ledger.open(home / "log.db", create=False) as ledger:
        start = ledger.head()[0] + 1
        ledger.append_bulk(
            (
                f"2026-03-05T{seq // 3600 % 24:02d}:{seq // 60 % 60:02d}:{seq % 60:02d}Z",
                NewEvent(
                    KINDS[seq % 3],
                    {"n": seq},
                    run=_run_of(seq),
                    person=None if seq % 4 == 3 else CAST[seq % len(CAST)],
                ),
            )
            for seq in range(start, NATIVE_MIN_EVENTS + 200)
        )
    db = sqlite3.connect(home / "log.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    yield home


@pytest.fixture
def home(season: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(season, copy)
    return copy


@pytest.fixture
def declined(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Why each structure check verify ran declined the proof (empty: it proved, or none ran)."""
    reasons: list[str] = []
    decline = structcheck.StructureCheck._decline

    def spy(self: structcheck.StructureCheck, why: str) -> list[str]:
        reasons.append(why)
        return decline(self, why)

    monkeypatch.setattr(structcheck.StructureCheck, "_decline", spy)
    return reasons


LAYOUT = "an entry not stored as exactly (key, rowid)"


def verify(home: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["verify", "--home", str(home), "--format", "json"], env=ENV, catch_exceptions=False
    )
    return result.exit_code, json.loads(result.stdout)


def structure_lines(report: dict[str, Any]) -> list[str]:
    prefix = "the log file's structure is damaged (SQLite: "
    return [
        p["reason"].removeprefix(prefix).removesuffix(")")
        for p in report["problems"]
        if p["reason"].startswith(prefix)
    ]


# --- raw pages: what a hex editor does ------------------------------------------------------


def _geometry(path: Path) -> tuple[int, int]:
    """(page size, usable size) from the file's header."""
    head = path.read_bytes()[:100]
    size = int.from_bytes(head[16:18], "big")
    size = 65536 if size == 1 else size
    return size, size - head[20]


def _leaf_pages(path: Path, index: str) -> list[int]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path",
            (index,),
        ).fetchall()
    finally:
        db.close()
    return [int(row[0]) for row in rows]


def _cells(page: bytes) -> list[bytes]:
    """The cells of an index leaf page (type 0x0A, never page 1), each as its record."""
    assert page[0] == 0x0A
    records = []
    for i in range(int.from_bytes(page[3:5], "big")):
        at = int.from_bytes(page[8 + 2 * i : 10 + 2 * i], "big")
        size, used = _varint(page, at)
        records.append(bytes(page[at + used : at + used + size]))
    return records


def _fields(record: bytes) -> tuple[int, list[int]]:
    """(header size, serial types) of a record."""
    header, at = _varint(record, 0)
    types = []
    while at < header:
        serial, used = _varint(record, at)
        types.append(serial)
        at += used
    return header, types


def _write_leaf(path: Path, pageno: int, records: list[bytes]) -> None:
    """The leaf page rewritten with these records, packed at its end as SQLite packs them."""
    size, usable = _geometry(path)
    with path.open("r+b") as file:
        file.seek((pageno - 1) * size)
        page = bytearray(file.read(size))
        end = usable
        pointers = []
        page[8:usable] = bytes(usable - 8)
        for record in records:
            cell = _encode_varint(len(record)) + record
            end -= len(cell)
            page[end : end + len(cell)] = cell
            pointers.append(end)
        assert 8 + 2 * len(records) <= end
        for i, at in enumerate(pointers):
            page[8 + 2 * i : 10 + 2 * i] = at.to_bytes(2, "big")
        page[1:3] = bytes(2)  # no free blocks
        page[3:5] = len(records).to_bytes(2, "big")
        page[5:7] = end.to_bytes(2, "big")
        page[7] = 0  # no fragments
        file.seek((pageno - 1) * size)
        file.write(page)


def shorten_and_pad(path: Path, index: str, pad: str) -> tuple[int, int]:
    """The attack: an entry (key, rowid) whose 1-byte rowid is its key's last byte loses that
    byte (its rowid is read from the record's end, which is now the key's last byte); another
    entry of the same page grows by one byte (`null`: an empty field before its rowid;
    `copy`: its rowid byte written once more at the end). Returns both entries' rowids."""
    for pageno in _leaf_pages(path, index):
        size, _ = _geometry(path)
        with path.open("rb") as file:
            file.seek((pageno - 1) * size)
            records = _cells(file.read(size))
        short = None
        for i, record in enumerate(records):
            header, types = _fields(record)
            if types[-1] == 1 and len(types) == 2 and record[-1] == record[-2]:
                short = i  # 1-byte rowid equal to the key's last byte
                break
        if short is None:
            continue
        padded = next(
            i
            for i, record in enumerate(records)
            if i != short and _fields(record)[1][-1] == 1 and _fields(record)[0] < 120
        )
        rowids = (records[short][-1], records[padded][-1])
        records[short] = records[short][:-1]
        record = records[padded]
        header, _ = _fields(record)
        if pad == "null":  # (key, NULL, rowid): one header byte more
            records[padded] = (
                bytes([header + 1]) + record[1 : header - 1] + b"\x00" + record[header - 1 :]
            )
        else:  # (key, rowid) and the rowid's byte again
            records[padded] = record + record[-1:]
        _write_leaf(path, pageno, records)
        return rowids
    raise AssertionError(f"no entry of {index} has a 1-byte rowid equal to its key's last byte")


# --- the hole: verify said whole, integrity_check did not ------------------------------------


@pytest.mark.parametrize("pad", ["null", "copy"])
@pytest.mark.parametrize("index", LEAN)
def test_an_entry_one_byte_short_and_one_a_byte_long_get_sqlite_s_answer(
    native: Path, home: Path, index: str, pad: str, declined: list[str]
) -> None:
    path = home / "log.db"
    short, _ = shorten_and_pad(path, index, pad)
    expected = full(path)
    assert expected, "integrity_check finds the forged entries"
    assert lookup_misses(path, index, short)  # the event is in the log; the index hides it
    code, report = verify(home)
    assert code == 1 and report["ok"] is False
    assert structure_lines(report) == expected
    assert declined == [f"index process: {LAYOUT}: {index}"]


def test_the_check_never_proves_whole_what_the_statement_finds_damaged(
    native: Path, home: Path
) -> None:
    path = home / "log.db"
    shorten_and_pad(path, "events_kind", "null")
    check = structcheck.StructureCheck(path)
    check.start()
    with Ledger.open(path, create=False) as ledger:
        ledger.verify(sums_key=check.key)
        lines = check.result(ledger.row_sums)
    assert lines == full(path) != []
    assert not check.proved and check.declined == f"index process: {LAYOUT}: events_kind"


# --- no false alarm on an intact log ---------------------------------------------------------


def test_the_intact_season_is_proved_whole_without_the_statement(
    native: Path, home: Path, declined: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Path] = []
    monkeypatch.setattr(structcheck, "whole", lambda path: ran.append(path) or [])
    code, report = verify(home)
    assert (code, report["ok"], report["problems"]) == (0, True, [])
    assert declined == [] and ran == []
    assert full(home / "log.db") == []


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The review tests' production (runs left open mid-walkthrough, a hold still on, an
    aborted run), grown past the compiled path's threshold; its -wal kept full of frames."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        home = build(tmp_path_factory.mktemp("production") / "ws").home
    with Ledger.open(home / "log.db", create=False) as ledger:
        ledger.append_bulk(
            (f"2026-03-06T10:00:{i % 60:02d}Z", NewEvent("take.next", {"n": i}, run="r-bulk"))
            for i in range(NATIVE_MIN_EVENTS)
        )
    yield home


def test_an_intact_log_mid_walkthrough_with_a_full_wal_verifies(
    native: Path, production: Path, tmp_path: Path
) -> None:
    """Events appended while another process holds an old snapshot stay in the -wal only (no
    checkpoint can copy them into log.db): every part of verify must read them there."""
    home = tmp_path / "ws"
    shutil.copytree(production, home)
    path = home / "log.db"
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        before = reader.execute("SELECT max(seq) FROM events").fetchone()[0]
        with Ledger.open(path, create=False) as ledger:
            ledger.append_bulk(
                (f"2026-03-07T09:00:{i % 60:02d}Z", NewEvent("item.done", {"n": i}, run="r-wal"))
                for i in range(2_000)
            )
        assert (home / "log.db-wal").stat().st_size > 100 * 4096
        code, report = verify(home)
        assert (code, report["ok"], report["problems"]) == (0, True, [])
        assert report["events"] == before + 2_000
    finally:
        reader.close()
    assert full(path) == []


def test_a_log_just_migrated_from_schema_7_verifies(
    native: Path, production: Path, tmp_path: Path
) -> None:
    """The indexes of migration 1 ((run, seq), (person, seq), (kind, seq)) and version 7: the
    first open rebuilds them (migration 8), and verify finds the log whole."""
    home = tmp_path / "ws"
    shutil.copytree(production, home)
    db = sqlite3.connect(home / "log.db", isolation_level=None)
    for name, column, where in (
        ("events_run", "run", " WHERE run IS NOT NULL"),
        ("events_person", "person", " WHERE person IS NOT NULL"),
        ("events_kind", "kind", ""),
    ):
        db.execute(f"DROP INDEX {name}")
        db.execute(f"CREATE INDEX {name} ON events({column}, seq){where}")
    db.execute("PRAGMA user_version = 7")
    db.close()
    code, report = verify(home)
    assert (code, report["ok"], report["problems"]) == (0, True, [])
    db = sqlite3.connect(home / "log.db")
    shape = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events_kind'").fetchone()
    db.close()
    assert shape == ("CREATE INDEX events_kind ON events(kind)",)


def test_a_log_after_repair_views_verifies(native: Path, production: Path, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    shutil.copytree(production, home)
    db = sqlite3.connect(home / "log.db", isolation_level=None)
    db.execute("UPDATE run_view SET completed = 1 - completed")
    db.close()
    assert verify(home)[0] == 1  # the table disagrees with the log
    repaired = CliRunner().invoke(
        app, ["verify", "--home", str(home), "--repair-views"], env=ENV, catch_exceptions=False
    )
    assert repaired.exit_code == 0, repaired.output
    code, report = verify(home)
    assert (code, report["ok"], report["problems"]) == (0, True, [])
    assert full(home / "log.db") == []
