"""One roster across the production's laptops: this laptop's roster events folded with those
pulled from the other devices that share its production secret (central/foreign.py).

Which devices: those whose key event names this laptop's production secret (`pepper_id`), i.e.
the laptops that joined the production (`init --from-central`). A laptop that was set up on its
own and syncs with the same server keeps its roster to itself (its PINs are peppered with another
secret and could not be checked here anyway); its stop-work is still pulled.

The order: by each event's time (UTC, as its device wrote it), then its device id, each device's
own events always in their own chain's order (a merge of the per-device streams, never a sort that
could reorder one device's events when its clock went back). The fold (`roster.replay`) and its
meaning checks (`rostercheck.RosterAudit`) run over that one sequence, so a producer added on A
approves on B, and a person removed on A at 10:02 is removed on B from then on. Every event
pulled passed its device's chain and MAC checks on the server and its hash check in foreign.db,
and counts only with the seal this laptop put on it as it pulled it (`DeviceKey.foreign_seal`);
its approvals are looked for among that device's pulled events, sealed too.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import TYPE_CHECKING

from safetycli.events import DEVICE_KEYED, Event
from safetycli.names import fold_name
from safetycli.rostercheck import AUDITED_KINDS, RosterUnverified

if TYPE_CHECKING:
    from safetycli.ledger import Ledger


def production_devices(ledger: Ledger) -> set[str]:
    """The other devices whose key event names this laptop's production secret."""
    foreign = ledger.foreign()
    if foreign is None or ledger.key is None:
        return set()
    mine = ledger.key.pepper_id
    return {
        str(e.device)
        for e in foreign.events((DEVICE_KEYED,))
        if e.device is not None and e.data.get("pepper_id") == mine
    }


def events(ledger: Ledger) -> list[Event]:
    """This laptop's audited roster events merged with the production's other devices'."""
    return list(stream(ledger))


def stream(
    ledger: Ledger, also: tuple[str, ...] = (), own: Iterable[Event] = ()
) -> Iterator[Event]:
    """`events`, streamed, and with them, in the same order, events of the kinds `also` names
    (verify's custody events, checked against the roster as it stood): this laptop's given as
    `own` (in log order), the other devices' only those this laptop sealed as it pulled them
    (what the armory counts)."""
    local = heapq.merge(ledger.events(kinds=AUDITED_KINDS), own, key=lambda e: e.seq)
    devices = production_devices(ledger)
    if not devices:
        return local
    foreign = ledger.foreign()
    theirs = [e for e in foreign.events(AUDITED_KINDS) if e.device in devices]
    for event in theirs:
        _sealed(ledger, event)
    if also:
        assert ledger.key is not None
        extra = foreign.events(also, ledger.key.foreign_seal)
        theirs.extend(e for e in extra if e.device in devices)
        theirs.sort(key=lambda e: (e.device, e.seq))
    here = ledger.device or ""
    streams = [local] + [list(g) for _, g in groupby(theirs, key=lambda e: e.device)]
    return heapq.merge(*streams, key=lambda e: (e.at, e.device or here))


def window(ledger: Ledger, event: Event, size: int) -> list[Event]:
    if event.device is None:
        return ledger.window(event.seq, size)
    found = ledger.foreign().window(event.device, event.seq, size)
    for proof in found:
        _sealed(ledger, proof)
    return found


def _sealed(ledger: Ledger, event: Event) -> None:
    """A pulled roster event (or approval) counts only with the seal this laptop made as it
    pulled it: one inserted into foreign.db by someone with the workspace files alone does not."""
    assert event.device is not None and ledger.key is not None
    if ledger.foreign().unsealed(event.device, event.seq, ledger.key.foreign_seal):
        raise RosterUnverified(
            f"event {event.seq} of device {event.device} in foreign.db was not pulled by this "
            "laptop (no valid seal)"
        )


def marker(merged: list[Event]) -> tuple[object, ...]:
    """What the roster check remembers it checked: the newest event of each device."""
    last: dict[str | None, int] = {}
    for e in merged:
        last[e.device] = e.seq
    return tuple(sorted(last.items(), key=lambda kv: kv[0] or ""))


def removal_conflicts(
    removals: Iterable[tuple[str, str, str]], signed: Iterable[tuple[str, str, str]]
) -> list[str]:
    """Each (time, device, name) in `signed` after the same person's removal (time, device,
    name) on another device: two laptops offline, one removing while the other let them sign.
    One line each, for `sync` and `status --central` to show (never resolved silently)."""
    last: dict[str, tuple[str, str, str]] = {}
    for at, device, name in sorted(removals):
        last[fold_name(name)] = (at, device, name)
    lines = []
    for at, device, name in sorted(signed):
        removal = last.get(fold_name(name))
        if removal is None:
            continue
        when, where, shown = removal
        if at > when and device != where:
            from safetycli.i18n import _

            lines.append(
                _(
                    "{name} was removed on device {where} at {when} but signed on device "
                    "{device} at {at}"
                ).format(name=shown, where=where, when=when, device=device, at=at)
            )
    return lines


def change_conflicts(merged: Iterable[Event], here: str) -> list[str]:
    """Changes to one person made on two devices apart, in the merged roster (`events`, time then
    device): a PIN set on one device replacing a PIN another device had already replaced (both
    replaced the same one: neither knew of the other), or a person added on two devices (neither
    saw the other's, or it would have refused the second). The later one stands, as the order
    says; each such pair is one line, for `sync`, `status --central` and the central report."""
    from safetycli.events import CREW_ADDED, CREW_PIN_SET, CREW_RECOVERED, CREW_REMOVED

    # person -> (fingerprint now, fingerprint before it, the event that set it)
    pins: dict[str, tuple[str, str | None, Event]] = {}
    added: dict[str, Event] = {}
    from safetycli.i18n import _

    lines: list[str] = []
    for event in merged:
        data = event.data
        name = str(data.get("name", ""))
        key = fold_name(name)
        device = event.device or here
        if event.kind == CREW_ADDED:
            other = added.get(key)
            if other is not None and (other.device or here) != device:
                lines.append(
                    _(
                        "{name} was added on device {first} at {first_at} (roles {first_roles}) "
                        "and again on device {device} at {at} (roles {roles}): the later stands; "
                        "a producer checks their roles and PIN"
                    ).format(
                        name=name,
                        first=other.device or here,
                        first_at=other.at,
                        first_roles=", ".join(other.data.get("roles", ())),
                        device=device,
                        at=event.at,
                        roles=", ".join(data.get("roles", ())),
                    )
                )
            added[key] = event
            pins[key] = (str(data.get("pin_fingerprint", "")), None, event)
        elif event.kind == CREW_REMOVED:
            added.pop(key, None)
        elif event.kind in (CREW_PIN_SET, CREW_RECOVERED):
            replaces = data.get("replaces")
            known = pins.get(key)
            new = str(data.get("pin_fingerprint", ""))
            if (
                replaces is not None
                and known is not None
                and known[1] == replaces
                and replaces != known[0]
                and (known[2].device or here) != device
            ):
                lines.append(
                    _(
                        "{name}'s PIN was changed on device {first} at {first_at} and on device "
                        "{device} at {at}, each without the other: the later (device {device}'s) "
                        "stands; {name} signs with that one"
                    ).format(
                        name=name,
                        first=known[2].device or here,
                        first_at=known[2].at,
                        device=device,
                        at=event.at,
                    )
                )
            pins[key] = (new, replaces, event)
    return lines
