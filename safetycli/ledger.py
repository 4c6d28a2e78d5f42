"""The event log: append-only, hash-chained, durable. The only source of truth, the only writer.

Each event's hash is sha256(prev_hash + canonical JSON of the event), the event being
`{"at", "data", "kind", "person", "run", "seq"}`. The data column stores the canonical JSON text of
`data`, so the canonical event can be rebuilt by concatenation, byte for byte, without parsing: that
keeps `verify` over a million events inside its time budget.

Appends happen in `BEGIN IMMEDIATE` (read the head, insert, commit), so several processes on one
laptop serialise into one chain. WAL with `synchronous=FULL`: a sign-off the user saw accepted
survives a crash or a power cut. Triggers refuse UPDATE and DELETE on events; a determined editor
can drop them, which is what the chain is for.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from safetycli import devicekey
from safetycli.devicekey import DeviceKey
from safetycli.digests import compare_digest, sha256
from safetycli.errors import SafetyError
from safetycli.events import (
    ARMORY_KINDS,
    CREW_ADDED,
    CREW_PIN_SET,
    DEVICE_KEYED,
    HOLD_CLEARED,
    HOLD_RAISED,
    ITEM_DONE,
    ITEM_PERFORMED,
    ITEM_SIGNED_OFF,
    LIFECYCLE_KINDS,
    PRODUCTION_KINDS,
    RUN_ABORTED,
    RUN_COMPLETED,
    RUN_SIGNED_IN,
    RUN_STARTED,
    SIGNED_OFF_AS,
    STOP_KINDS,
    Event,
)
from safetycli.filemodes import FILE_MODE, create_private_file, tighten
from safetycli.records import Frozen, replace
from safetycli.storage import (
    GENESIS,
    LogDamaged,
    LogEmpty,
    RunMoved,
    RunStart,
    VerifyResult,
    parse_head,
)

if TYPE_CHECKING:  # the scan is verify's: every other command opens the log without it
    from safetycli import custodyview
    from safetycli.chainscan import RowSums, Span
    from safetycli.credentials import CredentialStore
    from safetycli.events import NewEvent  # made by the commands that write (newevent.py)
    from safetycli.verdict import Verdict

BUSY_TIMEOUT_MS = 15_000
# Below this many events one process verifies faster than starting Python workers would; a
# compiled worker starts in a few milliseconds, so it takes over from a few thousand events on.
PARALLEL_MIN_EVENTS = 250_000
NATIVE_MIN_EVENTS = 5_000
MAX_WORKERS = 8


def canonical_json(value: Any) -> str:
    # allow_nan=False: NaN and Infinity are not JSON, and what the chain hashes must be.
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _event_text(
    seq: int, at: str, kind: str, run: str | None, person: str | None, data_text: str
) -> str:
    """Canonical JSON of the whole event (keys sorted: at, data, kind, person, run, seq).

    `encode_basestring` is the very function `json.dumps(s, ensure_ascii=False)` calls for a
    string, minus a new JSONEncoder per call: same bytes, a fraction of the time (verify runs
    this a million times)."""
    quote = encode_basestring
    return (
        f'{{"at":{quote(at)},"data":{data_text},"kind":{quote(kind)},'
        f'"person":{"null" if person is None else quote(person)},'
        f'"run":{"null" if run is None else quote(run)},"seq":{seq}}}'
    )


# The events table's columns, in the order rows are read; rows are written with the device MAC
# after them (migration 5), which only verify and the seal check read.
_COLUMNS = ("seq", "at", "kind", "run", "person", "data", "prev_hash", "hash")
_WRITTEN = (*_COLUMNS, "mac")
_INSERT = f"INSERT INTO events ({', '.join(_WRITTEN)}) VALUES ({', '.join('?' * len(_WRITTEN))})"
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM events"
_SELECT_SEALED = f"SELECT {', '.join(_WRITTEN)} FROM events"


def _marks(values: Sequence[Any]) -> str:
    """Placeholders for `IN (...)`: one per value, so values never enter the SQL text."""
    return ",".join("?" * len(values))


def _and_given(where: list[str], params: list[Any], *filters: tuple[str, Any]) -> None:
    """Add each `(condition, value)` whose value is given; None means that filter is off."""
    for condition, value in filters:
        if value is not None:
            where.append(condition)
            params.append(value)


def _chained_row(
    seq: int, at: str, prev: str, event: NewEvent, key: DeviceKey | None
) -> tuple[Any, ...]:
    """The stored row of an event: the one place writes apply the chain's definition, and the
    device's MAC over it (None only in a log that has no device key)."""
    data_text = canonical_json(event.data)
    digest = chain_hash(prev, _event_text(seq, at, event.kind, event.run, event.person, data_text))
    mac = None if key is None else key.mac(seq, digest)
    return (seq, at, event.kind, event.run, event.person, data_text, prev, digest, mac)


def chain_hash(prev_hash: str, event_text: str) -> str:
    return sha256((prev_hash + event_text).encode("utf-8")).hexdigest()


def row_hash(
    seq: int, at: str, kind: str, run: str | None, person: str | None, data: str, prev: str
) -> str:
    """The hash a stored row must carry (its `data` as the stored canonical text): how the
    central store and a laptop pulling other devices' events check each one on arrival, with
    the chain's one definition."""
    return chain_hash(prev, _event_text(seq, at, kind, run, person, data))


@contextmanager
def transaction(db: sqlite3.Connection, *, write: bool = True) -> Iterator[None]:
    """One transaction around the block: committed when it ends, rolled back when it raises.

    `write` takes the write lock at BEGIN (BEGIN IMMEDIATE): a writer reads the head (or the
    schema version) and writes after it, and a lock taken only at the first write could find
    another process's event there. A reader takes a plain BEGIN: all it reads sees one log."""
    db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back (disk full): a second ROLLBACK would raise
        # and hide the error that matters.
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


# --- schema migrations: named, ordered, each applied with its version bump in one transaction ---


def _m1_events(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            run TEXT,
            person TEXT,
            data TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX events_run ON events(run, seq) WHERE run IS NOT NULL")
    db.execute("CREATE INDEX events_person ON events(person, seq) WHERE person IS NOT NULL")
    db.execute("CREATE INDEX events_kind ON events(kind, seq)")
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"""CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events
            BEGIN SELECT RAISE(ABORT, 'the safety log is append-only'); END"""
        )


def _m2_credentials(db: sqlite3.Connection) -> None:
    # PIN hashes are kept out of the event log (which is exported and reported); each credential
    # change is an event carrying a fingerprint of the stored hash, so a swapped hash is caught.
    db.execute(
        """CREATE TABLE credentials (
            person TEXT PRIMARY KEY,
            secret TEXT NOT NULL
        )"""
    )


# A run start's shooting day, and what makes an event a run start. Migration 3 indexes this very
# text, and logs migrated long ago keep the text they were given: `run_starts` must use it exactly,
# or SQLite would not use the index.
_DAY = "json_extract(data, '$.day')"
_IS_RUN_START = f"kind = '{RUN_STARTED}'"


def _m3_review_indexes(db: sqlite3.Connection) -> None:
    # Producers ask about one shooting day of a long season: find that day's run starts through
    # an index on the day they record, instead of reading every run start.
    db.execute(f"CREATE INDEX events_started_day ON events({_DAY}, seq) WHERE {_IS_RUN_START}")


def _m4_drop_credentials(db: sqlite3.Connection) -> None:
    # PIN hashes leave the log file for good (credentials.py says why); `_export_credentials`
    # has already copied them out, durably, before this transaction. secure_delete overwrites
    # the freed pages, so a copy of log.db taken as evidence carries no hash in its free space.
    db.execute("PRAGMA secure_delete = ON")
    db.execute("DROP TABLE IF EXISTS credentials")


def _m5_device_mac(db: sqlite3.Connection) -> None:
    # Each event's MAC under the device key (devicekey.py). Not part of the chained text: the
    # chain stays what it was, and events written before the key simply have none.
    columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
    if "mac" not in columns:  # a log whose version number was put back by hand has it already
        db.execute("ALTER TABLE events ADD COLUMN mac TEXT")


def _m6_run_view(db: sqlite3.Connection) -> None:
    # Each run's status, kept with every append (runview.py): a season's list reads one row a
    # run instead of folding each run's lifecycle. Built here from the log, so an older
    # workspace has it as soon as it is opened. Derived data: a log whose version number was
    # put back by hand has one already, and gets it afresh.
    from safetycli import runview

    db.execute("DROP TABLE IF EXISTS run_view")
    db.execute(runview.CREATE)
    runview.rebuild(db)


def _m7_custody_view(db: sqlite3.Connection) -> None:
    # The armory's sealed checkpoint (custodyview.py). Made empty here: it is sealed with the
    # device key, which the log names only after it is open; `Ledger.open` builds it.
    from safetycli import custodyview

    db.execute(custodyview.CREATE)


# The three indexes of events by one column: SQLite ends every entry with the row's number, which
# seq is, so an entry (key, seq) reads in the same order as (key, seq, seq) and every lookup and
# range of seq still seeks through it. Migration 1 named seq again, a second copy of it in each
# of 2.4 million entries at a million events, and a copy no query reads: verify's structure
# check (structcheck.py) reads every field of every entry, and can only vouch for an index whose
# entries hold nothing a query cannot see.
LEAN_INDEXES = (
    ("events_run", "run", " WHERE run IS NOT NULL"),
    ("events_person", "person", " WHERE person IS NOT NULL"),
    ("events_kind", "kind", ""),
)


def _m8_lean_indexes(db: sqlite3.Connection) -> None:
    # Rebuilt in this one transaction (about 2 s at a million events, once).
    for name, column, where in LEAN_INDEXES:
        db.execute(f"DROP INDEX IF EXISTS {name}")
        db.execute(f"CREATE INDEX {name} ON events({column}){where}")


def _restore_run_view(db: sqlite3.Connection) -> None:
    """A log whose run-status table was dropped by hand gets it back, built from the log: it is
    derived data, and every append writes to it (without it, no sign-off could be recorded)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'run_view'").fetchone() is not None:
        return
    from safetycli import runview

    with transaction(db):
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'run_view'").fetchone() is None:
            db.execute(runview.CREATE)
            runview.rebuild(db)


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("create events", _m1_events),
    ("create credentials", _m2_credentials),
    ("index run starts by shooting day", _m3_review_indexes),
    ("move credentials out of the log", _m4_drop_credentials),
    ("add the device MAC", _m5_device_mac),
    ("keep each run's status", _m6_run_view),
    ("seal the armory's state", _m7_custody_view),
    ("index events by one column each", _m8_lean_indexes),
]
SCHEMA_VERSION = len(MIGRATIONS)
_DROP_CREDENTIALS = 3  # the index of `_m4_drop_credentials`


def _export_credentials(db: sqlite3.Connection, store: CredentialStore | None) -> bool:
    """Copy the PIN hashes of a log older than migration 4 into the credentials file, before the
    migration drops them: a crash in between leaves them in both places, and the migration runs
    again. Returns whether there was a table to empty."""
    with transaction(db, write=False):  # one view: another process may be migrating too
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'credentials'"
        ).fetchone()
        if exists is None:
            return False
        rows = db.execute("SELECT person, secret FROM credentials").fetchall()
    if rows:
        if store is None:
            raise SafetyError("this log holds PIN hashes and no credentials file was given")
        store.put_many(rows)
    return bool(rows)


def migrate(db: sqlite3.Connection, credentials: CredentialStore | None = None) -> int:
    """Bring the schema up to date; returns the version it started from. `credentials`: where
    a log older than migration 4 moves its PIN hashes to."""
    start = db.execute("PRAGMA user_version").fetchone()[0]
    if start > SCHEMA_VERSION:
        raise SafetyError(
            f"this log was written by a newer safetycli (schema {start}, this one knows "
            f"{SCHEMA_VERSION}): upgrade safetycli before using it"
        )
    moved = False
    for version in range(start, SCHEMA_VERSION):
        _, step = MIGRATIONS[version]
        if version == _DROP_CREDENTIALS:
            moved = _export_credentials(db, credentials)
        with transaction(db):
            # Another process may have migrated while we waited for the lock.
            if db.execute("PRAGMA user_version").fetchone()[0] > version:
                continue  # nothing was written: committing ends the transaction like a rollback
            step(db)
            db.execute(f"PRAGMA user_version = {version + 1}")
    if moved:
        # The dropped rows' old pages may still sit in the -wal file: copy the log back into
        # log.db and empty the -wal, so no file of the log keeps a PIN hash.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return start


def _unopenable(path: Path, err: sqlite3.Error) -> SafetyError:
    from safetycli.logfailures import describe

    return SafetyError(f"cannot open the log {path}: {describe(err, writing=False)}")


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL (it stays so). When two processes open a brand-new file at once,
    SQLite can refuse the switch with SQLITE_BUSY without waiting on the busy timeout: retry
    within that timeout instead of failing a sign-off."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            busy = getattr(err, "sqlite_errorname", "").startswith("SQLITE_BUSY")
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class Ledger:
    """One open log. Use as a context manager; every append is durable when it returns.

    The workspace's store: it offers every capability in `capabilities.py`; review and verify ask
    for those protocols, never for this class, so the central store can serve them too."""

    def __init__(
        self, db: sqlite3.Connection, path: Path, credentials: CredentialStore | None = None
    ) -> None:
        self.db = db
        self.path = path
        # PIN hashes, in their own file beside the log (credentials.py says why): `credentials`.
        self._credentials = credentials
        # Called with the new head after every append has committed: the workspace keeps its
        # high-water mark with it (headmark.py). None for a bare log (benchmarks, tests).
        self.after_append: Callable[[int, str], None] | None = None
        # Called when the log is closed (the marks close their files).
        self.after_close: Callable[[], None] | None = None
        # Set when the log does not reach its high-water mark: every append is then refused.
        self.alarm: str | None = None
        # What the alarm is (headmark's WENT_BACK, REPLACED, FORGED), for a report that must
        # carry it in a producer's words, and the event the mark says this laptop had written.
        self.alarm_kind: str | None = None
        self.alarm_written: int | None = None
        # What the last failing `verify` found, while no verify has passed since (verdict.py):
        # shown by every command, never a reason to refuse an append.
        self.verdict: Verdict | None = None
        # The device key that MACs every append (devicekey.py), found from the log's
        # `device.keyed` event; `keyed_at` is that event's seq. A keyed log whose key file is
        # missing or wrong sets `keyless`: appends are refused, as after an alarm.
        self.key: DeviceKey | None = None
        self.device: str | None = None
        self.keyed_at: int | None = None
        self.keyless: str | None = None
        self._key_id = ""
        self._sealed: set[int] = set()
        # What the last `verify(sums_key=...)`'s compiled scan summed (structcheck.py), or None.
        self.row_sums: RowSums | None = None
        # The last roster event whose roster crew.py has checked (rostercheck.py) in this open.
        self.roster_checked: int | None = None
        # Other laptops' events pulled from the central store (central/foreign.py), opened on
        # first use.
        self._foreign: Any = None

    @property
    def credentials(self) -> CredentialStore:
        """The PIN hashes' store, made on first use: a command that checks no PIN (`status`,
        the review commands) never loads credentials.py."""
        if self._credentials is None:
            from safetycli.credentials import FILENAME, CredentialStore

            self._credentials = CredentialStore(self.path.with_name(FILENAME))
        return self._credentials

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> Self:
        """Open the log at `path`, migrating it. Only `create` makes a new file (0600, so its
        -wal and -shm, which SQLite creates with the log's mode, are private too); without it
        a missing, emptied or blank file is refused, never quietly replaced by a new log."""
        path = Path(path)
        if not create and not path.exists():
            raise SafetyError(f"no log at {path}: run `safetycli init`")
        if create:
            create_private_file(path)
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
            tighten(path.with_name(name), FILE_MODE)
        credentials: CredentialStore | None = None
        try:
            # mode=rw: SQLite never creates the file; between the check above and here it may
            # have been deleted, and a new empty log must not appear in its place.
            db = sqlite3.connect(
                path.resolve().as_uri() + ("" if create else "?mode=rw"),
                uri=True,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        except sqlite3.DatabaseError as err:
            raise _unopenable(path, err) from None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not create and db.execute("PRAGMA user_version").fetchone()[0] == 0:
                raise LogEmpty(f"the log {path} is empty: it was emptied or replaced")
            _use_wal(db)
            db.execute("PRAGMA synchronous = FULL")
            if db.execute("PRAGMA user_version").fetchone()[0] <= _DROP_CREDENTIALS:
                # A log from before migration 4 may hold PIN hashes to move to their own file.
                from safetycli.credentials import FILENAME, CredentialStore

                credentials = CredentialStore(path.with_name(FILENAME))
            migrate(db, credentials)
            _restore_run_view(db)
        except sqlite3.DatabaseError as err:
            db.close()
            if credentials is not None:
                credentials.close()
            if getattr(err, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
                raise LogDamaged(f"the log {path} is damaged: {err}") from None
            raise _unopenable(path, err) from None
        except BaseException:
            db.close()
            if credentials is not None:
                credentials.close()
            raise
        ledger = cls(db, path, credentials)
        try:
            ledger._find_key()
            ledger._seal_custody()
        except BaseException:
            ledger.close()
            raise
        return ledger

    def _find_key(self) -> None:
        """Load the key the log's `device.keyed` event names, from the key folder."""
        try:
            keyed = self.latest(kinds=(DEVICE_KEYED,), limit=1)
        except sqlite3.DatabaseError:
            return  # an unreadable table: verify says so, and every read fails on its own
        if not keyed:
            return
        event = keyed[0]
        self.device, self.keyed_at = str(event.data.get("device", "")), event.seq
        self._key_id = str(event.data.get("key_id", ""))
        where = devicekey.key_path(self.device)
        key = devicekey.load(self.device)
        if key is None:
            self.keyless = (
                f"this log is signed with device key {self.device}, which is not on this laptop "
                f"({where}): restore that file from your backup; nothing can be added without it"
            )
        elif key.key_id != event.data.get("key_id"):
            self.keyless = (
                f"the device key file {where} is not the key this log was signed with: restore "
                "the right file from your backup"
            )
        else:
            self.key = key

    def _custody_events(self, after: int) -> Iterator[Event]:
        return self.events(kinds=ARMORY_KINDS, after=after)

    def _seal_custody(self) -> None:
        """A keyed log with custody events and no armory checkpoint (a workspace from before
        it, or its row deleted by hand) gets one, folded from the log (custodyview.py). A log
        that cannot be written now (read-only, busy) is read by folding, as before."""
        db = self.db
        if self.key is None:
            return
        # First whether there is any custody to seal (the kind index: a production that keeps
        # no armory never loads custodyview.py), then whether it is sealed already.
        marks = _marks(ARMORY_KINDS)
        if (
            db.execute(
                f"SELECT 1 FROM events WHERE kind IN ({marks}) LIMIT 1", ARMORY_KINDS
            ).fetchone()
            is None
        ):
            return
        from safetycli import custodyview

        if custodyview.exists(db) or self.head_unsealed():
            return
        try:
            with transaction(db):
                custodyview.rebuild(db, self.key, self._custody_events)
        except (sqlite3.DatabaseError, LogDamaged):
            pass

    def custody_checkpoint(self) -> tuple[int, dict[str, Any]] | None:
        """The armory's sealed snapshot and the event it is as of, when it holds
        (custodyview.py); `armory.current` folds only the custody events after it."""
        from safetycli import custodyview

        return custodyview.read(self.db, self.key)

    def custody_before(self, day: str, seq: int | None) -> tuple[int, dict[str, Any]] | None:
        """A sealed snapshot none of whose custody events happened on `day` or later, or at or
        after event `seq` (custodyview.py): where a period's report can start folding."""
        from safetycli import custodyview

        return custodyview.before(self.db, self.key, day, seq)

    def head_unsealed(self, seq: int | None = None, digest: str | None = None) -> bool:
        """Whether the newest event (from the device key on) lacks this device's MAC: someone
        with the log file alone added it. Nothing is written on top of it (a MAC over the new
        event would vouch for everything before it)."""
        if self.key is None or self.keyed_at is None:
            return False
        if seq is None or digest is None:
            seq, digest = self.head()
        if seq < self.keyed_at:
            return False
        row = self.db.execute("SELECT mac FROM events WHERE seq = ?", (seq,)).fetchone()
        mac = row[0] if row else None
        return mac is None or not compare_digest(str(mac), self.key.mac(seq, digest))

    def reload_key(self) -> None:
        """Find the log's key again (another process keyed it meanwhile)."""
        self.key, self.device, self.keyed_at, self.keyless = None, None, None, None
        self._find_key()

    def adopt_key(self, key: DeviceKey) -> Event:
        """Start MACing this log with `key`: writes `device.keyed`, itself MACed with the key.
        Only a log without a key adopts one (checked under the write lock)."""
        from safetycli.declared import DeviceKeyed

        def guard() -> None:
            if self.latest(kinds=(DEVICE_KEYED,), limit=1):
                raise SafetyError("this log already has a device key: nothing was changed")

        new = DeviceKeyed(
            device=key.device, key_id=key.key_id, pepper_id=key.pepper_id, scheme=devicekey.SCHEME
        ).new()
        self.key = key
        try:
            (event,) = self.append_many([new], guard=guard)
        except BaseException:
            self.key = None
            raise
        self.device, self.keyed_at, self.keyless = key.device, event.seq, None
        self._key_id = key.key_id
        return event

    @property
    def pepper(self) -> bytes | None:
        """The production secret mixed into PIN hashes; None for a log without a device key."""
        return None if self.key is None else self.key.pepper

    def close(self) -> None:
        self.db.close()
        if self._credentials is not None:
            self._credentials.close()
        if self._foreign:
            self._foreign.close()
        if self.after_close is not None:
            self.after_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------------

    def append(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        run: str | None = None,
        person: str | None = None,
        credential: tuple[str, str] | None = None,
        guard: Callable[[], None] | None = None,
    ) -> Event:
        from safetycli.newevent import NewEvent

        return self.append_many(
            [NewEvent(kind, data, run, person)], credential=credential, guard=guard
        )[0]

    def append_many(
        self,
        new: Iterable[NewEvent],
        *,
        credential: tuple[str, str] | None = None,
        if_run_at: tuple[str, int] | None = None,
        if_no_stop_after: int | None = None,
        guard: Callable[[], None] | None = None,
    ) -> list[Event]:
        """Append events atomically, in order; all are durable when this returns, or none are.

        `guard()` runs under the write lock before anything is written and may read the log
        through this ledger; whatever it raises aborts the append (the lock-out counts PIN tries
        this way, so parallel processes cannot all pass the count before any of them writes).

        `if_run_at=(run, seq)`: append only if that run's newest event is still `seq`, checked
        under the write lock, so an answer decided on a stale view of the run (a hold raised from
        another laptop meanwhile) is never recorded; raises RunMoved instead. `if_no_stop_after`:
        likewise unless a stop-work of any run or scene was written after that seq (through the
        kind index: a few rows, however long the log)."""
        from safetycli import custodyview, runview
        from safetycli.logfailures import refused, unwritable

        out: list[Event] = []
        db = self.db
        new = list(new)
        stop = any(event.kind in STOP_KINDS for event in new)
        if self.alarm is not None or self.keyless is not None:
            raise refused(self.alarm or self.keyless or "", stop=stop)
        try:
            if credential is not None:
                # Before the event that names it, durably: a crash in between leaves an unused
                # row, never an event whose PIN hash is missing (credentials.py).
                fp = self.credentials.put(*credential)
            with transaction(db):
                if guard is not None:
                    guard()
                if if_run_at is not None:
                    run, seen = if_run_at
                    newest = db.execute(
                        "SELECT coalesce(max(seq), 0) FROM events WHERE run = ?", (run,)
                    ).fetchone()[0]
                    if newest != seen:
                        raise RunMoved(run)
                if if_no_stop_after is not None:
                    stopped = db.execute(
                        f"SELECT 1 FROM events WHERE kind IN ({_marks(STOP_KINDS)}) AND seq > ?"
                        " LIMIT 1",
                        (*STOP_KINDS, if_no_stop_after),
                    ).fetchone()
                    if stopped is not None:
                        raise RunMoved(if_run_at[0] if if_run_at else "")
                seq, prev = self.head()
                if self.key is not None and self.head_unsealed(seq, prev):
                    # MACing on top would vouch for it (verify halves on that): refuse.
                    raise LogDamaged(_unsealed(seq))
                for event in new:
                    seq += 1
                    row = _chained_row(seq, now_utc(), prev, event, self.key)
                    db.execute(_INSERT, row)
                    at, digest = row[1], row[7]
                    out.append(
                        Event(
                            seq, at, event.kind, event.run, event.person, event.data, prev, digest
                        )
                    )
                    prev = digest
                # In the same transaction: the run-status table commits with the events, and so
                # does the armory's sealed checkpoint when a custody event is among them.
                runview.apply(db, ((e.seq, e.at, e.kind, e.run) for e in out))
                if out:
                    custodyview.follow(
                        db,
                        self.key,
                        (e.kind for e in out),
                        (out[-1].seq, out[-1].hash),
                        self._custody_events,
                    )
        except sqlite3.DatabaseError as err:
            raise unwritable(err, stop=stop) from None
        except LogDamaged as err:
            raise refused(err.message, stop=stop) from None
        except UnicodeEncodeError:
            # Lone surrogates: what Python makes of bytes that are not UTF-8 in argv or a
            # terminal. They cannot be stored or hashed; say so instead of crashing (the
            # transaction has rolled back).
            raise SafetyError(
                "some text is not valid Unicode (bytes that are not UTF-8?): nothing was recorded;"
                " type it again"
            ) from None
        if credential is not None:
            self._forget_replaced(credential[0], fp, out)
        if out and self.after_append is not None:
            self.after_append(out[-1].seq, out[-1].hash)
        return out

    def _forget_replaced(self, person: str, fp: str, written: list[Event]) -> None:
        """Delete the person's credential rows that the log replaced before these events: they
        can never be selected again. Only fingerprints of earlier events, so a PIN another
        process set just after this one (and is about to rely on) is never touched."""
        first = min(event.seq for event in written)
        older = self.db.execute(
            "SELECT DISTINCT json_extract(data, '$.pin_fingerprint') FROM events"
            " WHERE person = ? AND kind IN (?, ?) AND seq < ?",
            (person, CREW_ADDED, CREW_PIN_SET, first),
        ).fetchall()
        try:
            self.credentials.forget(person, [str(f) for (f,) in older if f and f != fp])
        except sqlite3.DatabaseError:
            pass  # a stale row is harmless (the log never selects it); the next change retries

    # --- reading ---------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        row = self.db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def hash_at(self, seq: int) -> str | None:
        """The stored hash of event `seq` (GENESIS for 0); None when there is no such event."""
        if seq == 0:
            return GENESIS
        row = self.db.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
        return str(row[0]) if row else None

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM events").fetchone()[0])

    def first_missing(self) -> int | None:
        """The first event number below the head with no row (rows deleted), or None."""
        if self.db.execute("SELECT 1 FROM events WHERE seq = 1").fetchone() is None:
            return 1 if self.head()[0] else None
        row = self.db.execute(
            "SELECT e.seq + 1 FROM events AS e WHERE e.seq < (SELECT max(seq) FROM events)"
            " AND NOT EXISTS (SELECT 1 FROM events AS n WHERE n.seq = e.seq + 1)"
            " ORDER BY e.seq LIMIT 1"
        ).fetchone()
        return None if row is None else int(row[0])

    def _rows(self, sql: str, params: tuple[Any, ...]) -> Iterator[Event]:
        """Events as stored, each checked against its own hash first: a row edited in place
        (a hold's kind renamed while a run is resumed past it, a PIN try given to nobody) is
        refused where it is read, not acted on until the next `verify`. About a microsecond a
        row; rewriting the hash too breaks the next event's link and the head's MAC."""
        cursor = self.db.execute(sql, params)
        while batch := cursor.fetchmany(1000):
            for seq, at, kind, run, person, data, prev, digest in batch:
                if chain_hash(prev, _event_text(seq, at, kind, run, person, data)) != digest:
                    raise LogDamaged(_edited(seq))
                yield Event(seq, at, kind, run, person, json.loads(data), prev, digest)

    def events(
        self,
        *,
        run: str | None = None,
        person: str | None = None,
        kinds: Iterable[str] | None = None,
        after: int = 0,
    ) -> Iterator[Event]:
        """Events in log order, filtered in SQL; streamed, never loaded whole."""
        where = ["seq > ?"]
        params: list[Any] = [after]
        _and_given(where, params, ("run = ?", run), ("person = ?", person))
        if kinds is not None:
            kinds = list(kinds)
            where.append(f"kind IN ({_marks(kinds)})")
            params.extend(kinds)
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY seq"
        return self._rows(sql, tuple(params))

    def latest(
        self, *, person: str | None = None, kinds: Iterable[str], limit: int = 1
    ) -> list[Event]:
        """The most recent events of some kinds (newest first), e.g. a person's last PIN tries."""
        kinds = list(kinds)
        where = [f"kind IN ({_marks(kinds)})"]
        params: list[Any] = list(kinds)
        if person is not None:
            where.insert(0, "person = ?")
            params.insert(0, person)
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"
        return list(self._rows(sql, (*params, limit)))

    def newest_of(self, kinds: Iterable[str]) -> int:
        """The number of the newest event of any of these kinds (0: none yet): one seek in the
        kind index per kind, however long the log (a board asks whether what it shows moved)."""
        kinds = list(kinds)
        if not kinds:
            return 0
        each = " UNION ALL ".join(["SELECT max(seq) AS m FROM events WHERE kind = ?"] * len(kinds))
        row = self.db.execute(f"SELECT coalesce(max(m), 0) FROM ({each})", kinds).fetchone()
        return int(row[0])

    def production_events(self) -> Iterator[Event]:
        """Events about the production rather than one run (stop-work on a scene), through the
        kind index: a handful, however long the log. This laptop's own first, then those of the
        production's other laptops that sync pulled (their `device` set)."""
        yield from self.events(kinds=PRODUCTION_KINDS)
        foreign = self.foreign()
        if foreign is not None:
            seal = self.key.foreign_seal if self.key is not None else None
            yield from foreign.events(PRODUCTION_KINDS, seal)

    def foreign(self) -> Any:
        """The other devices' events this laptop pulled (a `central.foreign.ForeignLog`), or
        None when it never pulled any: a laptop that works alone opens nothing more. Looked for
        again at each call until found (one stat): a walk-through that began before the
        laptop's first sync still sees the stop-work that sync pulls."""
        if self._foreign is None:
            # The file's name is `central.foreign.FILENAME`; looked for before that module is
            # imported, so a laptop that never synced does not load the central code to learn so.
            if not self.path.with_name("foreign.db").exists():
                return None
            from safetycli.central import foreign

            self._foreign = foreign.open_if_present(self.path)
        return self._foreign

    def credential(self, person: str, fingerprint: str) -> str | None:
        """The PIN hash the log's `fingerprint` selects for `person`, from the credentials file."""
        try:
            own = self.credentials.get(person, fingerprint)
            if own is not None:
                return own
            # Set on another laptop of the production (pulled by sync): the fingerprint, which
            # the merged roster recorded, selects it, so only the hash that event set can serve.
            foreign = self.foreign()
            return None if foreign is None else foreign.credential(person, fingerprint)
        except sqlite3.DatabaseError:
            return None  # an unreadable credentials file: sign-in says the PIN does not match

    # --- review: what producers ask across a season (capabilities.ReviewIndex) ------------------

    def run_starts(
        self,
        *,
        day_from: str | None = None,
        day_to: str | None = None,
        scene: str | None = None,
        protocol: str | None = None,
        newest_first: bool = True,
    ) -> Iterator[RunStart]:
        """Through the day index (migration 3); scene and protocol are compared in SQL."""
        where = [_IS_RUN_START]
        params: list[Any] = []
        if day_from is not None and day_from == day_to:
            _and_given(where, params, (f"{_DAY} = ?", day_from))
        else:
            _and_given(where, params, (f"{_DAY} >= ?", day_from), (f"{_DAY} <= ?", day_to))
        _and_given(
            where,
            params,
            ("json_extract(data, '$.scene') = ? COLLATE NOCASE", scene),
            ("json_extract(data, '$.protocol.id') = ?", protocol),
        )
        order = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT run, seq, at, data FROM events{{}} WHERE {' AND '.join(where)}"
            f" ORDER BY {_DAY} {order}, seq {order}"
        )
        # A period (--from/--to) must go through the day index too: left to itself SQLite
        # reads every run start of the season through the kind index and sorts them.
        hint = " INDEXED BY events_started_day" if day_from or day_to else ""
        try:
            cursor = self.db.execute(sql.format(hint), params)
        except sqlite3.OperationalError:
            if not hint:
                raise
            cursor = self.db.execute(sql.format(""), params)  # the index dropped by hand
        while batch := cursor.fetchmany(500):
            for run, seq, at, data in batch:
                yield RunStart(run, seq, at, json.loads(data))

    def lifecycle(self, run: str) -> Iterator[tuple[str, str]]:
        """Through the run index; the data is not read, so a list pays no JSON for it."""
        yield from self.db.execute(
            f"SELECT kind, at FROM events WHERE run = ? AND kind IN ({_marks(LIFECYCLE_KINDS)})"
            " ORDER BY seq",
            (run, *LIFECYCLE_KINDS),
        )

    def run_status(self, run: str) -> tuple[str, int, str | None] | None:
        """(status, holds, ended at) from the run-status table (runview.py): one row, however
        long the log. None for a run it does not have. For listings only: what stops work reads
        the log itself."""
        from safetycli.runview import STATUS  # once a run of a listing: not through the package

        row = self.db.execute(
            f"SELECT {STATUS}, holds, ended_at FROM run_view WHERE run = ?", (run,)
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), row[2])

    def unended_runs(self) -> set[str]:
        """Runs started and neither completed nor aborted, from the log (the kind index)."""
        return {
            run
            for (run,) in self.db.execute(
                "SELECT run FROM events WHERE kind = ? AND run IS NOT NULL EXCEPT"
                " SELECT run FROM events WHERE kind IN (?, ?)",
                (RUN_STARTED, RUN_COMPLETED, RUN_ABORTED),
            )
        }

    def open_runs(self) -> set[str]:
        """Runs started and neither completed nor aborted, from the run-status table: one row per
        run not yet ended, where `unended_runs` reads every start and end of the season (30 to
        50 ms at a million events). For `status`, which folds each from the log. A table that
        cannot be read (its schema edited by hand) costs the board speed, not its runs: they
        come from the log, and `verify` names the table."""
        try:
            rows = self.db.execute(
                "SELECT run FROM run_view WHERE start_seq IS NOT NULL AND NOT completed"
                " AND NOT aborted"
            ).fetchall()
        except sqlite3.DatabaseError:
            return self.unended_runs()
        return {run for (run,) in rows}

    def hold_events(self) -> Iterator[tuple[int, str, str, str, dict[str, Any]]]:
        """(seq, at, kind, run, data) of every hold raised or cleared on a run and every abort,
        in log order, through the kind index: a few per held run, however long the log."""
        kinds = (HOLD_RAISED, HOLD_CLEARED, RUN_ABORTED)
        cursor = self.db.execute(
            f"SELECT seq, at, kind, run, data FROM events WHERE kind IN ({_marks(kinds)})"
            " AND run IS NOT NULL ORDER BY seq",
            kinds,
        )
        while batch := cursor.fetchmany(500):
            for seq, at, kind, run, data in batch:
                yield seq, at, kind, run, json.loads(data)

    def hold_kinds(self) -> Iterator[tuple[int, str, str, str]]:
        """`hold_events` without the data: (seq, at, kind, run), enough to tell which runs are
        held now, without decoding every hold of the season."""
        kinds = (HOLD_RAISED, HOLD_CLEARED, RUN_ABORTED)
        cursor = self.db.execute(
            f"SELECT seq, at, kind, run FROM events WHERE kind IN ({_marks(kinds)})"
            " AND run IS NOT NULL ORDER BY seq",
            kinds,
        )
        while batch := cursor.fetchmany(1000):
            yield from batch

    def runs_by(self, names: Iterable[str]) -> set[str]:
        """Runs with an event by any of these people (the person index)."""
        names = list(names)
        return {
            run
            for (run,) in self.db.execute(
                f"SELECT DISTINCT run FROM events WHERE person IN ({_marks(names)})"
                " AND run IS NOT NULL",
                names,
            )
        }

    def signed_in_runs(self, role: str, names: Iterable[str] | None = None) -> set[str]:
        """Runs where someone (one of `names`, when given) signed in for `role`."""
        where = ["kind = ?", "json_extract(data, '$.role') = ?"]
        params: list[Any] = [RUN_SIGNED_IN, role]
        if names is not None:
            names = list(names)
            where.append(f"json_extract(data, '$.name') IN ({_marks(names)})")
            params.extend(names)
        sql = f"SELECT DISTINCT run FROM events WHERE {' AND '.join(where)} AND run IS NOT NULL"
        return {run for (run,) in self.db.execute(sql, params)}

    def starts_of(self, runs: Iterable[str]) -> list[RunStart]:
        """The run starts of these runs (through the run index), newest shooting day first."""
        out = []
        for run in runs:
            # `+kind`: the run index, from the run's first event (its start); the plain term
            # would send SQLite through the day index, past every start of the season.
            row = self.db.execute(
                "SELECT run, seq, at, data FROM events WHERE run = ? AND +kind = ?"
                " ORDER BY seq LIMIT 1",
                (run, RUN_STARTED),
            ).fetchone()
            if row is not None:
                out.append(RunStart(row[0], row[1], row[2], json.loads(row[3])))
        out.sort(key=lambda s: (str(s.data.get("day")), s.seq), reverse=True)
        return out

    def rebuild_run_view(self) -> None:
        """Fold the whole log into the run-status table again (runview.py)."""
        from safetycli import runview

        with transaction(self.db):
            runview.rebuild(self.db)

    def repair_run_view(self) -> list[str]:
        """Where the run-status table was not the log's fold (one sentence a run, as verify
        names them), after making it that fold again: emptied (made afresh when unreadable) and
        rebuilt from the log, in one write transaction, so an append on another laptop lands
        before or after, never half-seen. Writes no event: the table is derived from the log,
        and the log, its head and its MACs are untouched. Empty when there was nothing to do."""
        from safetycli import custodyview, runview

        with transaction(self.db):
            wrong = runview.mismatches(self.db)
            if wrong:
                self.db.execute("DROP TABLE IF EXISTS run_view")
                self.db.execute(runview.CREATE)
                runview.rebuild(self.db)
            custody = custodyview.problems(self.db, self.key, self._custody_events)
            if custody:
                custodyview.rebuild(self.db, self.key, self._custody_events)
        return wrong + custody

    def run_view_problems(self, checkpoint: custodyview.FoldCheck | None = None) -> list[str]:
        """Where the run-status table or the armory's checkpoint is not the log's fold (verify
        reports each). `checkpoint`: the armory checkpoint's check already fed this log's
        custody events (`custody_view_check`), else they are read here."""
        # The checkpoint's verdict first: its fold is let go before the run-status fold is
        # made (at a million events each is a few MB; together they set verify's peak).
        from safetycli import custodyview, runview

        custody = None if checkpoint is None else checkpoint.finish()
        with transaction(self.db, write=False):
            wrong = runview.mismatches(self.db)
            if custody is not None:
                return wrong + custody
            return wrong + custodyview.problems(self.db, self.key, self._custody_events)

    def custody_view_check(self) -> custodyview.FoldCheck | None:
        """The armory checkpoint's check (custodyview.py), to be fed this log's custody events
        in log order by a reader that reads them anyway; None when there is nothing to check."""
        from safetycli import custodyview

        return custodyview.FoldCheck.over(self.db, self.key)

    def crew_names(self) -> Iterator[str]:
        for (name,) in self.db.execute(
            "SELECT DISTINCT json_extract(data, '$.name') FROM events WHERE kind = ?",
            (CREW_ADDED,),
        ):
            if isinstance(name, str):  # only a raw edit stores a name that is not text
                yield name

    def people_events(self, run: str) -> Iterator[tuple[str, dict[str, Any]]]:
        kinds = (RUN_SIGNED_IN, HOLD_RAISED, HOLD_CLEARED)
        for kind, data in self.db.execute(
            f"SELECT kind, data FROM events WHERE run = ? AND kind IN ({_marks(kinds)})"
            " ORDER BY seq",
            (run, *kinds),
        ):
            yield kind, json.loads(data)

    def has_events_by(self, run: str, names: Iterable[str]) -> bool:
        names = list(names)
        # `+person` keeps SQLite on the run index: a person's events span the whole season.
        row = self.db.execute(
            f"SELECT 1 FROM events WHERE run = ? AND +person IN ({_marks(names)}) LIMIT 1",
            (run, *names),
        ).fetchone()
        return row is not None

    def outside_runs(
        self, kinds: Iterable[str], *, since: str | None = None, until: str | None = None
    ) -> Iterator[Event]:
        kinds = list(kinds)
        where = [f"kind IN ({_marks(kinds)})", "run IS NULL"]
        params: list[Any] = list(kinds)
        _and_given(where, params, ("at >= ?", since), ("at < ?", until))
        return self._rows(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY seq", tuple(params))

    def run_span(self, run: str) -> tuple[int, int] | None:
        """(first, last) sequence number of the run's events: two seeks of the run index."""
        first = self.db.execute("SELECT min(seq) FROM events WHERE run = ?", (run,)).fetchone()
        if first[0] is None:
            return None
        last = self.db.execute("SELECT max(seq) FROM events WHERE run = ?", (run,)).fetchone()
        return int(first[0]), int(last[0])

    def events_between(self, kinds: Iterable[str], first: int, last: int) -> Iterator[Event]:
        """Events of these kinds numbered `first`..`last`, in log order, each checked against its
        own hash: one range of the kind index per kind, merged."""
        sql = f"{_SELECT} WHERE kind = ? AND seq BETWEEN ? AND ? ORDER BY seq"
        streams = [self._rows(sql, (kind, first, last)) for kind in dict.fromkeys(kinds)]
        return heapq.merge(*streams, key=lambda event: event.seq)

    def outcomes_between(self, outcomes: Iterable[str], first: int, last: int) -> Iterator[Event]:
        """`item.done` events with one of these outcomes, numbered `first`..`last`, in log
        order, checked: the outcome is compared in SQL, so the passed checks (most of a run's
        events) are never decoded here."""
        outcomes = list(outcomes)
        sql = (
            f"{_SELECT} WHERE kind = ? AND seq BETWEEN ? AND ?"
            f" AND json_extract(data, '$.outcome') IN ({_marks(outcomes)}) ORDER BY seq"
        )
        return self._rows(sql, (ITEM_DONE, first, last, *outcomes))

    def signature_tally(
        self, first: int, last: int
    ) -> Iterator[tuple[str, Any, Any, int, int, int]]:
        """(run, name, role, first seq, signatures, performed) for each person and role who
        signed in each run, over the events numbered `first`..`last`: a sign-off counted as the
        signatures it stands for (`events.expand`), an older per-item signature as one. The
        sign-offs are counted from their canonical text (`signtally`), never decoded one by one:
        a third of the time `json_each` over each took."""
        from safetycli import signtally

        tally: signtally.Tally = {}
        cursor = self.db.execute(
            "SELECT run, seq, data FROM events"
            " WHERE kind = ? AND seq BETWEEN ? AND ? AND run IS NOT NULL ORDER BY seq",
            (ITEM_SIGNED_OFF, first, last),
        )
        while batch := cursor.fetchmany(1000):
            signtally.add_signoffs(tally, batch)
        kinds = list(SIGNED_OFF_AS.values())
        older = self.db.execute(  # one row a signature: a few, where any
            f"SELECT run, seq, data, kind FROM events WHERE kind IN ({_marks(kinds)})"
            " AND seq BETWEEN ? AND ? AND run IS NOT NULL",
            (*kinds, first, last),
        )
        for run, seq, text, kind in older:
            data = json.loads(text)
            if not isinstance(data, dict):
                data = {}
            signtally.add_signature(
                tally, run, seq, data.get("name"), data.get("role"), kind == ITEM_PERFORMED
            )
        return signtally.rows(tally)

    @contextmanager
    def snapshot(self) -> Iterator[tuple[int, str]]:
        """A read transaction: in WAL mode it sees the log as of its first read (the head),
        whatever other processes append meanwhile."""
        with transaction(self.db, write=False):
            yield self.head()

    # --- verification ----------------------------------------------------------------------------

    def verify(
        self,
        *,
        expect_head: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
        key: DeviceKey | None = None,
        sums_key: bytes | None = None,
    ) -> VerifyResult:
        """Recompute the chain in constant memory; name the first event that does not hold.

        An event's check needs only its own row and the hash stored on the row before it, so
        ranges of a long log are checked by separate processes and joined at their edges: that is
        how a million events fit the time budget. `workers` (default: one per core, for a long
        log) changes the speed, never the answer. `progress(done, total)` is called between
        batches, from this thread. From the device key's event on, every event's MAC is checked
        too, with this laptop's key or the `key` given (a copy of the key file). With `sums_key`
        the compiled scan also sums the index entries of the rows it read (structcheck.py):
        `row_sums` holds them afterwards, with the last event they cover, or None."""
        self.row_sums = None
        expect_seq, expect_hash = parse_head(expect_head) if expect_head else (None, None)
        prefix = expect_hash if expect_seq is None else None
        try:
            total = self.count()
        except sqlite3.DatabaseError as err:  # e.g. the events table dropped
            return VerifyResult(False, 0, 0, GENESIS, 1, f"the log cannot be read: {err}")
        from safetycli.chainscan import native_helper

        native = native_helper() if total > 0 and self.path.is_file() else None
        if workers is None:
            workers = _auto_workers(total, native is not None)
        seal, unchecked = self._seal(key)
        spans = None
        if total > 0 and self.path.is_file():
            if workers > 1 or (native is not None and total >= NATIVE_MIN_EVENTS):
                spans = _scan_parallel(
                    self.path, self.db, workers, prefix, total, progress, native, sums_key
                )
        if spans is None:
            tick = (lambda done: progress(done, total)) if progress else None
            from safetycli.chainscan import scan

            spans = [scan(self.db, None, None, prefix, tick)]
        chain, match = _join(spans)
        if sums_key is not None and chain.first_bad_seq is None:
            from safetycli.chainscan import RowSums, joined_sums

            sums = joined_sums(spans)
            self.row_sums = None if sums is None else RowSums(chain.head_seq, sums)
        if seal is not None:
            chain = self._against_macs(chain, seal)
        if expect_hash is not None:
            chain = self._against_head(chain, match, expect_seq, expect_hash)
        return replace(
            chain,
            ok=chain.ok and unchecked is None,
            device=self.device,
            macs_from=self.keyed_at,
            unchecked=unchecked,
        )

    def _against_macs(self, chain: VerifyResult, seal: _Seal) -> VerifyResult:
        """The MACs, over the part of the log whose chain holds.

        The last event's MAC covers its chain hash, which covers every event before it: if that
        MAC is the device's, so is everything up to it. Whoever lacks the key and added, edited
        or rewrote events from some event on left every event from there without a valid MAC,
        and every event before it with one; so the first bad event is found by halving, with a
        few dozen MACs however long the log (checking every MAC doubled verify's time)."""
        last = chain.events if chain.first_bad_seq is None else chain.first_bad_seq - 1
        if last < seal.keyed_from or self._mac_holds(last, seal):
            return chain
        good, bad = seal.keyed_from - 1, last  # the MAC at `bad` fails; all up to `good` hold
        while bad - good > 1:
            middle = (good + bad) // 2
            if self._mac_holds(middle, seal):
                good = middle
            else:
                bad = middle
        held = bad - 1
        return VerifyResult(False, held, held, self.hash_at(held) or GENESIS, bad, _unsealed(bad))

    def _mac_holds(self, seq: int, seal: _Seal) -> bool:
        row = self.db.execute("SELECT hash, mac FROM events WHERE seq = ?", (seq,)).fetchone()
        if row is None or row[1] is None:
            return False
        expected = devicekey.mac_of(seal.mac_key, seal.device, seq, str(row[0]))
        return compare_digest(str(row[1]), expected)

    def _seal(self, key: DeviceKey | None) -> tuple[_Seal | None, str | None]:
        """The MAC check for verify, or why there can be none."""
        if self.keyed_at is None or self.device is None:
            return None, None
        key = key or self.key
        if key is None:
            return None, self.keyless or "the device key is not on this laptop"
        if key.device != self.device or key.key_id != self._key_id:
            return None, (
                f"the key {key.path} is device {key.device}'s, not this log's (device "
                f"{self.device}): give the right key file with --key"
            )
        return _Seal(key.mac_key, key.device, self.keyed_at), None

    def seal_problem(self, seq: int) -> str | None:
        """Why event `seq` cannot be trusted on its own, or None: its hash must match its
        content, it must follow the event before it, and from the device key on it must carry
        the device's MAC. What commands check on the few events they act on (the roster, a
        person's PIN tries) before trusting them: `verify` checks the whole log this way."""
        if seq in self._sealed:
            return None
        row = self.db.execute(f"{_SELECT_SEALED} WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            return f"event {seq} is missing"
        _, at, kind, run, person, data, prev, digest, mac = row
        if chain_hash(prev, _event_text(seq, at, kind, run, person, data)) != digest:
            return f"event {seq} was altered after it was written"
        if self.hash_at(seq - 1) != prev:
            return f"event {seq} does not follow event {seq - 1}: one of them was replaced"
        if self.keyed_at is not None and seq >= self.keyed_at and self.key is not None:
            if mac is None or not compare_digest(mac, self.key.mac(seq, digest)):
                return _unsealed(seq)
        self._sealed.add(seq)
        return None

    def stored_rows(self, after: int, batch: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows numbered after `after` exactly as stored (data as its canonical text, the
        MAC last), `batch` at a time: what sync sends the central store, which checks them."""
        while True:
            rows = self.db.execute(
                f"{_SELECT_SEALED} WHERE seq > ? ORDER BY seq LIMIT ?", (after, batch)
            ).fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1][0]

    def window(self, seq: int, size: int) -> list[Event]:
        """The `size` events just before `seq`, in order: what a roster change's approvals are
        looked for in (rostercheck.py)."""
        sql = f"{_SELECT} WHERE seq >= ? AND seq < ? ORDER BY seq"
        return list(self._rows(sql, (max(seq - size, 1), seq)))

    def near(
        self, kinds: Sequence[str], depth: int, keys: Sequence[str], of: str, *, whole: bool = False
    ) -> Iterator[Event]:
        """Each event of `kinds`, in log order, after the events right before it that a reader
        of its approvals looks at: back from the one just before, at most `depth`, up to and
        including the first that is not of kind `of` (or up to a missing row), each given once.
        Only the payload `keys` are read (in SQL, the row not decoded), and only for events of
        `kinds` or of kind `of`: the custody events and what precedes them, where verify looks
        for their PIN proofs (custodycheck.py), found through the kind index in one statement.
        Not checked against their hashes: verify's chain scan checks every row. With `whole`,
        the events of `kinds` come whole instead (every field, each checked against its hash as
        `events` does), for a reader that folds them too (the armory checkpoint's check)."""
        # One row per event of `kinds`, the `depth` rows before it joined on (primary key
        # lookups), each before-row given once: 8,661 rows on the kept season, not 26,511. The
        # events are found in the kind index and read in seq order (no sort of whole rows).
        marks = _marks(kinds)
        paths = ", ".join(f"'$.{key}'" for key in keys)
        fields = "json_extract(%s.data, " + paths + ")"
        joined = range(depth, 0, -1)  # the row `depth` before first
        before = "".join(
            f", p{d}.at, p{d}.kind, p{d}.run, p{d}.person,"
            f" CASE WHEN p{d}.kind = ? THEN {fields % f'p{d}'} END"
            for d in joined
        )
        join = " ".join(f"LEFT JOIN events AS p{d} ON p{d}.seq = e.seq - {d}" for d in joined)
        own = "e.data" if whole else fields % "e"
        sql = (
            f"SELECT e.seq, e.at, e.kind, e.run, e.person, {own}, e.prev_hash, e.hash{before}"
            f" FROM events AS e {join} WHERE e.seq IN (SELECT seq FROM events WHERE kind IN"
            f" ({marks})) ORDER BY e.seq"
        )
        last = 0
        cursor = self.db.execute(sql, (*([of] * depth), *kinds))
        while batch := cursor.fetchmany(1000):
            for row in batch:
                seq = int(row[0])
                # Back from the row right before, while they are there and of kind `of`: the
                # first of another kind ends what a reader looks at, so none before it is made.
                wanted: list[Event] = []
                for d in range(1, depth + 1):
                    i = 8 + 5 * (depth - d)
                    at, kind, run, person, values = row[i : i + 5]
                    if at is None or seq - d <= last:
                        break  # missing, or given already (the previous one or before it)
                    wanted.append(
                        Event(seq - d, at, kind, run, person, _fields(keys, values), "", "")
                    )
                    if kind != of:
                        break
                yield from reversed(wanted)
                last = seq
                at, kind, run, person, text, prev, digest = row[1:8]
                if not whole:
                    yield Event(seq, at, kind, run, person, _fields(keys, text), "", "")
                    continue
                if chain_hash(prev, _event_text(seq, at, kind, run, person, text)) != digest:
                    raise LogDamaged(_edited(seq))
                yield Event(seq, at, kind, run, person, json.loads(text), prev, digest)

    def integrity(self) -> list[str]:
        from safetycli.filecheck import integrity_problems  # verify's: no other command asks

        return integrity_problems(self.db)

    def gap_after(self, seq: int) -> int | None:
        """The first missing event number after `seq`, or None: rows deleted from the middle of
        the log leave the numbers after them where they were."""
        head_seq = self.head()[0]
        present = self.db.execute("SELECT count(*) FROM events WHERE seq > ?", (seq,)).fetchone()
        if int(present[0]) == head_seq - seq:
            return None
        for (number,) in self.db.execute(
            "SELECT seq + 1 FROM events e WHERE seq >= ? AND seq < ? AND NOT EXISTS"
            " (SELECT 1 FROM events n WHERE n.seq = e.seq + 1) ORDER BY seq LIMIT 1",
            (seq, head_seq),
        ):
            return int(number)
        return seq + 1

    def _against_head(
        self, chain: VerifyResult, match: int | None, expect_seq: int | None, expect_hash: str
    ) -> VerifyResult:
        """A head printed on a report anchors the log outside the machine: a rewrite that
        recomputed every hash after some event still cannot reproduce it."""

        def altered(seq: int, why: str) -> VerifyResult:
            return VerifyResult(False, chain.events, chain.head_seq, chain.head, seq, why)

        if expect_seq is None:
            if match is not None or GENESIS.startswith(expect_hash) or not chain.ok:
                return chain
            return altered(
                1,
                f"no event in the log has the hash {expect_hash}: the log was rewritten after that"
                " head was printed, or the head is from another workspace's report (check it;"
                " give SEQ:HASH to say from which event on)",
            )
        if chain.first_bad_seq is not None and chain.first_bad_seq <= expect_seq:
            return chain  # the chain itself breaks first
        if expect_seq > chain.head_seq:
            return altered(
                chain.head_seq + 1,
                f"the log ends at event {chain.head_seq}, but that head is event {expect_seq}: "
                "events were removed after it was printed",
            )
        if expect_seq == 0:
            stored = GENESIS
        else:
            row = self.db.execute("SELECT hash FROM events WHERE seq = ?", (expect_seq,)).fetchone()
            stored = row[0] if row else ""
        if not str(stored).startswith(expect_hash):
            return altered(
                expect_seq,
                f"event {expect_seq} is not the event that head names: the log was rewritten at "
                f"or before event {expect_seq} after that head was printed",
            )
        return chain

    # --- bulk writing (generators and imports) ---------------------------------------------------

    def append_bulk(
        self, timed: Iterable[tuple[str, NewEvent]], *, batch: int = 50_000
    ) -> tuple[int, str]:
        """Append events that carry their own timestamps, `batch` to a transaction; returns the
        new head. Same canonical text and chain hash as `append_many`, so `verify` cannot tell
        the difference. For data generators (bench/season.py writes a million events with it)
        and imports, never for sign-offs: those take their time from the clock, one durable
        transaction each, through `append_many`."""
        from safetycli import custodyview, runview
        from safetycli.logfailures import refused

        db = self.db
        if self.alarm is not None or self.keyless is not None:
            raise refused(self.alarm or self.keyless or "", stop=False)
        events = iter(timed)
        while True:
            with transaction(db):
                seq, prev = self.head()
                rows: list[tuple[Any, ...]] = []
                for at, event in itertools.islice(events, batch):
                    seq += 1
                    rows.append(_chained_row(seq, at, prev, event, self.key))
                    prev = rows[-1][7]
                db.executemany(_INSERT, rows)
                runview.apply(db, (row[:4] for row in rows))
                if rows:
                    custodyview.follow(
                        db, self.key, (row[2] for row in rows), (seq, prev), self._custody_events
                    )
            if rows and self.after_append is not None:
                self.after_append(seq, prev)
            if len(rows) < batch:
                return seq, prev


# --- verify internals: scan ranges of the log, in this process or in workers, then join ---------


class _Seal(Frozen):
    """What verify needs to check device MACs: the key, the device, and the first MACed seq.
    A plain record (records.py): a dataclass here cost every command that opens the log the
    `dataclasses` import."""

    __slots__ = ("mac_key", "device", "keyed_from")
    mac_key: bytes
    device: str
    keyed_from: int

    def __init__(self, mac_key: bytes, device: str, keyed_from: int) -> None:
        object.__setattr__(self, "mac_key", mac_key)
        object.__setattr__(self, "device", device)
        object.__setattr__(self, "keyed_from", keyed_from)


def _fields(keys: Sequence[str], values: str | None) -> dict[str, Any]:
    """The payload fields `json_extract` read (a JSON array in `keys`' order), the absent left
    out; empty for a row whose fields were not read."""
    if values is None:
        return {}
    found = zip(keys, json.loads(values), strict=True)
    return {key: value for key, value in found if value is not None}


def _edited(seq: int) -> str:
    return (
        f"event {seq} of the log was changed after it was written: nothing was done; keep the "
        "workspace folder as it is (evidence), run `safetycli verify` and tell the producer"
    )


def _unsealed(seq: int) -> str:
    return (
        f"event {seq} has no valid device MAC: it was not written by safetycli with this "
        "laptop's device key (someone with the log file alone added or rewrote it)"
    )


def _join(spans: list[Span]) -> tuple[VerifyResult, int | None]:
    """Join consecutive ranges into one answer, exactly as one pass over the log would give."""
    prev, expected, count, match = GENESIS, 1, 0, None

    def result(bad_seq: int | None, why: str | None) -> tuple[VerifyResult, int | None]:
        return VerifyResult(bad_seq is None, count, count, prev, bad_seq, why), match

    for span in spans:
        if span.first_seq is None:
            if span.bad_seq is None:
                continue  # an empty range: a gap shows up at the next row
            if span.bad_seq == expected:
                return result(expected, span.reason)
            return result(expected, f"event {expected} is missing")
        if span.first_seq != expected:
            if span.first_seq > expected:
                return result(expected, f"event {expected} is missing")
            return result(expected, f"event {span.first_seq} is out of order")
        if span.first_prev != prev:
            return result(
                expected,
                f"event {expected} does not follow event {expected - 1}: one of them was inserted,"
                " replaced or removed",
            )
        count += span.count
        if span.count:
            prev = span.last_hash or prev
        if match is None:
            match = span.match
        if span.bad_seq is not None:
            return result(span.bad_seq, span.reason)
        expected = span.last_seq + 1
    return result(None, None)


def _auto_workers(total: int, native: bool = False) -> int:
    """One worker per core: the chain scan is the longest part of verify. (While verify ran
    SQLite's whole integrity check, one statement longer than the compiled scan, the compiled
    scan left it a core; the structure check (structcheck.py) is proved from parts shorter than
    the scan, and on two cores two compiled workers end verify about a fifth sooner than one:
    bench/README.md, issue 14.)"""
    if total < (NATIVE_MIN_EVENTS if native else PARALLEL_MIN_EVENTS):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    per_worker = 20_000 if native else 100_000
    return max(1, min(cores, MAX_WORKERS, total // per_worker))


# Run with `python -P -c`: no current folder on sys.path, so the workers import this very package.
_WORKER_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from safetycli.chainscan import worker; worker(sys.argv[2:])"
)


def _scan_parallel(
    path: Path,
    db: sqlite3.Connection,
    workers: int,
    prefix: str | None,
    total: int,
    progress: Callable[[int, int], None] | None,
    native: Path | None = None,
    sums_key: bytes | None = None,
) -> list[Span] | None:
    """Split the numbers 1..max(seq) into equal ranges, one worker process each: the compiled
    scan when there is one (`native`), else Python's. Returns None if any worker cannot run or
    answer (the compiled one answers only for a range that holds): the caller then checks in
    this process, so a missing interpreter, a sandbox or an edited row makes verify slower,
    never wrong. `sums_key`: the compiled workers also sum index entries under this key, given
    on their stdin (never in argv, which anyone on the machine can read)."""
    import queue
    import subprocess
    import threading

    if native is None and not sys.executable:
        return None
    top = int(db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0)
    bounds: list[int | None] = [None, *(top * i // workers for i in range(1, workers)), None]
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()
    procs: list[subprocess.Popen[str]] = []

    def pump(i: int, stream: Iterable[str]) -> None:
        for line in stream:
            lines.put((i, line.rstrip("\n")))
        lines.put((i, None))

    try:
        for i in range(workers):
            lo, hi = bounds[i], bounds[i + 1]
            program = (
                [str(native)]
                if native is not None
                else [
                    sys.executable,
                    "-P",
                    "-c",
                    _WORKER_CODE,
                    str(Path(__file__).resolve().parent.parent),
                ]
            )
            argv = [
                *program,
                str(path.resolve()),
                "" if lo is None else str(lo),
                "" if hi is None else str(hi),
                prefix or "",
                str(BUSY_TIMEOUT_MS),
            ]
            keyed = native is not None and sums_key is not None
            if keyed:
                argv.append("--sums")
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if keyed else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
            )
            procs.append(proc)
            if keyed and proc.stdin is not None and sums_key is not None:
                proc.stdin.write(sums_key.hex() + "\n")
                proc.stdin.close()
            threading.Thread(target=pump, args=(i, proc.stdout), daemon=True).start()
        spans: list[Span | None] = [None] * workers
        done = [0] * workers
        running = workers
        while running:
            i, line = lines.get()
            if line is None:
                running -= 1
            elif line.startswith("p "):
                done[i] = int(line[2:])
                if progress:
                    progress(sum(done), total)
            elif line.startswith("r "):
                from safetycli.chainscan import Span

                spans[i] = Span(**json.loads(line[2:]))
        if any(proc.wait() != 0 for proc in procs):
            return None
        if any(span is None for span in spans):
            return None
        return [span for span in spans if span is not None]
    except (OSError, ValueError, TypeError):
        return None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def __getattr__(name: str) -> Any:
    """`ledger.NewEvent`, as before: defined in newevent.py, loaded by the commands that write."""
    if name == "NewEvent":
        from safetycli.newevent import NewEvent

        return NewEvent
    raise AttributeError(f"module 'safetycli.ledger' has no attribute {name!r}")
