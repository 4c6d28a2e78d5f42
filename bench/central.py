"""Twenty laptops, one server: a season pushed into the central PostgreSQL, and the producer's
day questions asked of the merged store beside the same on one laptop's SQLite log.

    python bench/central.py                                  # 20 devices, 1,000,000 events in all
    python bench/central.py --devices 20 --events 100000     # a quick look
    python bench/central.py --central postgresql://...       # a real server (else a throwaway one)
    python bench/central.py --keep /tmp/units                # build the laptops once, reuse them

Each device is a workspace of its own with its own device key, filled with its own season
(bench/season.py's generator, its own seed) through `Ledger.append_bulk`. Then every device runs
`safetycli sync` at once, as twenty laptops reaching the network together would: the wall time of
all of them is the ingest rate (each event checked on arrival: hash, link, MAC). Then, in fresh
processes, `log list --day` and `report --day` with `--central` for a busy shooting day, beside
the same commands on the first device's own log.

Targets (issue 15): the central day report under 1 s; ingest at least 20,000 events/s.
Without `--central`, a throwaway cluster is started as the tests start it (tests/pgserver.py),
with fsync off: ingest figures then leave out the server's disk.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from season import _LAUNCHER as LAUNCHER
from season import Season, Timing, cli, machine, measure

from safetycli.workspace import init_workspace

REPO = Path(__file__).resolve().parent.parent


def build(root: Path, devices: int, events: int) -> list[tuple[Path, list[str]]]:
    """`devices` workspaces holding `events` in all, each its own season; a workspace `--keep`
    already holds (built by an earlier run with the same figures) is used as it is."""
    out = []
    per = events // devices
    walks: dict[Any, Any] = {}  # a walk simulated once serves every unit's season
    for i in range(devices):
        home = root / f"unit-{i:02d}"
        built = home / "built-days.json"  # written last: a half-built laptop is built again
        if built.exists():
            # What it pulled from an earlier run's server: this run's server is a new one.
            for pulled in home.glob("foreign.db*"):
                pulled.unlink()
            out.append((home, json.loads(built.read_text())))
            continue
        shutil.rmtree(home, ignore_errors=True)
        season = Season(2026 + i)
        season.walks = walks
        ws = init_workspace(home, "Central benchmark")
        with ws.open_log(create=True) as ledger:
            ledger.append_bulk(itertools.islice(iter(season), per))
            ledger.credentials.put_many(season.credentials)
        built.write_text(json.dumps(sorted(season.days)))
        out.append((ws.root, sorted(season.days)))
        sys.stderr.write(f"\r  built {i + 1}/{devices} devices ({per:,} events each)   ")
        sys.stderr.flush()
    sys.stderr.write("\n")
    return out


def approve_all(units: list[Path], url: str) -> None:
    """Let every laptop into the server first (not timed), as a production does: the first by its
    producer (`sync --approve-by`: the server only records the name), every other by the first
    laptop's MAC over its id (`join approve-device`), which the server checks."""
    from safetycli.central import approval
    from safetycli.central.store import CentralStore
    from safetycli.ledger import Ledger

    keys = []
    for home in units:
        with Ledger.open(home / "log.db", create=False) as ledger:
            assert ledger.key is not None and ledger.device is not None
            keys.append(ledger.key)
    with CentralStore.connect(url) as store:
        store.migrate()
        first = keys[0]
        for key in keys:
            store.register(key.device, key.central_key, key.key_id, "Central benchmark")
        refused = store.approve_first(first.device, "Bench Producer")
        for key in keys[1:]:
            mac = approval.device_mac(first.central_key, key.device, key.key_id)
            refused = refused or store.approve(
                key.device, key.key_id, first.device, "Bench Producer", mac
            )
        if refused is not None:
            raise SystemExit(f"the server did not let the laptops in: {refused}")


def push_all(units: list[Path], url: str) -> float:
    """Every device syncs at once; the wall time until the last one is done."""
    begun = time.perf_counter()
    procs = [
        subprocess.Popen(
            cli("sync", "--home", str(home), "--central", url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for home in units
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"sync exited {proc.returncode}: {err}")
    return time.perf_counter() - begun


def conflicts(url: str) -> tuple[float, int]:
    """What `status --central` adds to find the conflicts between laptops (central/conflicts.py,
    every unit's custody folded over the season; the report reuses its own custody fold), and
    how many it found."""
    from safetycli.central.reader import open_central

    with open_central(url) as reader:
        begun = time.perf_counter()
        found = reader.conflicts(reader.unended_runs())
        return time.perf_counter() - begun, len(found)


def first_pull(url: str, home: Path) -> tuple[float, int, list[tuple[str, int]]]:
    """What the server hands one laptop that has pulled nothing yet (every other device's events
    of the pulled kinds, `foreign.PULLED_KINDS`), its time, and the kinds that make it up: how
    much of a sync is the pull, and of what."""
    from collections import Counter

    from safetycli.central import foreign
    from safetycli.central.store import CentralStore
    from safetycli.ledger import Ledger

    with Ledger.open(home / "log.db", create=False) as ledger:
        me = ledger.device
    assert me is not None
    with CentralStore.connect(url) as store:
        begun = time.perf_counter()
        pulled = store.pull(me, {}, foreign.PULLED_KINDS, shared=foreign.ROSTER_PULLED)
        took = time.perf_counter() - begun
    kinds = Counter(row[2] for other in pulled for row in other.rows)
    return took, sum(kinds.values()), kinds.most_common(4)


def first_report(argv: list[str], repeat: int) -> Timing:
    """`report --day --central` as the first report on a computer (or after a laptop synced
    older custody late): no sealed custody starting point (central/custodypoint.py), so every
    unit's custody is folded from its first event. The points are removed before each run; the
    `report --day --central` line above is the steady state, from the point its warm-up left."""
    from safetycli.central import custodypoint
    from safetycli.statedir import state_dir

    seconds, peak = [], 0
    for _ in range(repeat):  # after `measure` above: the bytecode is cached
        shutil.rmtree(state_dir() / custodypoint.FOLDER, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-S", "-c", LAUNCHER, *argv], capture_output=True, text=True
        )
        took, maxrss, code = done.stdout.split()
        if int(code) != 0:
            raise SystemExit(f"{' '.join(argv)} exited {code}: {done.stderr}")
        seconds.append(float(took))
        peak = max(peak, int(maxrss))
    return Timing("report --day --central, no starting point", seconds, peak / 1024)


def settle(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--events", type=int, default=1_000_000, help="in all, over the devices")
    parser.add_argument("--central", help="a server to push into (default: a throwaway cluster)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, help="build the laptops' logs here once and reuse them after"
    )
    args = parser.parse_args()

    with ExitStack() as stack:
        if args.keep is not None:
            root = args.keep / f"{args.devices}x{args.events}"
            root.mkdir(parents=True, exist_ok=True)
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="central-")))
        os.environ.setdefault("SAFETYCLI_KEY_DIR", str(root / "keys"))
        os.environ.setdefault("SAFETYCLI_STATE_DIR", str(root / "state"))
        url = args.central
        if url is None:
            sys.path.insert(0, str(REPO))
            from tests.pgserver import throwaway_server

            url = stack.enter_context(throwaway_server())
        print(f"# Central store ({args.devices} devices, {args.events:,} events)\n")
        print(f"Machine: {machine()}\n")
        begun = time.perf_counter()
        units = build(root, args.devices, args.events)
        print(f"Built {args.devices} laptops' logs in {time.perf_counter() - begun:.0f} s.\n")

        approve_all([home for home, _ in units], url)
        took = push_all([home for home, _ in units], url)
        total = (args.events // args.devices) * args.devices
        print(f"Ingest: {total:,} events from {args.devices} devices at once in {took:.1f} s: ")
        print(f"{total / took:,.0f} events/s (each checked: hash, link, MAC).\n")

        # A season is pushed once; the producer asks later, when autovacuum has long since
        # gathered the new rows' statistics and set their visibility: settle the server the same
        # way before timing the questions (an ANALYZE and VACUUM of a million rows, a minute's
        # work for autovacuum in the background), so the figures are not of its first minute.
        settle(url)
        first, days = units[0]
        day = days[-2] if len(days) > 1 else days[-1]  # the first unit's last complete day
        timings = [
            measure(
                "log list --day (SQLite)",
                cli("log", "list", "--day", day, "--home", str(first)),
                args.repeat,
            ),
            measure(
                "log list --day --central",
                cli("log", "list", "--day", day, "--central", url),
                args.repeat,
            ),
            measure(
                "report --day (SQLite)",
                cli("report", "--day", day, "--home", str(first)),
                args.repeat,
            ),
            measure(
                "report --day --central", cli("report", "--day", day, "--central", url), args.repeat
            ),
            first_report(cli("report", "--day", day, "--central", url), args.repeat),
            # The whole production now, with every conflict between laptops (a season's worth).
            measure("status --central", cli("status", "--central", url), args.repeat),
        ]
        took, count, kinds = first_pull(url, units[0][0])
        top = ", ".join(f"{kind} {n:,}" for kind, n in kinds)
        print(f"A laptop's first pull (nothing pulled yet): {count:,} events in {took:.2f} s")
        print(f"(most: {top}).\n")
        took, found = conflicts(url)
        print(f"Conflicts between laptops, as `status --central` finds them: {took:.3f} s")
        print(f"({found:,} found: every unit's season has the same serials).\n")
        print(f"Day {day}:\n")
        print("| command | median | runs (s) | peak RSS |")
        print("|---|---|---|---|")
        for t in timings:
            runs = ", ".join(f"{s:.3f}" for s in t.seconds)
            print(f"| `{t.what}` | {t.median:.3f} s | {runs} | {t.rss_mb:.0f} MB |")


if __name__ == "__main__":
    main()
