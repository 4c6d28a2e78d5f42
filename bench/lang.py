"""What reading each person in their language costs (issue 16), side by side in one process.

- catalog: `load_catalog().get("firearm-scene")` (what `run` and `checklists show` do) with the
  Spanish translation beside it, against the same with translations not read: the cost of
  parsing and checking one translation file;
- signature text: `translation.signature_texts` for one person's list of a phase (the text
  shown and its sha256), in English and in Spanish, against `runner.answer` for one check (what
  a sign-off costs before the append).

    .venv/bin/python bench/lang.py [--rounds N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

from machine import cpu_model

from safetycli import runner, translation
from safetycli.catalog import load_catalog
from safetycli.runner import Ask, RunState


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds

    def with_translation() -> object:
        return load_catalog().get("firearm-scene")

    real = translation.files_for

    def without_translation() -> object:
        translation.files_for = lambda path: []  # type: ignore[assignment]
        try:
            return load_catalog().get("firearm-scene")
        finally:
            translation.files_for = real  # type: ignore[assignment]

    protocol = with_translation()
    assert protocol.translations, "no Spanish translation beside firearm-scene"  # type: ignore[attr-defined]
    phase = protocol.phase("before-each-take")  # type: ignore[attr-defined]
    items = list(phase.items)
    state = RunState(run_id="r-bench0", protocol={"id": protocol.id})  # type: ignore[attr-defined]
    item = items[0]
    ask = Ask(phase, item, 1, "performed", item.by, "Sam Ortiz", False)

    pairs = []
    for _ in range(3):  # interleaved, so both see the same machine
        pairs.append(
            (_median_ms(with_translation, rounds), _median_ms(without_translation, rounds))
        )
    loaded, bare = min(p[0] for p in pairs), min(p[1] for p in pairs)
    english = _median_ms(lambda: translation.signature_texts(protocol, items, None), rounds * 20)
    spanish = _median_ms(lambda: translation.signature_texts(protocol, items, "es"), rounds * 20)
    answer = _median_ms(lambda: runner.answer(protocol, state, ask, True), rounds * 20)
    print(f"{platform.python_version()}, {cpu_model()}")
    print("| measure | median |")
    print("| --- | --- |")
    print(f"| load_catalog + get firearm-scene, translations not read | {bare:.1f} ms |")
    print(f"| load_catalog + get firearm-scene, Spanish read and checked | {loaded:.1f} ms |")
    print(f"| signature text + sha256, {len(items)} checks, English | {english * 1000:.0f} µs |")
    print(f"| signature text + sha256, {len(items)} checks, Spanish | {spanish * 1000:.0f} µs |")
    print(f"| runner.answer, one check (includes its own text hash) | {answer * 1000:.0f} µs |")


if __name__ == "__main__":
    main()
