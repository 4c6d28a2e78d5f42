"""The central store's tables, and their migrations: named, ordered, each applied with its record
in one transaction (as `ledger.py` does for SQLite), under a transaction-level advisory lock, so
two laptops syncing with a new server at once do not both migrate it.

Each event is stored as its device wrote it: `data` is the canonical JSON text the chain hashed
(not jsonb, which would reorder keys and lose the bytes), so the server rebuilds an event's hash
exactly as `ledger.py` does. Queries that need a key inside it cast it (`data::jsonb`), through an
expression index where a listing depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from safetycli.errors import SafetyError
from safetycli.storage import GENESIS

if TYPE_CHECKING:
    import psycopg

# Any 64-bit number no other program takes: the lock that serialises migrations.
_MIGRATION_LOCK = 0x5AFE_7C11_0015


def _m1_devices_events_alarms(cur: psycopg.Cursor) -> None:
    cur.execute(
        f"""CREATE TABLE devices (
            device text PRIMARY KEY,
            -- The device's central key (devicekey.DeviceKey.central_key, derived one way from its
            -- MAC key), hex, learnt at its first sync: every event from its key event on must
            -- carry a MAC under it. key_id names the device key, as the log does.
            central_key text,
            key_id text,
            production text,
            -- Where the device's chain ends on the server, and its key event's number.
            head_seq bigint NOT NULL DEFAULT 0,
            head_hash text NOT NULL DEFAULT '{GENESIS}',
            keyed_from bigint,
            registered_at timestamptz NOT NULL DEFAULT now(),
            pushed_at timestamptz
        )"""
    )
    cur.execute(
        """CREATE TABLE events (
            device text NOT NULL REFERENCES devices(device),
            seq bigint NOT NULL,
            at text NOT NULL,
            kind text NOT NULL,
            run text,
            person text,
            data text NOT NULL,
            prev_hash text NOT NULL,
            hash text NOT NULL,
            mac text,  -- under the device's central key, made at push
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (device, seq)
        )"""
    )
    # What laptops pull (a few kinds of every other device, after a number) and what review
    # reads (a run's events) go through these.
    cur.execute("CREATE INDEX events_kind ON events (kind, device, seq)")
    cur.execute("CREATE INDEX events_run ON events (run, device, seq) WHERE run IS NOT NULL")
    cur.execute(
        """CREATE TABLE alarms (
            id bigserial PRIMARY KEY,
            device text NOT NULL,
            seq bigint,
            what text NOT NULL,
            reason text NOT NULL,
            raised_at timestamptz NOT NULL DEFAULT now()
        )"""
    )
    # The same refusal, met again at every sync until someone acts, is one alarm.
    cur.execute("CREATE UNIQUE INDEX alarms_once ON alarms (device, coalesce(seq, -1), what)")
    # Events are never changed or removed: what a device sent is evidence, as on the laptop.
    cur.execute(
        """CREATE FUNCTION safetycli_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the safety log is append-only'; END $$"""
    )
    cur.execute(
        """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION safetycli_append_only()"""
    )


def _m2_run_start_days(cur: psycopg.Cursor) -> None:
    # The producer asks about one shooting day across every unit: its run starts by the day they
    # record, as migration 3 indexes them on the laptop.
    cur.execute(
        "CREATE INDEX events_started_day ON events (((data::jsonb) ->> 'day'), device, seq)"
        " WHERE kind = 'run.started'"
    )


def _m3_credentials_joins(cur: psycopg.Cursor) -> None:
    # Each device's PIN hashes (credentials.py's rows): scrypt of HMAC(production secret, PIN), so
    # the server, which never holds the production secret, cannot guess a PIN from them.
    cur.execute(
        """CREATE TABLE credentials (
            device text NOT NULL REFERENCES devices(device),
            person text NOT NULL,
            fingerprint text NOT NULL,
            secret text NOT NULL,
            PRIMARY KEY (device, person, fingerprint)
        )"""
    )
    # A laptop joining the production (`init --from-central`): named by a one-way id of its
    # one-time join code; `wrapped` is the production secret wrapped under a key derived from that
    # code by the producer's laptop that approved it (central/join.py). The server never sees the
    # code, so it cannot unwrap it.
    cur.execute(
        """CREATE TABLE joins (
            request text PRIMARY KEY,
            wrapped text,
            requested_at timestamptz NOT NULL DEFAULT now(),
            approved_at timestamptz,
            taken_at timestamptz
        )"""
    )


def _m4_device_units(cur: psycopg.Cursor) -> None:
    # Each device's unit number, handed out once by the server (a sequence: never two devices one
    # number): a laptop that knows its number makes run ids `rN-xxxxxx`, so a run id of one
    # device never collides with another's (issue 15). Devices already known get theirs now.
    cur.execute("CREATE SEQUENCE device_units")
    cur.execute("ALTER TABLE devices ADD COLUMN unit integer UNIQUE")
    cur.execute(
        "UPDATE devices SET unit = n.unit FROM (SELECT device, nextval('device_units') AS unit"
        " FROM (SELECT device FROM devices ORDER BY registered_at, device) o) n"
        " WHERE devices.device = n.device"
    )


MIGRATIONS: list[tuple[str, Callable[[psycopg.Cursor], None]]] = [
    ("create devices, events and alarms", _m1_devices_events_alarms),
    ("index run starts by shooting day", _m2_run_start_days),
    ("credentials and join requests", _m3_credentials_joins),
    ("unit numbers for devices", _m4_device_units),
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: psycopg.Connection) -> int:
    """Bring the server's schema up to date; returns the version it started from. A server
    migrated by a newer safetycli is refused, never written by an older one."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        cur.execute(
            """CREATE TABLE IF NOT EXISTS safetycli_schema (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )"""
        )
        cur.execute("SELECT coalesce(max(version), 0) FROM safetycli_schema")
        row = cur.fetchone()
        start = int(row[0]) if row else 0
        if start > SCHEMA_VERSION:
            raise SafetyError(
                f"the central server was set up by a newer safetycli (schema {start}, this one "
                f"knows {SCHEMA_VERSION}): upgrade safetycli on this laptop"
            )
        for version in range(start, SCHEMA_VERSION):
            # PostgreSQL's DDL is transactional: every step and its record commit together, or
            # none does, and the lock is held until then.
            name, step = MIGRATIONS[version]
            step(cur)
            cur.execute(
                "INSERT INTO safetycli_schema (version, name) VALUES (%s, %s)", (version + 1, name)
            )
    return start
