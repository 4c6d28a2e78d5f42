"""Issue 10, items 1 and 2: the attacks on the log and the roster that got through before, each
reproduced and now caught by `verify`, refused by the commands that act on the roster, or made
useless (a copied credentials file without the production secret).

Two attackers: one holding only the workspace's files (`log.db`, `credentials.db`: a copy, or the
folder on a shared laptop), who writes rows with SQL and a valid chain; and one who also runs
safetycli's own code with the device key but skips its PIN checks. The first is stopped by the
device MAC, the second by the meaning checks.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from safetycli import crew
from safetycli.credentials import fingerprint
from safetycli.devicekey import key_path, load_file
from safetycli.headmark import HeadMarks
from safetycli.ledger import GENESIS, Ledger, canonical_json, chain_hash
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    CREW,
    FIRST_AD,
    PRODUCER,
    invoke,
    log_show,
    refused,
    start,
    write_answers,
)

EVE = ("Eve Mallory", "2468")


def forge(path: Path, kind: str, data: dict[str, Any], person: str | None = None) -> int:
    """Append an event with SQL and a valid chain, as someone holding only log.db would."""
    from safetycli.ledger import _event_text, now_utc

    db = sqlite3.connect(path, isolation_level=None)
    try:
        seq, prev = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (seq or 0) + 1, prev or GENESIS
        at = now_utc()
        text = canonical_json(data)
        digest = chain_hash(prev, _event_text(seq, at, kind, None, person, text))
        db.execute(
            "INSERT INTO events (seq, at, kind, run, person, data, prev_hash, hash)"
            " VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
            (seq, at, kind, person, text, prev, digest),
        )
    finally:
        db.close()
    return seq


def plant_credential(home: Path, person: str, pin: str) -> str:
    """A PIN hash of the attacker's choosing in credentials.db; returns its fingerprint."""
    encoded = crew.hash_pin(pin)
    with sqlite3.connect(home / "credentials.db") as db:
        db.execute(
            "INSERT OR REPLACE INTO credentials (person, fingerprint, secret) VALUES (?, ?, ?)",
            (person, fingerprint(encoded), encoded),
        )
    return fingerprint(encoded)


def verify(cli: CliRunner) -> tuple[int, dict[str, Any], str]:
    result = invoke(cli, ["verify", "--format", "json"])
    text = invoke(cli, ["verify"]).stdout
    return result.exit_code, json.loads(result.stdout), text


def refused_after_verify(cli: CliRunner, args: list[str]) -> str:
    """The one-line refusal of a command run after a failing verify: verify's verdict stands
    (verdict.py), so its ALARM line comes first on stderr, then the refusal itself."""
    result = invoke(cli, args)
    assert result.exit_code == 2, result.output
    alarm, refusal = result.stderr.splitlines()
    assert alarm.startswith("ALARM: ") and "`safetycli verify` found this log" in alarm
    assert refusal.startswith("error: "), result.output
    return refusal.removeprefix("error: ")


def armorer_run_refused(cli: CliRunner, tmp_path: Path, armorer: tuple[str, str]) -> str:
    """A walk-through with `armorer` signing as armorer: it must not get anywhere."""
    signers = {**CREW, "armorer": armorer}
    answers = write_answers(tmp_path / "forged.yaml", signers=signers)
    result = invoke(cli, ["run", "firearm-scene", "--scene", "9", "--answers", str(answers)])
    assert result.exit_code != 0, result.output
    with sqlite3.connect(tmp_path / "ws" / "log.db") as db:  # raw: the log may be tampered
        (signed,) = db.execute(
            "SELECT count(*) FROM events WHERE person = ? AND kind LIKE 'item.%'", (armorer[0],)
        ).fetchone()
    assert signed == 0
    return result.output


def key_of(home: Path) -> Path:
    """This workspace's device key file (the key folder is shared by the test session)."""
    import tomllib

    device = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))["device"]
    return key_path(device)


# --- the device key ------------------------------------------------------------------------------


def test_the_device_key_lives_outside_the_workspace_private(crewed: Path) -> None:
    key_file = key_of(crewed)
    assert crewed not in key_file.parents
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    key = load_file(key_file)
    for name in ("log.db", "credentials.db", "config.toml"):
        body = (crewed / name).read_bytes()
        assert key.mac_key.hex().encode() not in body and key.pepper.hex().encode() not in body
    assert f'device = "{key.device}"' in (crewed / "config.toml").read_text()


def test_forged_armorer_with_a_valid_chain_is_caught_and_cannot_sign(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """Row 1 of the issue: crew.added of a new armorer, with a planted PIN, chain valid."""
    fp = plant_credential(crewed, EVE[0], EVE[1])
    seq = forge(
        crewed / "log.db",
        "crew.added",
        {"name": EVE[0], "roles": ["armorer"], "approved_by": PRODUCER[0], "pin_fingerprint": fp},
        EVE[0],
    )
    code, report, text = verify(cli)
    assert code == 1 and report["first_bad_seq"] == seq
    assert f"LOG ALTERED at event {seq}: event {seq} has no valid device MAC" in text
    # Every command that writes, or acts on the roster, refuses at open: nothing is written on
    # top of an event without the MAC (a MAC over the next event would vouch for it).
    line = refused(cli, ["crew", "list"])
    assert f"event {seq} has no valid device MAC" in line
    assert "no valid device MAC" in armorer_run_refused(cli, tmp_path, EVE)


def test_an_insider_with_the_key_who_skips_the_pin_check_is_caught_by_meaning(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """Someone who runs safetycli's own code with the device key, but writes the roster change
    without a producer's PIN: the MAC is valid, the meaning is not."""
    with Ledger.open(crewed / "log.db") as ledger:
        encoded = crew.hash_pin(EVE[1], ledger.pepper)
        added = ledger.append(
            "crew.added",
            {
                "name": EVE[0],
                "roles": ["armorer"],
                "approved_by": PRODUCER[0],
                "pin_fingerprint": fingerprint(encoded),
            },
            person=EVE[0],
            credential=(EVE[0], encoded),
        )
    code, report, text = verify(cli)
    assert code == 1
    assert [p["seq"] for p in report["problems"]] == [added.seq]
    assert f"no PIN-proven approval by {PRODUCER[0]} in the same transaction" in text
    assert "does not verify" in refused_after_verify(cli, ["crew", "list"])
    assert "does not verify" in armorer_run_refused(cli, tmp_path, EVE)


def test_forged_pin_set_with_a_planted_credential_is_caught(cli: CliRunner, crewed: Path) -> None:
    fp = plant_credential(crewed, ARMORER[0], "1357")
    seq = forge(
        crewed / "log.db",
        "crew.pin-set",
        {"name": ARMORER[0], "by": ARMORER[0], "pin_fingerprint": fp},
        ARMORER[0],
    )
    code, report, _ = verify(cli)
    assert code == 1 and report["first_bad_seq"] == seq
    result = invoke(cli, ["crew", "set-pin", ARMORER[0], "--pin-stdin"], "2580\n1357\n")
    assert result.exit_code == 2 and "no valid device MAC" in result.stderr


def test_forged_unlock_of_a_locked_person_is_caught(cli: CliRunner, crewed: Path) -> None:
    for _ in range(5):
        invoke(cli, ["crew", "set-pin", ACTOR[0], "--pin-stdin"], "2580\n0000\n")
    with Ledger.open(crewed / "log.db") as ledger:
        assert crew.find(ledger, ACTOR[0]).locked
    seq = forge(crewed / "log.db", "crew.unlocked", {"name": ACTOR[0], "by": PRODUCER[0]}, ACTOR[0])
    assert verify(cli)[1]["first_bad_seq"] == seq
    result = invoke(cli, ["crew", "set-pin", ACTOR[0], "--pin-stdin"], f"2580\n{ACTOR[1]}\n")
    assert result.exit_code == 2 and "no valid device MAC" in result.stderr


def test_the_cli_writes_each_approval_in_the_same_transaction_as_its_change(
    cli: CliRunner, crewed: Path
) -> None:
    args = ["crew", "add", EVE[0], "--role", "dp", "--approve-by", PRODUCER[0], "--pin-stdin"]
    assert invoke(cli, args, f"{EVE[1]}\n{PRODUCER[1]}\n").exit_code == 0
    args = ["crew", "set-pin", ACTOR[0], "--approve-by", PRODUCER[0], "--pin-stdin"]
    assert invoke(cli, args, f"2580\n{PRODUCER[1]}\n{ACTOR[1]}\n").exit_code == 0
    with Ledger.open(crewed / "log.db") as ledger:
        events = list(ledger.events())
    kinds = [e.kind for e in events]
    added = kinds.index("crew.added", len(kinds) - 10)
    assert kinds[added - 1] == "auth.ok" and events[added - 1].data["name"] == PRODUCER[0]
    assert kinds[-3:] == ["auth.ok", "auth.ok", "crew.pin-set"]
    assert [e.data["name"] for e in events[-3:-1]] == [PRODUCER[0], ACTOR[0]]
    assert invoke(cli, ["verify"]).exit_code == 0


def test_a_confirmer_who_mistypes_costs_the_approving_producer_no_try(
    cli: CliRunner, crewed: Path
) -> None:
    args = ["crew", "set-pin", ACTOR[0], "--approve-by", PRODUCER[0], "--pin-stdin"]
    assert invoke(cli, args, f"2580\n{PRODUCER[1]}\n0000\n").exit_code != 0
    with Ledger.open(crewed / "log.db") as ledger:
        assert crew.find(ledger, PRODUCER[0]).failures == 0
        assert crew.find(ledger, ACTOR[0]).failures == 1
    assert invoke(cli, ["verify"]).exit_code == 0


# --- rows edited or deleted, indexes rebuilt: the commands refuse, verify names it --------------


def test_an_edited_roster_row_is_refused_not_obeyed(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """The actor made an armorer by editing their crew.added row (hash not fixed)."""
    with sqlite3.connect(crewed / "log.db") as db:
        db.execute("DROP TRIGGER events_no_update")
        (seq,) = db.execute(
            "SELECT seq FROM events WHERE kind = 'crew.added' AND person = ?", (ACTOR[0],)
        ).fetchone()
        db.execute(
            "UPDATE events SET data = json_set(data, '$.roles', json('[\"armorer\"]'))"
            " WHERE seq = ?",
            (seq,),
        )
    line = refused(cli, ["crew", "list"])
    assert f"event {seq} of the log was changed" in line
    assert "was changed after it was written" in armorer_run_refused(cli, tmp_path, ACTOR)


def test_deleted_lockout_rows_are_refused_at_sign_in(cli: CliRunner, crewed: Path) -> None:
    """Four wrong PINs, then the attempts deleted to get five more guesses: refused."""
    for _ in range(4):
        invoke(cli, ["crew", "set-pin", ACTOR[0], "--pin-stdin"], "2580\n0000\n")
    # Work goes on after them, so the rows deleted are in the middle of the log.
    invoke(cli, ["crew", "set-pin", FIRST_AD[0], "--pin-stdin"], f"2580\n{FIRST_AD[1]}\n")
    with sqlite3.connect(crewed / "log.db") as db:
        db.execute("DROP TRIGGER events_no_delete")
        db.execute(
            "DELETE FROM events WHERE person = ? AND kind IN ('auth.attempt', 'auth.failed')",
            (ACTOR[0],),
        )
    result = invoke(cli, ["crew", "set-pin", ACTOR[0], "--pin-stdin"], f"2580\n{ACTOR[1]}\n")
    assert result.exit_code == 2
    assert "is missing" in result.stderr and "nothing was" in result.stderr


def test_an_index_rebuilt_without_the_holds_is_caught_by_verify(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    held = write_answers(tmp_path / "held.yaml", answers={"meeting-held": False})
    start(cli, held, expect=3)
    path = crewed / "log.db"
    db = sqlite3.connect(path, isolation_level=None)
    (original,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events_kind'").fetchone()
    partial = original + " WHERE kind != 'hold.raised'"
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'events_kind'", (partial,))
    db.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("REINDEX events_kind")
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'events_kind'", (original,))
    db.close()
    code, report, text = verify(cli)
    assert code == 1
    assert report["problems"] and report["problems"][0]["seq"] is None
    assert "structure is damaged" in text and "events_kind" in text


def test_a_swapped_credential_row_is_named_by_verify(cli: CliRunner, crewed: Path) -> None:
    """A hash swapped in place (same key, another PIN's hash): sign-in refuses it, verify names
    the event that set the real one."""
    with sqlite3.connect(crewed / "credentials.db") as db:
        db.execute(
            "UPDATE credentials SET secret = ? WHERE person = ?", (crew.hash_pin("1357"), ACTOR[0])
        )
    code, report, text = verify(cli)
    assert code == 1
    assert any("swapped in credentials.db" in p["reason"] for p in report["problems"])
    assert "swapped in credentials.db" in text


# --- the production secret: a copied credentials file gives up no PIN ---------------------------


def test_a_copied_credentials_file_cannot_be_guessed_without_the_production_secret(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    args = ["crew", "set-pin", ACTOR[0], "--pin-stdin"]
    assert invoke(cli, args, f"2580\n{ACTOR[1]}\n").exit_code == 0
    stolen = tmp_path / "stolen.db"
    shutil.copy(crewed / "credentials.db", stolen)
    with sqlite3.connect(stolen) as db:
        rows = dict(db.execute("SELECT person, secret FROM credentials").fetchall())
    secret = rows[ACTOR[0]]
    assert secret.startswith("scryptp$")
    # Every 4-digit PIN, the right one included, fails without the secret...
    assert not crew.check_pin("2580", secret)
    # ...and with it (which lives outside the workspace) the right one works.
    key_file = key_of(crewed)
    assert crew.check_pin("2580", secret, load_file(key_file).pepper)


# --- a missing, wrong or stripped key -------------------------------------------------------------


def test_without_its_key_the_laptop_refuses_to_write_and_verify_does_not_vouch(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    key_file = key_of(crewed)
    key_file.rename(tmp_path / "kept-aside.key")
    line = refused(cli, ["crew", "set-pin", ACTOR[0], "--pin-stdin"], f"2580\n{ACTOR[1]}\n")
    assert "not on this laptop" in line and str(key_file) in line
    result = invoke(cli, ["verify"])
    assert result.exit_code == 1 and "DEVICE MACS NOT CHECKED" in result.stdout
    assert invoke(cli, ["verify", "--key", str(tmp_path / "kept-aside.key")]).exit_code == 0


def test_a_log_put_back_without_its_key_event_is_an_alarm(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """An older, unkeyed copy of the log (or one rebuilt without the key event) in its place:
    the config still names the device, so every writing command refuses."""
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    with Ledger.open(legacy / "log.db") as ledger:
        ledger.append("workspace.created", {"production": "Test Production"})
    for name in ("log.db-wal", "log.db-shm", "log.head"):
        (crewed / name).unlink(missing_ok=True)
    HeadMarks(crewed).outside.unlink()  # both marks gone too: the config line still knows
    shutil.copy(legacy / "log.db", crewed / "log.db")
    line = refused(cli, ["crew", "list"])
    assert "has no device key" in line


def test_a_roster_that_does_not_verify_still_lets_anyone_stop_work(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    # Written with the device key, but with no producer's PIN: the MAC holds, the meaning not.
    with Ledger.open(crewed / "log.db") as ledger:
        encoded = crew.hash_pin(EVE[1], ledger.pepper)
        ledger.append(
            "crew.added",
            {
                "name": EVE[0],
                "roles": ["armorer"],
                "approved_by": PRODUCER[0],
                "pin_fingerprint": fingerprint(encoded),
            },
            person=EVE[0],
            credential=(EVE[0], encoded),
        )
    args = ["hold", run_id, "--reason", "smell of smoke", "--by", ACTOR[0], "--pin-stdin"]
    result = invoke(cli, args, f"{ACTOR[1]}\n")
    assert result.exit_code == 0, result.output
    assert "STOP WORK" in result.output
    assert "does not verify" in result.stderr and "without a PIN" in result.stderr
    (hold,) = log_show(cli, run_id)["holds"]
    assert (hold["raised_by"]["name"], hold["authenticated"]) == (ACTOR[0], False)


def test_two_commands_keying_an_older_log_at_once_agree_on_one_key(tmp_path: Path) -> None:
    """An older workspace (no key yet) opened by two commands at the same moment: one key wins,
    the other command carries on with it, and no stray key file is left."""
    from safetycli.workspace import init_workspace

    ws = init_workspace(tmp_path / "old", "Older production")
    with Ledger.open(ws.db_path) as bare:  # written before device keys
        bare.append("workspace.created", {"production": "Older production"})
    first, second = ws.open_log(strict=False), ws.open_log(strict=False)
    keys_before = set(key_path("x").parent.glob("*.key"))
    try:
        assert first.keyed_at is None and second.keyed_at is None
        ws._key(first)
        ws._key(second)
        assert second.key is not None and second.key.device == first.device
        second.append("workspace.created", {"production": "Older production"})
        assert second.verify().ok
    finally:
        first.close()
        second.close()
    assert set(key_path("x").parent.glob("*.key")) - keys_before == {key_path(str(first.device))}


# --- the attack run's findings (2026-11-25), each reproduced ------------------------------------


def _open_held_run(cli: CliRunner, tmp_path: Path) -> str:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    args = ["hold", run_id, "--reason", "live round found", "--by", FIRST_AD[0], "--pin-stdin"]
    assert invoke(cli, args, f"{FIRST_AD[1]}\n").exit_code == 0
    return run_id


def test_a_forged_clear_is_not_laundered_by_the_next_honest_write(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """A `hold.cleared` appended with SQL; then anyone raises a hold. Before, the honest hold's
    MAC vouched for the forged clear and verify said intact. Now nothing is written on top of an
    event without the MAC: the hold says so loudly, and verify names the forged event."""
    run_id = _open_held_run(cli, tmp_path)
    seq = forge(
        crewed / "log.db",
        "hold.cleared",
        {"note": "all fine", "by": [{"name": ARMORER[0], "role": "armorer"}]},
    )
    args = ["hold", run_id, "--reason", "smoke", "--by", ACTOR[0], "--pin-stdin"]
    result = invoke(cli, args, f"{ACTOR[1]}\n")
    assert result.exit_code == 2 and "THE HOLD WAS NOT RECORDED" in result.stderr
    answers = write_answers(tmp_path / "full.yaml")
    assert "no valid device MAC" in refused(cli, ["resume", run_id, "--answers", str(answers)])
    code, report, _ = verify(cli)
    assert (code, report["first_bad_seq"]) == (1, seq)


def test_a_hold_hidden_by_renaming_it_is_refused_where_it_is_read(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """The hold's kind renamed (hash left as it was), the run resumed past it, the kind put back:
    the resume reads the edited row and refuses, so there is nothing to put back over."""
    run_id = _open_held_run(cli, tmp_path)
    with sqlite3.connect(crewed / "log.db") as db:
        db.execute("DROP TRIGGER events_no_update")
        db.execute("UPDATE events SET kind = 'hold.raisedX' WHERE kind = 'hold.raised'")
    answers = write_answers(tmp_path / "full.yaml")
    line = refused(cli, ["resume", run_id, "--answers", str(answers)])
    assert "was changed after it was written" in line
    with sqlite3.connect(crewed / "log.db") as db:
        (done,) = db.execute("SELECT count(*) FROM events WHERE kind = 'run.completed'").fetchone()
    assert done == 0


def test_a_hidden_key_event_does_not_get_the_log_a_new_key(cli: CliRunner, crewed: Path) -> None:
    """The `device.keyed` event renamed and the config line removed, so that a command would key
    the log afresh (and accept what was forged before it): the mark outside the workspace still
    names the device, and the edited row is refused where it is read."""
    with sqlite3.connect(crewed / "log.db") as db:
        db.execute("DROP TRIGGER events_no_update")
        db.execute("UPDATE events SET kind = 'device.keyed.old' WHERE kind = 'device.keyed'")
    config = crewed / "config.toml"
    config.write_text(
        "".join(line for line in config.read_text().splitlines(True) if "device" not in line)
    )
    keys_before = set(key_path("x").parent.glob("*.key"))
    assert "device" in refused(cli, ["crew", "list"])
    assert set(key_path("x").parent.glob("*.key")) == keys_before
    assert invoke(cli, ["verify"]).exit_code == 1


def test_pin_tries_given_to_nobody_are_still_counted(cli: CliRunner, crewed: Path) -> None:
    """Five wrong PINs lock the producer; the tries' person column edited (a no-break space
    added) so the count no longer finds them: the next sign-in refuses instead of guessing on."""
    args = ["crew", "add", EVE[0], "--role", "dp", "--approve-by", PRODUCER[0], "--pin-stdin"]
    for _ in range(5):
        invoke(cli, args, f"{EVE[1]}\n0000\n")
    with Ledger.open(crewed / "log.db") as ledger:
        assert crew.find(ledger, PRODUCER[0]).locked
    with sqlite3.connect(crewed / "log.db") as db:
        db.execute("DROP TRIGGER events_no_update")
        db.execute(
            "UPDATE events SET person = person || char(160) WHERE person = ?"
            " AND kind IN ('auth.attempt', 'auth.failed', 'auth.locked')",
            (PRODUCER[0],),
        )
    args = ["crew", "set-pin", PRODUCER[0], "--pin-stdin"]
    line = refused(cli, args, f"2580\n{PRODUCER[1]}\n")
    assert "was changed after it was written" in line
    with sqlite3.connect(crewed / "log.db") as db:
        (changed,) = db.execute(
            "SELECT count(*) FROM events WHERE kind = 'crew.pin-set'"
        ).fetchone()
    assert changed == 0


def test_a_sign_in_proof_does_not_approve_a_roster_change(cli: CliRunner, crewed: Path) -> None:
    """With the key: Dana signs in to a run (her `auth.ok`), and a PIN change for her is written
    right after it, riding on that proof. Only a PIN typed to approve the change counts."""
    with Ledger.open(crewed / "log.db") as ledger:
        crew.authenticate(ledger, FIRST_AD[0], FIRST_AD[1], role="first_ad", purpose="sign-in")
        encoded = crew.hash_pin("2468", ledger.pepper)
        changed = ledger.append(
            "crew.pin-set",
            {"name": FIRST_AD[0], "by": FIRST_AD[0], "pin_fingerprint": fingerprint(encoded)},
            person=FIRST_AD[0],
            credential=(FIRST_AD[0], encoded),
        )
    code, report, _ = verify(cli)
    assert code == 1 and [p["seq"] for p in report["problems"]] == [changed.seq]
    assert "does not verify" in refused_after_verify(cli, ["crew", "list"])


def test_a_damaged_mac_on_a_roster_event_is_named_by_verify(cli: CliRunner, crewed: Path) -> None:
    with sqlite3.connect(crewed / "log.db") as db:
        db.execute("DROP TRIGGER events_no_update")
        (seq,) = db.execute(
            "SELECT seq FROM events WHERE kind = 'crew.added' AND person = ?", (ACTOR[0],)
        ).fetchone()
        db.execute("UPDATE events SET mac = 'junk' WHERE seq = ?", (seq,))
    code, report, _ = verify(cli)
    assert code == 1 and [p["seq"] for p in report["problems"]] == [seq]


def test_a_name_from_the_log_in_a_refusal_is_shown_escaped(cli: CliRunner, crewed: Path) -> None:
    """A roster event written behind the CLI's back with a terminal escape in its name: the one
    line that refuses the roster shows the escape as text, it does not clear the screen."""
    with Ledger.open(crewed / "log.db") as ledger:
        ledger.append(
            "crew.added",
            {
                "name": "Eve\x1b[2J",
                "roles": ["armorer"],
                "approved_by": None,
                "pin_fingerprint": "x",
            },
            person="Eve\x1b[2J",
        )
    result = invoke(cli, ["crew", "list"])
    assert result.exit_code == 2 and "\x1b" not in result.stderr
    assert "Eve\\x1b[2J" in result.stderr
