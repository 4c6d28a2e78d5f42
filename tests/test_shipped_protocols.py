"""The shipped protocols: they load cleanly and say what real practice requires.

These tests pin the safety content a crew relies on (who signs, who witnesses, what stops work,
what is asked before and after every take), so a careless edit of a YAML file fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetycli.catalog import load_catalog
from safetycli.cli import app
from safetycli.protocache import protocol_files, shipped_dir
from safetycli.protocol import Item, Phase, Protocol, check_file, parse_when

SHIPPED = {"firearm-scene", "rehearsal", "daily-armory", "safety-meeting"}

# Loading a firearm, handing it over and taking it back are the armorer's alone.
ARMORER_ONLY = {
    "handed-over",
    "blanks-loaded-last",
    "rounds-counted",
    "returned-on-cut",
    "shown-clear",
    "shown-clear-after",
}


@pytest.fixture(scope="module")
def protocols() -> dict[str, Protocol]:
    catalog = load_catalog(None)
    assert catalog.problems == []
    return catalog.protocols


def phase_of(protocol: Protocol, item_id: str) -> Phase:
    for phase, item in protocol.items():
        if item.id == item_id:
            return phase
    raise KeyError(item_id)


def asked(protocol: Protocol, item_id: str, context: dict[str, object]) -> bool:
    """Whether the run asks this item, given the facts answered at its start."""
    phase = phase_of(protocol, item_id)
    for expr in (phase.when, protocol.item(item_id).when):
        if expr is None:
            continue
        condition = parse_when(expr)
        assert condition is not None, expr
        if not condition.holds(context):
            return False
    return True


def stop_work(item: Item) -> None:
    """A critical item that can actually fail."""
    assert item.critical, f"{item.id} must stop work when it fails"
    assert item.can_fail(), item.id
    assert not item.allow_na, item.id


# --- every shipped protocol ---------------------------------------------------------------------


def test_exactly_the_four_shipped_protocols_load_without_problems() -> None:
    catalog = load_catalog(None)
    assert catalog.problems == []
    assert set(catalog.protocols) == SHIPPED
    assert all(p.origin.shipped for p in catalog.protocols.values())


@pytest.mark.parametrize("path", protocol_files(shipped_dir()), ids=lambda p: p.name)
def test_each_file_checks_clean_and_is_named_after_its_id(path: Path) -> None:
    protocol, problems = check_file(path, shipped=True)
    assert problems == []
    assert protocol is not None
    assert protocol.id == path.stem


@pytest.mark.parametrize("protocol_id", sorted(SHIPPED))
def test_every_item_says_where_it_comes_from_or_why(
    protocols: dict[str, Protocol], protocol_id: str
) -> None:
    for _, item in protocols[protocol_id].items():
        assert (item.source or "").strip() or (item.why or "").strip(), item.id


@pytest.mark.parametrize("protocol_id", sorted(SHIPPED))
def test_critical_items_can_fail_and_are_never_not_applicable(
    protocols: dict[str, Protocol], protocol_id: str
) -> None:
    critical = [item for _, item in protocols[protocol_id].items() if item.critical]
    assert critical, "a safety protocol with nothing that stops work"
    for item in critical:
        stop_work(item)


@pytest.mark.parametrize("protocol_id", sorted(SHIPPED))
def test_only_armorer_and_first_ad_together_clear_a_hold(
    protocols: dict[str, Protocol], protocol_id: str
) -> None:
    assert set(protocols[protocol_id].hold.cleared_by) == {"armorer", "first_ad"}


@pytest.mark.parametrize("protocol_id", sorted(SHIPPED))
def test_nobody_is_told_a_firearm_is_cold(protocols: dict[str, Protocol], protocol_id: str) -> None:
    protocol = protocols[protocol_id]
    for _, item in protocol.items():
        assert "cold" not in item.ask.lower(), item.id
        for option in item.options or []:
            assert "cold" not in option.lower(), (item.id, option)
    for name, fact in protocol.context.items():
        for option in fact.options or []:
            assert "cold" not in option.lower(), (name, option)


@pytest.mark.parametrize("protocol_id", sorted(SHIPPED))
def test_loading_and_hand_over_are_signed_by_the_armorer_only(
    protocols: dict[str, Protocol], protocol_id: str
) -> None:
    for _, item in protocols[protocol_id].items():
        if item.id in ARMORER_ONLY:
            assert item.by == "armorer", item.id


def test_cli_validates_and_shows_every_shipped_protocol(cli: CliRunner) -> None:
    result = cli.invoke(app, ["checklists", "validate"])
    assert result.exit_code == 0, result.output
    for protocol_id in sorted(SHIPPED):
        result = cli.invoke(app, ["checklists", "show", protocol_id])
        assert result.exit_code == 0, result.output
        assert "STOPS WORK IF IT FAILS" in result.output


# --- firearm-scene --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scene(protocols: dict[str, Protocol]) -> Protocol:
    return protocols["firearm-scene"]


def test_scene_roles_and_facts(scene: Protocol) -> None:
    assert {"first_ad", "armorer", "actor", "dp"} <= set(scene.roles)
    assert scene.context["blanks"].type == "bool"


def test_scene_safety_meeting_comes_before_any_take(scene: Protocol) -> None:
    meeting = phase_of(scene, "meeting-held")
    assert meeting.repeat == "once"
    first_take = next(i for i, p in enumerate(scene.phases) if p.repeat == "per_take")
    assert scene.phases.index(meeting) < first_take
    item = scene.item("meeting-held")
    stop_work(item)
    assert item.by == "first_ad"
    assert "armorer" in item.witness
    stop_work(scene.item("armorer-present"))
    stop_work(scene.item("no-live-ammunition"))
    stop_work(scene.item("actor-briefed"))


def test_scene_has_a_phase_before_and_a_phase_after_each_take(scene: Protocol) -> None:
    before = phase_of(scene, "shown-clear")
    after = phase_of(scene, "returned-on-cut")
    assert before.repeat == "per_take"
    assert after.repeat == "per_take"
    assert before is not after
    assert scene.phases.index(before) < scene.phases.index(after)
    before_ids = {item.id for item in before.items}
    assert {
        "blocking-unchanged",
        "shown-clear",
        "state-announced",
        "blanks-loaded-last",
        "rounds-counted",
        "standoff-kept",
        "protection-on",
        "muzzle-line-clear",
        "handed-over",
    } <= before_ids
    after_ids = {item.id for item in after.items}
    assert {
        "no-misfire",
        "returned-on-cut",
        "shown-clear-after",
        "bore-checked",
        "rounds-fired",
        "rounds-unfired",
        "take-rounds-add-up",
    } <= after_ids


def test_scene_firearm_is_shown_clear_to_actor_ad_and_dp(scene: Protocol) -> None:
    item = scene.item("shown-clear")
    stop_work(item)
    assert item.by == "armorer"
    assert {"actor", "first_ad", "dp"} <= set(item.witness)
    assert "every chamber" in item.ask.lower()


def test_scene_state_is_explicit_and_read_back_by_the_actor(scene: Protocol) -> None:
    item = scene.item("state-announced")
    stop_work(item)
    assert item.kind == "choice"
    assert item.by == "armorer"
    assert "actor" in item.readback
    options = item.options or []
    assert "EMPTY" in options
    assert any(o.startswith("DUMMIES") for o in options)
    assert any(o.startswith("BLANKS") for o in options)
    assert not any("cold" in o.lower() for o in options)
    safe = {o for o in options if o == "EMPTY" or o.startswith(("DUMMIES", "BLANKS"))}
    assert not safe & set(item.fail_on or []), "a verified state must not stop work"


def test_scene_hand_over_is_by_the_armorer_to_the_actor(scene: Protocol) -> None:
    item = scene.item("handed-over")
    stop_work(item)
    assert item.by == "armorer"
    assert "actor" in item.witness


def test_scene_take_checks(scene: Protocol) -> None:
    for item_id in (
        "blocking-unchanged",
        "blanks-loaded-last",
        "standoff-kept",
        "protection-on",
        "muzzle-line-clear",
        "no-misfire",
        "returned-on-cut",
        "shown-clear-after",
        "bore-checked",
        "take-rounds-add-up",
    ):
        stop_work(scene.item(item_id))
    assert scene.item("protection-on").by == "dp"
    counted = scene.item("rounds-counted")
    assert counted.kind == "count"
    assert "actor" in counted.readback
    for item_id in ("rounds-fired", "rounds-unfired"):
        assert scene.item(item_id).kind == "count"


def test_scene_blank_checks_follow_the_blanks_fact(scene: Protocol) -> None:
    blank_items = (
        "blanks-loaded-last",
        "rounds-counted",
        "standoff-kept",
        "protection-on",
        "no-misfire",
        "rounds-fired",
        "rounds-unfired",
        "take-rounds-add-up",
        "rounds-reconciled",
    )
    for item_id in blank_items:
        assert asked(scene, item_id, {"blanks": True, "dummies": False}), item_id
        assert not asked(scene, item_id, {"blanks": False, "dummies": False}), item_id
    for item_id in ("shown-clear", "state-announced", "handed-over", "bore-checked"):
        assert asked(scene, item_id, {"blanks": False, "dummies": False}), item_id


def test_scene_wrap_reconciles_and_locks_up(scene: Protocol) -> None:
    wrap = scene.phases[-1]
    assert wrap.repeat == "once"
    ids = {item.id for item in wrap.items}
    assert {"firearms-returned", "rounds-reconciled", "locked-up", "key-holders"} <= ids
    reconciled = scene.item("rounds-reconciled")
    stop_work(reconciled)
    for word in ("issued", "returned", "fired", "spoiled"):
        assert word in reconciled.ask.lower()
    stop_work(scene.item("firearms-returned"))
    stop_work(scene.item("locked-up"))
    assert scene.item("key-holders").kind == "text"


# --- rehearsal ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rehearsal(protocols: dict[str, Protocol]) -> Protocol:
    return protocols["rehearsal"]


REAL = {"real_firearm": True, "blanks": False}
REPLICA = {"real_firearm": False, "blanks": False}


def test_rehearsal_asks_which_firearm_is_used(rehearsal: Protocol) -> None:
    assert rehearsal.context["real_firearm"].type == "bool"
    replica = rehearsal.item("replica-only")
    stop_work(replica)
    assert asked(rehearsal, "replica-only", REPLICA)
    assert not asked(rehearsal, "replica-only", REAL)
    assert asked(rehearsal, "real-firearm-reason", REAL)


def test_rehearsal_with_a_real_firearm_gets_armorer_and_full_hand_over(
    rehearsal: Protocol,
) -> None:
    for item_id in (
        "armorer-present",
        "no-live-ammunition",
        "shown-clear",
        "state-announced",
        "handed-over",
        "returned-on-cut",
        "shown-clear-after",
        "firearms-returned",
    ):
        stop_work(rehearsal.item(item_id))
        assert asked(rehearsal, item_id, REAL), item_id
        assert not asked(rehearsal, item_id, REPLICA), item_id
    assert {"actor", "first_ad", "dp"} <= set(rehearsal.item("shown-clear").witness)
    state = rehearsal.item("state-announced")
    assert "actor" in state.readback
    assert not any("cold" in o.lower() for o in state.options or [])


def test_rehearsal_fires_nothing_unplanned_and_rechecks_blocking(rehearsal: Protocol) -> None:
    for context in (REAL, REPLICA):
        for item_id in ("meeting-held", "no-unplanned-firing", "blocking-unchanged"):
            assert asked(rehearsal, item_id, context), item_id
    stop_work(rehearsal.item("no-unplanned-firing"))
    blocking = rehearsal.item("blocking-unchanged")
    stop_work(blocking)
    assert phase_of(rehearsal, "blocking-unchanged").repeat == "per_take"
    assert "blocking" in blocking.ask.lower() and "meeting" in blocking.ask.lower()
    muzzle = rehearsal.item("muzzle-line-clear")
    stop_work(muzzle)
    assert asked(rehearsal, "muzzle-line-clear", REPLICA)


# --- daily-armory ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def armory(protocols: dict[str, Protocol]) -> Protocol:
    return protocols["daily-armory"]


def test_armory_has_a_start_and_an_end_of_day(armory: Protocol) -> None:
    flow = [p for p in armory.phases if p.repeat != "after_break"]
    assert [p.id for p in flow] == ["start-of-day", "end-of-day"]
    assert all(p.repeat == "once" for p in flow)


def test_armory_live_round_sweeps_must_find_zero(armory: Protocol) -> None:
    live = [(phase, item) for phase, item in armory.items() if item.id.startswith("live-rounds")]
    assert {phase.id for phase, _ in live} == {"start-of-day", "end-of-day"}
    for _, item in live:
        assert item.kind == "count"
        assert item.expect == 0
        stop_work(item)
        assert asked(armory, item.id, {"blanks": False, "dummies": False})
    unidentified = armory.item("unidentified-rounds")
    assert unidentified.expect == 0
    stop_work(unidentified)


def test_armory_start_of_day_counts_and_inspects(armory: Protocol) -> None:
    start = {item.id for item in armory.phases[0].items}
    assert {
        "storage-untouched",
        "firearms-counted",
        "firearms-match-record",
        "rounds-match-record",
        "prove-inspection",
        "dummies-checked",
        "live-rounds-start",
    } <= start
    for item_id in ("firearms-match-record", "rounds-match-record", "prove-inspection"):
        stop_work(armory.item(item_id))
    prove = armory.item("prove-inspection").ask.lower()
    for word in ("point", "remove", "observe", "verify", "examine"):
        assert word in prove
    dummies = armory.item("dummies-checked")
    stop_work(dummies)
    assert "one by one" in dummies.ask.lower()
    for word in ("rattle", "hole", "primer"):
        assert word in dummies.ask.lower()


def test_armory_close_of_day_reconciles_cleans_and_locks(armory: Protocol) -> None:
    end = {item.id for item in armory.phase("end-of-day").items}
    assert {
        "all-firearms-back",
        "rounds-reconciled",
        "live-rounds-close",
        "cleaned-inspected",
        "locked-up",
        "key-holders",
    } <= end
    reconciled = armory.item("rounds-reconciled")
    stop_work(reconciled)
    for word in ("issued", "returned", "fired", "spoiled"):
        assert word in reconciled.ask.lower()
    for item_id in ("all-firearms-back", "cleaned-inspected", "locked-up"):
        stop_work(armory.item(item_id))
    assert armory.item("key-holders").kind == "text"


# --- safety-meeting -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def meeting(protocols: dict[str, Protocol]) -> Protocol:
    return protocols["safety-meeting"]


MEETING = {
    "occasion": "first meeting for this scene",
    "blanks": True,
    "close_range_loads": False,
    "stunts": False,
}


def test_meeting_attendance_is_in_person_and_recorded(meeting: Protocol) -> None:
    present = meeting.item("key-people-present")
    stop_work(present)
    assert present.by == "first_ad"
    assert {"armorer", "safety_rep"} <= set(present.witness)
    stop_work(meeting.item("everyone-near-present"))
    assert meeting.item("attendance-recorded").kind == "text"
    # The stunt coordinator attends; firearm duties are unconfirmed, so no stop-work check.
    assert not meeting.item("stunts-present").critical


def test_meeting_covers_the_action_and_what_to_do_if_it_goes_wrong(meeting: Protocol) -> None:
    for item_id in (
        "at-location",
        "action-walked",
        "who-may-touch",
        "aim-off",
        "abort-signal",
        "emergency-plan",
        "actor-briefed",
        "new-meeting-rule",
    ):
        stop_work(meeting.item(item_id))
        assert asked(meeting, item_id, {**MEETING, "blanks": False}), item_id
    assert "side" in meeting.item("aim-off").ask.lower()
    assert "blocking" in meeting.item("new-meeting-rule").ask.lower()


def test_meeting_sets_at_least_20_ft_for_blanks_unless_close_range_loads(
    meeting: Protocol,
) -> None:
    distance = meeting.item("standoff-distance")
    assert distance.kind == "count"
    assert distance.min == 20
    stop_work(distance)
    assert asked(meeting, "standoff-distance", MEETING)
    assert not asked(meeting, "standoff-distance", {**MEETING, "blanks": False})
    close = {**MEETING, "close_range_loads": True}
    assert not asked(meeting, "standoff-distance", close)
    assert asked(meeting, "close-range-plan", close)
    stop_work(meeting.item("close-range-plan"))
    protection = meeting.item("protection-planned")
    stop_work(protection)
    assert protection.by == "dp"
    assert asked(meeting, "protection-planned", MEETING)


def test_meeting_after_a_blocking_change_walks_the_changes(meeting: Protocol) -> None:
    assert "blocking changed" in (meeting.context["occasion"].options or [])
    stop_work(meeting.item("changes-walked"))
    assert asked(meeting, "changes-walked", {**MEETING, "occasion": "blocking changed"})
    assert not asked(meeting, "changes-walked", MEETING)


def test_firearm_scene_checks_that_the_round_counts_add_up(scene: Protocol) -> None:
    """Any count that does not add up is a hold: the tool does the sum, not a yes/no."""
    unfired = scene.item("rounds-unfired")
    assert (unfired.expect, unfired.critical) == ("rounds-counted - rounds-fired", True)
    spoiled = scene.item("blanks-spoiled")
    assert (spoiled.expect, spoiled.critical) == (
        "blanks-issued - blanks-returned - blanks-fired",
        True,
    )


# --- issue 9, item 7: dummies, the state against the plan, custody after a break, day sums -------

REAL_DUMMIES = {"real_firearm": True, "blanks": False, "dummies": True}
REAL_NO_DUMMIES = {"real_firearm": True, "blanks": False, "dummies": False}
REPLICA_DUMMIES = {"real_firearm": False, "blanks": False, "dummies": True}


def has_reason(item: Item) -> None:
    assert (item.source or "").strip() or (item.why or "").strip(), item.id


def test_rehearsal_dummies_come_from_the_counted_stock_and_are_checked_one_by_one(
    rehearsal: Protocol,
) -> None:
    assert rehearsal.context["dummies"].type == "bool"
    source = rehearsal.item("dummies-source")
    checked = rehearsal.item("dummies-checked")
    for item in (source, checked):
        stop_work(item)
        has_reason(item)
        assert item.by == "armorer", item.id
        # Asked whenever a real firearm holds dummies; not without dummies or with replicas.
        assert asked(rehearsal, item.id, REAL_DUMMIES), item.id
        assert not asked(rehearsal, item.id, REAL_NO_DUMMIES), item.id
        assert not asked(rehearsal, item.id, REPLICA_DUMMIES), item.id
        # Before the first run-through, not once per run-through after the firearm is handed over.
        assert phase_of(rehearsal, item.id).repeat == "once", item.id
        first_run = next(i for i, p in enumerate(rehearsal.phases) if p.repeat == "per_take")
        assert rehearsal.phases.index(phase_of(rehearsal, item.id)) < first_run
    assert "counted" in source.ask.lower() and "stock" in source.ask.lower()
    assert "first_ad" in source.witness
    ask = checked.ask.lower()
    assert "one by one" in ask
    for word in ("rattle", "hole", "primer"):
        assert word in ask
    # Faithful to "Rust": the bag kept in a car, and the dummies only shaken.
    assert "car" in (source.source or "").lower()
    assert "shaken" in (checked.source or "").lower()


def test_rehearsal_state_matches_the_plan_right_after_it_is_announced(
    rehearsal: Protocol,
) -> None:
    announced = rehearsal.item("state-announced")
    plan = rehearsal.item("state-matches-plan")
    stop_work(plan)
    has_reason(plan)
    assert plan.by == "first_ad"
    assert "plan" in plan.ask.lower() and "meeting" in plan.ask.lower()
    phase = phase_of(rehearsal, "state-matches-plan")
    assert phase is phase_of(rehearsal, "state-announced")
    assert phase.repeat == "per_take"
    ids = [item.id for item in phase.items]
    assert ids.index("state-matches-plan") == ids.index("state-announced") + 1
    assert "actor" in announced.readback
    assert asked(rehearsal, "state-matches-plan", REAL_DUMMIES)
    assert asked(rehearsal, "state-matches-plan", REAL_NO_DUMMIES)


def test_the_scene_state_also_matches_the_plan(scene: Protocol) -> None:
    plan = scene.item("state-matches-plan")
    stop_work(plan)
    phase = phase_of(scene, "state-matches-plan")
    ids = [item.id for item in phase.items]
    assert ids.index("state-matches-plan") == ids.index("state-announced") + 1


@pytest.mark.parametrize(
    ("protocol_id", "context"),
    [
        ("firearm-scene", {"blanks": False, "dummies": True}),
        ("rehearsal", REAL_DUMMIES),
    ],
)
def test_after_a_break_custody_and_a_live_round_sweep_are_checked_again(
    protocols: dict[str, Protocol], protocol_id: str, context: dict[str, object]
) -> None:
    protocol = protocols[protocol_id]
    assert protocol.pause_minutes is not None and 1 <= protocol.pause_minutes <= 60
    breaks = [p for p in protocol.phases if p.repeat == "after_break"]
    assert len(breaks) == 1
    (phase,) = breaks
    ids = [item.id for item in phase.items]
    # Where the firearms and rounds were comes first, then the sweep, then the dummies.
    assert ids[:2] == ["custody-kept", "live-sweep-again"]
    custody = protocol.item("custody-kept")
    sweep = protocol.item("live-sweep-again")
    for item in (custody, sweep):
        stop_work(item)
        has_reason(item)
        assert item.by == "armorer"
        assert "first_ad" in item.witness, item.id  # two people, as for the first sweep
        assert asked(protocol, item.id, context), item.id
    for word in ("locked", "armorer", "cart"):
        assert word in custody.ask.lower()
    assert "lunch" in (custody.source or "").lower()
    assert "live" in sweep.ask.lower()
    rechecked = protocol.item("dummies-rechecked")
    stop_work(rechecked)
    assert "one by one" in rechecked.ask.lower()
    assert asked(protocol, "dummies-rechecked", context)
    assert not asked(protocol, "dummies-rechecked", {**context, "dummies": False})


def test_rehearsal_with_replicas_only_has_no_custody_checks(rehearsal: Protocol) -> None:
    for item_id in ("custody-kept", "live-sweep-again", "dummies-rechecked"):
        assert not asked(rehearsal, item_id, REPLICA_DUMMIES), item_id


def test_armory_after_a_break_asks_whether_the_storage_stayed_locked(armory: Protocol) -> None:
    assert armory.pause_minutes is not None
    (phase,) = [p for p in armory.phases if p.repeat == "after_break"]
    assert phase.items, "an after-break phase with nothing to ask"
    for item in phase.items:
        stop_work(item)
        has_reason(item)
    assert "locked" in armory.item("storage-kept-locked").ask.lower()


def test_armory_close_of_day_counts_add_up_against_the_days_runs(
    protocols: dict[str, Protocol], armory: Protocol
) -> None:
    from safetycli.conditions import DAY, parse_expect

    day_sums = {
        "blanks-issued-today": "today(blanks-issued)",
        "blanks-returned-today": "today(blanks-returned)",
        "blanks-fired-today": "today(blanks-fired)",
    }
    for item_id, expect in day_sums.items():
        item = armory.item(item_id)
        assert (item.kind, item.expect) == ("count", expect), item_id
        stop_work(item)
        has_reason(item)
        assert phase_of(armory, item_id).id == "end-of-day"
        assert asked(armory, item_id, {"blanks": True, "dummies": False})
    spoiled = armory.item("blanks-spoiled-today")
    assert spoiled.expect == "blanks-issued-today - blanks-returned-today - blanks-fired-today"
    stop_work(spoiled)
    # Every count a day sum names is recorded, as a count, by the scene and rehearsal runs.
    named = {
        term.item
        for _, item in armory.items()
        if isinstance(item.expect, str)
        for term in parse_expect(item.expect) or []
        if term.scope == DAY
    }
    assert named == {"blanks-issued", "blanks-returned", "blanks-fired"}
    for protocol_id in ("firearm-scene", "rehearsal"):
        for item_id in named:
            assert protocols[protocol_id].item(item_id).kind == "count", (protocol_id, item_id)


def test_armory_close_of_day_counts_add_up_against_the_start_of_day(armory: Protocol) -> None:
    start = {item.id for item in armory.phase("start-of-day").items}
    for item_id, morning in (
        ("firearms-counted-close", "firearms-counted"),
        ("blanks-counted-close", "blanks-counted"),
        ("dummies-counted-close", "dummies-counted"),
    ):
        item = armory.item(item_id)
        assert item.kind == "count"
        assert isinstance(item.expect, str) and morning in item.expect, item_id
        assert morning in start
        stop_work(item)
        has_reason(item)
    # Blanks in storage at close: the morning's, less what was fired or spoiled today.
    assert armory.item("blanks-counted-close").expect == (
        "blanks-counted - blanks-fired-today - blanks-spoiled-today"
    )
    assert armory.item("dummies-counted-close").expect == "dummies-counted"
    assert not asked(armory, "dummies-counted-close", {"blanks": True, "dummies": False})


def test_armory_close_of_day_has_no_incident_of_today_without_a_fix(armory: Protocol) -> None:
    fixed = armory.item("incidents-fixed")
    stop_work(fixed)
    has_reason(fixed)
    assert phase_of(armory, "incidents-fixed").id == "end-of-day"
    # Since issue 13 the register is the record: the close-out confirms every misfire, near miss
    # and complaint of today is in it, then that each is fixed.
    registered = armory.item("incidents-today")
    stop_work(registered)
    ask = registered.ask.lower()
    for word in ("misfire", "near miss", "complaint", "today", "register"):
        assert word in ask, word
    assert "fix" in fixed.ask.lower()
    assert "first_ad" in fixed.witness
    assert "misfire" in (fixed.source or "").lower()
    assert asked(armory, "incidents-fixed", {"blanks": False, "dummies": False})
    # Written down first (what happened), then confirmed fixed.
    ids = [item.id for item in armory.phase("end-of-day").items]
    assert ids.index("incidents-today") < ids.index("incidents-fixed")


@pytest.mark.parametrize("protocol_id", ["firearm-scene", "rehearsal", "daily-armory"])
def test_the_version_2_protocols_say_where_every_item_comes_from(
    protocols: dict[str, Protocol], protocol_id: str
) -> None:
    protocol = protocols[protocol_id]
    # Version 3 of the rehearsal only called its takes run-throughs (issue 11); later versions
    # check counts against the armory and ask per firearm (issue 12), and turn a "no" to a
    # misfire, a discharge, an injury or a live round into an incident (issue 13).
    assert protocol.version >= 3
    for _, item in protocol.items():
        has_reason(item)


@pytest.mark.parametrize(
    ("protocol_id", "phase_id"),
    [("firearm-scene", "after-each-take"), ("rehearsal", "after-each-run")],
)
def test_the_first_check_after_each_take_asks_for_a_discharge_or_an_injury(
    protocols: dict[str, Protocol], protocol_id: str, phase_id: str
) -> None:
    """Issue 13: "no unplanned discharge, nobody hurt?" comes first after each take, and a "no"
    is an incident (which freezes the scene), cleared by a producer and the armorer, never the
    armorer and the 1st AD alone."""
    first = protocols[protocol_id].phase(phase_id).items[0]
    ask = first.ask.lower()
    assert "discharge" in ask and "hurt" in ask
    assert first.critical and first.incident == "unplanned-discharge"
    roles = first.clear_roles(list(protocols[protocol_id].hold.cleared_by))
    assert "producer" in roles and set(roles) != {"armorer", "first_ad"}
    has_reason(first)
