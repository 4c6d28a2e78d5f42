"""The armory's sealed checkpoint (custodyview.py) is the log's custody fold, always: after every
append, after a kill at any point of an append, on an older log opened for the first time. An
edited row is never believed (every check folds the log instead), `verify` names it and
`verify --repair-views` seals the truth again; an older sealed row put back is still a true
fold, only a longer tail."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from safetycli import armory, custodyview, devicekey
from safetycli import events as ev
from safetycli.cli import app
from safetycli.events import NewEvent
from safetycli.ledger import SCHEMA_VERSION, Ledger
from tests.test_armory import ACTOR, armorer, hand_over, stocked  # noqa: F401 (a fixture)

SERIALS = ("4471", "B88120")
LOTS = ("B-7", "D-1")
RUNS = (None, "r-1", "r-2")
BY = "Sam Ortiz"


def _custody(kind: str, target: int, run: int, count: int) -> NewEvent:
    """One custody event of any kind, possible or not: the fold must take the log as it is."""
    serial, lot, for_run = SERIALS[target % 2], LOTS[target % 2], RUNS[run]
    data: dict[str, Any] = {"by": BY}
    if kind == ev.ARMORY_FIREARM_ADDED:
        data |= {"serial": serial, "make": "Colt", "model": "SAA", "kind": "blank-firing"}
    elif kind == ev.ARMORY_LOT_ADDED:
        data |= {"lot": lot, "type": "blank", "load": "half", "count": 50}
    elif kind in (ev.ARMORY_UNLOCKED, ev.ARMORY_LOCKED):
        data |= {"keys": [BY]}
    elif kind == ev.ARMORY_ISSUED:
        data |= {"serial": serial, "for_run": for_run, "from_cart": bool(count % 2)}
    elif kind == ev.ARMORY_HANDED_OVER:
        data |= {"serial": serial, "to": "Alex Kim"}
    elif kind == ev.ARMORY_TAKEN_BACK:
        data |= {"serial": serial, "holder": "Alex Kim"}
    elif kind == ev.ARMORY_RETURNED:
        data |= {"serial": serial}
    elif kind == ev.ARMORY_DUMMIES_CHECKED:
        data |= {"lot": lot, "methods": ["rattle"], "rounds": count, "day": f"2026-03-0{count}"}
    else:  # rounds issued, fired, returned, spoiled
        data |= {"lot": lot, "count": count, "for_run": for_run, "day": "2026-03-02"}
    return NewEvent(kind, data, for_run, None)


step = st.tuples(
    st.lists(
        st.tuples(
            st.sampled_from([*ev.ARMORY_KINDS, "run.signed-in", ev.INCIDENT_REPORTED]),
            st.integers(0, 1),  # which firearm or lot
            st.integers(0, len(RUNS) - 1),
            st.integers(1, 5),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([None, None, None, "before", "after"]),  # a kill inside the append's txn
)


def _event(kind: str, target: int, run: int, count: int) -> NewEvent:
    if kind == "run.signed-in":
        return NewEvent(kind, {"name": BY, "role": "armorer"}, RUNS[run] or "r-1", None)
    if kind == ev.INCIDENT_REPORTED:
        data = {
            "id": f"inc-{target}-{count}",
            "kind": "unplanned-discharge",
            "text": "bang",
            "firearms": [SERIALS[target]],
            "closers": ["armorer"],
        }
        return NewEvent(kind, data, None, None)
    return _custody(kind, target, run, count)


def append_killed(path: Path, new: list[NewEvent], when: str) -> None:
    """Append `new` in a child process that SIGKILLs itself inside the append's transaction:
    before the checkpoint is sealed again, or after (just before COMMIT)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            original = custodyview.follow

            def dying(*args: Any) -> None:
                if when == "after":
                    original(*args)
                os.kill(os.getpid(), signal.SIGKILL)

            custodyview.follow = dying  # type: ignore[assignment]
            with Ledger.open(path) as child:
                child.append_many(new)
        finally:
            os._exit(3)  # only if the kill did not land
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def keyed(path: Path) -> None:
    with Ledger.open(path) as ledger:
        ledger.adopt_key(devicekey.create(path.parent))


def same_as_replay(ledger: Ledger) -> None:
    """The armory read through the checkpoint is the full fold of the log, incidents included."""
    now, replay = armory.current(ledger), armory.fold(ledger.events())
    assert armory.snapshot(now) == armory.snapshot(replay)
    assert now.incidents == replay.incidents and now.last_seq == replay.last_seq
    assert now.as_json() == replay.as_json()


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(step, min_size=1, max_size=20))
def test_the_checkpoint_is_a_full_replay_after_kills_at_random_points(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[tuple[list[tuple[str, int, int, int]], str | None]],
) -> None:
    path = tmp_path_factory.mktemp("armory") / "log.db"
    keyed(path)
    for batch, kill in steps:
        new = [_event(*spec) for spec in batch]
        custody = any(e.kind in ev.ARMORY_KINDS for e in new)
        if kill is None:
            with Ledger.open(path) as ledger:
                written = ledger.append_many(new)
                found = ledger.custody_checkpoint()
                if custody:  # sealed in the append's own transaction, as of its last event
                    assert found is not None and found[0] == written[-1].seq
                same_as_replay(ledger)
            continue
        with Ledger.open(path) as ledger:
            before, sealed = ledger.count(), ledger.custody_checkpoint()
        append_killed(path, new, kill)
        with Ledger.open(path) as ledger:
            assert ledger.count() == before  # the killed append left nothing behind
            assert ledger.custody_checkpoint() == sealed  # nor a checkpoint ahead of the log
            same_as_replay(ledger)
    with Ledger.open(path) as ledger:
        same_as_replay(ledger)
        assert ledger.run_view_problems() == []
        assert ledger.verify().ok


def _stocked_log(path: Path) -> None:
    keyed(path)
    with Ledger.open(path) as ledger:
        ledger.append_many(
            [
                _custody(ev.ARMORY_FIREARM_ADDED, 0, 0, 1),
                _custody(ev.ARMORY_LOT_ADDED, 0, 0, 1),
                _custody(ev.ARMORY_UNLOCKED, 0, 0, 1),
            ]
        )
        ledger.append_many([_custody(ev.ARMORY_ISSUED, 0, 1, 2)])
        ledger.append_many([_custody(ev.ARMORY_HANDED_OVER, 0, 1, 1)])


def test_an_older_log_gains_the_checkpoint_when_opened(tmp_path: Path) -> None:
    """A log from before the checkpoint (schema 6) is sealed on open, from the log."""
    path = tmp_path / "log.db"
    _stocked_log(path)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE custody_view")
    db.execute("PRAGMA user_version = 6")
    db.commit()
    db.close()
    with Ledger.open(path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        found = ledger.custody_checkpoint()
        assert found is not None and found[0] == ledger.head()[0]
        assert armory.current(ledger).firearm("4471").where == armory.ISSUED  # type: ignore[union-attr]
        same_as_replay(ledger)


def _edit(path: Path, change: Any) -> None:
    db = sqlite3.connect(path)
    (text,) = db.execute("SELECT state FROM custody_view").fetchone()
    body = json.loads(text)
    change(body)
    db.execute("UPDATE custody_view SET state = ?", (json.dumps(body),))
    db.commit()
    db.close()


def _put_back(firearm: list[Any]) -> None:
    firearm[5:8] = [armory.LOCKED, None, None]


def test_an_edited_checkpoint_is_never_believed(tmp_path: Path) -> None:
    """The firearm made to look locked away in the table while a performer holds it: the checks
    read the log instead, `verify` names the edit, and the next custody append seals the truth."""
    path = tmp_path / "log.db"
    _stocked_log(path)
    _edit(path, lambda body: _put_back(body["firearms"][0]))
    with Ledger.open(path) as ledger:
        assert ledger.custody_checkpoint() is None
        firearm = armory.current(ledger).firearm("4471")
        assert firearm is not None and (firearm.where, firearm.holder) == (
            armory.ISSUED,
            "Alex Kim",
        )
        assert any("armory checkpoint" in p for p in ledger.run_view_problems())
        assert not ledger.verify().ok or ledger.run_view_problems()
        ledger.append_many([_custody(ev.ARMORY_TAKEN_BACK, 0, 1, 1)])
        assert ledger.custody_checkpoint() is not None
        assert ledger.run_view_problems() == []
        same_as_replay(ledger)


def test_a_row_sealed_with_another_key_or_a_recomputed_hash_is_not_believed(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    _stocked_log(path)
    with Ledger.open(path) as ledger:
        seq, digest = ledger.head()
        other = devicekey.create(tmp_path)
        state = armory.current(ledger)
        state.firearms["4471"].where = armory.LOCKED
        # Sealed with a key that is not this log's: what an insider without the key can do.
        custodyview._write(ledger.db, other, seq, digest, armory.snapshot(state))
        assert ledger.custody_checkpoint() is None
        assert armory.current(ledger).firearm("4471").where == armory.ISSUED  # type: ignore[union-attr]


def test_an_older_sealed_row_put_back_is_still_the_truth(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    _stocked_log(path)
    db = sqlite3.connect(path)
    old = db.execute("SELECT seq, hash, state, mac FROM custody_view").fetchone()
    db.close()
    with Ledger.open(path) as ledger:
        ledger.append_many([_custody(ev.ARMORY_TAKEN_BACK, 0, 1, 1)])
        ledger.append_many([_custody(ev.ARMORY_RETURNED, 0, 1, 1)])
    db = sqlite3.connect(path)
    db.execute("UPDATE custody_view SET seq = ?, hash = ?, state = ?, mac = ?", old)
    db.commit()
    db.close()
    with Ledger.open(path) as ledger:
        found = ledger.custody_checkpoint()
        assert found is not None and found[0] < ledger.head()[0]  # believed: it is a true fold
        assert armory.current(ledger).firearm("4471").where == armory.LOCKED  # type: ignore[union-attr]
        same_as_replay(ledger)


def _cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--home", str(home)])


def test_verify_names_an_edited_checkpoint_and_repair_views_seals_the_truth(
    cli: CliRunner,
    stocked: Path,  # noqa: F811 (the fixture, imported)
) -> None:
    armorer(cli, "issue", "4471")
    hand_over(cli, "4471", ACTOR)
    _edit(stocked / "log.db", lambda body: _put_back(body["firearms"][0]))
    listed = json.loads(_cli(stocked, "armory", "list", "--format", "json").stdout)
    (f4471,) = [f for f in listed["firearms"] if f["serial"] == "4471"]
    assert (f4471["where"], f4471["holder"]) == (
        "issued",
        ACTOR[0],
    )  # the log's word, not the row's
    found = _cli(stocked, "verify")
    assert found.exit_code == 1 and "armory checkpoint" in found.stdout
    repaired = _cli(stocked, "verify", "--repair-views")
    assert repaired.exit_code == 0, repaired.stdout
    assert "armory checkpoint" in repaired.stdout
    assert _cli(stocked, "verify").exit_code == 0
    with Ledger.open(stocked / "log.db") as ledger:
        assert ledger.custody_checkpoint() is not None
        same_as_replay(ledger)


DAYS = [f"2026-03-0{d}" for d in range(2, 9)]

period_log = st.lists(
    st.tuples(
        st.sampled_from(ev.ARMORY_KINDS),
        st.integers(0, 1),
        st.integers(0, len(RUNS) - 1),
        st.integers(1, 5),
        st.integers(0, len(DAYS) - 1),  # the day it happened
        st.integers(0, 23),  # the hour (UTC)
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(period_log, st.integers(1, 15), st.sampled_from(["UTC", "Pacific/Kiritimati"]))
def test_a_period_report_from_a_day_snapshot_is_the_full_fold(
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[tuple[str, int, int, int, int, int]],
    batch: int,
    zone: str,
) -> None:
    """The report's custody part started from the sealed snapshot before the period
    (`armory.for_period`) is the one folded from the season's first custody event, for any
    period, runs and zone; and the snapshots are used where one exists."""
    path = tmp_path_factory.mktemp("period") / "log.db"
    keyed(path)
    timed = sorted(
        ((f"{DAYS[day]}T{hour:02d}:00:00.000000Z", n), _custody(kind, target, run, count))
        for n, (kind, target, run, count, day, hour) in enumerate(specs)
    )
    with Ledger.open(path) as ledger:
        ledger.append_bulk(((at, new) for (at, _), new in timed), batch=batch)
        used = 0
        for low, high in [(a, b) for a in DAYS for b in DAYS if a <= b]:
            for runs in ([], ["r-1"], ["r-1", "r-2"]):
                firsts = [
                    e.seq
                    for e in ledger.events(kinds=ev.ARMORY_KINDS)
                    if e.data.get("for_run") in runs
                ]
                first = min(firsts, default=None)
                keep = armory.in_period(set(runs), low, high, zone)
                want = armory.custody_report(armory.load(ledger, keep=keep), runs, low, high, zone)
                state = armory.for_period(ledger, keep, low, first)
                assert armory.custody_report(state, runs, low, high, zone) == want
                prior = (date.fromisoformat(low) - timedelta(days=1)).isoformat()
                used += ledger.custody_before(prior, first) is not None
        assert ledger.run_view_problems() == []
    if timed[0][0][0][:10] < DAYS[-3]:
        assert used  # the snapshot of an earlier day served some period


def test_verify_names_a_sealed_row_that_is_not_the_fold_and_repair_seals_the_truth(
    tmp_path: Path,
) -> None:
    """A row sealed with this log's own key but not the log's fold (a bug, or whoever holds the
    key): verify compares every row with the fold and names it; the repair puts the fold back."""
    path = tmp_path / "log.db"
    _stocked_log(path)
    with Ledger.open(path) as ledger:
        assert ledger.key is not None
        seq, digest = ledger.head()
        state = armory.current(ledger)
        state.firearms["4471"].where = armory.LOCKED
        custodyview._write(ledger.db, ledger.key, seq, digest, armory.snapshot(state))
        problems = ledger.run_view_problems()
        assert problems == [
            f"the armory checkpoint of {state.custody_at[:10]} (custody_view) as of event {seq}"
            " is not the log's fold"
        ]
        assert ledger.repair_run_view() == problems
        assert ledger.run_view_problems() == []
        same_as_replay(ledger)
