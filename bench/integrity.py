"""verify's structure check (safetycli/structcheck.py) against SQLite's one `PRAGMA
integrity_check`, on a kept season's log: each part alone (wall and CPU, the compiled programs'
included), then `safetycli verify` end to end with one and two compiled chain workers, and the
tree before if given. Prints figures; the log is only read.

    python bench/integrity.py /tmp/season/ws --repeat 5
    python bench/integrity.py /tmp/season/ws --verify --before /tmp/tree-before

`--before DIR`: a source tree of the code to compare `verify` with (for example `git archive REV
| tar -x -C DIR`, its chainscan.c compiled beside it as hatch_build.py names it), run by this
interpreter with DIR first on its path.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import secrets
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from machine import cpu_model

from safetycli import structcheck
from safetycli.chainscan import native_helper

# Times a command in a child and reports the child's wall time and CPU, its own children (the
# compiled workers) included: wait4 counts the descendants the child waited for.
_LAUNCHER = """
import os, sys, time
begun = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
cpu = usage.ru_utime + usage.ru_stime
print(time.perf_counter() - begun, cpu, os.waitstatus_to_exitcode(status))
"""

# `safetycli verify` with a given number of compiled chain workers (ledger._auto_workers).
_WORKERS = (
    "import sys; from safetycli import ledger; ledger._auto_workers = lambda total, native=False:"
    " {n}; from safetycli.cli import main; sys.argv[0] = 'safetycli'; main()"
)


def _cpu() -> float:
    """CPU of every thread of this process and of the children it waited for."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + kids.ru_utime + kids.ru_stime


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), _cpu()
    answer = work()
    return time.perf_counter() - wall, _cpu() - cpu, answer


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])


def _file_parts(path: Path) -> Any:
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        return structcheck._file_parts(db)
    finally:
        db.close()


def _program(native: Path, args: list[str], key: bytes | None) -> str:
    done = subprocess.run(
        [str(native), *args],
        input=None if key is None else key.hex() + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()[-1][:60]


def parts(path: Path, repeat: int) -> None:
    """Each part alone, one after another, interleaved over the repeats."""
    native = native_helper()
    if native is None:
        raise SystemExit("the compiled program is not built: verify runs the full statement")
    key = secrets.token_bytes(16)
    where = str(path.resolve())
    work: dict[str, Callable[[], Any]] = {
        "PRAGMA integrity_check (the full statement)": lambda: structcheck.whole(path),
        "quick_check + small tables + day index (thread)": lambda: _file_parts(path),
        "the three indexes (compiled, --indexes)": lambda: _program(
            native, ["--indexes", where, "15000"], key
        ),
        "chain scan, 1 worker, no sums": lambda: _program(
            native, [where, "", "", "", "15000"], None
        ),
        "chain scan, 1 worker, with sums": lambda: _program(
            native, [where, "", "", "", "15000", "--sums"], key
        ),
    }
    for run in work.values():
        run()  # the OS's cache of the file warm, as every later run finds it
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in work}
    for _ in range(repeat):
        for name, run in work.items():
            wall, cpu, _ = timed(run)
            runs[name].append((wall, cpu))
    print(f"{'part':<50} {'wall (median)':>13} {'CPU (median)':>13}   all runs (wall/CPU)")
    for name, results in runs.items():
        wall = statistics.median(w for w, _ in results)
        cpu = statistics.median(c for _, c in results)
        every = ", ".join(f"{w:.2f}/{c:.2f}" for w, c in results)
        print(f"{name:<50} {wall:>12.3f}s {cpu:>12.3f}s   {every}")


def verify(home: Path, repeat: int, before: Path | None) -> None:
    """`safetycli verify` in fresh processes, from cached bytecode: this tree as shipped (one
    compiled chain worker per core), with one and with two, and the tree before. Each runs
    without site (-S), the tree then the installed dependencies on its path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    here = Path(__file__).resolve().parent.parent
    args = ["--home", str(home.resolve()), "verify"]
    this = {**env, "PYTHONPATH": f"{here}{os.pathsep}{deps}"}
    runs = {
        "as shipped": ([sys.executable, "-S", "-m", "safetycli", *args], this),
        "1 worker": ([sys.executable, "-S", "-c", _WORKERS.format(n=1), *args], this),
        "2 workers": ([sys.executable, "-S", "-c", _WORKERS.format(n=2), *args], this),
    }
    if before is not None:
        old = {**env, "PYTHONPATH": f"{before.resolve()}{os.pathsep}{deps}"}
        runs["before"] = ([sys.executable, "-S", "-m", "safetycli", *args], old)
    for argv, tree_env in runs.values():
        subprocess.run(argv, capture_output=True, env=tree_env, cwd=home)  # bytecode cached
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(repeat):  # interleaved: a change in the machine's load hits each
        for name, (argv, tree_env) in runs.items():
            done = subprocess.run(
                [sys.executable, "-S", "-c", _LAUNCHER, *argv],
                capture_output=True,
                text=True,
                env=tree_env,
                cwd=home,
            )
            took, cpu, code = done.stdout.split()
            if int(code) != 0:
                raise SystemExit(f"verify ({name}) exited {code}")
            results[name].append((float(took), float(cpu)))
    for name, timings in results.items():
        wall = statistics.median(w for w, _ in timings)
        cpu = statistics.median(c for _, c in timings)
        every = ", ".join(f"{w:.2f}/{c:.2f}" for w, c in timings)
        print(f"verify, {name:<22} {wall:.3f}s wall {cpu:.3f}s CPU (median)   {every}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path, help="a workspace folder (its log.db is only read)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--verify", action="store_true", help="also time `safetycli verify`")
    parser.add_argument("--before", type=Path, default=None, help="a tree to compare verify with")
    args = parser.parse_args()
    # Where season.py keeps the kept workspace's device key and marks (as `--measure` finds them).
    home = args.home.resolve()
    os.environ.setdefault("SAFETYCLI_KEY_DIR", str(home.parent / f"{home.name}-keys"))
    os.environ.setdefault("SAFETYCLI_STATE_DIR", str(home.parent / f"{home.name}-state"))
    print(
        f"{os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; load {load()}"
    )
    parts(home / "log.db", args.repeat)
    if args.verify:
        verify(home, args.repeat, args.before)
    print(f"load at the end {load()}")


if __name__ == "__main__":
    main()
