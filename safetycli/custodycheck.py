"""What custody events mean, checked: each one follows the PIN proofs its kind requires.

The chain and the device MAC prove a custody event was written on this laptop and not edited
since; they do not prove anyone vouched for it. Someone who can run code with the device key
could append `armory.handed-over` through the ledger and the fold would believe it. safetycli
never writes custody that way, in either of its two writers:

- a command (`safetycli armory ...`, and a run's start taking firearms and rounds out) writes
  the `auth.ok` of each person `needed` names, right before its custody events, in one
  transaction: an unbroken run of approvals typed for the armory (purpose `armory: ...`);
- the walk-through writes the custody a check moves (`moves:` in the protocol) with the
  signatures that settle that check, in one transaction: the check's `item.done`, confirmed and
  performed by the armorer (for a hand-over or a take-back, the check of that firearm) and, for
  a hand-over, the receiver's witness signature of that check; each signature was given with a
  PIN (the runner asks it).

Both forms have held since custody events exist (git: 78c7f94 for commands, c204a57 for a run's
start, 24f1048 for the walk-through), so every log safetycli wrote verifies. Which check of a
protocol moves custody is in the protocol, not the log: a walk-through move is checked against
the signatures of its write, not against the protocol's `moves:`.

Who must prove what is `needed`, the one rule: the armory commands ask exactly those PINs
(cli/armory_cmd.py) and `verify` checks them here, with each person holding the role (the
armorer) or on the roster at all (the receiver) when it was written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from safetycli import perfirearm
from safetycli.events import (
    ARMORY_HANDED_OVER,
    ARMORY_ISSUED,
    ARMORY_KINDS,
    ARMORY_RETURNED,
    ARMORY_ROUNDS_ISSUED,
    ARMORY_TAKEN_BACK,
    AUTH_KINDS,
    AUTH_OK,
    ITEM_DONE,
    ITEM_WITNESSED,
    Event,
    expand,
)
from safetycli.names import fold_name

if TYPE_CHECKING:
    from safetycli.ledger import Ledger

ARMORER = "armorer"
# The few names of a season's approvals and checks, folded once each: verify compares ~35,000
# of them (a pure function of the text, so remembering it changes no answer).
_folded = lru_cache(maxsize=4096)(fold_name)
# What an `auth.ok` typed for the armory says it was for (cli/armory_cmd.py, session.py): a PIN
# typed to sign in to a run or sign off its checks approves no custody command.
PURPOSE = "armory: "
# How far back a walk-through's signatures are looked for: its write holds the sign-off, the
# `item.done` of every check it settles and the custody they move.
WALK_WINDOW = 96
_COMMAND_WINDOW = 8


@dataclass(frozen=True)
class Needed:
    """One person whose PIN approves a custody event: `role` they act in (the armorer), or None
    for the receiver of a hand-over, who proves their own PIN whatever their roles."""

    name: str
    role: str | None

    @property
    def receives(self) -> bool:
        return self.role is None


def needed(kind: str, data: Mapping[str, Any]) -> tuple[Needed, ...]:
    """Whose PIN every custody event of `kind` needs: the armorer acting (`by`), and for a
    hand-over the person receiving the firearm (`to`)."""
    armorer = Needed(str(data.get("by") or ""), ARMORER)
    if kind == ARMORY_HANDED_OVER:
        return (armorer, Needed(str(data.get("to") or ""), None))
    return (armorer,)


# The custody one command writes after its proofs: one event, except a command that moves
# several firearms or lots the same way (each once), and a run's start, which takes its firearms
# and then its rounds out. Anything more after those PINs was not approved by them.
_TOGETHER = {
    ARMORY_ISSUED: (ARMORY_ISSUED, ARMORY_ROUNDS_ISSUED),
    ARMORY_ROUNDS_ISSUED: (ARMORY_ROUNDS_ISSUED,),
    ARMORY_RETURNED: (ARMORY_RETURNED,),
}


def describe(event: Event, problem: str) -> str:
    """One line naming the event (and the firearm or lot it moves)."""
    what = event.data.get("serial") or event.data.get("lot")
    subject = f" {what}" if isinstance(what, str) and what else ""
    line = f"event {event.seq} ({event.kind}{subject}): {problem}"
    return line if event.device is None else f"device {event.device} {line}"


@dataclass
class _Write:
    """The write a run of consecutive custody events belongs to: what came right before the
    first of them (the command's proofs, or the walk-through's signatures)."""

    device: str | None
    last: int
    first_kind: str
    subjects: set[tuple[str, str]]  # (kind, firearm or lot) moved so far in this write
    proofs: list[Event]  # unbroken `auth.ok` run right before (the command form)
    signed: list[Event]  # the run's events right before, read item by item (the walk-through)
    # Another device's event right after one of a kind not pulled (a walk-through's
    # signatures stay on their laptop): what moved it is not here to check.
    unseen: bool = False


class CustodyAudit:
    """Fed each custody event in the roster's merged order (rostermerge.py), with `holds(name,
    role)` answering from the roster as folded so far; returns what is wrong, or None."""

    def __init__(
        self,
        window: Callable[[Event, int], Sequence[Event]],
        holds: Callable[[str, str | None], bool],
    ) -> None:
        self.window = window
        self.holds = holds
        self.writes: dict[str | None, _Write] = {}  # the write each device's last one was in
        self.local: Iterable[Event] = ()  # this laptop's custody events in log order (`over`)

    def check(self, event: Event) -> str | None:
        # Per device: the merge may put another laptop's custody between two events of one
        # write of this laptop (it orders by time).
        write = self.writes.get(event.device)
        if write is None or write.last != event.seq - 1:
            write = self.writes[event.device] = self._write_before(event)
        else:
            write.last = event.seq
        if write.unseen:
            return None  # checked by its own laptop's verify (its signatures are not pulled)
        if write.proofs:
            return self._by_command(event, write)
        if write.signed:
            return self._by_walk_through(event, write)
        return "no PIN proof before it: neither the armorer's approval nor a run's signatures"

    def _write_before(self, event: Event) -> _Write:
        before = list(self.window(event, _COMMAND_WINDOW))
        if event.device is not None and (not before or before[-1].seq != event.seq - 1):
            return _Write(event.device, event.seq, event.kind, set(), [], [], unseen=True)
        proofs: list[Event] = []
        expected = event.seq - 1
        for candidate in reversed(before):
            if candidate.seq != expected or candidate.kind != AUTH_OK:
                break
            proofs.append(candidate)
            expected -= 1
        signed: list[Event] = []
        if not proofs and before and before[-1].seq == event.seq - 1 and before[-1].run:
            run = before[-1].run
            expected = event.seq - 1
            for candidate in reversed(list(self.window(event, WALK_WINDOW))):
                if candidate.seq != expected or candidate.run != run:
                    break
                if candidate.kind in AUTH_KINDS or candidate.kind in ARMORY_KINDS:
                    break
                signed.extend(expand(candidate))
                expected -= 1
        return _Write(event.device, event.seq, event.kind, set(), proofs, signed)

    def _by_command(self, event: Event, write: _Write) -> str | None:
        subject = (event.kind, str(event.data.get("serial") or event.data.get("lot") or ""))
        again = subject in write.subjects
        write.subjects.add(subject)
        allowed = _TOGETHER.get(write.first_kind, ())
        if len(write.subjects) > 1 or again:
            if again or event.kind not in allowed:
                return (
                    f"no PIN proof of its own: it follows the {write.first_kind} those PINs "
                    "approved, with none between"
                )
        for who in needed(event.kind, event.data):
            if not who.name:
                return "it names no armorer"
            proof = next((ok for ok in write.proofs if _proves(ok, who)), None)
            if proof is None:
                whose = (
                    f"{who.name}, who receives it," if who.receives else f"the armorer {who.name}"
                )
                return f"no PIN proof by {whose} in the same transaction"
            if not self.holds(who.name, who.role):
                return _not_holding(who)
        return None

    def _by_walk_through(self, event: Event, write: _Write) -> str | None:
        serial = event.data.get("serial")
        per_firearm = event.kind in (ARMORY_HANDED_OVER, ARMORY_TAKEN_BACK)
        for who in needed(event.kind, event.data):
            if not who.name:
                return "it names no armorer"
            if who.receives:
                done = _settled(write.signed, event.data.get("by"), serial if per_firearm else None)
                items = {str(d.data.get("item")) for d in done}
                if not any(_witnessed(s, who.name, items) for s in write.signed):
                    return (
                        f"no signature of {who.name}, who receives it, on the check that hands "
                        "it over in the same transaction"
                    )
            elif not _settled(write.signed, who.name, serial if per_firearm else None):
                what = f"no check of firearm {serial}" if per_firearm else "no check"
                return (
                    f"{what} in run {write.signed[0].run} confirmed by the armorer {who.name} "
                    "in the same transaction"
                )
            if not self.holds(who.name, who.role):
                return _not_holding(who)
        return None


def over(
    ledger: Ledger,
    holds: Callable[[str, str | None], bool],
    fold: Callable[[Event], None] | None = None,
) -> CustodyAudit:
    """The audit over this laptop's log and what it pulled; its `local` streams this laptop's
    custody events, for the roster's merge. Another device's events before a custody event
    count only with the seal this laptop made as it pulled them (one slipped into foreign.db by
    someone with the workspace files alone proves nothing). `fold`, when given, is handed each
    of this laptop's custody events as it is read, whole (every field, its hash checked): the
    armory checkpoint's check folds them without reading them again (audit.py)."""
    # This laptop's custody events and the approvals right before each (back to the first
    # other event, at most `depth`), read in one statement through the kind index (a custody
    # command writes one or two approvals), streamed: only the fields looked at are decoded,
    # but the custody events themselves when `fold` takes them whole.
    depth = 3
    before: dict[int, list[Event]] = {}

    def stream() -> Iterator[Event]:
        recent: deque[Event] = deque(maxlen=depth)
        for event in ledger.near(ARMORY_KINDS, depth, _FIELDS, AUTH_OK, whole=fold is not None):
            if event.kind in _CUSTODY:
                if fold is not None:
                    fold(event)
                before[event.seq] = list(recent)
                yield event
            recent.append(event)

    def local(event: Event, size: int) -> list[Event]:
        rows = {e.seq: e for e in before.pop(event.seq, [])}
        for done in [seq for seq in before if seq < event.seq]:
            del before[done]
        if size != _COMMAND_WINDOW:
            return ledger.window(event.seq, size)
        found: list[Event] = []
        for seq in range(event.seq - 1, event.seq - 1 - depth, -1):
            row = rows.get(seq)
            if row is None:
                return found[::-1]
            found.append(row)
            if row.kind != AUTH_OK:  # what ends the approvals: its kind and run looked at
                return found[::-1]
        return ledger.window(event.seq, size)  # more approvals than were read ahead

    def window(event: Event, size: int) -> list[Event]:
        if event.device is None:
            return local(event, size)
        assert ledger.key is not None
        seal, foreign = ledger.key.foreign_seal, ledger.foreign()
        found = foreign.window(event.device, event.seq, size)
        # A row without this laptop's seal is there, but proves nothing.
        return [
            Event(e.seq, e.at, "", e.run, None, {}, "", "", e.device)
            if foreign.unsealed(event.device, e.seq, seal)
            else e
            for e in found
        ]

    audit = CustodyAudit(window, holds)
    audit.local = stream()
    return audit


# What the check reads of a custody event and of an approval.
_FIELDS = ("by", "to", "serial", "lot", "name", "role", "purpose")
_CUSTODY = frozenset(ARMORY_KINDS)


def _proves(ok: Event, who: Needed) -> bool:
    if _folded(str(ok.data.get("name", ""))) != _folded(who.name):
        return False
    if not str(ok.data.get("purpose", "")).startswith(PURPOSE):
        return False
    return who.role is None or ok.data.get("role") == who.role


def _settled(signed: Sequence[Event], armorer: object, serial: object) -> list[Event]:
    """The checks of the write confirmed by `armorer` acting as armorer (of firearm `serial`,
    when one is given)."""
    out = []
    for event in signed:
        data = event.data
        if event.kind != ITEM_DONE or data.get("outcome") != "confirmed":
            continue
        by = data.get("by") or {}
        if by.get("role") != ARMORER or _folded(str(by.get("name", ""))) != _folded(
            str(armorer or "")
        ):
            continue
        if serial is not None and perfirearm.split_id(str(data.get("item", "")))[1] != serial:
            continue
        out.append(event)
    return out


def _witnessed(event: Event, name: str, items: set[str]) -> bool:
    return (
        event.kind == ITEM_WITNESSED
        and str(event.data.get("item")) in items
        and _folded(str(event.data.get("name", ""))) == _folded(name)
    )


def _not_holding(who: Needed) -> str:
    if who.receives:
        return f"{who.name}, who received it, was not on the roster then"
    return f"{who.name}, whose PIN approved it, was not on the roster as armorer then"
