"""The laptop's connection to the central store: connect, migrate, hand a device's events to
the server, take out what other laptops pull, read alarms.

The server checks what it takes in, not this client (schema.py, `safetycli_ingest`, a function
that runs as the tables' owner; the laptops' database role may only read and call it): each
event numbered after the device's head on the server, linked to it (`prev_hash`), its hash
recomputed from its content with the canonical text of `ledger.py`, and from the device's key
event on its MAC under the central key the device registered (derived one way from its device
key: the server can check a laptop's events, never make that laptop's own MACs). An event the
server already holds must come again unchanged. The first event that does not hold stops the
batch: the events before it (a valid chain) are kept, it and everything after it are refused,
and the server records an alarm saying which device, which event and why. Nothing of a refused
chain is ever merged; other devices are not touched.

Concurrency: the function locks the device's row (`SELECT ... FOR UPDATE`) for the whole batch,
so two syncs of one laptop (two shells, a retry while the first still runs) serialise on that
device's head, the PostgreSQL counterpart of the laptop's `BEGIN IMMEDIATE`; different devices
never wait for each other. A batch and the head it moves commit together, so a connection cut
anywhere leaves the server at a batch boundary, and the next sync sends from the head it finds:
each event lands exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

from safetycli.central import CentralUnreachable, redact
from safetycli.central import schema as central_schema
from safetycli.events import DEVICE_KEYED
from safetycli.ledger import row_hash
from safetycli.storage import GENESIS

# A stored row, in the order the laptop's log keeps its columns (ledger._WRITTEN).
Row = tuple[int, str, str, str | None, str | None, str, str, str, str | None]
_COLUMNS = "seq, at, kind, run, person, data, prev_hash, hash, mac"
# An unverified stop-work as the server hands it out: (device, seq, at, kind, run, person, data,
# prev_hash, hash, the alarm's "what: reason", when the server received it).
UnverifiedRow = tuple[str, int, str, str, str | None, str | None, str, str, str, str, str]
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class Alarm:
    device: str
    seq: int | None
    what: str  # equivocation | fork | altered | unsealed | key
    reason: str

    def line(self) -> str:
        at = f" event {self.seq}" if self.seq is not None else ""
        return f"device {self.device}{at}: {self.reason}"


@dataclass
class Ingested:
    """What one `ingest` did: events stored, events the server already held unchanged, the
    device's head on the server after it, and the alarm that stopped it (None: all held)."""

    stored: int = 0
    already: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    alarm: Alarm | None = None


@dataclass
class Pulled:
    """One other device's events of the kinds asked, after a number, up to its head."""

    device: str
    head_seq: int
    head_hash: str
    rows: list[Row] = field(default_factory=list)
    credentials: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DeviceHead:
    device: str
    production: str | None
    head_seq: int
    head_hash: str
    keyed_from: int | None
    registered: bool  # whether the server knows its MAC key


def broken(row: Row, seq: int, prev: str) -> tuple[str, str] | None:
    """Why `row` cannot follow event `seq` (hash `prev`) in a device's chain as the server holds
    it, as (what, why), or None: its content must match its hash, it must be the next number and
    link to the event before it. `verify --central` walks each chain with it; the MACs, and
    every check on what comes in, are the server's own (schema.py, `safetycli_ingest`)."""
    n, at, kind, run, person, data, prev_hash, digest, _ = row
    if row_hash(n, at, kind, run, person, data, prev_hash) != digest:
        return "altered", "its content does not match its hash (altered)"
    if n != seq + 1:
        return "fork", f"the chain jumps from event {seq} to {n}"
    if prev_hash != prev:
        return "fork", f"it does not link to event {seq} (a forked chain)"
    return None


def _connect_error(url: str, err: Exception) -> CentralUnreachable:
    why = " ".join(str(err).split()) or type(err).__name__
    return CentralUnreachable(f"cannot reach the central server {redact(url)}: {why}")


class CentralStore:
    """One connection to the central PostgreSQL. Use as a context manager."""

    def __init__(self, conn: Any, url: str) -> None:
        self.conn = conn
        self.url = url

    @classmethod
    def connect(cls, url: str) -> Self:
        try:
            import psycopg
        except ImportError:
            from safetycli.errors import SafetyError

            raise SafetyError(
                "the central store needs psycopg: pip install 'safetycli[central]'"
            ) from None
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except (psycopg.Error, ValueError) as err:  # ValueError: a URL libpq cannot parse
            raise _connect_error(url, err) from None
        return cls(conn, url)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lost(self, err: Exception) -> CentralUnreachable:
        """A connection that failed midway, as the one line the user sees (exit 2)."""
        return _connect_error(self.url, err)

    @contextmanager
    def talking(self) -> Iterator[None]:
        """Around work with the server: a database error (the connection cut, the server
        refusing) is the one line the user sees (exit 2); anything else is not hidden. Nothing
        half-done stays on the server: each batch and its head are one transaction."""
        import psycopg

        try:
            yield
        except psycopg.Error as err:
            raise self.lost(err) from None

    def migrate(self) -> int:
        return central_schema.migrate(self.conn)

    # --- devices ------------------------------------------------------------------------------

    def register(
        self,
        device: str,
        central_key: bytes,
        key_id: str,
        production: str | None,
        *,
        join_token: str | None = None,
    ) -> Alarm | None:
        """Make the device known with its central key, the first time it syncs: pending until
        approved (`approved`), at once when it shows the token of an approved join. A device id
        the server knows under another key is refused with an alarm (the server records it): two
        laptops claim one chain."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT known, approved_by FROM safetycli_register(%s, %s, %s, %s, %s)",
                (device, central_key.hex(), key_id, production, join_token),
            )
            (known, _by) = cur.fetchone() or (None, None)
        if known is not None and known != key_id:
            return Alarm(
                device,
                None,
                "key",
                f"the server knows device {device} under another key ({known}, this laptop "
                f"has {key_id}): two laptops claim one device; nothing was taken",
            )
        return None

    def approved(self, device: str) -> str | None:
        """Who approved the device (None: pending, or unknown)."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT approved_by FROM devices WHERE device = %s AND approved_at IS NOT NULL",
                (device,),
            )
            row = cur.fetchone()
        return None if row is None else str(row[0])

    def key_id_of(self, device: str) -> str | None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT key_id FROM devices WHERE device = %s", (device,))
            row = cur.fetchone()
        return None if row is None else str(row[0])

    def approve(
        self, device: str, key_id: str, by_device: str, by_name: str, mac: str
    ) -> str | None:
        """An approved device lets `device` in (central/approval.py); why not (None: done)."""
        return self._call(
            "SELECT safetycli_approve(%s, %s, %s, %s, %s)",
            (device, key_id, by_device, by_name, mac),
        )

    def approve_first(self, device: str, by_name: str) -> str | None:
        """The server's first laptop, approved by a producer's PIN checked on it; why not."""
        return self._call("SELECT safetycli_approve_first(%s, %s)", (device, by_name))

    def _call(self, sql: str, params: tuple[str, ...]) -> str | None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def unit(self, device: str) -> int:
        """The device's unit number: handed out at its first ask, the same ever after."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT safetycli_unit(%s)", (device,))  # schema.py, migration 7
            row = cur.fetchone()
        if row is None or row[0] is None:
            raise ValueError(f"device {device} is not registered")  # sync registers first
        return int(row[0])

    def head(self, device: str) -> tuple[int, str]:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT head_seq, head_hash FROM devices WHERE device = %s", (device,))
            row = cur.fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def devices(self) -> list[DeviceHead]:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT device, production, head_seq, head_hash, keyed_from,"
                " central_key IS NOT NULL FROM devices ORDER BY device"
            )
            return [DeviceHead(r[0], r[1], int(r[2]), r[3], r[4], bool(r[5])) for r in cur]

    # --- taking events in ---------------------------------------------------------------------

    def ingest(self, device: str, rows: Sequence[Row]) -> Ingested:
        """Hand a device's events (in order, from at most its head on the server) to the
        server's `safetycli_ingest`, which checks them and stores all of them, or the part
        before the first that does not hold with an alarm, in one transaction. One call a
        batch, its rows one JSON array (made and read in C at both ends: a season of rows
        quoted one by one in Python costs more than checking them)."""
        body = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT stored, already, head_seq, head_hash, alarm_seq, alarm_what, alarm_reason"
                " FROM safetycli_ingest(%s, %s::jsonb)",
                (device, body),
            )
            row = cur.fetchone()
        assert row is not None  # the function always returns its one row
        stored, already, head_seq, head_hash, alarm_seq, what, reason = row
        alarm = None if what is None else Alarm(device, alarm_seq, what, reason)
        return Ingested(int(stored), int(already), int(head_seq), str(head_hash), alarm)

    def alarms(self, device: str | None = None) -> list[Alarm]:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT device, seq, what, reason FROM alarms"
                " WHERE %s::text IS NULL OR device = %s ORDER BY id",
                (device, device),
            )
            return [Alarm(r[0], None if r[1] is None else int(r[1]), r[2], r[3]) for r in cur]

    def send_unverified(self, device: str, rows: Sequence[Row]) -> int | None:
        """A refused device's open stop-work, to be kept beside its alarm as unverified (schema.py,
        `safetycli_unverified`: the server takes only what stops work, from a device under a
        standing alarm, each row matching its hash and MAC); how many it stored anew. None when
        the server records no alarm that refused the device and holds not every row sent (the
        laptop saw a fork the server did not: its stop-work was not taken)."""
        body = json.dumps(list(rows), ensure_ascii=False, separators=(",", ":"))
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT safetycli_unverified(%s, %s::jsonb)", (device, body))
            row = cur.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def unverified(self, but: str | None = None) -> list[UnverifiedRow]:
        """Every device's unverified stop-work (but `but`'s own), with the alarm it came beside."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT u.device, u.seq, u.at, u.kind, u.run, u.person, u.data, u.prev_hash,"
                " u.hash, a.what || ': ' || a.reason, u.received_at::text"
                " FROM unverified_stops AS u JOIN alarms AS a ON a.id = u.alarm"
                " WHERE %s::text IS NULL OR u.device <> %s ORDER BY u.device, u.seq, u.hash",
                (but, but),
            )
            return [
                (str(r[0]), int(r[1]), *(r[2:9]), str(r[9]), str(r[10]))  # type: ignore[misc]
                for r in cur
            ]

    # --- handing events out -------------------------------------------------------------------

    def pull(
        self,
        me: str,
        after: dict[str, int],
        kinds: Iterable[str],
        shared: Iterable[str] = (),
    ) -> list[Pulled]:
        """Every other device's events of these `kinds` numbered after `after[device]`, up to
        its head, all read in one snapshot. Per-device numbers, not an arrival order: a device's
        events commit in order with its head, so a cursor per device never skips one that a
        concurrent sync commits later. The `shared` kinds (the roster's) and the PIN hashes come
        only from devices of this one's production secret (their key events name the same
        `pepper_id`): another production's roster means nothing here, and a laptop of a big
        production would otherwise pull every other unit's sign-ins. A device whose secret is
        not known yet (no key event on the server) gives everything, as before."""
        kinds, shared = list(kinds), set(shared)
        own_kinds = [k for k in kinds if k not in shared]
        out: list[Pulled] = []
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute(
                "SELECT device, head_seq, head_hash FROM devices WHERE device <> %s"
                " ORDER BY device",
                (me,),
            )
            heads = cur.fetchall()
            secrets = self._pepper_ids(cur) if shared else {}
            for device, head_seq, head_hash in heads:
                since = after.get(device, 0)
                other = secrets.get(me) is not None and secrets.get(device) not in (
                    None,
                    secrets[me],
                )
                cur.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE device = %s AND kind = ANY(%s)"
                    " AND seq > %s AND seq <= %s ORDER BY seq",
                    (device, own_kinds if other else kinds, since, head_seq),
                )
                rows = [(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in cur]
                creds: list[tuple[str, str, str]] = []
                if not other:
                    cur.execute(
                        "SELECT person, fingerprint, secret FROM credentials WHERE device = %s",
                        (device,),
                    )
                    creds = [(str(p), str(f), str(s)) for p, f, s in cur]
                out.append(Pulled(device, int(head_seq), str(head_hash), rows, creds))
        return out

    @staticmethod
    def _pepper_ids(cur: Any) -> dict[str, str | None]:
        """Each device's production secret id, from its newest key event on the server."""
        cur.execute(
            "SELECT DISTINCT ON (device) device, (data::jsonb) ->> 'pepper_id' FROM events"
            " WHERE kind = %s ORDER BY device, seq DESC",
            (DEVICE_KEYED,),
        )
        return {str(d): p for d, p in cur.fetchall()}

    # --- credentials and joining ----------------------------------------------------------------

    def put_credentials(self, device: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """This device's PIN hashes (person, fingerprint, peppered hash): the ones its log selects
        now; a row the server has is kept (a hash is selected by the log's fingerprint only)."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO credentials (device, person, fingerprint, secret)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(device, *row) for row in rows],
            )

    def join_request(self, request: str) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO joins (request) VALUES (%s) ON CONFLICT DO NOTHING", (request,)
            )

    def join_approve(
        self, request: str, wrapped: str, registration: tuple[str, str, str, str]
    ) -> str | None:
        """Post the wrapped secret for a pending request, with the registration the new laptop's
        first sync shows (token hash, approving device, producer, that device's MAC: checked by
        the server, which keeps it out of the laptops' reach); why not (None: posted)."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT wrapped, taken_at FROM joins WHERE request = %s FOR UPDATE", (request,)
            )
            row = cur.fetchone()
            if row is None:
                return (
                    "no laptop asked to join with this code (check it on the new laptop's screen)"
                )
            if row[0] is not None or row[1] is not None:
                return "this join code was already approved: the new laptop asks for a new one"
            cur.execute(
                "SELECT safetycli_approve_join(%s, %s, %s, %s, %s)", (request, *registration)
            )
            (refused,) = cur.fetchone() or (None,)
            if refused is not None:
                return str(refused)
            cur.execute(
                "UPDATE joins SET wrapped = %s, approved_at = now() WHERE request = %s",
                (wrapped, request),
            )
        return None

    def join_take(self, request: str) -> tuple[bool, str | None]:
        """(whether the request is known, the wrapped secret once approved); taking it spends it:
        the server keeps no wrapped secret once the new laptop has it."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT wrapped, taken_at FROM joins WHERE request = %s FOR UPDATE", (request,)
            )
            row = cur.fetchone()
            if row is None or row[1] is not None:
                return False, None
            if row[0] is None:
                return True, None
            cur.execute(
                "UPDATE joins SET wrapped = NULL, taken_at = now() WHERE request = %s", (request,)
            )
            return True, str(row[0])


@dataclass(frozen=True)
class DeviceVerdict:
    """One device's chain on the server, checked whole: `events` hold from event 1 on; the
    first that does not (None: all of them, up to the head the server recorded) and why."""

    device: str
    events: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None
    # Runs whose rows in the server's signature table (what the central report counts) are not
    # what the device's events add up to: derived data edited, or kept wrong.
    tally_differs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None and not self.tally_differs

    def as_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "signature_table_differs": list(self.tally_differs),
        }


def verify_devices(
    store: CentralStore, progress: Callable[[int, int], None] | None = None
) -> list[DeviceVerdict]:
    """Every device's chain as the server holds it, in one snapshot and flat memory (a
    server-side cursor): numbered from 1 without a gap, each linked to the one before, each hash
    recomputed, each MAC from the key event on checked under the device's key (by the server,
    `safetycli_first_bad_mac`: only the tables' owner reads the keys), and the chain ending
    exactly at the head the server recorded for the device."""
    conn = store.conn
    out: list[DeviceVerdict] = []
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        devices = conn.execute(
            "SELECT device, head_seq, head_hash FROM devices ORDER BY device"
        ).fetchall()
        total = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        done = 0
        for device, head_seq, head_hash in devices:
            seq, prev, bad, why = 0, GENESIS, None, None
            with conn.cursor(name="verify_device") as cur:
                cur.itersize = 5_000
                cur.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE device = %s ORDER BY seq", (device,)
                )
                for row in cur:
                    done += 1
                    if bad is not None:
                        continue
                    problem = broken(row, seq, prev)
                    if problem is None:
                        seq, prev = row[0], row[7]
                    else:
                        bad, why = seq + 1, f"event {seq + 1}: {problem[1]}"
                    if progress and done % 5_000 == 0:
                        progress(done, total)
            found = conn.execute(
                "SELECT seq, no_mac FROM safetycli_first_bad_mac(%s)", (device,)
            ).fetchone()
            if found is not None and found[0] is not None and (bad is None or found[0] < bad):
                bad = int(found[0])
                seq = bad - 1
                what = (
                    "it carries no device MAC"
                    if found[1]
                    else ("its device MAC is not this device's (forged)")
                )
                why = f"event {bad}: {what}"
            if bad is None and (seq, prev) != (int(head_seq), str(head_hash)):
                bad = min(seq, int(head_seq)) + 1
                why = (
                    f"the chain ends at event {seq}, but the server recorded its head as event "
                    f"{head_seq}: events were removed or added behind its back"
                )
            differs = _tally_differs(conn, device) if bad is None else ()
            out.append(DeviceVerdict(device, seq, int(head_seq), str(head_hash), bad, why, differs))
    if progress:
        progress(total, total)
    return out


def _tally_differs(conn: Any, device: str) -> tuple[str, ...]:
    """Runs of the device whose signature-table rows differ from its events' count (both ways),
    by the one definition the ingest function keeps the table with (schema.signatures_of)."""
    counted = central_schema.signatures_of(
        "(SELECT * FROM events AS e WHERE e.device = %(device)s)"
    )
    kept = (
        "SELECT run, name, role, min(first_seq), sum(signatures), sum(performed)"
        " FROM signatures WHERE device = %(device)s GROUP BY run, name, role"
    )
    rows = conn.execute(
        f"SELECT DISTINCT run FROM (({counted}) EXCEPT ({kept})"
        f" UNION ALL (({kept}) EXCEPT ({counted}))) AS d ORDER BY run",
        {"device": device},
    ).fetchall()
    return tuple(str(run) for (run,) in rows)
