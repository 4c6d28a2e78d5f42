"""The set board (`status --watch`): what one redraw costs on a kept season's workspace.

The board ticks every few seconds all day. What a tick costs when nothing moved is what the
monitor pays for ever; a tick after an event on set costs one `status`. Measured in one process,
the tree on `sys.path` (run it with another tree's interpreter, or PYTHONPATH, for "before"):

- **quiet tick**: nothing moved;
- **first tick**: everything read (the set, the roster warning, and on a laptop that syncs what
  two laptops did apart);
- **set moved**: the set read again (an event on set: a sign-off, a hold);
- **apart moved** (only a board that shows it): the conflicts read again (a sync, a custody or
  roster event).

    python bench/board.py /tmp/copy-of-season/ws [--rounds 200] [--synced]

`--synced` makes the workspace a laptop that synced (an empty foreign.db beside its log, as a
first sync leaves it when nothing else was pulled): run it on a COPY of a kept season. The key
store and state folder are beside the workspace (`DIR-keys`, `DIR-state`), as season.py keeps
them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(step: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """(median, p90) in milliseconds."""
    took = []
    for _ in range(rounds):
        begun = time.perf_counter()
        step()
        took.append((time.perf_counter() - begun) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.9) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path, help="a COPY of a kept workspace")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--synced", action="store_true", help="add an empty foreign.db first")
    args = parser.parse_args()
    home: Path = args.home
    os.environ.setdefault("SAFETYCLI_KEY_DIR", str(home.parent / f"{home.name}-keys"))
    os.environ.setdefault("SAFETYCLI_STATE_DIR", str(home.parent / f"{home.name}-state"))

    import functools

    import safetycli
    from safetycli.cli import board
    from safetycli.cli.status_cmd import _lines
    from safetycli.workspace import find_workspace

    if args.synced:
        from safetycli.central import foreign

        foreign.ForeignLog.open(home / foreign.FILENAME).close()
    ws = find_workspace(home)
    lines_of = functools.partial(_lines, zone="UTC")
    print(f"tree: {Path(safetycli.__file__).parent.parent}")
    print(f"workspace: {home} (foreign.db: {(home / 'foreign.db').exists()})")
    print(f"load: {Path('/proc/loadavg').read_text().strip()}")
    few = max(3, args.rounds // 20)
    rows: list[tuple[str, float, float, int]] = []
    with ws.open_log() as ledger:
        print(f"events: {ledger.head()[0]:,}")
        if hasattr(board, "Board"):  # this tree's board
            from safetycli.cli.status_cmd import standing_lines

            standing_of = functools.partial(standing_lines, zone="UTC")
            shown = board.Board(ledger, lines_of, standing_of)
            rows.append(
                (
                    "first tick",
                    *timed(lambda: board.Board(ledger, lines_of, standing_of).tick(), few),
                    few,
                )
            )
            shown.tick()
            rows.append(("quiet tick", *timed(shown.tick, args.rounds), args.rounds))

            def set_moved() -> None:
                shown._seen = None
                shown.tick()

            def apart_moved() -> None:
                shown.standing._mark = None
                shown.tick()

            rows.append(("set moved", *timed(set_moved, few), few))
            rows.append(("apart moved", *timed(apart_moved, few), few))
            print(f"shown: {len(shown.lines)} run lines, {len(shown.marked)} WAITING/EXCEPTION")
        else:  # the board before: a generator that sleeps between ticks
            board.time.sleep = lambda _s: None  # type: ignore[assignment]

            def first() -> None:
                next(board._ticks(ledger, 0, lines_of))

            ticks = board._ticks(ledger, 0, lines_of)
            next(ticks)
            rows.append(("first tick", *timed(first, few), few))
            rows.append(("quiet tick", *timed(lambda: next(ticks), args.rounds), args.rounds))
            rows.append(("set moved", *timed(first, few), few))
    print("| tick | median | p90 | n |")
    print("| --- | --- | --- | --- |")
    for name, median, p90, n in rows:
        print(f"| {name} | {median:.3f} ms | {p90:.3f} ms | {n} |")
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
