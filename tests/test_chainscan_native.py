"""verify's compiled chain scan (safetycli/native/chainscan.c) against the Python scan it stands
in for. The compiled scan may decline any range (exit UNSURE: verify then scans in Python, which
names the event); when it answers, its answer must be the Python scan's, byte for byte, for any
text safetycli writes and any edit someone with a SQLite shell makes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from safetycli import chainscan
from safetycli import ledger as ledger_module
from safetycli.ledger import Ledger

UNSURE = 3
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def native() -> Path:
    program = chainscan.native_helper()
    if program is None:
        if os.environ.get("SAFETYCLI_REQUIRE_NATIVE"):
            pytest.fail(
                "verify's compiled chain scan is not built: reinstall (pip install -e .) with a "
                "C compiler and SQLite's and OpenSSL's headers"
            )
        pytest.skip("verify's compiled chain scan is not built on this machine")
    return program


def run_native(
    program: Path, path: Path, lo: int | None = None, hi: int | None = None, prefix: str = ""
) -> tuple[int, dict[str, Any] | None, list[int]]:
    """(exit code, the Span it printed or None, its progress counts)."""
    argv = [str(program), str(path), "" if lo is None else str(lo), "" if hi is None else str(hi)]
    done = subprocess.run([*argv, prefix, "15000"], capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    ticks = [int(line[2:]) for line in lines if line.startswith("p ")]
    result = [json.loads(line[2:]) for line in lines if line.startswith("r ")]
    return done.returncode, (result[0] if result else None), ticks


def run_python(
    path: Path, lo: int | None = None, hi: int | None = None, prefix: str = ""
) -> tuple[dict[str, Any], list[int]]:
    ticks: list[int] = []
    db = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        span = chainscan.scan(db, lo, hi, prefix or None, ticks.append)
    finally:
        db.close()
    return dict(span.__dict__), ticks


def same_answer(program: Path, path: Path, **where: Any) -> tuple[int, dict[str, Any]]:
    """The compiled scan answers as Python does, or declines; never another answer."""
    code, answer, ticks = run_native(program, path, **where)
    expected, expected_ticks = run_python(path, **where)
    assert code in (0, UNSURE)
    if code == 0:
        assert answer == expected
        assert ticks == expected_ticks
        assert expected["bad_seq"] is None  # it only ever vouches for a range that holds
    else:
        assert answer is None
    return code, expected


def shell(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS events_no_update")
    db.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return db


# Text as a crew types it, and worse: quotes, backslashes, every control character, NUL, DEL,
# line and paragraph separators, accents, scripts, emoji.
hostile = st.text(
    st.characters(codec="utf-8")
    | st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "\u2029", "\ufeff", "é", "😀"]),
    max_size=30,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | hostile,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile, inner, max_size=3),
    max_leaves=8,
)
events = st.lists(
    st.tuples(
        st.sampled_from(("item.performed", "item.done", "take.next")),
        st.dictionaries(hostile, json_values, max_size=4),
        st.none() | hostile.filter(bool),
        st.none() | hostile.filter(bool),
    ),
    min_size=1,
    max_size=25,
)


def write(path: Path, batch: list[tuple[str, dict[str, Any], str | None, str | None]]) -> None:
    with Ledger.open(path) as ledger:
        for kind, data, run, person in batch:
            ledger.append(kind, data, run=run, person=person)


@SETTINGS
@given(batch=events, cut=st.integers(0, 30), prefix_len=st.integers(0, 6))
def test_any_text_safetycli_writes_is_scanned_as_python_scans_it(
    native: Path, tmp_path_factory: pytest.TempPathFactory, batch: Any, cut: int, prefix_len: int
) -> None:
    path = tmp_path_factory.mktemp("log") / "log.db"
    write(path, batch)
    with sqlite3.connect(path) as db:
        hashes = [row[0] for row in db.execute("SELECT hash FROM events ORDER BY seq")]
    prefix = hashes[min(cut, len(hashes) - 1)][:prefix_len] if prefix_len else ""
    # The whole log, and ranges split where workers would split it.
    code, expected = same_answer(native, path, prefix=prefix)
    assert code == 0, "an intact log of safetycli's own events must be answered, not declined"
    assert expected["count"] == len(batch)
    lo = min(cut, len(batch))
    assert same_answer(native, path, lo=None, hi=lo)[0] == 0
    assert same_answer(native, path, lo=lo, hi=None, prefix=prefix)[0] == 0


# A value someone with a SQLite shell might put in a field: another type, text that is not UTF-8,
# nothing at all, or other text.
raw_values = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.binary(max_size=8),
    st.none(),
    hostile,
    st.binary(min_size=1, max_size=6).map(lambda b: ("not-utf8", b + b"\xff")),
)


@SETTINGS
@given(
    seq=st.integers(1, 6),
    column=st.sampled_from(("at", "kind", "run", "person", "data", "prev_hash", "hash")),
    value=raw_values,
    lo=st.none() | st.integers(0, 6),
)
def test_an_edited_row_is_never_vouched_for(
    native: Path,
    tmp_path_factory: pytest.TempPathFactory,
    seq: int,
    column: str,
    value: Any,
    lo: int | None,
) -> None:
    path = tmp_path_factory.mktemp("log") / "log.db"
    write(path, [("item.done", {"i": i, "note": 'a "b" \\ é'}, "r-1", "Sam") for i in range(6)])
    raw = isinstance(value, tuple)  # bytes stored as TEXT: only a shell writes those
    cell = "CAST(? AS TEXT)" if raw else "?"
    with shell(path) as db:
        try:
            db.execute(
                f"UPDATE events SET {column} = {cell} WHERE seq = ?",
                (value[1] if raw else value, seq),
            )
        except sqlite3.IntegrityError:  # NULL in a NOT NULL column: SQLite refuses it too
            assume(False)
    same_answer(native, path, lo=lo)


@pytest.mark.parametrize(
    "tamper",
    [
        "DELETE FROM events WHERE seq = 3",
        "UPDATE events SET seq = 9 WHERE seq = 6",
        "UPDATE events SET prev_hash = '0000' WHERE seq = 1",
        "UPDATE events SET data = data || ' ' WHERE seq = 2",
    ],
)
def test_a_gap_or_a_broken_link_is_declined(native: Path, tmp_path: Path, tamper: str) -> None:
    path = tmp_path / "log.db"
    write(path, [("take.next", {"i": i}, None, None) for i in range(6)])
    with shell(path) as db:
        db.execute(tamper)
    code, expected = same_answer(native, path)
    assert code == UNSURE and expected["bad_seq"] is not None or expected["count"] == 0


def test_an_empty_range_is_answered_as_python_answers_it(native: Path, tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    write(path, [("take.next", {"i": 1}, None, None)])
    assert same_answer(native, path, lo=5, hi=9)[0] == 0


def test_a_file_that_is_no_log_is_declined(native: Path, tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert run_native(native, tmp_path / "junk.db")[0] == UNSURE
    assert run_native(native, tmp_path / "missing.db")[0] == UNSURE


def test_verify_takes_the_compiled_scan_and_its_answer(
    native: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a long enough log verify runs the compiled scan, even in one worker; the Python scan
    is not needed while every range holds."""
    path = tmp_path / "log.db"
    write(path, [("take.next", {"i": i}, "r-1", "Sam") for i in range(40)])
    monkeypatch.setattr(ledger_module, "NATIVE_MIN_EVENTS", 10)

    def no_python_scan(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the Python scan ran on a log the compiled one vouches for")

    monkeypatch.setattr(chainscan, "scan", no_python_scan)
    for workers in (1, 2, 3):
        with Ledger.open(path) as ledger:
            result = ledger.verify(workers=workers)
        assert (result.ok, result.events) == (True, 40)


def test_an_edit_found_by_the_compiled_scan_is_named_by_the_python_one(
    native: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.db"
    write(path, [("take.next", {"i": i}, "r-1", "Sam") for i in range(40)])
    with shell(path) as db:
        db.execute("UPDATE events SET person = 'Alex' WHERE seq = 27")
    monkeypatch.setattr(ledger_module, "NATIVE_MIN_EVENTS", 10)
    for workers in (1, 3):
        with Ledger.open(path) as ledger:
            result = ledger.verify(workers=workers)
        assert (result.ok, result.first_bad_seq, result.events) == (False, 27, 26)
        assert result.reason == "event 27 was altered after it was written"


def test_a_program_built_from_another_source_is_never_run(
    native: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing chainscan.c without rebuilding leaves the old program unused: verify scans in
    Python until the new source is built."""
    folder = tmp_path / "native"
    folder.mkdir()
    source = folder / "chainscan.c"
    source.write_bytes(chainscan.NATIVE_SOURCE.read_bytes())
    shutil.copy2(native, folder / native.name)
    monkeypatch.setattr(chainscan, "NATIVE_SOURCE", source)
    assert chainscan.native_helper() == folder / native.name
    source.write_bytes(source.read_bytes() + b"\n/* changed */\n")
    assert chainscan.native_helper() is None


def test_it_can_be_switched_off(native: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(chainscan.NATIVE_SWITCH, "0")
    assert chainscan.native_helper() is None
