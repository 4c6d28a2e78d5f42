"""verify's meaning checks read the season's custody once (issue 14): the custody PIN-proof check
and the armory checkpoint's check share one read (`Ledger.near(..., whole=True)`), the read
stops walking back at the first event that is not an approval, and the checkpoint's canonical
text is kept piece by piece. Each fast path is held here to the slow one it replaces: the same
problems, on logs with gaps, missing approvals and forged checkpoints."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetycli import armory, audit, custodycheck, custodyview, devicekey
from safetycli import events as ev
from safetycli.events import Event, NewEvent
from safetycli.ledger import Ledger
from tests.test_custodyview import _custody

# Spellings of one serial or lot as people type them: the fold keys them alike (names.ident).
SPELLINGS = ("4471", "B88120", "b 88120", "B-7", "D-1", "d-1")


def _spelled(kind: str, target: int, run: int, count: int, spelling: int) -> NewEvent:
    new = _custody(kind, target, run, count)
    data = dict(new.data)
    for field in ("serial", "lot"):
        if field in data and spelling % 3 == 0:
            data[field] = SPELLINGS[(spelling + target) % len(SPELLINGS)]
    return NewEvent(new.kind, data, new.run, new.person)


custody_spec = st.tuples(
    st.sampled_from(ev.ARMORY_KINDS),
    st.integers(0, 1),
    st.integers(0, 2),
    st.integers(1, 5),
    st.integers(0, 5),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(custody_spec, min_size=1, max_size=40), st.sets(st.integers(0, 39)))
def test_the_canonical_text_kept_piece_by_piece_is_the_whole_encoding(
    specs: list[tuple[str, int, int, int, int]], asked: set[int]
) -> None:
    """At any point of any fold, asked often or rarely, the pieces give the very text `_write`
    seals: a digest that differs by one byte would name a true checkpoint as forged."""
    state = armory.ArmoryState()
    canonical = custodyview.Canonical(state)
    for seq, spec in enumerate(specs, start=1):
        new = _spelled(*spec)
        event = Event(
            seq, f"2026-03-0{1 + seq % 9}T10:00:00Z", new.kind, new.run, None, new.data, "", ""
        )
        state.apply(event)
        canonical.changed(event)
        if seq - 1 in asked or seq == len(specs):
            assert canonical.text() == custodyview._text(armory.snapshot(state))


APPROVER = {"name": "Sam Ortiz", "role": "armorer", "purpose": "armory: issue"}
OTHERS = (
    NewEvent(ev.AUTH_OK, APPROVER, None, "Sam Ortiz"),
    NewEvent(ev.AUTH_OK, {**APPROVER, "name": "Alex Kim", "role": "actor"}, None, "Alex Kim"),
    NewEvent(ev.AUTH_OK, {**APPROVER, "purpose": "sign in"}, "r-1", "Sam Ortiz"),
    NewEvent("run.signed-in", {"name": "Sam Ortiz", "role": "armorer"}, "r-1", None),
    NewEvent("take.next", {"take": 2}, "r-1", None),
)

# A command's write: some approvals (any of them, maybe none, maybe not the right ones) right
# before one or two custody events, all in one append; or an event of another kind.
entry = st.one_of(
    st.tuples(
        st.just("write"),
        st.tuples(
            st.lists(st.integers(0, 2), max_size=4),
            st.lists(custody_spec, min_size=1, max_size=2),
        ),
    ),
    st.tuples(st.just("other"), st.integers(0, len(OTHERS) - 1)),
)


def _build(path: Path, entries: list[Any], deleted: set[int]) -> None:
    with Ledger.open(path) as ledger:
        ledger.adopt_key(devicekey.create(path.parent))
        for what, spec in entries:
            if what == "other":
                ledger.append_many([OTHERS[spec]])
                continue
            approvals, custody = spec
            ledger.append_many([*(OTHERS[i] for i in approvals), *(_spelled(*c) for c in custody)])
    db = sqlite3.connect(path)
    with db:  # gaps: the walk back must stop where a row is missing, as the window does
        db.execute("DROP TRIGGER IF EXISTS events_no_delete")
        db.executemany("DELETE FROM events WHERE seq = ? AND seq > 2", [(s,) for s in deleted])
    db.close()


def _slow_custody(ledger: Ledger) -> list[str | None]:
    """Each custody event's verdict, its window read whole from the log (`Ledger.window`)."""
    check = custodycheck.CustodyAudit(lambda e, size: ledger.window(e.seq, size), _holds)
    return [check.check(e) for e in ledger.events(kinds=ev.ARMORY_KINDS)]


def _fast_custody(ledger: Ledger, fold: Any) -> list[str | None]:
    check = custodycheck.over(ledger, _holds, fold)
    return [check.check(e) for e in check.local]


def _holds(name: str, role: str | None) -> bool:
    return name != "Alex Kim" or role is None


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(entry, min_size=1, max_size=30),
    st.sets(st.integers(3, 60), max_size=3),
    st.booleans(),
)
def test_the_shared_read_finds_what_the_separate_reads_found(
    tmp_path_factory: pytest.TempPathFactory,
    entries: list[Any],
    deleted: set[int],
    forge: bool,
) -> None:
    """The custody verdicts from the shared, shortened read equal those from whole windows; the
    checkpoint's check fed by that read names what its own read of the log names (a row sealed
    with the right key but not the fold, too)."""
    path = tmp_path_factory.mktemp("oneread") / "log.db"
    _build(path, entries, deleted)
    with Ledger.open(path, create=False) as ledger:
        assert ledger.key is not None
        if forge and custodyview.exists(ledger.db):
            seq, digest = ledger.db.execute(
                "SELECT seq, hash FROM custody_view ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            state = armory.current(ledger)
            state.storage.locked = not state.storage.locked
            custodyview._write(ledger.db, ledger.key, seq, digest, armory.snapshot(state))
        slow = _slow_custody(ledger)
        assert _fast_custody(ledger, None) == slow
        checkpoint = ledger.custody_view_check()
        assert _fast_custody(ledger, checkpoint and checkpoint.feed) == slow
        separate = ledger.run_view_problems()
        if checkpoint is not None:
            assert ledger.run_view_problems(checkpoint) == separate
        if forge and checkpoint is not None:
            assert any("custody_view" in line for line in separate)
        # verify's meaning checks as a whole: the checkpoint's lines as its own read gives them
        found = [p.reason for p in audit.meaning(ledger)]
        assert [line for line in found if "custody_view" in line] == [
            line for line in separate if "custody_view" in line
        ]
