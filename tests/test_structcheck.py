"""verify's structure check (structcheck.py) against SQLite's own `integrity_check`, on a real log
forged the way someone with a database tool or a hex editor would: every answer is the
statement's, line for line; on an intact log the proof (not the statement) says whole; on every
forgery the proof declines and the statement answers.

Index entries are forged by building the wanted entries as another index and swapping the two
b-trees' root pages in sqlite_master (the file otherwise whole: only a check that compares each
index with its table can see it); pages are edited in place (two cells of a leaf swapped, a byte
of an interior cell's key changed, a twin cell), found with dbstat."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from safetycli import chainscan, crew, structcheck
from safetycli import ledger as ledger_module
from safetycli.cli import app
from safetycli.events import NewEvent
from safetycli.ledger import Ledger
from tests.reviewdata import ENV, build
from tests.sqlitepages import full
from tests.sqlitepages import read_varint as _varint

# (key, ..., rowid) of an index entry as the table says it must be, in seq order.
_OWN = {
    "events_kind": "SELECT kind, seq FROM events NOT INDEXED",
    "events_run": "SELECT run, seq FROM events NOT INDEXED WHERE run IS NOT NULL",
    "events_person": "SELECT person, seq FROM events NOT INDEXED WHERE person IS NOT NULL",
    "events_started_day": "SELECT json_extract(data, '$.day'), seq, seq FROM events NOT INDEXED"
    " WHERE kind = 'run.started'",
}
INDEXES = tuple(_OWN)
PARTIAL = ("events_run", "events_person")
MALFORMED = ["database disk image is malformed"]
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _proof_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests hold each part of the proof to what it says it checks, whatever the switch
    (structcheck.PROVE_INDEXES, on as shipped) says."""
    monkeypatch.setattr(structcheck, "PROVE_INDEXES", True)


@pytest.fixture(scope="module")
def native() -> Path:
    program = chainscan.native_helper()
    if program is None:
        pytest.skip("verify's compiled program is not built on this machine")
    return program


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A production's log (every kind of entry in the four indexes) grown with 3,000 events of
    long run and person names, so each big index has interior pages; built once."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        home = build(tmp_path_factory.mktemp("built") / "ws").home
    with Ledger.open(home / "log.db", create=False) as ledger:
        ledger.append_bulk(
            (
                f"2026-03-05T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                NewEvent(
                    ("item.done", "take.next", "item.witnessed")[i % 3],
                    {"n": i},
                    run=None if i % 7 == 0 else f"run-{i % 97:03d}-" + "r" * 90,
                    person=None if i % 2 else f"person {i % 31:02d} " + "p" * 80,
                ),
            )
            for i in range(3_000)
        )
    db = sqlite3.connect(home / "log.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    yield home / "log.db"


@pytest.fixture
def log(built: Path, tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    shutil.copyfile(built, path)
    return path


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def checked(path: Path, workers: int = 1) -> tuple[list[str], structcheck.StructureCheck]:
    """The structure check as verify runs it: started first, the compiled chain scan given its
    key (`workers` ranges), then the scan's sums handed to it."""
    check = structcheck.StructureCheck(path)
    check.start()
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        total = int(db.execute("SELECT count(*) FROM events NOT INDEXED").fetchone()[0])
        spans = ledger_module._scan_parallel(
            path, db, workers, None, total, None, chainscan.native_helper(), check.key
        )
    except sqlite3.DatabaseError:  # a file too damaged to count: verify gives no sums either
        spans = None
    finally:
        db.close()
    rows = None
    if spans is not None:
        chain, _ = ledger_module._join(spans)
        sums = chainscan.joined_sums(spans)
        if chain.first_bad_seq is None and sums is not None:
            rows = chainscan.RowSums(chain.head_seq, sums)
    return check.result(rows), check


def same_as_sqlite(path: Path) -> tuple[list[str], structcheck.StructureCheck]:
    """The check's lines are integrity_check's, whoever gave them; the proof says whole only
    where the statement does (and where the proof declines, the statement answers)."""
    expected = full(path)
    lines, check = checked(path)
    if lines != expected:
        # A cell pointer just past its page's end: SQLite 3.40 then reads bytes it does not
        # own, and the same file gets its lines or only "malformed", run to run (the statement
        # alone, with or without the proof: found by a soak of the random-byte test below).
        assert MALFORMED in (lines, expected) and lines and expected
    if check.proved:
        assert expected == []
    assert check.proved == (check.declined is None)
    return lines, check


def own_entries(path: Path, index: str) -> list[tuple[Any, ...]]:
    db = _connect(path)
    try:
        return [tuple(row) for row in db.execute(_OWN[index] + " ORDER BY seq")]
    finally:
        db.close()


def forge_index(path: Path, index: str, entries: list[tuple[Any, ...]]) -> None:
    """Make index `index` hold exactly `entries` (key..., rowid), its definition untouched:
    a b-tree of another index with those entries takes its root page."""
    db = _connect(path)
    width = len(entries[0]) - 1 if entries else len(_OWN[index].split(",")) - 1
    keys = ", ".join(f"k{i}" for i in range(width))
    db.execute(f"CREATE TABLE forged ({keys}, r INTEGER PRIMARY KEY)")
    marks = ", ".join("?" * (width + 1))
    db.executemany(f"INSERT INTO forged VALUES ({marks})", entries)
    db.execute(f"CREATE INDEX forged_idx ON forged ({keys})")
    roots = dict(
        db.execute(
            "SELECT name, rootpage FROM sqlite_master WHERE name IN (?, 'forged_idx')", (index,)
        ).fetchall()
    )
    db.execute("PRAGMA writable_schema = ON")
    swap = "UPDATE sqlite_master SET rootpage = ? WHERE name = ?"
    db.execute(swap, (roots["forged_idx"], index))
    db.execute(swap, (roots[index], "forged_idx"))
    db.close()
    db = _connect(path)
    db.execute("DROP TABLE forged")  # frees the index's real b-tree, now under the other name
    db.close()


def _page(path: Path, index: str, pagetype: str) -> tuple[int, int]:
    """(page number, page size) of a page of `index` of that dbstat type."""
    db = _connect(path)
    try:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        row = db.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno LIMIT 1",
            (index, pagetype),
        ).fetchone()
    finally:
        db.close()
    assert row is not None, f"{index} has no {pagetype} page"
    return int(row[0]), int(size)


def edit_page(path: Path, pageno: int, size: int, edit: Any) -> None:
    with path.open("r+b") as file:
        file.seek((pageno - 1) * size)
        page = bytearray(file.read(size))
        edit(page)
        file.seek((pageno - 1) * size)
        file.write(page)


def swap_leaf_cells(path: Path, index: str) -> None:
    """Two neighbouring cells of a leaf page swapped in its cell-pointer array: every cell still
    there, whole, the page well formed; only the order is wrong."""
    pageno, size = _page(path, index, "leaf")

    def edit(page: bytearray) -> None:
        assert page[0] == 0x0A  # a leaf page of an index b-tree
        a, b = 8 + 2, 8 + 4  # the second and third pointers
        page[a : a + 2], page[b : b + 2] = page[b : b + 2], page[a : a + 2]

    edit_page(path, pageno, size, edit)


def change_interior_key(path: Path, index: str, byte: int) -> None:
    """A byte of the key of an interior page's first cell set to `byte`: lookups that pass
    through that cell are sent astray; a scan still reads every cell."""
    pageno, size = _page(path, index, "internal")

    def edit(page: bytearray) -> None:
        assert page[0] == 0x02  # an interior page of an index b-tree
        cell = int.from_bytes(page[12:14], "big")
        _, used = _varint(page, cell + 4)  # the payload's size, after the left child's number
        record = cell + 4 + used
        header, _ = _varint(page, record)
        page[record + header + 5] = byte  # inside the key (run-NNN-rrr..., person NN ppp...)

    edit_page(path, pageno, size, edit)


def twin_cell(path: Path, index: str) -> None:
    """A hex editor's twin: the first cell of a leaf page written again beside it (copied into
    the page's free gap, one more cell pointer)."""
    pageno, size = _page(path, index, "leaf")

    def edit(page: bytearray) -> None:
        assert page[0] == 0x0A
        cells = int.from_bytes(page[3:5], "big")
        content = int.from_bytes(page[5:7], "big") or 65536
        first = int.from_bytes(page[8:10], "big")
        payload, used = _varint(page, first)
        cell = bytes(page[first : first + used + payload])
        start = content - len(cell)
        assert 8 + 2 * (cells + 1) <= start  # room in the gap
        page[start:content] = cell
        pointers = page[8 : 8 + 2 * cells]
        page[8 : 8 + 2 * (cells + 1)] = pointers[:2] + start.to_bytes(2, "big") + pointers[2:]
        page[3:5] = (cells + 1).to_bytes(2, "big")
        page[5:7] = start.to_bytes(2, "big")

    edit_page(path, pageno, size, edit)


# --- an intact log: the proof says whole ------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_an_intact_log_is_proved_whole_by_the_fast_path(
    native: Path, log: Path, workers: int
) -> None:
    assert full(log) == []
    lines, check = checked(log, workers)
    assert lines == [] and check.proved and check.declined is None


def test_a_new_empty_log_is_proved_whole(native: Path, tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "log.db"):
        pass
    assert same_as_sqlite(tmp_path / "log.db")[1].proved


def test_the_sums_of_one_two_and_three_chain_workers_are_the_index_process_s(
    native: Path, log: Path
) -> None:
    key = bytes(range(16))
    db = _connect(log)
    total = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    joined = []
    for workers in (1, 2, 3):
        spans = ledger_module._scan_parallel(log, db, workers, None, total, None, native, key)
        assert spans is not None and len(spans) == workers
        assert all(span.sums is not None for span in spans)
        joined.append(chainscan.joined_sums(spans))
    db.close()
    done = subprocess.run(
        [str(native), "--indexes", str(log), "15000"],
        input=key.hex() + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    indexes = json.loads(done.stdout.removeprefix("i "))
    assert joined[0] == joined[1] == joined[2] == indexes["sums"]
    assert indexes["max_seq"] == total
    counts = [row[0] for row in indexes["sums"]]
    assert counts == [len(own_entries(log, name)) for name in structcheck.SUMMED]


def test_the_key_is_fresh_for_every_check_and_changes_the_sums(native: Path, log: Path) -> None:
    sums = []
    for key in (bytes(16), bytes(range(16))):
        done = subprocess.run(
            [str(native), "--indexes", str(log), "15000"],
            input=key.hex() + "\n",
            capture_output=True,
            text=True,
            check=True,
        )
        sums.append(json.loads(done.stdout[2:])["sums"])
    assert sums[0] != sums[1]
    assert structcheck.StructureCheck(log).key != structcheck.StructureCheck(log).key


# --- the keyed function: the paper's and the reference implementation's vectors --------------

KEY = bytes(range(16))
MESSAGE = bytes(range(15))
# Aumasson and Bernstein, "SipHash: a fast short-input PRF" (2012), appendix A: key 00..0f,
# message 00..0e, SipHash-2-4 = a129ca6149be45e5 (as a number; bytes little-endian below).
VECTORS = [
    ("64", MESSAGE, "e545be4961ca29a1"),
    # The reference implementation's vectors (vectors.h), key 00..0f, message 00..(n-1).
    ("64", b"", "310e0edd47db6f72"),
    ("64", bytes([0]), "fd67dc93c539f874"),
    ("64", bytes(range(2)), "5a4fa9d909806c0d"),
    ("128", b"", "a3817f04ba25a8e66df67214c7550293"),
    ("128", bytes([0]), "da87c1d86b99af44347659119b22fc45"),
    ("128", bytes(range(2)), "8177228da4a45dc7fca38bdef60affe4"),
    ("128", bytes(range(7)), "a1f1ebbed8dbc153c0b84aa61ff08239"),
    ("128", bytes(range(8)), "3b62a9ba6258f5610f83e264f31497b4"),
    ("128", bytes(range(15)), "5493e99933b0a8117e08ec0f97cfc3d9"),
    ("128", bytes(range(16)), "6ee2a4ca67b054bbfd3315bf85230577"),
]


def test_the_keyed_function_gives_the_test_vectors(native: Path) -> None:
    lines = [KEY.hex(), *(f"{width} {message.hex()}" for width, message, _ in VECTORS)]
    done = subprocess.run(
        [str(native), "--prf"], input="\n".join(lines) + "\n", capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.split() == [want for _, _, want in VECTORS]


# --- forged indexes: the proof declines, the statement answers ---------------------------------


@pytest.mark.parametrize("index", INDEXES)
def test_entries_dropped_from_an_index(native: Path, log: Path, index: str) -> None:
    entries = own_entries(log, index)
    forge_index(log, index, [e for i, e in enumerate(entries) if i not in (0, len(entries) // 2)])
    lines, check = same_as_sqlite(log)
    assert lines and not check.proved


@pytest.mark.parametrize("index", INDEXES)
def test_a_key_changed_in_an_index(native: Path, log: Path, index: str) -> None:
    """The entry is there, under another key: a query for its own key no longer finds it."""
    entries = own_entries(log, index)
    victim = len(entries) // 2
    other = next(e[0] for e in entries if e[0] != entries[victim][0])
    forged = [(other, *e[1:]) if i == victim else e for i, e in enumerate(entries)]
    forge_index(log, index, forged)
    lines, check = same_as_sqlite(log)
    assert lines and not check.proved


@pytest.mark.parametrize("index", INDEXES)
def test_an_entry_added_for_an_event_it_must_not_hold(native: Path, log: Path, index: str) -> None:
    entries = own_entries(log, index)
    held = {e[-1] for e in entries}
    db = _connect(log)
    # An event it does not hold, or one the log does not have (every event has a kind).
    seqs = [seq for (seq,) in db.execute("SELECT seq FROM events") if seq not in held]
    stranger = seqs[0] if seqs else max(held) + 1_000
    db.close()
    forge_index(log, index, sorted([*entries, (*entries[0][:-1], stranger)], key=lambda e: e[-1]))
    lines, check = same_as_sqlite(log)
    assert lines and not check.proved


@pytest.mark.parametrize("index", PARTIAL)
def test_a_null_key_entry_in_a_partial_index_is_read(native: Path, log: Path, index: str) -> None:
    """A scan of a partial index through SQLite starts after the NULL keys; the walk of its
    pages reads every cell, and a NULL is not the key's text."""
    entries = own_entries(log, index)
    held = {e[-1] for e in entries}
    db = _connect(log)
    stranger = next(seq for (seq,) in db.execute("SELECT seq FROM events") if seq not in held)
    db.close()
    forge_index(log, index, sorted([*entries, (None, stranger)], key=lambda e: e[-1]))
    lines, check = same_as_sqlite(log)
    assert lines and not check.proved
    assert check.declined is not None and "exactly (key, rowid)" in check.declined


def test_entries_of_the_old_shape_under_the_new_definition(native: Path, log: Path) -> None:
    """(kind, seq, rowid) entries under `events(kind)`: every key and rowid right, one field
    more in each. A covering scan reads the first field and the last; the walk reads them all.
    (SQLite's statement passes it: its lookups find each entry, the rowid at its end.)"""
    entries = [(kind, seq, seq) for kind, seq in own_entries(log, "events_kind")]
    forge_index(log, "events_kind", entries)
    lines, check = same_as_sqlite(log)
    assert lines == [] and not check.proved
    assert check.declined is not None and "exactly (key, rowid)" in check.declined


def test_an_index_added_by_hand_is_checked_in_full(native: Path, log: Path) -> None:
    db = _connect(log)
    db.execute("CREATE INDEX events_at ON events(at)")
    db.close()
    lines, check = same_as_sqlite(log)
    assert lines == [] and not check.proved and check.declined is not None
    assert "schema" in check.declined


def test_an_index_whose_definition_was_edited_is_checked_in_full(native: Path, log: Path) -> None:
    db = _connect(log)
    db.execute("PRAGMA writable_schema = ON")
    db.execute(
        "UPDATE sqlite_master SET sql = ? WHERE name = 'events_kind'",
        ("CREATE INDEX events_kind ON events(kind) WHERE kind != 'hold.raised'",),
    )
    db.close()
    lines, check = same_as_sqlite(log)
    assert lines and not check.proved and check.declined is not None
    assert "schema" in check.declined


@pytest.mark.parametrize("index", structcheck.SUMMED)
def test_two_cells_of_a_leaf_swapped(native: Path, log: Path, index: str) -> None:
    swap_leaf_cells(log, index)
    _, check = same_as_sqlite(log)
    assert not check.proved
    assert check.declined is not None and "out of order" in check.declined


@pytest.mark.parametrize("index", ["events_run", "events_person"])
@pytest.mark.parametrize("byte", [0x01, 0x7E])
def test_a_byte_of_an_interior_key_changed(native: Path, log: Path, index: str, byte: int) -> None:
    change_interior_key(log, index, byte)
    lines, check = same_as_sqlite(log)
    assert lines and not check.proved


@pytest.mark.parametrize("index", structcheck.SUMMED)
def test_a_twin_cell_in_a_leaf(native: Path, log: Path, index: str) -> None:
    twin_cell(log, index)
    lines, check = same_as_sqlite(log)
    assert not check.proved
    assert check.declined is not None


def test_a_small_table_s_index_forged(native: Path, log: Path) -> None:
    """custody_view's own index: integrity_check(custody_view) is the statement's part for it."""
    db = _connect(log)
    db.executemany(
        "INSERT INTO custody_view (day, seq, hash, state, mac) VALUES (?, 1, 'h', '{}', 'm')",
        [(f"2026-03-0{day}",) for day in range(1, 6)],
    )
    rows = db.execute("SELECT day, rowid FROM custody_view ORDER BY rowid").fetchall()
    db.close()
    forge_index(log, "sqlite_autoindex_custody_view_1", [tuple(r) for r in rows[1:]])
    lines, check = same_as_sqlite(log)
    assert lines and not check.proved


forgeries = st.tuples(
    st.sampled_from(INDEXES),
    st.sampled_from(("drop", "rekey", "add", "null")),
    st.lists(st.integers(0, 10_000), min_size=1, max_size=4),
)


@SETTINGS
@given(forgery=forgeries)
def test_any_forged_index_gets_sqlite_s_answer(
    native: Path, built: Path, tmp_path_factory: pytest.TempPathFactory, forgery: Any
) -> None:
    index, how, picks = forgery
    path = tmp_path_factory.mktemp("forged") / "log.db"
    shutil.copyfile(built, path)
    entries = own_entries(path, index)
    chosen = {p % len(entries) for p in picks}
    if how == "drop":
        forged = [e for i, e in enumerate(entries) if i not in chosen]
    elif how == "rekey":
        keys = sorted({e[0] for e in entries if e[0] is not None})
        forged = [
            (keys[(keys.index(e[0]) + 1) % len(keys)], *e[1:]) if i in chosen else e
            for i, e in enumerate(entries)
        ]
    else:
        db = _connect(path)
        top = int(db.execute("SELECT max(seq) FROM events").fetchone()[0])
        db.close()
        held = {e[-1] for e in entries}
        extra = sorted({(p * 7919) % (top + 50) + 1 for p in picks} - held)
        key = None if how == "null" else entries[picks[0] % len(entries)][0]
        width = len(entries[0]) - 1
        forged = [*entries, *(((key,) + (seq,) * width) for seq in extra)]
        forged.sort(key=lambda e: e[-1])
    if forged == entries:
        return
    forge_index(path, index, forged)
    lines, check = same_as_sqlite(path)
    assert not check.proved  # each forgery is caught by the proof declining, never by luck


pages = st.tuples(
    st.sampled_from(INDEXES),
    st.sampled_from(("leaf", "internal")),
    st.integers(0, 4095),
    st.integers(1, 255),
)


@SETTINGS
@given(edit=pages)
def test_any_byte_of_an_index_page_changed_gets_sqlite_s_answer(
    native: Path, built: Path, tmp_path_factory: pytest.TempPathFactory, edit: Any
) -> None:
    """A hex editor's change anywhere in an index's page: header, pointers, cells or free
    space. Whatever SQLite says of it (a fault, a file it cannot read, or nothing), verify's
    check says the same, and it proves whole only where the statement finds nothing."""
    index, pagetype, offset, flip = edit
    path = tmp_path_factory.mktemp("page") / "log.db"
    shutil.copyfile(built, path)
    db = _connect(path)
    row = db.execute(
        "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno LIMIT 1",
        (index, pagetype),
    ).fetchone()
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    if row is None:  # the day index has no interior page
        return

    def change(page: bytearray) -> None:
        page[offset % size] ^= flip

    edit_page(path, int(row[0]), int(size), change)
    same_as_sqlite(path)


# --- what the proof cannot vouch for: the statement runs ---------------------------------------


def test_an_edited_row_gets_the_full_check(native: Path, log: Path) -> None:
    """The compiled chain scan declines an edited row (verify then scans in Python, which gives
    no sums): the statement answers."""
    db = _connect(log)
    trigger = "SELECT sql FROM sqlite_master WHERE name = 'events_no_update'"
    (trigger,) = db.execute(trigger).fetchone()
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET data = '{\"edited\":1}' WHERE seq = 5")
    db.execute(trigger)  # the schema as it was: only the row differs
    db.close()
    lines, check = checked(log)
    assert lines == full(log) and not check.proved
    assert check.declined == "the chain scan gave no sums"


@pytest.fixture
def argvs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command line of every process started while the test runs."""
    started: list[list[str]] = []
    popen = subprocess.Popen

    def spy(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        started.append([str(a) for a in argv])
        return popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    return started


def test_the_key_never_goes_on_a_command_line(
    native: Path, log: Path, argvs: list[list[str]]
) -> None:
    """Anyone on the machine can read a process's arguments: the key goes on stdin."""
    lines, check = checked(log, workers=2)
    assert lines == [] and check.proved
    assert any("--indexes" in argv for argv in argvs)
    assert sum("--sums" in argv for argv in argvs) == 2
    assert not any(check.key.hex() in " ".join(argv) for argv in argvs)


def test_an_append_during_verify_gets_the_full_check(
    native: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_module, "NATIVE_MIN_EVENTS", 0)
    check = structcheck.StructureCheck(log)
    check.start()
    check.join()  # the file's parts and the indexes read before the append
    with Ledger.open(log, create=False) as ledger:
        ledger.append("take.next", {"text": "appended while verify ran"}, run="run-append")
        ledger.verify(sums_key=check.key, workers=1)
        rows = ledger.row_sums
    assert rows is not None
    assert check.result(rows) == [] == full(log)
    assert not check.proved and check.declined is not None and "appended" in check.declined


def test_without_the_compiled_program_the_full_check_runs(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(chainscan.NATIVE_SWITCH, "0")
    lines, check = checked(log)
    assert lines == [] == full(log)
    assert not check.proved and check.declined == "no compiled program"


def test_sums_from_the_python_scan_are_none_and_the_full_check_runs(
    native: Path, log: Path
) -> None:
    check = structcheck.StructureCheck(log)
    check.start()
    assert check.result(None) == []
    assert not check.proved and check.declined is not None


# --- the walk of the pages: a hostile file, a live log ----------------------------------------


def _indexes_process(native: Path, path: Path, key: bytes) -> subprocess.CompletedProcess[str]:
    """The index process as verify starts it, with a time limit: a hang fails the test."""
    return subprocess.run(
        [str(native), "--indexes", str(path), "15000"],
        input=key.hex() + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _root(path: Path, index: str) -> int:
    db = _connect(path)
    try:
        return int(
            db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
        )
    finally:
        db.close()


@pytest.mark.parametrize("index", structcheck.SUMMED)
def test_a_child_pointer_to_an_ancestor_declines_without_hanging(
    native: Path, log: Path, index: str
) -> None:
    """An interior cell whose left child is its b-tree's root: a walk that followed it would
    go round for ever."""
    pageno, size = _page(log, index, "internal")
    root = _root(log, index)

    def edit(page: bytearray) -> None:
        assert page[0] == 0x02
        cell = int.from_bytes(page[12:14], "big")
        page[cell : cell + 4] = root.to_bytes(4, "big")

    edit_page(log, pageno, size, edit)
    done = _indexes_process(native, log, bytes(16))
    assert done.returncode == 3 and done.stdout.startswith("u ")
    assert "twice" in done.stdout
    lines, check = same_as_sqlite(log)  # (quick_check may doubt first: either is a doubt)
    assert lines and not check.proved


def test_a_child_page_beyond_the_file_declines(native: Path, log: Path) -> None:
    pageno, size = _page(log, "events_kind", "internal")

    def edit(page: bytearray) -> None:
        page[8:12] = (1 << 31).to_bytes(4, "big")  # the right-most child

    edit_page(log, pageno, size, edit)
    done = _indexes_process(native, log, bytes(16))
    assert done.returncode == 3 and "out of the file" in done.stdout
    lines, check = same_as_sqlite(log)
    assert lines and not check.proved


def test_a_key_too_long_for_the_page_declines(native: Path, log: Path) -> None:
    """A run name longer than an index cell keeps on its page: the entry spills onto overflow
    pages, which the walk does not follow. The log is intact: the statement says so."""
    with Ledger.open(log, create=False) as ledger:
        ledger.append("take.next", {"n": 1}, run="r" * 3_000)
    lines, check = same_as_sqlite(log)
    assert lines == [] and not check.proved
    assert check.declined is not None and "overflow" in check.declined


def test_a_log_with_frames_in_its_wal_declines(native: Path, log: Path) -> None:
    """Events appended while another connection holds its snapshot stay in the -wal (nothing
    can copy them into the file): the file is not the log, the statement answers."""
    reader = _connect(log)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT max(seq) FROM events").fetchone()
        with Ledger.open(log, create=False) as ledger:
            ledger.append("take.next", {"n": 1}, run="run-wal")
        assert log.with_name(log.name + "-wal").stat().st_size > 0
        done = _indexes_process(native, log, bytes(16))  # the walk's own check, after its read
        assert done.returncode == 3 and "-wal" in done.stdout
        lines, check = same_as_sqlite(log)
        assert lines == [] and not check.proved
        assert check.declined is not None and "-wal" in check.declined
    finally:
        reader.close()


def test_a_log_held_open_by_a_board_is_proved_whole(native: Path, log: Path) -> None:
    """A set board (`status --watch`) keeps a connection open between its reads: the events
    appended meanwhile stay in the -wal, yet no reader is inside a transaction, so the check
    empties the -wal into the file and proves the log whole, as the statement finds it."""
    board = _connect(log)
    try:
        board.execute("SELECT max(seq) FROM events").fetchone()  # a read, then none under way
        with Ledger.open(log, create=False) as ledger:
            ledger.append("take.next", {"n": 1}, run="run-board")
        wal = log.with_name(log.name + "-wal")
        assert wal.stat().st_size > 0
        lines, check = same_as_sqlite(log)
        assert lines == [] and check.proved, check.declined
        assert wal.stat().st_size == 0
        assert board.execute("SELECT count(*) FROM events WHERE run = 'run-board'").fetchone() == (
            1,
        )
    finally:
        board.close()


def test_a_log_written_while_the_walk_runs_gets_the_answer_of_its_snapshot(
    native: Path, log: Path
) -> None:
    """A writer appends and empties the -wal (a TRUNCATE checkpoint) for as long as the index
    process runs, again and again, so walks start on an empty -wal and events are written
    while they run: each answer it gives is the one of the log it saw (max_seq), equal to the
    chain scan's sums over the same events read afterwards."""
    key = bytes(range(16))
    stop = threading.Event()
    appended = [0]

    def write() -> None:
        with Ledger.open(log, create=False) as ledger:
            while not stop.is_set():
                ledger.append("take.next", {"n": appended[0]}, run="run-live")
                appended[0] += 1
                if appended[0] % 5 == 0:  # an empty -wal for a moment, then appends again
                    ledger.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                    time.sleep(0.003)

    base = len(own_entries(log, "events_kind"))
    writer = threading.Thread(target=write)
    writer.start()
    answers = []
    overtaken = 0  # answers of a log the writer had grown by the time they came
    try:
        # At least 30 walks, and more until both kinds of walk were seen: on a loaded machine
        # the writer can sit between appends through many walks in a row.
        for attempt in range(300):
            if attempt >= 30 and answers and overtaken:
                break
            done = _indexes_process(native, log, key)
            assert done.stdout.startswith(("i ", "u ")), done.stdout
            if done.stdout.startswith("i "):
                assert done.returncode == 0
                answers.append(json.loads(done.stdout[2:]))
                overtaken += answers[-1]["max_seq"] < base + appended[0]
            else:
                assert done.returncode == 3
    finally:
        stop.set()
        writer.join()
    assert appended[0] > 30  # the writer ran all along
    assert answers, "with checkpoints between appends, some walks find the -wal empty"
    assert overtaken, "some walks ran while the writer appended"
    for answer in answers:
        chain = subprocess.run(
            [str(native), str(log), "", str(answer["max_seq"]), "", "15000", "--sums"],
            input=key.hex() + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        sums = json.loads(chain.stdout.splitlines()[-1][2:])["sums"]
        assert answer["sums"] == sums
    assert full(log) == []


# --- through the real verify -------------------------------------------------------------------


@pytest.fixture
def prod_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        home = build(tmp_path / "ws").home
    # The compiled scan for a log of any length (it takes over from 5,000 events).
    monkeypatch.setattr(ledger_module, "NATIVE_MIN_EVENTS", 0)
    return home


def _verify(home: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["verify", "--home", str(home), "--format", "json"], env=ENV, catch_exceptions=False
    )
    return result.exit_code, json.loads(result.stdout)


def test_verify_of_an_intact_log_never_runs_the_full_statement_with_the_proof_on(
    native: Path, prod_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Path] = []
    monkeypatch.setattr(structcheck, "whole", lambda path: ran.append(path) or [])
    code, report = _verify(prod_home)
    assert code == 0 and report["ok"] is True
    assert ran == []


def test_verify_with_the_proof_switched_off_runs_the_statement_once_and_gives_no_key(
    native: Path, prod_home: Path, monkeypatch: pytest.MonkeyPatch, argvs: list[list[str]]
) -> None:
    monkeypatch.setattr(structcheck, "PROVE_INDEXES", False)
    ran: list[Path] = []
    monkeypatch.setattr(structcheck, "whole", lambda path: ran.append(path) or [])
    code, report = _verify(prod_home)
    assert code == 0 and report["ok"] is True
    assert len(ran) == 1  # the statement, once
    assert argvs and not any("--indexes" in argv or "--sums" in argv for argv in argvs)


def test_verify_names_a_forged_index_exactly_as_sqlite_does(native: Path, prod_home: Path) -> None:
    path = prod_home / "log.db"
    db = _connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    entries = own_entries(path, "events_kind")
    held = next(i for i, e in enumerate(entries) if e[0] == "hold.raised")
    forge_index(path, "events_kind", entries[:held] + entries[held + 1 :])
    expected = [f"the log file's structure is damaged (SQLite: {line})" for line in full(path)]
    assert expected
    code, report = _verify(prod_home)
    assert code == 1
    reasons = [p["reason"] for p in report["problems"]]
    assert reasons[: len(expected)] == expected
