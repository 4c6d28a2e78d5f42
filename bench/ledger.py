"""Ledger benchmarks: one durable sign-off, and `verify` over a long log.

Everything is measured in the same run, in one temporary folder (so on one disk):

- `Ledger.append` (head read + canonical JSON + sha256 + insert + commit with fsync) beside a bare
  SQLite insert of the same row into the same schema with the same settings (WAL,
  synchronous=FULL, one commit per row), interleaved so both see the same disk weather. The
  difference is what the chain costs; the rest is the fsync any durable log pays.
- `verify` throughput over N events (default 200,000; the design target is 1,000,000), in one
  process and with the default number of workers.
- peak memory of verify at N/10 and N events, each in a fresh process: peak RSS and the Python
  heap (tracemalloc). Flat numbers mean verify does not hold the log in memory.

    .venv/bin/python bench/ledger.py [--events N] [--appends N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from machine import cpu_model

from safetycli.events import ITEM_PERFORMED, NewEvent
from safetycli.ledger import Ledger, migrate

ROLES = ["armorer", "first_ad", "actor", "prop_master"]
ITEMS = ["meeting-held", "shown-clear", "state-announced", "rounds-counted", "barrel-checked"]


def sign_off(i: int) -> NewEvent:
    """A sign-off shaped like the runner's: item, answer, phase, role, witnesses."""
    return NewEvent(
        ITEM_PERFORMED,
        {
            "answer": "yes" if i % 7 else 12,
            "item": ITEMS[i % len(ITEMS)],
            "phase": "before-each-take",
            "role": ROLES[i % len(ROLES)],
            "take": i % 30 + 1,
            "witnesses": [
                {"name": "Dana Reyes", "role": "first_ad"},
                {"name": "Zoë O'Neil", "role": "actor"},
            ],
        },
        run=f"r-{i // 60:06x}",
        person="Sam Ortiz",
    )


def fill(path: Path, count: int) -> None:
    def events(start: int, n: int) -> Iterator[NewEvent]:
        return (sign_off(i) for i in range(start, start + n))

    with Ledger.open(path) as ledger:
        for start in range(0, count, 50_000):
            ledger.append_many(events(start, min(50_000, count - start)))


# --- one durable append -------------------------------------------------------------------------


def bench_append(folder: Path, count: int) -> dict[str, float]:
    ledger = Ledger.open(folder / "append.db")
    bare = sqlite3.connect(folder / "bare.db", isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute("PRAGMA synchronous = FULL")
    migrate(bare)  # the very same table, indexes and triggers
    row = ("2026-11-23T09:00:00.000000Z", ITEM_PERFORMED, "r-1", "Sam Ortiz", "{}", "0" * 64)
    timed: dict[str, list[float]] = {"append": [], "bare": []}
    clock = time.perf_counter
    for i in range(-50, count):  # the first 50 of each warm the caches and are not counted
        event = sign_off(i)
        t0 = clock()
        ledger.append(event.kind, event.data, run=event.run, person=event.person)
        t1 = clock()
        bare.execute("BEGIN IMMEDIATE")
        bare.execute(
            "INSERT INTO events (seq, at, kind, run, person, data, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (i + 51, *row, "f" * 64),
        )
        bare.execute("COMMIT")
        t2 = clock()
        if i >= 0:
            timed["append"].append(t1 - t0)
            timed["bare"].append(t2 - t1)
    ledger.close()
    bare.close()
    out = {}
    for name, values in timed.items():
        values.sort()
        out[f"{name}_median_ms"] = statistics.median(values) * 1000
        out[f"{name}_p95_ms"] = values[int(len(values) * 0.95)] * 1000
    return out


# --- verify ---------------------------------------------------------------------------------------


def bench_verify(path: Path, count: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with Ledger.open(path) as ledger:
        for label, workers in (("one_process", 1), ("default_workers", None)):
            runs = []
            for _ in range(3):
                c0, t0 = os.times(), time.perf_counter()
                result = ledger.verify(workers=workers)
                t1, c1 = time.perf_counter(), os.times()
                # CPU seconds in this process and its (finished) workers: what the work costs
                # when the machine is shared; wall-clock is what a person waits.
                cpu = sum(c1[:4]) - sum(c0[:4])
                runs.append((t1 - t0, cpu))
                assert result.ok and result.events == count, result
            wall, cpu = min(runs)
            out[f"verify_{label}_s"] = wall
            out[f"verify_{label}_cpu_s"] = cpu
            out[f"verify_{label}_events_per_s"] = count / wall
        out["default_workers"] = _default_workers(count)
    return out


def _default_workers(count: int) -> int:
    from safetycli import chainscan, ledger

    return ledger._auto_workers(count, chainscan.native_helper() is not None)


# ru_maxrss survives execve on Linux: a child started from this (large) process would report our
# size. VmHWM belongs to the new address space, so the probe reads that where it exists.
MEMORY_PROBE = """
import json, resource, sys, tracemalloc
from pathlib import Path
from safetycli.ledger import Ledger
path, workers, trace = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
with Ledger.open(path) as ledger:
    if trace:
        tracemalloc.start()
    result = ledger.verify(workers=workers)
    assert result.ok, result
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
try:
    status = Path("/proc/self/status").read_text().splitlines()
    kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"heap_peak": peak, "rss_kib": kib}))
"""


def probe_memory(path: Path, workers: int, trace: bool) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path), str(workers), "1" if trace else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def bench_memory(small: Path, large: Path) -> dict[str, dict[str, float]]:
    """A worker runs the same scan over a part of the log, so the one-process figures bound it."""
    out = {}
    for name, path in (("small", small), ("large", large)):
        plain = probe_memory(path, 1, trace=False)
        traced = probe_memory(path, 1, trace=True)
        parallel = probe_memory(path, 2, trace=False)
        out[name] = {
            "rss_mib": plain["rss_kib"] / 1024,
            "python_heap_peak_kib": traced["heap_peak"] / 1024,
            "parallel_main_rss_mib": parallel["rss_kib"] / 1024,
        }
    return out


# --- the machine ----------------------------------------------------------------------------------


def machine(folder: Path) -> dict[str, str]:
    cpu = cpu_model()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "cores": f"{usable} usable of {os.cpu_count()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
        "disk": disk_of(folder),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min, at start)",
    }


def disk_of(folder: Path) -> str:
    """Device, filesystem and whether the kernel calls it rotational (Linux); best effort."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    where = str(folder.resolve())
    best = max(
        (m for m in mounts if where == m[1] or where.startswith(m[1].rstrip("/") + "/")),
        key=lambda m: len(m[1]),
        default=None,
    )
    if best is None:
        return "unknown"
    device, mount, fstype = best[0], best[1], best[2]
    name = Path(device).name.rstrip("0123456789")
    if name.startswith("nvme") and "p" in name:
        name = name.rsplit("p", 1)[0]
    kind = ""
    rotational = Path(f"/sys/block/{name}/queue/rotational")
    if rotational.exists():
        kind = ", rotational" if rotational.read_text().strip() == "1" else ", non-rotational"
    model = Path(f"/sys/block/{name}/device/model")
    label = f" {model.read_text().strip()}" if model.exists() else ""
    return f"{device}{label} ({fstype} on {mount}{kind})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="log size for verify")
    parser.add_argument("--appends", type=int, default=1_000, help="appends to time")
    parser.add_argument("--dir", type=Path, default=None, help="where the temp files go")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="safetycli-bench-", dir=args.dir) as tmp:
        folder = Path(tmp)
        for key, value in machine(folder).items():
            print(f"{key:>8}: {value}")

        append = bench_append(folder, args.appends)
        print(f"\ndurable append, {args.appends} each, interleaved:")
        print(
            f"  Ledger.append       median {append['append_median_ms']:.3f} ms"
            f"   p95 {append['append_p95_ms']:.3f} ms"
        )
        print(
            f"  bare SQLite insert  median {append['bare_median_ms']:.3f} ms"
            f"   p95 {append['bare_p95_ms']:.3f} ms"
        )
        extra = append["append_median_ms"] - append["bare_median_ms"]
        print(f"  the chain's own cost (median difference): {extra:.3f} ms")

        small, large = folder / "small.db", folder / "large.db"
        t0 = time.perf_counter()
        fill(large, args.events)
        fill(small, max(1, args.events // 10))
        took = time.perf_counter() - t0
        print(f"\nwrote {args.events:,} + {args.events // 10:,} events in {took:.1f} s")
        size = large.stat().st_size / 2**20
        print(f"log file: {size:.0f} MiB for {args.events:,} events")

        verify = bench_verify(large, args.events)
        print(f"\nverify {args.events:,} events (best of 3):")
        workers = f"{int(verify['default_workers'])} worker(s)"
        for label, name in (("one_process", "one process"), ("default_workers", workers)):
            print(
                f"  {name:<19} {verify[f'verify_{label}_s']:.2f} s wall"
                f" ({verify[f'verify_{label}_cpu_s']:.2f} s CPU)"
                f"   {verify[f'verify_{label}_events_per_s']:,.0f} events/s"
            )

        memory = bench_memory(small, large)
        print("\nverify peak memory, each in a fresh process:")
        for name, count in (("small", args.events // 10), ("large", args.events)):
            m = memory[name]
            print(
                f"  {count:>9,} events: RSS {m['rss_mib']:.1f} MiB,"
                f" Python heap peak {m['python_heap_peak_kib']:.0f} KiB;"
                f" with 2 workers, the main process: RSS {m['parallel_main_rss_mib']:.1f} MiB"
            )


if __name__ == "__main__":
    main()
