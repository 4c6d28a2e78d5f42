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
from typing import Any

from safetycli.events import HOLD_CLEARED, HOLD_RAISED, RUN_ABORTED, RUN_COMPLETED
from safetycli.records import Record

OPEN, HELD, COMPLETE, ABORTED = "open", "held", "complete", "aborted"

Key = tuple[str, int | None, str]  # (phase id, take or None, item id)

_NO_DATA: Mapping[str, Any] = {}


# Hold and Lifecycle are plain records (records.py) with a dataclass's equality and repr: `status`
# imports this module, and making the two dataclasses cost about 1 ms of its start-up.


class Hold(Record):
    """One hold, as raised and (once cleared) as cleared. `key` is the item that failed, or None
    for a hold raised by hand on the whole run. `phase` and `take` say where the run stood: a
    hold raised by hand during a take sends that take's phase back, as a failed check does."""

    __slots__ = (
        "seq",
        "raised_at",
        "key",
        "reason",
        "raised_by",
        "phase",
        "take",
        "cleared_seq",
        "cleared_at",
        "cleared_by",
        "note",
        "authenticated",
        "also",
        "clear_roles",
    )
    seq: int
    raised_at: str
    key: Key | None
    reason: str
    raised_by: dict[str, str] | None
    phase: str | None
    take: int | None
    cleared_seq: int | None
    cleared_at: str | None
    cleared_by: list[dict[str, str]] | None
    note: str | None
    authenticated: bool  # False: raised by hand without a PIN (anyone may stop work)
    # Other places signed in the same sitting (the next take's checks, signed at cut with the
    # checks after this take): they go back too once the hold is cleared.
    also: tuple[tuple[str, int | None], ...]
    clear_roles: tuple[str, ...]  # who clears this hold, as it was raised (none: the run's)

    def __init__(
        self,
        seq: int,
        raised_at: str,
        key: Key | None,
        reason: str,
        raised_by: dict[str, str] | None,
        phase: str | None = None,
        take: int | None = None,
        cleared_seq: int | None = None,
        cleared_at: str | None = None,
        cleared_by: list[dict[str, str]] | None = None,
        note: str | None = None,
        authenticated: bool = True,
        also: tuple[tuple[str, int | None], ...] = (),
        clear_roles: tuple[str, ...] = (),
    ) -> None:
        self.seq = seq
        self.raised_at = raised_at
        self.key = key
        self.reason = reason
        self.raised_by = raised_by
        self.phase = phase
        self.take = take
        self.cleared_seq = cleared_seq
        self.cleared_at = cleared_at
        self.cleared_by = cleared_by
        self.note = note
        self.authenticated = authenticated
        self.also = also
        self.clear_roles = clear_roles


class Lifecycle(Record):
    __slots__ = ("holds", "completed", "aborted", "ended_at")
    holds: list[Hold]
    completed: bool
    aborted: dict[str, Any] | None  # the run.aborted payload: {reason, by}
    ended_at: str | None

    def __init__(
        self,
        holds: list[Hold] | None = None,
        completed: bool = False,
        aborted: dict[str, Any] | None = None,
        ended_at: str | None = None,
    ) -> None:
        self.holds = [] if holds is None else holds
        self.completed = completed
        self.aborted = aborted
        self.ended_at = ended_at

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
