"""Conflicts between laptops, read from the central store: what two laptops recorded apart (each
offline) that cannot both be true, shown as exceptions and never resolved silently.

- a person removed on one laptop who signed on another after the removal (reader.py);
- one person's PIN changed, or one person added, on two laptops apart (rostermerge.py): the
  roster keeps its defined order (time, then device) and the later change stands;
- one firearm issued on two units at once (armory.py's fold over every unit's custody);
- one protocol changed on two laptops apart, its version the same (protoshare.py);
- one of the production's own roles defined apart on two laptops, as their published protocols
  carry it, or otherwise in this laptop's config.toml than the production's (sharedroles.py);
- a run continued on a laptop other than the one that started it (its id in two devices' chains
  without that device's own start): its events are never merged with the run's.

The same rules the laptops apply at `sync` to what they pulled (central/sync.py), here over every
device's events; `status --central` and `report --central` show them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from safetycli.errors import SafetyError
from safetycli.events import DEVICE_KEYED, PROTOCOL_PUBLISHED, ROSTER_KINDS, RUN_STARTED, Event

if TYPE_CHECKING:
    from safetycli.central.reader import CentralReader
    from safetycli.ledger import Ledger


def on_laptop(ledger: Ledger) -> list[str]:
    """The same conflicts as this laptop sees them, its own events with those it pulled (none
    when it never synced): what `sync` prints and `status` keeps showing. A part that cannot be
    read (a roster that does not verify: its commands say why) is left out, never a failure."""
    if ledger.foreign() is None:
        return []
    from safetycli import armory, crew

    lines: list[str] = []
    for part in (
        crew.removal_conflicts,
        crew.change_conflicts,
        lambda led: armory.load(led).conflicts,
        _protocols_on_laptop,
    ):
        try:
            lines += part(ledger)
        except SafetyError:
            continue
    return lines


def _protocols_on_laptop(ledger: Ledger) -> list[str]:
    """Protocols and roles published apart, and roles this laptop's config.toml defines otherwise
    than the production (left out when config.toml cannot be read: its commands say why)."""
    from safetycli import protoshare
    from safetycli.workspace import Workspace

    known = protoshare.publications(ledger)
    try:
        own: dict[str, str] | None = Workspace(ledger.path.parent).own_roles()
    except SafetyError:
        own = None
    return protoshare.conflicts(known) + protoshare.role_conflicts(known, own)


def between_laptops(
    reader: CentralReader, runs: Iterable[str] | None = None, found: list[str] | None = None
) -> list[str]:
    """Every conflict the server's events show. `runs`: only these runs' continuations (a
    report's period, the set's unfinished runs); every run when None. `found`: the custody
    conflicts, when the caller already folded every unit's custody (the report does)."""
    return [
        *reader.removal_conflicts(),
        *roster_changes(reader),
        *(custody(reader) if found is None else found),
        *protocols(reader),
        *continued_runs(reader, runs),
    ]


def protocols(reader: CentralReader) -> list[str]:
    """One protocol changed on two laptops apart without raising its version, and one role its
    protocols carry defined apart (protoshare.py)."""
    from safetycli import protoshare

    known = []
    for e in reader.events(kinds=(PROTOCOL_PUBLISHED,)):
        with reader.conn.cursor() as cur:  # its approval: the events just before it
            cur.execute(
                "SELECT device, seq, at, kind, run, person, data, prev_hash, hash FROM events"
                " WHERE device = %s AND seq >= %s AND seq < %s ORDER BY seq",
                (e.device, e.seq - 64, e.seq),
            )
            before = [
                Event(int(r[1]), r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[0])
                for r in cur
            ]
        known.append(protoshare.publication(e, "", before))
    approved = [p for p in known if p.approved_by is not None]
    return protoshare.conflicts(approved) + protoshare.role_conflicts(approved)


def roster_changes(reader: CentralReader) -> list[str]:
    """PIN changes and additions made apart, per production secret (the laptops that joined one
    production share one roster; a laptop set up on its own keeps its own)."""
    from safetycli.central.foreign import merged
    from safetycli.rostermerge import change_conflicts

    production = {
        str(e.device): e.data.get("pepper_id") for e in reader.events(kinds=(DEVICE_KEYED,))
    }
    events = list(reader.events(kinds=ROSTER_KINDS))
    lines: list[str] = []
    for secret in sorted({p for p in production.values() if p is not None}):
        theirs = [e for e in events if production.get(str(e.device)) == secret]
        lines += change_conflicts(merged([], theirs, None), "")
    return lines


def custody(reader: CentralReader) -> list[str]:
    """One firearm issued on two units at once, over every unit's custody (armory.py's fold),
    from the reading computer's sealed starting point when one holds (custodypoint.py)."""
    from safetycli.central import custodypoint

    return custodypoint.conflicts(reader)


def continued_runs(reader: CentralReader, runs: Iterable[str] | None = None) -> list[str]:
    """Runs with events in a device's chain that never started them there."""
    wanted = None if runs is None else sorted({r.split("@")[0] for r in runs})
    where = "run IS NOT NULL" + ("" if wanted is None else " AND run = ANY(%s)")
    with reader.conn.cursor() as cur:
        if wanted:
            # Only a run id in two devices' chains can be one: its first and last device by the
            # run index are two seeks, where grouping every event of a day's runs reads them
            # all (0.1 s of a central day report).
            cur.execute(
                "SELECT w.run FROM unnest(%s::text[]) AS w(run) WHERE"
                " (SELECT min(e.device) FROM events e WHERE e.run = w.run) <>"
                " (SELECT max(e.device) FROM events e WHERE e.run = w.run)",
                (wanted,),
            )
            wanted = [str(run) for (run,) in cur.fetchall()]
        if wanted is not None and not wanted:
            return []
        cur.execute(
            f"SELECT run, device, min(at), bool_or(kind = %s) FROM events WHERE {where}"
            " GROUP BY run, device HAVING count(*) > 0 ORDER BY run, device",
            [RUN_STARTED] + ([] if wanted is None else [wanted]),
        )
        rows = cur.fetchall()
    by_run: dict[str, list[tuple[str, str, bool]]] = {}
    for run, device, first, started in rows:
        by_run.setdefault(str(run), []).append((str(device), str(first), bool(started)))
    lines = []
    for run, devices in by_run.items():
        if len(devices) < 2:
            continue
        starters = [d for d, _first, s in devices if s]
        for device, first, started in devices:
            if not started:
                from safetycli.i18n import _

                began = _(" and ").join(starters) or _("no device")
                lines.append(
                    _(
                        "run {run} (started on device {began}) was continued on device {device} "
                        "from {first}: its events there are not merged with the run's; the "
                        "producer reads both (`safetycli log show` on each laptop)"
                    ).format(run=run, began=began, device=device, first=first)
                )
    return lines
