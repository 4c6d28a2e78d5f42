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
from safetycli.events import (
    DEVICE_KEYED,
    HOLD_RAISED,
    INCIDENT_REPORTED,
    ITEM_PERFORMED,
    ITEM_SIGNED_OFF,
    RUN_STARTED,
    SCENE_HELD,
    SIGNED_OFF_AS,
)
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


def _schema_of(cur: psycopg.Cursor) -> str:
    """The schema the tables are made in, quoted: the functions below name every table with it
    (and run with an empty search path), so a caller's own table of the same name, or one in
    its temporary schema, is never what they read or write."""
    cur.execute("SELECT quote_ident(current_schema())")
    row = cur.fetchone()
    if row is None or row[0] is None:
        raise SafetyError("the central server has no schema to make the tables in")
    return str(row[0])


# The canonical text of an event, as `ledger._event_text` makes it: `to_json(text)` escapes a
# string exactly as Python's `json.encode_basestring` does (`"`, `\`, \b \f \n \r \t, and every
# other control character as \u00XX in lower-case hex; nothing else), so the server's sha256 of it
# is the laptop's (tests/test_central.py checks the two agree on awkward text).
_EVENT_TEXT = """'{"at":' || to_json(i.at)::text || ',"data":' || i.data || ',"kind":'
    || to_json(i.kind)::text || ',"person":' || coalesce(to_json(i.person)::text, 'null')
    || ',"run":' || coalesce(to_json(i.run)::text, 'null') || ',"seq":' || i.seq::text || '}'"""


# Who signed what in each run, counted as `Ledger.signature_tally` counts it (a sign-off as the
# signatures it stands for, an older per-item signature as one), from the rows of `{rows}`
# (columns seq, kind, run, data): what the server's signature table adds up. (No alias here may
# be a name of the ingest function's variables: PL/pgSQL would read it as the variable. OFFSET 0
# keeps the parsed JSON one value: a flattened subquery would parse each sign-off four times.)
_SIGNATURES = """SELECT t.run, t.name, t.role, min(t.seq) AS first_seq, count(*) AS signatures,
        count(*) FILTER (WHERE t.meaning = 'performed') AS performed
    FROM (
        SELECT so.run, so.seq, so.j ->> 'name' AS name, so.j ->> 'role' AS role,
            i.value ->> 'meaning' AS meaning
        FROM (SELECT x.run, x.seq, x.data::jsonb AS j FROM {rows} AS x
              WHERE x.kind = '{signed_off}' AND x.run IS NOT NULL
              OFFSET 0) AS so
        CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(so.j -> 'items') = 'array'
            THEN so.j -> 'items' ELSE '[]'::jsonb END) AS i
        WHERE i.value ->> 'meaning' IN ({meanings})
        UNION ALL
        SELECT x.run, x.seq, x.data::jsonb ->> 'name', x.data::jsonb ->> 'role',
            CASE x.kind WHEN '{performed}' THEN 'performed' ELSE '' END
        FROM {rows} AS x WHERE x.kind IN ({per_item}) AND x.run IS NOT NULL
    ) AS t GROUP BY t.run, t.name, t.role"""


def signatures_of(rows: str) -> str:
    """`_SIGNATURES` over `rows` (a table or a parenthesised query with the events' columns)."""
    return _SIGNATURES.format(
        rows=rows,
        signed_off=ITEM_SIGNED_OFF,
        performed=ITEM_PERFORMED,
        meanings=", ".join(f"'{m}'" for m in SIGNED_OFF_AS),
        per_item=", ".join(f"'{k}'" for k in SIGNED_OFF_AS.values()),
    )


def _m5_checks_in_the_server(cur: psycopg.Cursor) -> None:
    """The server checks what it takes in itself. Before this, the sync client checked each
    device's chain inside the server's transaction, so anyone with the database password could
    insert anything. Now every event comes in through `safetycli_ingest` (SECURITY DEFINER: it
    runs as the tables' owner), which recomputes each hash, checks each link and each MAC under
    the device's central key (pgcrypto's hmac), refuses a different event for a number it holds,
    and records the alarm itself. Other roles (the laptops') may read, and call the functions,
    but never write the events, the devices or the alarms, nor read the devices' keys."""
    cur.execute(
        "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()"
    )
    row = cur.fetchone()
    if row is None or row[0] != "UTF8":
        raise SafetyError(
            f"the central database's encoding is {row[0] if row else '?'}, not UTF8: the server "
            "cannot recompute the laptops' hashes; create it with `createdb -E UTF8`"
        )
    s = _schema_of(cur)
    cur.execute(f"CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA {s}")
    cur.execute(
        "SELECT quote_ident(n.nspname) FROM pg_extension x JOIN pg_namespace n"
        " ON n.oid = x.extnamespace WHERE x.extname = 'pgcrypto'"
    )
    crypto = str((cur.fetchone() or (s,))[0])
    # Every event now comes in through the function, which holds the device's row locked while
    # it writes: the foreign key's check on each row (a trigger per event, a sixth of the cost of
    # taking an event in) says nothing more.
    cur.execute(
        "SELECT quote_ident(conname) FROM pg_constraint WHERE conrelid = %s::regclass"
        " AND contype = 'f'",
        (f"{s}.events",),
    )
    for (name,) in cur.fetchall():
        cur.execute(f"ALTER TABLE {s}.events DROP CONSTRAINT {name}")
    # Who let each device in, and when (issue 15: no trust on first use). Devices that synced
    # before this migration were let in by their first sync: they keep their place.
    cur.execute(f"ALTER TABLE {s}.devices ADD COLUMN approved_at timestamptz")
    cur.execute(f"ALTER TABLE {s}.devices ADD COLUMN approved_by text")
    cur.execute(
        f"UPDATE {s}.devices SET approved_at = registered_at,"
        " approved_by = 'its first sync (before approvals were asked)'"
    )
    # Who signed what in each run of each device (`_SIGNATURES`): what a report counts, kept by
    # the ingest function with the events, so a day's report never parses every sign-off.
    cur.execute(
        f"""CREATE TABLE {s}.signatures (
            device text NOT NULL,
            run text NOT NULL,
            name text,
            role text,
            first_seq bigint NOT NULL,
            signatures bigint NOT NULL,
            performed bigint NOT NULL
        )"""
    )
    cur.execute(f"CREATE INDEX signatures_run ON {s}.signatures (device, run)")
    cur.execute(
        f"INSERT INTO {s}.signatures (device, run, name, role, first_seq, signatures, performed)"
        f" SELECT d.device, c.* FROM {s}.devices AS d CROSS JOIN LATERAL"
        f" ({signatures_of(f'(SELECT * FROM {s}.events AS e WHERE e.device = d.device)')}) AS c"
    )
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_json_field(body text, field text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
        BEGIN
            RETURN body::jsonb ->> field;
        EXCEPTION WHEN others THEN
            RETURN NULL;  -- not JSON: it names nothing
        END $fn$"""
    )
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_ingest(p_device text, p_rows jsonb,
            OUT stored bigint, OUT already bigint, OUT head_seq bigint, OUT head_hash text,
            OUT alarm_seq bigint, OUT alarm_what text, OUT alarm_reason text)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            d record;
            r record;
            mac_key bytea;
        BEGIN
            -- The device's head, locked to the end of the transaction: two syncs of one laptop
            -- take turns, other devices never wait (the counterpart of BEGIN IMMEDIATE).
            SELECT v.head_seq, v.head_hash, v.central_key, v.key_id, v.keyed_from, v.approved_at
                INTO d FROM {s}.devices AS v WHERE v.device = p_device FOR UPDATE;
            IF NOT FOUND OR d.approved_at IS NULL THEN
                RAISE EXCEPTION 'device % is not an approved device of this production', p_device
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            mac_key := decode(d.central_key, 'hex');
            -- One statement: the rows (a JSON array of arrays, in the order sent) are unpacked
            -- once and checked all at once; the first that does not hold stops the batch. Rows
            -- at or below the head must be the events the server holds; the k-th new row must be
            -- number head + k, link to the one before it, and from the device's key event on
            -- carry its MAC. What comes before the first bad row is stored.
            WITH i AS MATERIALIZED (
                SELECT (x.v ->> 0)::bigint AS seq, x.v ->> 1 AS at, x.v ->> 2 AS kind,
                    x.v ->> 3 AS run, x.v ->> 4 AS person, x.v ->> 5 AS data, x.v ->> 6 AS prev,
                    x.v ->> 7 AS hash, x.v ->> 8 AS mac, x.ord
                FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS x(v, ord)
            ), c AS (
                SELECT i.*, i.seq <= d.head_seq AS old,
                    CASE WHEN i.seq <= d.head_seq THEN (SELECT e.hash FROM {s}.events AS e
                        WHERE e.device = p_device AND e.seq = i.seq) END AS held,
                    encode(sha256(convert_to(i.prev || {_EVENT_TEXT}, 'UTF8')), 'hex')
                        AS computed,
                    row_number() OVER w AS k,
                    lag(i.hash) OVER w AS before,
                    bool_or(i.kind = '{DEVICE_KEYED}') OVER w AS keyed
                FROM i
                WINDOW w AS (PARTITION BY i.seq <= d.head_seq ORDER BY i.ord)
            ), bad AS (
                SELECT c.ord, c.seq, c.mac IS NULL AS no_mac, d.head_seq + c.k - 1 AS after,
                    w.what
                FROM c, LATERAL (SELECT CASE
                    WHEN c.old AND c.computed = c.hash AND c.held = c.hash THEN NULL
                    WHEN c.old AND c.computed = c.hash THEN 'equivocation'
                    WHEN NOT c.old AND c.kind = '{DEVICE_KEYED}' AND c.seq = d.head_seq + c.k
                        AND ({s}.safetycli_json_field(c.data, 'device') IS DISTINCT FROM p_device
                             OR {s}.safetycli_json_field(c.data, 'key_id')
                                IS DISTINCT FROM d.key_id) THEN 'key'
                    WHEN c.computed IS DISTINCT FROM c.hash THEN 'altered'
                    WHEN c.seq <> d.head_seq + c.k THEN 'jump'
                    WHEN c.prev IS DISTINCT FROM coalesce(c.before, d.head_hash) THEN 'fork'
                    WHEN (d.keyed_from IS NOT NULL OR c.keyed) AND (c.mac IS NULL
                        OR mac_key IS NULL OR c.mac <> left(encode({crypto}.hmac(
                            convert_to(p_device || ':' || c.seq::text || ':' || c.hash, 'UTF8'),
                            mac_key, 'sha256'), 'hex'), 32)) THEN 'unsealed'
                    END) AS w(what)
                WHERE w.what IS NOT NULL
                ORDER BY c.ord LIMIT 1
            ), ok AS (
                SELECT i.* FROM i
                WHERE i.ord < coalesce((SELECT bad.ord FROM bad), 9223372036854775807)
            ), ins AS (
                INSERT INTO {s}.events
                    (device, seq, at, kind, run, person, data, prev_hash, hash, mac)
                SELECT p_device, ok.seq, ok.at, ok.kind, ok.run, ok.person, ok.data, ok.prev,
                    ok.hash, ok.mac
                FROM ok WHERE ok.seq > d.head_seq ORDER BY ok.ord
                RETURNING 1
            ), tally AS (
                -- The signature table, kept in the same statement as the events it counts: a
                -- row per run, name and role of each batch (readers add a run's rows up).
                INSERT INTO {s}.signatures
                    (device, run, name, role, first_seq, signatures, performed)
                SELECT p_device, c.run, c.name, c.role, c.first_seq, c.signatures, c.performed
                FROM ({signatures_of("(SELECT * FROM ok WHERE ok.seq > d.head_seq)")}) AS c
            ), last AS (
                SELECT ok.seq, ok.hash FROM ok WHERE ok.seq > d.head_seq
                ORDER BY ok.ord DESC LIMIT 1
            )
            SELECT (SELECT count(*) FROM ins) AS n_stored,
                (SELECT count(*) FROM ok WHERE ok.seq <= d.head_seq) AS n_already,
                (SELECT last.seq FROM last) AS new_seq,
                (SELECT last.hash FROM last) AS new_hash,
                (SELECT max(ok.seq) FROM ok
                    WHERE ok.kind = '{DEVICE_KEYED}' AND ok.seq > d.head_seq) AS keyed,
                bad.seq AS bad_seq, bad.what, bad.no_mac, bad.after
                INTO r
                FROM (SELECT 1) AS one LEFT JOIN bad ON true;
            stored := r.n_stored;
            already := r.n_already;
            head_seq := coalesce(r.new_seq, d.head_seq);
            head_hash := coalesce(r.new_hash, d.head_hash);
            IF r.n_stored > 0 THEN
                UPDATE {s}.devices AS v SET head_seq = r.new_seq, head_hash = r.new_hash,
                    keyed_from = coalesce(r.keyed, d.keyed_from), pushed_at = now()
                    WHERE v.device = p_device;
            END IF;
            IF r.what IS NOT NULL THEN
                alarm_seq := r.bad_seq;
                alarm_what := CASE r.what WHEN 'jump' THEN 'fork' ELSE r.what END;
                alarm_reason := CASE r.what
                    WHEN 'equivocation' THEN 'the device sent a different event for a number '
                        'the server already holds (equivocation: its log was rewritten, or two '
                        'laptops share it)'
                    WHEN 'key' THEN 'its key event names another device key'
                    WHEN 'altered' THEN 'its content does not match its hash (altered)'
                    WHEN 'jump' THEN format('the chain jumps from event %s to %s', r.after,
                                            r.bad_seq)
                    WHEN 'fork' THEN format('it does not link to event %s (a forked chain)',
                                            r.after)
                    WHEN 'unsealed' THEN CASE WHEN r.no_mac THEN 'it carries no device MAC'
                        ELSE 'its device MAC is not this device''s (forged)' END
                    END;
                INSERT INTO {s}.alarms (device, seq, what, reason)
                    VALUES (p_device, alarm_seq, alarm_what, alarm_reason)
                    ON CONFLICT DO NOTHING;
            END IF;
        END $fn$"""
    )
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_register(
            p_device text, p_central_key text, p_key_id text, p_production text)
        RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            known text;
        BEGIN
            INSERT INTO {s}.devices (device, central_key, key_id, production, approved_at,
                                     approved_by)
                VALUES (p_device, p_central_key, p_key_id, p_production, now(),
                        'its first sync')
                ON CONFLICT (device) DO NOTHING;
            SELECT v.key_id INTO known FROM {s}.devices AS v WHERE v.device = p_device;
            IF known IS DISTINCT FROM p_key_id THEN
                INSERT INTO {s}.alarms (device, seq, what, reason)
                    VALUES (p_device, NULL, 'key', format('the server knows device %s under '
                        'another key (%s, this laptop has %s): two laptops claim one device; '
                        'nothing was taken', p_device, known, p_key_id))
                    ON CONFLICT DO NOTHING;
            END IF;
            RETURN known;
        END $fn$"""
    )
    # `verify --central` for any role: the first event from the device's key event on whose MAC
    # does not hold under its central key, which only the owner may read.
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_first_bad_mac(p_device text,
            OUT seq bigint, OUT no_mac boolean)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
            SELECT e.seq, e.mac IS NULL FROM {s}.events AS e
            JOIN {s}.devices AS d ON d.device = e.device
            WHERE e.device = p_device AND d.keyed_from IS NOT NULL AND e.seq >= d.keyed_from
            AND (e.mac IS NULL OR d.central_key IS NULL OR e.mac <> left(encode({crypto}.hmac(
                convert_to(p_device || ':' || e.seq::text || ':' || e.hash, 'UTF8'),
                decode(d.central_key, 'hex'), 'sha256'), 'hex'), 32))
            ORDER BY e.seq LIMIT 1
        $fn$"""
    )
    # The laptops' role (any role but the owner): read everything but the devices' keys, write
    # only through the functions, and the two tables sync and joining fill.
    cur.execute(
        f"REVOKE ALL ON {s}.events, {s}.devices, {s}.alarms, {s}.credentials, {s}.signatures,"
        f" {s}.joins, {s}.safetycli_schema FROM PUBLIC"
    )
    cur.execute(
        f"GRANT SELECT ON {s}.events, {s}.alarms, {s}.credentials, {s}.joins, {s}.signatures,"
        f" {s}.safetycli_schema TO PUBLIC"
    )
    cur.execute(
        "GRANT SELECT (device, key_id, production, head_seq, head_hash, keyed_from,"
        f" registered_at, pushed_at, approved_at, approved_by) ON {s}.devices TO PUBLIC"
    )
    cur.execute(f"GRANT INSERT ON {s}.credentials TO PUBLIC")
    cur.execute(f"GRANT INSERT, UPDATE ON {s}.joins TO PUBLIC")


def _m6_run_starts_by_run(cur: psycopg.Cursor) -> None:
    # Which devices started a run id (the same id made on two laptops is two runs, `RUN@DEVICE`),
    # and a listed run's start: one seek instead of a run's every event.
    cur.execute(
        "CREATE INDEX events_started_run ON events (run, device) WHERE kind = 'run.started'"
    )


def _m7_unit_function(cur: psycopg.Cursor) -> None:
    """A device's unit number through a function (SECURITY DEFINER), as every other write to
    `devices`: since the server's checks (migration 5) the laptops' role may not update the
    table itself. Any device may ask its number; numbers only keep run ids apart."""
    s = _schema_of(cur)
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_unit(p_device text) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            v_unit integer;
        BEGIN
            UPDATE {s}.devices SET unit = nextval('{s}.device_units')
                WHERE device = p_device AND unit IS NULL;
            SELECT d.unit INTO v_unit FROM {s}.devices AS d WHERE d.device = p_device;
            RETURN v_unit;
        END $fn$"""
    )
    cur.execute(f"GRANT SELECT (unit) ON {s}.devices TO PUBLIC")


def _m8_device_approvals(cur: psycopg.Cursor) -> None:
    """No trust on first use (issue 15): a new device registers *pending*, and `safetycli_ingest`
    refuses it until it is approved, in one of three ways the server can check or record:

    - by an approved device of the production (`safetycli_approve`): the approving laptop's MAC,
      under its central key, over the new device's id and key id, which the server checks with
      the one-way central key it holds (whoever has only the database password cannot make it);
    - through its join (`safetycli_approve_join`, then `safetycli_register` with a token): the
      approving laptop posts, besides the wrapped secret, the hash of a token derived from the
      join code and its MAC over it; the new laptop, which alone has the code, shows the token
      at its first sync;
    - the first laptop of the server (`safetycli_approve_first`), by a producer's PIN checked on
      that laptop: the server can only record who it was, and refuses once any device is
      approved."""
    s = _schema_of(cur)
    cur.execute(
        "SELECT quote_ident(n.nspname) FROM pg_extension x JOIN pg_namespace n"
        " ON n.oid = x.extnamespace WHERE x.extname = 'pgcrypto'"
    )
    crypto = str((cur.fetchone() or (s,))[0])
    # The MAC an approved device makes over `message`, as central/approval.py makes it.
    mac = (
        "encode({crypto}.hmac(convert_to({message}, 'UTF8'), decode(a.central_key, 'hex'),"
        " 'sha256'), 'hex')"
    )
    device_mac = mac.format(
        crypto=crypto, message="'safetycli approve:' || p_device || ':' || p_key_id"
    )
    join_mac = mac.format(
        crypto=crypto, message="'safetycli join:' || p_request || ':' || p_token_hash"
    )
    cur.execute(
        f"""CREATE TABLE {s}.join_approvals (
            request text PRIMARY KEY,
            token_hash text NOT NULL UNIQUE,
            by_device text NOT NULL,
            by_name text NOT NULL,
            approved_at timestamptz NOT NULL DEFAULT now(),
            used_by text
        )"""
    )
    cur.execute(f"REVOKE ALL ON {s}.join_approvals FROM PUBLIC")
    cur.execute(f"DROP FUNCTION {s}.safetycli_register(text, text, text, text)")
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_register(
            p_device text, p_central_key text, p_key_id text, p_production text, p_token text,
            OUT known text, OUT approved_by text)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            j record;
        BEGIN
            INSERT INTO {s}.devices (device, central_key, key_id, production)
                VALUES (p_device, p_central_key, p_key_id, p_production)
                ON CONFLICT (device) DO NOTHING;
            SELECT v.key_id, v.approved_by INTO known, approved_by
                FROM {s}.devices AS v WHERE v.device = p_device FOR UPDATE;
            IF known IS DISTINCT FROM p_key_id THEN
                INSERT INTO {s}.alarms (device, seq, what, reason)
                    VALUES (p_device, NULL, 'key', format('the server knows device %s under '
                        'another key (%s, this laptop has %s): two laptops claim one device; '
                        'nothing was taken', p_device, known, p_key_id))
                    ON CONFLICT DO NOTHING;
                RETURN;
            END IF;
            IF approved_by IS NULL AND p_token IS NOT NULL THEN
                SELECT * INTO j FROM {s}.join_approvals AS a
                    WHERE a.token_hash = encode(sha256(convert_to(p_token, 'UTF8')), 'hex')
                    AND a.used_by IS NULL FOR UPDATE;
                IF FOUND THEN
                    approved_by := format('%s on device %s (its join)', j.by_name, j.by_device);
                    UPDATE {s}.join_approvals AS a SET used_by = p_device
                        WHERE a.request = j.request;
                    UPDATE {s}.devices AS v SET approved_at = now(),
                        approved_by = format('%s on device %s (its join)', j.by_name, j.by_device)
                        WHERE v.device = p_device;
                END IF;
            END IF;
        END $fn$"""
    )
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_approve(
            p_device text, p_key_id text, p_by_device text, p_by_name text, p_mac text)
        RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            a record;
            t record;
        BEGIN
            SELECT * INTO a FROM {s}.devices AS v WHERE v.device = p_by_device;
            IF NOT FOUND OR a.approved_at IS NULL THEN
                RETURN format('the approving device %s is not itself approved', p_by_device);
            END IF;
            SELECT * INTO t FROM {s}.devices AS v WHERE v.device = p_device FOR UPDATE;
            IF NOT FOUND THEN
                RETURN format('the server knows no device %s: it syncs once first', p_device);
            ELSIF t.key_id IS DISTINCT FROM p_key_id THEN
                RETURN format('device %s is known under key %s, not %s', p_device, t.key_id,
                              p_key_id);
            ELSIF t.approved_at IS NOT NULL THEN
                RETURN NULL;  -- already approved: nothing to do
            ELSIF p_mac IS DISTINCT FROM {device_mac} THEN
                RETURN format('the approval does not carry device %s''s MAC', p_by_device);
            END IF;
            UPDATE {s}.devices SET approved_at = now(),
                approved_by = format('%s on device %s', p_by_name, p_by_device)
                WHERE device = p_device;
            RETURN NULL;
        END $fn$"""
    )
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_approve_join(
            p_request text, p_token_hash text, p_by_device text, p_by_name text, p_mac text)
        RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            a record;
        BEGIN
            SELECT * INTO a FROM {s}.devices AS v WHERE v.device = p_by_device;
            IF NOT FOUND OR a.approved_at IS NULL THEN
                RETURN format('the approving device %s is not itself approved', p_by_device);
            ELSIF p_mac IS DISTINCT FROM {join_mac} THEN
                RETURN format('the approval does not carry device %s''s MAC', p_by_device);
            END IF;
            INSERT INTO {s}.join_approvals (request, token_hash, by_device, by_name)
                VALUES (p_request, p_token_hash, p_by_device, p_by_name)
                ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $fn$"""
    )
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_approve_first(p_device text, p_by_name text)
        RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        BEGIN
            -- One at a time: two first laptops at once are not both the first.
            LOCK TABLE {s}.devices IN SHARE ROW EXCLUSIVE MODE;
            IF EXISTS (SELECT 1 FROM {s}.devices AS v WHERE v.approved_at IS NOT NULL
                       AND v.device <> p_device) THEN
                RETURN 'the server already has approved laptops';
            END IF;
            UPDATE {s}.devices SET approved_at = now(),
                approved_by = format('%s (producer''s PIN on the first laptop)', p_by_name)
                WHERE device = p_device AND approved_at IS NULL;
            RETURN NULL;
        END $fn$"""
    )


# What a refused laptop may still send: stop-work (the kinds that stop work) and the start of a
# run it holds (which scene the hold stops). `safetycli_unverified` takes nothing else.
UNVERIFIED_KINDS = (SCENE_HELD, HOLD_RAISED, INCIDENT_REPORTED, RUN_STARTED)
# The alarms after which a device's events are not taken as a record, yet its stop-work is.
REFUSING_ALARMS = ("fork", "altered", "equivocation")


def _m9_unverified_stop_work(cur: psycopg.Cursor) -> None:
    """A stop-work written on a laptop whose sync is refused (its chain forked, was rewritten or
    altered) must still stop the production: a crew member who cannot sign must still be able to
    stop work. Its events are never taken as a record, so its open stop-work comes beside its
    alarm, in a table of its own (`unverified_stops`), never into `events`: every other laptop
    pulls it and stops on it, marked unverified, until a producer clears it on one of them. The
    function takes only the kinds that stop work (and a held run's start, for its scene), of a
    device under a standing alarm, each matching its hash and carrying the device's MAC under
    its central key (the refused laptop still holds its device key: whoever has the database
    password alone cannot stop a production in a device's name), and never an event the server
    already holds in the device's chain (that one travels as a record)."""
    s = _schema_of(cur)
    cur.execute(
        "SELECT quote_ident(n.nspname) FROM pg_extension x JOIN pg_namespace n"
        " ON n.oid = x.extnamespace WHERE x.extname = 'pgcrypto'"
    )
    crypto = str((cur.fetchone() or (s,))[0])
    cur.execute(
        f"""CREATE TABLE {s}.unverified_stops (
            device text NOT NULL,
            seq bigint NOT NULL,
            hash text NOT NULL,
            at text NOT NULL,
            kind text NOT NULL,
            run text,
            person text,
            data text NOT NULL,
            prev_hash text NOT NULL,
            alarm bigint NOT NULL,  -- the device's alarm it came beside (alarms.id)
            received_at timestamptz NOT NULL DEFAULT now(),
            -- A forked chain reuses numbers: an event is its number and its hash.
            PRIMARY KEY (device, seq, hash)
        )"""
    )
    cur.execute(
        f"""CREATE TRIGGER unverified_append_only BEFORE UPDATE OR DELETE ON {s}.unverified_stops
        FOR EACH ROW EXECUTE FUNCTION {s}.safetycli_append_only()"""
    )
    cur.execute(f"REVOKE ALL ON {s}.unverified_stops FROM PUBLIC")
    cur.execute(f"GRANT SELECT ON {s}.unverified_stops TO PUBLIC")
    kinds = ", ".join(f"'{k}'" for k in UNVERIFIED_KINDS)
    refusing = ", ".join(f"'{a}'" for a in REFUSING_ALARMS)
    cur.execute(
        f"""CREATE FUNCTION {s}.safetycli_unverified(p_device text, p_rows jsonb)
        RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            d record;
            v_alarm bigint;
            v_stored bigint;
        BEGIN
            SELECT v.central_key, v.approved_at INTO d FROM {s}.devices AS v
                WHERE v.device = p_device;
            IF NOT FOUND OR d.approved_at IS NULL OR d.central_key IS NULL THEN
                RAISE EXCEPTION 'device % is not an approved device of this production', p_device
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            SELECT a.id INTO v_alarm FROM {s}.alarms AS a
                WHERE a.device = p_device AND a.what IN ({refusing}) ORDER BY a.id DESC LIMIT 1;
            IF v_alarm IS NULL THEN
                -- Nothing of it refused here: its events come in as a record. NULL says so,
                -- unless it sent nothing the server does not hold already (0: nothing to keep).
                IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_rows) AS x(v)
                           WHERE NOT EXISTS (SELECT 1 FROM {s}.events AS e
                               WHERE e.device = p_device AND e.seq = (x.v ->> 0)::bigint
                               AND e.hash = x.v ->> 7)) THEN
                    RETURN NULL;
                END IF;
                RETURN 0;
            END IF;
            WITH i AS MATERIALIZED (
                SELECT (x.v ->> 0)::bigint AS seq, x.v ->> 1 AS at, x.v ->> 2 AS kind,
                    x.v ->> 3 AS run, x.v ->> 4 AS person, x.v ->> 5 AS data, x.v ->> 6 AS prev,
                    x.v ->> 7 AS hash, x.v ->> 8 AS mac
                FROM jsonb_array_elements(p_rows) AS x(v)
            ), ins AS (
                INSERT INTO {s}.unverified_stops
                    (device, seq, hash, at, kind, run, person, data, prev_hash, alarm)
                SELECT p_device, i.seq, i.hash, i.at, i.kind, i.run, i.person, i.data, i.prev,
                    v_alarm
                FROM i
                WHERE i.kind IN ({kinds})
                AND (i.kind <> '{RUN_STARTED}' OR EXISTS (SELECT 1 FROM i AS h
                     WHERE h.kind = '{HOLD_RAISED}' AND h.run = i.run))
                AND encode(sha256(convert_to(i.prev || {_EVENT_TEXT}, 'UTF8')), 'hex') = i.hash
                AND i.mac IS NOT NULL AND i.mac = left(encode({crypto}.hmac(
                    convert_to(p_device || ':' || i.seq::text || ':' || i.hash, 'UTF8'),
                    decode(d.central_key, 'hex'), 'sha256'), 'hex'), 32)
                AND NOT EXISTS (SELECT 1 FROM {s}.events AS e
                    WHERE e.device = p_device AND e.seq = i.seq AND e.hash = i.hash)
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            SELECT count(*) INTO v_stored FROM ins;
            RETURN v_stored;
        END $fn$"""
    )


MIGRATIONS: list[tuple[str, Callable[[psycopg.Cursor], None]]] = [
    ("create devices, events and alarms", _m1_devices_events_alarms),
    ("index run starts by shooting day", _m2_run_start_days),
    ("credentials and join requests", _m3_credentials_joins),
    ("unit numbers for devices", _m4_device_units),
    (
        "checks in the server: ingest and registration functions, the laptops' privileges",
        _m5_checks_in_the_server,
    ),
    ("index run starts by run", _m6_run_starts_by_run),
    ("unit numbers through a function", _m7_unit_function),
    ("devices wait for approval: no trust on first use", _m8_device_approvals),
    ("stop-work of a refused laptop, kept unverified beside its alarm", _m9_unverified_stop_work),
]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: psycopg.Connection) -> int | None:
    """The server's schema version, read without taking any lock or writing; None before the
    first migration."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT to_regclass('safetycli_schema') IS NOT NULL")
        row = cur.fetchone()
        if not (row and row[0]):
            return None
        cur.execute("SELECT coalesce(max(version), 0) FROM safetycli_schema")
        row = cur.fetchone()
        return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection) -> int:
    """Bring the server's schema up to date; returns the version it started from. A server
    migrated by a newer safetycli is refused, never written by an older one. A server already
    up to date is only read: the laptops' role, which may not create tables, syncs with it."""
    import psycopg

    found = current_version(conn)
    if found is not None and found >= SCHEMA_VERSION:
        _refuse_newer(found)
        return found
    try:
        return _migrate(conn)
    except psycopg.errors.InsufficientPrivilege:
        raise SafetyError(
            f"the central server's tables are at schema {found or 0} and this safetycli needs "
            f"{SCHEMA_VERSION}, but this role may not change them: have the database's owner "
            "run `safetycli sync` (or `safetycli log list --central URL`) once"
        ) from None


def _refuse_newer(start: int) -> None:
    if start > SCHEMA_VERSION:
        raise SafetyError(
            f"the central server was set up by a newer safetycli (schema {start}, this one "
            f"knows {SCHEMA_VERSION}): upgrade safetycli on this laptop"
        )


def _migrate(conn: psycopg.Connection) -> int:
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
        _refuse_newer(start)
        for version in range(start, SCHEMA_VERSION):
            # PostgreSQL's DDL is transactional: every step and its record commit together, or
            # none does, and the lock is held until then.
            name, step = MIGRATIONS[version]
            step(cur)
            cur.execute(
                "INSERT INTO safetycli_schema (version, name) VALUES (%s, %s)", (version + 1, name)
            )
    return start
