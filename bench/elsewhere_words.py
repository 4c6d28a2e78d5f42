"""What saying other laptops' stop-work in the reader's words costs a report or `log show`: each
entry's line through `fmt.elsewhere` (the reader's language, times in the production's zone)
against its English `line` with the log's UTC times (what JSON and CSV keep), for held runs and
refused laptops' stop-work, lifted and not, in English and Spanish, in UTC and America/Denver.

    .venv/bin/python bench/elsewhere_words.py [--entries 200] [--rounds 30]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

from machine import cpu_model

from safetycli.elsewhere import HELD_RUN, UNVERIFIED, Stopped
from safetycli.i18n import speaking
from safetycli.render import fmt


def entries(n: int) -> list[Stopped]:
    """N stops of each kind the report lists, half of them lifted."""
    out = []
    for i in range(n):
        at = f"2026-11-23T{i // 60 % 24:02d}:{i % 60:02d}:00.000000Z"
        cleared = (
            {} if i % 2 else {"cleared_at": at, "cleared_by": [{"name": "Dana"}], "note": "ok"}
        )
        source = UNVERIFIED if i % 3 == 0 else HELD_RUN
        out.append(
            Stopped(
                source,
                "laptop-x",
                "stop-work" if source == UNVERIFIED else "run hold",
                f"{i}A",
                "2026-11-23",
                None if source == UNVERIFIED else f"r1-{i:06x}",
                "strap loose",
                at,
                {"name": "Sam Ortiz", "role": "armorer"},
                True,
                alarm="equivocation" if source == UNVERIFIED else None,
                **cleared,  # type: ignore[arg-type]
            )
        )
    return out


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    found = [s.as_json() for s in entries(args.entries)]
    print(f"{cpu_model()}, Python {platform.python_version()}, {args.entries} entries")
    cases: list[tuple[str, str, str]] = [("line (JSON's)", "en", "UTC")] + [
        (f"said, {lang}", lang, zone) for lang in ("en", "es") for zone in ("UTC", "America/Denver")
    ]
    for label, lang, zone in cases:
        with speaking(lang):
            if label.startswith("line"):
                ms = _median_ms(lambda: [e.stop.line for e in found], args.rounds)
            else:
                ms = _median_ms(lambda z=zone: [fmt.elsewhere(e, z) for e in found], args.rounds)
        per = ms / args.entries * 1000
        print(f"{label:16} {zone:15} {ms:8.3f} ms  ({per:.1f} us an entry)")


if __name__ == "__main__":
    main()
