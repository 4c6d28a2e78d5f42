"""The run-status projection: one row per run, derived from the log, for listings that must not
grow with the season (issue 14).

`run_view` holds each run's lifecycle fold (`lifecycle.Lifecycle`) in a form SQL can keep up to
date one event at a time: holds raised, holds still open, completed, aborted, when it ended. The
ledger applies every appended event to it inside the append's own transaction, so the table and
the log commit together or not at all (a kill at any moment leaves them agreeing); migration 6
builds it from the log, and `rebuild` does so again at any time.

It is derived data, never trusted over the log:
- `verify` folds the log again (`expected`, through the kind index) and names every run whose
  row disagrees (`mismatches`): an insider who edits the table to hide a hold is reported;
- only listings read it (`log list`, a period's summaries, and `status` for which runs are not
  yet ended). What stops work never does: the holds `status` shows, the scene checks before
  every step and `run`/`resume` refusals read the log itself, so a row edited from "held" to
  "complete" cannot let anybody past a hold, nor take it off the board.

Storage-side (SQLite) code, called by ledger.py only; review reads it through the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from safetycli.events import HOLD_CLEARED, HOLD_RAISED, RUN_ABORTED, RUN_COMPLETED, RUN_STARTED
from safetycli.lifecycle import Lifecycle

KINDS = (RUN_STARTED, HOLD_RAISED, HOLD_CLEARED, RUN_COMPLETED, RUN_ABORTED)

CREATE = """CREATE TABLE run_view (
    run TEXT PRIMARY KEY,
    start_seq INTEGER,
    holds INTEGER NOT NULL DEFAULT 0,
    open_holds INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    aborted INTEGER NOT NULL DEFAULT 0,
    ended_at TEXT
) WITHOUT ROWID"""

# The status `Lifecycle.status` gives: an abort outranks a hold, a hold outranks completion.
STATUS = (
    "CASE WHEN aborted THEN 'aborted' WHEN open_holds > 0 THEN 'held'"
    " WHEN completed THEN 'complete' ELSE 'open' END"
)

# One statement per kind: the fold `Lifecycle.apply` makes, kept as counts. A clearance clears the
# oldest open hold, or nothing when none is open; an end (completion or abort) sets `ended_at`.
_APPLY = {
    RUN_STARTED: "INSERT INTO run_view (run, start_seq) VALUES (:run, :seq)"
    " ON CONFLICT (run) DO UPDATE SET start_seq = coalesce(start_seq, :seq)",
    HOLD_RAISED: "UPDATE run_view SET holds = holds + 1, open_holds = open_holds + 1"
    " WHERE run = :run",
    HOLD_CLEARED: "UPDATE run_view SET open_holds = max(open_holds - 1, 0) WHERE run = :run",
    RUN_COMPLETED: "UPDATE run_view SET completed = 1, ended_at = :at WHERE run = :run",
    RUN_ABORTED: "UPDATE run_view SET aborted = 1, ended_at = :at WHERE run = :run",
}
_ROW = "INSERT OR IGNORE INTO run_view (run) VALUES (:run)"


def apply(db: sqlite3.Connection, rows: Iterable[tuple[int, str, str, str | None]]) -> None:
    """Fold appended events, (seq, at, kind, run) in log order, into the table; call inside the
    append's transaction. Events of other kinds, and events of no run, change nothing."""
    for seq, at, kind, run in rows:
        sql = _APPLY.get(kind)
        if sql is None or run is None:
            continue
        params = {"run": run, "seq": seq, "at": at}
        if kind != RUN_STARTED:
            db.execute(_ROW, params)  # a lifecycle event before its start: fold it all the same
        db.execute(sql, params)


def _source(db: sqlite3.Connection) -> Iterator[tuple[int, str, str, str | None]]:
    marks = ", ".join("?" * len(KINDS))
    cursor = db.execute(
        f"SELECT seq, at, kind, run FROM events WHERE kind IN ({marks}) AND run IS NOT NULL"
        " ORDER BY seq",
        KINDS,
    )
    while batch := cursor.fetchmany(1000):
        yield from batch


def rebuild(db: sqlite3.Connection) -> None:
    """Empty the table and fold the whole log into it again (inside the caller's transaction).
    Through the kind index: a few rows per run, however many events each run has."""
    db.execute("DELETE FROM run_view")
    apply(db, list(_source(db)))


def expected(db: sqlite3.Connection) -> dict[str, tuple[int | None, str, int, str | None]]:
    """Every run's (start seq, status, holds, ended at), folded from the log by `Lifecycle` itself
    (the fold `RunState` replays with), not by the table's own statements."""
    starts: dict[str, int | None] = {}
    folds: dict[str, Lifecycle] = {}
    for seq, at, kind, run in _source(db):
        assert run is not None
        fold = folds.get(run)  # not setdefault: that would make a Lifecycle for every row
        if fold is None:
            fold = folds[run] = Lifecycle()
        if kind == RUN_STARTED:
            starts.setdefault(run, seq)
        else:
            starts.setdefault(run, None)
            fold.apply(kind, seq, at)
    return {
        run: (starts[run], fold.status, len(fold.holds), fold.ended_at)
        for run, fold in folds.items()
    }


def stored(db: sqlite3.Connection) -> dict[str, tuple[Any, ...]]:
    return {
        row[0]: tuple(row[1:])
        for row in db.execute(f"SELECT run, start_seq, {STATUS}, holds, ended_at FROM run_view")
    }


def mismatches(db: sqlite3.Connection) -> list[str]:
    """Runs whose row is not what the log says (edited, added or removed behind the log's back),
    each as a sentence; empty when the table is the log's fold. A log whose table is missing (its
    schema edited by hand) is one sentence."""
    try:
        have = stored(db)
    except sqlite3.DatabaseError as err:
        return [f"the run-status table cannot be read (SQLite: {err})"]
    want = expected(db)
    out = []
    for run in sorted(set(have) | set(want)):
        got, should = have.get(run), want.get(run)
        if got == should:
            continue
        if should is None:
            out.append(f"the run-status table lists run {run}, which the log does not have")
        elif got is None:
            out.append(f"the run-status table leaves out run {run} ({should[1]} in the log)")
        else:
            out.append(
                f"the run-status table says run {run} is {got[1]} with {got[2]} hold(s); the log"
                f" says {should[1]} with {should[2]}"
            )
    return out
