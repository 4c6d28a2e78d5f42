"""The one fold from lifecycle events to a run's status, shared by the runner and review."""

from __future__ import annotations

from typing import Any

import pytest

from safetycli.events import HOLD_CLEARED, HOLD_RAISED, ITEM_DONE, RUN_ABORTED, RUN_COMPLETED
from safetycli.lifecycle import ABORTED, COMPLETE, HELD, OPEN, Lifecycle

RAISED = {"phase": "p", "take": None, "item": "i", "reason": "no", "raised_by": None}
CLEARED = {"note": "fixed", "cleared_by": [{"name": "Sam Ortiz", "role": "armorer"}]}
ABORT = {"reason": "cut", "by": {"name": "Dana Reyes", "role": "first_ad"}}


def fold(kinds: list[tuple[str, dict[str, Any]]], *, with_data: bool = True) -> Lifecycle:
    life = Lifecycle()
    for seq, (kind, data) in enumerate(kinds, 1):
        at = f"2026-11-23T10:00:{seq:02d}Z"
        if with_data:
            life.apply(kind, seq, at, data)
        else:
            life.apply(kind, seq, at)
    return life


@pytest.mark.parametrize(
    ("kinds", "status"),
    [
        ([], OPEN),
        ([(ITEM_DONE, {})], OPEN),
        ([(HOLD_RAISED, RAISED)], HELD),
        ([(HOLD_RAISED, RAISED), (HOLD_CLEARED, CLEARED)], OPEN),
        ([(HOLD_CLEARED, CLEARED), (HOLD_RAISED, RAISED)], HELD),  # nothing open to clear
        ([(HOLD_RAISED, RAISED), (HOLD_RAISED, RAISED), (HOLD_CLEARED, CLEARED)], HELD),
        ([(RUN_COMPLETED, {})], COMPLETE),
        ([(HOLD_RAISED, RAISED), (RUN_ABORTED, ABORT)], ABORTED),
    ],
)
def test_status_with_or_without_the_payloads(
    kinds: list[tuple[str, dict[str, Any]]], status: str
) -> None:
    """Review folds only kinds and times; the runner folds payloads too: same status, same
    number of holds, same end."""
    full, bare = fold(kinds), fold(kinds, with_data=False)
    assert full.status == bare.status == status
    assert len(full.holds) == len(bare.holds)
    assert full.ended_at == bare.ended_at


def test_a_clearance_clears_the_oldest_open_hold_and_says_which() -> None:
    life = fold([(HOLD_RAISED, RAISED), (HOLD_RAISED, {**RAISED, "item": None})])
    cleared = life.apply(HOLD_CLEARED, 3, "2026-11-23T10:00:03Z", CLEARED)
    assert cleared is life.holds[0]
    assert (cleared.key, cleared.note, cleared.cleared_seq) == (("p", None, "i"), "fixed", 3)
    assert life.open_hold is life.holds[1] and life.holds[1].key is None
