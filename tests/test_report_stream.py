"""The report written a run at a time (`build_report(spool=True)`, the renderers' `*_chunks`)
is the report written whole, byte for byte in every format: a day, a period, a period with no
run, and runs whose text is hostile (markup, control and invisible characters, formulas)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safetycli import crew, review
from safetycli.ledger import Ledger
from safetycli.render import report as render
from safetycli.runspool import RunSpool
from tests.reviewdata import Production, add_hostile, build

GENERATED_AT = "2026-11-25T00:00:00.000000Z"


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        made = build(tmp_path_factory.mktemp("stream") / "ws")
        add_hostile(made)
        yield made


def _both(prod: Production, day_from: str | None, day_to: str | None) -> tuple[Any, Any]:
    filters = review.RunFilter(day_from=day_from, day_to=day_to)
    with Ledger.open(prod.db) as ledger:
        whole = review.build_report(ledger, filters, generated_at=GENERATED_AT)
        spooled = review.build_report(ledger, filters, generated_at=GENERATED_AT, spool=True)
    return whole, spooled


@pytest.mark.parametrize(
    "span",
    [
        (None, None),
        ("2026-03-02", "2026-03-02"),
        ("2026-03-03", "2026-03-04"),
        ("2031-01-01", "2031-01-31"),  # no run at all
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "America/Denver"])
def test_a_report_written_a_run_at_a_time_is_the_same_text(
    prod: Production, span: tuple[str | None, str | None], zone: str
) -> None:
    whole, spooled = _both(prod, *span)
    assert isinstance(spooled["runs"], RunSpool) and isinstance(whole["runs"], list)
    assert list(spooled["runs"]) == whole["runs"]
    try:
        for chunks, text in [
            (render.markdown_chunks(spooled, zone), render.to_markdown(whole, zone)),
            (render.html_chunks(spooled, zone), render.to_html(whole, zone)),
            (render.csv_chunks(spooled), render.to_csv(whole)),
            (render.json_chunks(spooled), render.to_json(whole)),
        ]:
            assert "".join(chunks) == text
    finally:
        spooled["runs"].close()
    if span[0] is None:
        assert len(whole["runs"]) > 5  # worth comparing: every run of the production


def test_the_cli_writes_the_same_report_to_a_file_and_to_the_screen(
    prod: Production, tmp_path: Path
) -> None:
    for fmt in ("md", "html", "csv", "json"):
        out = tmp_path / f"report.{fmt}"
        args = ["report", "--from", "2026-03-01", "--to", "2026-03-31", "--format", fmt]
        shown = prod.invoke(args)
        written = prod.invoke([*args, "-o", str(out)])
        assert shown.exit_code == 0 and written.exit_code == 0, shown.output + written.output
        first, second = shown.stdout, out.read_text(encoding="utf-8")
        # Made a moment apart: when each was made (today, to the second) is all that differs.
        today = datetime.now(UTC).date()
        days = "|".join((today + timedelta(days=n)).isoformat() for n in (-1, 0, 1))
        made = re.compile(f"({days})" + r"[T ][0-9:.]+Z?")
        first, second = (made.sub("NOW", t) for t in (first, second))
        assert first == second
        assert not list(tmp_path.glob(".*.tmp"))


def test_windows_keep_the_order_and_a_run_listed_twice_together() -> None:
    starts = ["a", "b", "c", "b", "d", "e", "f", "g"]
    cut = list(review._windows(starts, 2))
    assert [run for window in cut for run in window] == starts
    assert ["b", "c", "b"] in cut or any({"b"} <= set(w) and w.count("b") == 2 for w in cut)
    assert all(len(w) >= 2 for w in cut[:-1]) and len(cut) > 2


@pytest.mark.parametrize("window", [1, 2, 3])
def test_a_report_read_a_few_runs_at_a_time_is_the_same(
    prod: Production, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs read a window at a time (to keep a season's report in flat memory): the same data
    as all at once, for windows that cut the period anywhere."""
    filters = review.RunFilter()
    with Ledger.open(prod.db) as ledger:
        at_once = review.build_report(ledger, filters, generated_at=GENERATED_AT)
        monkeypatch.setattr(review, "_WINDOW", window)
        ticks: list[tuple[int, int]] = []
        windowed = review.build_report(
            ledger, filters, generated_at=GENERATED_AT, progress=lambda n, t: ticks.append((n, t))
        )
    assert windowed == at_once
    assert render.to_json(windowed) == render.to_json(at_once)
    total = len(at_once["runs"])
    assert ticks[-1] == (total, total) and [n for n, _ in ticks] == sorted(n for n, _ in ticks)
