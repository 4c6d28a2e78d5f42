"""A stop-work written on a laptop whose sync the server refuses still stops the production.

Laptop A is put back from an older copy and written on (its chain forks from what the server
holds): the server refuses its events with an alarm, yet the stop-work on it travels, kept apart
on the server as unverified (never in the production's log), and stops the scene on every other
laptop until a producer clears it there with the armorer and the 1st AD.

Runs against the real throwaway PostgreSQL (tests/pgserver.py) with real workspaces.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from safetycli.central.store import CentralStore
from safetycli.central.sync import _foreign_of, open_stop_rows
from safetycli.ledger import Ledger
from tests.test_central import (
    Laptop,
    _as_role,
    device_of,
    on,
    server_rows,
    sync,
)
from tests.walk_helpers import (
    ARMORER,
    CLEAR_PINS,
    CLEARERS,
    FIRST_AD,
    PRODUCER,
    cheap_pins,
    invoke,
    log_list,
    ok,
    one_line_error,
    write_answers,
)

DAY = "2026-11-23"


def unverified_on_server(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT device, kind, (data::jsonb) ->> 'scene' FROM unverified_stops"
            " ORDER BY device, seq"
        ).fetchall()


def alarms(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT device, what FROM alarms ORDER BY id").fetchall()


def board(cli: CliRunner, *extra: str) -> dict[str, Any]:
    return json.loads(ok(cli, ["status", "--format", "json", *extra]).stdout)


def forked(cli: CliRunner, a: Path, central: str, tmp_path: Path) -> None:
    """Laptop A, which synced, is put back from a copy older than what the server holds of it
    (the marks kept outside the workspace deleted too): it writes on a chain the server refuses."""
    older = tmp_path / "a-older"
    shutil.copytree(a, older)
    ok(cli, ["hold", "--home", str(a), "--scene", "30", "--reason", "rain", "--by", "A Visitor"])
    sync(cli, a, central)
    shutil.rmtree(a)
    shutil.copytree(older, a)
    shutil.rmtree(tmp_path / "state")


def start_12a(cli: CliRunner, answers: Path) -> Any:
    return invoke(
        cli, ["run", "firearm-scene", "--scene", "12a", "--day", DAY, "--answers", str(answers)]
    )


def test_a_stop_work_on_a_forked_laptop_reaches_b_and_c_and_holds_12a_until_a_producer_clears(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b, c = laptop("a"), laptop("b"), laptop("c")
    answers = write_answers(tmp_path / "pass.yaml")
    # Scene 9's stop-work is on the server as a record before A forks: it never goes twice.
    ok(cli, ["hold", "--home", str(a), "--scene", "9", "--reason", "smoke", "--by", "A Visitor"])
    for ws in (a, b, c, a):
        sync(cli, ws, central)
    forked(cli, a, central, tmp_path)
    on(a, monkeypatch)
    ok(cli, ["hold", "--scene", "12A", "--reason", "holster strap loose", "--by", "A Visitor"])
    pushed = server_rows(central)

    refused = sync(cli, a, central, expect=1)
    assert "nothing of it was merged" in refused.stderr and "Traceback" not in refused.output
    assert "unverified" in refused.stdout  # it says its stop-work went all the same
    assert server_rows(central) == pushed  # nothing of A's refused chain in the production's log
    assert (device_of(a), "equivocation") in alarms(central)
    assert unverified_on_server(central) == [(device_of(a), "scene.held", "12A")]
    assert sync(cli, a, central, expect=1)  # sent again: kept once
    assert len(unverified_on_server(central)) == 1

    # B pulls it: its board shows a HOLD naming A and the refusal; 12A does not start there,
    # nor does B's own run of 12A, left open before the sync, go on.
    on(b, monkeypatch)
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    assert start_12a(cli, partial).exit_code == 4
    (open_on_b,) = [r["id"] for r in board(cli)["runs"]]
    assert "unverified stop-work" in sync(cli, b, central).stdout
    resumed = invoke(cli, ["resume", open_on_b, "--answers", str(answers)])
    assert resumed.exit_code == 2 and device_of(a) in one_line_error(resumed)
    (on_board,) = board(cli)["runs"]
    assert on_board["scene_held"] and device_of(a) in on_board["scene_stop"]
    assert [r["scene_held"] for r in log_list(cli)] == [True]
    line = one_line_error(start_12a(cli, answers))
    assert line.startswith(f"scene 12A is held: stop-work from laptop {device_of(a)}"), line
    assert "refused" in line and "holster strap loose" in line and "producer" in line
    assert start_12a(cli, answers).exit_code == 2
    (shown,) = board(cli)["unverified_stop_work"]
    assert (shown["device"], shown["scene"], shown["kind"]) == (device_of(a), "12A", "stop-work")
    assert "equivocation" in shown["alarm"] and "--scene" in shown["clear"]
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert all(f"`{key}`" in readme for key in shown), "status JSON keys, in the README"
    table = ok(cli, ["status"]).stdout
    assert "UNVERIFIED" in table and device_of(a) in table and "HELD" in table
    # The producer's view of the whole production lists it too.
    (central_shown,) = board(cli, "--central", central)["unverified_stop_work"]
    assert central_shown["device"] == device_of(a) and central_shown["scene"] == "12A"
    # So does C, the production's third laptop.
    on(c, monkeypatch)
    sync(cli, c, central)
    assert one_line_error(start_12a(cli, answers)).startswith("scene 12A is held")

    # The armorer and the 1st AD alone cannot lift it: the alarm is the producer's to know.
    on(b, monkeypatch)
    clear = ["clear", "--scene", "12A", "--note", "strap replaced, checked", *CLEARERS]
    with cheap_pins():
        without = invoke(cli, [*clear, "--pin-stdin"], input=CLEAR_PINS)
        assert without.exit_code == 2 and "producer" in one_line_error(without)
        assert start_12a(cli, answers).exit_code == 2
        pins = f"{ARMORER[1]}\n{FIRST_AD[1]}\n{PRODUCER[1]}\n"
        ok(cli, [*clear, "--by", f"producer={PRODUCER[0]}", "--pin-stdin"], input=pins)
    assert board(cli)["unverified_stop_work"] == []
    assert invoke(cli, ["resume", open_on_b, "--answers", str(answers)]).exit_code == 0
    assert [r["scene_held"] for r in log_list(cli)] == [False]
    assert start_12a(cli, answers).exit_code == 0
    # B's clearance travels as B's own event: C, and the central board, are free of it too.
    sync(cli, b, central)
    on(c, monkeypatch)
    sync(cli, c, central)
    assert board(cli)["unverified_stop_work"] == []
    assert start_12a(cli, answers).exit_code == 0
    assert board(cli, "--central", central)["unverified_stop_work"] == []
    # The producer's report of the production names it, and who lifted it, first among the
    # exceptions; every format escapes what the refused laptop wrote.
    today = datetime.now(UTC).date().isoformat()
    report = ["report", "--central", central, "--day", today]
    (line,) = json.loads(ok(cli, [*report, "--format", "json"]).stdout)["exceptions"][
        "between_laptops"
    ]
    assert line.startswith(f"UNVERIFIED stop-work from laptop {device_of(a)}")
    assert "scene 12A" in line and "strap replaced" in line and PRODUCER[0] in line
    assert "UNVERIFIED stop-work" in ok(cli, [*report, "--format", "md"]).stdout


def test_a_run_held_on_a_forked_laptop_holds_its_scene_on_b(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b = laptop("a"), laptop("b")
    for ws in (a, b, a):
        sync(cli, ws, central)
    forked(cli, a, central, tmp_path)
    on(a, monkeypatch)
    held = write_answers(tmp_path / "held.yaml", answers={"meeting-held": False})
    run = ["run", "firearm-scene", "--scene", "14", "--day", DAY]
    assert invoke(cli, [*run, "--answers", str(held)]).exit_code == 3
    sync(cli, a, central, expect=1)
    kinds = sorted(k for _, k, _ in unverified_on_server(central))
    assert kinds == ["hold.raised", "run.started"]

    on(b, monkeypatch)
    sync(cli, b, central)
    passing = write_answers(tmp_path / "pass.yaml")
    line = one_line_error(invoke(cli, [*run, "--answers", str(passing)]))
    assert line.startswith(f"scene 14 is held: stop-work from laptop {device_of(a)}"), line
    assert "Safety meeting" in line  # the failed check's hold, as A raised it
    (shown,) = board(cli)["unverified_stop_work"]
    assert (shown["kind"], shown["scene"], shown["device"]) == ("run hold", "14", device_of(a))
    assert shown["run"] is not None
    assert invoke(cli, [*run[:3], "15", *run[4:], "--answers", str(passing)]).exit_code == 0


def test_a_misfire_on_a_forked_laptop_stops_firearm_work_on_b_until_cleared_by_name(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An incident (a misfire, an advisor's halt) stops firearm work in every scene, as a
    verified one does; it names no scene to clear, so it is cleared by its name on the board,
    by the roles that close its kind, a producer among them."""
    a, b = laptop("a"), laptop("b")
    for ws in (a, b, a):
        sync(cli, ws, central)
    forked(cli, a, central, tmp_path)
    on(a, monkeypatch)
    ok(cli, ["incident", "report", "--kind", "misfire", "--text", "click, no bang"])
    ok(cli, ["incident", "report", "--kind", "near-miss", "--text", "cart unattended"])
    sync(cli, a, central, expect=1)
    assert [k for _, k, _ in unverified_on_server(central)] == ["incident.reported"]  # stopping

    on(b, monkeypatch)
    sync(cli, b, central)
    passing = write_answers(tmp_path / "pass.yaml")
    run = ["run", "firearm-scene", "--scene", "40", "--day", DAY, "--answers", str(passing)]
    line = one_line_error(invoke(cli, run))
    assert line.startswith(f"firearm work is held: stop-work from laptop {device_of(a)}"), line
    assert "click, no bang" in line
    (shown,) = board(cli)["unverified_stop_work"]
    assert (shown["kind"], shown["scene"]) == ("incident", None)
    assert f"--unverified {shown['ref']}" in shown["clear"]
    assert "firearm work, every scene" in ok(cli, ["status"]).stdout

    clear = ["clear", "--unverified", shown["ref"], "--note", "firing pin replaced"]
    armorer = ["--by", f"armorer={ARMORER[0]}"]
    with cheap_pins():
        alone = invoke(cli, [*clear, *armorer, "--pin-stdin"], input=f"{ARMORER[1]}\n")
        assert alone.exit_code == 2 and "producer" in one_line_error(alone)
        assert invoke(cli, ["clear", "--unverified", "nope:1", "--note", "x"]).exit_code == 2
        by = [*armorer, "--by", f"producer={PRODUCER[0]}", "--pin-stdin"]
        ok(cli, [*clear, *by], input=f"{ARMORER[1]}\n{PRODUCER[1]}\n")
    assert board(cli)["unverified_stop_work"] == []
    assert invoke(cli, run).exit_code == 0


def test_the_server_keeps_only_stop_work_of_a_refused_device_with_its_mac(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b = laptop("a"), laptop("b")
    for ws in (a, b, a):
        sync(cli, ws, central)
    ok(cli, ["hold", "--home", str(b), "--scene", "7", "--reason", "smoke", "--by", "A Visitor"])
    with Ledger.open(b / "log.db", create=False) as ledger:
        rows = open_stop_rows(ledger)
    assert [r[2] for r in rows] == ["scene.held"]
    with CentralStore.connect(central) as store:
        # B is under no alarm: its events come in as a record, never beside one.
        assert store.send_unverified(device_of(b), rows) is None
    sync(cli, b, central)
    with CentralStore.connect(central) as store:  # and once they are in, none is missing
        assert store.send_unverified(device_of(b), rows) == 0
    forked(cli, a, central, tmp_path)
    ok(cli, ["hold", "--home", str(a), "--scene", "8", "--reason", "smoke", "--by", "A Visitor"])
    crew = _as_role(central, "crew_laptops")  # the laptops' role: through the function only
    sync(cli, a, crew, expect=1)
    assert len(unverified_on_server(central)) == 1
    with psycopg.connect(crew, autocommit=True) as conn:
        for sql in (
            "INSERT INTO unverified_stops (device, seq, hash, at, kind, data, prev_hash, alarm)"
            " VALUES ('x', 1, 'h', 'now', 'scene.held', '{}', 'p', 1)",
            "DELETE FROM unverified_stops",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
    with Ledger.open(a / "log.db", create=False) as ledger:
        (row,) = open_stop_rows(ledger)
        everything = [r for batch in ledger.stored_rows(0, 1000) for r in batch]
    forged = (row[0] + 1000, *row[1:8], "0" * 32)  # a MAC the device did not make
    changed = (*row[:5], row[5].replace('"8"', '"99"'), *row[6:])  # content off its hash
    with CentralStore.connect(central) as store:
        assert store.send_unverified(device_of(a), [forged, changed]) == 0
        # Nothing but what stops work: A's roster, its run starts without a hold, and so on.
        assert store.send_unverified(device_of(a), everything) == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            store.send_unverified("no-such-device", [row])
    assert len(unverified_on_server(central)) == 1


def test_an_unverified_stop_work_deleted_from_foreign_db_is_refused_not_forgotten(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a, b = laptop("a"), laptop("b")
    for ws in (a, b, a):
        sync(cli, ws, central)
    forked(cli, a, central, tmp_path)
    ok(cli, ["hold", "--home", str(a), "--scene", "12A", "--reason", "smoke", "--by", "A Visitor"])
    sync(cli, a, central, expect=1)
    sync(cli, b, central)
    db = sqlite3.connect(b / "foreign.db")
    db.execute("DROP TRIGGER unverified_no_delete")
    assert db.execute("DELETE FROM unverified_stops").rowcount == 1
    db.commit()
    db.close()
    on(b, monkeypatch)
    line = one_line_error(start_12a(cli, write_answers(tmp_path / "pass.yaml")))
    assert "foreign.db" in line and "deleted, changed or added" in line
    assert invoke(cli, ["status"]).exit_code == 2
    # The next pull does not seal over the deletion either.
    with Ledger.open(b / "log.db", create=False) as ledger:
        with pytest.raises(Exception, match="deleted, changed or added"):
            _foreign_of(ledger).add_unverified([], ledger.key.foreign_seal if ledger.key else None)
