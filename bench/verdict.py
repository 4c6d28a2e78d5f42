"""What verify's standing verdict (safetycli/verdict.py) costs the commands that open the log.

Two figures:

1. In the process: the check `Workspace.open_log` makes (`Workspace.verdict`), with no verdict
   (the usual case: one open that finds nothing) and with one standing (the file read and parsed,
   the log's first event read through its primary key), each repeated many times.
2. `safetycli status` as fresh processes, interleaved in shuffled order: the same workspace with
   no verdict, and with verify's verdict standing (the same check, plus the ALARM line printed).

    python bench/verdict.py              # 2,000 checks; 30 rounds of status
    python bench/verdict.py --runs 60
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def safetycli() -> list[str]:
    script = Path(sys.executable).with_name("safetycli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "safetycli"]


def make_workspace(folder: Path, env: dict[str, str]) -> Path:
    """A workspace with a few events, and one of them edited so that verify fails."""
    home = folder / "ws"
    run = [*safetycli(), "--home", str(home)]
    subprocess.run(
        [*run, "init", "--production", "Bench"], env=env, check=True, capture_output=True
    )
    for n in range(5):  # a few events: scene holds need no PIN
        args = ["hold", "--scene", f"S{n}", "--reason", "bench", "--by", "Bench"]
        subprocess.run([*run, *args], env=env, check=True, capture_output=True)
    db = sqlite3.connect(home / "log.db")
    db.execute("DROP TRIGGER events_no_update")
    seq = db.execute("SELECT min(seq) FROM events WHERE instr(data, ?) > 0", ('"bench"',))
    (seq,) = seq.fetchone()
    db.execute("UPDATE events SET data = replace(data, 'bench', 'BENCH') WHERE seq = ?", (seq,))
    db.commit()
    db.close()
    done = subprocess.run([*run, "verify"], env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stdout
    return home


def check_cost(home: Path, rounds: int) -> dict[str, float]:
    """Microseconds per `Workspace.verdict` check, without and with a standing verdict."""
    from safetycli.headmark import HeadMarks
    from safetycli.workspace import Workspace

    ws = Workspace(home.resolve())
    marks = HeadMarks(ws.root)
    aside = marks.verdict.with_name("aside")
    out: dict[str, float] = {}
    with ws.open_log(strict=False) as ledger:
        for name, present in (("no verdict", False), ("verdict standing", True)):
            if present:
                shutil.move(aside, marks.verdict)
            else:
                shutil.move(marks.verdict, aside)
            assert (ws.verdict(ledger, marks) is not None) is present
            start = time.perf_counter()
            for _ in range(rounds):
                ws.verdict(ledger, marks)
            out[name] = (time.perf_counter() - start) / rounds * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="rounds of `status` per variant")
    parser.add_argument("--checks", type=int, default=2000, help="in-process checks per variant")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {sys.version.split()[0]}")
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]} (1, 5, 15 min) at the start")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYCLI_")}
        env.update(
            SAFETYCLI_STATE_DIR=str(folder / "state"),
            SAFETYCLI_KEY_DIR=str(folder / "keys"),
            NO_COLOR="1",
        )
        os.environ.update(SAFETYCLI_STATE_DIR=env["SAFETYCLI_STATE_DIR"])
        os.environ.update(SAFETYCLI_KEY_DIR=env["SAFETYCLI_KEY_DIR"])
        home = make_workspace(folder, env)
        for name, micro in check_cost(home, args.checks).items():
            print(f"check in the process, {name}: {micro:.1f} us")

        (verdict,) = (folder / "state").glob("*.verdict")
        aside = verdict.with_name("aside")
        argv = [*safetycli(), "--home", str(home), "status"]
        times: dict[str, list[float]] = {"no verdict": [], "verdict standing": []}
        for _ in range(3):  # warm-up
            subprocess.run(argv, env=env, capture_output=True)
        for _ in range(args.runs):
            order = list(times)
            random.shuffle(order)
            for name in order:
                if name == "no verdict":
                    shutil.move(verdict, aside)
                start = time.perf_counter()
                done = subprocess.run(argv, env=env, capture_output=True, text=True)
                times[name].append(time.perf_counter() - start)
                if name == "no verdict":
                    shutil.move(aside, verdict)
                    assert "ALARM" not in done.stderr
                else:
                    assert "ALARM" in done.stderr
        base = statistics.median(times["no verdict"])
        for name, got in times.items():
            median = statistics.median(got)
            print(f"status, {name}: median {median * 1000:.1f} ms ({median / base:.2f}x)")
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]} at the end")


if __name__ == "__main__":
    main()
