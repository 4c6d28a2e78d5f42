"""This laptop among the production's laptops, as `status` prints it under the set and the set
board keeps on screen: whether its last sync was told to wait for a producer's approval, and what
two laptops did apart (`conflicts.on_laptop`). Nothing for a laptop that never synced.

The board redraws every few seconds all day, and the conflicts fold the roster, the armory's
custody and the production's protocols (a season's custody at worst), so `Watch` reads them again
only when one of those may have changed: an event of their kinds in this laptop's log (one seek
in the kind index per kind), anything a sync wrote into foreign.db (SQLite's `data_version`, no
read at all), or config.toml (its roles). A sign-off, most of what a busy set writes, is none of
them. A person's sign-in (`auth.ok`) is not either: a sign-in can only become an exception with a
removal this laptop has not pulled yet (once pulled, the roster refuses that person here), and
the pull that brings it is a change to foreign.db.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safetycli.events import ARMORY_KINDS, INCIDENT_KINDS, PROTOCOL_PUBLISHED
from safetycli.rostercheck import AUDITED_KINDS

if TYPE_CHECKING:
    from safetycli.ledger import Ledger

# This laptop's own events the conflicts are folded from (conflicts.on_laptop).
CONFLICT_KINDS = (*AUDITED_KINDS, *ARMORY_KINDS, *INCIDENT_KINDS, PROTOCOL_PUBLISHED)


@dataclass(frozen=True)
class Standing:
    """`waiting`: this laptop waits to be let in (`device`, `since`, `approve`), or None;
    `exceptions`: one line for each thing two laptops did apart, never resolved silently."""

    waiting: dict[str, str] | None = None
    exceptions: list[str] = field(default_factory=list)


def waiting(ledger: Ledger) -> dict[str, str] | None:
    """This laptop waiting for a producer's approval, as its last sync was told (None: it got
    in, or it never synced): `status` says so without reaching the server."""
    foreign = ledger.foreign()
    since = None if foreign is None else foreign.waiting()
    if since is None or ledger.device is None:
        return None
    device = str(ledger.device)
    return {"device": device, "since": since, "approve": f"safetycli join approve-device {device}"}


def read(ledger: Ledger) -> Standing | None:
    """The laptop's standing now; None when it never synced (it works alone: nothing to say)."""
    if ledger.foreign() is None:
        return None
    from safetycli.central.conflicts import on_laptop

    return Standing(waiting(ledger), on_laptop(ledger))


def pulled_mark(ledger: Ledger) -> int | None:
    """A number that changes whenever a sync writes into foreign.db (what it pulled, or that it
    was told to wait), without reading a row; None while the laptop never synced. Only another
    connection's commit moves it: the reader's own reads never do."""
    foreign = ledger.foreign()
    if foreign is None:
        return None
    return int(foreign.db.execute("PRAGMA data_version").fetchone()[0])


class Watch:
    """The standing for a board that asks every few seconds: read again only when what it is
    made of may have moved (see the module's note), else the last one as it was."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._mark: tuple[Any, ...] | None = None
        self.standing: Standing | None = None
        self.reads = 0  # how many times it was read in full (the board's cost, for tests)

    def mark(self) -> tuple[Any, ...]:
        """What the standing is made of, cheaply: the pull's mark, the newest local event of
        each kind the conflicts fold, and config.toml's modification time."""
        ledger = self.ledger
        pulled = pulled_mark(ledger)
        if pulled is None:  # never synced: nothing more to look at
            return (None,)
        try:
            config = (ledger.path.parent / "config.toml").stat().st_mtime_ns
        except OSError:
            config = None
        return (pulled, ledger.newest_of(CONFLICT_KINDS), config)

    def now(self) -> tuple[bool, Standing | None]:
        """(whether it changed since the last call, the standing now)."""
        mark = self.mark()
        if mark[0] is None:  # never synced: nothing to read, nothing to show
            changed = self._mark is not None and self._mark[0] is not None
            self._mark, self.standing = mark, None
            return changed, None
        if mark == self._mark:
            return False, self.standing
        self._mark = mark
        self.reads += 1
        before, self.standing = self.standing, read(self.ledger)
        return self.standing != before, self.standing
