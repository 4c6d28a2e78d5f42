"""What a run must know from beyond its own events (`production.Outside`, reached from there as
before): the walk-through alone builds it, so it lives apart from production.py, which `status`
imports (each frozen dataclass costs about 0.5 ms of a start-up: bench/README.md, start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safetycli.armory import Verdict
    from safetycli.production import SceneStop


@dataclass(frozen=True)
class Outside:
    """What a run must know from beyond its own events, handed to the pure runner as data before
    each step: stop-work on its scene, and counts the day's other runs recorded (for
    `expect: today(blanks-issued)`)."""

    stops: tuple[SceneStop, ...] = ()
    day_totals: Mapping[str, int] = field(default_factory=dict)
    unfinished_today: tuple[str, ...] = ()  # other runs of the day still open or held
    # The armory's word on each `custody:` check the protocol names (`armory.verdicts`); empty
    # when the production keeps no armory, and the crew's counts stand on their own as before.
    custody: Mapping[str, Verdict] = field(default_factory=dict)
