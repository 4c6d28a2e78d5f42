"""The log is the evidence. These tests tamper with it the way someone holding the file and a SQLite
shell could (triggers dropped first), and check that verify names the first event that no longer
holds, whether it checks in one process or splits the log among workers."""

from __future__ import annotations

import hashlib
import inspect
import json
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetycli import chainscan
from safetycli import ledger as ledger_module
from safetycli.capabilities import (
    Appender,
    ProductionReader,
    ReviewIndex,
    ReviewSource,
    RunReader,
    Snapshot,
    Verifier,
)
from safetycli.credentials import fingerprint
from safetycli.days import window
from safetycli.errors import SafetyError
from safetycli.events import (
    AUTH_FAILED,
    CREW_ADDED,
    HOLD_RAISED,
    RUN_SIGNED_IN,
    RUN_STARTED,
    Event,
)
from safetycli.ledger import (
    GENESIS,
    MIGRATIONS,
    Ledger,
    LogDamaged,
    NewEvent,
    RunMoved,
    VerifyResult,
    _event_text,
    canonical_json,
    migrate,
    parse_head,
    transaction,
)
from safetycli.storage import RunStart

N = 12  # with three workers the log splits at 4 and 8: cases at 1, 4, 5, 8, 12 cross every edge


def canonical_event(row: dict[str, Any]) -> str:
    """The definition, spelled out independently of ledger.py."""
    event = {k: row[k] for k in ("seq", "at", "kind", "run", "person")}
    event["data"] = json.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha(prev: str, text: str) -> str:
    return hashlib.sha256((prev + text).encode("utf-8")).hexdigest()


# The ledger stores any declared kind; these stand for "some events".
KINDS_USED = ("item.performed", "item.done", "take.next")


def fill(path: Path, count: int = N) -> None:
    with Ledger.open(path) as ledger:
        for i in range(1, count + 1):
            ledger.append(
                KINDS_USED[i % 3],
                {
                    "i": i,
                    "note": f'take "{i}" \\ — Zoë ✓',
                    "nested": {"b": [i, None, True], "a": 1},
                },
                run=f"r-{i % 2}" if i % 4 else None,
                person=None if i % 5 == 0 else "Sam Ortiz",
            )


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    fill(path)
    return path


@pytest.fixture(params=[1, 3], ids=["one-process", "three-workers"])
def workers(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def verify(path: Path, workers: int = 1, **kwargs: Any) -> VerifyResult:
    with Ledger.open(path) as ledger:
        return ledger.verify(workers=workers, **kwargs)


def head_of(path: Path, seq: int) -> str:
    with Ledger.open(path) as ledger:
        return next(ledger.events(after=seq - 1)).hash


# --- tampering, as an editor with a SQLite shell would -------------------------------------------


def shell(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS events_no_update")
    db.execute("DROP TRIGGER IF EXISTS events_no_delete")
    db.row_factory = sqlite3.Row
    return db


def rows(db: sqlite3.Connection, after: int = 0) -> list[dict[str, Any]]:
    return [
        dict(r) for r in db.execute("SELECT * FROM events WHERE seq > ? ORDER BY seq", (after,))
    ]


def edit(path: Path, seq: int, column: str, value: Any) -> None:
    with shell(path) as db:
        db.execute(f"UPDATE events SET {column} = ? WHERE seq = ?", (value, seq))


def delete(path: Path, seq: int) -> None:
    with shell(path) as db:
        db.execute("DELETE FROM events WHERE seq = ?", (seq,))


def insert(path: Path, seq: int, *, fresh_hash: bool) -> None:
    """Make room at `seq` (everything after moves up one) and put a forged event there. With
    fresh_hash the forger also gives it a correct hash on top of the event before it."""
    with shell(path) as db:
        db.execute("UPDATE events SET seq = -seq WHERE seq >= ?", (seq,))
        db.execute("UPDATE events SET seq = 1 - seq WHERE seq < 0")
        prev = db.execute("SELECT hash FROM events WHERE seq = ?", (seq - 1,)).fetchone()
        prev_hash = prev[0] if prev else GENESIS
        row = {
            "seq": seq,
            "at": "2026-11-23T09:00:00.000000Z",
            "kind": "signoff",
            "run": "r-1",
            "person": "Sam Ortiz",
            "data": '{"answer":"yes","item":"shown-clear"}',
        }
        digest = sha(prev_hash, canonical_event(row)) if fresh_hash else "f" * 64
        db.execute(
            "INSERT INTO events (seq, at, kind, run, person, data, prev_hash, hash)"
            " VALUES (:seq, :at, :kind, :run, :person, :data, :prev, :hash)",
            {**row, "prev": prev_hash, "hash": digest},
        )


def swap(path: Path, a: int, b: int) -> None:
    """Exchange two rows' whole contents, hashes included; their numbers stay put."""
    with shell(path) as db:
        first, second = (rows(db, s - 1)[0] for s in (a, b))
        for seq, row in ((a, second), (b, first)):
            db.execute(
                "UPDATE events SET at=?, kind=?, run=?, person=?, data=?, prev_hash=?, hash=?"
                " WHERE seq=?",
                (*(row[k] for k in ("at", "kind", "run", "person", "data")), row["prev_hash"])
                + (row["hash"], seq),
            )


def rewrite_tail(path: Path, seq: int, *, graft_on: str | None = None) -> None:
    """Change event `seq` and recompute every hash from it on: the chain holds on its own. With
    graft_on, the new tail hangs from that hash instead of the real event before it."""
    with shell(path) as db:
        prev = db.execute("SELECT prev_hash FROM events WHERE seq = ?", (seq,)).fetchone()[0]
        prev = graft_on or prev
        for row in rows(db, seq - 1):
            if row["seq"] == seq:
                row["data"] = canonical_json({"answer": "no", "item": "rounds-counted"})
            digest = sha(prev, canonical_event(row))
            db.execute(
                "UPDATE events SET data = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (row["data"], prev, digest, row["seq"]),
            )
            prev = digest


# --- verify: an intact log ---------------------------------------------------------------------


def test_intact_log_verifies_with_its_head(log_path: Path, workers: int) -> None:
    result = verify(log_path, workers)
    assert result == VerifyResult(True, N, N, head_of(log_path, N), None, None)


def test_empty_log_verifies(tmp_path: Path, workers: int) -> None:
    assert verify(tmp_path / "empty.db", workers) == VerifyResult(True, 0, 0, GENESIS, None, None)


def test_stored_hashes_follow_the_published_definition(log_path: Path) -> None:
    with shell(log_path) as db:
        prev = GENESIS
        for row in rows(db):
            assert row["prev_hash"] == prev
            assert row["hash"] == sha(prev, canonical_event(row))
            prev = row["hash"]


# --- verify: each way of altering the log names the right event --------------------------------


@pytest.mark.parametrize("column", ["data", "at", "kind", "person", "run"])
def test_edited_field_is_named(log_path: Path, workers: int, column: str) -> None:
    value = '{"i":5,"note":"nothing happened"}' if column == "data" else "edited"
    edit(log_path, 5, column, value)
    result = verify(log_path, workers)
    assert (result.ok, result.first_bad_seq, result.events) == (False, 5, 4)
    assert result.reason == "event 5 was altered after it was written"
    assert result.head == head_of(log_path, 4)  # the last event that still holds


@pytest.mark.parametrize("seq", [1, 4, 8, N])
def test_edited_data_is_named_wherever_it_is(log_path: Path, workers: int, seq: int) -> None:
    edit(log_path, seq, "data", '{"i":0}')
    assert verify(log_path, workers).first_bad_seq == seq


def test_edit_that_keeps_the_meaning_but_not_the_bytes_is_caught(
    log_path: Path, workers: int
) -> None:
    with shell(log_path) as db:
        data = db.execute("SELECT data FROM events WHERE seq = 6").fetchone()[0]
    edit(log_path, 6, "data", json.dumps(json.loads(data), indent=1))  # same JSON value
    assert verify(log_path, workers).first_bad_seq == 6


def test_edited_hash_or_link_is_named(log_path: Path, workers: int) -> None:
    edit(log_path, 7, "hash", "0" * 64)
    assert verify(log_path, workers).first_bad_seq == 7
    fill(log_path.with_name("b.db"))
    edit(log_path.with_name("b.db"), 7, "prev_hash", "0" * 64)
    result = verify(log_path.with_name("b.db"), workers)
    assert (result.first_bad_seq, result.reason) == (
        7,
        "event 7 does not follow event 6: one of them was inserted, replaced or removed",
    )


@pytest.mark.parametrize("seq", [1, 5, 8])
def test_deleted_event_is_named(log_path: Path, workers: int, seq: int) -> None:
    delete(log_path, seq)
    result = verify(log_path, workers)
    assert (result.ok, result.first_bad_seq, result.reason) == (
        False,
        seq,
        f"event {seq} is missing",
    )


def test_inserted_event_is_named(log_path: Path, workers: int) -> None:
    insert(log_path, 5, fresh_hash=False)
    result = verify(log_path, workers)
    assert (result.first_bad_seq, result.reason) == (5, "event 5 was altered after it was written")


def test_inserted_event_with_a_correct_hash_breaks_the_link_after_it(
    log_path: Path, workers: int
) -> None:
    # The forged event 5 hashes correctly on top of event 4; what cannot hold is the old event 5,
    # now numbered 6, which was chained to event 4, not to the forgery.
    insert(log_path, 5, fresh_hash=True)
    result = verify(log_path, workers)
    assert (result.first_bad_seq, result.events) == (6, 5)
    assert result.reason is not None and result.reason.startswith("event 6 does not follow event 5")


def test_swapped_events_are_named(log_path: Path, workers: int) -> None:
    swap(log_path, 4, 9)
    result = verify(log_path, workers)
    assert (result.first_bad_seq, result.events) == (4, 3)


def test_event_numbered_below_one_is_named(log_path: Path, workers: int) -> None:
    with shell(log_path) as db:
        db.execute(
            "INSERT INTO events (seq, at, kind, run, person, data, prev_hash, hash)"
            " VALUES (0, 'a', 'b', NULL, NULL, '{}', ?, ?)",
            (GENESIS,) * 2,
        )
    result = verify(log_path, workers)
    assert (result.first_bad_seq, result.reason) == (1, "event 0 is out of order")


@pytest.mark.parametrize(
    ("column", "sql_value"),
    [("at", "x'00ff'"), ("data", "x'7b7d'"), ("person", "CAST(x'ff' AS TEXT)"), ("kind", "12")],
)
def test_value_safetycli_never_writes_is_named(
    log_path: Path, workers: int, column: str, sql_value: str
) -> None:
    # A blob, bytes that are not UTF-8, a number: verify says which event, it does not crash.
    with shell(log_path) as db:
        db.execute(f"UPDATE events SET {column} = {sql_value} WHERE seq = 9")
    assert verify(log_path, workers).first_bad_seq == 9


def test_text_that_is_not_utf8_is_named_exactly_across_batches(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chainscan, "VERIFY_BATCH", 5)  # event 8 sits mid-way in batch 6-10
    with shell(log_path) as db:
        db.execute("UPDATE events SET run = CAST(x'c3' AS TEXT) WHERE seq = 8")
    with Ledger.open(log_path) as ledger:
        assert ledger.verify(workers=1).first_bad_seq == 8
        assert ledger.db.text_factory is str  # the lenient reader does not outlive verify


def test_dropped_events_table_is_reported_not_crashed_on(log_path: Path) -> None:
    with shell(log_path) as db:
        db.execute("DROP TABLE events")
    result = verify(log_path)
    assert (result.ok, result.first_bad_seq) == (False, 1)
    assert result.reason == "the log cannot be read: no such table: events"


def test_deleted_last_event_needs_the_printed_head(log_path: Path, workers: int) -> None:
    head = f"{N}:{head_of(log_path, N)}"
    delete(log_path, N)
    # The chain alone cannot know an event is missing at the end; a printed head can.
    assert verify(log_path, workers).ok
    result = verify(log_path, workers, expect_head=head)
    assert (result.ok, result.first_bad_seq) == (False, N)
    assert result.reason == (
        f"the log ends at event {N - 1}, but that head is event {N}: "
        "events were removed after it was printed"
    )


# --- verify: a rewritten tail, caught by a head printed on a report ----------------------------


def test_rewritten_tail_holds_on_its_own(log_path: Path, workers: int) -> None:
    rewrite_tail(log_path, 5)
    assert verify(log_path, workers).ok


@pytest.mark.parametrize("printed_at", [5, 8, N])
def test_rewritten_tail_is_caught_by_the_printed_head(
    log_path: Path, workers: int, printed_at: int
) -> None:
    head = f"{printed_at}:{head_of(log_path, printed_at)}"
    rewrite_tail(log_path, 5)
    result = verify(log_path, workers, expect_head=head)
    assert (result.ok, result.first_bad_seq) == (False, printed_at)
    assert result.reason == (
        f"event {printed_at} is not the event that head names: the log was rewritten at or "
        f"before event {printed_at} after that head was printed"
    )
    # The chain itself holds: events and head describe the log as it is now.
    assert (result.events, result.head) == (N, head_of(log_path, N))


@pytest.mark.parametrize("seq", [2, 5, 9])
def test_tail_grafted_on_another_past_is_named(log_path: Path, workers: int, seq: int) -> None:
    # Each side holds on its own; only the link between them is wrong (5 and 9 are where the
    # three workers' ranges start: the join must check the link, not trust either side).
    rewrite_tail(log_path, seq, graft_on="ab" * 32)
    result = verify(log_path, workers)
    assert (result.first_bad_seq, result.events) == (seq, seq - 1)
    assert result.reason is not None
    assert result.reason.startswith(f"event {seq} does not follow event {seq - 1}")


def test_head_printed_before_the_rewrite_still_verifies(log_path: Path, workers: int) -> None:
    head = f"4:{head_of(log_path, 4)}"
    rewrite_tail(log_path, 5)
    assert verify(log_path, workers, expect_head=head).ok


def test_head_without_its_number_is_searched_for(log_path: Path, workers: int) -> None:
    kept, lost = head_of(log_path, 4)[:12], head_of(log_path, 8)[:16]
    rewrite_tail(log_path, 5)
    assert verify(log_path, workers, expect_head=kept).ok
    result = verify(log_path, workers, expect_head=lost)
    assert (result.ok, result.first_bad_seq) == (False, 1)  # cannot say where: distrust it all


def test_a_broken_chain_before_the_printed_head_is_named_first(
    log_path: Path, workers: int
) -> None:
    head = f"{N}:{head_of(log_path, N)}"
    edit(log_path, 3, "kind", "edited")
    result = verify(log_path, workers, expect_head=head)
    assert (result.first_bad_seq, result.reason) == (3, "event 3 was altered after it was written")


def test_printed_head_matches_an_intact_log(log_path: Path, workers: int) -> None:
    digest = head_of(log_path, 7)
    for head in (f"7:{digest}", digest, digest[:12].upper(), f" 7:{digest[:20]} "):
        assert verify(log_path, workers, expect_head=head).ok, head
    assert verify(log_path, workers, expect_head=f"0:{GENESIS}").ok


def test_wrong_number_with_a_real_hash_is_caught(log_path: Path) -> None:
    result = verify(log_path, expect_head=f"6:{head_of(log_path, 7)}")
    assert (result.ok, result.first_bad_seq) == (False, 6)


@pytest.mark.parametrize(
    "text", ["", "zz", "abc", "12:abcdef", "x:" + "a" * 64, "5:" + "g" * 64, "-1:" + "a" * 12]
)
def test_malformed_head_is_refused(text: str) -> None:
    with pytest.raises(SafetyError) as err:
        parse_head(text)
    assert err.value.exit_code == 2
    assert "\n" not in err.value.message


def test_parse_head_reads_what_reports_print() -> None:
    assert parse_head("1234:" + "AB" * 32) == (1234, "ab" * 32)
    assert parse_head("9f2c0e1d2b3a") == (None, "9f2c0e1d2b3a")


# --- verify: how it runs -------------------------------------------------------------------------


def test_workers_really_split_the_log(log_path: Path) -> None:
    """The parallel path falls back to one process on any trouble; make sure it does not here,
    or the bench would measure the fallback."""
    with Ledger.open(log_path) as ledger:
        spans = ledger_module._scan_parallel(ledger.path, ledger.db, 3, None, N, None)
    assert spans is not None
    assert [(s.first_seq, s.last_seq, s.count) for s in spans] == [(1, 4, 4), (5, 8, 4), (9, 12, 4)]


def test_the_scan_reads_the_columns_the_ledger_writes() -> None:
    assert chainscan.SELECT == ledger_module._SELECT


def test_a_verify_worker_loads_the_scan_alone(log_path: Path) -> None:
    """A worker's start is on the critical path of every long verify: it imports the chain scan
    and the standard library, not the ledger with its views, keys and migrations; and it gives
    the same answer as the scan in this process."""
    code = (
        f"{ledger_module._WORKER_CODE}; "
        "print('m', sorted(m for m in sys.modules if m.startswith('safetycli')))"
    )
    root = str(Path(ledger_module.__file__).resolve().parent.parent)
    argv = [sys.executable, "-P", "-c", code, root, str(log_path), "", "", "", "15000"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    assert lines[-1] == "m ['safetycli', 'safetycli.chainscan']"
    result = json.loads(next(line for line in lines if line.startswith("r "))[2:])
    with Ledger.open(log_path) as ledger:
        here = chainscan.scan(ledger.db, None, None, None, None)
    assert result == {**here.__dict__}
    assert result["count"] == N and result["bad_seq"] is None


def test_progress_reaches_the_total(log_path: Path, workers: int) -> None:
    calls: list[tuple[int, int]] = []
    with Ledger.open(log_path) as ledger:
        ledger.verify(workers=workers, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (N, N)


def test_verify_reads_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant memory: the log is never read whole (every batch is reported to progress)."""
    monkeypatch.setattr(chainscan, "VERIFY_BATCH", 5)
    fill(tmp_path / "log.db")
    calls: list[int] = []
    with Ledger.open(tmp_path / "log.db") as ledger:
        assert ledger.verify(workers=1, progress=lambda done, _total: calls.append(done)).ok
    assert calls == [5, 10, 12]


def test_small_logs_verify_in_one_process() -> None:
    assert ledger_module._auto_workers(1000) == 1
    assert 1 <= ledger_module._auto_workers(1_000_000) <= ledger_module.MAX_WORKERS


# --- append-only, durability, concurrency ---------------------------------------------------------


@pytest.mark.parametrize(
    "sql", ["UPDATE events SET data = '{}' WHERE seq = 3", "DELETE FROM events"]
)
def test_triggers_refuse_changes(log_path: Path, sql: str) -> None:
    with Ledger.open(log_path) as ledger:
        with pytest.raises(sqlite3.IntegrityError, match="the safety log is append-only"):
            ledger.db.execute(sql)
        assert ledger.count() == N
    assert verify(log_path).ok


def test_opened_log_is_durable(log_path: Path) -> None:
    with Ledger.open(log_path) as ledger:
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ledger.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with sqlite3.connect(log_path) as other:  # WAL is a property of the file, for every reader
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from safetycli.ledger import Ledger
    path, go, who = sys.argv[1:]
    while not Path(go).exists():
        time.sleep(0.001)
    with Ledger.open(path) as ledger:
        for i in range(200):
            ledger.append("auth.ok", {"i": i}, person=who)
    """
)


def test_two_processes_appending_at_once_stay_in_one_chain(tmp_path: Path) -> None:
    path, go = tmp_path / "log.db", tmp_path / "go"  # a fresh file: both also race to create it
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(go), who])
        for who in ("a", "b")
    ]
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with Ledger.open(path) as ledger:
        events = list(ledger.events())
        assert [e.seq for e in events] == list(range(1, 401))
        for who in ("a", "b"):
            assert [e.data["i"] for e in events if e.person == who] == list(range(200))
        assert ledger.verify(workers=1).ok
        assert ledger.verify(workers=2).ok


def test_append_many_is_all_or_nothing(log_path: Path) -> None:
    def events() -> Iterator[NewEvent]:
        yield NewEvent("take.next", {"n": 1})
        raise RuntimeError("the crew walked away")

    with Ledger.open(log_path) as ledger:
        with pytest.raises(RuntimeError):
            ledger.append_many(events())
        assert ledger.count() == N
        two = [NewEvent("run.resumed", {}), NewEvent("run.completed", {})]
        assert [e.seq for e in ledger.append_many(two)] == [
            N + 1,
            N + 2,
        ]
    assert verify(log_path).ok


def test_text_that_cannot_be_stored_is_refused_in_one_line(log_path: Path) -> None:
    # A lone surrogate is what Python makes of non-UTF-8 bytes in argv.
    with Ledger.open(log_path) as ledger:
        with pytest.raises(SafetyError, match="not valid Unicode") as err:
            ledger.append("hold.raised", {"reason": "bad \udcff byte"})
        assert err.value.exit_code == 2
        assert ledger.count() == N
        ledger.append("hold.raised", {"reason": "typed again"})  # the log is not left locked
    with Ledger.open(log_path) as other:
        assert other.count() == N + 1


# --- canonical JSON -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)


@given(
    seq=st.integers(min_value=1, max_value=10**12),
    at=st.text(),
    kind=st.text(),
    run=st.none() | st.text(),
    person=st.none() | st.text(),
    data=json_objects,
)
def test_event_text_is_the_canonical_json_of_the_event(
    seq: int, at: str, kind: str, run: str | None, person: str | None, data: dict[str, Any]
) -> None:
    event = {"seq": seq, "at": at, "kind": kind, "run": run, "person": person, "data": data}
    expected = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert _event_text(seq, at, kind, run, person, canonical_json(data)) == expected


def test_canonical_json_examples() -> None:
    text = _event_text(3, "t", 'say "hi"\n', None, "Zoë", canonical_json({"b": {"y": 1, "x": "✓"}}))
    assert text == (
        '{"at":"t","data":{"b":{"x":"✓","y":1}},"kind":"say \\"hi\\"\\n",'
        '"person":"Zoë","run":null,"seq":3}'
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=json_objects, person=st.none() | st.text(min_size=1))
def test_appended_event_hash_follows_the_definition(
    tmp_path: Path, data: dict[str, Any], person: str | None
) -> None:
    with Ledger.open(tmp_path / "prop.db") as ledger:
        seq, prev = ledger.head()
        event = ledger.append("item.done", data, run="r-1", person=person)
        stored = next(ledger.events(after=seq))
    assert stored == event
    text = json.dumps(
        {
            "seq": seq + 1,
            "at": event.at,
            "kind": "item.done",
            "run": "r-1",
            "person": person,
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert event.hash == sha(prev, text)


# --- schema migrations ---------------------------------------------------------------------


def tables(db: sqlite3.Connection) -> set[str]:
    return {
        r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table','trigger')")
    }


def test_blank_database_migrates_to_the_current_schema(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "blank.db", isolation_level=None)
    assert migrate(db) == 0
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert {"events", "events_no_update", "events_no_delete"} <= tables(db)
    assert "credentials" not in tables(db)  # PIN hashes live in credentials.db (migration 4)
    assert migrate(db) == len(MIGRATIONS)  # a second run does nothing


def test_migrations_are_named_and_unique() -> None:
    names = [name for name, _ in MIGRATIONS]
    assert all(names) and len(set(names)) == len(names)


def test_version_1_log_migrates_and_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    db = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0][1](db)
    db.execute("PRAGMA user_version = 1")
    # The append code of version 1 wrote only these eight columns of the events table.
    prev = GENESIS
    written = []
    for seq in (1, 2, 3):
        event = NewEvent("workspace.created", {"production": "Night Shoot"})
        row = ledger_module._chained_row(seq, f"2026-03-0{seq}T09:00:00Z", prev, event, None)
        db.execute(
            "INSERT INTO events (seq, at, kind, run, person, data, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row[:8],
        )
        written.append(Event(*row[:5], event.data, prev, row[7]))
        prev = row[7]
    db.close()

    with Ledger.open(path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert list(ledger.events()) == written
        ledger.append("crew.added", {"name": "Dana"}, person="Dana", credential=("Dana", "s"))
        assert ledger.credential("Dana", fingerprint("s")) == "s"
        assert ledger.verify().ok


def test_log_from_a_newer_safetycli_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    fill(path, 2)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(SafetyError) as err:
        Ledger.open(path)
    assert err.value.message == (
        f"this log was written by a newer safetycli (schema 99, this one knows {len(MIGRATIONS)}):"
        " upgrade safetycli before using it"
    )
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 99
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 2


def test_failed_migration_leaves_nothing_half_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.db"
    fill(path, 2)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("disk unplugged mid-migration")

    monkeypatch.setattr(ledger_module, "MIGRATIONS", [*MIGRATIONS, ("add half", broken)])
    monkeypatch.setattr(ledger_module, "SCHEMA_VERSION", len(MIGRATIONS) + 1)
    with pytest.raises(SafetyError, match="disk unplugged"):
        Ledger.open(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert "half" not in tables(db)


def test_file_that_is_not_a_log_is_reported_damaged(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    path.write_bytes(b"this is a spreadsheet, not a log" * 100)
    with pytest.raises(LogDamaged, match="is damaged: file is not a database"):
        Ledger.open(path)


def test_missing_log_is_not_created_on_request(tmp_path: Path) -> None:
    with pytest.raises(SafetyError, match="no log at"):
        Ledger.open(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_conditional_append_refuses_a_stale_view_of_the_run(tmp_path: Path) -> None:
    """An answer decided before another laptop raised a hold must not land after it."""
    with Ledger.open(tmp_path / "log.db") as ledger:
        first = ledger.append("run.started", {"n": 1}, run="r-1")
        ledger.append("run.resumed", {}, run="r-2")  # other runs moving on do not matter
        ledger.append_many(
            [NewEvent("item.done", {"n": 2}, run="r-1")], if_run_at=("r-1", first.seq)
        )
        seen = ledger.head()[0] - 1  # the view before that last append of r-1
        ledger.append("hold.raised", {}, run="r-1")  # written "from another laptop"
        before = ledger.count()
        with pytest.raises(RunMoved):
            ledger.append_many(
                [NewEvent("item.done", {"n": 3}, run="r-1")], if_run_at=("r-1", seen)
            )
        assert ledger.count() == before
        assert [e.kind for e in ledger.events(run="r-1")] == [
            "run.started",
            "item.done",
            "hold.raised",
        ]
        assert ledger.verify().ok


def test_another_process_migrating_first_leaves_nothing_to_do(tmp_path: Path) -> None:
    """migrate reads the version again once it holds the write lock: a step another process
    applied while it waited is not applied twice."""
    path = tmp_path / "log.db"
    fill(path, 2)
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX events_started_day")
        db.execute("PRAGMA user_version = 2")
    db = sqlite3.connect(path, isolation_level=None)

    def first(sql: str) -> None:
        if sql == "BEGIN IMMEDIATE":  # before this lock is taken, another process migrates
            db.set_trace_callback(None)
            migrate(sqlite3.connect(path, isolation_level=None))

    db.set_trace_callback(first)
    assert migrate(db) == 2  # would raise "index events_started_day already exists"
    assert not db.in_transaction
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


# --- one transaction helper ----------------------------------------------------------------------


def test_a_transaction_that_raises_leaves_nothing_half_written(log_path: Path) -> None:
    with Ledger.open(log_path) as ledger:
        db = ledger.db
        seq, prev = ledger.head()
        row = ledger_module._chained_row(
            seq + 1, "2026-03-03T09:00:00Z", prev, NewEvent("take.next", {}), None
        )
        with pytest.raises(RuntimeError, match="power cut"):
            with transaction(db):
                db.execute(ledger_module._INSERT, row)
                raise RuntimeError("power cut")
        assert not db.in_transaction
        assert ledger.head() == (seq, prev)
        with transaction(db):  # and a block that ends commits
            db.execute(ledger_module._INSERT, row)
        assert ledger.head() == (seq + 1, row[7])
    assert verify(log_path).ok


def test_a_transaction_sqlite_already_rolled_back_raises_the_error_that_matters(
    log_path: Path,
) -> None:
    with Ledger.open(log_path) as ledger:
        with pytest.raises(sqlite3.OperationalError, match="disk full"):
            with transaction(ledger.db):
                ledger.db.execute("ROLLBACK")  # what SQLite does itself on a full disk
                raise sqlite3.OperationalError("disk full")
        assert not ledger.db.in_transaction
        assert ledger.count() == N


def test_a_snapshot_sees_one_log_while_others_append(log_path: Path) -> None:
    """A report read in a snapshot prints the head of the very log it was made from."""
    with Ledger.open(log_path) as ledger, Ledger.open(log_path) as other_laptop:
        with ledger.snapshot() as head:
            other_laptop.append("hold.raised", {"reason": "meanwhile"}, run="r-1")
            assert head == ledger.head() == (N, head_of(log_path, N))
            assert [e.seq for e in ledger.events(after=N - 1)] == [N]
        assert ledger.head()[0] == N + 1


# --- the storage interface -----------------------------------------------------------------------

CAPABILITIES = (
    Appender,
    RunReader,
    ReviewIndex,
    Snapshot,
    Verifier,
    ProductionReader,
    ReviewSource,
)


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.__name__)
def test_the_sqlite_ledger_offers_each_capability_as_declared(capability: type) -> None:
    """isinstance only looks for the names; the signatures must match too, so code written
    against the protocol can call the Ledger with every parameter the protocol names."""
    assert issubclass(Ledger, capability)
    for name, member in vars(capability).items():
        if name.startswith("_") or not callable(member):
            continue
        want = inspect.signature(member).parameters
        have = inspect.signature(getattr(Ledger, name)).parameters
        for param in want.values():
            assert param.name in have, f"Ledger.{name} has no {param.name}"
            assert (have[param.name].kind, have[param.name].default) == (
                param.kind,
                param.default,
            ), f"Ledger.{name}({param.name})"
        extra = [p for n, p in have.items() if n not in want]
        assert all(p.default is not p.empty for p in extra), f"Ledger.{name} needs more"


def test_every_method_of_the_interface_works_on_the_sqlite_ledger(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "log.db") as ledger:
        appender: Appender = ledger
        reader: RunReader = ledger
        index: ReviewIndex = ledger
        snapshot: Snapshot = ledger
        verifier: Verifier = ledger

        assert appender.head() == (0, GENESIS)
        signer = {"name": "Sam Ortiz", "role": "armorer"}
        start = {"day": "2026-03-03", "scene": "12A", "protocol": {"id": "firearm-scene"}}
        started = appender.append(RUN_STARTED, start, run="r-1")
        appender.append(
            CREW_ADDED, {"name": "Sam Ortiz"}, person="Sam Ortiz", credential=("Sam Ortiz", "s")
        )
        _, held = appender.append_many(
            [
                NewEvent(RUN_SIGNED_IN, signer, run="r-1", person="Sam Ortiz"),
                NewEvent(HOLD_RAISED, {"raised_by": signer}, run="r-1", person="Sam Ortiz"),
            ],
            if_run_at=("r-1", started.seq),
        )
        failed = appender.append(AUTH_FAILED, {"name": "Dana Reyes"}, person="Dana Reyes")
        assert appender.head() == (failed.seq, failed.hash)

        assert [e.kind for e in reader.events(run="r-1", after=started.seq)] == [
            RUN_SIGNED_IN,
            HOLD_RAISED,
        ]
        assert list(
            index.run_starts(
                day_from="2026-03-01",
                day_to="2026-03-03",
                scene="12a",
                protocol="firearm-scene",
                newest_first=False,
            )
        ) == [RunStart("r-1", started.seq, started.at, start)]
        assert list(index.run_starts(day_from="2026-03-04")) == []
        assert list(index.lifecycle("r-1")) == [(HOLD_RAISED, held.at)]
        assert list(index.crew_names()) == ["Sam Ortiz"]
        assert [kind for kind, _ in index.people_events("r-1")] == [RUN_SIGNED_IN, HOLD_RAISED]
        assert index.has_events_by("r-1", ["Sam Ortiz"])
        assert not index.has_events_by("r-1", ["Dana Reyes"])
        day = failed.at[:10]
        since, until = window(day, day, "UTC")
        assert list(index.outside_runs([AUTH_FAILED], since=since, until=until)) == [failed]
        assert list(index.outside_runs([AUTH_FAILED], until="2000-01-01")) == []
        assert list(index.outside_runs([AUTH_FAILED], since=until)) == []
        with snapshot.snapshot() as head:
            assert head == (failed.seq, failed.hash)
        result = verifier.verify(expect_head=f"{head[0]}:{head[1]}", progress=None, workers=1)
        assert result.ok and result.events == failed.seq


def test_the_day_index_keeps_the_text_old_logs_hold(tmp_path: Path) -> None:
    """Logs migrated by earlier versions hold this very index: `run_starts` must keep matching
    its expression, so the text must not drift."""
    db = sqlite3.connect(tmp_path / "log.db", isolation_level=None)
    migrate(db)
    (sql,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'events_started_day'"
    ).fetchone()
    assert sql == (
        "CREATE INDEX events_started_day ON events(json_extract(data, '$.day'), seq)"
        " WHERE kind = 'run.started'"
    )


def test_bulk_append_commits_batch_by_batch_and_chains_like_append(tmp_path: Path) -> None:
    def timed(n: int, fail_at: int | None = None) -> Iterator[tuple[str, NewEvent]]:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError("generator broke")
            yield f"2026-03-03T09:00:{i:02d}.000000Z", NewEvent("take.next", {"n": i}, run="r-1")

    with Ledger.open(tmp_path / "log.db") as ledger:
        assert ledger.append_bulk(timed(5), batch=2) == ledger.head()
        assert [e.at[17:19] for e in ledger.events()] == ["00", "01", "02", "03", "04"]
        with pytest.raises(RuntimeError):
            ledger.append_bulk(timed(5, fail_at=3), batch=2)  # the second batch is not written
        assert ledger.count() == 7
        assert not ledger.db.in_transaction
        assert ledger.verify().ok
