"""`status` folds a run from the kinds the board shows (setnow.BoardRun) instead of loading the
runner: on any sequence of a run's events, in any order a log may hold them, it says what a full
replay by the runner says about everything the board prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from safetycli import runner, setnow
from safetycli.events import (
    HOLD_CLEARED,
    HOLD_RAISED,
    ITEM_DONE,
    ITEM_PERFORMED,
    RUN_ABORTED,
    RUN_COMPLETED,
    RUN_PAUSED,
    RUN_RESUMED,
    RUN_SIGNED_IN,
    RUN_STARTED,
    TAKE_NEXT,
    Event,
)

PEOPLE = ["Sam Ortiz", "Dana Reyes", "Riley Chen", "Jo Park"]
ROLES = ["armorer", "first_ad", "actor"]
CHECK = {"phase": "p", "take": None, "item": "i"}


def start(scene: str) -> tuple[str, dict[str, Any]]:
    return RUN_STARTED, {
        "protocol": {"id": "firearm-scene", "version": 1, "sha256": "0" * 64},
        "scene": scene,
        "day": f"2026-03-0{len(scene)}",
        "context": {},
        "clear_roles": ["armorer"],
    }


kinds = st.one_of(
    st.sampled_from(["12A", "7", "101B"]).map(start),
    st.tuples(st.sampled_from(PEOPLE), st.sampled_from(ROLES)).map(
        lambda p: (RUN_SIGNED_IN, {"name": p[0], "role": p[1]})
    ),
    st.just((RUN_RESUMED, {})),
    st.just((RUN_PAUSED, {"minutes": 45})),
    st.sampled_from(["no", "the wrong count"]).map(
        lambda why: (
            HOLD_RAISED,
            {**CHECK, "reason": why, "raised_by": {"name": "Dana Reyes", "role": "first_ad"}},
        )
    ),
    st.just((HOLD_CLEARED, {"note": "fixed", "cleared_by": [{"name": "Sam Ortiz"}]})),
    st.just((RUN_COMPLETED, {})),
    st.just((RUN_ABORTED, {"reason": "cut", "by": {"name": "Dana Reyes"}})),
    st.just((ITEM_PERFORMED, {**CHECK, "answer": True, "name": "Sam Ortiz", "role": "armorer"})),
    st.just((ITEM_DONE, {**CHECK, "outcome": "confirmed"})),
    st.just((TAKE_NEXT, {"group": "p", "take": 2})),
)


def events_of(steps: list[tuple[str, dict[str, Any]]]) -> list[Event]:
    return [
        Event(seq, f"2026-03-02T10:{seq:02d}:00Z", kind, "r-1", None, data, "", "")
        for seq, (kind, data) in enumerate(steps, start=1)
    ]


@given(st.lists(kinds, max_size=25))
def test_the_board_fold_says_what_the_runner_says(steps: list[tuple[str, dict[str, Any]]]) -> None:
    events = events_of([start("12A"), *steps])
    full = runner.replay("r-1", events)
    board = setnow.fold("r-1", events)
    assert board.signed_in == full.signed_in
    assert board.status == full.status
    assert (board.protocol, board.scene, board.day) == (full.protocol, full.scene, full.day)
    assert (board.started_at, board.ended_at) == (full.started_at, full.ended_at)
    assert len(board.holds) == len(full.holds)
    assert board.open_hold == full.open_hold
    # Only what the board reads of the log gives the same answer.
    shown = [e for e in events if e.kind in setnow.BOARD_KINDS]
    assert setnow.fold("r-1", shown) == board


def test_the_board_of_an_open_run_loads_neither_the_runner_nor_the_event_types(
    tmp_path: Path,
) -> None:
    """What `status` costs at start on a set with runs under way: the board fold instead of the
    runner, whose import brings the thirty-odd declared event types (tens of milliseconds); and
    on a laptop that never synced, nothing of what other laptops' stop-work needs."""
    code = f"""
import sys
from safetycli.events import NewEvent
from safetycli.ledger import Ledger
from safetycli.setnow import set_status
kind, data = {start("12A")!r}
with Ledger.open({str(tmp_path / "log.db")!r}) as ledger:
    ledger.append_many([NewEvent(kind, data, "r-1"),
                        NewEvent("run.signed-in", {{"name": "Sam Ortiz", "role": "armorer"}},
                                 "r-1", "Sam Ortiz")])
    board = set_status(ledger)["runs"]
print([(r["id"], r["status"], r["signed_in"]) for r in board])
print(sorted(m for m in ("safetycli.runner", "safetycli.declared", "safetycli.review",
                         "safetycli.unverified", "safetycli.central.foreign")
             if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shown, loaded = done.stdout.splitlines()
    assert shown == "[('r-1', 'open', {'armorer': 'Sam Ortiz'})]"
    assert loaded == "[]"


def test_running_status_builds_no_other_command(tmp_path: Path) -> None:
    """The root builds a command only when it is used: `status` imports none of the other
    commands' modules (each costs its import and Typer's reading of its options at every
    start-up), while `--help` still lists every one."""
    env = {
        **os.environ,
        "SAFETYCLI_HOME": str(tmp_path / "ws"),
        "SAFETYCLI_STATE_DIR": str(tmp_path / "state"),
        "SAFETYCLI_KEY_DIR": str(tmp_path / "keys"),
    }
    cli = [sys.executable, "-m", "safetycli"]
    made = subprocess.run([*cli, "init"], capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    code = """
import sys
from safetycli.cli import app
try:
    app(["status"])
except SystemExit as done:
    assert done.code == 0, done.code
print(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("safetycli.cli.")))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    # Not even central_opt.py: `--central` is defined in common.py, what it does loads with it.
    assert done.stdout.splitlines()[-1] == "['common', 'status_cmd']"
    listed = subprocess.run([*cli, "--help"], capture_output=True, text=True, env=env)
    for name in ("init", "run", "status", "report", "verify", "checklists", "crew", "log"):
        assert f"\n  {name} " in listed.stdout
