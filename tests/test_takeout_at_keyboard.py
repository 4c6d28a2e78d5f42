"""The armorer's take-out before a run, at the keyboard, asks as the run's sign-ins ask: the crew
trial typed the DP's name at "armorer: your name" and the whole run ended (exit 2, nothing
recorded). Now a wrong name is refused in one line and the name asked again, nothing recorded
for it; a wrong PIN is refused, counted and its tries left said, as everywhere; five lock the
armorer out and the run does not start; `h` still stops before anything is taken out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from safetycli import crew
from safetycli.ledger import Ledger
from tests.test_cards_at_start import LABELS
from tests.test_interactive import HOLD_REASON, KEYS, WRONG_PIN, Crew, finished, spawn
from tests.test_signers_at_start import _revolver, _to_the_take_out, stocked  # noqa: F401
from tests.walk_helpers import ARMORER, DP, RUN_12A, protocol

TAKE_OUT_PIN = r"Sam Ortiz \(armorer\), your PIN to take these out of the armory: $"
NAME_AGAIN = r"armorer: your name \[Sam Ortiz\]: $"
STRANGER = "Nobody Here"


def _after(home: Path, seq: int) -> list[dict[str, object]]:
    """Every event after `seq`, as the log holds it: kind and data."""
    with Ledger.open(home / "log.db") as ledger:
        return [{"kind": e.kind, **e.data} for e in ledger.events() if e.seq > seq]


def _head(home: Path) -> int:
    with Ledger.open(home / "log.db") as ledger:
        return max(e.seq for e in ledger.events())


def _take_out_tries(events: list[dict[str, object]]) -> list[dict[str, object]]:
    """The PIN tries at the take-out, as the log settled them (right or wrong)."""
    return [
        e
        for e in events
        if e["kind"] in ("auth.ok", "auth.failed")
        and e.get("purpose") == "armory: issue for the run"
    ]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _type_pin(child: pexpect.spawn, pin: str) -> None:
    child.expect(TAKE_OUT_PIN)
    child.waitnoecho(timeout=5)  # never type a PIN into an echoing terminal
    child.sendline(pin)


def _walk_to_the_actor_and_stop(child: pexpect.spawn) -> str:
    """After the take-out: everyone signs in and answers until the actor's line, where the test
    stops work (exit 3); returns what the screen said."""
    items = [item for _, item in protocol().for_firearms(LABELS).items()]
    at_set = Crew(child, items)
    at_set.run(r"Signed in: Alex Kim as actor")
    child.expect(KEYS)
    child.sendline("h")
    child.expect(HOLD_REASON)
    child.sendline("end of the test")
    rest, status = finished(child)
    assert status == 3, rest
    return at_set.transcript + rest


@pytest.mark.slow
def test_a_wrong_name_at_the_take_out_is_asked_again_and_the_armorer_then_takes_it_out(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    head = _head(stocked)
    child = spawn(stocked, *RUN_12A, "--firearm", "4471")
    _to_the_take_out(child)
    child.sendline(DP[0])  # the DP's name, typed at the armorer's prompt
    child.expect(NAME_AGAIN)
    said = _flat(child.before or "")
    assert f"Refused: {DP[0]} is not on the roster as armorer" in said
    assert "PIN" not in said  # refused before any PIN was asked
    child.sendline(STRANGER)  # nobody of that name at all
    child.expect(NAME_AGAIN)
    assert f"Refused: nobody called {STRANGER} on the roster" in _flat(child.before or "")
    child.sendline("")  # Enter takes the one armorer the roster offers
    _type_pin(child, ARMORER[1])
    _walk_to_the_actor_and_stop(child)

    events = _after(stocked, head)
    assert not [e for e in events if e.get("name") in (DP[0], STRANGER)], events
    assert DP[0] not in json.dumps(events) and STRANGER not in json.dumps(events)
    proof = [(e["kind"], e["name"]) for e in _take_out_tries(events)]
    assert proof == [("auth.ok", ARMORER[0])]
    # The revolver went out with the run, the armorer recorded as taking it.
    listed = json.loads(_ok_stdout(cli, ["armory", "list", "--format", "json"]))
    (revolver,) = [f for f in listed["firearms"] if f["serial"] == "4471"]
    assert revolver["where"] != "locked" and revolver["run"]
    shown = json.loads(_ok_stdout(cli, ["armory", "show", "4471", "--format", "json"]))
    assert ARMORER[0] in json.dumps(shown) and DP[0] not in json.dumps(shown)


def _ok_stdout(cli: CliRunner, args: list[str]) -> str:
    from safetycli.cli import app

    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.slow
def test_a_wrong_pin_at_the_take_out_is_counted_and_said_then_asked_again(
    stocked: Path,  # noqa: F811
) -> None:
    head = _head(stocked)
    child = spawn(stocked, *RUN_12A, "--firearm", "4471")
    _to_the_take_out(child)
    child.sendline("")
    _type_pin(child, WRONG_PIN)
    child.expect(NAME_AGAIN)
    said = _flat(child.before or "")
    left = crew.LOCK_AFTER - 1
    assert f"Refused: wrong PIN for {ARMORER[0]} ({left} tries left before lock-out)" in said
    child.sendline("")
    _type_pin(child, ARMORER[1])
    _walk_to_the_actor_and_stop(child)
    tries = [(e["kind"], e.get("reason")) for e in _take_out_tries(_after(stocked, head))]
    assert tries == [("auth.failed", "wrong-pin"), ("auth.ok", None)]


@pytest.mark.slow
def test_five_wrong_pins_at_the_take_out_lock_the_armorer_out_and_nothing_goes_out(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    head = _head(stocked)
    child = spawn(stocked, *RUN_12A, "--firearm", "4471")
    _to_the_take_out(child)
    for left in range(crew.LOCK_AFTER - 1, 0, -1):
        child.sendline("")
        _type_pin(child, WRONG_PIN)
        child.expect(NAME_AGAIN)
        assert f"({left} tr" in _flat(child.before or "")
    child.sendline("")
    _type_pin(child, WRONG_PIN)
    rest, status = finished(child)
    assert status == 2, rest
    assert re.search(r"locked after \d+ wrong PINs", _flat(rest)), rest
    kinds = [e["kind"] for e in _after(stocked, head)]
    # Every try is in the log; no run started and nothing left the armory.
    assert kinds.count("auth.failed") == crew.LOCK_AFTER
    assert not [k for k in kinds if not k.startswith(("auth.", "crew."))], kinds
    assert _revolver(cli) == "locked"
