"""What a producer's day on one laptop pays to show what other laptops stopped work on it with
(elsewhere.py): `log list --day` and `report --day` on a COPY of a season, side by side with
another tree's code (the code before the change), the rounds interleaved.

    python bench/elsewhere.py COPY --day D --before TREE [--foreign] [--rounds 10]

COPY is a copy of a kept season (`cp -a /tmp/flat-season /tmp/mycopy`): its workspace `ws`,
keys `ws-keys` and state `ws-state`; never the kept season itself (`--foreign` writes into it).
`--foreign` first gives the copy a `foreign.db` as a busy production's pulls leave it: another
laptop's season of held runs (every run of this season with a hold, re-chained as that laptop's:
start, holds, clearances) and 200 unverified stop-works of a refused laptop.
TREE is a folder holding the `safetycli` package to compare with (e.g. `git archive` of main).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_model
from unverified import rows as unverified_rows

from safetycli.central.foreign import ForeignLog, path_of
from safetycli.events import HOLD_CLEARED, HOLD_RAISED, RUN_STARTED
from safetycli.ledger import Ledger, canonical_json, row_hash
from safetycli.storage import GENESIS

OTHER = "bench-other-laptop"


def give_foreign(home: Path) -> int:
    """Another laptop's held runs and a refused laptop's stop-work, pulled into `home`."""
    with Ledger.open(home / "log.db", create=False) as ledger:
        key = ledger.key
        seal = key.foreign_seal if key is not None else None
        held = {e.run for e in ledger.events(kinds=(HOLD_RAISED,)) if e.run is not None}
        mine = [
            e
            for e in ledger.events(kinds=(RUN_STARTED, HOLD_RAISED, HOLD_CLEARED))
            if e.run in held
        ]
        rows, prev = [], GENESIS
        for seq, e in enumerate(mine, start=1):
            data = canonical_json(e.data)
            digest = row_hash(seq, e.at, e.kind, e.run, e.person, data, prev)
            rows.append((seq, e.at, e.kind, e.run, e.person, data, prev, digest, None))
            prev = digest
        foreign = ForeignLog.open(path_of(ledger.path))
        foreign.add(OTHER, len(rows), prev, rows, seal=seal)
        foreign.add_unverified(unverified_rows(200), seal)
        foreign.close()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("copy", type=Path)
    parser.add_argument("--day", required=True)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--foreign", action="store_true")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    root = args.copy.resolve()
    if root == Path("/tmp/flat-season"):
        sys.exit("give a copy of the kept season, never the season itself")
    env = dict(
        os.environ,
        SAFETYCLI_KEY_DIR=str(root / "ws-keys"),
        SAFETYCLI_STATE_DIR=str(root / "ws-state"),
        SAFETYCLI_HOME=str(root / "ws"),
        NO_COLOR="1",
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.foreign:
        os.environ.update(env)
        print(f"foreign.db: {give_foreign(root / 'ws')} held-run events, 200 unverified")
    trees = {"before": str(args.before.resolve()), "after": str(Path(__file__).parents[1])}
    commands = {
        "log list --day": ["log", "list", "--day", args.day],
        "report --day (md)": ["report", "--day", args.day],
        "report --day (json)": ["report", "--day", args.day, "--format", "json"],
    }
    times: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in commands}
    for r in range(args.rounds + 1):
        for c, argv in commands.items():
            for t, path in trees.items():
                t0 = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "safetycli", *argv],
                    env=dict(env, PYTHONPATH=path),
                    capture_output=True,
                )
                took = time.perf_counter() - t0
                if done.returncode != 0:
                    sys.exit(f"{t} {c}: {done.stderr.decode()[-300:]}")
                if r:  # the first round warms the caches
                    times[(t, c)].append(took)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(f"{cpu_model()}; load {Path('/proc/loadavg').read_text().split()[:3]}")
    print("| command | before | after |")
    print("| --- | --- | --- |")
    for c in commands:
        b, a = (statistics.median(times[(t, c)]) for t in trees)
        print(f"| `{c}` | {b:.3f} s | {a:.3f} s |")
    print(f"peak RSS of any child: {peak} MB")


if __name__ == "__main__":
    main()
