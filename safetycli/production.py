"""What holds across runs: the production-wide state, folded from the log like a run's state.

A run's state is a fold over its own events, but some facts belong to the whole production: a
stop-work called on the set for scene 12A holds every run of 12A, on any day, until it is cleared.
They live here, as one pure fold over production-level events (`ProductionState.apply`), so each
check ("is this scene held?") has one place to live and the runner stays pure: the session loads
this state from the log and hands it to the runner as data before each step.

Scene names are compared as the crew would: `12a` and ` 12A ` are the same scene.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from safetycli import events as ev
from safetycli.events import Event


def scene_key(scene: str) -> str:
    """How scenes are compared: case-insensitive, surrounding and repeated spaces ignored."""
    return " ".join(scene.split()).casefold()


@dataclass
class SceneHold:
    """A stop-work on a whole scene, raised on the set with no run id. Whoever raised it may not
    have proven who they are (stop-work never waits for a PIN): `authenticated` says whether they
    did, and reports show it."""

    seq: int
    raised_at: str
    scene: str
    day: str | None
    reason: str
    raised_by: dict[str, Any]
    authenticated: bool
    cleared_seq: int | None = None
    cleared_at: str | None = None
    cleared_by: list[dict[str, str]] | None = None
    note: str | None = None

    @property
    def is_open(self) -> bool:
        return self.cleared_seq is None

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "scene": self.scene,
            "day": self.day,
            "reason": self.reason,
            "raised_at": self.raised_at,
            "raised_by": self.raised_by,
            "authenticated": self.authenticated,
            "cleared_at": self.cleared_at,
            "cleared_by": self.cleared_by,
            "note": self.note,
        }


# Who clears a stop-work on a whole scene: no protocol names them, so the rule of firearm work
# applies: the armorer clears, the 1st AD restarts the set, each in person with their PIN.
SCENE_CLEAR_ROLES = ("armorer", "first_ad")


@dataclass
class ProductionState:
    scene_holds: list[SceneHold] = field(default_factory=list)
    last_seq: int = 0

    def apply(self, event: Event) -> None:
        data = event.data
        self.last_seq = max(self.last_seq, event.seq)
        if event.kind == ev.SCENE_HELD:
            self.scene_holds.append(
                SceneHold(
                    seq=event.seq,
                    raised_at=event.at,
                    scene=data["scene"],
                    day=data.get("day"),
                    reason=data["reason"],
                    raised_by=data["raised_by"],
                    authenticated=bool(data.get("authenticated")),
                )
            )
        elif event.kind == ev.SCENE_CLEARED:
            for hold in self.scene_holds:
                if hold.seq == data["hold"] and hold.is_open:
                    hold.cleared_seq = event.seq
                    hold.cleared_at = event.at
                    hold.cleared_by = data["cleared_by"]
                    hold.note = data["note"]

    def open_scene_holds(self, scene: str | None = None) -> list[SceneHold]:
        key = None if scene is None else scene_key(scene)
        return [
            h for h in self.scene_holds if h.is_open and (key is None or scene_key(h.scene) == key)
        ]


PRODUCTION_KINDS = (ev.SCENE_HELD, ev.SCENE_CLEARED)


def fold(events: Iterable[Event]) -> ProductionState:
    state = ProductionState()
    for event in events:
        state.apply(event)
    return state
