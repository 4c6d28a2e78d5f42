"""Runs use the inventory (issue 12, item 3): a run that takes firearms out of the armory asks its
per-firearm checks for each of them, naming it, and the hand-over and the return on cut it signs
are the armory's custody record; without an armory, the checks are asked once, as before."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli import crew, qualifications
from safetycli.ledger import Ledger
from tests.test_armory import armorer, hand_over, stocked  # noqa: F401  (the fixture)
from tests.test_interactive import FACT, HOLD_REASON, Crew, finished, flat, spawn
from tests.test_protocol import minimal, problems_in
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    DAY,
    DP,
    PRODUCER,
    invoke,
    log_show,
    ok,
    one_line_error,
    protocol,
    start,
    write_answers,
)

NO_ROUNDS = {"blanks": False, "dummies": False}
TWO = {"firearms": ["4471", "B88120"]}


def _signed(cli: CliRunner, run_id: str) -> list[tuple[int | None, str]]:
    return [(s["take"], s["item"]) for s in log_show(cli, run_id)["signoffs"]]


def _show(cli: CliRunner, serial: str) -> dict[str, Any]:
    return json.loads(ok(cli, ["armory", "show", serial, "--format", "json"]).stdout)  # type: ignore[no-any-return]


def _open_at_wrap(
    cli: CliRunner,
    tmp_path: Path,
    *,
    takes: int = 1,
    day: str = DAY,
    context: dict[str, bool] = NO_ROUNDS,
    armory: dict[str, Any] = TWO,
    expect: int = 4,
    **answers: Any,
) -> str:
    """A run with firearms (both, unless told) out, every take signed, left open at the wrap's
    lock-up."""
    path = write_answers(
        tmp_path / "a.yaml",
        context=context,
        takes=takes,
        answers=answers,
        drop=("locked-up", "key-holders"),
        armory=armory,
    )
    run_id, _ = start(cli, path, expect=expect, day=day)
    return run_id


def test_each_firearm_is_shown_clear_announced_and_handed_over_on_its_own(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    run_id = _open_at_wrap(cli, tmp_path)
    signed = _signed(cli, run_id)
    for check in ("shown-clear", "state-announced", "handed-over", "returned-on-cut"):
        assert (1, f"{check}@4471") in signed and (1, f"{check}@B88120") in signed
        assert (1, check) not in signed
    # The armorer's typed list is the armory's record now: not asked.
    assert all(item not in ("firearms-listed", "firearms-issued") for _, item in signed)
    # Counts stay one per take.
    assert log_show(cli, run_id)["context"]["armory"] is True


def test_the_hand_over_and_the_return_on_cut_are_the_armorys_custody_record(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    run_id = _open_at_wrap(cli, tmp_path, takes=2)
    moves = [m for m in _show(cli, "4471")["events"] if m["what"] != "added"]
    assert [m["what"] for m in moves] == [
        "issued",
        "handed over",
        "taken back",
        "handed over",
        "taken back",
    ]
    assert all(m["by"] == ARMORER[0] for m in moves)
    assert all(ACTOR[0] in m["detail"] for m in moves[1:])
    listing = json.loads(ok(cli, ["armory", "list", "--format", "json"]).stdout)
    revolver = next(f for f in listing["firearms"] if f["serial"] == "4471")
    assert (revolver["where"], revolver["holder"], revolver["run"]) == (
        "armorer",
        ARMORER[0],
        run_id,
    )
    # Who had it while the camera rolled: the actor, for each take.
    held = [span for span in _show(cli, "4471")["custody"] if span["where"] == "issued"]
    assert [span["holder"] for span in held] == [ACTOR[0], ACTOR[0]]


def test_a_hand_over_of_a_firearm_put_away_meanwhile_holds_naming_it(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The run stops before its first take: the firearm is then put back in storage by hand.
    first = write_answers(
        tmp_path / "a.yaml", context=NO_ROUNDS, drop=("blocking-unchanged",), armory=TWO
    )
    run_id, _ = start(cli, first, expect=4)
    armorer(cli, "return", "B88120")
    rest = write_answers(tmp_path / "b.yaml", context=NO_ROUNDS)
    result = invoke(cli, ["resume", run_id, "--answers", str(rest)])
    assert result.exit_code == 3, result.output
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "handed-over@B88120"
    assert "B88120" in hold["reason"] and "not out for this run" in hold["reason"]
    assert "B88120" in result.stdout
    # Nothing was handed over: the firearm is still in storage.
    assert _show(cli, "B88120")["firearm"]["where"] == "locked"


def test_an_answers_file_answers_one_firearm_on_its_own(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = write_answers(
        tmp_path / "a.yaml",
        context=NO_ROUNDS,
        answers={"shown-clear@B88120": False},
        armory=TWO,
    )
    run_id, _ = start(cli, path, expect=3)
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "shown-clear@B88120"
    assert "B88120" in hold["reason"] and "4471" not in hold["reason"]  # names the firearm


def test_without_an_armory_each_check_is_asked_once_for_every_firearm(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    path = write_answers(tmp_path / "a.yaml", context=NO_ROUNDS)
    run_id, _ = start(cli, path, expect=0)
    signed = _signed(cli, run_id)
    assert (1, "shown-clear") in signed and (None, "firearms-listed") in signed
    shown = ok(cli, ["checklists", "show", "firearm-scene"]).stdout
    assert "Armorer opened each firearm" in shown and "{firearm}" not in shown


def test_at_the_keyboard_each_firearm_is_asked_by_name(
    stocked: Path,  # noqa: F811
) -> None:
    run = ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--firearm", "4471"]
    child = spawn(stocked, *run, "--firearm", "B88120")
    items = [item for _, item in protocol().for_firearms(LABELS).items()]
    crew = Crew(child, items)
    for _ in ("blanks", "dummies"):
        child.expect(FACT)
        child.sendline("n")
    child.expect("armorer: your name")
    child.sendline("")  # the one armorer on the roster
    child.expect("your PIN to take these out of the armory")
    child.waitnoecho(timeout=5)
    child.sendline(ARMORER[1])
    # Up to the armorer's checks before the first take: each firearm by name and serial.
    crew.run(r"Armorer handed firearm B88120 \(Beretta 92\) straight to the actor")
    listed = [item.id for item in crew.listed.values()]
    assert "shown-clear@4471" in listed and "shown-clear@B88120" in listed
    assert "Armorer opened firearm 4471 (Colt SAA) and showed" in flat(crew.transcript)
    child.sendline("h")
    child.expect(HOLD_REASON)
    child.sendline("checking the tool")
    rest, status = finished(child)
    assert status == 3 and "Traceback" not in rest


LABELS = (("4471", "firearm 4471 (Colt SAA)"), ("B88120", "firearm B88120 (Beretta 92)"))


ITEM = """        by: first_ad
        critical: true
        why: The smallest thing that can stop work.
"""


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ("        moves: hand-over\n", "`moves` needs `per_firearm: true`"),
        ("        per_firearm: true\n        moves: take-back\n", "only the armorer"),
        ("        per_firearm: true\n        kind: count\n", "not per firearm"),
        ("        moves: blanks-fired\n", "belongs on a count item"),
        ("        kind: count\n        max: 3\n        moves: blanks-fired\n", "only the armorer"),
    ],
)
def test_the_validator_points_at_a_per_firearm_check_that_cannot_work(
    extra: str, said: str
) -> None:
    text = minimal(ITEM, ITEM + extra)
    assert any(said in line for line in problems_in(text)), problems_in(text)


def test_the_validator_wants_one_receiver_for_a_hand_over_and_the_slot_only_per_firearm() -> None:
    armorer_item = minimal("roles: [first_ad]", "roles: [first_ad, armorer, actor, dp]")
    hand_over = armorer_item.replace(
        "by: first_ad\n        critical", "by: armorer\n        critical"
    )
    two = hand_over.replace(
        ITEM.replace("by: first_ad", "by: armorer"),
        ITEM.replace("by: first_ad", "by: armorer")
        + "        per_firearm: true\n        moves: hand-over\n        witness: [actor, dp]\n",
    )
    assert any("one witness" in line for line in problems_in(two)), problems_in(two)
    one = two.replace("witness: [actor, dp]", "witness: [actor]")
    assert problems_in(one) == []
    slot = minimal("ask: Ready to go?", 'ask: "Is {firearm} ready?"')
    assert any("per_firearm" in line for line in problems_in(slot)), problems_in(slot)
    assert problems_in(slot.replace(ITEM, ITEM + "        per_firearm: true\n")) == []


def test_armory_is_the_tools_fact_never_a_protocols() -> None:
    declared = minimal("hold:", "context:\n  armory: {type: bool, ask: Armory?}\nhold:")
    assert any("set by the tool" in line for line in problems_in(declared))
    used = minimal("        critical: true\n", "        critical: true\n        when: not armory\n")
    assert problems_in(used) == []
    compared = used.replace("when: not armory", "when: armory == yes")
    assert problems_in(compared) != []


def test_someone_whose_safety_course_card_lapsed_is_refused_before_anything_goes_out(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Ledger.open(stocked / "log.db") as ledger:
        crew.qualify(ledger, ACTOR[0], "safety-course", "C-9", "2030-06-30", PRODUCER)
    monkeypatch.setattr(qualifications, "today", lambda: "2030-07-01")  # the armorer's is valid
    path = write_answers(tmp_path / "a.yaml", context=NO_ROUNDS, armory=TWO)
    args = ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(path)]
    line = one_line_error(invoke(cli, args))
    assert "do not transfer" in line and "2030-06-30" in line and ACTOR[0] in line
    # Refused at the start: no run, and nothing was taken out, let alone handed to anyone.
    assert ok(cli, ["log", "list", "--format", "json"]).stdout.strip() == "[]"
    assert [m["what"] for m in _show(cli, "4471")["events"]] == ["added"]
    # Without hand-overs (no armory), the same person signs in as before: see the tests of runs
    # without an armory, where no qualification is asked of anyone but the armorer.


def test_a_shooting_day_with_a_firearm_and_a_dummy_gone_missing_holds_naming_both(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Inventory, the daily open, two scene runs, the close: one firearm is not put back and one
    dummy round is not returned, and each hold names what is missing."""
    from tests.test_custody import _daily  # the armorer's day, as the armory holds it

    today = date.today().isoformat()  # custody is recorded as it happens: the day is today
    morning = _daily(tmp_path / "am.yaml", drop=("all-firearms-back",))
    day_run, _ = start(
        cli, morning, expect=4, scene="armory", protocol_id="daily-armory", day=today
    )
    armorer(cli, "check-dummies", "--lot", "D-1", "--method", "rattle")

    # Scene 12A: both firearms, two takes; before the lock-up the pistol is handed to the DP
    # and never comes back.
    run_12a = _open_at_wrap(cli, tmp_path, takes=2, day=today)
    hand_over(cli, "B88120", DP)
    wrap = write_answers(tmp_path / "wrap.yaml", context=NO_ROUNDS)
    invoke(cli, ["resume", run_12a, "--answers", str(wrap)])
    (hold,) = log_show(cli, run_12a)["holds"]
    assert hold["item"] == "locked-up" and "B88120" in hold["reason"] and DP[0] in hold["reason"]
    assert "4471" not in hold["reason"]  # on the cart: the lock-up would put it away
    armorer(cli, "return", "4471")  # the armorer puts it away by hand, the run being held

    # Scene 14B: the revolver with 6 dummies; 5 come back.
    dummies = {"blanks": False, "dummies": True}
    out = {"firearms": ["4471"], "rounds": {"D-1": 6}}
    first = write_answers(
        tmp_path / "b1.yaml", context=dummies, drop=("dummies-reconciled",), armory=out
    )
    run_14b, _ = start(cli, first, expect=4, scene="14B", day=today)
    armorer(cli, "rounds", "return", "--lot", "D-1", "--count", "5", "--run", run_14b)
    invoke(cli, ["resume", run_14b, "--answers", str(write_answers(tmp_path / "b2.yaml"))])
    (hold,) = log_show(cli, run_14b)["holds"]
    assert hold["item"] == "dummies-reconciled"
    assert "D-1" in hold["reason"] and "1 round unaccounted for" in hold["reason"]

    # The close of day names both.
    resume_day = invoke(cli, ["resume", day_run, "--answers", str(_daily(tmp_path / "pm.yaml"))])
    assert resume_day.exit_code == 3, resume_day.output
    (hold,) = log_show(cli, day_run)["holds"]
    assert "B88120" in hold["reason"]
    report = json.loads(ok(cli, ["report", "--day", today, "--format", "json"]).stdout)
    missing = " ".join(gap["text"] for gap in report["exceptions"]["custody"])
    assert "B88120" in missing and "D-1" in missing


def test_the_report_of_a_runs_day_has_its_custody_whenever_it_happened(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The run is for DAY (a night shoot, or one written up later); its custody events happen
    # now. The report of DAY has them: they belong to the run, not to the calendar.
    run_id = _open_at_wrap(cli, tmp_path)
    report = json.loads(ok(cli, ["report", "--day", DAY, "--format", "json"]).stdout)
    (revolver,) = [f for f in report["custody"]["firearms"] if f["serial"] == "4471"]
    whats = [m["what"] for m in revolver["moves"]]
    assert whats == ["issued", "handed over", "taken back"]
    assert {m["run"] for m in revolver["moves"]} == {run_id}


BLANKS_ONLY = {"blanks": True, "dummies": False}


def _blank_scene(cli: CliRunner, tmp_path: Path, issued: int) -> str:
    counts = {
        "blanks-issued": issued,
        "rounds-counted": 5,
        "rounds-fired": 5,
        "rounds-unfired": 0,
        "blanks-returned": 2,
        "blanks-fired": 10,
        "blanks-spoiled": 0,
    }
    out = {"firearms": ["4471"], "rounds": {"B-7": issued}}
    expect = 4 if issued >= 12 else 3
    return _open_at_wrap(
        cli, tmp_path, takes=2, context=BLANKS_ONLY, armory=out, expect=expect, **counts
    )


def test_the_walk_throughs_counts_of_blanks_are_the_lots_custody_record(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    run_id = _blank_scene(cli, tmp_path, 12)
    assert log_show(cli, run_id)["holds"] == []  # every blank accounted for, at wrap too
    shown = json.loads(ok(cli, ["armory", "show", "B-7", "--format", "json"]).stdout)
    (counts,) = [c for c in shown["runs"] if c["run"] == run_id]
    assert (counts["issued"], counts["fired"], counts["returned"], counts["spoiled"]) == (
        12,
        10,
        2,
        0,
    )
    fired = [m for m in shown["events"] if m["what"] == "fired"]
    assert [m["detail"] for m in fired] == ["5", "5"]  # one a take, as the armorer said them


def test_more_blanks_fired_than_the_lot_has_out_for_the_run_holds_naming_the_lot(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    run_id = _blank_scene(cli, tmp_path, 4)
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "rounds-fired"
    assert "B-7" in hold["reason"] and "4 rounds out" in hold["reason"]


def test_the_lock_up_puts_the_runs_firearms_back_in_storage(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = write_answers(tmp_path / "a.yaml", context=NO_ROUNDS, takes=2, armory=TWO)
    run_id, _ = start(cli, path, expect=0)  # complete: nothing typed twice
    listing = json.loads(ok(cli, ["armory", "list", "--format", "json"]).stdout)
    assert {f["serial"]: f["where"] for f in listing["firearms"]} == {
        "4471": "locked",
        "B88120": "locked",
    }
    returned = [m for m in _show(cli, "4471")["events"] if m["what"] == "returned"]
    assert [m["run"] for m in returned] == [run_id]


def test_a_lock_up_with_the_storage_locked_holds_and_says_to_unlock_it(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    run_id = _open_at_wrap(cli, tmp_path)
    armorer(cli, "lock", "--key-holder", ARMORER[0])
    wrap = write_answers(tmp_path / "wrap.yaml", context=NO_ROUNDS)
    assert invoke(cli, ["resume", run_id, "--answers", str(wrap)]).exit_code == 3
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "locked-up" and "unlock" in hold["reason"]
    assert _show(cli, "4471")["firearm"]["where"] == "armorer"


def test_a_firearm_on_the_cart_after_a_finished_run_goes_on_to_the_next_from_the_cart(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The rehearsal's revolver goes straight on to the takes: the armorer never let go of it.
    While the rehearsal is still open (or held), the takes cannot have it."""
    rehearsal = write_answers(
        tmp_path / "r.yaml",
        "rehearsal",
        context={"real_firearm": True, "blanks": False, "dummies": False},
        armory={"firearms": ["4471"]},
        drop=("blocking-unchanged",),
    )
    first, _ = start(cli, rehearsal, expect=4, protocol_id="rehearsal")
    takes = write_answers(tmp_path / "t.yaml", context=NO_ROUNDS, armory={"firearms": ["4471"]})
    args = ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(takes)]
    line = one_line_error(invoke(cli, args))
    assert "4471" in line and "already out" in line and first in line
    done = write_answers(
        tmp_path / "r2.yaml",
        "rehearsal",
        context={"real_firearm": True, "blanks": False, "dummies": False},
    )
    assert invoke(cli, ["resume", first, "--answers", str(done)]).exit_code == 0
    second, _ = start(cli, takes, expect=0)
    moves = [m for m in _show(cli, "4471")["events"] if m["what"] == "issued"]
    assert [m["run"] for m in moves] == [first, second]
    assert "cart" in moves[1]["detail"]
    # Put away at the takes' lock-up.
    assert _show(cli, "4471")["firearm"]["where"] == "locked"


def test_the_lock_up_puts_away_only_what_the_run_took_out_at_its_start(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A firearm issued to the run by hand afterwards (`armory issue --run`) is returned by hand:
    the walk-through moves only what it named, and its lock-up holds naming the other one."""
    run_id = _open_at_wrap(cli, tmp_path, armory={"firearms": ["4471"]})
    armorer(cli, "issue", "B88120", "--run", run_id)
    wrap = write_answers(tmp_path / "wrap.yaml", context=NO_ROUNDS)
    assert invoke(cli, ["resume", run_id, "--answers", str(wrap)]).exit_code == 3
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "locked-up" and "B88120" in hold["reason"]
    assert "4471" not in hold["reason"]
    assert _show(cli, "B88120")["firearm"]["where"] == "armorer"
