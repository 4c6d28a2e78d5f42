"""The roster as the log says it is now: the crew's events, each checked, folded into who is on it.

Its own module, apart from crew.py's roster changes and PINs: `status` and the set board read the
roster on every call (the only-producer warning) and check no PIN, so they load neither the PIN
hashing nor the lock-out nor the look-alike screen, about 1.3 ms of their start-up
(bench/startup.py). What the fold resolves and why is said on `replay`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safetycli import rostercheck, rostermerge
from safetycli.events import (
    AUTH_OK,
    CREW_ADDED,
    CREW_LANG_SET,
    CREW_PIN_SET,
    CREW_RECOVERED,
    CREW_REMOVED,
    CREW_ROLE_ADDED,
    ROSTER_KINDS,
)
from safetycli.names import fold_name
from safetycli.records import Record
from safetycli.render.safe import one_line
from safetycli.rostercheck import LEGACY_WINDOW, RosterAudit, RosterUnverified

if TYPE_CHECKING:
    from safetycli.events import Event
    from safetycli.ledger import Ledger


class Entry(Record):
    """A roster entry while replaying: carries the fingerprint that `crew.Member` never shows.
    A plain record (records.py): `status` replays the roster on every call, and making the
    dataclass cost about 0.5 ms of its start-up."""

    __slots__ = (
        "name",
        "roles",
        "active",
        "fingerprint",
        "added_seq",
        "added_at",
        "set_seq",
        "device",
        "removed",
        "lang",
    )
    name: str
    roles: tuple[str, ...]
    active: bool
    fingerprint: str
    added_seq: int
    added_at: str
    set_seq: int  # the event that set the fingerprint
    device: str | None  # the device whose event set it (None: this laptop)
    removed: tuple[str, str] | None  # when and on which device they were removed
    lang: str | None

    def __init__(
        self,
        name: str,
        roles: tuple[str, ...],
        active: bool,
        fingerprint: str,
        added_seq: int,
        added_at: str,
        set_seq: int = 0,
        device: str | None = None,
        removed: tuple[str, str] | None = None,
        lang: str | None = None,
    ) -> None:
        self.name = name
        self.roles = roles
        self.active = active
        self.fingerprint = fingerprint
        self.added_seq = added_seq
        self.added_at = added_at
        self.set_seq = set_seq
        self.device = device
        self.removed = removed
        self.lang = lang


def replay(ledger: Ledger) -> dict[str, Entry]:
    """Every person ever added (removed ones too, so sign-in can say why it is refused).

    Replay also resolves the races the ledger's API cannot prevent (two processes appending what
    each checked alone): an unapproved add to a roster that already has people is void, and so is
    removing the last producer. The process whose write lost notices and says so.
    """
    entries: dict[str, Entry] = {}
    for order, event in enumerate(checked_events(ledger), start=1):
        if event.kind not in ROSTER_KINDS:
            continue
        data = event.data
        name = str(data.get("name", ""))
        key = fold_name(name)  # one name, one person, as reports and reviews fold it
        entry = entries.get(key)
        if event.kind == CREW_ADDED:
            anyone = any(e.active for e in entries.values())
            if anyone and not data.get("approved_by"):
                continue
            entries[key] = Entry(
                name=name,
                roles=tuple(data.get("roles", ())),
                active=True,
                fingerprint=str(data.get("pin_fingerprint", "")),
                set_seq=event.seq,
                added_seq=order,
                added_at=event.at,
                device=event.device,
                lang=data.get("lang"),
            )
        elif entry is None or not entry.active:
            continue
        elif event.kind in (CREW_PIN_SET, CREW_RECOVERED):
            entry.fingerprint = str(data.get("pin_fingerprint", ""))
            entry.set_seq = event.seq
            entry.device = event.device
        elif event.kind == CREW_ROLE_ADDED:
            role = str(data.get("role", ""))
            if role and role not in entry.roles:
                entry.roles = (*entry.roles, role)
        elif event.kind == CREW_LANG_SET:
            entry.lang = data.get("lang")
        elif event.kind == CREW_REMOVED:
            others = [e for e in entries.values() if e.active and "producer" in e.roles]
            if "producer" in entry.roles and all(e is entry for e in others):
                continue
            entry.active = False
            entry.removed = (event.at, event.device or ledger.device or "")
    return entries


def checked_events(ledger: Ledger) -> list[Event]:
    """The roster's events, refused unless each holds on its own (hash, link, device MAC) and
    means what it must (rostercheck.py): the CLI never acts on a roster an insider appended to or
    edited. Checked once per open log while the roster stays as it is."""
    events = rostermerge.events(ledger)
    last = rostermerge.marker(events)
    if ledger.roster_checked == last:
        return events
    audit = RosterAudit(ledger.keyed_at)
    for event in events:
        window = rostermerge.window(ledger, event, LEGACY_WINDOW)
        problem = audit.feed(event, window)
        if event.device is not None:  # checked on the server and in foreign.db (rostermerge)
            if problem is not None:
                raise RosterUnverified(
                    f"device {event.device} " + rostercheck.describe(event, problem)
                )
            continue
        problem = problem or ledger.seal_problem(event.seq)
        for proof in window if problem is None else ():
            if proof.kind == AUTH_OK and proof.seq >= event.seq - 2:
                problem = problem or ledger.seal_problem(proof.seq)
        if problem is not None:
            raise RosterUnverified(rostercheck.describe(event, problem))
    ledger.roster_checked = last
    return events


def producer_warning(ledger: Ledger) -> str | None:
    """One line while the roster has exactly one producer: a producer who locks themselves out,
    or leaves, needs another one (or the recovery code) before anyone can be added or unlocked.
    From the checked roster alone: who is locked out does not change the count (`status` asks
    this on every call, and a lock-out count is a query per person)."""
    names = [e.name for e in replay(ledger).values() if e.active and "producer" in e.roles]
    if len(names) != 1:
        return None
    return (
        f"warning: {one_line(names[0])} is the only producer: add a second one "
        "(safetycli crew add NAME --role producer) so a lock-out or a lost PIN cannot stop every "
        "roster change"
    )
