"""Start-up time of `safetycli --help` (and `safetycli status`) beside a bare one-command Typer app.

The target (DESIGN.md): at most 1.15x the bare app. Both are measured in the same run, as fresh
processes, interleaved in a shuffled order on every round so that drift in machine load (turbo,
thermal, other processes) hits every variant alike; the report gives medians and the ratio.

    python bench/startup.py                  # 60 rounds
    python bench/startup.py --runs 200
    python bench/startup.py --importtime     # also: which imports `safetycli --help` pays for
    python bench/startup.py --other /work/main/.venv/bin/safetycli   # another tree, interleaved

`status` needs a workspace: one is created in a temporary folder (`safetycli init`). If the
installed safetycli has no `status` command, that row is skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model

BARE_APP = '''\
import typer

app = typer.Typer({options})


@app.command()
def main(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {{name}}")


app()
'''

TARGET = 1.15


def safetycli_command() -> list[str]:
    """The console script beside this Python if there is one, else `python -m safetycli`."""
    script = Path(sys.executable).with_name("safetycli")
    if script.exists():
        return [str(script)]
    found = shutil.which("safetycli")
    return [found] if found else [sys.executable, "-m", "safetycli"]


def machine() -> str:
    model = cpu_model()
    cores = os.cpu_count()
    py = platform.python_version()
    return f"{cores} cores, {model}, Python {py} ({platform.system()} {platform.release()})"


def time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run: CPU is the child's user + sys time (`wait4`), which moves
    far less than the wall time when other people's work shares the cores."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    errors = proc.stderr.read()  # a few lines at most; read before waiting, never blocks it
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({code}): {errors.decode()}")
    return elapsed, usage.ru_utime + usage.ru_stime


def importtime(argv: list[str], env: dict[str, str], top: int) -> list[tuple[int, str]]:
    """The slowest top-level imports (cumulative microseconds) behind `argv`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], env=env, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(2)) <= 1:  # top level: imported by the program itself
            rows.append((int(match.group(1)), match.group(3)))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60, help="rounds (each runs every variant)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--importtime", action="store_true", help="show the slowest imports")
    parser.add_argument(
        "--other",
        metavar="SAFETYCLI",
        help="another tree's console script (e.g. main's): its --help, status and checklists "
        "list are timed in the same rounds, against the same bare app",
    )
    args = parser.parse_args()

    tool = safetycli_command()
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("SAFETYCLI_HOME", None)
    # Users run from cached bytecode; without it every start recompiles whatever changed last.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="safetycli-bench-") as tmp:
        # The workspace's high-water marks and device key stay in the throwaway folder too.
        env["SAFETYCLI_STATE_DIR"] = str(Path(tmp) / "state")
        env["SAFETYCLI_KEY_DIR"] = str(Path(tmp) / "keys")
        bare = Path(tmp) / "bare_typer_app.py"
        bare.write_text(BARE_APP.format(options=""), encoding="utf-8")
        # safetycli turns Rich help off (rich_markup_mode=None); so does this like-for-like app.
        plain = Path(tmp) / "bare_typer_app_plain_help.py"
        plain.write_text(BARE_APP.format(options="rich_markup_mode=None"), encoding="utf-8")
        # safetycli's console script ends without Python's teardown (cli/quickexit.py); this app
        # does too, so the like-for-like ratio shows what safetycli's own code costs.
        quick = Path(tmp) / "bare_typer_app_no_teardown.py"
        quick.write_text(
            BARE_APP.format(options="").replace(
                "\napp()\n", "\nimport atexit, os\n\natexit.register(os._exit, 0)\napp()\n"
            ),
            encoding="utf-8",
        )
        # name -> (argv, the bare-app variant it is measured against)
        extra_env: dict[str, dict[str, str]] = {}  # name -> variables of its own
        variants: dict[str, tuple[list[str], str | None]] = {
            "bare app --help": ([sys.executable, str(bare), "--help"], None),
            "bare app, plain help, --help": ([sys.executable, str(plain), "--help"], None),
            "bare app, running its command": ([sys.executable, str(bare)], None),
            "bare app, running its command, no teardown": ([sys.executable, str(quick)], None),
            "safetycli --help": ([*tool, "--help"], "bare app --help"),
        }
        status_help = subprocess.run([*tool, "status", "--help"], env=env, capture_output=True)
        if status_help.returncode == 0:
            home = Path(tmp) / "ws"
            init = subprocess.run(
                [*tool, "init", "--home", str(home), "--production", "Bench"],
                env=env,
                capture_output=True,
                text=True,
            )
            if init.returncode == 0:
                env["SAFETYCLI_HOME"] = str(home)
                variants["safetycli status"] = ([*tool, "status"], "bare app, running its command")
                # Issue 16: the same in Spanish, which loads the compiled catalog (English
                # loads none).
                variants["safetycli status, in Spanish"] = (
                    [*tool, "status"],
                    "bare app, running its command",
                )
                extra_env["safetycli status, in Spanish"] = {"SAFETYCLI_LANG": "es"}
                # The listing a crew asks for before `run` (issue 14: from the protocol cache
                # once the warm-up rounds have written it, as on a set laptop).
                variants["safetycli checklists list"] = (
                    [*tool, "checklists", "list"],
                    "bare app, running its command",
                )
                if args.other:  # the same commands from another tree, side by side
                    other = [args.other]
                    variants["other: safetycli --help"] = ([*other, "--help"], "bare app --help")
                    # Its own state folder: both trees' protocol caches in one file would each
                    # miss on the other's key and load every protocol on every call.
                    own_state = {"SAFETYCLI_STATE_DIR": str(Path(tmp) / "other-state")}
                    for words in (["status"], ["checklists", "list"]):
                        name = f"other: safetycli {' '.join(words)}"
                        variants[name] = ([*other, *words], "bare app, running its command")
                        extra_env[name] = own_state
            else:
                print(f"skipping status: `safetycli init` failed: {init.stderr.strip()}")
        else:
            print("skipping status: this safetycli has no `status` command")

        names = list(variants)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.warmup + args.runs):
            order = names[:]
            random.shuffle(order)
            for name in order:
                elapsed, used = time_once(variants[name][0], {**env, **extra_env.get(name, {})})
                if round_ >= args.warmup:
                    times[name].append(elapsed)
                    cpu[name].append(used)

        medians = {name: statistics.median(times[name]) for name in names}
        cpu_medians = {name: statistics.median(cpu[name]) for name in names}
        print(f"machine: {machine()}")
        print(
            f"runs: {args.runs} per command, interleaved in shuffled order, {args.warmup} warm-up"
        )
        print()
        print(
            "| command | median | p10 | p90 | measured against | ratio | CPU median | CPU ratio |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        verdicts = []
        for name in names:
            data = sorted(times[name])
            p10 = data[len(data) // 10]
            p90 = data[max(0, (len(data) * 9) // 10 - 1)]
            against = variants[name][1]
            ratio = f"{medians[name] / medians[against]:.2f}x" if against else ""
            cpu_ratio = f"{cpu_medians[name] / cpu_medians[against]:.2f}x" if against else ""
            print(
                f"| `{name}` | {medians[name] * 1000:.1f} ms | {p10 * 1000:.1f} ms "
                f"| {p90 * 1000:.1f} ms | {against or ''} | {ratio} "
                f"| {cpu_medians[name] * 1000:.1f} ms | {cpu_ratio} |"
            )
            if against:
                verdicts.append((name, medians[name] / medians[against], against))
        print()
        for name, ratio, against in verdicts:
            verdict = "within" if ratio <= TARGET else "OVER"
            print(f"{name}: {ratio:.2f}x the {against} ({verdict} the {TARGET:.2f}x target)")
        plain_ratio = medians["safetycli --help"] / medians["bare app, plain help, --help"]
        print(f"safetycli --help: {plain_ratio:.2f}x the bare app with plain help (like for like)")
        if "safetycli status" in medians:
            quick_ratio = (
                medians["safetycli status"] / medians["bare app, running its command, no teardown"]
            )
            print(
                f"safetycli status: {quick_ratio:.2f}x the bare app ending without teardown, as "
                "safetycli does (like for like: what safetycli's own code costs)"
            )

        if args.importtime:
            for name in names:
                if not name.startswith("safetycli") or name in extra_env:
                    continue
                print()
                print(f"slowest top-level imports behind `{name}` (cumulative):")
                words = name.split()[1:]
                probe = [
                    "-c",
                    f"import sys; sys.argv = ['safetycli', *{words!r}]\n"
                    "from safetycli.cli import main\n"
                    "try:\n    main()\nexcept SystemExit:\n    pass",
                ]
                for micros, module in importtime(probe, env, 12):
                    print(f"  {micros / 1000:7.1f} ms  {module}")


if __name__ == "__main__":
    main()
