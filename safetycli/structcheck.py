"""verify's check of the log file's structure: SQLite's `PRAGMA integrity_check` verdict, proved
from cheaper parts in a thread started first (beside the chain scan), and the statement itself
whenever any part is in doubt.

The proof was off for a while (tests/test_structcheck_attack.py): it read the big indexes with
a covering scan, which takes an entry's rowid from the END of its record (SQLite's IdxRowid)
where the statement's lookups read the record field by field, so an entry made a byte short
whose key ends in its rowid's byte read right and was found by no lookup. The compiled program
now walks those indexes' b-trees from the file's pages itself and reads every entry's record
field by field: exactly a TEXT key and an INTEGER rowid, and not a byte more or less. It does so
only when the file is the read transaction's snapshot (the `-wal` absent or empty: a log with
frames in its -wal, a board or a walk-through open on it, gets the statement).

What the proof is:

integrity_check is `quick_check` (every b-tree's pages, each page used once, the freelist, NOT
NULL per row: 0.37 s at a million events) plus, per index, that it holds exactly its table's
rows (0.8 s more, in the same one thread: verify's critical path on two cores). Here the index
half is proved from reads verify makes anyway, and nothing is ever answered that the statement
would not answer:

- `quick_check` of the whole file and `integrity_check(TABLE)` of each small table (run_view,
  custody_view), in this thread (sqlite3 releases the GIL);
- the three big indexes of events (`ledger.LEAN_INDEXES`: each entry is exactly (key, rowid)) in
  the compiled program (`native/chainscan.c --indexes`), in its own process from the start:
  each index's b-tree walked from the database file's pages in tree order (interior cells are
  entries too), every cell inside its page and on no overflow page, no page reached twice,
  no page without cells but an empty index's leaf root, every varint in the shortest form
  (SQLite's comparators read some as single bytes: tests/test_structcheck_attack2.py);
  every entry's record read field by field, two serial types (text, integer) and a payload of
  exactly those bytes; each entry strictly after the one before, so it is a search tree in which
  every lookup finds every entry; and the entries' count and two sums of a keyed function
  (SipHash-2-4, a fresh key each time, given on stdin) equal to those the chain scan computes
  over the rows it reads anyway (`--sums`): the entries are the table's, one each. The walk
  reads the file only when it is the snapshot (chainscan.c's `file_is_snapshot` says why
  nothing can change it under the walk), otherwise it doubts;
- `events_started_day` (a few thousand entries over an expression SQLite 3.40 does not read
  back from the index) as integrity_check checks it: every run start looked up through it, and
  its cells counted, and no page of it without cells but an empty leaf root (SQLite's cursor
  calls any other corrupt, and integrity_check counts the entries through one);
- the schema exactly as the migrations write it (any other table, index or trigger, an edited
  index, a future migration: the full check).

Only a proof says "whole", and only when the index process and the chain scan read the same log
(the index process's max(seq) is the chain's last event: an append during verify is a doubt).
Any doubt, error or mismatch runs the full statement (`filecheck.integrity_problems`) and
returns its lines. Without the compiled program (`SAFETYCLI_NATIVE=0`, no compiler at
install) the statement runs from the start, as before.
"""

from __future__ import annotations

import functools
import json
import secrets
import sqlite3
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from safetycli.chainscan import RowSums, native_helper
from safetycli.filecheck import integrity_problems

# Whether verify proves the verdict from the parts below instead of running the statement (the
# switch that turned it off while the entries' layout went unread: the module's docstring).
PROVE_INDEXES = True
UNPROVABLE = "the proof is switched off"
WAL_FRAMES = "the log has frames in its -wal"
DAY_EMPTY_PAGE = "the day index has a page without cells"
# The compiled program's mode for the indexes, and how long it waits on a writer's lock.
INDEX_MODE = "--indexes"
BUSY_TIMEOUT_MS = 15_000
# How long the checkpoint that empties the -wal waits for a reader's transaction (`_settled`).
CHECKPOINT_WAIT_S = 0.2
# The sums' order, the compiled program's (its INDEX_NAME): ledger.LEAN_INDEXES.
SUMMED = ("events_run", "events_person", "events_kind")
_SCHEMA = "SELECT type, name, tbl_name, sql FROM sqlite_master"
# Each run start, found through the kind index (proved entry for entry by the sums), and the
# rowid of its entry in the day index, looked up on the entry's whole key (day, seq, rowid).
_DAY_LOOKUPS = (
    "SELECT e.seq, json_extract(e.data, '$.day'), (SELECT x.rowid FROM events AS x"
    " INDEXED BY events_started_day WHERE json_extract(x.data, '$.day') IS"
    " json_extract(e.data, '$.day') AND x.kind = 'run.started' AND x.seq = e.seq"
    " AND x.rowid = e.seq) FROM events AS e INDEXED BY events_kind"
    " WHERE e.kind = 'run.started'"
)
_DAY_PLAN = "SEARCH x USING INDEX events_started_day (<expr>=? AND seq=? AND rowid=?)"
# Its pages, cells, payload, overflow pages, and pages without cells that SQLite's cursor would
# call corrupt (all but an empty index's leaf root: tests/test_structcheck_attack2.py).
_CELLS = (
    "SELECT count(*), sum(ncell), sum(payload), sum(pagetype = 'overflow'),"
    " sum(ncell = 0 AND pagetype != 'overflow' AND (pagetype != 'leaf' OR path != '/'))"
    " FROM dbstat WHERE name = ?"
)


@dataclass(frozen=True)
class IndexSums:
    """What the index process read: the log's last event in its snapshot, and per index of
    `SUMMED` [entries, keyed sum, keyed sum]."""

    max_seq: int
    sums: list[list[int]]


class StructureCheck(threading.Thread):
    """The check on its own connections, in a thread (and the index process), while verify does
    the rest. `key` goes to the chain scan (`Ledger.verify(sums_key=...)`); `result` takes what
    the scan summed and gives integrity_check's lines (empty: whole)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        # None while the proof is off: the chain scan then sums nothing.
        self.key = secrets.token_bytes(16) if PROVE_INDEXES else None
        self.native = native_helper()
        # Why the proof was not made (None while it stands): for tests and benchmarks.
        self.declined: str | None = None
        # True once the proof, not the full statement, gave the answer.
        self.proved = False
        self._full: list[str] | None = None
        self._indexes: IndexSums | None = None

    def run(self) -> None:
        try:
            why = self._prove()
        except Exception as err:  # noqa: BLE001 - never lost in a thread: the statement decides
            why = f"the check failed: {err!r}"
        if why is not None:
            self._decline(why)

    def result(self, rows: RowSums | None) -> list[str]:
        """integrity_check's lines (empty: whole). `rows`: what the chain scan summed (None: it
        gave no sums, the Python scan or a range it did not vouch for)."""
        self.join()
        if self._full is not None:
            return self._full
        indexes = self._indexes
        if indexes is None:
            return self._decline("the index process gave no answer")
        if rows is None:
            return self._decline("the chain scan gave no sums")
        if rows.last_seq != indexes.max_seq:
            return self._decline("events were appended while verify read the log")
        if rows.sums != indexes.sums:
            return self._decline("the index entries are not the table's")
        self.proved = True
        return []

    def _decline(self, why: str) -> list[str]:
        self.declined = why
        self._full = whole(self.path)
        return self._full

    def _prove(self) -> str | None:
        """The proof's parts in this thread and in the index process; a reason not to trust
        them, or None when they all hold (the sums are compared in `result`)."""
        if self.native is None:
            return "no compiled program"
        if self.key is None:
            return UNPROVABLE
        # The walk would doubt (chainscan.c, file_is_snapshot, decides after its snapshot):
        # start the statement now rather than after this thread's parts (0.4 s at 1M events).
        if _wal_has_frames(self.path) and not _settled(self.path):
            return WAL_FRAMES
        uri = self.path.resolve().as_uri() + "?mode=ro"
        index_process = subprocess.Popen(
            [str(self.native), INDEX_MODE, str(self.path.resolve()), str(BUSY_TIMEOUT_MS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        try:
            assert index_process.stdin is not None
            index_process.stdin.write(self.key.hex() + "\n")
            index_process.stdin.close()
            db = sqlite3.connect(uri, uri=True, isolation_level=None)
            try:
                why, max_seq = _file_parts(db)
            finally:
                db.close()
            if why is not None:
                return why
            assert index_process.stdout is not None
            out = index_process.stdout.read()
            index_process.wait()
        finally:
            if index_process.poll() is None:
                index_process.kill()
                index_process.wait()
        answer = [line for line in out.splitlines() if line.startswith(("i ", "u "))]
        if index_process.returncode != 0 or not answer or not answer[-1].startswith("i "):
            return f"index process: {answer[-1][2:] if answer else 'no answer'}"
        found = json.loads(answer[-1][2:])
        if int(found["max_seq"] or 0) != max_seq:
            return "events were appended while verify read the log"
        self._indexes = IndexSums(max_seq, found["sums"])
        return None


def _wal_has_frames(path: Path) -> bool:
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except FileNotFoundError:
        return False


def _settled(path: Path) -> bool:
    """Empty the -wal into the file (a TRUNCATE checkpoint), so the file is the log: True when
    it is empty after. A laptop whose set board (`status --watch`) holds the log open keeps
    every event appended since in the -wal, as SQLite empties it only when the last connection
    closes, and the proof would decline (the full statement: 1.75 s instead of 1.15 s at a
    million events). The checkpoint is the one any writer of the log runs; it changes no row.
    It waits briefly for readers to leave their transactions; one that stays keeps the frames
    (and the proof declines, as before)."""
    try:
        db = sqlite3.connect(path, timeout=CHECKPOINT_WAIT_S, isolation_level=None)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            db.close()
    except sqlite3.Error:  # busy, read-only, damaged: the statement answers, as before
        return False
    return not _wal_has_frames(path)


def whole(path: Path) -> list[str]:
    """The full `PRAGMA integrity_check` of the file, one line each (empty: whole)."""
    try:
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.DatabaseError as err:
        return [str(err)]
    try:
        return integrity_problems(db)
    finally:
        db.close()


def _file_parts(db: sqlite3.Connection) -> tuple[str | None, int]:
    """The schema, `quick_check`, the small tables and the day index, in one read transaction:
    (why not, or None; the log's last event then, which the other parts must have read too)."""
    if db.execute("PRAGMA encoding").fetchone()[0] != "UTF-8":
        return "not a UTF-8 file", 0
    db.execute("BEGIN")
    try:
        shape = set(db.execute(_SCHEMA).fetchall())
        if shape != _reference():
            return "a schema other than the migrations'", 0
        max_seq = int(db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0)
        if db.execute("PRAGMA quick_check(1)").fetchall() != [("ok",)]:
            return "quick_check found a fault", max_seq
        for kind, name, _, _ in sorted(shape):
            if kind == "table" and name != "events":
                quoted = '"' + name.replace('"', '""') + '"'
                if db.execute(f"PRAGMA integrity_check({quoted})").fetchall() != [("ok",)]:
                    return f"integrity_check({name}) found a fault", max_seq
        return _day_index(db), max_seq
    finally:
        db.execute("COMMIT")


def _day_index(db: sqlite3.Connection) -> str | None:
    """`events_started_day` as integrity_check checks an index: every run start's own entry
    found through it (the whole key), and no more entries than run starts, each stored as
    (day, seq, rowid) and nothing else."""
    plan = " | ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {_DAY_LOOKUPS}"))
    if _DAY_PLAN not in plan or "TEMP B-TREE" in plan:
        return "the day index's lookups are not planned as seeks"
    expected = 0
    starts = 0
    for seq, day, found in db.execute(_DAY_LOOKUPS):
        if found != seq or not isinstance(seq, int):
            return "a run start not found in the day index"
        if day is None:
            day_type, day_len = 0, 0
        elif isinstance(day, str):
            day_len = len(day.encode("utf-8", "surrogateescape"))
            day_type = 13 + 2 * day_len
        else:
            return "a day that is not text"
        expected += _record_payload([(day_type, day_len), _integer(seq), _integer(seq)])
        starts += 1
    pages, cells, payload, overflow, empty = db.execute(_CELLS, ("events_started_day",)).fetchone()
    if not pages or cells != starts or payload != expected or overflow:
        return "the day index holds other entries than the run starts'"
    if empty:
        return DAY_EMPTY_PAGE
    return None


def _varint_len(value: int) -> int:
    length = 1
    while value > 0x7F and length < 9:
        value >>= 7
        length += 1
    return length


def _integer(value: int) -> tuple[int, int]:
    """(serial type, bytes) of an integer in a record, as SQLite writes it (file format 4)."""
    if value in (0, 1):
        return 8 + value, 0
    for serial, size in ((1, 1), (2, 2), (3, 3), (4, 4), (5, 6)):
        if -(1 << (8 * size - 1)) <= value < 1 << (8 * size - 1):
            return serial, size
    return 6, 8


def _record_payload(fields: list[tuple[int, int]]) -> int:
    """The bytes of a record of these (serial type, size) fields: its header, then the fields."""
    types = sum(_varint_len(serial) for serial, _ in fields)
    size_len = 1
    while _varint_len(types + size_len) > size_len:
        size_len += 1
    return types + size_len + sum(size for _, size in fields)


@functools.cache
def _reference() -> frozenset[tuple[str, str, str, str | None]]:
    """Every table, index and trigger as this code's migrations make them, built in memory."""
    from safetycli.ledger import migrate

    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(db)
        return frozenset(db.execute(_SCHEMA).fetchall())
    finally:
        db.close()
