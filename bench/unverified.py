"""What a laptop pays, at every `status` and before every step, to read the stop-work of laptops
whose sync the server refused (unverified.py): the sealed digest of `foreign.db`'s unverified
table checked, each row's hash checked, the rows folded.

    python bench/unverified.py [--rows 0,10,200] [--repeat 200]

A fresh workspace (made with `init`) and a `foreign.db` beside its log with N unverified stop-work
rows of one refused device, as a pull leaves them; the board (`setnow.set_status`) and the read
alone (`unverified.pulled`) timed for each N, the rounds interleaved so every N sees the same load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from machine import cpu_model

from safetycli import unverified
from safetycli.central.foreign import ForeignLog, path_of
from safetycli.ledger import Ledger, canonical_json, row_hash
from safetycli.setnow import set_status
from safetycli.storage import GENESIS


def rows(n: int) -> list[tuple[object, ...]]:
    """N stop-work events of one refused device's chain, as the server hands them out."""
    out: list[tuple[object, ...]] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        at = f"2026-11-23T10:{seq // 60 % 60:02d}:{seq % 60:02d}.000000Z"
        data = canonical_json(
            {
                "scene": f"{seq}A",
                "day": None,
                "reason": "smoke",
                "name": "A Visitor",
                "role": None,
                "authenticated": False,
            }
        )
        digest = row_hash(seq, at, "scene.held", None, "A Visitor", data, prev)
        alarm = "equivocation: a different event for a number the server holds"
        out.append(
            (
                "refused-device",
                seq,
                at,
                "scene.held",
                None,
                "A Visitor",
                data,
                prev,
                digest,
                alarm,
                at,
            )
        )
        prev = digest
    return out


def workspace(root: Path, n: int) -> Path:
    home = root / f"ws{n}"
    subprocess.run(
        [sys.executable, "-m", "safetycli", "init", "--home", str(home), "--production", "Bench"],
        check=True,
        capture_output=True,
    )
    with Ledger.open(home / "log.db", create=False) as ledger:
        key = ledger.key
        foreign = ForeignLog.open(path_of(ledger.path))
        foreign.add_unverified(rows(n), key.foreign_seal if key is not None else None)
        foreign.close()
    return home


def _said(lang: str, board: dict[str, Any]) -> Callable[[Ledger], object]:
    """The board's lines as `status` prints them, in `lang` (the words looked up in the
    catalog at every line, as a redraw does), from a board read once."""
    from safetycli.cli.status_cmd import _lines
    from safetycli.i18n import speaking

    def said(_ledger: Ledger) -> object:
        with speaking(lang):
            return _lines(board, "America/Denver")

    return said


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="0,10,200")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = [int(c) for c in args.rows.split(",")]
    samples: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ledgers = {n: Ledger.open(workspace(Path(tmp), n) / "log.db", create=False) for n in counts}
        try:
            boards = {n: set_status(ledger) for n, ledger in ledgers.items()}
            for n, board in boards.items():
                assert len(board["unverified_stop_work"]) == n
            for _ in range(args.repeat):
                for n, ledger in ledgers.items():
                    for label, fn in (
                        ("status board (set_status)", set_status),
                        ("unverified stop-work read (pulled)", unverified.pulled),
                        ("status lines in English (status_cmd._lines)", _said("en", boards[n])),
                        ("status lines in Spanish (status_cmd._lines)", _said("es", boards[n])),
                    ):
                        start = time.perf_counter()
                        fn(ledger)
                        samples.setdefault((label, n), []).append(
                            (time.perf_counter() - start) * 1000
                        )
        finally:
            for ledger in ledgers.values():
                ledger.close()
    figures = [
        {
            "what": label,
            "rows": n,
            "median_ms": round(statistics.median(s), 3),
            "p90_ms": round(sorted(s)[int(len(s) * 0.9) - 1], 3),
        }
        for (label, n), s in samples.items()
    ]
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"# Unverified stop-work on a laptop ({cpu_model()}, Python {sys.version.split()[0]})\n")
    print("| read | unverified rows | median | p90 |")
    print("| --- | --- | --- | --- |")
    for f in sorted(figures, key=lambda f: (f["what"], f["rows"])):
        print(f"| {f['what']} | {f['rows']} | {f['median_ms']:.3f} ms | {f['p90_ms']:.3f} ms |")


if __name__ == "__main__":
    main()
