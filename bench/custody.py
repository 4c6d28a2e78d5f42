"""What the armory costs each step that reads it, on a season's log kept by `bench/season.py`.

    python bench/season.py --events 1000000 --stages 1000000 --repeat 1 --keep /tmp/season
    python bench/custody.py /tmp/season [--repeat 9]

In one process (no start-up), medians: one read of the armory as it is now, folded from every
custody event of the season (`armory.load`) and from the sealed checkpoint plus the custody
events after it (`armory.current`, custodyview.py); then what a walk-through step reads with each:
a run's start with firearms and rounds going out (the armory read five times: the labels of its
per-firearm checks, the rules before anyone is asked, the rules with the armorer named, under
the write lock, and the events to write), a hand-over sign-off (read for the custody verdicts,
then for the move to write), and a month's report's custody part (from the season's first
custody event, and from the snapshot of the day before the month).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def median_ms(work: Callable[[], Any], repeat: int) -> float:
    took = []
    for _ in range(repeat):
        begun = time.perf_counter()
        work()
        took.append(time.perf_counter() - begun)
    return statistics.median(took) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path, help="a workspace kept by bench/season.py --keep")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    home: Path = args.home
    os.environ.setdefault("SAFETYCLI_KEY_DIR", str(home.parent / f"{home.name}-keys"))
    os.environ.setdefault("SAFETYCLI_STATE_DIR", str(home.parent / f"{home.name}-state"))

    from safetycli import armory, review
    from safetycli.ledger import Ledger

    with Ledger.open(home / "log.db", create=False) as ledger:
        head = ledger.head()[0]
        custody = sum(1 for _ in ledger.events(kinds=armory.ev.ARMORY_KINDS))
        fresh = hasattr(armory, "current") and ledger.custody_checkpoint() is not None
        read = armory.current if fresh else armory.load
        state = read(ledger)
        serial = next(iter(state.firearms.values())).serial
        run = next(iter(ledger.run_starts(newest_first=True))).run
        last_day = max(s.data["day"] for s in ledger.run_starts(newest_first=True))
        month = review.RunFilter(day_from=last_day[:8] + "01", day_to=last_day)
        runs = [s.run for s in ledger.run_starts(day_from=month.day_from, day_to=month.day_to)]
        first = min(s.seq for s in ledger.run_starts(day_from=month.day_from))
        keep = armory.in_period(set(runs), month.day_from, month.day_to)

        def start() -> None:
            for _ in range(5):  # labels, rules, rules with the armorer, the guard, the events
                read(ledger)

        def hand_over() -> None:
            armory.verdicts(read(ledger), [f"hand-over@{serial}"], run)
            read(ledger)

        rows: list[tuple[str, float, float | None]] = [
            ("one read of the armory", median_ms(lambda: armory.load(ledger), args.repeat), None),
        ]
        if fresh:
            rows[0] = (rows[0][0], rows[0][1], median_ms(lambda: armory.current(ledger), 9))
        folded = armory.load

        def start_folded() -> None:
            for _ in range(5):
                folded(ledger)

        def hand_over_folded() -> None:
            armory.verdicts(folded(ledger), [f"hand-over@{serial}"], run)
            folded(ledger)

        rows.append(
            (
                "run start with firearms going out (5 reads)",
                median_ms(start_folded, args.repeat),
                median_ms(start, args.repeat) if fresh else None,
            )
        )
        rows.append(
            (
                "hand-over sign-off (2 reads + verdict)",
                median_ms(hand_over_folded, args.repeat),
                median_ms(hand_over, args.repeat) if fresh else None,
            )
        )
        whole = median_ms(lambda: armory.load(ledger, keep=keep), args.repeat)
        period = None
        if hasattr(armory, "for_period"):
            period = median_ms(
                lambda: armory.for_period(ledger, keep, month.day_from, first), args.repeat
            )
        rows.append((f"month's report custody ({month.day_from}..{month.day_to})", whole, period))
    print(
        f"{head:,} events, {custody:,} custody events; median of {args.repeat}, ms", file=sys.stderr
    )
    print("| read | whole custody fold | sealed checkpoint + tail |")
    print("| --- | --- | --- |")
    for what, slow, fast in rows:
        print(f"| {what} | {slow:.2f} ms | {'' if fast is None else f'{fast:.2f} ms'} |")


if __name__ == "__main__":
    main()
