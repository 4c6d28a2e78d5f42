"""Counting PIN tries so that the lock-out holds across any number of processes.

Checking a PIN costs about 40 ms of scrypt. If each process checked first and recorded the wrong
PIN afterwards, sixteen processes guessing at once would all pass the count before any of them
wrote, and a right guess among them would reset it. So a try is admitted before the PIN is
checked: under the log's write lock, the person's tries since the last reset are counted and,
while fewer than five are wrong or still pending, an `auth.attempt` is appended in the same
transaction. The PIN is then checked outside the lock and the outcome (`auth.ok` or a wrong-PIN
`auth.failed` naming the attempt's seq) recorded. A pending attempt counts as a wrong PIN until
its outcome lands, so at most five tries are ever in flight or wrong; a process killed between
the two leaves its attempt counted as wrong, which errs on the side of the lock.

A success, an unlock, a PIN change, a recovery or being added resets the count. Everything is
derived from the log: there is no counter to edit.
"""

from __future__ import annotations

from safetycli import events as ev  # the declared types load on first use (events.py)
from safetycli.events import (
    AUTH_ATTEMPT,
    AUTH_FAILED,
    AUTH_LOCKED,
    AUTH_OK,
    CREW_ADDED,
    CREW_PIN_SET,
    CREW_RECOVERED,
    CREW_UNLOCKED,
    Event,
)
from safetycli.ledger import Ledger
from safetycli.rostercheck import RosterUnverified

LOCK_AFTER = 5
WRONG_PIN = "wrong-pin"

# Events after which the count of wrong PINs starts again from zero.
RESETS = (AUTH_OK, CREW_UNLOCKED, CREW_PIN_SET, CREW_ADDED, CREW_RECOVERED)
_TRIES = (AUTH_ATTEMPT, AUTH_FAILED)


class Locked(Exception):
    """Raised under the write lock: the person already has five wrong or pending tries."""


def _since_reset(ledger: Ledger, name: str) -> int:
    reset = ledger.latest(person=name, kinds=RESETS, limit=1)
    return reset[0].seq if reset else 0


def _legacy_wrong(event: Event) -> bool:
    """A wrong PIN written before attempts existed: it is its own count."""
    return (
        event.kind == AUTH_FAILED
        and event.data.get("reason") == WRONG_PIN
        and event.data.get("attempt") is None
    )


def failures(ledger: Ledger, name: str) -> int:
    """Wrong or pending PIN tries for `name` since the last reset, capped at LOCK_AFTER.

    Walks the person's attempts and failures after the reset through the person index and stops
    at the fifth: refusals of a locked person come after it and are never read."""
    count = 0
    after = _since_reset(ledger, name)
    for event in ledger.events(person=name, kinds=(AUTH_ATTEMPT, AUTH_FAILED), after=after):
        if event.kind == AUTH_ATTEMPT or _legacy_wrong(event):
            count += 1
            if count >= LOCK_AFTER:
                break
    return count


def settled_wrong(ledger: Ledger, name: str) -> int:
    """Wrong PINs since the last reset whose outcome has landed (pending tries left out): the
    lock-out event is written when these reach five, not while a right PIN may still be pending."""
    count = 0
    after = _since_reset(ledger, name)
    attempts: set[int] = set()
    for event in ledger.events(person=name, kinds=(AUTH_ATTEMPT, AUTH_FAILED), after=after):
        if event.kind == AUTH_ATTEMPT:
            attempts.add(event.seq)
        elif _legacy_wrong(event) or event.data.get("attempt") in attempts:
            count += 1
            if count >= LOCK_AFTER:
                break
    return count


def _check_tries(ledger: Ledger, name: str) -> None:
    """The count is only as good as the rows it reads: every try since the person's last reset
    must hold on its own, and no event after that reset may be missing (deleting or renaming the
    `auth.attempt` rows would otherwise hand out five more guesses)."""
    after = _since_reset(ledger, name)
    problem = ledger.seal_problem(after) if after else None
    if problem is not None:
        raise RosterUnverified(f"{name}'s PIN tries: {problem}")
    # Everyone's tries since then, through the kind index: reading a row checks its hash, so a
    # try whose name was edited away from this person (to hide it from the count) is caught
    # here too, not only the ones still filed under the name.
    for event in ledger.events(kinds=(*_TRIES, AUTH_LOCKED), after=after):
        if event.person != event.data.get("name"):
            raise RosterUnverified(f"{name}'s PIN tries: event {event.seq} was changed")
    gap = ledger.gap_after(after)
    if gap is not None:
        raise RosterUnverified(
            f"{name}'s PIN tries: event {gap} is missing (rows were deleted from the log)"
        )


def admit(ledger: Ledger, name: str, role: str | None, purpose: str, run: str | None) -> int:
    """Record a try before its PIN is checked, or raise Locked; returns the attempt's seq."""

    def guard() -> None:
        _check_tries(ledger, name)
        if failures(ledger, name) >= LOCK_AFTER:
            raise Locked(name)

    new = ev.AuthAttempt(run=run, name=name, role=role, purpose=purpose).new()
    event = ledger.append(new.kind, new.data, run=new.run, person=new.person, guard=guard)
    return event.seq


def record_lock(ledger: Ledger, name: str, run: str | None) -> None:
    """`auth.locked`, once per lock-out however many processes notice it at the same moment."""

    def guard() -> None:
        last = ledger.latest(person=name, kinds=(AUTH_LOCKED, *RESETS), limit=1)
        if (last and last[0].kind == AUTH_LOCKED) or settled_wrong(ledger, name) < LOCK_AFTER:
            raise Locked(name)

    new = ev.AuthLocked(run=run, name=name, failures=LOCK_AFTER).new()
    try:
        ledger.append(new.kind, new.data, run=new.run, person=new.person, guard=guard)
    except Locked:
        pass
