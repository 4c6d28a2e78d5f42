"""`safetycli status` on kept season workspaces, beside a bare Typer app, and beside another tree.

Issue 14's targets for the set board: at 1,000,000 events under 0.25 s and within 1.3x of a
small log. Each variant is a fresh process from cached bytecode, all interleaved in a shuffled
order every round (so a change in the machine's load hits each alike); each child's wall time
and CPU time (user + sys, from `wait4`: it moves less with other people's work) are reported as
medians, with the ratio to the first workspace's.

    python bench/status.py /tmp/season100k/ws /tmp/season1m/ws [--rounds 15]
    python bench/status.py A/ws B/ws --other /path/to/main/.venv/bin/safetycli \\
        --other-homes A-copy/ws B-copy/ws

A workspace kept by `bench/season.py --keep DIR` has its key store and state folder beside it
(`DIR-keys`, `DIR-state`), as `season.py --measure` expects. With `--other`, give that tree its
own copies of the workspaces (`--other-homes`, same order): opening a log can write to it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# Linux carries a process's peak RSS across exec; a small launcher forks the command and reports
# its own child's times (as season.py's does).
_LAUNCHER = """
import os, sys, time
begun = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
took = time.perf_counter() - begun
print(took, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status))
"""

BARE_APP = '''\
import typer

app = typer.Typer()


@app.command()
def main(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


app()
'''


def env_for(home: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env["NO_COLOR"] = "1"
    env.pop("SAFETYCLI_HOME", None)
    if home is not None:
        env["SAFETYCLI_HOME"] = str(home)
        env["SAFETYCLI_KEY_DIR"] = str(home.parent / f"{home.name}-keys")
        env["SAFETYCLI_STATE_DIR"] = str(home.parent / f"{home.name}-state")
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("homes", nargs="+", type=Path, help="kept workspaces, smallest first")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--other", help="another tree's console script, timed in the same rounds")
    parser.add_argument("--other-homes", nargs="*", type=Path, default=[])
    args = parser.parse_args()
    if args.other and len(args.other_homes) != len(args.homes):
        parser.error("--other needs --other-homes: one copy of each workspace")

    tool = str(Path(sys.executable).with_name("safetycli"))
    with tempfile.TemporaryDirectory(prefix="safetycli-bench-") as tmp:
        bare = Path(tmp) / "bare_typer_app.py"
        bare.write_text(BARE_APP, encoding="utf-8")
        wall, cpu, names = run(args, tool, bare)
    first = f"status {args.homes[0]}"
    print(f"{args.rounds} rounds; load average after: {Path('/proc/loadavg').read_text()[:15]}")
    print("| variant | wall median | CPU median | wall / first | CPU / first |")
    print("| --- | --- | --- | --- | --- |")
    for name in names:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        rw = w / statistics.median(wall[first])
        rc = c / statistics.median(cpu[first])
        print(f"| {name} | {w:.3f} s | {c:.3f} s | {rw:.2f}x | {rc:.2f}x |")


def run(
    args: argparse.Namespace, tool: str, bare: Path
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[str]]:
    """Every variant once per round, in a shuffled order: (wall, CPU) seconds per variant."""
    variants: dict[str, tuple[list[str], Path | None]] = {
        "bare app, running its command": ([sys.executable, str(bare)], None)
    }
    for home in args.homes:
        variants[f"status {home}"] = ([tool, "status"], home)
    for home in args.other_homes:
        variants[f"other: status {home}"] = ([args.other, "status"], home)

    names = list(variants)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for round_ in range(args.rounds + 2):  # two warm-up rounds write the bytecode caches
        order = names[:]
        random.shuffle(order)
        for name in order:
            argv, home = variants[name]
            done = subprocess.run(
                [sys.executable, "-S", "-c", _LAUNCHER, *argv],
                capture_output=True,
                text=True,
                env=env_for(home),
            )
            took, used, code = done.stdout.split()
            if int(code) != 0:
                raise SystemExit(f"{name} exited {code}: {done.stderr}")
            if round_ >= 2:
                wall[name].append(float(took))
                cpu[name].append(float(used))
    return wall, cpu, names


if __name__ == "__main__":
    main()
