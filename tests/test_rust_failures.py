"""Acceptance: the failures on the set of "Rust", replayed through the shipped protocols one crew
mistake at a time, each with an answers file, as a crew would script a training day.

After issue 9 every one of them is stopped: dummies from outside the counted stock, dummies not
checked one by one, and ammunition left unattended over a break end in a HOLD (exit 3) in every
protocol where they can happen; and the three shortcuts (one person signing for two roles,
witnessing your own check in a later sitting, clearing a hold alone) are refused (exit 2).
See /work/shared/PROTOCOL-FACTS.md, "On the set of Rust".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from safetycli import crew
from safetycli.ledger import Ledger
from tests.walk_helpers import (
    ARMORER,
    CREW,
    DAY,
    FIRST_AD,
    PRODUCER,
    cheap_pins,
    invoke,
    log_list,
    log_show,
    one_line_error,
    protocol,
    resume,
    start,
    write_answers,
)

# Someone on the roster for both roles: the person a shortcut needs.
BOTH = ("Chris Vale", "6604")

SCENE_DUMMIES = {"blanks": False, "dummies": True}
REHEARSAL_DUMMIES = {"real_firearm": True, "blanks": False, "dummies": True}
ARMORY_DUMMIES = {"blanks": False, "dummies": True}
CONTEXT = {
    "firearm-scene": SCENE_DUMMIES,
    "rehearsal": REHEARSAL_DUMMIES,
    "daily-armory": ARMORY_DUMMIES,
}


pytestmark = pytest.mark.usefixtures("cheap_scrypt")


@pytest.fixture
def crewed(crewed: Path) -> Path:
    """The crew of walk_helpers, and Chris Vale, on the roster as armorer and as 1st AD."""
    with cheap_pins(), Ledger.open(crewed / "log.db") as ledger:
        crew.add_member(ledger, BOTH[0], ["armorer", "first_ad"], BOTH[1], PRODUCER)
    return crewed


def run(
    cli: CliRunner, protocol_id: str, answers: Path, *, expect: int, scene: str = "21"
) -> tuple[str, Result]:
    return start(cli, answers, expect=expect, scene=scene, protocol_id=protocol_id)


def held_on(cli: CliRunner, run_id: str, item_id: str) -> dict[str, Any]:
    """The run is held on `item_id`, answered no, and nothing after it was signed."""
    detail = log_show(cli, run_id)
    assert detail["status"] == "held"
    (hold,) = detail["holds"]
    assert hold["item"] == item_id
    assert hold["cleared_at"] is None
    last = detail["signoffs"][-1]
    assert (last["item"], last["answer"], last["outcome"]) == (item_id, False, "refused")
    return detail


# --- (a) dummies from outside the counted stock ---------------------------------------------------


@pytest.mark.parametrize(
    ("protocol_id", "item_id"),
    [
        ("rehearsal", "dummies-source"),
        ("firearm-scene", "dummies-checked"),  # one check: one by one, and all from the stock
        ("daily-armory", "dummies-source"),
    ],
)
def test_dummies_from_outside_the_counted_stock_are_a_hold(
    cli: CliRunner, crewed: Path, tmp_path: Path, protocol_id: str, item_id: str
) -> None:
    """Some of the "Rust" dummies came from a bag kept in a car after an earlier film."""
    answers = write_answers(
        tmp_path / "bag-in-the-car.yaml",
        protocol_id,
        context=CONTEXT[protocol_id],
        answers={item_id: False},
    )
    run_id, result = run(cli, protocol_id, answers, expect=3)
    assert "STOP WORK" in result.stdout
    held_on(cli, run_id, item_id)


# --- (b) dummies not checked one by one -----------------------------------------------------------


@pytest.mark.parametrize("protocol_id", ["firearm-scene", "rehearsal", "daily-armory"])
def test_dummies_not_checked_one_by_one_are_a_hold(
    cli: CliRunner, crewed: Path, tmp_path: Path, protocol_id: str
) -> None:
    """On "Rust" the dummies were only shaken "most of the time"; one round was live."""
    answers = write_answers(
        tmp_path / "only-shaken.yaml",
        protocol_id,
        context=CONTEXT[protocol_id],
        answers={"dummies-checked": False},
    )
    run_id, result = run(cli, protocol_id, answers, expect=3)
    assert "STOP WORK" in result.stdout
    held_on(cli, run_id, "dummies-checked")


# --- (c) ammunition left unattended over a break --------------------------------------------------

# Where each protocol asks after a break whether everything stayed locked up or with the armorer,
# and a check the first sitting leaves open (the crew went to lunch before it).
CUSTODY = {
    "firearm-scene": ("custody-kept", "shown-clear"),
    "rehearsal": ("custody-kept", "shown-clear"),
    "daily-armory": ("storage-kept-locked", "all-firearms-back"),
}


def _no_after_lunch(
    cli: CliRunner, tmp_path: Path, protocol_id: str, open_at: str, item: str
) -> tuple[str, Result]:
    """A first sitting that stops before `open_at` (the crew went to lunch), then a resume whose
    after-break check `item` is answered no; returns the run and the resume's result."""
    context = CONTEXT[protocol_id]
    partial = write_answers(
        tmp_path / "before-lunch.yaml", protocol_id, context=context, drop=(open_at,)
    )
    run_id, result = run(cli, protocol_id, partial, expect=4)
    assert open_at in result.stderr
    after = write_answers(
        tmp_path / "after-lunch.yaml", protocol_id, context=context, answers={item: False}
    )
    return run_id, resume(cli, run_id, after, expect=3)


@pytest.mark.parametrize("protocol_id", sorted(CUSTODY))
def test_ammunition_left_unattended_over_a_break_is_a_hold(
    cli: CliRunner, crewed: Path, tmp_path: Path, protocol_id: str
) -> None:
    """On "Rust" the ammunition was left on a cart outside the building over lunch."""
    custody, open_at = CUSTODY[protocol_id]
    run_id, result = _no_after_lunch(cli, tmp_path, protocol_id, open_at, custody)
    assert "STOP WORK" in result.stdout
    detail = held_on(cli, run_id, custody)
    # Asked before the check the run had stopped at: nothing more was signed.
    assert open_at not in [s["item"] for s in detail["signoffs"]]
    assert detail["signoffs"][-1]["phase"] == "after-break"


@pytest.mark.parametrize("protocol_id", ["firearm-scene", "rehearsal"])
@pytest.mark.parametrize("item", ["live-sweep-again", "dummies-rechecked"])
def test_no_new_sweep_or_dummy_check_after_a_break_is_a_hold(
    cli: CliRunner, crewed: Path, tmp_path: Path, protocol_id: str, item: str
) -> None:
    run_id, _ = _no_after_lunch(cli, tmp_path, protocol_id, "shown-clear", item)
    held_on(cli, run_id, item)


# --- (d) the three shortcuts ---------------------------------------------------------------------


def signers_with(**roles: tuple[str, str]) -> dict[str, tuple[str, str]]:
    return {**CREW, **roles}


def test_one_person_signing_for_two_roles_in_a_run_is_refused(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = write_answers(
        tmp_path / "two-hats.yaml",
        context=SCENE_DUMMIES,
        signers=signers_with(armorer=BOTH, first_ad=BOTH),
    )
    before = {r["id"] for r in log_list(cli)}
    result = invoke(
        cli, ["run", "firearm-scene", "--scene", "22", "--day", DAY, "--answers", str(answers)]
    )
    message = one_line_error(result)
    assert BOTH[0] in message and "one person signs for one role" in message, message
    # No check went ahead on one person's word: Chris signed the armorer's own checks (people
    # sign in when their checks come up), but nothing Chris was to witness as the 1st AD was
    # confirmed, and Chris signed nothing as the 1st AD.
    for run_id in {r["id"] for r in log_list(cli)} - before:
        detail = log_show(cli, run_id)
        assert detail["status"] != "complete"
        for signoff in detail["signoffs"]:
            assert signoff["by"]["role"] == "armorer"
            assert signoff["witnesses"] == []
            item = protocol().item(signoff["item"])
            if item.witness:
                assert signoff["outcome"] is None, signoff


def test_witnessing_your_own_check_in_a_later_sitting_is_refused(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    # Before lunch, Chris signs as the armorer (the 1st AD is Dana) and the run is left open.
    first = write_answers(
        tmp_path / "morning.yaml",
        context=SCENE_DUMMIES,
        signers=signers_with(armorer=BOTH),
        drop=("shown-clear",),
    )
    run_id, _ = run(cli, "firearm-scene", first, expect=4, scene="23")
    signed = log_show(cli, run_id)["signoffs"]
    assert any(s["by"]["name"] == BOTH[0] for s in signed)
    # After lunch Chris comes back as the 1st AD, to witness `shown-clear` they would sign.
    second = write_answers(
        tmp_path / "afternoon.yaml",
        context=SCENE_DUMMIES,
        signers=signers_with(armorer=ARMORER, first_ad=BOTH),
    )
    message = one_line_error(invoke(cli, ["resume", run_id, "--answers", str(second)]))
    assert f"{BOTH[0]} signed for armorer earlier in this run" in message, message
    after = log_show(cli, run_id)
    # Refused when Chris's first check as the 1st AD came up: what Sam signed as the armorer
    # before that stands, and nothing was witnessed or signed by Chris this sitting.
    assert after["signoffs"][: len(signed)] == signed
    later = after["signoffs"][len(signed) :]
    assert all(s["by"]["name"] == ARMORER[0] and s["witnesses"] == [] for s in later), later
    assert after["status"] == "open"


def test_clearing_a_hold_alone_is_refused(cli: CliRunner, crewed: Path, tmp_path: Path) -> None:
    answers = write_answers(
        tmp_path / "no.yaml", context=SCENE_DUMMIES, answers={"no-live-ammunition": False}
    )
    run_id, _ = run(cli, "firearm-scene", answers, expect=3, scene="24")
    result = invoke(
        cli,
        ["clear", run_id, "--note", "looked again myself", "--pin-stdin"]
        + ["--by", f"armorer={BOTH[0]}", "--by", f"first_ad={BOTH[0]}"],
        input=f"{BOTH[1]}\n{BOTH[1]}\n",
    )
    message = one_line_error(result)
    assert "different person" in message, message
    detail = log_show(cli, run_id)
    assert detail["status"] == "held"
    assert detail["holds"][0]["cleared_at"] is None
    # The two of them, each with their own PIN, can.
    result = invoke(
        cli,
        ["clear", run_id, "--note", "cart searched, nothing live", "--pin-stdin"]
        + ["--by", f"armorer={ARMORER[0]}", "--by", f"first_ad={FIRST_AD[0]}"],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    assert result.exit_code == 0, result.output
    assert log_show(cli, run_id)["status"] == "open"


def test_clearing_a_scene_stop_work_alone_is_refused(cli: CliRunner, crewed: Path) -> None:
    held = invoke(
        cli, ["hold", "--scene", "25", "--reason", "camera crew walked out", "--by", "Jo Park"]
    )
    assert held.exit_code == 0, held.output
    result = invoke(
        cli,
        ["clear", "--scene", "25", "--note", "talked to them", "--pin-stdin"]
        + ["--by", f"armorer={BOTH[0]}", "--by", f"first_ad={BOTH[0]}"],
        input=f"{BOTH[1]}\n{BOTH[1]}\n",
    )
    assert result.exit_code == 2, result.output
    assert "different person" in result.stderr
    assert "25" in invoke(cli, ["status"]).stdout


def test_the_runs_armorer_cannot_clear_its_hold_as_the_first_ad(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = write_answers(
        tmp_path / "no.yaml",
        context=SCENE_DUMMIES,
        signers=signers_with(armorer=BOTH),
        answers={"no-live-ammunition": False},
    )
    run_id, _ = run(cli, "firearm-scene", answers, expect=3, scene="26")
    assert log_show(cli, run_id)["holds"][0]["raised_by"] == {"name": BOTH[0], "role": "armorer"}
    # Another armorer lends a PIN; Chris, the run's armorer, signs the clearance as the 1st AD.
    result = invoke(
        cli,
        ["clear", run_id, "--note", "looked again myself", "--pin-stdin"]
        + ["--by", f"armorer={ARMORER[0]}", "--by", f"first_ad={BOTH[0]}"],
        input=f"{ARMORER[1]}\n{BOTH[1]}\n",
    )
    message = one_line_error(result)
    assert BOTH[0] in message and "armorer" in message, message
    assert log_show(cli, run_id)["status"] == "held"
