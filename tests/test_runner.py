"""The runner as a pure state machine: events in a list, no SQLite, no terminal.

A small protocol exercises every rule (roll call, conditions, takes, holds, read-backs, counts,
not-applicable); the shipped firearm scene is walked end to end; and hypothesis checks that any
prefix of a run's log replays to the step that wrote the next entry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetycli import runner
from safetycli.answers import passing_answers
from safetycli.errors import SafetyError
from safetycli.events import Event, NewEvent
from safetycli.protocol import Item, Protocol, check_file
from safetycli.runner import (
    AnotherTake,
    Ask,
    Finish,
    NotApplicable,
    RollCall,
    RunState,
    Signer,
    Skip,
    Stopped,
)
from tests.walk_helpers import (
    BLANKS,
    CREW,
    expected_keys,
    failing_answer,
    passing_answer,
)
from tests.walk_helpers import (
    protocol as shipped_protocol,
)

WALK_TEST = """\
id: walk-test
title: Walk-through test protocol
version: 1
summary: Every rule of the runner in a few items.
sources: ["safetycli tests"]
roles: [first_ad, armorer, actor, dp]
context:
  blanks: {type: bool, ask: "Will blanks be fired?"}
hold:
  cleared_by: [armorer, first_ad]
phases:
  - id: before
    title: Before the scene
    items:
      - id: meeting-held
        ask: Safety meeting held?
        by: first_ad
        witness: [armorer]
        critical: true
        why: test
      - id: firearms-out
        kind: count
        ask: Firearms out for this scene
        by: armorer
        min: 1
        max: 3
        why: test
      - id: medic-on-set
        ask: Medic on set?
        by: first_ad
        allow_na: true
        why: test
      - id: blanks-issued
        kind: count
        ask: Blanks issued
        by: armorer
        when: blanks
        why: test
      - id: shields-up
        ask: Shields up for camera?
        by: dp
        critical: true
        when: blanks
        why: test
  - id: take-before
    title: Before each take
    repeat: per_take
    items:
      - id: shown-clear
        ask: Shown clear to the 1st AD and the actor?
        by: armorer
        witness: [first_ad, actor]
        critical: true
        why: test
      - id: state-announced
        kind: choice
        ask: State announced aloud
        options: [EMPTY, BLANKS, "NOT VERIFIED"]
        fail_on: ["NOT VERIFIED"]
        by: armorer
        readback: [actor]
        why: test
  - id: take-after
    title: After each take
    repeat: per_take
    items:
      - id: handed-back
        ask: Handed back to the armorer on cut?
        by: armorer
        why: test
  - id: wrap
    title: Wrap
    items:
      - id: locked-up
        ask: Locked up?
        by: armorer
        critical: true
        why: test
      - id: wrap-notes
        kind: text
        ask: Notes
        by: first_ad
        why: test
"""

RUN = "r-test"
NAMES = {role: name for role, (name, _) in CREW.items()}


@pytest.fixture(scope="module")
def proto(tmp_path_factory: pytest.TempPathFactory) -> Protocol:
    path: Path = tmp_path_factory.mktemp("protocols") / "walk-test.yaml"
    path.write_text(WALK_TEST, encoding="utf-8")
    loaded, problems = check_file(path)
    assert problems == [], problems
    assert loaded is not None
    return loaded


# --- a run over an in-memory event list ---------------------------------------------------------


@dataclass
class Walk:
    """Drives the runner the way the session does, keeping the log in a list. Each batch is one
    transaction of the real thing, with the step that caused it."""

    proto: Protocol
    context: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    batches: list[tuple[object, list[Event]]] = field(default_factory=list)
    state: RunState = field(default_factory=lambda: RunState(RUN))

    def __post_init__(self) -> None:
        self.commit(None, runner.start(self.proto, RUN, "12A", "2026-11-23", dict(self.context)))

    def commit(self, cause: object, new: list[NewEvent]) -> list[Event]:
        # A step holds the live Hold, which clearing mutates: keep it as it was when asked.
        snapshot = copy.deepcopy(cause)
        out = []
        for event in new:
            seq = len(self.events) + 1
            at = f"2026-11-23T10:00:00.{seq:06d}Z"
            stored = Event(seq, at, event.kind, event.run, event.person, event.data, "", "")
            self.events.append(stored)
            self.state.apply(stored)
            out.append(stored)
        self.batches.append((snapshot, out))
        return out

    def raw_step(self) -> runner.Step:
        return runner.next_step(self.proto, self.state)

    def step(self) -> runner.Step:
        """The next step, with a batch taken one check at a time: these tests hold each rule of
        a single answer (`runner.answer`, which a batch's sign-off is built from); batches
        themselves are tested below."""
        step = runner.next_step(self.proto, self.state)
        return step.asks[0] if isinstance(step, runner.Batch) else step

    def sign_in_all(self) -> None:
        """Everyone the run needs signs in now (as when they all stand at the laptop); the
        first check's person is asked for first."""
        step = self.step()
        assert isinstance(step, RollCall)
        for role in runner.roles_needed(self.proto, self.state.context):
            if role not in self.state.signed_in:
                self.commit(step, runner.sign_in(self.state, role, NAMES[role]))

    def ask(self) -> Ask:
        step = self.step()
        assert isinstance(step, Ask), step
        return step

    def answer(self, value: Any) -> list[Event]:
        step = self.ask()
        return self.commit(step, runner.answer(self.proto, self.state, step, value))

    def skip(self) -> list[Event]:
        step = self.step()
        assert isinstance(step, Skip), step
        return self.commit(step, runner.skip(self.proto, self.state, step))

    def another_take(self, more: bool) -> list[Event]:
        step = self.step()
        assert isinstance(step, AnotherTake), step
        return self.commit(step, runner.another_take(self.state, step, more))

    def clear(self, note: str = "found and fixed") -> list[Event]:
        step = self.step()
        assert isinstance(step, Stopped) and step.status == "held", step
        clearers = [Signer(NAMES[r], r) for r in self.proto.hold.cleared_by]
        return self.commit(step, runner.clear_hold(self.proto, self.state, clearers, note))

    def passing_value(self, step: Ask, state: RunState | None = None) -> Any:
        """An answer that passes `step` in `state` (by default the run as it is)."""
        state = state or self.state
        if step.meaning == "witnessed":
            return True
        if step.meaning == "read-back":
            return step.answer
        if step.item.kind == "count":  # counts that add up, as a real scene's do
            expected = runner.expected_count(self.proto, state, step.item, step.take)
            if expected is not None and expected >= 0:
                return expected
            return passing_answers(self.proto, takes=4)[step.item.id]
        return passing_answer(step.item)

    def sign_off(self, batch: runner.Batch, values: list[Any] | None = None) -> list[Event]:
        """A whole batch signed at once; each answer passes unless `values` says otherwise. A
        failing answer is recorded alone, as the session records it."""
        entries: list[tuple[Ask, Any]] = []
        for n, ask in enumerate(batch.asks):
            ahead = runner.ahead_of(self.proto, self.state, entries)
            value = values[n] if values is not None else self.passing_value(ask, ahead)
            if runner.batch_fails(self.proto, self.state, entries, ask, value):
                new = runner.refuse_in_batch(self.proto, self.state, entries, ask, value)
                return self.commit(batch, new)
            entries.append((ask, value))
        return self.commit(batch, runner.sign_batch(self.proto, self.state, batch, entries))

    def passing(self) -> list[Event]:
        """Answer the next question so that it passes (yes, a good count, the same read-back)."""
        step = self.ask()
        if step.meaning == "witnessed":
            return self.answer(True)
        if step.meaning == "read-back":
            return self.answer(step.answer)
        if step.item.kind == "count":  # counts that add up, as a real scene's do
            expected = runner.expected_count(self.proto, self.state, step.item, step.take)
            if expected is not None and expected >= 0:
                return self.answer(expected)
            return self.answer(passing_answers(self.proto, takes=4)[step.item.id])
        return self.answer(passing_answer(step.item))

    def until(self, item_id: str, meaning: str = "performed") -> Ask:
        """Pass everything (skipping what is skipped) up to a question on this item."""
        for _ in range(500):
            step = self.step()
            if isinstance(step, Ask) and step.item.id == item_id and step.meaning == meaning:
                return step
            if isinstance(step, Skip):
                self.skip()
            elif isinstance(step, AnotherTake):
                self.another_take(False)
            else:
                self.passing()
        raise AssertionError(f"never asked {meaning} for {item_id}")

    def done(self) -> dict[tuple[str, int | None, str], str]:
        return {
            (e.data["phase"], e.data["take"], e.data["item"]): e.data["outcome"]
            for e in self.events
            if e.kind == "item.done"
        }

    def kinds(self, events: list[Event]) -> list[str]:
        return [e.kind for e in events]


def started(proto: Protocol, **context: Any) -> Walk:
    walk = Walk(proto, {"blanks": False, **context})
    walk.sign_in_all()
    return walk


# --- roll call, conditions, takes ---------------------------------------------------------------


def test_each_person_signs_in_when_their_first_check_comes_up(proto: Protocol) -> None:
    walk = Walk(proto, {"blanks": False})
    step = walk.raw_step()
    # Only the person whose checks come first is called, not everyone at the start.
    assert isinstance(step, RollCall) and step.roles == ("first_ad",)
    walk.commit(step, runner.sign_in(walk.state, "first_ad", NAMES["first_ad"]))
    batch = walk.raw_step()
    assert isinstance(batch, runner.Batch) and batch.name == "Dana Reyes"
    assert [(a.item.id, a.meaning) for a in batch.asks] == [
        ("meeting-held", "performed"),
        ("medic-on-set", "performed"),
    ]
    walk.commit(batch, runner.sign_batch(proto, walk.state, batch, [(a, True) for a in batch.asks]))
    # The armorer comes next (the meeting to witness, the firearms to count): now they sign in.
    step = walk.raw_step()
    assert isinstance(step, RollCall) and step.roles == ("armorer",)
    # Whoever the run still needs: the DP signs nothing when no blanks are fired.
    assert runner.roles_still_needed(proto, walk.state) == ["first_ad", "armorer", "actor"]
    with_blanks = Walk(proto, {"blanks": True})
    assert runner.roles_needed(proto, with_blanks.state.context) == [
        "first_ad",
        "armorer",
        "actor",
        "dp",
    ]


def test_one_person_cannot_sign_in_for_two_roles(proto: Protocol) -> None:
    walk = Walk(proto, {"blanks": False})
    walk.commit(None, runner.sign_in(walk.state, "armorer", "Sam Ortiz"))
    with pytest.raises(SafetyError, match="already signed in as armorer"):
        runner.sign_in(walk.state, "first_ad", "sam ortiz")
    # Signing in again for the same role is not a second role.
    assert runner.sign_in(walk.state, "armorer", "Sam Ortiz")[0].kind == "run.signed-in"


def test_conditional_items_are_skipped_with_the_reason(proto: Protocol) -> None:
    walk = started(proto, blanks=False)
    step = walk.until("medic-on-set")
    walk.answer(True)
    step = walk.step()
    assert isinstance(step, Skip)
    assert (step.item.id, step.reason) == ("blanks-issued", "only when blanks")
    (done,) = walk.skip()
    assert done.data["outcome"] == "skipped-by-condition"
    assert done.data["reason"] == "only when blanks"
    assert done.data["by"] is None
    skipped = walk.step()
    assert isinstance(skipped, Skip) and skipped.item.id == "shields-up"

    # With blanks the same items are asked, not skipped.
    walk = started(proto, blanks=True)
    walk.until("medic-on-set")
    walk.answer(True)
    assert walk.ask().item.id == "blanks-issued"


def test_per_take_phases_repeat_for_each_take_and_wrap(proto: Protocol) -> None:
    walk = started(proto)
    first = walk.until("shown-clear")
    assert first.take == 1
    walk.until("state-announced", "read-back")
    walk.passing()
    step = walk.step()
    # Both per-take phases form one group that a take runs through; the 1st AD calls another
    # take on cut, before the checks after the take, so that one sitting covers those and the
    # next take's checks before it.
    assert isinstance(step, AnotherTake)
    assert (step.group, step.take) == ("take-before", 1)
    assert [p.id for p in step.phases] == ["take-before", "take-after"]
    assert runner.camera_rolling(proto, walk.state)  # the take is being shot
    (event,) = walk.another_take(True)
    assert (event.kind, event.data) == ("take.next", {"group": "take-before", "take": 2})
    assert not runner.camera_rolling(proto, walk.state)
    batch = walk.raw_step()
    assert isinstance(batch, runner.Batch) and batch.role == "armorer"
    # The armorer's sitting at cut: take 1's check after it, then take 2's before it.
    assert [(a.phase.id, a.take, a.item.id) for a in batch.asks] == [
        ("take-after", 1, "handed-back"),
        ("take-before", 2, "shown-clear"),
        ("take-before", 2, "state-announced"),
    ]
    walk.sign_off(batch)
    walk.until("state-announced", "read-back")
    walk.passing()
    (event,) = walk.another_take(False)
    assert (event.kind, event.data) == ("takes.wrapped", {"group": "take-before", "takes": 2})
    after = walk.ask()
    assert (after.phase.id, after.item.id, after.take) == ("take-after", "handed-back", 2)
    walk.passing()
    wrap = walk.ask()
    assert (wrap.phase.id, wrap.item.id, wrap.take) == ("wrap", "locked-up", None)
    walk.passing()
    walk.passing()
    assert walk.step() == Finish()
    walk.commit(Finish(), runner.finish(walk.state))
    assert walk.state.status == "complete"
    assert walk.step() == Stopped("complete", None)
    confirmed = [key for key, outcome in walk.done().items() if outcome == "confirmed"]
    assert sorted(confirmed, key=str) == sorted(
        expected_keys(proto, {"blanks": False}, takes=2), key=str
    )
    assert set(walk.done().values()) == {"confirmed", "skipped-by-condition"}


def test_a_hold_at_cut_sends_back_the_next_takes_checks_signed_in_the_same_sitting() -> None:
    """At cut of take 1 the armorer signs take 1's checks after it and take 2's before it in one
    sitting (blanks loaded at the last moment among them). The actor then says the firearm did
    not come straight back on cut: the hold names take 2's checks too, so once it is cleared
    they are all asked again, not only take 1's."""
    proto = shipped_protocol("firearm-scene")
    walk = Walk(proto, dict(BLANKS))
    for _ in range(200):
        step = walk.raw_step()
        if isinstance(step, RollCall):
            (role,) = step.roles
            walk.commit(step, runner.sign_in(walk.state, role, NAMES[role]))
        elif isinstance(step, Skip):
            walk.skip()
        elif isinstance(step, AnotherTake):
            walk.another_take(True)
        elif isinstance(step, runner.Batch) and step.role == "actor" and step.take == 1:
            if step.phase.id == "after-each-take":
                values = [a.item.id != "returned-on-cut" for a in step.asks]
                events = walk.sign_off(step, values)
                break
            walk.sign_off(step)
        else:
            assert isinstance(step, runner.Batch), step
            walk.sign_off(step)
    raised = next(e for e in events if e.kind == "hold.raised")
    assert (raised.data["phase"], raised.data["take"]) == ("after-each-take", 1)
    assert raised.data["also"] == [["before-each-take", 2]]
    assert walk.done()[("before-each-take", 2, "blanks-loaded-last")] == "confirmed"
    walk.clear("firearm handed back again, shown clear")
    # Take 1's checks after it and take 2's before it are all asked again.
    assert ("before-each-take", 2, "blanks-loaded-last") not in walk.state.progress
    assert ("after-each-take", 1, "bore-checked") not in walk.state.progress
    batch = walk.raw_step()
    assert isinstance(batch, runner.Batch) and batch.role == "armorer"
    assert ("before-each-take", 2, "blanks-loaded-last") in [a.key for a in batch.asks]


# --- holds ---------------------------------------------------------------------------------------


def test_a_refused_critical_item_holds_and_nothing_proceeds(proto: Protocol) -> None:
    walk = started(proto)
    events = walk.answer("no")  # meeting-held is critical
    assert walk.kinds(events) == ["item.performed", "item.done", "hold.raised"]
    assert events[1].data["outcome"] == "refused"
    assert events[2].data["clear_roles"] == ["armorer", "first_ad"]
    assert walk.state.status == "held"
    step = walk.step()
    assert isinstance(step, Stopped) and step.status == "held"
    assert step.hold is not None
    assert step.hold.key == ("before", None, "meeting-held")
    assert "Safety meeting held?" in step.hold.reason and "answered no" in step.hold.reason
    # Nothing may be put on hold twice, and the run cannot be answered past the hold.
    with pytest.raises(SafetyError, match="only an open run"):
        runner.raise_hold(walk.state, Signer("Alex Kim", "actor"), "again")


def test_a_witness_who_did_not_see_it_holds_a_critical_item(proto: Protocol) -> None:
    walk = started(proto)
    walk.answer(True)
    witness = walk.ask()
    assert (witness.meaning, witness.role, witness.needs_pin) == ("witnessed", "armorer", True)
    events = walk.answer(False)
    assert walk.kinds(events) == ["item.witnessed", "item.done", "hold.raised"]
    assert "armorer Sam Ortiz did not confirm it" in events[2].data["reason"]
    # The hold is the witness's: they stopped it, not the 1st AD who performed the item.
    assert events[2].data["raised_by"] == {"name": "Sam Ortiz", "role": "armorer"}
    assert events[2].person == "Sam Ortiz"
    assert events[1].data["by"]["role"] == "first_ad"
    assert walk.state.status == "held"


def test_clearing_a_hold_asks_the_failed_item_again_from_the_start(proto: Protocol) -> None:
    walk = started(proto)
    walk.answer(True)
    walk.answer(False)  # the armorer did not witness it
    assert walk.state.status == "held"
    (cleared,) = walk.clear("meeting repeated with everyone present")
    assert cleared.data["cleared_by"] == [
        {"name": "Sam Ortiz", "role": "armorer"},
        {"name": "Dana Reyes", "role": "first_ad"},
    ]
    assert walk.state.status == "open"
    again = walk.ask()
    # A fresh attempt: the signer answers again, then the witness.
    assert (again.item.id, again.meaning, again.take) == ("meeting-held", "performed", None)
    walk.answer(True)
    assert walk.ask().meaning == "witnessed"
    walk.answer(True)
    assert walk.done()[("before", None, "meeting-held")] == "confirmed"
    assert walk.ask().item.id == "firearms-out"
    hold = walk.state.holds[0]
    assert (hold.note, hold.cleared_by) == (
        "meeting repeated with everyone present",
        cleared.data["cleared_by"],
    )


def test_a_hold_is_cleared_only_by_the_named_roles_each_a_different_person(proto: Protocol) -> None:
    walk = started(proto)
    walk.answer(False)
    armorer = Signer("Sam Ortiz", "armorer")
    with pytest.raises(SafetyError, match="cleared by 1st AD too"):
        runner.clear_hold(proto, walk.state, [armorer], "fixed")
    with pytest.raises(SafetyError, match="different person"):
        runner.clear_hold(proto, walk.state, [armorer, Signer("Sam Ortiz", "first_ad")], "fixed")
    with pytest.raises(SafetyError, match="needs a note"):
        runner.clear_hold(proto, walk.state, [armorer, Signer("Dana Reyes", "first_ad")], "  ")
    assert walk.state.status == "held"

    open_walk = started(proto)
    with pytest.raises(SafetyError, match="not held: nothing to clear"):
        runner.clear_hold(proto, open_walk.state, [armorer, Signer("Dana Reyes", "first_ad")], "x")


def test_a_hold_anyone_raises_stops_the_run_and_a_part_signed_check_starts_again(
    proto: Protocol,
) -> None:
    walk = started(proto)
    first = walk.ask()
    walk.passing()  # the 1st AD has signed; the armorer has not witnessed it yet
    assert walk.ask().meaning == "witnessed"
    walk.commit(None, runner.raise_hold(walk.state, Signer("Alex Kim", "actor"), "smoke on set"))
    step = walk.step()
    assert isinstance(step, Stopped) and step.hold is not None
    assert (step.hold.key, step.hold.reason) == (None, "smoke on set")
    walk.clear("smoke cleared")
    # A witness must not confirm a showing done before work stopped: the check starts over.
    assert walk.ask() == first


def test_a_hold_in_a_take_sends_that_phase_of_the_take_back_to_be_checked(
    proto: Protocol,
) -> None:
    walk = started(proto)
    walk.until("state-announced")
    walk.answer("EMPTY")
    walk.until("state-announced", "read-back")
    walk.answer("BLANKS")  # the read-back does not match: hold
    assert walk.state.status == "held"
    walk.clear("firearm re-checked, state agreed")
    # Every check of "before each take" for take 1 is asked again, from shown-clear on.
    step = walk.ask()
    assert (step.phase.id, step.take, step.item.id) == ("take-before", 1, "shown-clear")


def test_the_roles_that_clear_a_hold_are_fixed_when_the_run_starts(proto: Protocol) -> None:
    walk = started(proto)
    assert walk.state.clear_roles == ["armorer", "first_ad"]
    edited = proto.model_copy(
        update={"hold": proto.hold.model_copy(update={"cleared_by": ["first_ad"]})}
    )
    walk.answer(False)  # critical "no": hold
    with pytest.raises(SafetyError, match="cleared by armorer too"):
        runner.clear_hold(edited, walk.state, [Signer("Dana Reyes", "first_ad")], "AD alone")


def test_a_held_run_cannot_be_aborted_until_the_hold_is_cleared(proto: Protocol) -> None:
    walk = started(proto)
    walk.answer(False)  # critical "no": hold
    with pytest.raises(SafetyError, match="clear the hold first"):
        runner.abort(walk.state, Signer("Dana Reyes", "first_ad"), "moving on")


def test_a_failing_answer_needs_no_pin_and_a_passing_one_does(proto: Protocol) -> None:
    walk = started(proto)
    step = walk.ask()
    assert step.needs_pin
    assert runner.fails(proto, walk.state, step, False)
    assert not runner.fails(proto, walk.state, step, True)


def test_a_resumed_run_starts_with_a_roll_call(proto: Protocol) -> None:
    walk = started(proto)
    walk.passing()
    walk.commit(None, runner.resumed(walk.state))
    assert isinstance(walk.step(), RollCall)


def test_a_read_back_mismatch_holds_even_a_non_critical_item(proto: Protocol) -> None:
    walk = started(proto)
    walk.until("state-announced")
    assert not walk.ask().item.critical
    walk.answer("EMPTY")
    readback = walk.until("state-announced", "read-back")
    assert (readback.meaning, readback.role, readback.answer) == ("read-back", "actor", "EMPTY")
    events = walk.answer("BLANKS")
    assert walk.kinds(events) == ["item.read-back", "item.done", "hold.raised"]
    assert events[0].data["ok"] is False
    assert events[1].data["reason"] == "read-back mismatch: actor said BLANKS, not EMPTY"
    assert events[2].data["raised_by"]["role"] == "actor"
    assert walk.state.status == "held"


def test_a_read_back_that_matches_confirms_the_item(proto: Protocol) -> None:
    walk = started(proto)
    walk.until("state-announced")
    walk.answer("empty")  # options match whatever the case
    walk.until("state-announced", "read-back")
    events = walk.answer("1")  # the actor picks option 1: EMPTY
    assert walk.kinds(events) == ["item.read-back", "item.done"]
    assert events[0].data["answer"] == "EMPTY"
    assert events[1].data["outcome"] == "confirmed"


@pytest.mark.parametrize("count", [0, 4])
def test_a_count_outside_its_bounds_holds(proto: Protocol, count: int) -> None:
    walk = started(proto)
    walk.until("firearms-out")
    assert not walk.ask().item.critical
    events = walk.answer(count)
    assert walk.kinds(events) == ["item.performed", "item.done", "hold.raised"]
    assert walk.state.status == "held"
    assert walk.state.open_hold is not None
    assert f"counted {count}" in walk.state.open_hold.reason


def test_a_count_inside_its_bounds_passes(proto: Protocol) -> None:
    walk = started(proto)
    walk.until("firearms-out")
    assert walk.kinds(walk.answer("3")) == ["item.performed", "item.done"]
    assert walk.state.status == "open"


def test_a_non_critical_no_is_refused_without_stopping_work(proto: Protocol) -> None:
    walk = started(proto)
    walk.until("handed-back")
    events = walk.answer("no")
    assert walk.kinds(events) == ["item.performed", "item.done"]
    assert events[1].data["outcome"] == "refused"
    assert walk.state.status == "open"
    # Work goes on: the wrap comes next (the takes were wrapped on cut).
    step = walk.step()
    assert isinstance(step, Ask) and step.item.id == "locked-up"


# --- not applicable ------------------------------------------------------------------------------


def test_not_applicable_only_where_allowed_and_always_with_a_reason(proto: Protocol) -> None:
    walk = started(proto)
    walk.until("medic-on-set")
    (done,) = walk.answer(NotApplicable("  no stunts, medic on call  "))
    assert done.kind == "item.done"
    assert done.data["outcome"] == "not-applicable"
    assert done.data["reason"] == "no stunts, medic on call"
    assert done.data["by"] == {"name": "Dana Reyes", "role": "first_ad"}

    walk = started(proto)
    step = walk.until("medic-on-set")
    with pytest.raises(SafetyError, match="needs a reason"):
        runner.answer(proto, walk.state, step, NotApplicable(" "))

    walk = started(proto)
    step = walk.until("firearms-out")
    with pytest.raises(SafetyError, match="cannot be marked not applicable"):
        runner.answer(proto, walk.state, step, NotApplicable("none today"))


def test_not_applicable_is_never_accepted_on_a_critical_item(proto: Protocol) -> None:
    walk = started(proto)
    step = walk.ask()
    assert step.item.critical
    with pytest.raises(SafetyError, match="cannot be marked not applicable"):
        runner.answer(proto, walk.state, step, NotApplicable("meeting tomorrow"))
    # Even if a protocol slipped `allow_na` past the validator onto a critical item.
    sneaky = step.item.model_copy(update={"allow_na": True})
    sneaky_step = Ask(step.phase, sneaky, None, "performed", step.role, step.name, True)
    with pytest.raises(SafetyError, match="cannot be marked not applicable"):
        runner.answer(proto, walk.state, sneaky_step, NotApplicable("meeting tomorrow"))


# --- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item_id", "typed", "expected"),
    [
        ("meeting-held", "Yes", True),
        ("meeting-held", "n", False),
        ("firearms-out", " 2 ", 2),
        ("state-announced", "blanks", "BLANKS"),
        ("state-announced", "3", "NOT VERIFIED"),
        ("wrap-notes", "  keys with Sam ", "keys with Sam"),
    ],
)
def test_typed_answers_are_read_as_the_item_kind(
    proto: Protocol, item_id: str, typed: str, expected: object
) -> None:
    assert runner.check_answer(proto.item(item_id), typed) == expected


@pytest.mark.parametrize(
    ("item_id", "typed", "message"),
    [
        ("meeting-held", "maybe", "needs yes or no"),
        ("firearms-out", "two", "needs a whole number"),
        ("firearms-out", "-1", "zero or more"),
        ("firearms-out", True, "needs a whole number"),
        ("state-announced", "LOADED", "needs one of: EMPTY, BLANKS, NOT VERIFIED"),
        ("state-announced", "4", "needs one of"),
        ("wrap-notes", "   ", "needs a written answer"),
    ],
)
def test_answers_that_cannot_be_read_are_refused(
    proto: Protocol, item_id: str, typed: object, message: str
) -> None:
    with pytest.raises(SafetyError, match=message):
        runner.check_answer(proto.item(item_id), typed)


# --- the shipped protocol, end to end ------------------------------------------------------------


def test_the_firearm_scene_runs_end_to_end_over_two_takes() -> None:
    proto = shipped_protocol("firearm-scene")
    walk = Walk(proto, dict(BLANKS))
    takes = 0
    for _ in range(2000):
        step = walk.raw_step()
        if isinstance(step, Finish):
            walk.commit(step, runner.finish(walk.state))
            break
        if isinstance(step, RollCall):
            (role,) = step.roles
            walk.commit(step, runner.sign_in(walk.state, role, NAMES[role]))
        elif isinstance(step, AnotherTake):
            takes = step.take
            walk.another_take(step.take < 2)
        elif isinstance(step, Skip):
            walk.skip()
        else:
            assert isinstance(step, runner.Batch), step
            walk.sign_off(step)
    assert walk.state.status == "complete"
    assert takes == 2
    confirmed = [k for k, outcome in walk.done().items() if outcome == "confirmed"]
    # Every check, once for each take; in each phase people sign in turn, so the order within
    # a phase follows who signs when (witnesses after the check they witness).
    assert sorted(confirmed, key=str) == sorted(expected_keys(proto, BLANKS, takes=2), key=str)
    # Phases and takes come in the run's order (at cut a sitting covers the checks after a take
    # and those before the next).
    places = list(dict.fromkeys(k[:2] for k in confirmed))
    assert places == list(dict.fromkeys(k[:2] for k in expected_keys(proto, BLANKS, takes=2)))
    assert ("before-scene", None, "dummies-checked") in walk.done()  # skipped: no dummies
    assert runner.replay(RUN, walk.events) == walk.state


def test_replay_of_an_unknown_run_is_refused() -> None:
    with pytest.raises(SafetyError, match="unknown run `r-nope`"):
        runner.replay("r-nope", [])


# --- replay: any prefix of the log puts the run back where it was --------------------------------


def _can_fail(item: Item) -> bool:
    try:
        failing_answer(item)
    except AssertionError:
        return False
    return True


def _drive(proto: Protocol, data: st.DataObject, blanks: bool, takes: int) -> Walk:
    """A whole run, batch by batch as the session drives it, each person signing in when their
    first check comes up, with hypothesis choosing where things go wrong (at most three holds)."""
    walk = Walk(proto, {"blanks": blanks})
    holds = 0
    for _ in range(1000):
        step = walk.raw_step()
        if isinstance(step, Finish):
            walk.commit(step, runner.finish(walk.state))
            return walk
        if isinstance(step, Stopped):
            walk.clear()
            holds += 1
        elif isinstance(step, RollCall):
            (role,) = step.roles
            walk.commit(step, runner.sign_in(walk.state, role, NAMES[role]))
        elif isinstance(step, Skip):
            walk.skip()
        elif isinstance(step, AnotherTake):
            walk.another_take(step.take < takes)
        else:
            assert isinstance(step, runner.Batch), step
            values: list[Any] = []
            entries: list[tuple[Ask, Any]] = []
            for ask in step.asks:
                choices = ["pass"]
                if holds < 3 and (ask.meaning != "performed" or _can_fail(ask.item)):
                    choices.append("fail")
                if ask.meaning == "performed" and ask.item.allow_na and not ask.item.critical:
                    choices.append("na")
                choice = data.draw(st.sampled_from(choices), label=f"{ask.key} {ask.meaning}")
                ahead = runner.ahead_of(proto, walk.state, entries)
                if choice == "pass":
                    value = walk.passing_value(ask, ahead)
                elif choice == "na":
                    value = NotApplicable("not today")
                elif ask.meaning == "witnessed":
                    value = False
                elif ask.meaning == "read-back":
                    value = next(o for o in ask.item.options or [] if o != ask.answer)
                else:
                    value = failing_answer(ask.item)
                values.append(value)
                entries.append((ask, value))
            walk.sign_off(step, values)
    raise AssertionError("the run never finished")


def _caused(step: object, first: Event) -> bool:
    """Does this step account for the first event of the batch it wrote?"""
    data = first.data
    if isinstance(step, RollCall):
        return first.kind == "run.signed-in" and data["role"] in step.roles
    if isinstance(step, Skip):
        return first.kind == "item.done" and data["outcome"] == "skipped-by-condition"
    if isinstance(step, Ask):
        kind = {"performed": "item.performed", "witnessed": "item.witnessed"}.get(
            step.meaning, "item.read-back"
        )
        same_item = (data["phase"], data["take"], data["item"]) == step.key
        na = first.kind == "item.done" and data["outcome"] == "not-applicable"
        return same_item and (first.kind == kind or na)
    if isinstance(step, runner.Batch):
        if first.kind == "item.signed-off":  # everything passed: one sign-off
            return (data["phase"], data["take"], data["name"]) == (
                step.phase.id,
                step.take,
                step.name,
            )
        # A failing answer, alone: its signature, not ok.
        keys = {ask.key for ask in step.asks}
        key = (data["phase"], data["take"], data["item"])
        return key in keys and first.kind.startswith("item.") and data["ok"] is False
    if isinstance(step, AnotherTake):
        return first.kind in ("take.next", "takes.wrapped") and data["group"] == step.group
    if isinstance(step, Stopped):
        return first.kind == "hold.cleared"
    return isinstance(step, Finish) and first.kind == "run.completed"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), blanks=st.booleans(), takes=st.integers(1, 3))
def test_any_prefix_of_a_run_replays_to_the_step_that_wrote_the_next_entry(
    proto: Protocol, data: st.DataObject, blanks: bool, takes: int
) -> None:
    walk = _drive(proto, data, blanks, takes)
    assert walk.state.status == "complete"
    hypothesis.event(f"holds: {len(walk.state.holds)}")
    # Replaying the same events gives the same state, every time.
    assert runner.replay(RUN, walk.events) == walk.state
    assert runner.replay(RUN, list(walk.events)) == runner.replay(RUN, walk.events)
    boundary = 0
    for cause, batch in walk.batches:
        if cause is not None:
            state = runner.replay(RUN, walk.events[:boundary])
            step = runner.next_step(proto, state)
            assert step == cause, (boundary, batch[0].kind)
            assert _caused(step, batch[0]), (step, batch[0])
        boundary += len(batch)
    final = runner.next_step(proto, runner.replay(RUN, walk.events))
    assert final == Stopped("complete", None)
