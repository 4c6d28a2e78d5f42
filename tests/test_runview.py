"""The run-status projection (runview.py) is the log's fold, always: after every append, after a
kill at any point of an append, after a rebuild, and on an older log opened for the first time.
An edit to it is named by `verify`, and what stops work never reads it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from safetycli import crew, production, runner, runview
from safetycli.cli import app
from safetycli.events import (
    HOLD_CLEARED,
    HOLD_RAISED,
    RUN_ABORTED,
    RUN_COMPLETED,
    RUN_SIGNED_IN,
    NewEvent,
)
from safetycli.ledger import SCHEMA_VERSION, Ledger
from tests.reviewdata import ENV, build
from tests.walk_helpers import protocol

RUNS = 3
RAISED = {
    "phase": "p",
    "take": None,
    "item": "i",
    "reason": "no",
    "raised_by": {"name": "Dana Reyes", "role": "first_ad"},
}
CLEARED = {"note": "fixed", "cleared_by": [{"name": "Sam Ortiz", "role": "armorer"}]}
ABORT = {"reason": "cut", "by": {"name": "Dana Reyes", "role": "first_ad"}}
SIGNED_IN = {"name": "Sam Ortiz", "role": "armorer"}
# What may happen to a run, in any order (a clearance with no hold open, an end after an end:
# the fold must take the log as it is, not as a well-behaved crew writes it).
OPS = {
    "raise": (HOLD_RAISED, RAISED),
    "clear": (HOLD_CLEARED, CLEARED),
    "complete": (RUN_COMPLETED, {}),
    "abort": (RUN_ABORTED, ABORT),
    "other": (RUN_SIGNED_IN, SIGNED_IN),
}

step = st.tuples(
    st.integers(0, RUNS - 1),  # which run
    st.sampled_from(["start", *OPS]),
    st.integers(1, 3),  # events in the append
    st.sampled_from([None, None, None, "before", "after"]),  # a kill inside the append's txn
)


def new_events(
    ledger: Ledger, started: set[str], run_no: int, op: str, count: int
) -> list[NewEvent]:
    run = f"r-{run_no}"
    if op == "start":
        if run in started:
            return []
        return runner.start(protocol(), run, f"{run_no}A", f"2026-03-0{run_no + 1}", {})
    if run not in started:
        return []
    kind, data = OPS[op]
    return [NewEvent(kind, data, run, None) for _ in range(count)]


def append_killed(path: Path, new: list[NewEvent], when: str) -> None:
    """Append `new` in a child process that SIGKILLs itself inside the append's transaction:
    before the run-status table is touched, or after (just before COMMIT)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            original = runview.apply

            def dying(db: sqlite3.Connection, rows: Any) -> None:
                if when == "after":
                    original(db, rows)
                os.kill(os.getpid(), signal.SIGKILL)

            runview.apply = dying  # type: ignore[assignment]
            with Ledger.open(path) as child:
                child.append_many(new)
        finally:
            os._exit(3)  # only if the kill did not land
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def replayed(ledger: Ledger) -> dict[str, tuple[str, int, str | None]]:
    runs = {r for (r,) in ledger.db.execute("SELECT DISTINCT run FROM events WHERE run NOT NULL")}
    out = {}
    for run in runs:
        state = runner.replay(run, ledger.events(run=run))
        out[run] = (state.status, len(state.holds), state.ended_at)
    return out


def assert_board_is_a_full_replay(ledger: Ledger) -> None:
    """`status` (its runs from the run-status table and the log's holds, each replayed from the
    board's kinds only) shows exactly the runs a replay of every event of every run says are
    open or held, newest shooting day first, with their status, hold and who is signed in; and
    the table's runs not yet ended are exactly the log's."""
    from safetycli import review

    starts = sorted(ledger.run_starts(), key=lambda s: (s.data["day"], s.seq), reverse=True)
    full = [runner.replay(s.run, ledger.events(run=s.run)) for s in starts]
    live = [state for state in full if state.status in ("open", "held")]
    board = review.set_status(ledger)["runs"]
    assert [(e["id"], e["status"]) for e in board] == [(s.run_id, s.status) for s in live]
    for entry, state in zip(board, live, strict=True):
        assert entry["signed_in"] == state.signed_in
        hold = state.open_hold
        assert (entry["hold"] or {}).get("raised_at") == (hold.raised_at if hold else None)
    assert ledger.open_runs() == ledger.unended_runs()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(step, min_size=1, max_size=30))
def test_the_projection_is_a_full_replay_after_kills_at_random_points(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, str, int, str | None]]
) -> None:
    path = tmp_path_factory.mktemp("season") / "log.db"
    started: set[str] = set()
    killed = 0
    for run_no, op, count, kill in steps:
        with Ledger.open(path) as ledger:
            new = new_events(ledger, started, run_no, op, count)
            if not new:
                continue
            if kill is None:
                ledger.append_many(new)
                if op == "start":
                    started.add(f"r-{run_no}")
                continue
            before = ledger.count()
        append_killed(path, new, kill)
        killed += 1
        with Ledger.open(path) as ledger:
            assert ledger.count() == before  # the killed append left nothing behind
    with Ledger.open(path) as ledger:
        want = replayed(ledger)
        got = {run: ledger.run_status(run) for run in want}
        assert got == want
        assert ledger.run_view_problems() == []
        assert_board_is_a_full_replay(ledger)
        table = runview.stored(ledger.db)
        ledger.rebuild_run_view()
        assert runview.stored(ledger.db) == table
        assert ledger.verify().ok


def test_an_older_log_gains_the_projection_when_opened(tmp_path: Path) -> None:
    """A log from before the projection (schema 5) builds it on open, from the log."""
    path = tmp_path / "log.db"
    with Ledger.open(path) as ledger:
        for n in range(3):
            ledger.append_many(runner.start(protocol(), f"r-{n}", "1", "2026-03-02", {}))
        ledger.append(HOLD_RAISED, RAISED, run="r-0")
        ledger.append(RUN_COMPLETED, {}, run="r-1")
        ledger.append(RUN_ABORTED, ABORT, run="r-2")
    db = sqlite3.connect(path)
    db.execute("DROP TABLE run_view")
    db.execute("PRAGMA user_version = 5")
    db.commit()
    db.close()
    with Ledger.open(path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        statuses = {r: ledger.run_status(r) for r in ("r-0", "r-1", "r-2")}
        assert ledger.run_view_problems() == []
    assert {r: s[0] for r, s in statuses.items() if s} == {
        "r-0": "held",
        "r-1": "complete",
        "r-2": "aborted",
    }


def cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--home", str(home)], env=ENV)


@pytest.fixture
def prod_home(tmp_path: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        return build(tmp_path / "ws").home


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same production, built once for the tests that only read it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        return build(tmp_path_factory.mktemp("review") / "ws").home


def test_an_edited_projection_cannot_hide_a_hold(prod_home: Path) -> None:
    """Someone with the file marks a held run complete in the run-status table: `status` still
    shows it held (it reads the log), `verify` names the run and fails."""
    home = prod_home
    with Ledger.open(home / "log.db") as ledger:
        held = [r for (r,) in ledger.db.execute("SELECT run FROM run_view WHERE open_holds > 0")]
    assert held
    db = sqlite3.connect(home / "log.db")
    db.execute("UPDATE run_view SET open_holds = 0, completed = 1 WHERE run = ?", (held[0],))
    db.commit()
    db.close()
    status = cli(home, "status", "--format", "json")
    assert status.exit_code == 0, status.output
    shown = {r["id"]: r["status"] for r in json.loads(status.stdout)["runs"]}
    assert shown[held[0]] == "held"
    verify = cli(home, "verify")
    assert verify.exit_code == 1
    assert f"run-status table says run {held[0]} is complete" in verify.stdout


def test_status_shows_the_set_without_a_readable_projection(prod_home: Path) -> None:
    """The run-status table replaced by hand with one `status` cannot read: the board still
    lists every open and held run (from the log), the same as before; `verify` names it."""
    home = prod_home
    before = cli(home, "status", "--format", "json")
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout)["runs"]
    db = sqlite3.connect(home / "log.db")
    db.execute("DROP TABLE run_view")
    db.execute("CREATE TABLE run_view (run TEXT PRIMARY KEY, note TEXT)")
    db.commit()
    db.close()
    after = cli(home, "status", "--format", "json")
    assert after.exit_code == 0, after.output
    assert after.stdout == before.stdout
    assert cli(home, "verify").exit_code == 1


def reference_list(ledger: Ledger, f: Any) -> list[dict[str, Any]]:
    """`log list` as it was before the projection: every start, each run asked in turn who took
    part and folded for its status (the fold `RunState` replays with)."""
    from safetycli import review

    names = review._names(ledger, f.person) if f.person is not None else None
    board = production.StopBoard(ledger)
    out = []
    for start in review._starts(ledger, f, newest_first=True):
        if (names is not None or f.role is not None) and not review._took_part(
            ledger, start.run, names, f.role
        ):
            continue
        status, holds, ended_at = review._lifecycle(ledger, start.run)
        if f.status is None or status == f.status:
            # The rule itself: whatever the board names for the scene, as `status` asks it.
            scene = start.data["scene"]
            scene_held = bool(board.for_scene(scene, start.data["day"], firearms=True))
            out.append(review.summary_of(start, status, holds, ended_at, scene_held))
    return out


FILTERS = [
    {},
    {"day": "2026-03-03"},
    {"from_day": "2026-03-02", "to_day": "2026-03-03"},
    {"scene": "12a"},
    {"protocol": "test-meeting"},
    {"status": "held"},
    {"person": "riley chen"},
    {"person": "Riley Chen", "day": "2026-03-03"},
    {"person": "Riley Chen", "scene": "12A"},
    {"person": "Riley Chen", "from_day": "2026-03-03"},
    {"person": "Riley Chen", "protocol": "test-meeting"},
    {"person": "Sam Ortiz"},
    {"person": "Sam Ortiz", "role": "armorer"},
    {"person": "Jo Park"},
    {"person": "alex kim", "day": "2026-03-02"},
    {"role": "actor"},
    {"role": "actor", "day": "2026-03-02"},
    {"role": "first_ad", "status": "complete"},
]


@pytest.mark.parametrize("given", FILTERS, ids=lambda g: ",".join(f"{k}={v}" for k, v in g.items()))
def test_every_filter_lists_what_asking_each_run_listed(
    shared_home: Path, given: dict[str, str]
) -> None:
    """The sets from the indexes, one day's runs asked one by one, a person's starts read by run:
    every path lists exactly the runs, statuses and order the per-run reading did."""
    from safetycli import review

    f = review.RunFilter.build(**given)
    with Ledger.open(shared_home / "log.db") as ledger:
        assert list(review.run_summaries(ledger, f)) == reference_list(ledger, f)


def test_status_shows_what_a_full_replay_of_each_run_says(shared_home: Path) -> None:
    """`status` finds its runs through the kind index and replays only the kinds it shows: the
    same runs, statuses, holds and people signed in as replaying every event of every run."""
    from safetycli import review

    with Ledger.open(shared_home / "log.db") as ledger:
        board = review.set_status(ledger)["runs"]
        every = [s.run for s in ledger.run_starts()]
        full = [runner.replay(run, ledger.events(run=run)) for run in every]
    live = [state for state in full if state.status in ("open", "held")]
    assert [entry["id"] for entry in board] == [state.run_id for state in live]
    for entry, state in zip(board, live, strict=True):
        assert {k: entry[k] for k in review.summary(state) if k != "scene_held"} == {
            k: v for k, v in review.summary(state).items() if k != "scene_held"
        }
        assert entry["signed_in"] == state.signed_in
        hold = state.open_hold
        assert (entry["hold"] or {}).get("reason") == (hold.reason if hold else None)


def test_a_dropped_projection_is_built_again_from_the_log(prod_home: Path) -> None:
    with Ledger.open(prod_home / "log.db") as ledger:
        before = runview.stored(ledger.db)
    db = sqlite3.connect(prod_home / "log.db")
    db.execute("DROP TABLE run_view")
    db.commit()
    db.close()
    listed = cli(prod_home, "log", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    with Ledger.open(prod_home / "log.db") as ledger:
        assert runview.stored(ledger.db) == before
    assert cli(prod_home, "verify").exit_code == 0


def test_a_period_lists_the_same_without_its_day_index(prod_home: Path) -> None:
    """--from/--to goes through the day index by name; a log whose index was dropped by hand
    still lists the period (through whatever index SQLite picks)."""
    args = ("log", "list", "--from", "2026-03-02", "--to", "2026-03-03", "--format", "json")
    before = cli(prod_home, *args)
    assert before.exit_code == 0, before.output
    db = sqlite3.connect(prod_home / "log.db")
    db.execute("DROP INDEX events_started_day")
    db.commit()
    db.close()
    after = cli(prod_home, *args)
    assert after.exit_code == 0, after.output
    assert after.stdout == before.stdout
    assert len(json.loads(after.stdout)) > 2


def test_verify_repairs_an_edited_projection_from_the_log(prod_home: Path) -> None:
    """A row of the run-status table edited by hand: verify names the run (exit 1);
    `verify --repair-views` rebuilds the table from the log, says what it changed, and writes
    no event (no PIN asked); verify then exits 0 with the same head."""
    home = prod_home
    with Ledger.open(home / "log.db") as ledger:
        held = [r for (r,) in ledger.db.execute("SELECT run FROM run_view WHERE open_holds > 0")]
        head = ledger.head()
    db = sqlite3.connect(home / "log.db")
    db.execute("UPDATE run_view SET open_holds = 0, completed = 1 WHERE run = ?", (held[0],))
    # Another run's row goes missing (never the edited one: run ids are random).
    db.execute(
        "DELETE FROM run_view WHERE run = (SELECT max(run) FROM run_view WHERE run != ?)",
        (held[0],),
    )
    db.commit()
    db.close()
    before = cli(home, "verify")
    assert before.exit_code == 1
    wrong = f"the run-status table says run {held[0]} is complete with 1 hold(s); the log says held"
    assert wrong in before.stdout
    repair = cli(home, "verify", "--repair-views")
    assert repair.exit_code == 0, repair.output
    lines = repair.stdout.splitlines()
    # One line for each difference (in the order of the runs' ids), then what was done.
    assert f"REPAIRED: {wrong} with 1" in lines[:2]
    assert any(line.startswith("REPAIRED:") and "leaves out run" in line for line in lines[:2])
    assert lines[2].startswith("Rebuilt the run-status table from the log (2 differences")
    assert lines[3].startswith("Log intact:")
    after = cli(home, "verify", "--format", "json")
    assert after.exit_code == 0, after.output
    with Ledger.open(home / "log.db") as ledger:
        assert ledger.head() == head  # no event written
        assert ledger.run_view_problems() == []
    again = cli(home, "verify", "--repair-views", "--format", "json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["repaired"] == []


def test_verify_does_not_repair_from_a_log_that_does_not_hold(prod_home: Path) -> None:
    """An edited event as well as an edited row: the table is not rebuilt from that log."""
    home = prod_home
    db = sqlite3.connect(home / "log.db")
    db.execute("UPDATE run_view SET holds = holds + 5")
    db.execute("DROP TRIGGER IF EXISTS events_no_update")
    db.execute("UPDATE events SET at = '2020-01-01T00:00:00Z' WHERE seq = 3")
    db.commit()
    db.close()
    result = cli(home, "verify", "--repair-views", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["repaired"] is None
    text = cli(home, "verify", "--repair-views")
    assert text.stdout.startswith("NOT REPAIRED: the run-status table is rebuilt only from")
    db = sqlite3.connect(home / "log.db")
    assert db.execute("SELECT count(*) FROM run_view WHERE holds >= 5").fetchone()[0] > 0
    db.close()
