"""Sign-off benchmark: from an answer in hand to a durable event in the log.

What a crew member waits for after pressing Enter, measured in one run and one folder (so on one
disk), interleaved so every measure sees the same disk weather:

- sign-off without PIN: `runner.answer` (check the answer, judge it, build the signature and the
  outcome) + `Ledger.append_many` (head read, canonical JSON, sha256 chain, device MAC, insert,
  commit with fsync, the two high-water marks), for a non-critical item with no witness (the
  armorer listing the firearms), in a workspace opened as the CLI opens it;
- bare insert: one row into the same schema with the same settings (WAL, synchronous=FULL, one
  commit per row): the floor any durable SQLite log pays;
- sign-off with PIN: `crew.authenticate` at the real scrypt cost (which itself appends the
  `auth.ok` event) + `runner.answer` + `append_many`, for a critical check (bore checked).

    .venv/bin/python bench/signoff.py [--count N] [--pin-count N] [--dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import cpu_model

from safetycli import crew, roster, runner
from safetycli.catalog import load_catalog
from safetycli.ledger import Ledger, migrate
from safetycli.names import fold_name
from safetycli.protocol import Protocol
from safetycli.runner import Ask, RunState
from safetycli.workspace import init_workspace

PRODUCER = ("Pat Producer", "9182")
CREW = {
    "armorer": ("Sam Ortiz", "4821"),
    "first_ad": ("Dana Reyes", "1170"),
    "actor": ("Alex Kim", "5532"),
    "dp": ("Jo Park", "7741"),
}
WARMUP = 30


def machine() -> dict[str, Any]:
    model = cpu_model()
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "system": f"{platform.system()} {platform.release()}",
    }


def setup(root: Path) -> tuple[Ledger, Protocol, RunState]:
    """A workspace (device key, high-water marks) with the crew on the roster (real scrypt
    cost) and a firearm scene run with everyone signed in."""
    os.environ.setdefault("SAFETYCLI_KEY_DIR", str(root / "keys"))
    os.environ.setdefault("SAFETYCLI_STATE_DIR", str(root / "state"))
    ledger = init_workspace(root / "ws", "Sign-off benchmark").open_log(create=True)
    crew.add_member(ledger, PRODUCER[0], ["producer"], PRODUCER[1], None)
    for role, (name, pin) in CREW.items():
        crew.add_member(ledger, name, [role], pin, PRODUCER)
    protocol = load_catalog().get("firearm-scene")
    run_id = "r-bench1"
    ledger.append_many(
        runner.start(protocol, run_id, "12A", "2026-11-23", {"blanks": True, "dummies": False})
    )
    state = runner.replay(run_id, ledger.events(run=run_id))
    for role, (name, _) in CREW.items():
        ledger.append_many(runner.sign_in(state, role, name))
    return ledger, protocol, runner.replay(run_id, ledger.events(run=run_id))


def ask(protocol: Protocol, item_id: str, needs_pin: bool) -> Ask:
    phase, item = next((p, i) for p, i in protocol.items() if i.id == item_id)
    assert not item.witness and not item.readback, item_id
    assert item.critical == needs_pin, item_id
    take = 1 if phase.repeat == "per_take" else None
    name = CREW[item.by][0]
    return Ask(phase, item, take, "performed", item.by, name, needs_pin)


def bare_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    migrate(db)  # the very same table, indexes and triggers as the log
    return db


def bare_insert(db: sqlite3.Connection, seq: int) -> None:
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "INSERT INTO events (seq, at, kind, run, person, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            seq,
            "2026-11-23T09:00:00.000000Z",
            "item.performed",
            "r-bench1",
            "Sam Ortiz",
            '{"answer":"Glock 17 #ABC123 to Alex Kim, empty","item":"firearms-listed"}',
            "0" * 64,
            "1" * 64,
        ),
    )
    db.execute("COMMIT")


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p90_ms": ordered[int(len(ordered) * 0.9)] * 1000,
        "min_ms": ordered[0] * 1000,
    }


def bench(folder: Path, count: int, pin_count: int) -> dict[str, Any]:
    ledger, protocol, state = setup(folder)
    bare = bare_db(folder / "bare.db")
    plain = ask(protocol, "firearms-listed", needs_pin=False)
    critical = ask(protocol, "bore-checked", needs_pin=True)
    answer = "Glock 17 #ABC123 to Alex Kim, empty"
    clock = time.perf_counter
    timed: dict[str, list[float]] = {"signoff": [], "bare": [], "signoff_pin": []}
    seq = 0
    for i in range(-WARMUP, count):
        seq += 1
        start = clock()
        bare_insert(bare, seq)
        bare_time = clock() - start

        start = clock()
        ledger.append_many(runner.answer(protocol, state, plain, answer))
        signoff_time = clock() - start
        if i >= 0:
            timed["bare"].append(bare_time)
            timed["signoff"].append(signoff_time)

    name, pin = CREW["armorer"]
    for i in range(-3, pin_count):
        start = clock()
        crew.authenticate(
            ledger, name, pin, role="armorer", purpose="critical check", run=state.run_id
        )
        ledger.append_many(runner.answer(protocol, state, critical, "yes"))
        if i >= 0:
            timed["signoff_pin"].append(clock() - start)
    # The scrypt check alone, so the PIN figure can be read as scrypt + the rest.
    scrypt: list[float] = []
    stored = ledger.credential(name, roster.replay(ledger)[fold_name(name)].fingerprint) or ""
    assert crew.check_pin(pin, stored, ledger.pepper)
    for _ in range(pin_count):
        start = clock()
        crew.check_pin(pin, stored, ledger.pepper)
        scrypt.append(clock() - start)
    ledger.close()
    bare.close()
    out = {key: summary(values) for key, values in timed.items()}
    out["scrypt_alone"] = summary(scrypt)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="sign-offs without PIN")
    parser.add_argument("--pin-count", type=int, default=40, help="sign-offs with PIN")
    parser.add_argument("--dir", type=Path, default=None, help="folder on the disk to measure")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="signoff-bench-") as tmp:
        results = bench(Path(tmp), args.count, args.pin_count)
    info = machine()
    if args.json:
        json.dump({"machine": info, "results": results}, sys.stdout, indent=2)
        print()
        return
    print(
        f"{info['cores']} cores, {info['cpu']}, Python {info['python']}, "
        f"SQLite {info['sqlite']}, {info['system']}"
    )
    print()
    print("| measure | n | median | p90 |")
    print("| --- | --- | --- | --- |")
    labels = {
        "bare": "bare SQLite insert (WAL, synchronous=FULL, commit per row)",
        "signoff": "sign-off, no PIN: runner.answer + append_many",
        "signoff_pin": "sign-off with PIN: authenticate (scrypt) + runner.answer + append_many",
        "scrypt_alone": "of which one scrypt PIN check",
    }
    for key, label in labels.items():
        r = results[key]
        print(f"| {label} | {r['n']} | {r['median_ms']:.3f} ms | {r['p90_ms']:.3f} ms |")
    ratio = results["signoff"]["median_ms"] / results["bare"]["median_ms"]
    print()
    print(f"sign-off without PIN / bare insert (medians): {ratio:.2f}x")


if __name__ == "__main__":
    main()
