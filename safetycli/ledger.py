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

import hashlib
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from safetycli.errors import SafetyError

GENESIS = "0" * 64
BUSY_TIMEOUT_MS = 15_000


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _event_text(
    seq: int, at: str, kind: str, run: str | None, person: str | None, data_text: str
) -> str:
    """Canonical JSON of the whole event (keys sorted: at, data, kind, person, run, seq)."""
    dumps = json.dumps
    return (
        f'{{"at":{dumps(at, ensure_ascii=False)},"data":{data_text},'
        f'"kind":{dumps(kind, ensure_ascii=False)},"person":{dumps(person, ensure_ascii=False)},'
        f'"run":{dumps(run, ensure_ascii=False)},"seq":{seq}}}'
    )


def chain_hash(prev_hash: str, event_text: str) -> str:
    return hashlib.sha256((prev_hash + event_text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    kind: str
    run: str | None
    person: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class NewEvent:
    """An event not yet in the log (what the runner and crew modules produce)."""

    kind: str
    data: dict[str, Any]
    run: str | None = None
    person: str | None = None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    head_seq: int
    head: str
    first_bad_seq: int | None
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head": self.head,
            "head_seq": self.head_seq,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


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


def _m3_review_indexes(db: sqlite3.Connection) -> None:
    # Producers ask about one shooting day of a long season: find that day's run starts through
    # an index on the day they record, instead of reading every run start (review.py matches this
    # expression exactly, or SQLite would not use the index).
    db.execute(
        "CREATE INDEX events_started_day ON events(json_extract(data, '$.day'), seq)"
        " WHERE kind = 'run.started'"
    )


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("create events", _m1_events),
    ("create credentials", _m2_credentials),
    ("index run starts by shooting day", _m3_review_indexes),
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version it started from."""
    start = db.execute("PRAGMA user_version").fetchone()[0]
    if start > SCHEMA_VERSION:
        raise SafetyError(
            f"this log was written by a newer safetycli (schema {start}, this one knows "
            f"{SCHEMA_VERSION}): upgrade safetycli before using it"
        )
    for version in range(start, SCHEMA_VERSION):
        _, step = MIGRATIONS[version]
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if db.execute("PRAGMA user_version").fetchone()[0] > version:
                db.execute("ROLLBACK")
                continue
            step(db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return start


class Ledger:
    """One open log. Use as a context manager; every append is durable when it returns."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> Self:
        path = Path(path)
        if not create and not path.exists():
            raise SafetyError(f"no log at {path}: run `safetycli init`")
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            migrate(db)
        except sqlite3.DatabaseError as err:
            raise SafetyError(f"cannot open the log {path}: {err}") from None
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

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
    ) -> Event:
        return self.append_many([NewEvent(kind, data, run, person)], credential=credential)[0]

    def append_many(
        self, new: Iterable[NewEvent], *, credential: tuple[str, str] | None = None
    ) -> list[Event]:
        """Append events atomically, in order; all are durable when this returns, or none are."""
        out: list[Event] = []
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = row if row else (0, GENESIS)
            for event in new:
                seq += 1
                at = now_utc()
                data_text = canonical_json(event.data)
                digest = chain_hash(
                    prev, _event_text(seq, at, event.kind, event.run, event.person, data_text)
                )
                db.execute(
                    "INSERT INTO events (seq, at, kind, run, person, data, prev_hash, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, at, event.kind, event.run, event.person, data_text, prev, digest),
                )
                out.append(
                    Event(seq, at, event.kind, event.run, event.person, event.data, prev, digest)
                )
                prev = digest
            if credential is not None:
                db.execute(
                    "INSERT INTO credentials (person, secret) VALUES (?, ?)"
                    " ON CONFLICT(person) DO UPDATE SET secret = excluded.secret",
                    credential,
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return out

    # --- reading ---------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        row = self.db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM events").fetchone()[0])

    def _rows(self, sql: str, params: tuple[Any, ...]) -> Iterator[Event]:
        cursor = self.db.execute(sql, params)
        while batch := cursor.fetchmany(1000):
            for seq, at, kind, run, person, data, prev, digest in batch:
                yield Event(seq, at, kind, run, person, json.loads(data), prev, digest)

    _COLUMNS = "seq, at, kind, run, person, data, prev_hash, hash"

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
        if run is not None:
            where.append("run = ?")
            params.append(run)
        if person is not None:
            where.append("person = ?")
            params.append(person)
        if kinds is not None:
            kinds = list(kinds)
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        sql = f"SELECT {self._COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY seq"
        return self._rows(sql, tuple(params))

    def latest(
        self, *, person: str | None = None, kinds: Iterable[str], limit: int = 1
    ) -> list[Event]:
        """The most recent events of some kinds (newest first), e.g. a person's last PIN tries."""
        kinds = list(kinds)
        where = [f"kind IN ({','.join('?' * len(kinds))})"]
        params: list[Any] = list(kinds)
        if person is not None:
            where.insert(0, "person = ?")
            params.insert(0, person)
        sql = (
            f"SELECT {self._COLUMNS} FROM events WHERE {' AND '.join(where)}"
            " ORDER BY seq DESC LIMIT ?"
        )
        return list(self._rows(sql, (*params, limit)))

    def credential(self, person: str) -> str | None:
        row = self.db.execute(
            "SELECT secret FROM credentials WHERE person = ?", (person,)
        ).fetchone()
        return row[0] if row else None

    # --- verification ----------------------------------------------------------------------------

    def verify(
        self,
        *,
        expect_head: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> VerifyResult:
        """Recompute the chain in constant memory; name the first event that does not hold."""
        expect_seq: int | None = None
        expect_hash: str | None = None
        if expect_head:
            expect_seq, expect_hash = parse_head(expect_head)
        total = self.count() if progress else 0
        cursor = self.db.execute(
            "SELECT seq, at, kind, run, person, data, prev_hash, hash FROM events ORDER BY seq"
        )
        prev = GENESIS
        expected_seq = 1
        seen_expected = expect_hash is None
        sha256 = hashlib.sha256
        count = 0
        while batch := cursor.fetchmany(5000):
            for seq, at, kind, run, person, data, stored_prev, digest in batch:
                if seq != expected_seq:
                    why = (
                        f"event {expected_seq} is missing"
                        if seq > expected_seq
                        else f"event {seq} is out of order"
                    )
                    return self._bad(count, prev, expected_seq, why)
                text = _event_text(seq, at, kind, run, person, data)
                if stored_prev != prev:
                    return self._bad(count, prev, seq, f"event {seq} does not follow event {seq - 1}")
                if sha256((prev + text).encode("utf-8")).hexdigest() != digest:
                    return self._bad(count, prev, seq, f"event {seq} was altered after it was written")
                if not seen_expected and digest.startswith(expect_hash or "") and (
                    expect_seq is None or expect_seq == seq
                ):
                    seen_expected = True
                prev = digest
                expected_seq += 1
                count += 1
            if progress:
                progress(count, total)
        if not seen_expected:
            bad = expect_seq if expect_seq is not None else None
            where = f"event {expect_seq}" if expect_seq is not None else "that head"
            why = (
                f"the log does not contain {where} with hash {expect_hash}: it was rewritten "
                "after that head was printed"
            )
            return VerifyResult(False, count, count, prev, bad if bad else 1, why)
        return VerifyResult(True, count, count, prev, None, None)

    @staticmethod
    def _bad(count: int, prev: str, seq: int, why: str) -> VerifyResult:
        return VerifyResult(False, count, count, prev, seq, why)

    # --- bulk writing (generators and imports) ---------------------------------------------------

    def append_bulk(
        self, timed: Iterable[tuple[str, NewEvent]], *, batch: int = 50_000
    ) -> tuple[int, str]:
        """Append events that carry their own timestamps, `batch` to a transaction; returns the
        new head. Same canonical text and chain hash as `append_many`, so `verify` cannot tell
        the difference. For data generators (bench/season.py writes a million events with it)
        and imports, never for sign-offs: those take their time from the clock, one durable
        transaction each, through `append_many`."""
        db = self.db
        events = iter(timed)
        while True:
            db.execute("BEGIN IMMEDIATE")
            try:
                seq, prev = self.head()
                rows: list[tuple[Any, ...]] = []
                for at, event in itertools.islice(events, batch):
                    seq += 1
                    data_text = canonical_json(event.data)
                    text = _event_text(seq, at, event.kind, event.run, event.person, data_text)
                    digest = chain_hash(prev, text)
                    rows.append(
                        (seq, at, event.kind, event.run, event.person, data_text, prev, digest)
                    )
                    prev = digest
                db.executemany(
                    "INSERT INTO events (seq, at, kind, run, person, data, prev_hash, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            if len(rows) < batch:
                return seq, prev


def parse_head(text: str) -> tuple[int | None, str]:
    """`HASH` or `SEQ:HASH` (as reports print it); at least 12 hex digits of the hash."""
    seq_text, _, digest = text.strip().rpartition(":")
    digest = digest.lower()
    if len(digest) < 12 or any(c not in "0123456789abcdef" for c in digest):
        raise SafetyError(
            f"--expect-head {text!r} is not a log head: give the hash a report printed "
            "(SEQ:HASH or at least 12 hex digits)"
        )
    if not seq_text:
        return None, digest
    if not seq_text.isdigit():
        raise SafetyError(f"--expect-head {text!r}: the part before `:` must be a sequence number")
    return int(seq_text), digest
