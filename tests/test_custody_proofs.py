"""verify checks every custody event against the PIN proofs its kind needs (custodycheck.py).

Each forgery is written as an insider running code with the device key would: through the
ledger's own append, so its chain and MAC hold, and only what it means is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli.events import ARMORY_KINDS, AUTH_OK, DEVICE_KEYED, ITEM_DONE, NewEvent
from safetycli.ledger import Ledger, canonical_json, now_utc, row_hash
from tests.test_armory import armorer, hand_over, stocked  # noqa: F401  (the fixture)
from tests.test_per_firearm import _blank_scene
from tests.walk_helpers import ACTOR, ARMORER, DAY, DP, invoke

BY = ARMORER[0]
# A payload for each custody kind, as the armory writes it.
SAMPLES: dict[str, dict[str, Any]] = {
    "armory.firearm-added": {
        "by": BY,
        "kind": "real",
        "make": "Colt",
        "model": "SAA",
        "serial": "FX9",
    },
    "armory.lot-added": {
        "by": BY,
        "count": 10,
        "load": "half",
        "lot": "L-9",
        "type": "blank",
    },
    "armory.unlocked": {"by": BY, "keys": [BY]},
    "armory.locked": {"by": BY, "keys": [BY]},
    "armory.issued": {"by": BY, "for_run": None, "serial": "4471"},
    "armory.handed-over": {"by": BY, "serial": "4471", "to": ACTOR[0]},
    "armory.taken-back": {"by": BY, "holder": ACTOR[0], "serial": "4471"},
    "armory.returned": {"by": BY, "serial": "4471"},
    "armory.rounds-issued": {"by": BY, "count": 2, "day": DAY, "for_run": None, "lot": "B-7"},
    "armory.rounds-fired": {"by": BY, "count": 1, "day": DAY, "for_run": None, "lot": "B-7"},
    "armory.rounds-returned": {"by": BY, "count": 1, "day": DAY, "for_run": None, "lot": "B-7"},
    "armory.rounds-spoiled": {"by": BY, "count": 1, "day": DAY, "for_run": None, "lot": "B-7"},
    "armory.dummies-checked": {
        "by": BY,
        "day": DAY,
        "lot": "D-1",
        "methods": ["rattle"],
        "rounds": 30,
    },
}


def _ok(name: str, role: str | None, purpose: str) -> NewEvent:
    return NewEvent(AUTH_OK, {"name": name, "role": role, "purpose": purpose}, person=name)


def _append(home: Path, *events: NewEvent) -> list[int]:
    with Ledger.open(home / "log.db") as ledger:
        return [e.seq for e in ledger.append_many(list(events))]


def _verify(cli: CliRunner) -> tuple[int, list[str]]:
    result = invoke(cli, ["verify"])
    return result.exit_code, result.output.splitlines()


def _named(lines: list[str], seq: int, kind: str) -> list[str]:
    return [line for line in lines if f"event {seq} ({kind}" in line]


def test_every_custody_kind_is_covered_by_the_samples() -> None:
    assert set(SAMPLES) == set(ARMORY_KINDS)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_a_custody_event_appended_without_any_pin_is_named(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    kind: str,
) -> None:
    assert _verify(cli)[0] == 0  # the stocked armory, every event with its proofs
    (seq,) = _append(stocked, NewEvent(kind, SAMPLES[kind], person=BY))
    code, lines = _verify(cli)
    assert code == 1
    (line,) = _named(lines, seq, kind)
    assert "PIN" in line


def test_a_custody_event_right_after_another_commands_approval_is_named(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    """The approval before a command's custody is spent on that command: a different custody
    event appended right after it has none of its own."""
    armorer(cli, "issue", "4471")
    (seq,) = _append(stocked, NewEvent("armory.returned", SAMPLES["armory.returned"], person=BY))
    code, lines = _verify(cli)
    assert code == 1
    assert _named(lines, seq, "armory.returned")


def test_a_hand_over_without_the_receivers_pin_is_named(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    armorer(cli, "issue", "4471")
    seqs = _append(
        stocked,
        _ok(BY, "armorer", "armory: hand 4471 to Alex Kim"),
        NewEvent("armory.handed-over", SAMPLES["armory.handed-over"], person=BY),
    )
    code, lines = _verify(cli)
    assert code == 1
    (line,) = _named(lines, seqs[-1], "armory.handed-over")
    assert ACTOR[0] in line and "receives" in line


def test_a_proof_of_someone_who_is_not_the_armorer_is_named(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    """The director of photography's PIN, logged as if typed as armorer: the roster at that
    moment says they are no armorer."""
    who = DP[0]
    seqs = _append(
        stocked,
        _ok(who, "armorer", "armory: lock the storage"),
        NewEvent("armory.locked", {"by": who, "keys": [who]}, person=who),
    )
    code, lines = _verify(cli)
    assert code == 1
    (line,) = _named(lines, seqs[-1], "armory.locked")
    assert who in line and "roster" in line


def test_a_pin_typed_for_something_else_is_no_custody_proof(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    """The armorer's PIN typed to sign off a run's checks approves no custody command."""
    seqs = _append(
        stocked,
        _ok(BY, "armorer", "sign-off"),
        NewEvent("armory.issued", SAMPLES["armory.issued"], person=BY),
    )
    code, lines = _verify(cli)
    assert code == 1 and _named(lines, seqs[-1], "armory.issued")


def test_intact_armory_days_verify(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Commands and a walk-through that takes a firearm and blanks out, hands the firearm over
    and back on each take, counts the blanks and locks up: every custody event holds."""
    _blank_scene(cli, tmp_path, 12)
    armorer(cli, "issue", "B88120")
    hand_over(cli, "B88120", ACTOR)
    armorer(cli, "take-back", "B88120")
    armorer(cli, "return", "B88120")
    armorer(cli, "check-dummies", "--lot", "D-1", "--method", "rattle")
    armorer(cli, "lock", "--key-holder", BY)
    with Ledger.open(stocked / "log.db") as ledger:
        kinds = {e.kind for e in ledger.events(kinds=ARMORY_KINDS)}
    # Written by the walk-through, after its signatures rather than after an approval:
    assert {"armory.handed-over", "armory.taken-back", "armory.rounds-fired"} <= kinds
    code, lines = _verify(cli)
    assert code == 0, "\n".join(lines)


def test_a_walk_through_move_of_a_firearm_its_write_did_not_check_is_named(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Appended right after the walk-through's last write: the signatures there are of the
    checks of firearm 4471, not of B88120."""
    _blank_scene(cli, tmp_path, 12)
    data = {"by": BY, "serial": "B88120", "to": ACTOR[0]}
    with Ledger.open(stocked / "log.db") as ledger:
        last = list(ledger.window(ledger.head()[0] + 1, 1))[0]
    assert last.run is not None  # the walk-through wrote last
    (seq,) = _append(stocked, NewEvent("armory.handed-over", data, person=BY))
    code, lines = _verify(cli)
    assert code == 1
    (line,) = _named(lines, seq, "armory.handed-over")
    assert "B88120" in line


def _pulled(home: Path, device: str, kinds_data: list[tuple[str, dict[str, Any]]]) -> None:
    """Another laptop of the production, its events pulled and sealed as sync stores them: its
    key event (this production's secret) and then `kinds_data` in its chain."""
    from safetycli.central.foreign import ForeignLog, path_of

    with Ledger.open(home / "log.db") as ledger:
        assert ledger.key is not None
        seal, pepper = ledger.key.foreign_seal, ledger.key.pepper_id
    keyed = {"device": device, "key_id": "k" * 16, "pepper_id": pepper, "scheme": "hmac-sha256-128"}
    rows, prev = [], "0" * 64
    for seq, (kind, data) in enumerate([(DEVICE_KEYED, keyed), *kinds_data], start=1):
        at = now_utc()  # after this laptop's roster: the merge orders by time
        text = canonical_json(data)
        person = data.get("name") or data.get("by")
        digest = row_hash(seq, at, kind, None, person, text, prev)
        if kind != ITEM_DONE:  # a run's signatures are not pulled
            rows.append((seq, at, kind, None, person, text, prev, digest, None))
        prev = digest
    foreign = ForeignLog.open(path_of(home / "log.db"))
    try:
        stored, refused = foreign.add(device, len(rows), prev, rows, seal=seal)
    finally:
        foreign.close()
    assert refused is None and stored == len(rows)
    assert rows[-1][0] == len(kinds_data) + 1


def test_a_pulled_devices_custody_event_without_proofs_is_named_with_its_device(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    _pulled(
        stocked,
        "b0b0b0b0b0b0b0b0",
        [
            ("armory.issued", {"by": BY, "for_run": None, "serial": "B88120"}),
            ("armory.returned", {"by": BY, "serial": "B88120"}),
        ],
    )
    code, lines = _verify(cli)
    assert code == 1
    named = [line for line in lines if "device b0b0b0b0b0b0b0b0 event" in line]
    assert [line.split("(")[1].split(" ")[0] for line in named] == [
        "armory.issued",
        "armory.returned",
    ]


def test_a_pulled_devices_custody_event_with_its_proof_verifies(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    _pulled(
        stocked,
        "c0c0c0c0c0c0c0c0",
        [
            (AUTH_OK, {"name": BY, "role": "armorer", "purpose": "armory: issue B88120"}),
            ("armory.issued", {"by": BY, "for_run": None, "serial": "B88120"}),
        ],
    )
    code, lines = _verify(cli)
    assert code == 0, "\n".join(lines)


def test_a_pulled_walk_through_move_is_left_to_its_own_laptop(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    """The signatures a walk-through wrote its custody after are not pulled: this laptop cannot
    see them, and does not call the move unproven (that laptop's verify checks it)."""
    done = {"item": "handed-over@B88120", "outcome": "confirmed"}
    _pulled(
        stocked,
        "d0d0d0d0d0d0d0d0",
        [
            (AUTH_OK, {"name": BY, "role": "armorer", "purpose": "armory: issue B88120"}),
            ("armory.issued", {"by": BY, "for_run": None, "serial": "B88120"}),
            (ITEM_DONE, done),
            ("armory.handed-over", {"by": BY, "serial": "B88120", "to": ACTOR[0]}),
        ],
    )
    code, lines = _verify(cli)
    assert code == 0, "\n".join(lines)


def test_another_laptops_custody_between_two_events_of_one_write_changes_nothing() -> None:
    """The merged order is by time: another laptop's custody may fall between two events of
    one command of this laptop, which are still one write after the same PIN."""
    from safetycli.custodycheck import CustodyAudit
    from safetycli.events import Event

    def event(seq: int, kind: str, data: dict[str, Any], device: str | None = None) -> Event:
        return Event(seq, "", kind, None, None, data, "", "", device)

    ok = {"name": BY, "role": "armorer", "purpose": "armory: issue"}
    here = [event(10, AUTH_OK, ok)]
    here += [event(11 + n, "armory.issued", {"by": BY, "serial": s}) for n, s in enumerate("AB")]
    there = [event(5, AUTH_OK, ok, "x"), event(6, "armory.issued", {"by": BY, "serial": "C"}, "x")]
    logs = {None: here, "x": there}

    def window(of: Event, size: int) -> list[Event]:
        return [e for e in logs[of.device] if of.seq - size <= e.seq < of.seq]

    audit = CustodyAudit(window, lambda name, role: True)
    assert [audit.check(e) for e in (here[1], there[1], here[2])] == [None, None, None]
    # The same two events of this laptop with no PIN before them are both named.
    unproven = CustodyAudit(lambda of, size: [], lambda name, role: True)
    assert all(unproven.check(e) for e in (here[1], here[2]))


def test_a_walk_through_hand_over_needs_the_receivers_witness_signature_in_its_write() -> None:
    """The walk-through's proof of a hand-over: the armorer's confirmed check of that firearm
    and the receiver's signature witnessing it, in the write the move is in."""
    from safetycli.custodycheck import CustodyAudit
    from safetycli.events import ITEM_SIGNED_OFF, Event

    item = "handed-over@4471"

    def write(receiver: str) -> list[Event]:
        signed = {
            "name": receiver,
            "role": "actor",
            "phase": "takes",
            "take": 1,
            "items": [{"item": item, "meaning": "witnessed", "answer": True}],
        }
        done = {"item": item, "outcome": "confirmed", "by": {"name": BY, "role": "armorer"}}
        moved = {"by": BY, "serial": "4471", "to": ACTOR[0]}
        return [
            Event(20, "", ITEM_SIGNED_OFF, "r-1", receiver, signed, "", ""),
            Event(21, "", ITEM_DONE, "r-1", None, done, "", ""),
            Event(22, "", "armory.handed-over", None, BY, moved, "", ""),
        ]

    def check(events: list[Event]) -> str | None:
        def window(of: Event, size: int) -> list[Event]:
            return [e for e in events if of.seq - size <= e.seq < of.seq]

        return CustodyAudit(window, lambda name, role: True).check(events[-1])

    assert check(write(ACTOR[0])) is None
    problem = check(write(DP[0]))  # someone else witnessed it
    assert problem is not None and ACTOR[0] in problem
