"""verify's meaning checks (audit.meaning) alone, on a workspace's log: CPU seconds per run and
the parts that cost most, in one process (issue 14). They run in a thread beside the chain scan
and SQLite's integrity check; on two cores, past about 0.4 CPU s they finish after the integrity
check and verify's wall time grows.

    SAFETYCLI_KEY_DIR=... SAFETYCLI_STATE_DIR=... .venv/bin/python bench/meaning.py \\
        --home /tmp/copy/ws [--runs 5]

Measure on a copy of a season (the log is only read, but a kept season is not to be touched).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _cpu(runs: int, work: Callable[[], Any]) -> tuple[float, float]:
    took = []
    for _ in range(runs):
        start = time.process_time()
        work()
        took.append(time.process_time() - start)
    return min(took), statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="the workspace folder")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from safetycli import audit, runview
    from safetycli.ledger import Ledger

    with Ledger.open(args.home / "log.db", create=False) as ledger:
        found = audit.meaning(ledger)  # warm: the page cache, the imports
        print(f"log: {ledger.count():,} events; problems found: {len(found)}")
        print(f"device key here: {'yes' if ledger.key is not None else 'no (views unchecked)'}")
        parts: list[tuple[str, Callable[[], Any]]] = [
            ("audit.meaning (all of it)", lambda: audit.meaning(ledger)),
            ("  run-status view (runview.mismatches)", lambda: runview.mismatches(ledger.db)),
            ("  armory checkpoint, its own read", ledger.run_view_problems),
        ]
        for name, work in parts:
            low, mid = _cpu(args.runs, work)
            print(f"{name:42s} CPU min {low:.3f} s, median {mid:.3f} s ({args.runs} runs)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.1f} MiB")


if __name__ == "__main__":
    main()
