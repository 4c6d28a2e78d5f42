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
    ACTOR,
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
        tmp_path / "no.yaml", context=SCENE_DUMMIES, answers={"armorer-present": False}
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
        answers={"armorer-present": False},
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


# --- issue 13: misfires and complaints not acted on; firearms unloaded after the shooting --------


def _incidents(cli: CliRunner) -> list[dict[str, Any]]:
    import json

    result = invoke(cli, ["incident", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _close(cli: CliRunner, incident_id: str, *people: tuple[str, str, str]) -> Result:
    args = ["incident", "close", incident_id, "--action", "revolver unloaded, rounds thrown away"]
    for role, name, _ in people:
        args += ["--by", f"{role}={name}"]
    pins = "".join(f"{pin}\n" for _, _, pin in people)
    return invoke(cli, [*args, "--pin-stdin"], input=pins)


def test_misfires_and_complaints_not_acted_on_are_stopped(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """Rust: two earlier misfires and the camera crew's complaints were not acted on. A misfire
    answered in the walk-through and a complaint made without a name are in the register, and
    every firearm protocol of the next day is refused until a producer and the armorer close
    them with what was done; the armorer and the 1st AD alone cannot."""
    context = {"blanks": True, "dummies": False}
    misfire = write_answers(tmp_path / "m.yaml", context=context, answers={"no-misfire": False})
    run_id, _ = start(cli, misfire, expect=3)
    complaint = invoke(
        cli,
        [
            "incident",
            "report",
            "--kind",
            "complaint",
            "--anonymous",
            "--text",
            "camera crew: the armorer is rushed and has props duties",
        ],
    )
    assert complaint.exit_code == 0, complaint.output
    found = {i["kind"]: i for i in _incidents(cli)}
    assert set(found) == {"misfire", "complaint"}
    assert found["misfire"]["run"] == run_id and found["complaint"]["reported_by"] is None
    # The next day: every firearm protocol refuses to start, naming an open incident.
    for protocol_id in CONTEXT:
        answers = write_answers(
            tmp_path / f"{protocol_id}.yaml", protocol_id, context=CONTEXT[protocol_id]
        )
        args = ["run", protocol_id, "--scene", "14", "--day", "2026-11-24", "--answers"]
        line = one_line_error(invoke(cli, [*args, str(answers)]))
        assert "incident" in line and ("misfire" in line or "complaint" in line)
    # The daily close cannot write them off as free text any more: the register is the record.
    assert protocol("daily-armory").item("incidents-today").kind == "confirm"
    # Closed by the armorer and the 1st AD alone: refused, still open.
    armorer, ad = ("armorer", *ARMORER), ("first_ad", *FIRST_AD)
    for incident in found.values():
        assert _close(cli, incident["id"], armorer, ad).exit_code == 2
    assert len([i for i in _incidents(cli) if i["status"] == "open"]) == 2
    # A producer and the armorer close each, with what was done: work may go on.
    for incident in found.values():
        closed = _close(cli, incident["id"], armorer, ("producer", *PRODUCER))
        assert closed.exit_code == 0, closed.output
    answers = write_answers(tmp_path / "next.yaml", context=context)
    start(cli, answers, expect=0, scene="14", day="2026-11-24")


def test_a_second_misfire_of_one_firearm_in_a_week_is_called_out(
    cli: CliRunner, crewed: Path
) -> None:
    for text in ("click, no bang on take 2", "click again on take 5"):
        report = ["incident", "report", "--kind", "misfire", "--firearm", "4471", "--text", text]
        result = invoke(cli, report)
        assert result.exit_code == 0, result.output
        (latest, *_) = _incidents(cli)
        _close(cli, latest["id"], ("armorer", *ARMORER), ("producer", *PRODUCER))
    assert "2 misfires" in result.stdout and "4471" in result.stdout


def _stock(cli: CliRunner, home: Path) -> None:
    """The armorer's permit, the actor's safety course (the hand-overs give them the revolver),
    a revolver (4471) and 50 blanks (lot B-7) in the armory, open."""
    from tests.test_armory import _qualify

    _qualify(home, ARMORER[0], "armorer-permit")
    _qualify(home, ACTOR[0], "safety-course")
    for args in (
        "add firearm --serial 4471 --make Colt --model SAA --kind real",
        "add rounds --lot B-7 --type blank --load half --count 50",
        "unlock",
    ):
        done = invoke(cli, ["armory", *args.split(), "--by", ARMORER[0], "--pin-stdin"], ARMORER[1])
        assert done.exit_code == 0, done.output


def test_firearms_unloaded_and_rounds_thrown_away_after_the_shooting_are_stopped(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """Rust: after the shooting, firearms were unloaded and rounds thrown away before anyone
    examined them. A "no" to "no unplanned discharge, nobody hurt?" records the incident with the
    run's firearm and rounds, tells the armorer to leave everything untouched (the unloading
    check is not asked), and the armory refuses to take back, return, count or spoil them; the
    armorer and the 1st AD cannot clear it with "revolver unloaded, rounds thrown away"."""
    _stock(cli, crewed)
    out = {"firearms": ["4471"], "rounds": {"B-7": 12}}
    answers = write_answers(
        tmp_path / "a.yaml", answers={"no-unplanned-discharge": False}, armory=out
    )
    run_id, result = start(cli, answers, expect=3)
    assert "UNTOUCHED" in result.stdout
    signed = {s["item"] for s in log_show(cli, run_id)["signoffs"]}
    assert "shown-clear-after" not in signed and "returned-on-cut" not in signed
    (incident,) = _incidents(cli)
    assert incident["kind"] == "unplanned-discharge"
    assert incident["firearms"] == ["4471"] and incident["lots"] == ["B-7"]
    pin = f"{ARMORER[1]}\n"
    by = ["--by", ARMORER[0], "--pin-stdin"]
    for args in (
        ["armory", "return", "4471"],
        ["armory", "rounds", "return", "--lot", "B-7", "--count", "11"],
        ["armory", "rounds", "spoil", "--lot", "B-7", "--count", "11"],
        ["armory", "rounds", "fire", "--lot", "B-7", "--count", "1"],
    ):
        line = one_line_error(invoke(cli, [*args, *by], input=pin))
        assert "frozen" in line and incident["id"] in line
    clear = ["clear", run_id, "--note", "revolver unloaded, rounds thrown away"]
    clear += ["--by", f"armorer={ARMORER[0]}", "--by", f"first_ad={FIRST_AD[0]}", "--pin-stdin"]
    assert incident["id"] in one_line_error(
        invoke(cli, clear, input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n")
    )
    assert (
        _close(cli, incident["id"], ("armorer", *ARMORER), ("first_ad", *FIRST_AD)).exit_code == 2
    )
    # Only a producer and the armorer release it, once examined.
    assert (
        _close(cli, incident["id"], ("producer", *PRODUCER), ("armorer", *ARMORER)).exit_code == 0
    )
    # The revolver is still in the actor's hands, as the take's hand-over recorded: taken back,
    # then put away.
    for args in (["armory", "take-back", "4471"], ["armory", "return", "4471"]):
        back = invoke(cli, [*args, *by], input=pin)
        assert back.exit_code == 0, back.output
