"""A run's status from its few lifecycle events: holds raised and cleared, completion, abort.

One fold, two readers: `runner.RunState` folds it while replaying a whole run, and `review` folds
only these events (read through the run index) to list runs without replaying them. Keeping the
rule here, once, is what makes a listed status always the status the runner acts on: a clearance
clears the oldest open hold (or nothing when none is open); an abort outranks a hold, a hold
outranks completion.

Pure and light to import (stdlib only): review's listings and `status` load it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safetycli.events import HOLD_CLEARED, HOLD_RAISED, RUN_ABORTED, RUN_COMPLETED

OPEN, HELD, COMPLETE, ABORTED = "open", "held", "complete", "aborted"

Key = tuple[str, int | None, str]  # (phase id, take or None, item id)

_NO_DATA: Mapping[str, Any] = {}


@dataclass
class Hold:
    """One hold, as raised and (once cleared) as cleared. `key` is the item that failed, or None
    for a hold raised by hand on the whole run. `phase` and `take` say where the run stood: a
    hold raised by hand during a take sends that take's phase back, as a failed check does."""

    seq: int
    raised_at: str
    key: Key | None
    reason: str
    raised_by: dict[str, str] | None
    phase: str | None = None
    take: int | None = None
    cleared_seq: int | None = None
    cleared_at: str | None = None
    cleared_by: list[dict[str, str]] | None = None
    note: str | None = None
    authenticated: bool = True  # False: raised by hand without a PIN (anyone may stop work)
    # Other places signed in the same sitting (the next take's checks, signed at cut with the
    # checks after this take): they go back too once the hold is cleared.
    also: tuple[tuple[str, int | None], ...] = ()
    clear_roles: tuple[str, ...] = ()  # who clears this hold, as it was raised (none: the run's)


@dataclass
class Lifecycle:
    holds: list[Hold] = field(default_factory=list)
    completed: bool = False
    aborted: dict[str, Any] | None = None  # the run.aborted payload: {reason, by}
    ended_at: str | None = None

    @property
    def open_hold(self) -> Hold | None:
        return next((hold for hold in self.holds if hold.cleared_seq is None), None)

    @property
    def status(self) -> str:
        if self.aborted is not None:
            return ABORTED
        if self.open_hold is not None:
            return HELD
        if self.completed:
            return COMPLETE
        return OPEN

    def apply(
        self, kind: str, seq: int, at: str, data: Mapping[str, Any] = _NO_DATA
    ) -> Hold | None:
        """Fold one event of any kind (others are ignored); returns the hold it cleared, so the
        runner can send that hold's item back to be checked again. A reader that needs only the
        status and the number of holds may leave out `data`."""
        if kind == HOLD_RAISED:
            item = data.get("item")
            phase, take = data.get("phase"), data.get("take")
            key = (phase, take, item) if item else None
            self.holds.append(
                Hold(
                    seq,
                    at,
                    key,
                    data.get("reason", ""),
                    data.get("raised_by"),
                    phase,
                    take,
                    authenticated=bool(data.get("authenticated", True)),
                    also=tuple((p, t) for p, t in data.get("also", ())),
                    clear_roles=tuple(data.get("clear_roles", ())),
                )
            )
        elif kind == HOLD_CLEARED:
            hold = self.open_hold
            if hold is not None:
                hold.cleared_seq = seq
                hold.cleared_at = at
                hold.cleared_by = data.get("cleared_by")
                hold.note = data.get("note")
            return hold
        elif kind == RUN_COMPLETED:
            self.completed = True
            self.ended_at = at
        elif kind == RUN_ABORTED:
            self.aborted = dict(data)
            self.ended_at = at
        return None
