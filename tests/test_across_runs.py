"""Holds, counts and signatures that hold across runs, takes and sittings (issue 9), tried as a
crew would: exit codes, one-line refusals, and what the log then holds.

Each part tries to get round a rule the way a hurried set would (a new run of a held scene,
another spelling of the scene, another day, a correction agreed by one person, signing for a
second role after lunch) and checks that it does not get through.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli import crew, production, review, runner, session
from safetycli.errors import SafetyError
from safetycli.events import Signer
from safetycli.ledger import Ledger
from safetycli.runner import Ask, Batch, RollCall, Stopped
from tests.test_runner import Walk
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    BLANKS,
    CLEAR_PINS,
    CLEARERS,
    CREW,
    DAY,
    DP,
    FIRST_AD,
    NO_BLANKS,
    ONE_TAKE_COUNTS,
    PRODUCER,
    clear_run,
    clear_scene,
    hold_run,
    hold_scene,
    invoke,
    keys_of,
    log_list,
    log_show,
    ok,
    protocol,
    refused,
    resume,
    start,
    write_answers,
)

NEXT_DAY = "2026-11-24"
BOTH = ("Robin Lee", "3141")
SAFETY_REP = ("Lou Grant", "6203")  # on the roster as armorer and as 1st AD
DUMMIES = {"blanks": False, "dummies": True}
MEETING = {
    "occasion": "first meeting for this scene",
    "blanks": False,
    "close_range_loads": False,
    "stunts": False,
}


pytestmark = pytest.mark.usefixtures("cheap_scrypt")


# --- driving the CLI ----------------------------------------------------------------------------


def event_count(home: Path) -> int:
    with Ledger.open(home / "log.db") as ledger:
        return ledger.count()


def events_of(home: Path, kind: str, run: str | None = None) -> list[dict[str, Any]]:
    with Ledger.open(home / "log.db") as ledger:
        return [e.data for e in ledger.events(run=run, kinds=[kind])]


def add_member(home: Path, name: str, pin: str, roles: list[str]) -> None:
    with Ledger.open(home / "log.db") as ledger:
        crew.add_member(ledger, name, roles, pin, PRODUCER)


# === 1. scene-level holds ========================================================================


def test_anyone_stops_work_on_a_scene_without_a_pin_and_the_record_says_so(
    cli: CliRunner, crewed: Path
) -> None:
    pins_before = len(events_of(crewed, "auth.ok"))
    result = hold_scene(cli, "12A", "smell of smoke", by="A Visitor")
    assert "smell of smoke" in result.stdout
    # A crew member is recorded with their role, still as not proven: nobody typed a PIN.
    hold_scene(cli, "14", "cart left unattended", by=DP[0])
    held = events_of(crewed, "scene.held")
    assert [(h["scene"], h["name"], h["role"], h["authenticated"]) for h in held] == [
        ("12A", "A Visitor", None, False),
        ("14", DP[0], "dp", False),
    ]
    assert len(events_of(crewed, "auth.ok")) == pins_before  # no PIN was asked of anyone
    assert refused(cli, ["hold", "--scene", "12A", "--reason", "  ", "--by", "X"]).startswith(
        "a hold needs a reason"
    )
    assert refused(cli, ["hold", "r-000000", "--scene", "12A", "--reason", "x"]).startswith(
        "name the run"
    )


@pytest.mark.parametrize(
    ("scene", "day", "protocol_id"),
    [
        ("12A", DAY, "firearm-scene"),
        ("12a", DAY, "firearm-scene"),  # scene names compare as the crew says them
        ("  12A ", DAY, "firearm-scene"),
        ("12A", NEXT_DAY, "firearm-scene"),  # a stop-work stays, whatever the day
        ("12A", NEXT_DAY, "safety-meeting"),  # and whatever the checklist
    ],
)
def test_a_held_scene_refuses_a_new_run_in_one_line_and_records_nothing(
    cli: CliRunner, crewed: Path, tmp_path: Path, scene: str, day: str, protocol_id: str
) -> None:
    hold_scene(cli, "12A", "smell of smoke")
    add_member(crewed, *SAFETY_REP, ["safety_rep"])
    answers = write_answers(
        tmp_path / "a.yaml",
        protocol_id,
        context=BLANKS if protocol_id == "firearm-scene" else MEETING,
        signers={**CREW, "safety_rep": SAFETY_REP} if protocol_id == "safety-meeting" else CREW,
    )
    before = event_count(crewed)
    message = refused(
        cli, ["run", protocol_id, "--scene", scene, "--day", day, "--answers", str(answers)]
    )
    assert "scene 12A is held" in message and "smell of smoke" in message
    assert "safetycli clear --scene" in message
    assert event_count(crewed) == before
    assert log_list(cli) == []

    clear_scene(cli, "12a")  # lifted by the armorer and the 1st AD, in any spelling
    start(cli, answers, expect=0, scene=scene, day=day, protocol_id=protocol_id)


def test_a_held_scene_refuses_resuming_its_open_run_until_it_is_cleared(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    result = hold_scene(cli, "12a", "gas smell near the cart")
    assert "every run of scene 12a stops" in result.stdout.lower()
    detail = log_show(cli, run_id)
    before = event_count(crewed)

    full = write_answers(tmp_path / "full.yaml")
    message = refused(cli, ["resume", run_id, "--answers", str(full)])
    assert "is held" in message and "gas smell near the cart" in message
    assert "safetycli clear --scene" in message
    assert event_count(crewed) == before  # not even a sign-in or a resume mark
    assert log_show(cli, run_id)["signoffs"] == detail["signoffs"]

    cleared = clear_scene(cli, "12A")
    assert f"safetycli resume {run_id}" in cleared.stdout
    resume(cli, run_id, full, expect=0)


def test_clearing_a_stop_work_takes_the_armorer_and_the_first_ad_two_people_with_pins(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    hold_scene(cli, "12A", "smell of smoke")
    add_member(crewed, *BOTH, ["armorer", "first_ad"])
    clear = ["clear", "--scene", "12A"]
    no_note = refused(cli, [*clear, "--note", " ", *CLEARERS, "--pin-stdin"], input=CLEAR_PINS)
    assert no_note.startswith("clearing a hold needs a note")
    one_role = refused(
        cli,
        [*clear, "--note", "ok", "--by", f"armorer={ARMORER[0]}", "--pin-stdin"],
        input=CLEAR_PINS,
    )
    assert "first_ad" in one_role
    alone = [*clear, "--note", "ok", "--by", f"armorer={BOTH[0]}", "--by", f"first_ad={BOTH[0]}"]
    assert "different person" in refused(cli, [*alone, "--pin-stdin"], input=f"{BOTH[1]}\n" * 2)
    actor = refused(
        cli,
        [*clear, "--note", "ok", "--by", f"armorer={ACTOR[0]}", "--by", f"first_ad={FIRST_AD[0]}"]
        + ["--pin-stdin"],
        input=f"{ACTOR[1]}\n{FIRST_AD[1]}\n",
    )
    assert actor == f"{ACTOR[0]} is not on the roster as armorer"
    wrong_pin = refused(
        cli, [*clear, "--note", "ok", *CLEARERS, "--pin-stdin"], input=f"{ARMORER[1]}\n0000\n"
    )
    assert wrong_pin.startswith(f"wrong PIN for {FIRST_AD[0]}")
    assert events_of(crewed, "scene.cleared") == []
    other = refused(cli, ["clear", "--scene", "7", "--note", "ok", *CLEARERS, "--pin-stdin"])
    assert other.startswith("scene 7 has no stop-work to clear")

    clear_scene(cli, "12A", "smoke was from the catering van")
    (cleared,) = events_of(crewed, "scene.cleared")
    assert cleared["note"] == "smoke was from the catering van"
    assert [(c["name"], c["role"]) for c in cleared["cleared_by"]] == [
        (ARMORER[0], "armorer"),
        (FIRST_AD[0], "first_ad"),
    ]


def test_a_run_on_hold_holds_its_scene_on_any_day_and_in_any_spelling(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    held_id, _ = start(
        cli, write_answers(tmp_path / "no.yaml", answers={"armorer-present": False}), expect=3
    )
    full = write_answers(tmp_path / "full.yaml")
    before = event_count(crewed)
    # Look-alikes too: Cyrillic А, Greek Α, an accent, a lower-case L and a capital I for 1.
    look_alikes = ("12\u0410", "12\u0391", "12\u00c1", "l2A", "I2A", "\uff11\uff12A")
    spellings = [("12A", DAY), ("12a", NEXT_DAY), (" 12A", NEXT_DAY)]
    for scene, day in [*spellings, *((s, DAY) for s in look_alikes)]:
        message = refused(
            cli, ["run", "firearm-scene", "--scene", scene, "--day", day, "--answers", str(full)]
        )
        assert f"run {held_id} is on hold" in message
        assert f"safetycli clear {held_id}" in message
    assert event_count(crewed) == before
    # Clearing the stop-work of the scene is not a way round the run's own hold.
    assert refused(
        cli, ["clear", "--scene", "12A", "--note", "x", *CLEARERS, "--pin-stdin"]
    ).startswith("scene 12A has no stop-work to clear")

    clear_run(cli, held_id, "armorer back on set")
    # Cleared: the run itself goes on, and once it is done another run of the scene may start.
    resume(cli, held_id, full, expect=0)
    start(cli, full, expect=0, scene="12a", day=NEXT_DAY)


def test_a_hold_by_hand_on_one_run_stops_resuming_another_run_of_the_scene(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    first, _ = start(cli, partial, expect=4, scene="12A")
    rehearsal = write_answers(
        tmp_path / "rehearsal.yaml",
        "rehearsal",
        context={"real_firearm": True, "blanks": False, "dummies": False},
        drop=("blocking-unchanged",),
    )
    second, _ = start(cli, rehearsal, expect=4, scene="12a", protocol_id="rehearsal")
    hold_run(cli, first, "actor asked for a re-check")
    message = refused(cli, ["resume", second, "--answers", str(rehearsal)])
    assert f"run {first} is on hold (actor asked for a re-check)" in message
    # The held run itself resumes to its hold: exit 3, nothing asked.
    signed = log_show(cli, first)["signoffs"]
    resume(cli, first, write_answers(tmp_path / "full.yaml"), expect=3)
    assert log_show(cli, first)["signoffs"] == signed


def test_a_walk_through_already_going_stops_at_its_next_step_when_the_scene_is_held(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """The AD's laptop is at a question when someone on set calls stop-work on the scene: the
    answer typed afterwards is not recorded, and the walk-through stops with the run open."""
    from safetycli.answers import load_answers
    from safetycli.session import FileFrontend, StoppedNotice, drive, start_run

    class Crew(FileFrontend):
        held = False
        pins_after_hold: list[str] = []

        def answer(self, step: Any, state: Any, proto: Any) -> Any:
            value = super().answer(step, state, proto)
            if step.item.id == "meeting-covered" and step.meaning == "performed":
                hold_scene(cli, "12a", "stranger near the prop truck")
                self.held = True
            return value

        def pin(self, name: str, role: str, why: str) -> str:
            if self.held:
                self.pins_after_hold.append(name)
            return super().pin(name, role, why)

    frontend = Crew(load_answers(write_answers(tmp_path / "a.yaml")), "")
    proto = protocol()
    with Ledger.open(crewed / "log.db") as ledger:
        run_id = start_run(ledger, proto, frontend, scene="12A", day=DAY, context=dict(BLANKS))
        state = drive(ledger, proto, run_id, frontend)
    assert state.status == "open"
    assert state.scene_stop is not None
    assert state.scene_stop.reason == "stranger near the prop truck"
    stopped = frontend.log[-1]
    assert isinstance(stopped, StoppedNotice) and stopped.scene is not None
    # Nothing of the 1st AD's batch typed while the stop landed was recorded.
    signed = keys_of(log_show(cli, run_id))
    assert ("safety-meeting", None, "meeting-held") not in signed
    assert ("safety-meeting", None, "meeting-covered") not in signed
    # The critical "yes" typed after the stop asked for no PIN: it would not be recorded anyway.
    assert frontend.pins_after_hold == []


def test_non_ascii_scene_names_compare_as_the_crew_says_them_for_a_stop_work(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    hold_scene(cli, "Écluse 3", "smoke")
    full = write_answers(tmp_path / "full.yaml")
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "écluse 3", "--day", DAY, "--answers", str(full)]
    )
    assert "is held" in message


def test_a_run_on_hold_holds_its_scene_whatever_the_case_of_a_non_ascii_name(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    held_id, _ = start(
        cli,
        write_answers(tmp_path / "no.yaml", answers={"armorer-present": False}),
        expect=3,
        scene="Écluse 3",
    )
    full = write_answers(tmp_path / "full.yaml")
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "écluse 3", "--day", DAY, "--answers", str(full)]
    )
    assert f"run {held_id} is on hold" in message


def test_a_stop_work_is_never_lifted_by_one_person_in_the_pure_rules() -> None:
    state = production.ProductionState()
    from safetycli.events import Event

    (held,) = production.hold_scene("12A", None, "smoke", "A Visitor", None, False)
    state.apply(Event(1, "2026-11-23T10:00:00Z", held.kind, None, None, held.data, "", ""))
    alone = [Signer(BOTH[0], "armorer"), Signer(BOTH[0], "first_ad")]
    with pytest.raises(SafetyError):
        production.clear_scene(state, "12A", "fixed", alone)


def test_the_runner_stops_on_a_scene_stop_handed_in_from_outside() -> None:
    walk = Walk(protocol(), dict(BLANKS))
    walk.sign_in_all()
    stop = production.SceneStop(
        scene="12A",
        reason="smoke",
        raised_by={"name": "A Visitor", "role": None},
        authenticated=False,
        raised_at="2026-11-23T10:00:00Z",
        hold_seq=7,
    )
    step = runner.next_step(walk.proto, walk.state, production.Outside(stops=(stop,)))
    assert isinstance(step, Stopped)
    assert (step.status, step.hold, step.scene) == ("held", None, stop)
    assert "no PIN" in stop.line() and 'safetycli clear --scene "12A"' in stop.line()
    # Nothing from outside: the walk goes on where it was.
    assert isinstance(runner.next_step(walk.proto, walk.state, production.Outside()), Batch)


# === 2. counts across takes and across the day ===================================================


def test_blanks_fired_at_wrap_must_be_the_sum_over_every_take(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """The issue's example: 12 issued, two takes fired 6 each, wrap says 6 returned, 6 fired."""
    counts = {
        "rounds-counted": 6,
        "rounds-fired": 6,
        "rounds-unfired": 0,
        "blanks-issued": 12,
        "blanks-returned": 6,
        "blanks-fired": 6,
        "blanks-spoiled": 0,
    }
    run_id, result = start(
        cli, write_answers(tmp_path / "short.yaml", takes=2, answers=counts), expect=3
    )
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "blanks-fired"
    assert hold["reason"].startswith("Blanks fired in all takes")
    assert "rounds fired (all takes) 12 = 12, but 6 counted (6 missing)" in hold["reason"]
    assert "Blanks fired in all takes" in result.stdout

    right = {**counts, "blanks-returned": 0, "blanks-fired": 12}
    start(cli, write_answers(tmp_path / "right.yaml", takes=2, answers=right), expect=0, scene="13")


def _scene_run(
    cli: CliRunner, tmp_path: Path, *, scene: str, day: str, issued: int, returned: int, fired: int
) -> str:
    """A complete firearm-scene run of one take that fired `fired` blanks."""
    counts = {
        "rounds-counted": fired,
        "rounds-fired": fired,
        "rounds-unfired": 0,
        "blanks-issued": issued,
        "blanks-returned": returned,
        "blanks-fired": fired,
        "blanks-spoiled": issued - returned - fired,
    }
    answers = write_answers(tmp_path / f"scene-{scene}.yaml", answers=counts)
    run_id, _ = start(cli, answers, expect=0, scene=scene, day=day)
    return run_id


def _armory_answers(path: Path, **counts: Any) -> Path:
    return write_answers(
        path,
        "daily-armory",
        context={"blanks": True, "dummies": False},
        signers={"armorer": ARMORER, "first_ad": FIRST_AD},
        answers=counts,
    )


def test_the_daily_close_out_is_checked_against_what_the_days_runs_recorded(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    _scene_run(cli, tmp_path, scene="12A", day=DAY, issued=12, returned=9, fired=2)
    _scene_run(cli, tmp_path, scene="14", day=DAY, issued=6, returned=6, fired=0)
    _scene_run(cli, tmp_path, scene="15", day=NEXT_DAY, issued=100, returned=0, fired=100)
    right = {
        "blanks-counted": 50,
        "blanks-issued-today": 18,
        "blanks-returned-today": 15,
        "blanks-fired-today": 2,
        "blanks-spoiled-today": 1,
        "blanks-counted-close": 47,
    }
    # The armorer remembers only the first scene's blanks: 12 issued, not 18.
    wrong = _armory_answers(tmp_path / "wrong.yaml", **{**right, "blanks-issued-today": 12})
    run_id, _ = start(cli, wrong, expect=3, scene="armory", protocol_id="daily-armory")
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "blanks-issued-today"
    assert hold["reason"].startswith("Blanks issued today")
    assert "blanks issued in today's other runs 18 = 18, but 12 counted" in hold["reason"]

    # A second armory run the same day is no way round it (the day is held): the armorer and
    # the 1st AD clear the hold, and the count is given again.
    refused(
        cli, ["run", "daily-armory", "--scene", "armory 2", "--day", DAY, "--answers", str(wrong)]
    )
    pins = f"{ARMORER[1]}\n{FIRST_AD[1]}\n"
    ok(cli, ["clear", run_id, "--note", "counted again: 18", "--pin-stdin"], input=pins)
    good = _armory_answers(tmp_path / "good.yaml", **right)
    ok(cli, ["resume", run_id, "--answers", str(good)])


def test_two_firearms_out_and_one_back_at_close_of_day_holds(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = _armory_answers(
        tmp_path / "one-back.yaml", **{"firearms-counted": 2, "firearms-counted-close": 1}
    )
    run_id, _ = start(cli, answers, expect=3, scene="armory", protocol_id="daily-armory")
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "firearms-counted-close"
    assert "(1 missing)" in hold["reason"]


def test_blanks_spoiled_today_is_issued_less_returned_less_fired(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """The issue's example: issued 12 = returned 1 + fired 3 was accepted; 8 are missing."""
    _scene_run(cli, tmp_path, scene="12A", day=DAY, issued=12, returned=1, fired=3)
    counts = {
        "blanks-counted": 50,
        "blanks-issued-today": 12,
        "blanks-returned-today": 1,
        "blanks-fired-today": 3,
        "blanks-spoiled-today": 0,
    }
    answers = _armory_answers(tmp_path / "spoiled.yaml", **counts)
    run_id, _ = start(cli, answers, expect=3, scene="armory", protocol_id="daily-armory")
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "blanks-spoiled-today"
    assert "(8 missing)" in hold["reason"]


def test_a_corrected_answer_is_what_the_day_adds_up(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = _scene_run(cli, tmp_path, scene="12A", day=DAY, issued=12, returned=10, fired=2)
    with Ledger.open(crewed / "log.db") as ledger:
        assert production.day_totals(ledger, DAY, ["blanks-returned"]) == {"blanks-returned": 10}
    partial = write_answers(
        tmp_path / "p.yaml",
        answers={**ONE_TAKE_COUNTS, "blanks-returned": 9, "blanks-spoiled": 2},
        drop=("rounds-reconciled",),
    )
    # Left open at wrap; 12 = 9 + 1 + 2 adds up, but 10 came back, not 9: corrected.
    open_id, _ = start(cli, partial, expect=4, scene="20")
    fix = ["correct", open_id, "blanks-returned", "--answer", "10", "--note", "typed 9"]
    ok(cli, [*fix, *CLEARERS, "--pin-stdin"], input=CLEAR_PINS)
    with Ledger.open(crewed / "log.db") as ledger:
        totals = production.day_totals(ledger, DAY, ["blanks-returned"], except_run=run_id)
    assert totals == {"blanks-returned": 10}


def test_expected_count_adds_the_days_other_runs_handed_in_from_outside() -> None:
    proto = protocol("daily-armory")
    state = runner.RunState("r-x")
    item = proto.item("blanks-issued-today")
    outside = production.Outside(day_totals={"blanks-issued": 18})
    assert runner.expected_count(proto, state, item, None, outside) == 18
    assert runner.expected_count(proto, state, item, None, None) is None  # day not known
    assert runner.judge(item, 12, 18) is not None
    assert runner.judge(item, 18, 18) is None


# === 3. corrections ==============================================================================


def _typo_run(cli: CliRunner, tmp_path: Path) -> str:
    """A run held at wrap by a typo signed earlier: 2 firearms went out, 3 were typed before the
    scene, and 2 are counted back."""
    counts = {**ONE_TAKE_COUNTS, "firearms-issued": 3, "firearms-counted-back": 2}
    run_id, _ = start(cli, write_answers(tmp_path / "typo.yaml", answers=counts), expect=3)
    ((hold,),) = [log_show(cli, run_id)["holds"]]
    assert hold["item"] == "firearms-counted-back"
    return run_id


def test_a_typo_at_wrap_is_corrected_the_hold_cleared_and_the_run_completes(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = _typo_run(cli, tmp_path)
    fix = ["correct", run_id, "firearms-issued", "--answer", "2", "--note", "typed 3 for 2"]
    result = ok(cli, [*fix, "--pin-stdin"], input=CLEAR_PINS)  # signed in: no --by needed
    assert "firearms-counted-back" in result.stdout
    assert f"safetycli resume {run_id}" in result.stdout
    clear_run(cli, run_id, "count was a typo")
    again = {**ONE_TAKE_COUNTS, "firearms-counted-back": 2}
    resume(cli, run_id, write_answers(tmp_path / "after.yaml", answers=again), expect=0)

    detail = log_show(cli, run_id)
    assert detail["status"] == "complete"
    issued = [s for s in detail["signoffs"] if s["item"] == "firearms-issued"]
    assert [s["answer"] for s in issued] == [3]  # the original stays; it was not asked again
    back = [s for s in detail["signoffs"] if s["item"] == "firearms-counted-back"]
    assert [(s["answer"], s["outcome"]) for s in back] == [(2, "refused"), (2, "confirmed")]
    (corrected,) = events_of(crewed, "item.corrected", run_id)
    assert (corrected["item"], corrected["was"], corrected["answer"]) == ("firearms-issued", 3, 2)
    assert corrected["note"] == "typed 3 for 2"
    assert [(b["name"], b["role"]) for b in corrected["by"]] == [
        (ARMORER[0], "armorer"),
        (FIRST_AD[0], "first_ad"),
    ]
    assert [k[2] for k in corrected["recheck"]] == ["firearms-counted-back"]
    assert json.loads(ok(cli, ["verify", "--format", "json"]).stdout)["ok"] is True


def test_a_typo_inside_one_sign_off_is_a_hold_and_the_sign_off_is_asked_again(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """11 blanks came back, 9 were typed, in the same sign-off as the counts they add up with:
    the sum fails at once, nothing of that sign-off is recorded (nobody signed it), and the
    hold names the numbers typed. Once cleared, the armorer's wrap is asked again."""
    counts = {**ONE_TAKE_COUNTS, "blanks-returned": 9, "blanks-fired": 1, "blanks-spoiled": 0}
    run_id, _ = start(cli, write_answers(tmp_path / "typo.yaml", answers=counts), expect=3)
    held = log_show(cli, run_id)
    ((hold,),) = [held["holds"]]
    assert hold["item"] == "blanks-spoiled"
    assert "blanks returned 9" in hold["reason"]
    assert not [s for s in held["signoffs"] if s["item"] == "blanks-returned"]
    fix = ["correct", run_id, "blanks-returned", "--answer", "11", "--note", "typed 9 for 11"]
    assert "no answer to correct" in refused(cli, [*fix, "--pin-stdin"], input=CLEAR_PINS)
    clear_run(cli, run_id, "recounted: 11 came back")
    resume(cli, run_id, write_answers(tmp_path / "ok.yaml", answers=ONE_TAKE_COUNTS), expect=0)
    detail = log_show(cli, run_id)
    assert detail["status"] == "complete"
    returned = [s for s in detail["signoffs"] if s["item"] == "blanks-returned"]
    assert [(s["answer"], s["outcome"]) for s in returned] == [(11, "confirmed")]


def test_a_correction_refuses_what_is_not_a_typo_and_records_nothing(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    add_member(crewed, *BOTH, ["armorer", "first_ad"])
    counts = {**ONE_TAKE_COUNTS, "blanks-returned": 9, "blanks-fired": 1, "blanks-spoiled": 0}
    run_id, _ = start(cli, write_answers(tmp_path / "typo.yaml", takes=2, answers=counts), expect=3)

    def no(item: str, answer: str, *extra: str, note: str = "typo", pins: str = CLEAR_PINS) -> str:
        args = ["correct", run_id, item, "--answer", answer, "--note", note, *extra]
        return refused(cli, [*args, "--pin-stdin"], input=pins)

    assert "yes-or-no" in no("actor-briefed", "no")
    assert "yes-or-no" in no("bore-checked", "no", "--take", "1")
    assert "yes-or-no" in no("no-live-ammunition", "no")  # witnessed, too
    assert "confirmed by others" in no("rounds-counted", "3", "--take", "1")  # read back
    # Two takes fired 1 each: the wrap total of 1 failed; the failed check itself is not
    # corrected (it is asked again once the hold is cleared).
    assert "was refused" in no("blanks-fired", "2")
    assert "would fail" in no("firearms-issued", "0")  # min 1
    assert "already says 12" in no("blanks-issued", "12")
    # (blanks-returned was typed in the sign-off whose sum failed: never recorded, so never
    # corrected; blanks-issued, signed before the scene, is what these refusals try.)
    assert "needs a note" in no("blanks-issued", "13", note=" ")
    assert "add --take" in no("rounds-fired", "2")  # answered in takes 1 and 2
    assert "asked once per run" in no("blanks-issued", "13", "--take", "1")
    assert "has no check" in no("no-such-check", "1")
    assert "whole number" in no("blanks-issued", "ten")
    # Agreed by the person who gave the answer and the 1st AD, two people, with their PINs.
    other_armorer = no("blanks-issued", "13", "--by", f"armorer={BOTH[0]}")
    assert f"{ARMORER[0]} (armorer)" in other_armorer and BOTH[0] in other_armorer
    alone = no("blanks-issued", "13", "--by", f"first_ad={ARMORER[0]}")
    assert "not on the roster as 1st AD" in alone
    assert "0000" not in no("blanks-issued", "13", pins=f"{ARMORER[1]}\n0000\n")
    assert "wrong PIN" in no("blanks-issued", "13", pins=f"{ARMORER[1]}\n0000\n")
    assert "producer" in no("blanks-issued", "13", "--by", "producer=Pat Producer")
    assert events_of(crewed, "item.corrected") == []
    assert log_show(cli, run_id)["status"] == "held"


def test_a_run_that_is_over_cannot_be_corrected(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    done, _ = start(
        cli, write_answers(tmp_path / "ok.yaml", answers=ONE_TAKE_COUNTS), expect=0, scene="1"
    )
    fix = ["correct", done, "blanks-returned", "--answer", "10", "--note", "typo", *CLEARERS]
    assert "complete" in refused(cli, [*fix, "--pin-stdin"], input=CLEAR_PINS)
    partial = write_answers(tmp_path / "p.yaml", drop=("meeting-covered",))
    gone, _ = start(cli, partial, expect=4, scene="2")
    ok(
        cli,
        ["abort", gone, "--reason", "scene cut", "--by", FIRST_AD[0], "--pin-stdin"],
        input=f"{FIRST_AD[1]}\n",
    )
    fix = ["correct", gone, "firearms-issued", "--answer", "3", "--note", "typo", *CLEARERS]
    assert "aborted" in refused(cli, [*fix, "--pin-stdin"], input=CLEAR_PINS)


def test_an_answer_the_first_ad_gave_is_corrected_with_a_producer(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "p.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    fix = ["correct", run_id, "meeting-attendance", "--answer", "everyone", "--note", "typo"]
    # The 1st AD alone, or with the armorer, is not enough.
    assert "producer" in refused(cli, [*fix, "--pin-stdin"], input=f"{FIRST_AD[1]}\n")
    by = ["--by", f"first_ad={FIRST_AD[0]}", "--by", f"producer={PRODUCER[0]}"]
    ok(cli, [*fix, *by, "--pin-stdin"], input=f"{FIRST_AD[1]}\n{PRODUCER[1]}\n")
    (corrected,) = events_of(crewed, "item.corrected", run_id)
    assert [b["role"] for b in corrected["by"]] == ["first_ad", "producer"]


def test_a_per_take_count_is_corrected_for_its_take_and_its_sums_asked_again() -> None:
    """Pure runner: rounds-fired of take 1 corrected sends back that take's unfired count and
    the wrap total (and the spoiled count computed from it), never take 2's."""
    walk = Walk(protocol(), dict(BLANKS))
    walk.sign_in_all()
    counts = {"rounds-counted": 3, "rounds-fired": 1, "rounds-unfired": 2}
    takes = 0
    while True:
        step = walk.step()
        if isinstance(step, runner.AnotherTake):
            takes += 1
            walk.another_take(takes < 2)
            continue
        if isinstance(step, runner.Skip):
            walk.skip()
            continue
        assert isinstance(step, Ask)
        if step.item.id == "rounds-reconciled":
            break
        if step.meaning == "performed" and step.item.id in counts:
            walk.answer(counts[step.item.id])
        else:
            walk.passing()
    done = walk.done()
    assert done[("wrap", None, "blanks-fired")] == "confirmed"
    proto, state = walk.proto, walk.state

    with pytest.raises(SafetyError, match="add --take"):
        runner.correction_target(proto, state, "rounds-fired", None)
    target = runner.correction_target(proto, state, "rounds-fired", 1)
    assert (target.take, target.was, target.signer.role, target.second_role) == (
        1,
        1,
        "armorer",
        "first_ad",
    )
    assert runner.check_correction(proto, state, target, "2", "miscounted") == 2
    signer, ad = Signer(ARMORER[0], "armorer"), Signer(FIRST_AD[0], "first_ad")
    for by in ([signer], [ad], [signer, Signer(ARMORER[0], "first_ad")]):
        with pytest.raises(SafetyError):
            runner.correct(proto, state, target, 2, "miscounted", by)
    (event,) = runner.correct(proto, state, target, 2, "miscounted", [signer, ad])
    assert sorted(tuple(k) for k in event.data["recheck"]) == sorted(
        [
            ("after-each-take", 1, "rounds-unfired"),
            ("wrap", None, "blanks-fired"),
            ("wrap", None, "blanks-spoiled"),
        ]
    )
    walk.commit(None, [event])
    # The checks whose sums used the old answer are asked first, in protocol order.
    first = walk.ask()
    assert (first.item.id, first.take) == ("rounds-unfired", 1)
    assert runner.expected_count(proto, walk.state, first.item, 1) == 1  # 3 loaded - 2 fired
    walk.answer(1)
    assert (walk.ask().item.id, walk.ask().take) == ("blanks-fired", None)
    assert runner.expected_count(proto, walk.state, walk.ask().item, None) == 3  # 2 + 1


# === 4. every hold sends work back ===============================================================


def test_a_hold_by_hand_during_a_take_sends_that_takes_phase_back(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("state-matches-plan",))
    run_id, _ = start(cli, partial, expect=4)
    shown = [s for s in log_show(cli, run_id)["signoffs"] if s["item"] == "shown-clear"]
    assert len(shown) == 1
    hold_run(cli, run_id, "actor asked for a re-check")
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] is None
    clear_run(cli, run_id, "re-checked in front of the actor")
    resume(cli, run_id, write_answers(tmp_path / "full.yaml"), expect=0)
    detail = log_show(cli, run_id)
    again = [s for s in detail["signoffs"] if (s["item"], s["take"]) == ("shown-clear", 1)]
    assert len(again) == 2 and again[0]["seq"] < again[1]["seq"]
    assert len(again[1]["witnesses"]) == 3


def test_a_stop_work_on_the_scene_during_a_take_sends_that_takes_phase_back(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """The actor asks for a re-check on the set, called as a stop-work on the scene rather than
    on the run: once lifted, the take's checks are done again all the same."""
    partial = write_answers(tmp_path / "partial.yaml", drop=("state-matches-plan",))
    run_id, _ = start(cli, partial, expect=4)
    hold_scene(cli, "12a", "actor asked for a re-check")
    clear_scene(cli, "12A", "re-checked in front of the actor")
    resume(cli, run_id, write_answers(tmp_path / "full.yaml"), expect=0)
    detail = log_show(cli, run_id)
    again = [s for s in detail["signoffs"] if (s["item"], s["take"]) == ("shown-clear", 1)]
    assert len(again) == 2 and again[0]["seq"] < again[1]["seq"]
    (interrupted,) = events_of(crewed, "run.interrupted", run_id)
    assert (interrupted["phase"], interrupted["take"]) == ("before-each-take", 1)


def test_after_a_resume_the_custody_checks_come_first_and_a_no_holds(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "p.yaml", context=DUMMIES, drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    signed = len(log_show(cli, run_id)["signoffs"])
    left = write_answers(tmp_path / "left.yaml", context=DUMMIES, answers={"custody-kept": False})
    result = resume(cli, run_id, left, expect=3)
    assert "During the break" in result.stdout
    detail = log_show(cli, run_id)
    (hold,) = detail["holds"]
    assert hold["item"] == "custody-kept"
    assert keys_of(detail)[signed:] == [("after-break", 1, "custody-kept")]

    clear_run(cli, run_id, "armorer re-checked everything on the cart")
    resume(cli, run_id, write_answers(tmp_path / "ok.yaml", context=DUMMIES), expect=0)
    after = keys_of(log_show(cli, run_id))[signed + 1 :]
    # A second sitting: asked again, and with dummies in the scene they are checked again too.
    assert after[:3] == [
        ("after-break", 2, "custody-kept"),
        ("after-break", 2, "live-sweep-again"),
        ("after-break", 2, "dummies-rechecked"),
    ]


class _Clock:
    """`session.clock` moved forward `minutes` once, after the first check was recorded."""

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        self.calls = 0

    def __call__(self) -> datetime:
        self.calls += 1
        now = datetime.now(UTC)
        return now + timedelta(minutes=self.minutes) if self.calls == 2 else now


@pytest.mark.parametrize(("minutes", "asked"), [(120, True), (20, False)])
def test_a_pause_longer_than_the_protocol_sets_asks_the_custody_checks_again(
    cli: CliRunner,
    crewed: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    minutes: int,
    asked: bool,
) -> None:
    assert protocol().pause_minutes == 30
    monkeypatch.setattr(session, "clock", _Clock(minutes))
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml"), expect=0)
    keys = keys_of(log_show(cli, run_id))
    paused = events_of(crewed, "run.paused", run_id)
    breaks = [k for k in keys if k[0] == "after-break"]
    if asked:
        assert [p["minutes"] for p in paused] == [pytest.approx(minutes, abs=1)]
        assert breaks == [
            ("after-break", 1, "custody-kept"),
            ("after-break", 1, "live-sweep-again"),
        ]
        # ...right after the sign-off the crew left it at (the armorer's checks before the
        # scene); those signed only in part (their witness not yet asked) start again from
        # the beginning after the break.
        first = keys.index(breaks[0])
        assert keys[first : first + 2] == breaks
        assert keys[0] == ("before-scene", None, "armorer-present")
        assert keys[first + 2] == keys[0]
    else:
        assert paused == [] and breaks == []


# === 5. one person, one role per run, in every sitting ===========================================


def test_who_signed_as_armorer_cannot_come_back_as_the_first_ad_after_a_break(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    add_member(crewed, *BOTH, ["armorer", "first_ad"])
    before_lunch = {**CREW, "armorer": BOTH}
    partial = write_answers(tmp_path / "p.yaml", signers=before_lunch, drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    after_lunch = {**CREW, "armorer": ARMORER, "first_ad": BOTH}
    message = refused(
        cli,
        [
            "resume",
            run_id,
            "--answers",
            str(write_answers(tmp_path / "x.yaml", signers=after_lunch)),
        ],
    )
    assert f"{BOTH[0]} signed for armorer earlier in this run" in message
    with Ledger.open(crewed / "log.db") as ledger:
        roles = {
            (e.data["name"], e.data["role"])
            for e in ledger.events(run=run_id, kinds=["run.signed-in"])
        }
    assert (BOTH[0], "first_ad") not in roles
    # The same person in the same role after the break is fine.
    resume(cli, run_id, write_answers(tmp_path / "ok.yaml", signers=before_lunch), expect=0)


def test_one_role_per_person_is_kept_by_the_pure_runner_across_sittings() -> None:
    walk = Walk(protocol(), dict(NO_BLANKS))
    walk.sign_in_all()
    walk.commit(None, runner.resumed(walk.state))
    assert isinstance(walk.step(), RollCall)
    with pytest.raises(SafetyError, match="earlier in this run"):
        runner.sign_in(walk.state, "first_ad", ARMORER[0])
    # Spelt another way, still the same person.
    with pytest.raises(SafetyError, match="earlier in this run"):
        runner.sign_in(walk.state, "first_ad", ARMORER[0].upper())
    assert runner.sign_in(walk.state, "armorer", ARMORER[0])


def test_a_witness_is_never_the_person_who_performed_the_check() -> None:
    walk = Walk(protocol(), dict(NO_BLANKS))
    walk.sign_in_all()
    step = walk.until("shown-clear", "witnessed")
    assert step.role == "first_ad"
    own = dataclasses.replace(step, name=ARMORER[0])
    with pytest.raises(SafetyError, match="cannot also witness"):
        runner.answer(walk.proto, walk.state, own, True)
    read = walk.until("state-announced", "read-back")
    with pytest.raises(SafetyError, match="cannot also read back"):
        runner.answer(
            walk.proto, walk.state, dataclasses.replace(read, name=ARMORER[0]), read.answer
        )


# === 6. before a run starts ======================================================================


def test_a_run_needing_a_role_nobody_on_the_roster_holds_is_refused_before_it_starts(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    with Ledger.open(home / "log.db") as ledger:
        crew.add_member(ledger, PRODUCER[0], ["producer"], PRODUCER[1], None)
        for role in ("armorer", "first_ad", "actor"):
            name, pin = CREW[role]
            crew.add_member(ledger, name, [role], pin, PRODUCER)
    before = event_count(home)
    answers = write_answers(tmp_path / "a.yaml")
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(answers)]
    )
    # The file names who signs as the DP: the line names them, and the command that adds them.
    assert DP[0] in message and "not on the roster" in message
    assert "crew add" in message and "--role dp" in message
    assert event_count(home) == before and log_list(cli) == []


def test_a_run_whose_only_signers_for_a_role_are_locked_out_is_refused_naming_unlock(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    with Ledger.open(crewed / "log.db") as ledger:
        for _ in range(crew.LOCK_AFTER):
            with pytest.raises(crew.AuthError):
                crew.authenticate(ledger, DP[0], "0000", role="dp", purpose="test")
    before = event_count(crewed)
    answers = write_answers(tmp_path / "a.yaml")
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(answers)]
    )
    assert DP[0] in message and "crew unlock" in message
    assert event_count(crewed) == before and log_list(cli) == []


def test_a_second_open_run_of_the_same_checklist_and_scene_is_refused_from_a_file(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "p.yaml", drop=("meeting-covered",))
    first, _ = start(cli, partial, expect=4)
    before = event_count(crewed)
    for scene in ("12A", "12a", " 12A"):
        message = refused(
            cli,
            [
                "run",
                "firearm-scene",
                "--scene",
                scene,
                "--day",
                NEXT_DAY,
                "--answers",
                str(partial),
            ],
        )
        assert f"run {first}" in message and f"safetycli resume {first}" in message
    assert event_count(crewed) == before
    # Another scene is another run.
    start(cli, partial, expect=4, scene="12B")


# === found while trying to get round the rules ===================================================


@pytest.mark.parametrize("kind", ["paused", "resumed"])
def test_a_check_half_signed_before_a_break_is_done_again_from_the_start(kind: str) -> None:
    walk = Walk(protocol(), dict(NO_BLANKS))
    walk.sign_in_all()
    walk.until("shown-clear", "witnessed")  # the armorer showed it clear; nobody witnessed yet
    if kind == "paused":
        walk.commit(None, runner.paused(walk.state, 120))
    else:
        walk.commit(None, runner.resumed(walk.state))
        walk.sign_in_all()
    for _ in range(20):
        step = walk.step()
        if isinstance(step, runner.Skip):
            walk.skip()
        elif isinstance(step, Ask) and step.phase.id == "after-break":
            walk.passing()
        else:
            break
    step = walk.ask()
    assert (step.item.id, step.meaning) == ("shown-clear", "performed")


def test_an_aborted_run_that_issued_blanks_leaves_an_honest_close_out_possible(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    cut = write_answers(
        tmp_path / "cut.yaml", answers={"blanks-issued": 12}, drop=("meeting-covered",)
    )
    run_id, _ = start(cli, cut, expect=4)
    ok(
        cli,
        ["abort", run_id, "--reason", "scene cut", "--by", FIRST_AD[0], "--pin-stdin"],
        input=f"{FIRST_AD[1]}\n",
    )
    # All 12 went out for the scene and all 12 came back to storage unfired.
    honest = _armory_answers(
        tmp_path / "honest.yaml",
        **{
            "blanks-counted": 50,
            "blanks-issued-today": 12,
            "blanks-returned-today": 12,
            "blanks-fired-today": 0,
            "blanks-spoiled-today": 0,
            "blanks-counted-close": 50,
        },
    )
    nothing_out = _armory_answers(
        tmp_path / "none.yaml",
        **{
            "blanks-counted": 50,
            "blanks-issued-today": 0,
            "blanks-returned-today": 0,
            "blanks-fired-today": 0,
            "blanks-spoiled-today": 0,
            "blanks-counted-close": 50,
        },
    )
    codes = []
    for n, answers in enumerate((nothing_out, honest)):
        result = invoke(
            cli,
            ["run", "daily-armory", "--scene", f"armory {n}", "--day", DAY]
            + ["--answers", str(answers)],
        )
        codes.append(result.exit_code)
    assert 0 in codes, codes


def test_after_a_resume_the_custody_checks_come_before_a_corrected_sum() -> None:
    walk = Walk(protocol(), dict(BLANKS))
    walk.sign_in_all()
    walk.until("blanks-returned")
    walk.answer(0)  # typo: all came back
    walk.passing()  # blanks-fired
    walk.answer(99)  # blanks-spoiled does not add up: hold
    assert walk.state.status == "held"
    target = runner.correction_target(walk.proto, walk.state, "blanks-returned", None)
    agreed = [Signer(ARMORER[0], "armorer"), Signer(FIRST_AD[0], "first_ad")]
    walk.commit(None, runner.correct(walk.proto, walk.state, target, 1, "typo", agreed))
    walk.clear()
    walk.commit(None, runner.resumed(walk.state))
    walk.sign_in_all()
    assert walk.ask().phase.id == "after-break"


def reference_scene_stops(
    source: Ledger, scene: str, day: str | None = None, *, except_run: str | None = None
) -> tuple[production.SceneStop, ...]:
    """`scene_stops` as it read the log before the board: every run start of the season, each
    run of the scene (and each day-wide run that day) folded from all its events."""
    from safetycli.lifecycle import Lifecycle

    def held_stop(start: Any, day_wide: bool) -> production.SceneStop | None:
        full = Lifecycle()
        for event in source.events(run=start.run):
            full.apply(event.kind, event.seq, event.at, event.data)
        if full.status != "held" or full.open_hold is None:
            return None
        return production._run_stop(start, full.open_hold, day_wide=day_wide)

    stops = [production._called_stop(h) for h in production.load(source).open_scene_holds(scene)]
    seen: set[str] = set()
    for first in production.runs_of(source, scene):
        if first.run != except_run and (stop := held_stop(first, False)) is not None:
            stops.append(stop)
            seen.add(first.run)
    if day is not None:
        for first in source.run_starts(day_from=day, day_to=day):
            if first.run in seen or first.run == except_run or first.data.get("scope") != "day":
                continue
            if (stop := held_stop(first, True)) is not None:
                stops.append(stop)
    return tuple(stops)


def test_the_status_board_sees_the_same_stops_as_a_run_start(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """`status` reads what stops work once (production.StopBoard) for every open run; each run
    must see exactly what `scene_stops` (what a run start checks) says for it."""
    no = write_answers(tmp_path / "no.yaml", answers={"armorer-present": False})
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    start(cli, no, expect=3, scene="12A")  # held: holds 12A on any day
    start(cli, partial, expect=4, scene="16", day=NEXT_DAY)
    start(cli, partial, expect=4, scene="14")
    start(cli, partial, expect=4, scene="15")
    hold_scene(cli, "15")
    wrong = _armory_answers(tmp_path / "wrong.yaml", **{"blanks-issued-today": 99})
    start(cli, wrong, expect=3, scene="armory", protocol_id="daily-armory")  # holds the day
    with Ledger.open(crewed / "log.db") as ledger:
        board = production.StopBoard(ledger)
        opened = [s for s in review.run_summaries(ledger) if s["status"] in ("open", "held")]
        assert len(opened) == 5
        stopped = 0
        for run in opened:
            args = (run["scene"], run["day"])
            expected = reference_scene_stops(ledger, *args, except_run=run["id"])
            assert board.for_scene(*args, except_run=run["id"]) == expected, run["id"]
            assert production.scene_stops(ledger, *args, except_run=run["id"]) == expected
            stopped += bool(expected)
        assert stopped == 3  # 12A, 14 and 15 by the armory's day; 15 by its stop-work too
