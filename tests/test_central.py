"""Several laptops, one production (issue 15): laptops that sync with a central PostgreSQL.

Every test here runs against a real server (tests/pgserver.py: a throwaway cluster, emptied before
each test) and real workspaces made with the CLI, each its own laptop with its own device key.
Under `make test` they never skip.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from safetycli.central import approval, join, redact, schema
from safetycli.central import sync as central_sync
from safetycli.central.store import CentralStore
from safetycli.ledger import Ledger
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    CLEAR_PINS,
    CLEARERS,
    FIRST_AD,
    Laptop,  # the central tests import it from here
    cheap_pins,
    invoke,
    log_list,
    ok,
    one_line_error,
    write_answers,
)

_real_token_hex = secrets.token_hex


def on(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work on that laptop from now on (as its crew would, at its keyboard)."""
    monkeypatch.setenv("SAFETYCLI_HOME", str(ws))


# Laptops that synced as approved devices, by device id: a later laptop of the same test is let
# in from one of them (ids are unique, so a past test's laptops are never on this test's server).
_APPROVED: dict[str, Path] = {}


def sync(cli: CliRunner, ws: Path, url: str, *, expect: int = 0) -> Result:
    """`safetycli sync` on that laptop, let into the server first as a production lets a laptop
    set up on its own in: the server's first by the producer's PIN at its sync; any other after
    its first sync (which waits for approval) by the producer on an approved laptop."""
    device = device_of(ws)
    extra: list[str] = []
    if approved_by(url, device) is None:
        approvers = [_APPROVED[d] for d in approved_devices(url) if d in _APPROVED]
        if not approvers:
            extra = ["--approve-by", PRODUCER_NAME, "--pin-stdin"]
        else:
            waiting = invoke(cli, ["sync", "--home", str(ws), "--central", url])
            assert waiting.exit_code == 2, waiting.output
            assert device in one_line_error(waiting)
            done = approve_device(cli, approvers[0], device, url)
            assert done.exit_code == 0, done.output
    args = ["sync", "--home", str(ws), "--central", url, *extra]
    result = invoke(cli, args, input=f"{PRODUCER_PIN}\n" if extra else None)
    assert result.exit_code == expect, result.output
    if approved_by(url, device) is not None:
        _APPROVED[device] = ws
    return result


def let_in(url: str, ws: Path) -> None:
    """The server's first laptop registered and approved as `sync --approve-by` does it, without
    pushing anything: for tests of the push itself."""
    with Ledger.open(ws / "log.db", create=False) as ledger:
        key, device = ledger.key, ledger.device
        assert key is not None and device is not None
    with CentralStore.connect(url) as store:
        store.migrate()
        assert store.register(device, key.central_key, key.key_id, "Night Unit") is None
        assert store.approve_first(device, PRODUCER_NAME) is None
    _APPROVED[device] = ws


def approved_by(url: str, device: str) -> str | None:
    with psycopg.connect(url) as conn:
        if not approved_devices(url):
            return None
        if not _has_approvals(conn):
            return "the server predates approvals: its migration lets its devices in"
        row = conn.execute(
            "SELECT approved_by FROM devices WHERE device = %s AND approved_at IS NOT NULL",
            (device,),
        ).fetchone()
    return None if row is None else str(row[0])


def _has_approvals(conn: psycopg.Connection[Any]) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'devices'"
            " AND column_name = 'approved_at'"
        ).fetchone()
        is not None
    )


def approved_devices(url: str) -> list[str]:
    """The server's approved devices (of an older schema: all it knows)."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('devices') IS NULL").fetchone() == (True,):
            return []  # a blank server: not yet migrated
        where = "WHERE approved_at IS NOT NULL" if _has_approvals(conn) else ""
        rows = conn.execute(f"SELECT device FROM devices {where}").fetchall()
    return [str(r[0]) for r in rows]


def approve_device(
    cli: CliRunner, approver: Path, device: str, url: str, pin: str | None = None
) -> Result:
    """A producer on the approved laptop `approver` lets `device` in with their PIN."""
    args = ["join", "approve-device", device, "--home", str(approver), "--central", url]
    result = invoke(cli, [*args, "--pin-stdin"], input=f"{pin or PRODUCER_PIN}\n")
    return result


def run_scene(cli: CliRunner, answers: Path, scene: str, day: str) -> None:
    """A complete firearm-scene run on the laptop in use."""
    ok(cli, ["run", "firearm-scene", "--scene", scene, "--day", day, "--answers", str(answers)])


def stop_work_synced(cli: CliRunner, ws: Path, url: str, scene: str, reason: str) -> None:
    """Someone on that laptop stops work on a scene (no PIN), and the laptop syncs."""
    ok(cli, ["hold", "--home", str(ws), "--scene", scene, "--reason", reason, "--by", "A Visitor"])
    sync(cli, ws, url)


def server_rows(url: str, device: str | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT device, seq, hash FROM events WHERE %s::text IS NULL OR device = %s"
            " ORDER BY device, seq",
            (device, device),
        ).fetchall()


def alarms(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT device, seq, what FROM alarms ORDER BY id").fetchall()


def local_rows(ws: Path) -> list[tuple[int, str]]:
    with Ledger.open(ws / "log.db", create=False) as ledger:
        return [(e.seq, e.hash) for e in ledger.events()]


def device_of(ws: Path) -> str:
    with Ledger.open(ws / "log.db", create=False) as ledger:
        assert ledger.device is not None
        return ledger.device


# --- push ------------------------------------------------------------------------------------


def test_a_laptop_pushes_its_whole_chain_and_a_second_sync_stores_nothing_twice(
    cli: CliRunner, central: str, laptop: Laptop
) -> None:
    a = laptop("a")
    first = sync(cli, a, central)
    mine = local_rows(a)
    device = device_of(a)
    assert f"Pushed {len(mine)} event(s) of device {device}" in first.stdout
    assert [(s, h) for _, s, h in server_rows(central)] == mine

    again = sync(cli, a, central)
    assert f"Pushed 0 event(s) of device {device}" in again.stdout
    assert [(s, h) for _, s, h in server_rows(central)] == mine
    assert alarms(central) == []


def test_a_sync_cut_halfway_and_started_again_lands_every_event_exactly_once(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = laptop("a")
    total = len(local_rows(a))
    assert total > 6
    monkeypatch.setattr(central_sync, "BATCH", 3)
    real_ingest = CentralStore.ingest
    calls = []

    def cut_after_first_batch(self: CentralStore, device: str, rows: Any) -> Any:
        calls.append(len(rows))
        if len(calls) == 2:  # the network drops: the server ends this laptop's connection
            with psycopg.connect(central, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (self.conn.info.backend_pid,))
        return real_ingest(self, device, rows)

    monkeypatch.setattr(CentralStore, "ingest", cut_after_first_batch)
    let_in(central, a)
    cut = invoke(cli, ["sync", "--home", str(a), "--central", central])
    line = one_line_error(cut)
    assert line.startswith(f"cannot reach the central server {central}")
    assert len(server_rows(central)) == 3  # the first batch, committed with its head

    monkeypatch.setattr(CentralStore, "ingest", real_ingest)
    again = sync(cli, a, central)
    assert f"Pushed {total - 3} event(s)" in again.stdout
    assert [(s, h) for _, s, h in server_rows(central)] == local_rows(a)
    assert alarms(central) == []


def test_an_unreachable_server_is_one_line_with_the_url_and_no_password(
    cli: CliRunner, laptop: Laptop, tmp_path: Path
) -> None:
    a = laptop("a")
    url = f"postgresql://unit:s3cret@/prod?host={tmp_path / 'nowhere'}"
    line = one_line_error(invoke(cli, ["sync", "--home", str(a), "--central", url]))
    assert line.startswith("cannot reach the central server postgresql://unit:***@/prod?host=")
    assert "s3cret" not in line


def test_the_server_comes_from_the_environment_or_the_config_and_none_is_one_line(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = laptop("a")
    nothing = one_line_error(invoke(cli, ["sync", "--home", str(a)]))
    assert nothing.startswith("no central server named: give --central URL")

    monkeypatch.setenv("SAFETYCLI_CENTRAL", central)
    let_in(central, a)
    assert "Synced with" in ok(cli, ["sync", "--home", str(a)]).stdout
    monkeypatch.delenv("SAFETYCLI_CENTRAL")
    config = a / "config.toml"
    config.write_text(config.read_text() + f"central = {json.dumps(central)}\n")
    assert "Pushed 0 event(s)" in ok(cli, ["sync", "--home", str(a)]).stdout


def test_redact_hides_passwords_in_both_spellings() -> None:
    assert redact("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://h/db?user=u&password=pw") == "postgresql://h/db?user=u&password=***"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


# --- what the server refuses -------------------------------------------------------------------


def _raw_edit(ws: Path, sql: str, params: tuple[Any, ...]) -> None:
    """What someone with the log file alone does: drop the append-only trigger, edit a row."""
    db = sqlite3.connect(ws / "log.db")
    db.execute("DROP TRIGGER events_no_update")
    db.execute(sql, params)
    db.commit()
    db.close()


def test_an_event_altered_after_it_was_pushed_is_refused_with_an_alarm_and_others_go_on(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = laptop("a"), laptop("b")
    sync(cli, a, central)
    sync(cli, b, central)  # let in from laptop A while A was sound
    sync(cli, a, central)  # with the producer's sign-in that approved B
    head_seq = local_rows(a)[-1][0]
    # The newest event, pushed already, now says something else (its hash and MAC left alone).
    _raw_edit(
        a, "UPDATE events SET at = ? WHERE seq = ?", ("2026-01-01T00:00:00.000000Z", head_seq)
    )
    before = server_rows(central)

    refused = sync(cli, a, central, expect=1)
    last = refused.stderr.splitlines()[-1]
    assert last.startswith(f"error: ALARM: the central server refused device {device_of(a)}")
    assert f"event {head_seq}" in last and "does not match its hash" in last
    assert "Traceback" not in refused.output
    assert server_rows(central) == before  # nothing of it merged
    assert alarms(central) == [(device_of(a), head_seq, "altered")]

    sync(cli, b, central)  # another laptop goes on
    assert len(server_rows(central, device_of(b))) == len(local_rows(b))
    sync(cli, a, central, expect=1)
    assert len(alarms(central)) == 1  # the same refusal met again is one alarm


def test_a_forked_chain_from_a_cloned_laptop_is_refused_as_equivocation(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = laptop("a"), laptop("b")
    sync(cli, a, central)
    clone = a.parent / "a-clone"  # a copy of the laptop's workspace, with the same device key
    shutil.copytree(a, clone)
    on(a, monkeypatch)
    ok(cli, ["hold", "--scene", "12A", "--reason", "smell of smoke", "--by", "A Visitor"])
    on(clone, monkeypatch)
    ok(cli, ["hold", "--scene", "14", "--reason", "cart unattended", "--by", "A Visitor"])
    sync(cli, a, central)
    pushed = server_rows(central)

    forked = sync(cli, clone, central, expect=1)
    assert "equivocation" in forked.stderr and "nothing of it was merged" in forked.stderr
    assert server_rows(central) == pushed
    ((device, seq, what),) = alarms(central)
    assert (device, seq, what) == (device_of(a), local_rows(a)[-1][0], "equivocation")
    sync(cli, b, central)
    assert len(server_rows(central, device_of(b))) == len(local_rows(b))


def test_a_laptop_put_back_from_an_older_copy_that_went_on_is_an_alarm_on_the_server(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A laptop's log restored from an older copy (its marks deleted too) that wrote on: the
    server holds more of its chain than the laptop, and a different event where they overlap.
    Not only this laptop's sync says so: the server records it, so the producer's `verify
    --central` and report see it, and the laptop's own stop-work stuck on it is looked for."""
    a = laptop("a")
    sync(cli, a, central)
    older = tmp_path / "a-older"
    shutil.copytree(a, older)
    on(a, monkeypatch)
    for scene in ("12A", "12B"):
        ok(cli, ["hold", "--scene", scene, "--reason", "smoke", "--by", "A Visitor"])
    sync(cli, a, central)
    shutil.rmtree(a)
    shutil.copytree(older, a)
    shutil.rmtree(tmp_path / "state")  # the marks outside the workspace, deleted as well
    ok(cli, ["hold", "--scene", "14", "--reason", "cart unattended", "--by", "A Visitor"])
    pushed = server_rows(central)

    refused = sync(cli, a, central, expect=1)
    assert "nothing of it was merged" in refused.stderr
    assert server_rows(central) == pushed
    ((device, seq, what),) = alarms(central)
    assert (device, seq, what) == (device_of(a), local_rows(a)[-1][0], "equivocation")
    assert invoke(cli, ["verify", "--central", central]).exit_code == 1


def _rows_of(ws: Path) -> list[tuple[Any, ...]]:
    """The laptop's events as sync sends them (MACs under the device's central key)."""
    with Ledger.open(ws / "log.db", create=False) as ledger:
        rows, unsealed = central_sync._for_the_server(ledger, next(ledger.stored_rows(0, 1000)))
    assert unsealed is None
    return rows


def test_the_store_refuses_a_forged_mac_a_gap_and_a_foreign_key_event(
    central: str, laptop: Laptop
) -> None:
    a = laptop("a")
    device = device_of(a)
    rows = _rows_of(a)
    with Ledger.open(a / "log.db", create=False) as ledger:
        key = ledger.key
        assert key is not None
    with CentralStore.connect(central) as store:
        store.migrate()
        assert store.register(device, key.central_key, key.key_id, "Night Unit") is None
        assert store.approve_first(device, PRODUCER_NAME) is None
        half = len(rows) // 2
        # A valid chain whose MAC was made without the key: refused at that event.
        forged = [*rows[:half], (*rows[half][:8], "0" * 32)]
        result = store.ingest(device, forged)
        assert result.stored == half and result.alarm is not None
        assert (result.alarm.seq, result.alarm.what) == (rows[half][0], "unsealed")
        gap = store.ingest(device, rows[half + 1 :])
        assert gap.stored == 0 and gap.alarm is not None and gap.alarm.what == "fork"
        rest = store.ingest(device, rows[half - 1 :])  # one overlap: held unchanged
        assert (rest.stored, rest.already, rest.alarm) == (len(rows) - half, 1, None)
        assert store.head(device) == (rows[-1][0], rows[-1][7])
        other = store.register(device, b"\x01" * 32, "not-the-key", None)
        assert other is not None and other.what == "key"


def _as_role(url: str, role: str) -> str:
    """The same server, as another login role (the laptops'; the cluster trusts its socket)."""
    with psycopg.connect(url, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
            admin.execute(f"CREATE ROLE {role} LOGIN")
        # The tests' fixture makes the schema anew, without the default schema's USAGE grant.
        admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    user = url.split("://", 1)[1].split("@", 1)[0]
    return url.replace(f"://{user}@", f"://{role}@", 1)


def test_a_server_of_the_first_schema_takes_the_checks_in_and_its_devices_go_on_syncing(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A server set up before the checks moved into it (schema 3, filled as the sync client
    then filled it): migrated, its devices keep their chains and push on, checked there."""
    a = laptop("a")
    answers = ["--answers", str(write_answers(tmp_path / "pass.yaml"))]
    ok(cli, ["run", "firearm-scene", "--home", str(a), "--scene", "8", *answers])
    with Ledger.open(a / "log.db", create=False) as ledger:
        key = ledger.key
        assert key is not None
    rows = _rows_of(a)
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 3)
    with psycopg.connect(central) as conn:
        schema.migrate(conn)
        keyed = next(r[0] for r in rows if r[2] == "device.keyed")
        conn.execute(
            "INSERT INTO devices (device, central_key, key_id, production, head_seq, head_hash,"
            " keyed_from) VALUES (%s, %s, %s, 'Night Unit', %s, %s, %s)",
            (device_of(a), key.central_key.hex(), key.key_id, rows[-1][0], rows[-1][7], keyed),
        )
        with conn.cursor().copy(
            "COPY events (device, seq, at, kind, run, person, data, prev_hash, hash, mac)"
            " FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row((device_of(a), *row))
    monkeypatch.undo()
    ok(cli, ["hold", "--home", str(a), "--scene", "12A", "--reason", "smoke", "--by", "X"])
    pushed = sync(cli, a, central)
    assert "Pushed 1 event(s)" in pushed.stdout
    assert [(s, h) for _, s, h in server_rows(central)] == local_rows(a)
    with psycopg.connect(central) as conn:
        (version,) = conn.execute("SELECT max(version) FROM safetycli_schema").fetchone()
        (approved,) = conn.execute("SELECT approved_by FROM devices").fetchone()
    assert version == schema.SCHEMA_VERSION and approved is not None
    assert alarms(central) == []
    # The signature table (filled by the migration from the events it found, then by each push)
    # is the laptop's own count.
    ok(cli, ["run", "firearm-scene", "--home", str(a), "--scene", "9", *answers])
    sync(cli, a, central)
    with Ledger.open(a / "log.db", create=False) as ledger:
        counted = sorted(ledger.signature_tally(1, ledger.head()[0]))
    with psycopg.connect(central) as conn:
        kept = conn.execute(
            "SELECT run, name, role, min(first_seq), sum(signatures)::int, sum(performed)::int"
            " FROM signatures GROUP BY run, name, role"
        ).fetchall()
    assert counted and sorted(kept) == counted


def test_the_laptops_role_syncs_through_the_servers_checks_and_cannot_write_around_them(
    cli: CliRunner, central: str, laptop: Laptop
) -> None:
    a, b = laptop("a"), laptop("b")
    sync(cli, a, central)  # the database's owner sets the tables up
    crew = _as_role(central, "crew_laptops")
    pushed = sync(cli, b, crew)
    assert f"Pushed {len(local_rows(b))} event(s)" in pushed.stdout
    assert [(s, h) for _, s, h in server_rows(central, device_of(b))] == local_rows(b)
    with psycopg.connect(crew, autocommit=True) as conn:
        for sql in (
            "INSERT INTO events (device, seq, at, kind, data, prev_hash, hash)"
            " VALUES ('x', 1, 'now', 'crew.added', '{}', 'p', 'h')",
            "UPDATE devices SET head_seq = 0",
            "DELETE FROM alarms",
            "SELECT central_key FROM devices",
            "INSERT INTO devices (device) VALUES ('x')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        # What it may do goes through the server's checks: a forged event is refused there.
        row = _rows_of(b)[-1]
        forged = [(*row[:5], row[5].replace("}", ',"x":1}', 1), *row[6:])]
        (what,) = conn.execute(
            "SELECT alarm_what FROM safetycli_ingest(%s, %s::jsonb)",
            (device_of(b), json.dumps(forged)),
        ).fetchone()
        assert what == "altered"
    # An older schema cannot be brought up to date by that role: one line says who can.
    with psycopg.connect(central, autocommit=True) as admin:
        admin.execute("DELETE FROM safetycli_schema WHERE version = %s", (schema.SCHEMA_VERSION,))
    line = one_line_error(invoke(cli, ["sync", "--home", str(b), "--central", crew]))
    assert "may not change them" in line and "owner" in line


_AWKWARD = [
    'quote " and back\\slash',
    "".join(chr(c) for c in range(1, 32)) + "\x7f",
    "line\u2028separator \u00e9t\u00e9 \u0915\u094d\u0937 \U0001f52b",
    "tab\tnew\nline\rcr\x08bs\x0cff",
    "",
]


def test_the_server_hashes_awkward_text_exactly_as_the_laptop_does(
    central: str, tmp_path: Path
) -> None:
    """Names and notes are anything the crew typed: the server's canonical text of an event
    (PostgreSQL's JSON escaping) must be the laptop's (Python's), or a real event would be
    refused as altered."""
    from safetycli import devicekey
    from safetycli.ledger import canonical_json, row_hash
    from safetycli.storage import GENESIS

    key = devicekey.DeviceKey("dev-awk", b"k" * 32, b"p" * 32, tmp_path / "k")
    rows, prev = [], GENESIS
    for seq, text in enumerate(_AWKWARD * 2, 1):
        data = canonical_json({"note": text, text or "empty": [text, 1.5, None, True]})
        run, person = (text, text) if seq % 2 else (None, None)
        digest = row_hash(
            seq, f"2026-11-23T10:00:{seq:02d}Z", "note." + text, run, person, data, prev
        )
        mac = devicekey.mac_of(key.central_key, "dev-awk", seq, digest)
        rows.append(
            (
                seq,
                f"2026-11-23T10:00:{seq:02d}Z",
                "note." + text,
                run,
                person,
                data,
                prev,
                digest,
                mac,
            )
        )
        prev = digest
    with CentralStore.connect(central) as store:
        store.migrate()
        assert store.register("dev-awk", key.central_key, key.key_id, "Night Unit") is None
        assert store.approve_first("dev-awk", PRODUCER_NAME) is None
        with store.conn.transaction():  # as if its key event had been taken in already
            store.conn.execute("UPDATE devices SET keyed_from = 1 WHERE device = 'dev-awk'")
        result = store.ingest("dev-awk", rows)
        assert (result.stored, result.alarm) == (len(rows), None)
        changed = [(*rows[-1][:3], rows[-1][3], "someone else", *rows[-1][5:])]
        refused = store.ingest("dev-awk", changed)
        assert refused.alarm is not None and refused.alarm.what == "altered"


def test_the_server_schema_is_migrated_from_nothing_once_and_a_newer_one_is_refused(
    central: str,
) -> None:
    with CentralStore.connect(central) as store:
        assert store.migrate() == 0
        assert store.migrate() == schema.SCHEMA_VERSION
        with store.conn.transaction():
            store.conn.execute(
                "INSERT INTO safetycli_schema (version, name) VALUES (%s, 'from the future')",
                (schema.SCHEMA_VERSION + 1,),
            )
        with pytest.raises(Exception, match="newer safetycli"):
            store.migrate()


# --- pull: what one laptop's crew does reaches the others ------------------------------------


def test_a_hold_raised_on_laptop_a_stops_scene_12a_on_laptop_b_and_clearing_it_there_reaches_a(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b = laptop("a"), laptop("b")
    answers = write_answers(tmp_path / "pass.yaml")
    run = ["run", "firearm-scene", "--scene", "12a", "--day", "2026-11-23"]
    stop_work_synced(cli, a, central, "12A", "smell of smoke")
    on(b, monkeypatch)
    assert invoke(cli, [*run, "--answers", str(answers)]).exit_code == 0  # not synced yet

    pulled = sync(cli, b, central)
    # Its stop-work, with its roster's events (its key event, changes and their approvals): A and B
    # were set up on their own, so B takes A's roster into account only for a joined laptop.
    assert "event(s) from 1 other device(s)" in pulled.stdout
    line = one_line_error(invoke(cli, [*run, "--answers", str(answers)]))
    assert line.startswith("scene 12A is held: stop-work called by A Visitor, no PIN")
    assert "smell of smoke" in line
    status = ok(cli, ["status", "--format", "json"]).stdout
    assert "smell of smoke" in status

    # B's armorer and 1st AD lift it on B; once both sync, A's scene is free too.
    with cheap_pins():
        ok(
            cli,
            ["clear", "--scene", "12A", "--note", "catering van", *CLEARERS, "--pin-stdin"],
            input=CLEAR_PINS,
        )
    assert invoke(cli, [*run, "--answers", str(answers)]).exit_code == 0
    sync(cli, b, central)
    sync(cli, a, central)
    on(a, monkeypatch)
    before = len(log_list(cli))
    assert invoke(cli, [*run, "--answers", str(answers)]).exit_code == 0
    assert len(log_list(cli)) == before + 1


def test_a_run_held_on_laptop_a_holds_its_scene_on_laptop_b_until_it_is_cleared_on_a(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The HOLD a failed check raises (not only a stop-work called on the scene) stops the
    scene on every laptop once synced: a second laptop must not be a way round it."""
    a, b = laptop("a"), laptop("b")
    held = write_answers(tmp_path / "held.yaml", answers={"meeting-held": False})
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    passing = write_answers(tmp_path / "pass.yaml")
    rehearsal = write_answers(tmp_path / "rehearsal.yaml", "rehearsal")
    run = ["run", "firearm-scene", "--scene", "12A", "--day", "2026-11-23"]
    on(b, monkeypatch)
    assert invoke(cli, [*run, "--answers", str(partial)]).exit_code == 4  # B's own, left open
    (open_on_b,) = [r["id"] for r in log_list(cli)]
    on(a, monkeypatch)
    assert invoke(cli, [*run, "--answers", str(held)]).exit_code == 3
    (held_on_a,) = [r["id"] for r in log_list(cli)]
    sync(cli, a, central)
    sync(cli, b, central)

    on(b, monkeypatch)
    for args in (
        [
            "run",
            "rehearsal",
            "--scene",
            "Sc 12a",
            "--set",
            "real_firearm=yes",
            "--answers",
            str(rehearsal),
        ],
        ["resume", open_on_b, "--answers", str(passing)],
    ):
        line = one_line_error(invoke(cli, args))
        assert line.startswith(f"scene 12A is held: run {held_on_a} is on hold"), line
        assert device_of(a) in line  # where it can be cleared
    board = json.loads(ok(cli, ["status", "--format", "json"]).stdout)
    (elsewhere,) = board["held_on_other_laptops"]
    assert (elsewhere["run"], elsewhere["device"]) == (held_on_a, device_of(a))
    assert "Safety meeting" in ok(cli, ["status"]).stdout  # the hold's reason, on B's board

    # Cleared on A, where the run is; once both laptops synced, B's scene goes on.
    on(a, monkeypatch)
    with cheap_pins():
        ok(
            cli,
            ["clear", held_on_a, "--note", "met again", *CLEARERS, "--pin-stdin"],
            input=CLEAR_PINS,
        )
    sync(cli, a, central)
    sync(cli, b, central)
    on(b, monkeypatch)
    assert json.loads(ok(cli, ["status", "--format", "json"]).stdout)["held_on_other_laptops"] == []
    assert invoke(cli, ["resume", open_on_b, "--answers", str(passing)]).exit_code == 0


def test_pulled_events_never_enter_the_laptops_own_chain_and_verify_still_holds(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = laptop("a"), laptop("b")
    stop_work_synced(cli, a, central, "9", "smoke")
    mine = local_rows(b)
    sync(cli, b, central)
    assert local_rows(b) == mine
    assert (b / "foreign.db").is_file()
    on(b, monkeypatch)
    assert ok(cli, ["verify"]).exit_code == 0
    with sqlite3.connect(b / "foreign.db") as db:
        pulled = db.execute("SELECT count(*) FROM foreign_events").fetchone()
    sync(cli, b, central)  # pulled once: nothing new the second time
    with sqlite3.connect(b / "foreign.db") as db:
        assert db.execute("SELECT count(*) FROM foreign_events").fetchone() == pulled
        held = "SELECT count(*) FROM foreign_events WHERE kind = 'scene.held'"
        assert db.execute(held).fetchone() == (1,)


def test_a_pulled_event_changed_on_the_laptop_is_refused_where_it_is_read(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b = laptop("a"), laptop("b")
    stop_work_synced(cli, a, central, "12A", "smoke")
    sync(cli, b, central)
    db = sqlite3.connect(b / "foreign.db")
    db.execute("DROP TRIGGER foreign_no_update")
    db.execute("UPDATE foreign_events SET data = replace(data, '12A', '99')")
    db.commit()
    db.close()
    on(b, monkeypatch)
    answers = write_answers(tmp_path / "pass.yaml")
    line = one_line_error(
        invoke(cli, ["run", "firearm-scene", "--scene", "99", "--answers", str(answers)])
    )
    assert "was changed after it was pulled" in line


def test_a_pulled_stop_work_deleted_from_foreign_db_is_refused_not_forgotten(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Someone with laptop B's workspace deletes the stop-work B pulled from A (its triggers
    dropped): B must not run the scene as if A had never stopped it."""
    a, b = laptop("a"), laptop("b")
    stop_work_synced(cli, a, central, "12A", "smoke")
    sync(cli, b, central)
    db = sqlite3.connect(b / "foreign.db")
    db.execute("DROP TRIGGER foreign_no_delete")
    assert db.execute("DELETE FROM foreign_events WHERE kind = 'scene.held'").rowcount == 1
    db.commit()
    db.close()
    on(b, monkeypatch)
    answers = write_answers(tmp_path / "pass.yaml")
    line = one_line_error(
        invoke(cli, ["run", "firearm-scene", "--scene", "12A", "--answers", str(answers)])
    )
    assert "foreign.db" in line and "deleted, changed or added" in line
    assert invoke(cli, ["status"]).exit_code == 2


def test_a_held_runs_start_moved_to_another_scene_in_foreign_db_is_refused(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The start of A's held run, pulled to B, rewritten (hash made again) to name another
    scene: B must not take 12A as free."""
    from safetycli.ledger import row_hash

    a, b = laptop("a"), laptop("b")
    on(a, monkeypatch)
    held = write_answers(tmp_path / "held.yaml", answers={"meeting-held": False})
    run = ["run", "firearm-scene", "--scene", "12A", "--day", "2026-11-23"]
    assert invoke(cli, [*run, "--answers", str(held)]).exit_code == 3
    sync(cli, a, central)
    sync(cli, b, central)
    db = sqlite3.connect(b / "foreign.db")
    db.execute("DROP TRIGGER foreign_no_update")
    row = db.execute(
        "SELECT device, seq, at, kind, run, person, data, prev_hash FROM foreign_events"
        " WHERE kind = 'run.started'"
    ).fetchone()
    data = row[6].replace('"scene":"12A"', '"scene":"99"')
    assert data != row[6]
    digest = row_hash(row[1], row[2], row[3], row[4], row[5], data, row[7])
    db.execute(
        "UPDATE foreign_events SET data = ?, hash = ? WHERE device = ? AND seq = ?",
        (data, digest, row[0], row[1]),
    )
    db.commit()
    db.close()
    on(b, monkeypatch)
    passing = write_answers(tmp_path / "pass.yaml")
    line = one_line_error(invoke(cli, [*run, "--answers", str(passing)]))
    assert "foreign.db" in line and "nothing was done" in line


def test_sync_has_help_and_is_in_the_command_list(cli: CliRunner) -> None:
    result = ok(cli, ["sync", "--help"])
    assert "--central" in result.stdout
    assert "sync" in ok(cli, ["--help"]).stdout


# --- review across the production ------------------------------------------------------------


def _central_list(cli: CliRunner, url: str, *extra: str) -> list[dict[str, Any]]:
    result = ok(cli, ["log", "list", "--central", url, "--format", "json", *extra])
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_runs_on_two_laptops_appear_in_one_central_list_with_their_device(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b, office = laptop("a"), laptop("b"), laptop("office")
    answers = write_answers(tmp_path / "pass.yaml")
    ran: dict[str, str] = {}
    for ws, scene in ((a, "12A"), (b, "40")):
        on(ws, monkeypatch)
        run_scene(cli, answers, scene, "2026-11-23")
        run_scene(cli, answers, scene, "2026-11-24")
        ((run,),) = [[r["id"] for r in log_list(cli) if r["day"] == "2026-11-23"]]
        ran[run] = device_of(ws)
        sync(cli, ws, central)
    sync(cli, office, central)

    day = _central_list(cli, central, "--day", "2026-11-23")
    assert {(r["id"], r["device"], r["status"]) for r in day} == {
        (run, device, "complete") for run, device in ran.items()
    }
    assert {r["scene"] for r in day} == {"12A", "40"}
    assert len(_central_list(cli, central)) == 4
    assert [r["scene"] for r in _central_list(cli, central, "--scene", "12a")] == ["12A", "12A"]
    table = ok(cli, ["log", "list", "--central", central, "--day", "2026-11-23"]).stdout
    assert all(device in table for device in ran.values())


def test_the_same_run_id_made_on_two_laptops_is_two_runs_centrally_and_show_asks_which(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from safetycli import session

    a, b = laptop("a"), laptop("b")
    monkeypatch.setattr(session.secrets, "token_hex", lambda n: "c0ffee")
    answers = write_answers(tmp_path / "pass.yaml")
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    for ws, file, scene, code in ((a, answers, "7", 0), (b, partial, "8", 4)):
        on(ws, monkeypatch)
        result = invoke(cli, ["run", "firearm-scene", "--scene", scene, "--answers", str(file)])
        assert result.exit_code == code, result.output
        sync(cli, ws, central)
    on_a, on_b = f"r-c0ffee@{device_of(a)}", f"r-c0ffee@{device_of(b)}"
    runs = {r["id"]: r for r in _central_list(cli, central)}
    assert runs.keys() == {on_a, on_b}
    assert (runs[on_a]["status"], runs[on_b]["status"]) == ("complete", "open")

    line = one_line_error(invoke(cli, ["log", "show", "r-c0ffee", "--central", central]))
    assert line == "run r-c0ffee was made on 2 laptops: say which, " + " or ".join(
        sorted([on_a, on_b])
    )
    # An id no laptop made: the listing to look in is the central one.
    line = one_line_error(invoke(cli, ["log", "show", "r-000000", "--central", central]))
    assert "r-000000" in line and "log list --central" in line
    shown = ok(cli, ["log", "show", on_b, "--central", central, "--format", "json"])
    assert json.loads(shown.stdout)["scene"] == "8"


def test_log_list_central_unreachable_is_one_line(cli: CliRunner, tmp_path: Path) -> None:
    url = f"postgresql://office:pw@/prod?host={tmp_path / 'nowhere'}"
    line = one_line_error(invoke(cli, ["log", "list", "--central", url]))
    assert line.startswith("cannot reach the central server postgresql://office:***@/prod")


def test_verify_central_checks_every_device_chain_and_reports_alarms(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = laptop("a"), laptop("b")
    sync(cli, a, central)
    sync(cli, b, central)
    sync(cli, a, central)  # with the producer's sign-in that let B in
    intact = ok(cli, ["verify", "--central", central, "--format", "json"])
    report = json.loads(intact.stdout)
    assert report["ok"] is True and report["alarms"] == []
    assert {(d["device"], d["events"], d["ok"]) for d in report["devices"]} == {
        (device_of(ws), len(local_rows(ws)), True) for ws in (a, b)
    }
    assert (
        "The central store is intact: 2 device(s)"
        in ok(cli, ["verify", "--central", central]).stdout
    )

    # Someone with the server's superuser edits a stored event of laptop B.
    with psycopg.connect(central, autocommit=True) as admin:
        admin.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        admin.execute(
            "UPDATE events SET person = 'Nobody' WHERE device = %s AND seq = 3", (device_of(b),)
        )
    altered = invoke(cli, ["verify", "--central", central])
    assert altered.exit_code == 1, altered.output
    assert f"device {device_of(b)}:" in altered.stdout
    assert (
        "ALTERED at event 3: event 3: its content does not match its hash (altered)"
        in altered.stdout
    )
    assert f"device {device_of(a)}: {len(local_rows(a))} events" in altered.stdout

    # ...and the MAC of laptop A's newest event (its hash and link whole): the server checks it
    # under A's central key, which the laptops' role cannot read, and says so to that role.
    last = len(local_rows(a))
    with psycopg.connect(central, autocommit=True) as admin:
        admin.execute(
            "UPDATE events SET mac = %s WHERE device = %s AND seq = %s",
            ("0" * 32, device_of(a), last),
        )
    forged = invoke(cli, ["verify", "--central", _as_role(central, "crew_laptops")])
    assert forged.exit_code == 1, forged.output
    assert f"event {last}: its device MAC is not this device's (forged)" in forged.stdout


def test_verify_central_names_a_run_whose_signature_count_on_the_server_was_changed(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The signature table the central report counts from is derived from the events: verify
    re-derives it, and a row edited on the server (the chain untouched) is named."""
    a = laptop("a")
    on(a, monkeypatch)
    run_scene(cli, write_answers(tmp_path / "pass.yaml"), "12A", "2026-11-23")
    (run,) = [r["id"] for r in log_list(cli)]
    sync(cli, a, central)
    ok(cli, ["verify", "--central", central])
    with psycopg.connect(central, autocommit=True) as admin:
        admin.execute("UPDATE signatures SET signatures = signatures + 1 WHERE run = %s", (run,))
    changed = invoke(cli, ["verify", "--central", central, "--format", "json"])
    assert changed.exit_code == 1, changed.output
    (device,) = json.loads(changed.stdout)["devices"]
    assert device["signature_table_differs"] == [run] and device["first_bad_seq"] is None
    text = invoke(cli, ["verify", "--central", central]).stdout
    assert f"signature table differs from its events for run(s) {run}" in text


def test_verify_central_fails_while_an_alarm_stands(
    cli: CliRunner, central: str, laptop: Laptop
) -> None:
    a = laptop("a")
    sync(cli, a, central)
    clone = a.parent / "a-clone"
    shutil.copytree(a, clone)
    ok(cli, ["hold", "--home", str(a), "--scene", "1", "--reason", "r", "--by", "X"])
    ok(cli, ["hold", "--home", str(clone), "--scene", "2", "--reason", "r", "--by", "X"])
    sync(cli, a, central)
    sync(cli, clone, central, expect=1)
    result = invoke(cli, ["verify", "--central", central, "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert all(d["ok"] for d in report["devices"])
    assert [(x["device"], x["what"]) for x in report["alarms"]] == [(device_of(a), "equivocation")]


def test_the_central_day_report_and_log_show_cover_every_unit(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b = laptop("a"), laptop("b")
    answers = write_answers(tmp_path / "pass.yaml")
    runs = {}
    for ws, scene in ((a, "12A"), (b, "40")):
        on(ws, monkeypatch)
        run_scene(cli, answers, scene, "2026-11-23")
        (runs[scene],) = [r["id"] for r in log_list(cli)]
        sync(cli, ws, central)
    monkeypatch.delenv("SAFETYCLI_HOME")  # the production office: no laptop workspace at all
    report = json.loads(
        ok(cli, ["report", "--central", central, "--day", "2026-11-23", "--format", "json"]).stdout
    )
    assert report["production"] == "Night Unit"
    assert sorted(r["scene"] for r in report["runs"]) == ["12A", "40"]
    markdown = ok(cli, ["report", "--central", central, "--day", "2026-11-23"]).stdout
    assert runs["12A"] in markdown and runs["40"] in markdown

    shown = json.loads(
        ok(cli, ["log", "show", runs["40"], "--central", central, "--format", "json"]).stdout
    )
    assert (shown["scene"], shown["status"], shown["device"]) == ("40", "complete", device_of(b))
    on(b, monkeypatch)
    assert (
        shown["signoffs"]
        == json.loads(ok(cli, ["log", "show", runs["40"], "--format", "json"]).stdout)["signoffs"]
    )


def _day_report(cli: CliRunner, *where: str) -> dict[str, Any]:
    args = ["report", "--day", "2026-11-23", "--format", "json", *where]
    return dict(json.loads(ok(cli, args).stdout))


def test_the_central_day_report_says_of_each_run_what_its_own_laptops_report_says(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Held, open, refused and complete runs on two laptops, one run id made on both: the
    central report is each laptop's own report, unit by unit, with the collided id named by
    its device, and no run is replayed to make it (each device's runs are summarised over
    that device's chain, as a laptop's report summarises its own)."""
    from safetycli import review, session

    monkeypatch.setattr(central_sync, "BATCH", 7)  # a run's signatures over several batches
    a, b = laptop("a"), laptop("b")
    day = ["--day", "2026-11-23"]
    passing = write_answers(tmp_path / "pass.yaml")
    failing = write_answers(tmp_path / "fail.yaml", answers={"meeting-held": False})
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    for ws, plan in (
        (a, [("12A", passing, 0), ("14", failing, 3), ("15", passing, 0)]),
        (b, [("40", partial, 4), ("41", passing, 0)]),
    ):
        on(ws, monkeypatch)
        for scene, answers, code in plan:
            made = (lambda n: "c0ffee") if scene in ("15", "41") else _real_token_hex
            monkeypatch.setattr(session.secrets, "token_hex", made)  # 15 and 41: one run id
            args = ["run", "firearm-scene", "--scene", scene, *day, "--answers", str(answers)]
            assert invoke(cli, args).exit_code == code
        sync(cli, ws, central)
    own = {ws: _day_report(cli, "--home", str(ws)) for ws in (a, b)}
    monkeypatch.delenv("SAFETYCLI_HOME")
    replays = []
    real_detail = review.run_detail
    monkeypatch.setattr(
        review, "run_detail", lambda *a, **k: replays.append(a[1]) or real_detail(*a, **k)
    )
    merged = _day_report(cli, "--central", central)
    assert replays == []

    def named(ws: Path, run: str) -> str:
        return f"{run}@{device_of(ws)}" if run == "r-c0ffee" else run

    expected = [{**r, "id": named(ws, r["id"])} for ws in (a, b) for r in own[ws]["runs"]]
    assert sorted(merged["runs"], key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
    for bucket in ("holds", "refused", "unfinished", "failed_pins"):
        mine = [
            {**e, "run": named(ws, e["run"])}
            for ws in (a, b)
            for e in own[ws]["exceptions"][bucket]
        ]
        assert sorted(map(json.dumps, merged["exceptions"][bucket])) == sorted(
            map(json.dumps, mine)
        ), bucket
    assert merged["counts"]["held"] == 1 and merged["counts"]["open"] == 1
    assert {r["id"] for r in merged["runs"]} >= {
        f"r-c0ffee@{device_of(a)}",
        f"r-c0ffee@{device_of(b)}",
    }


def test_status_central_shows_a_stop_work_raised_on_any_laptop_and_every_units_open_runs(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b = laptop("a"), laptop("b")
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    on(a, monkeypatch)
    ok(cli, ["hold", "--scene", "12A", "--reason", "smell of smoke", "--by", "A Visitor"])
    on(b, monkeypatch)
    assert (
        invoke(cli, ["run", "firearm-scene", "--scene", "40", "--answers", str(partial)]).exit_code
        == 4
    )
    sync(cli, a, central)
    sync(cli, b, central)
    monkeypatch.delenv("SAFETYCLI_HOME")
    now = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    assert [(h["scene"], h["device"]) for h in now["scene_holds"]] == [("12A", device_of(a))]
    assert [r["scene"] for r in now["runs"]] == ["40"]
    text = ok(cli, ["status", "--central", central]).stdout
    assert "smell of smoke" in text and "40" in text
    watch = one_line_error(invoke(cli, ["status", "--central", central, "--watch"]))
    assert watch.startswith("--watch is this laptop's set board")


def test_a_laptop_open_before_its_first_sync_sees_the_stop_work_that_sync_pulls(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetycli import production

    a, b = laptop("a"), laptop("b")
    stop_work_synced(cli, a, central, "12A", "smell of smoke")
    with Ledger.open(b / "log.db", create=False) as walking:  # a walk-through going on at B
        assert production.load(walking).open_scene_holds("12a") == []
        sync(cli, b, central)  # another shell on B syncs meanwhile
        (hold,) = production.load(walking).open_scene_holds("12a")
        assert (hold.device, hold.reason) == (device_of(a), "smell of smoke")
        stops = production.scene_stops(walking, "12A")
        assert [s.cause for s in stops] == [f"scene-hold:{device_of(a)}:{hold.seq}"]


def test_the_server_never_holds_what_makes_the_laptops_own_macs_and_an_unsealed_event_stays_home(
    cli: CliRunner, central: str, laptop: Laptop
) -> None:
    a = laptop("a")
    with Ledger.open(a / "log.db", create=False) as ledger:
        key, keyed_at = ledger.key, ledger.keyed_at
        assert key is not None and keyed_at is not None
        local = {seq: mac for batch in ledger.stored_rows(0, 1000) for seq, *_, mac in batch}
    sync(cli, a, central)
    with psycopg.connect(central) as conn:
        (registered,) = conn.execute("SELECT central_key FROM devices").fetchone()
        stored = dict(conn.execute("SELECT seq, mac FROM events").fetchall())
    assert registered == key.central_key.hex() and key.mac_key.hex() not in registered
    keyed = [seq for seq in local if seq >= keyed_at]
    assert keyed and all(stored[seq] != local[seq] for seq in keyed)

    # Someone with log.db alone adds an event: its MAC is not the device's. The laptop's own
    # check refuses to vouch for it: nothing from it on leaves the laptop.
    ok(cli, ["hold", "--home", str(a), "--scene", "3", "--reason", "r", "--by", "X"])
    ok(cli, ["hold", "--home", str(a), "--scene", "4", "--reason", "r", "--by", "X"])
    head = local_rows(a)[-1][0]
    _raw_edit(a, "UPDATE events SET mac = ? WHERE seq = ?", ("0" * 32, head - 1))
    refused = sync(cli, a, central, expect=1)
    assert f"event {head - 1}: this laptop's own event has no valid device MAC" in refused.stderr
    assert max(seq for _, seq, _ in server_rows(central)) == head - 2


def test_a_server_that_hands_out_a_shorter_or_changed_chain_of_a_device_is_refused(
    tmp_path: Path,
) -> None:
    from safetycli.central.foreign import ForeignLog
    from safetycli.ledger import row_hash
    from safetycli.storage import GENESIS

    def held(seq: int, prev: str, scene: str) -> tuple[Any, ...]:
        data = json.dumps({"scene": scene}, separators=(",", ":"))
        at = "2026-11-23T10:00:00.000000Z"
        digest = row_hash(seq, at, "scene.held", None, "X", data, prev)
        return (seq, at, "scene.held", None, "X", data, prev, digest, None)

    first = held(4, GENESIS, "12A")
    log = ForeignLog.open(tmp_path / "foreign.db")
    assert log.add("dev-a", 9, "h9", [first]) == (1, None)
    assert log.add("dev-a", 9, "h9", [first]) == (0, None)  # the same again: nothing new

    count, why = log.add("dev-a", 7, "h7", [])
    assert count == 0 and why is not None and "went back" in why
    count, why = log.add("dev-a", 9, "other", [])
    assert count == 0 and why is not None and "went back" in why
    changed = held(4, GENESIS, "14")
    count, why = log.add("dev-a", 12, "h12", [changed])
    assert (count, why) == (0, "the server changed event 4 of device dev-a")
    forged = (*first[:5], first[5].replace("12A", "13"), *first[6:])
    count, why = log.add("dev-a", 12, "h12", [forged])
    assert (count, why) == (0, "event 4 of device dev-a does not match its hash")
    assert [e.data["scene"] for e in log.events(["scene.held"])] == ["12A"]
    assert log.heads() == {"dev-a": (9, "h9")}
    log.close()


def test_without_postgresql_the_server_fixture_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests import pgserver

    monkeypatch.setattr(pgserver.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pgserver.shutil, "which", lambda name: None)
    with pytest.raises(pgserver.NoServer, match="apt-get install postgresql"):
        pgserver.bin_dir()
    monkeypatch.setenv(pgserver.REQUIRE, "1")
    assert pgserver.required()  # under `make test` the fixture then fails, never skips


def test_a_connection_cut_inside_a_batch_keeps_nothing_of_it_and_the_retry_lands_it_once(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    a = laptop("a")
    total = len(local_rows(a))
    monkeypatch.setattr(central_sync, "BATCH", 4)
    real_ingest = CentralStore.ingest
    calls = []

    def cut_inside(store: CentralStore, device: str, rows: Any) -> Any:
        """The second batch: the server is inside its transaction (waiting for the device's row,
        which another session holds) when the connection is cut."""
        calls.append(device)
        if len(calls) != 2:
            return real_ingest(store, device, rows)
        me = store.conn.info.backend_pid
        holder = psycopg.connect(central)
        holder.execute("SELECT 1 FROM devices WHERE device = %s FOR UPDATE", (device,))

        def cut() -> None:
            with psycopg.connect(central, autocommit=True) as admin:
                for _ in range(500):
                    waiting = admin.execute(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (me,)
                    ).fetchone()
                    if waiting and waiting[0] == "Lock":
                        break
                    threading.Event().wait(0.01)
                admin.execute("SELECT pg_terminate_backend(%s)", (me,))
            holder.rollback()
            holder.close()

        cutter = threading.Thread(target=cut)
        cutter.start()
        try:
            return real_ingest(store, device, rows)
        finally:
            cutter.join()

    monkeypatch.setattr(CentralStore, "ingest", cut_inside)
    let_in(central, a)
    line = one_line_error(invoke(cli, ["sync", "--home", str(a), "--central", central]))
    assert line.startswith("cannot reach the central server")
    assert [seq for _, seq, _ in server_rows(central)] == [1, 2, 3, 4]  # the first batch only

    monkeypatch.setattr(CentralStore, "ingest", real_ingest)
    sync(cli, a, central)
    assert [(s, h) for _, s, h in server_rows(central)] == local_rows(a)
    assert len(server_rows(central)) == total


def test_a_server_set_up_by_a_newer_safetycli_is_refused_in_one_line(
    cli: CliRunner, central: str, laptop: Laptop
) -> None:
    a = laptop("a")
    sync(cli, a, central)
    with psycopg.connect(central, autocommit=True) as admin:
        admin.execute("INSERT INTO safetycli_schema (version, name) VALUES (99, 'future')")
    line = one_line_error(invoke(cli, ["sync", "--home", str(a), "--central", central]))
    assert line.startswith("the central server was set up by a newer safetycli (schema 99")
    listed = one_line_error(invoke(cli, ["log", "list", "--central", central]))
    assert listed == line


# --- joining a production, one roster across laptops (issue 15, items 5 and 1/3) --------------


NEWCOMER = ("Mo Newcomer", "6408")


def join_code(result: Result) -> str:
    line = next(x for x in result.output.splitlines() if x.startswith("Join code: "))
    return line.removeprefix("Join code: ").strip()


def ask_to_join(cli: CliRunner, ws: Path, url: str) -> str:
    """The new laptop's first `init --from-central`: the join code it shows."""
    return join_code(ok(cli, ["init", "--home", str(ws), "--from-central", url]))


def approve(cli: CliRunner, code: str, ws: Path, url: str, pin: str | None = None) -> Result:
    """A producer approves the code on laptop `ws` with their PIN."""
    args = ["join", "approve", code, "--home", str(ws), "--central", url, "--pin-stdin"]
    return invoke(cli, args, input=f"{pin or PRODUCER_PIN}\n")


def joined(cli: CliRunner, ws: Path, url: str, approver_ws: Path) -> Path:
    """A new laptop joins with `init --from-central`, approved by the producer's PIN on
    `approver_ws`."""
    code = ask_to_join(cli, ws, url)
    assert approve(cli, code, approver_ws, url).exit_code == 0
    done = ok(cli, ["init", "--home", str(ws), "--from-central", url])
    assert "Joined Night Unit" in done.output
    return ws


PRODUCER_NAME, PRODUCER_PIN = "Pat Producer", "9182"


def add_newcomer(cli: CliRunner, ws: Path) -> None:
    ok(
        cli,
        ["crew", "add", NEWCOMER[0], "--role", "actor", "--home", str(ws), "--pin-stdin"],
        input=f"{NEWCOMER[1]}\n{PRODUCER_PIN}\n",
    )


def own_pin_change(cli: CliRunner, ws: Path, new: str, old: str) -> Result:
    """The newcomer proves their PIN on that laptop (a sign-in: `auth.ok`) to change it."""
    return invoke(
        cli,
        ["crew", "set-pin", NEWCOMER[0], "--home", str(ws), "--pin-stdin"],
        input=f"{new}\n{old}\n",
    )


def newcomer_on_two_laptops(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> tuple[Path, Path]:
    """Laptop A, laptop B joined from it, and the newcomer added on A; both synced."""
    a = laptop("a")
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)
    add_newcomer(cli, a)
    sync(cli, a, central)
    sync(cli, b, central)
    return a, b


def test_a_crew_member_added_on_one_laptop_signs_on_a_joined_one(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> None:
    a, b = newcomer_on_two_laptops(cli, laptop, central, tmp_path)
    # The joined laptop has the production's roster, and its own device key.
    listed = ok(cli, ["crew", "list", "--home", str(b), "--format", "json"]).output
    assert PRODUCER_NAME in listed and NEWCOMER[0] in listed
    changed = own_pin_change(cli, b, "2468", NEWCOMER[1])
    assert changed.exit_code == 0, changed.output
    # ...and back: the PIN set on B is the one A checks after both sync; both logs verify.
    sync(cli, b, central)
    sync(cli, a, central)
    wrong = own_pin_change(cli, a, "1357", NEWCOMER[1])
    assert "wrong PIN" in one_line_error(wrong)
    assert own_pin_change(cli, a, "1357", "2468").exit_code == 0
    for ws in (a, b):
        ok(cli, ["verify", "--home", str(ws)])
    keys = {
        json.loads((ws / "config.toml").read_text().split("device = ")[1].split()[0])
        for ws in (a, b)
    }
    assert len(keys) == 2  # each laptop its own device key


def asking_to_join(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> tuple[Path, Path, str]:
    """Laptop A, synced, and a new laptop C that asked to join: its code."""
    a = laptop("a")
    sync(cli, a, central)
    c = tmp_path / "c"
    return a, c, ask_to_join(cli, c, central)


def test_a_laptop_joins_and_syncs_through_the_laptops_role(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> None:
    """Joining writes join requests and PIN hashes, never events: the laptops' role may."""
    a = laptop("a")
    sync(cli, a, central)  # the owner sets the tables up
    crew = _as_role(central, "crew_laptops")
    b = joined(cli, tmp_path / "b", crew, a)
    add_newcomer(cli, a)
    sync(cli, a, crew)
    sync(cli, b, crew)
    listed = ok(cli, ["crew", "list", "--home", str(b), "--format", "json"]).output
    assert NEWCOMER[0] in listed


def test_a_join_is_refused_with_a_wrong_pin_or_a_wrong_code(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> None:
    a, c, code = asking_to_join(cli, laptop, central, tmp_path)
    assert "wrong PIN" in one_line_error(approve(cli, code, a, central, "0000"))
    wrong_code = approve(cli, "ABCD-EFGH-JKMN-PQRS", a, central)
    assert "no laptop asked to join" in one_line_error(wrong_code)
    assert "not a join code" in one_line_error(approve(cli, "hello", a, central))
    waiting = invoke(cli, ["init", "--home", str(c), "--from-central", central])
    assert "not approved yet" in one_line_error(waiting)
    assert not (c / "config.toml").exists()
    # The server never holds the production secret readable: only the code's id and a wrap.
    with psycopg.connect(central) as conn:
        rows = conn.execute("SELECT request, wrapped FROM joins").fetchall()
    assert rows and all(code.replace("-", "") not in str(r) for r in rows)


def test_an_approval_altered_on_the_server_is_refused(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> None:
    a, c, code = asking_to_join(cli, laptop, central, tmp_path)
    assert approve(cli, code, a, central).exit_code == 0
    assert "already approved" in one_line_error(approve(cli, code, a, central))
    with psycopg.connect(central) as conn:
        wrapped = json.loads(conn.execute("SELECT wrapped FROM joins").fetchone()[0])
        wrapped["sealed"] = "00" * 32
        conn.execute("UPDATE joins SET wrapped = %s", (json.dumps(wrapped),))
    refused = invoke(cli, ["init", "--home", str(c), "--from-central", central])
    assert "does not open with this laptop's join code" in one_line_error(refused)
    assert not (c / "config.toml").exists()


def test_a_person_removed_on_one_laptop_who_signs_on_another_is_an_exception(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> None:
    a, b = newcomer_on_two_laptops(cli, laptop, central, tmp_path)
    # Offline: A removes the newcomer; B, not yet told, lets them sign.
    ok(
        cli,
        ["crew", "remove", NEWCOMER[0], "--home", str(a), "--pin-stdin"],
        input=f"{PRODUCER_PIN}\n",
    )
    assert own_pin_change(cli, b, "2468", NEWCOMER[1]).exit_code == 0
    sync(cli, a, central)
    on_b = sync(cli, b, central)
    assert f"EXCEPTION: {NEWCOMER[0]} was removed on device" in on_b.output
    on_a = sync(cli, a, central)
    assert f"EXCEPTION: {NEWCOMER[0]} was removed on device" in on_a.output
    office = ok(cli, ["status", "--central", central, "--format", "json"]).stdout
    (shown,) = json.loads(office)["exceptions"]
    assert shown.startswith(f"{NEWCOMER[0]} was removed on device")
    assert "EXCEPTION: " in ok(cli, ["status", "--central", central]).stdout
    day = json.loads(ok(cli, ["report", "--central", central, "--format", "json"]).stdout)
    assert day["exceptions"]["between_laptops"] == [shown]
    # The removal holds everywhere from now on; both logs still verify.
    gone = own_pin_change(cli, b, "1357", "2468")
    assert "on the roster" in one_line_error(gone)
    for ws in (a, b):
        ok(cli, ["verify", "--home", str(ws)])


def test_a_laptop_set_up_on_its_own_keeps_its_roster_to_itself(
    cli: CliRunner, laptop: Laptop, central: str
) -> None:
    a, b = laptop("a"), laptop("b")  # two `init`s: two production secrets
    add_newcomer(cli, a)
    sync(cli, a, central)
    sync(cli, b, central)
    listed = ok(cli, ["crew", "list", "--home", str(b), "--format", "json"]).output
    assert NEWCOMER[0] not in listed
    refused = own_pin_change(cli, b, "2468", NEWCOMER[1])
    assert "nobody called Mo Newcomer" in one_line_error(refused)
    ok(cli, ["verify", "--home", str(b)])
    # B never even took A's roster, its sign-ins or its PIN hashes (another production's); a
    # stop-work raised on A still reaches B.
    stop_work_synced(cli, a, central, "12A", "smell of smoke")
    sync(cli, b, central)
    pulled = sqlite3.connect(b / "foreign.db")
    kinds = {k for (k,) in pulled.execute("SELECT DISTINCT kind FROM foreign_events")}
    assert kinds == {"scene.held"}
    assert pulled.execute("SELECT count(*) FROM foreign_credentials").fetchone() == (0,)
    pulled.close()


def test_a_roster_event_slipped_into_foreign_db_does_not_count(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> None:
    """Someone with B's workspace files (not its device key) inserts another laptop's crew.added,
    with a valid hash and an approval: it lacks the seal B made on what it pulled."""
    from safetycli.ledger import row_hash

    a, b = newcomer_on_two_laptops(cli, laptop, central, tmp_path)
    with sqlite3.connect(b / "foreign.db") as db:
        rows = db.execute(
            "SELECT device, seq, at, kind, run, person, data, prev_hash FROM foreign_events"
            " WHERE kind IN ('auth.ok', 'crew.added') ORDER BY seq DESC LIMIT 2"
        ).fetchall()
        prev = "0" * 64
        for device, seq, at, kind, run, person, data, _ in reversed(rows):
            data = data.replace(NEWCOMER[0], "Eve Intruder") if kind == "crew.added" else data
            n = seq + 1000
            digest = row_hash(n, at, kind, run, person, data, prev)
            db.execute(
                "INSERT INTO foreign_events (device, seq, at, kind, run, person, data,"
                " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (device, n, at, kind, run, person, data, prev, digest),
            )
            prev = digest
    refused = invoke(cli, ["crew", "list", "--home", str(b)])
    assert "no valid seal" in one_line_error(refused)


def test_joining_an_unreachable_server_is_one_line_and_leaves_nothing(
    cli: CliRunner, tmp_path: Path
) -> None:
    c = tmp_path / "c"
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    refused = invoke(cli, ["init", "--home", str(c), "--from-central", url])
    assert one_line_error(refused).startswith("cannot reach the central server")
    assert not c.exists() or not any(c.iterdir())
    again = invoke(cli, ["init", "--home", str(c), "--from-central", url])
    assert one_line_error(again).startswith("cannot reach the central server")


def test_a_wrapped_secret_opens_only_with_its_own_code() -> None:
    from safetycli.central import join
    from safetycli.errors import SafetyError

    code, other = join.new_code(), join.new_code()
    secret = bytes(range(32))
    wrapped = join.wrap(code, secret, "Night Unit")
    assert join.unwrap(join.normal(join.shown(code).lower()), wrapped) == (secret, "Night Unit")
    assert secret.hex() not in wrapped and code not in wrapped
    for bad in (other, code):
        text = wrapped if bad is other else wrapped.replace("Night Unit", "Day Unit")
        with pytest.raises(SafetyError, match="does not open"):
            join.unwrap(bad, text)


# --- what else crosses laptops: incidents, custody; conflicts shown, never resolved -------------

ARMORER_PIN = f"{ARMORER[1]}\n"
CLOSERS = ["--by", f"armorer={ARMORER[0]}", "--by", f"producer={PRODUCER_NAME}"]


def three_laptops(cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path) -> list[Path]:
    """Laptop A, and B and C joined from it (one roster, one production secret); all synced."""
    a = laptop("a")
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)
    c = joined(cli, tmp_path / "c", central, a)
    for ws in (a, b, c):
        sync(cli, ws, central)
    return [a, b, c]


def armory(cli: CliRunner, ws: Path, *args: str, expect: int = 0) -> Result:
    """An armory command on that laptop, signed by the armorer (PIN on stdin)."""
    result = invoke(cli, ["armory", *args, "--home", str(ws), "--pin-stdin"], input=ARMORER_PIN)
    assert result.exit_code == expect, result.output
    return result


def with_a_firearm(cli: CliRunner, a: Path, central: str, *others: Path) -> None:
    """On A: the armorer's permit recorded (a producer's PIN), firearm 4471 taken into the
    inventory and the storage opened; A synced, then the others."""
    ok(
        cli,
        ["crew", "qualify", ARMORER[0], "--kind", "armorer-permit", "--id", "P-1"]
        + ["--expires", "2030-12-31", "--home", str(a), "--pin-stdin"],
        input=f"{PRODUCER_PIN}\n",
    )
    armory(cli, a, *"add firearm --serial 4471 --make Colt --model SAA --kind real".split())
    armory(cli, a, "unlock")
    for ws in (a, *others):
        sync(cli, ws, central)


def firearms_on(cli: CliRunner, ws: Path) -> dict[str, dict[str, Any]]:
    listed = json.loads(ok(cli, ["armory", "list", "--home", str(ws), "--format", "json"]).stdout)
    return {f["serial"]: f for f in listed["firearms"]}


def test_a_stopping_incident_on_laptop_a_stops_firearm_work_on_b_and_closing_it_on_b_lifts_it(
    cli: CliRunner,
    central: str,
    laptop: Laptop,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    a, b, c = three_laptops(cli, laptop, central, tmp_path)
    answers = write_answers(tmp_path / "pass.yaml")
    run = [
        "run",
        "firearm-scene",
        "--scene",
        "14",
        "--day",
        "2026-11-23",
        "--answers",
        str(answers),
    ]
    report = ok(
        cli,
        ["incident", "report", "--home", str(a), "--kind", "misfire", "--text", "click, no bang"],
    )
    incident = report.stdout.split("Incident ")[1].split()[0]
    for ws in (a, b, c):
        sync(cli, ws, central)
    on(b, monkeypatch)
    stopped = one_line_error(invoke(cli, run))
    assert incident in stopped and "misfire" in stopped
    listed = json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)
    assert [(i["id"], i["status"], i["device"]) for i in listed] == [
        (incident, "open", device_of(a))
    ]
    assert device_of(a) in ok(cli, ["incident", "list"]).stdout

    # B's armorer and producer close it there; B works again at once, A and C once synced.
    with cheap_pins():
        ok(
            cli,
            ["incident", "close", incident, "--action", "firing pin replaced", *CLOSERS]
            + ["--pin-stdin"],
            input=f"{ARMORER[1]}\n{PRODUCER_PIN}\n",
        )
    assert invoke(cli, run).exit_code == 0
    on(c, monkeypatch)
    assert incident in one_line_error(invoke(cli, run))  # C has not heard yet
    for ws in (b, a, c):
        sync(cli, ws, central)
    for ws in (a, c):
        on(ws, monkeypatch)
        assert invoke(cli, run).exit_code == 0
        ok(cli, ["verify"])


def test_a_firearm_issued_on_unit_a_is_out_on_b_which_refuses_to_issue_it_and_names_the_device(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    a, b, _ = three_laptops(cli, laptop, central, tmp_path)
    with_a_firearm(cli, a, central, b)
    armory(cli, a, "issue", "4471")
    sync(cli, a, central)
    sync(cli, b, central)
    seen = firearms_on(cli, b)["4471"]
    assert (seen["where"], seen["holder"], seen["device"]) == ("armorer", ARMORER[0], device_of(a))
    table = ok(cli, ["armory", "list", "--home", str(b)]).stdout
    assert device_of(a) in table
    refused = one_line_error(armory(cli, b, "issue", "4471", expect=2))
    assert "4471 is already out" in refused and device_of(a) in refused
    assert "out on another unit" in one_line_error(
        invoke(
            cli,
            ["armory", "hand-over", "4471", "--to", ACTOR[0], "--home", str(b), "--pin-stdin"],
            input=f"{ARMORER[1]}\n{ACTOR[1]}\n",
        )
    )
    # Back in storage on A: B may issue it, and A sees it out on B.
    armory(cli, a, "return", "4471")
    sync(cli, a, central)
    sync(cli, b, central)
    armory(cli, b, "issue", "4471")
    sync(cli, b, central)
    sync(cli, a, central)
    assert firearms_on(cli, a)["4471"]["device"] == device_of(b)
    assert "already out" in one_line_error(armory(cli, a, "issue", "4471", expect=2))
    for ws in (a, b):
        ok(cli, ["verify", "--home", str(ws)])


def test_one_firearm_issued_on_two_units_offline_is_an_exception_everywhere(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    a, b, c = three_laptops(cli, laptop, central, tmp_path)
    with_a_firearm(cli, a, central, b)  # one storage: opened on A is open on B
    # Both offline: each unit's armorer takes the same firearm out.
    armory(cli, a, "issue", "4471")
    armory(cli, b, "issue", "4471")
    sync(cli, a, central)
    said = sync(cli, b, central).stdout
    assert "EXCEPTION: firearm 4471 was issued on device" in said
    assert device_of(a) in said and device_of(b) in said
    assert "EXCEPTION: firearm 4471" in sync(cli, a, central).stdout
    assert "EXCEPTION: firearm 4471" in sync(cli, c, central).stdout
    listed = json.loads(ok(cli, ["armory", "list", "--home", str(c), "--format", "json"]).stdout)
    assert any("firearm 4471" in line for line in listed["exceptions"])
    # The set board of each laptop keeps showing it between syncs.
    assert "EXCEPTION: firearm 4471" in ok(cli, ["status", "--home", str(c)]).stdout
    board = json.loads(ok(cli, ["status", "--home", str(a), "--format", "json"]).stdout)
    assert any(line.startswith("firearm 4471 was issued") for line in board["exceptions"])
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    assert any(line.startswith("firearm 4471 was issued") for line in office["exceptions"])
    # The producer's day report from the server, in every format, opens its exceptions with it.
    day = json.loads(ok(cli, ["report", "--central", central, "--format", "json"]).stdout)
    assert any("firearm 4471" in line for line in day["exceptions"]["between_laptops"])
    assert day["counts"]["between_laptops"] >= 1
    for fmt in ("md", "html", "csv"):
        shown = ok(cli, ["report", "--central", central, "--format", fmt]).stdout
        assert "firearm 4471 was issued on device" in shown
    # A laptop's own report stays its own log's: no such section.
    mine = json.loads(ok(cli, ["report", "--home", str(a), "--format", "json"]).stdout)
    assert "between_laptops" not in mine["exceptions"]


def test_one_persons_pin_changed_or_added_on_two_laptops_apart_is_an_exception_later_stands(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> None:
    a, b = newcomer_on_two_laptops(cli, laptop, central, tmp_path)
    # Offline: the newcomer changes their PIN on A, then (differently) on B; a producer adds one
    # new person on each laptop, with different roles.
    assert own_pin_change(cli, a, "2468", NEWCOMER[1]).exit_code == 0
    assert own_pin_change(cli, b, "1357", NEWCOMER[1]).exit_code == 0
    for ws, role in ((a, "actor"), (b, "dp")):
        ok(
            cli,
            ["crew", "add", "Lee Twice", "--role", role, "--home", str(ws), "--pin-stdin"],
            input=f"4242\n{PRODUCER_PIN}\n",
        )
    sync(cli, a, central)
    said = sync(cli, b, central).stdout
    assert f"EXCEPTION: {NEWCOMER[0]}'s PIN was changed on device {device_of(a)}" in said
    assert f"and on device {device_of(b)}" in said
    assert f"EXCEPTION: Lee Twice was added on device {device_of(a)}" in said
    assert "EXCEPTION: " in sync(cli, a, central).stdout
    # The defined order holds on both laptops: the later change (B's) stands everywhere.
    for ws in (a, b):
        assert "wrong PIN" in one_line_error(own_pin_change(cli, ws, "9753", "2468"))
    assert own_pin_change(cli, a, "9753", "1357").exit_code == 0
    listed = json.loads(ok(cli, ["crew", "list", "--home", str(a), "--format", "json"]).stdout)
    assert next(p["roles"] for p in listed if p["name"] == "Lee Twice") == ["dp"]
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    assert sum("Lee Twice was added" in line for line in office["exceptions"]) == 1
    assert sum("PIN was changed" in line for line in office["exceptions"]) == 1
    for ws in (a, b):
        ok(cli, ["verify", "--home", str(ws)])


MINIMAL = Path(__file__).parent / "fixtures" / "protocols" / "valid" / "minimal.yaml"


def run_minimal(cli: CliRunner, ws: Path, tmp_path: Path) -> str:
    """The production's own `minimal` protocol walked on that laptop: the sha256 its run records."""
    answers = tmp_path / "minimal-answers.yaml"
    answers.write_text(
        f'signers:\n  first_ad: {{name: {FIRST_AD[0]}, pin: "{FIRST_AD[1]}"}}\n'
        "answers:\n  ready: yes\n"
    )
    answers.chmod(0o600)
    args = ["run", "minimal", "--scene", "3", "--day", "2026-11-23", "--home", str(ws)]
    ok(cli, [*args, "--answers", str(answers)])
    (run,) = json.loads(ok(cli, ["log", "list", "--home", str(ws), "--format", "json"]).stdout)
    shown = ok(cli, ["log", "show", run["id"], "--home", str(ws), "--format", "json"]).stdout
    return str(json.loads(shown)["protocol"]["sha256"])


def publish(cli: CliRunner, ws: Path, *ids: str, pin: str = PRODUCER_PIN) -> Result:
    """A producer sends that laptop's own protocols to the production, with their PIN."""
    args = ["checklists", "publish", *ids, "--home", str(ws), "--pin-stdin"]
    return invoke(cli, args, input=f"{pin}\n")


def test_the_productions_own_protocols_reach_every_laptop_byte_for_byte_and_a_change_travels(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    import hashlib

    a = laptop("a")
    (a / "checklists" / "minimal.yaml").write_bytes(MINIMAL.read_bytes())
    said = sync(cli, a, central).stdout  # not sent without a producer's PIN
    assert "checklists publish minimal" in said
    assert "wrong PIN" in one_line_error(publish(cli, a, pin="0000"))
    sent = publish(cli, a)
    assert sent.exit_code == 0, sent.output
    assert "Published minimal v1" in sent.stdout
    assert "nothing to publish" in one_line_error(publish(cli, a))
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)  # a new laptop gets the production's protocols
    c = joined(cli, tmp_path / "c", central, a)
    assert (b / "checklists" / "minimal.yaml").read_bytes() == MINIMAL.read_bytes()
    assert (b / "checklists" / "minimal.yaml").stat().st_mode & 0o777 == 0o600
    sha = hashlib.sha256(MINIMAL.read_bytes()).hexdigest()
    assert run_minimal(cli, a, tmp_path) == run_minimal(cli, b, tmp_path) == sha

    # Changed on B (its version raised): B's own until a producer publishes it; then every
    # laptop runs B's text after syncing.
    changed = MINIMAL.read_text().replace("version: 1", "version: 2").replace("Ready", "Set")
    (b / "checklists" / "minimal.yaml").write_text(changed)
    sync(cli, b, central)
    assert "Protocol minimal v2" not in sync(cli, a, central).stdout
    assert (a / "checklists" / "minimal.yaml").read_bytes() == MINIMAL.read_bytes()
    assert publish(cli, b, "minimal").exit_code == 0
    sync(cli, b, central)
    said = sync(cli, a, central).stdout
    assert "Protocol minimal v2 (" in said and f"from device {device_of(b)}" in said
    assert (a / "checklists" / "minimal.yaml").read_text() == changed
    shown = json.loads(
        ok(cli, ["checklists", "show", "minimal", "--home", str(a), "--format", "json"]).stdout
    )
    assert "Set to go?" in json.dumps(shown)

    # A file changed here and not published is never written over.
    sync(cli, c, central)
    local = changed.replace("Set", "Mine")
    (c / "checklists" / "minimal.yaml").write_text(local)
    assert "changed here and not published" in sync(cli, c, central).stdout
    assert (c / "checklists" / "minimal.yaml").read_text() == local

    # Published on A and C apart, both as version 3: the later one stands, and it is an exception.
    for ws, word in ((a, "Steady"), (c, "Go")):
        text = changed.replace("version: 2", "version: 3").replace("Set", word)
        (ws / "checklists" / "minimal.yaml").write_text(text)
        assert publish(cli, ws).exit_code == 0
    sync(cli, a, central)
    said = sync(cli, c, central).stdout
    assert "EXCEPTION: protocol minimal version 3 was changed apart on device" in said
    sync(cli, a, central)
    assert "Go to go?" in (a / "checklists" / "minimal.yaml").read_text()
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    assert any(line.startswith("protocol minimal version 3") for line in office["exceptions"])
    for ws in (a, b, c):
        ok(cli, ["verify", "--home", str(ws)])


MINIMAL_ES = """translates: minimal
lang: es
title:
  en: "Smallest valid protocol"
  es: "Protocolo válido más pequeño"
summary:
  en: "One phase, one item."
  es: "Una fase, una comprobación."
phases:
  only-phase:
    en: "The only phase"
    es: "La única fase"
items:
  ready:
    ask:
      en: "Ready to go?"
      es: "¿Listos?"
    why:
      en: "The smallest thing that can stop work."
      es: "Lo más pequeño que puede detener el trabajo."
"""


def test_a_protocols_translation_travels_with_it_and_a_change_to_it_alone_is_published(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    """A Spanish-reading actor on laptop B reads the production's own protocol in Spanish, as on
    A: the translation is sent with the protocol, byte for byte, and a later change to the
    translation alone is a publication of its own; one changed on B alone is never overwritten."""
    a = laptop("a")
    (a / "checklists" / "minimal.yaml").write_bytes(MINIMAL.read_bytes())
    (a / "checklists" / "minimal.es.yaml").write_text(MINIMAL_ES)
    assert "with its translations (es)" in publish(cli, a).stdout
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)
    assert (b / "checklists" / "minimal.es.yaml").read_text() == MINIMAL_ES
    assert (b / "checklists" / "minimal.es.yaml").stat().st_mode & 0o777 == 0o600
    shown = ok(cli, ["checklists", "show", "minimal", "--lang", "es", "--home", str(b)]).stdout
    assert "¿Listos?" in shown

    better = MINIMAL_ES.replace("¿Listos?", "¿Todo listo?")
    (a / "checklists" / "minimal.es.yaml").write_text(better)
    sent = publish(cli, a)
    assert sent.exit_code == 0, sent.output
    sync(cli, a, central)
    said = sync(cli, b, central).stdout
    assert "minimal" in said and "minimal.es.yaml" in said
    assert (b / "checklists" / "minimal.es.yaml").read_text() == better

    # Changed on B and not published: left as it is, and sync says so.
    mine = better.replace("¿Todo listo?", "¿Preparados?")
    (b / "checklists" / "minimal.es.yaml").write_text(mine)
    (a / "checklists" / "minimal.es.yaml").write_text(better.replace("¿Todo listo?", "¿Vamos?"))
    assert publish(cli, a).exit_code == 0
    sync(cli, a, central)
    assert "changed here and not published" in sync(cli, b, central).stdout
    assert (b / "checklists" / "minimal.es.yaml").read_text() == mine
    for ws in (a, b):
        ok(cli, ["verify", "--home", str(ws)])


def test_a_publication_without_a_producers_approval_is_never_installed(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    """Someone with laptop A (its files and its key, not a producer's PIN) writes a publication
    straight into A's log: the other laptops never install it."""
    from safetycli import protoshare

    a = laptop("a")
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)
    (a / "checklists" / "minimal.yaml").write_bytes(MINIMAL.read_bytes())
    with Ledger.open(a / "log.db", create=False) as ledger:
        ledger.append_many(protoshare.unsent(ledger, a / "checklists"))
    sync(cli, a, central)
    sync(cli, b, central)
    assert not (b / "checklists" / "minimal.yaml").exists()  # the join's approval is not it
    # Published properly; then a second text slipped in right after, under the same approval.
    assert publish(cli, a).exit_code == 0
    changed = MINIMAL.read_text().replace("version: 1", "version: 2")
    (a / "checklists" / "minimal.yaml").write_text(changed)
    with Ledger.open(a / "log.db", create=False) as ledger:
        ledger.append_many(protoshare.unsent(ledger, a / "checklists"))
    sync(cli, a, central)
    sync(cli, b, central)
    assert (b / "checklists" / "minimal.yaml").read_bytes() == MINIMAL.read_bytes()
    ok(cli, ["verify", "--home", str(a)])


def test_a_joined_laptop_has_its_own_recovery_code_and_a_producer_recovered_there_signs_on_a(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    import re

    a = laptop("a")
    sync(cli, a, central)
    b = tmp_path / "b"
    code = ask_to_join(cli, b, central)
    assert approve(cli, code, a, central).exit_code == 0
    done = ok(cli, ["init", "--home", str(b), "--from-central", central])
    (recovery,) = re.findall(r"Recovery code .*: ([A-Z0-9-]{19})", done.stdout)
    # The only producer's PIN typed wrong five times on B: locked out there.
    unlock = ["crew", "unlock", PRODUCER_NAME, "--home", str(b), "--pin-stdin"]
    for _ in range(5):
        invoke(cli, unlock, input="0000\n")
    assert "locked" in one_line_error(invoke(cli, unlock, input=f"{PRODUCER_PIN}\n"))
    recovered = invoke(
        cli,
        ["crew", "recover", PRODUCER_NAME, "--code", recovery, "--home", str(b), "--pin-stdin"],
        input="2580\n",
    )
    assert recovered.exit_code == 0, recovered.output
    ok(cli, ["verify", "--home", str(b)])
    roster = ok(cli, ["crew", "list", "--home", str(b), "--format", "json"]).stdout
    assert [m["locked"] for m in json.loads(roster) if m["name"] == PRODUCER_NAME] == [False]
    # The new PIN set with B's code reaches A once both sync: A approves a join with it.
    sync(cli, b, central)
    sync(cli, a, central)
    approved = approve(cli, ask_to_join(cli, tmp_path / "c", central), a, central, "2580")
    assert approved.exit_code == 0, approved.output
    ok(cli, ["verify", "--home", str(a)])


def test_run_ids_made_after_a_sync_never_collide_across_units_and_a_continued_run_is_shown(
    cli: CliRunner,
    central: str,
    laptop: Laptop,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from safetycli import session
    from safetycli.events import RUN_PAUSED

    laptops = three_laptops(cli, laptop, central, tmp_path)
    monkeypatch.setattr(session.secrets, "token_hex", lambda n: "c0ffee")  # the worst luck
    answers = write_answers(tmp_path / "pass.yaml")
    for ws in laptops:
        on(ws, monkeypatch)
        run_scene(cli, answers, "12A", "2026-11-23")
        sync(cli, ws, central)
    runs = _central_list(cli, central, "--day", "2026-11-23")
    ids = sorted(r["id"] for r in runs)
    assert len(set(ids)) == 3 and all("@" not in i and i.endswith("-c0ffee") for i in ids)
    assert {r["device"] for r in runs} == {device_of(ws) for ws in laptops}

    # A's open run continued on C (a copied workspace, say): C's chain holds an event of it.
    a, _, c = laptops
    on(a, monkeypatch)
    monkeypatch.setattr(session.secrets, "token_hex", lambda n: "0badd0")
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    args = ["run", "firearm-scene", "--scene", "9", "--day", "2026-11-23"]
    assert invoke(cli, [*args, "--answers", str(partial)]).exit_code == 4
    sync(cli, a, central)
    (of_a,) = [r["id"] for r in log_list(cli) if r["id"].endswith("-0badd0")]
    with Ledger.open(c / "log.db", create=False) as ledger:
        ledger.append(RUN_PAUSED, {"phase": "before-each-take", "take": 1}, run=of_a)
    sync(cli, c, central)
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    (line,) = [x for x in office["exceptions"] if x.startswith(f"run {of_a}")]
    assert f"started on device {device_of(a)}" in line
    assert f"continued on device {device_of(c)}" in line
    day = json.loads(ok(cli, ["report", "--central", central, "--format", "json"]).stdout)
    assert line not in day["exceptions"]["between_laptops"]  # not a run of today's report
    day = ["report", "--central", central, "--day", "2026-11-23", "--format", "json"]
    assert line in json.loads(ok(cli, day).stdout)["exceptions"]["between_laptops"]


def test_a_close_slipped_into_foreign_db_without_the_seal_lifts_nothing(
    cli: CliRunner,
    central: str,
    laptop: Laptop,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Someone with B's workspace files (not its device key) adds a close of A's incident."""
    from safetycli.ledger import row_hash

    a, b, _ = three_laptops(cli, laptop, central, tmp_path)
    report = ok(cli, ["incident", "report", "--home", str(a), "--kind", "misfire", "--text", "x"])
    incident = report.stdout.split("Incident ")[1].split()[0]
    sync(cli, a, central)
    sync(cli, b, central)
    with sqlite3.connect(b / "foreign.db") as db:
        (seq, at) = db.execute(
            "SELECT seq, at FROM foreign_events WHERE kind = 'incident.reported'"
        ).fetchone()
        data = json.dumps(
            {"incident": incident, "action": "none", "closed_by": []}, separators=(",", ":")
        )
        n, prev = seq + 1000, "0" * 64
        digest = row_hash(n, at, "incident.closed", None, None, data, prev)
        db.execute(
            "INSERT INTO foreign_events (device, seq, at, kind, run, person, data, prev_hash,"
            " hash) VALUES (?, ?, ?, 'incident.closed', NULL, NULL, ?, ?, ?)",
            (device_of(a), n, at, data, prev, digest),
        )
    on(b, monkeypatch)
    listed = json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)
    assert [(i["id"], i["status"]) for i in listed] == [(incident, "open")]
    answers = write_answers(tmp_path / "pass.yaml")
    run = ["run", "firearm-scene", "--scene", "1", "--answers", str(answers)]
    assert incident in one_line_error(invoke(cli, run))


def test_foreign_db_from_before_custody_is_pulled_again_and_its_unsealed_rows_get_their_seal(
    tmp_path: Path,
) -> None:
    """A `foreign.db` at version 2 (stop-work and roster only, rows from version 1 unsealed)
    migrates: every device is pulled again from its start, a row that comes again unchanged
    gets this laptop's seal, and a row's content still never changes."""
    from safetycli.central import foreign
    from safetycli.ledger import row_hash

    path = tmp_path / "foreign.db"
    db = sqlite3.connect(path, isolation_level=None)
    for statement in (*foreign._SCHEMA, *foreign._SCHEMA_2):
        db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    data = json.dumps({"scene": "12A"}, separators=(",", ":"))
    digest = row_hash(1, "2026-11-23T10:00:00Z", "scene.held", None, None, data, "0" * 64)
    row = (1, "2026-11-23T10:00:00Z", "scene.held", None, None, data, "0" * 64, digest, None)
    db.execute(
        "INSERT INTO foreign_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)", ("d1", *row)
    )
    db.execute("INSERT INTO foreign_heads VALUES ('d1', 1, ?)", (digest,))
    db.close()

    log = foreign.ForeignLog.open(path)
    assert log.heads() == {}  # pulled again from its start
    seal = lambda device, seq, h: f"seal:{device}:{seq}:{h}"  # noqa: E731
    assert log.unsealed("d1", 1, seal)
    assert log.add("d1", 1, digest, [row], seal=seal) == (0, None)  # nothing taken twice
    assert not log.unsealed("d1", 1, seal)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log.db.execute("UPDATE foreign_events SET seal = 'other'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log.db.execute("UPDATE foreign_events SET data = '{}'")
    log.close()


def test_a_runs_misfire_closed_on_another_laptop_is_cleared_on_its_own_laptop_after_sync(
    cli: CliRunner,
    central: str,
    laptop: Laptop,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    a, b, _ = three_laptops(cli, laptop, central, tmp_path)
    misfire = write_answers(tmp_path / "m.yaml", answers={"no-misfire": False})
    on(a, monkeypatch)
    args = ["run", "firearm-scene", "--scene", "5", "--day", "2026-11-23", "--answers"]
    assert invoke(cli, [*args, str(misfire)]).exit_code == 3
    (run,) = [r["id"] for r in log_list(cli)]
    (incident,) = [
        i["id"] for i in json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)
    ]
    sync(cli, a, central)
    sync(cli, b, central)
    with cheap_pins():
        ok(
            cli,
            ["incident", "close", incident, "--action", "round replaced", "--home", str(b)]
            + [*CLOSERS, "--pin-stdin"],
            input=f"{ARMORER[1]}\n{PRODUCER_PIN}\n",
        )
    sync(cli, b, central)
    sync(cli, a, central)
    # On A the incident is closed; the run's own hold is lifted there by the kind's roles.
    listed = json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)
    assert [(i["id"], i["status"]) for i in listed] == [(incident, "closed")]
    with cheap_pins():
        ok(
            cli,
            ["clear", run, "--note", "closed on the office laptop", *CLOSERS, "--pin-stdin"],
            input=f"{ARMORER[1]}\n{PRODUCER_PIN}\n",
        )
    assert (
        invoke(
            cli, ["resume", run, "--answers", str(write_answers(tmp_path / "ok.yaml"))]
        ).exit_code
        == 0
    )


# --- letting devices in: no trust on first use (issue 15) -------------------------------------


def _plain_sync(cli: CliRunner, ws: Path, url: str, *extra: str, pin: str | None = None) -> Result:
    args = ["sync", "--home", str(ws), "--central", url, *extra]
    return invoke(cli, args, input=None if pin is None else f"{pin}\n")


def _key_of(ws: Path) -> Any:
    with Ledger.open(ws / "log.db", create=False) as ledger:
        assert ledger.key is not None
        return ledger.key


def test_a_laptop_set_up_on_its_own_waits_until_a_producer_approves_it_on_an_approved_laptop(
    cli: CliRunner, laptop: Laptop, central: str
) -> None:
    a, b = laptop("a"), laptop("b")
    sync(cli, a, central)
    line = one_line_error(_plain_sync(cli, b, central))
    assert f"device {device_of(b)} is waiting for a producer's approval" in line
    assert f"safetycli join approve-device {device_of(b)}" in line
    assert server_rows(central, device_of(b)) == []  # nothing of it taken
    assert "wrong PIN" in one_line_error(approve_device(cli, a, device_of(b), central, "0000"))
    assert approved_by(central, device_of(b)) is None
    unknown = one_line_error(approve_device(cli, a, "0123456789abcdef", central))
    assert "knows no device 0123456789abcdef" in unknown
    assert "knows no device" in one_line_error(approve_device(cli, a, "x\nerror: forged", central))

    done = approve_device(cli, a, device_of(b), central)
    assert done.exit_code == 0, done.output
    assert f"Approved device {device_of(b)}" in done.stdout
    pushed = _plain_sync(cli, b, central)
    assert pushed.exit_code == 0, pushed.output
    assert len(server_rows(central, device_of(b))) == len(local_rows(b))
    who = approved_by(central, device_of(b))
    assert who is not None and PRODUCER_NAME in who and device_of(a) in who


def test_the_first_laptop_is_approved_by_a_producers_pin_and_later_ones_are_not(
    cli: CliRunner, laptop: Laptop, central: str
) -> None:
    a, b = laptop("a"), laptop("b")
    assert "waiting for a producer's approval" in one_line_error(_plain_sync(cli, a, central))
    first = ["--approve-by", PRODUCER_NAME, "--pin-stdin"]
    assert "wrong PIN" in one_line_error(_plain_sync(cli, a, central, *first, pin="0000"))
    assert approved_by(central, device_of(a)) is None and server_rows(central) == []

    assert _plain_sync(cli, a, central, *first, pin=PRODUCER_PIN).exit_code == 0
    who = approved_by(central, device_of(a))
    assert who is not None and PRODUCER_NAME in who
    # The server has an approved laptop now: a producer's PIN on a new laptop is not enough.
    line = one_line_error(_plain_sync(cli, b, central, *first, pin=PRODUCER_PIN))
    assert "already has approved laptops" in line
    assert f"safetycli join approve-device {device_of(b)}" in line
    assert approved_by(central, device_of(b)) is None
    assert server_rows(central, device_of(b)) == []


def test_the_database_password_alone_lets_no_device_in(
    cli: CliRunner, laptop: Laptop, central: str
) -> None:
    """Whoever has the laptops' database login, but no approved laptop's key, cannot approve a
    device, however they call the server; a laptop not approved itself cannot either."""
    a, b, c = laptop("a"), laptop("b"), laptop("c")
    sync(cli, a, central)
    crew = _as_role(central, "crew_laptops")
    for ws in (b, c):
        assert _plain_sync(cli, ws, crew).exit_code == 2  # registered, waiting
    key_b = _key_of(b)
    forged = approval.device_mac(b"\x01" * 32, device_of(b), key_b.key_id)
    with psycopg.connect(crew, autocommit=True) as conn:
        (refused,) = conn.execute(
            "SELECT safetycli_approve(%s, %s, %s, 'Mallory', %s)",
            (device_of(b), key_b.key_id, device_of(a), forged),
        ).fetchone()
        assert refused is not None and "MAC" in refused
        (first,) = conn.execute(
            "SELECT safetycli_approve_first(%s, 'Mallory')", (device_of(b),)
        ).fetchone()
        assert first is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE devices SET approved_at = now()")
    not_approved = one_line_error(approve_device(cli, c, device_of(b), crew))
    assert "not itself approved" in not_approved
    assert approved_by(central, device_of(b)) is None
    assert _plain_sync(cli, b, crew).exit_code == 2
    assert server_rows(central, device_of(b)) == []
    # The same call with the approved laptop's own key goes through: the MAC is what counts.
    real = approval.device_mac(_key_of(a).central_key, device_of(b), key_b.key_id)
    with psycopg.connect(crew, autocommit=True) as conn:
        (refused,) = conn.execute(
            "SELECT safetycli_approve(%s, %s, %s, %s, %s)",
            (device_of(b), key_b.key_id, device_of(a), PRODUCER_NAME, real),
        ).fetchone()
    assert refused is None and approved_by(central, device_of(b)) is not None


def test_a_joined_laptop_is_approved_through_its_join_once(
    cli: CliRunner, laptop: Laptop, central: str, tmp_path: Path
) -> None:
    a = laptop("a")
    sync(cli, a, central)
    new = tmp_path / "b"
    code = ask_to_join(cli, new, central)
    assert approve(cli, code, a, central).exit_code == 0
    assert (
        "Joined Night Unit"
        in ok(cli, ["init", "--home", str(new), "--from-central", central]).stdout
    )
    who = approved_by(central, device_of(new))
    assert who is not None and "its join" in who and device_of(a) in who
    assert len(server_rows(central, device_of(new))) == len(local_rows(new))
    # The join's token, shown again by another device, lets nothing more in.
    c = laptop("c")
    key_c = _key_of(c)
    with CentralStore.connect(central) as store:
        token = approval.join_token(join.normal(code))
        assert (
            store.register(device_of(c), key_c.central_key, key_c.key_id, None, join_token=token)
            is None
        )
        assert store.approved(device_of(c)) is None
        # A join approval the database login makes up, without an approved laptop's key, is refused.
        store.join_request("f" * 32)
        forged = store.join_approve(
            "f" * 32, "{}", (approval.token_hash("t"), device_of(a), "Mallory", "0" * 64)
        )
    assert forged is not None and "MAC" in forged
    with psycopg.connect(central) as conn:
        (wrapped,) = conn.execute(
            "SELECT wrapped FROM joins WHERE request = %s", ("f" * 32,)
        ).fetchone()
    assert wrapped is None  # nothing of the refused approval posted


def test_a_joined_laptop_whose_first_sync_is_cut_gets_in_at_its_next_sync_by_its_join(
    cli: CliRunner,
    laptop: Laptop,
    central: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from safetycli.central import CentralUnreachable

    a = laptop("a")
    sync(cli, a, central)
    new = tmp_path / "b"
    code = ask_to_join(cli, new, central)
    assert approve(cli, code, a, central).exit_code == 0

    def cut(*_args: Any, **_kwargs: Any) -> None:
        raise CentralUnreachable("the connection to the server was lost")

    with monkeypatch.context() as patched:
        patched.setattr(central_sync, "sync", cut)
        failed = invoke(cli, ["init", "--home", str(new), "--from-central", central])
    assert failed.exit_code == 2
    assert "safetycli sync" in one_line_error(failed)
    assert approved_by(central, device_of(new)) is None
    # No producer needed again: the laptop's next sync shows its join and is let in.
    again = invoke(cli, ["sync", "--home", str(new)])
    assert again.exit_code == 0, again.output
    who = approved_by(central, device_of(new))
    assert who is not None and "its join" in who
    assert len(server_rows(central, device_of(new))) == len(local_rows(new))
    assert join.pending(new) is None  # spent once it let the laptop in
    assert invoke(cli, ["sync", "--home", str(new)]).exit_code == 0


def test_the_first_laptop_is_approved_at_a_real_terminal_with_the_pin_never_shown(
    laptop: Laptop, central: str
) -> None:
    import pexpect

    from tests.walk_helpers import safetycli_argv, subprocess_env

    a = laptop("a")
    argv = safetycli_argv()
    child = pexpect.spawn(
        argv[0],
        [*argv[1:], "sync", "--central", central, "--approve-by", PRODUCER_NAME],
        env=subprocess_env(a),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )
    child.expect(f"PIN for {PRODUCER_NAME}")
    child.waitnoecho()
    child.sendline(PRODUCER_PIN)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "Synced with" in str(child.before) and PRODUCER_PIN not in str(child.before)
    who = approved_by(central, device_of(a))
    assert who is not None and PRODUCER_NAME in who
    assert len(server_rows(central, device_of(a))) == len(local_rows(a))
