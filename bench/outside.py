"""What the walk-through pays, each step, to answer to what happens beyond its run.

    python bench/outside.py /tmp/season            # a workspace kept by bench/season.py --keep

Before every question the session reads what holds the run's scene (stop-work on the scene, a
held run of it) and, for a close-out with `today(...)` sums, the day's counts; `run` reads the
same before it starts. This times those reads on a season's log, beside one durable sign-off, so
the cost of a step can be judged against the cost of writing it.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from machine import cpu_model

from safetycli import production
from safetycli.ledger import Ledger


def timed(fn: Callable[[], object], repeat: int = 50) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def main() -> None:
    home = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/season")
    with Ledger.open(home / "log.db", create=False) as ledger:
        events = ledger.count()
        last = next(ledger.run_starts(newest_first=True))
        scene, day, run = last.data["scene"], last.data["day"], last.run
        items = ["blanks-issued", "blanks-returned", "blanks-fired", "blanks-spoiled"]
        rows = [
            (
                "stop-work on the scene and its held runs",
                lambda: production.scene_stops(ledger, scene, except_run=run),
            ),
            (
                "the day's counts for a close-out (4 items)",
                lambda: production.day_totals(ledger, day, items, except_run=run),
            ),
            (
                "open runs of the scene (before `run`)",
                lambda: production.open_runs(ledger, scene, "firearm-scene"),
            ),
        ]
        print(f"# Reads beyond the run ({events:,} events, scene {scene}, day {day})\n")
        print(f"{cpu_model()}, Python {sys.version.split()[0]}\n")
        print("| read | median | p90 |")
        print("| --- | --- | --- |")
        for label, fn in rows:
            median, p90 = timed(fn)
            print(f"| {label} | {median:.2f} ms | {p90:.2f} ms |")


if __name__ == "__main__":
    main()
