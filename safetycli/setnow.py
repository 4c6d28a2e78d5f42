"""The set now (`safetycli status`): every stop-work on a scene, the open incidents, then each
run still open or held with its hold (or what holds its scene) and who is signed in.

A module of its own, kept light, because the 1st AD asks it all day and a monitor redraws it:
it loads neither the runner nor the event types the runner writes (`declared.py`, tens of
milliseconds at start) nor the producer's review. A run on the board is folded from the few
kinds the board shows (`BoardRun`), the same fold the runner applies to those kinds; a test
holds the two equal on any sequence of events, and on every run of a real production.

Which runs to show grows only with the runs still open: one row each from the run-status table
(runview.py), plus every run the log itself says is held. What is held and what stops work is
read from the log, never from that table, so a row edited by hand cannot take a hold off the
board; each run shown is folded from its own events in the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from safetycli.events import LIFECYCLE_KINDS, RUN_RESUMED, RUN_SIGNED_IN, RUN_STARTED, Event
from safetycli.lifecycle import HELD, OPEN, Hold, Lifecycle
from safetycli.records import Record

if TYPE_CHECKING:
    from safetycli.capabilities import ReviewSource

# What the board reads of a run: its start, its sign-ins (a resume ends a sitting's), its holds
# and its end. A run's checks are most of its events, and the board names none of them.
BOARD_KINDS = (RUN_STARTED, RUN_SIGNED_IN, RUN_RESUMED, *LIFECYCLE_KINDS)


class BoardRun(Record):
    """A run as the board shows it: `runner.RunState`'s fold of `BOARD_KINDS` (the attributes
    keep its names), without the rest of the walk-through. A plain record (records.py) with a
    dataclass's equality and repr: the dataclass cost about 0.4 ms of every `status`."""

    __slots__ = ("run_id", "protocol", "scene", "day", "started_at", "signed_in", "lifecycle")
    run_id: str
    protocol: dict[str, Any]
    scene: str
    day: str
    started_at: str | None
    signed_in: dict[str, str]  # role -> name, this sitting
    lifecycle: Lifecycle

    def __init__(
        self,
        run_id: str,
        protocol: dict[str, Any] | None = None,
        scene: str = "",
        day: str = "",
        started_at: str | None = None,
        signed_in: dict[str, str] | None = None,
        lifecycle: Lifecycle | None = None,
    ) -> None:
        self.run_id = run_id
        self.protocol = {} if protocol is None else protocol
        self.scene = scene
        self.day = day
        self.started_at = started_at
        self.signed_in = {} if signed_in is None else signed_in
        self.lifecycle = Lifecycle() if lifecycle is None else lifecycle

    @property
    def holds(self) -> list[Hold]:
        return self.lifecycle.holds

    @property
    def open_hold(self) -> Hold | None:
        return self.lifecycle.open_hold

    @property
    def ended_at(self) -> str | None:
        return self.lifecycle.ended_at

    @property
    def status(self) -> str:
        return self.lifecycle.status

    def apply(self, event: Event) -> None:
        data = event.data
        if event.kind == RUN_STARTED:
            self.protocol = data["protocol"]
            self.scene = data["scene"]
            self.day = data["day"]
            self.started_at = event.at
        elif event.kind == RUN_SIGNED_IN:
            self.signed_in[data["role"]] = data["name"]
        elif event.kind == RUN_RESUMED:
            # Sign-ins last one sitting: whoever picks the run up again signs in again.
            self.signed_in = {}
        else:
            self.lifecycle.apply(event.kind, event.seq, event.at, data)


def fold(run_id: str, events: Iterable[Event]) -> BoardRun:
    """The board's view of one run from its events (any kinds: the others change nothing)."""
    run = BoardRun(run_id)
    for event in events:
        if event.kind in BOARD_KINDS:
            run.apply(event)
    return run


def set_status(source: ReviewSource) -> dict[str, Any]:
    """The set now, as `status` prints it and `--format json` gives it."""
    from safetycli import production

    found = production.load(source)
    stops = [h.as_json() for h in found.open_scene_holds()]
    # Candidates: the runs not yet ended, and every run the log itself says is held (its holds
    # and aborts, folded without their data), so a row of the run-status table edited to
    # "complete" cannot take a hold off the board. Each is folded from its own events in the
    # log: a run the table wrongly lists as open is ruled out there, and the status, hold and
    # names shown are the log's. The held ones are also what stops their scenes.
    candidates = source.open_runs() | production.held_run_ids(source)
    runs = [
        fold(start.run, source.events(run=start.run, kinds=BOARD_KINDS))
        for start in source.starts_of(candidates)
    ]
    held = {run.run_id: run for run in runs if run.status == HELD}
    board = production.StopBoard(source, state=found, held=held)
    out = []
    for run in runs:
        if run.status not in (OPEN, HELD):
            continue
        hold = run.open_hold
        scene_stops = board.for_scene(run.scene, run.day, except_run=run.run_id, firearms=True)
        out.append(
            {
                "id": run.run_id,
                "protocol": run.protocol.get("id"),
                "scene": run.scene,
                "day": run.day,
                "status": run.status,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "holds": len(run.holds),
                "scene_held": bool(scene_stops) or hold is not None,
                "signed_in": dict(run.signed_in),
                "hold": None
                if hold is None
                else {
                    "reason": hold.reason,
                    "raised_at": hold.raised_at,
                    "raised_by": hold.raised_by,
                    "item": hold.key[2] if hold.key else None,
                },
                "scene_stop": scene_stops[0].line() if scene_stops else None,
            }
        )
    incidents: list[dict[str, Any]] = []
    if found.incidents.open():  # the report's own words for them (review.open_incidents)
        from datetime import UTC, datetime

        from safetycli.incidents import open_list

        incidents = open_list(found.incidents, datetime.now(UTC))
    return {
        "incidents": incidents,
        "warnings": found.incidents.repeated_misfires(),
        "scene_holds": stops,
        "runs": out,
        # Runs held on the production's other laptops (pulled by sync): each holds its scene
        # here too, and is cleared on its own laptop.
        "held_on_other_laptops": [
            {
                "run": stop.run,
                "device": stop.run_device,
                "scene": stop.scene,
                "day": start.data.get("day"),
                "reason": stop.reason,
                "raised_at": stop.raised_at,
                "raised_by": stop.raised_by,
                "clear": stop.clear_command,
            }
            for start, stop in board.elsewhere
        ],
        # Stop-work of laptops whose sync the server refused (unverified.py): not part of any
        # verified record, and it stops its scene all the same until a producer clears it.
        "unverified_stop_work": [u.as_json() for u in board.unverified],
    }
