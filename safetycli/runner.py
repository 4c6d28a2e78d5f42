"""The walk-through as a pure state machine: (protocol, events) -> next step; answer -> events.

No I/O, no terminal, no clock: the CLI, the answers-file mode and the tests all drive the same
machine, and a run's state is always what replaying its events gives. That is what makes a run
survive a kill -9: the log holds every answer, and replay puts the cursor back on the first item not
yet done.

Events of a run (all carry `run`; signatures carry `person`), each a type in events.py:
  run.started     {protocol: {id, version, sha256}, scene, day, context, clear_roles, mode}
  run.signed-in   {name, role}                     roll call: this person signs for this role
  item.performed  {phase, take, item, answer, name, role, ok, reason}
  item.witnessed  {phase, take, item, name, role, ok}
  item.read-back  {phase, take, item, name, role, answer, ok, reason}
  item.done       {phase, take, item, outcome, reason, by}   outcome: confirmed | refused |
                                                      not-applicable | skipped-by-condition
  take.next       {group, take}                    the AD called another take
  takes.wrapped   {group, takes}                   the AD wrapped the takes of this group
  hold.raised     {phase, take, item, reason, raised_by, clear_roles}
  hold.cleared    {note, cleared_by: [{name, role}]}
  run.resumed     {}                               a later sitting: everyone signs in again
  run.completed   {}
  run.aborted     {reason, by}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safetycli.conditions import parse_sum, parse_when
from safetycli.errors import SafetyError
from safetycli.events import (
    ITEM_KINDS,
    ITEM_PERFORMED,
    ITEM_READ_BACK,
    ITEM_WITNESSED,
    RUN_RESUMED,
    RUN_SIGNED_IN,
    RUN_STARTED,
    TAKE_NEXT,
    TAKES_WRAPPED,
    Event,
    HoldCleared,
    HoldRaised,
    ItemDone,
    ItemPerformed,
    ItemReadBack,
    ItemWitnessed,
    NewEvent,
    RunAborted,
    RunCompleted,
    RunResumed,
    RunStarted,
    SignedIn,
    Signer,
    TakeNext,
    TakesWrapped,
)
from safetycli.lifecycle import ABORTED, COMPLETE, HELD, OPEN, Hold, Key, Lifecycle

if TYPE_CHECKING:  # the pydantic models cost start-up time that `status` need not pay
    from safetycli.protocol import Item, Phase, Protocol


@dataclass(frozen=True)
class NotApplicable:
    """The answer 'this item does not apply here', always with a reason."""

    reason: str


@dataclass
class Attempt:
    """One attempt at one item: who has signed what so far. A cleared hold discards the attempt
    at the failed item, and the next one starts empty."""

    performed: dict[str, Any] | None = None
    witnessed: list[dict[str, Any]] = field(default_factory=list)
    read_back: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None
    reason: str | None = None


@dataclass
class RunState:
    run_id: str
    protocol: dict[str, Any] = field(default_factory=dict)
    scene: str = ""
    day: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    signed_in: dict[str, str] = field(default_factory=dict)  # role -> name
    clear_roles: list[str] = field(default_factory=list)  # who clears a hold, fixed at start
    progress: dict[Key, Attempt] = field(default_factory=dict)
    takes: dict[str, int] = field(default_factory=dict)  # group -> current take
    wrapped: set[str] = field(default_factory=set)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)  # holds, completion, abort
    last_seq: int = 0

    @property
    def holds(self) -> list[Hold]:
        return self.lifecycle.holds

    @property
    def open_hold(self) -> Hold | None:
        return self.lifecycle.open_hold

    @property
    def completed(self) -> bool:
        return self.lifecycle.completed

    @property
    def aborted(self) -> dict[str, Any] | None:
        return self.lifecycle.aborted

    @property
    def ended_at(self) -> str | None:
        return self.lifecycle.ended_at

    @property
    def status(self) -> str:
        return self.lifecycle.status

    def _restart_after(self, hold: Hold) -> None:
        """What a cleared hold sends back to be checked again: every check signed only in part
        (its signatures were given before work stopped), the failed check, and, in a phase
        repeated per take, every check of that phase for that take, because the firearm may have
        been handled while the problem was put right."""
        for key, attempt in list(self.progress.items()):
            part_signed = attempt.outcome is None
            same_phase_take = (
                hold.key is not None
                and hold.key[1] is not None
                and key[0] == hold.key[0]
                and key[1] == hold.key[1]
            )
            if part_signed or key == hold.key or same_phase_take:
                del self.progress[key]

    def apply(self, event: Event) -> None:
        """Fold one event into the state; replay is just this, in log order."""
        data = event.data
        kind = event.kind
        self.last_seq = event.seq
        if kind == RUN_STARTED:
            self.protocol = data["protocol"]
            self.scene = data["scene"]
            self.day = data["day"]
            self.context = dict(data.get("context", {}))
            self.clear_roles = list(data.get("clear_roles", []))
            self.started_at = event.at
        elif kind == RUN_SIGNED_IN:
            self.signed_in[data["role"]] = data["name"]
        elif kind == RUN_RESUMED:
            # Sign-ins last one sitting: whoever picks the run up again signs in again, so
            # nobody answers as a person who signed in hours ago on another laptop.
            self.signed_in = {}
        elif kind in ITEM_KINDS:
            key: Key = (data["phase"], data["take"], data["item"])
            attempt = self.progress.setdefault(key, Attempt())
            if kind == ITEM_PERFORMED:
                attempt.performed = data
            elif kind == ITEM_WITNESSED:
                attempt.witnessed.append(data)
            elif kind == ITEM_READ_BACK:
                attempt.read_back.append(data)
            else:
                attempt.outcome = data["outcome"]
                attempt.reason = data.get("reason")
        elif kind == TAKE_NEXT:
            self.takes[data["group"]] = data["take"]
        elif kind == TAKES_WRAPPED:
            self.wrapped.add(data["group"])
        else:
            cleared = self.lifecycle.apply(kind, event.seq, event.at, data)
            if cleared is not None:
                self._restart_after(cleared)


def replay(run_id: str, events: Iterable[Event]) -> RunState:
    state = RunState(run_id)
    for event in events:
        state.apply(event)
    if not state.protocol:
        raise SafetyError(f"unknown run `{run_id}`: see `safetycli log list`")
    return state


# --- steps: what the machine needs next -----------------------------------------------------------


@dataclass(frozen=True)
class RollCall:
    """Roles that must sign in (name + PIN) before the walk-through can go on."""

    roles: tuple[str, ...]


@dataclass(frozen=True)
class Skip:
    """An item whose condition is false: recorded as skipped, nobody is asked."""

    phase: Phase
    item: Item
    take: int | None
    reason: str

    @property
    def key(self) -> Key:
        return (self.phase.id, self.take, self.item.id)


@dataclass(frozen=True)
class Ask:
    """Someone must answer for an item: the signer (`performed`), a witness or a read-back."""

    phase: Phase
    item: Item
    take: int | None
    meaning: str  # performed | witnessed | read-back
    role: str
    name: str
    needs_pin: bool
    answer: Any = None  # the signer's answer, for witnesses and read-backs to check against

    @property
    def key(self) -> Key:
        return (self.phase.id, self.take, self.item.id)


@dataclass(frozen=True)
class AnotherTake:
    group: str
    take: int
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class Finish:
    """Everything is done: the run can be marked complete."""


@dataclass(frozen=True)
class Stopped:
    """Held or aborted: nothing proceeds."""

    status: str
    hold: Hold | None


Step = RollCall | Skip | Ask | AnotherTake | Finish | Stopped


def blocks(protocol: Protocol) -> list[list[Phase]]:
    """Phases in order, consecutive per-take phases grouped: one take runs through the group."""
    out: list[list[Phase]] = []
    for phase in protocol.phases:
        if phase.repeat == "per_take" and out and out[-1][0].repeat == "per_take":
            out[-1].append(phase)
        else:
            out.append([phase])
    return out


def _condition_false(phase: Phase, item: Item, context: dict[str, Any]) -> str | None:
    for expr in (phase.when, item.when):
        if expr:
            cond = parse_when(expr)
            if cond is not None and not cond.holds(context):
                return f"only when {expr}"
    return None


def applicable(protocol: Protocol, context: dict[str, Any]) -> list[tuple[Phase, Item]]:
    return [(p, i) for p, i in protocol.items() if _condition_false(p, i, context) is None]


def roles_needed(protocol: Protocol, context: dict[str, Any]) -> list[str]:
    """Roles that will sign, witness or read back something in this run, in protocol order."""
    needed: set[str] = set()
    for _, item in applicable(protocol, context):
        needed.add(item.by)
        needed.update(item.witness)
        needed.update(item.readback)
    return [role for role in protocol.roles if role in needed]


def next_step(protocol: Protocol, state: RunState) -> Step:
    if state.status in (HELD, ABORTED):
        return Stopped(state.status, state.open_hold)
    if state.completed:
        return Stopped(COMPLETE, None)
    missing = tuple(r for r in roles_needed(protocol, state.context) if r not in state.signed_in)
    if missing:
        return RollCall(missing)
    for block in blocks(protocol):
        per_take = block[0].repeat == "per_take"
        group = block[0].id
        if per_take and group in state.wrapped:
            continue
        take = state.takes.get(group, 1) if per_take else None
        for phase in block:
            for item in phase.items:
                step = _item_step(phase, item, take, state)
                if step is not None:
                    return step
        if per_take:
            return AnotherTake(group, take or 1, tuple(block))
    return Finish()


def _item_step(phase: Phase, item: Item, take: int | None, state: RunState) -> Step | None:
    key: Key = (phase.id, take, item.id)
    attempt = state.progress.get(key)
    if attempt is not None and attempt.outcome is not None:
        return None
    if attempt is None or attempt.performed is None:
        reason = _condition_false(phase, item, state.context)
        if reason is not None:
            return Skip(phase, item, take, reason)
        return Ask(phase, item, take, "performed", item.by, state.signed_in[item.by], item.critical)
    answer = attempt.performed["answer"]
    done_witness = {w["role"] for w in attempt.witnessed}
    for role in item.witness:
        if role not in done_witness:
            return Ask(phase, item, take, "witnessed", role, state.signed_in[role], True, answer)
    done_readback = {r["role"] for r in attempt.read_back}
    for role in item.readback:
        if role not in done_readback:
            return Ask(phase, item, take, "read-back", role, state.signed_in[role], True, answer)
    return None  # unreachable: the last signature is written together with item.done


# --- answers: what an answer adds to the log ------------------------------------------------------


def check_answer(item: Item, value: Any) -> Any:
    """Normalise a typed or file answer for the item's kind; SafetyError if it cannot be one."""
    if item.kind == "confirm":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("y", "yes", "true", "confirm", "confirmed"):
            return True
        if text in ("n", "no", "false", "refuse", "refused"):
            return False
        raise SafetyError(f"`{item.id}` needs yes or no, not {value!r}")
    if item.kind == "count":
        if isinstance(value, bool):
            raise SafetyError(f"`{item.id}` needs a whole number, not {value!r}")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise SafetyError(f"`{item.id}` needs a whole number, not {value!r}") from None
        if number < 0:
            raise SafetyError(f"`{item.id}` needs a count of zero or more, not {number}")
        return number
    if item.kind == "choice":
        options = item.options or []
        text = str(value).strip()
        for option in options:
            if text.lower() == option.lower():
                return option
        if text.isdigit() and 1 <= int(text) <= len(options):
            return options[int(text) - 1]
        raise SafetyError(f"`{item.id}` needs one of: {', '.join(options)}; not {value!r}")
    text = str(value).strip()
    if not text:
        raise SafetyError(f"`{item.id}` needs a written answer")
    return text


def expected_count(protocol: Protocol, state: RunState, step: Ask) -> int | None:
    """What a count with `expect: loaded - fired` must be in this run: the sum of the earlier
    counts' answers, from the same take for a check repeated per take, and summed over every
    take when a once-only check names a per-take count. None when a count it names was not
    taken (its condition was false, or it was marked not applicable)."""
    expr = step.item.expect
    if not isinstance(expr, str):
        return None
    terms = parse_sum(expr)
    if terms is None:
        return None
    phase_of = {item.id: phase for phase, item in protocol.items()}
    total = 0
    for sign, name in terms:
        phase = phase_of[name]
        answers = [
            attempt.performed["answer"]
            for (phase_id, take, item_id), attempt in state.progress.items()
            if item_id == name
            and phase_id == phase.id
            and attempt.performed is not None
            and (step.take is None or phase.repeat == "once" or take == step.take)
        ]
        if not answers:
            return None
        total += sign * sum(answers)
    return total


def judge(item: Item, answer: Any, expected: int | None = None) -> str | None:
    """Why this answer fails the item, or None when it passes. `expected` is the run's own sum
    for a count whose `expect` names other counts (see `expected_count`)."""
    if item.kind == "confirm" and answer is False:
        return "answered no"
    if item.kind == "count":
        if isinstance(item.expect, str) and expected is not None and answer != expected:
            gap = expected - answer
            return (
                f"does not add up: counted {answer}, but {item.expect} makes {expected} "
                f"({abs(gap)} {'missing' if gap > 0 else 'too many'})"
            )
        if isinstance(item.expect, int) and answer != item.expect:
            return f"counted {answer}, expected {item.expect}"
        if item.min is not None and answer < item.min:
            return f"counted {answer}, at least {item.min} required"
        if item.max is not None and answer > item.max:
            return f"counted {answer}, at most {item.max} allowed"
    if item.kind == "choice" and item.fail_on and answer in item.fail_on:
        return f"answered {answer}"
    return None


def _same_answer(item: Item, said: Any, heard: Any) -> bool:
    if item.kind == "text":
        return " ".join(str(said).split()).lower() == " ".join(str(heard).split()).lower()
    return bool(said == heard)


def _at(state: RunState, step: Ask | Skip) -> dict[str, Any]:
    """Where an item event belongs: the run, and the phase, take and item."""
    return {"run": state.run_id, "phase": step.phase.id, "take": step.take, "item": step.item.id}


def _done(
    state: RunState,
    step: Ask | Skip,
    outcome: str,
    reason: str | None,
    by: Signer | None,
    protocol: Protocol,
    *,
    stop: bool = False,
    raised_by: Signer | None = None,
) -> list[NewEvent]:
    """The item's outcome; a refused critical item, a read-back mismatch or a count outside its
    bounds also raises a hold (`stop`), because each means the firearm's state is not what the
    crew believes it is. The hold names who stopped it (`raised_by`: a refusing witness or the
    read-back that did not match), which is not always who performed the item (`by`)."""
    out = [ItemDone(**_at(state, step), outcome=outcome, reason=reason, by=by).new()]
    if outcome == "refused" and (step.item.critical or stop):
        hold = HoldRaised(
            **_at(state, step),
            reason=f"{step.item.ask} -- {reason}",
            raised_by=raised_by or by,
            clear_roles=tuple(protocol.hold.cleared_by),
        )
        out.append(hold.new())
    return out


def skip(protocol: Protocol, state: RunState, step: Skip) -> list[NewEvent]:
    return _done(state, step, "skipped-by-condition", step.reason, None, protocol)


def answer(protocol: Protocol, state: RunState, step: Ask, value: Any) -> list[NewEvent]:
    """The events one answer adds: the signature, and when it settles the item, the outcome (and a
    hold if a critical item failed), all to be appended in one transaction."""
    item = step.item
    signer = Signer(step.name, step.role)
    attempt = state.progress.get(step.key, Attempt())
    if step.meaning == "performed":
        if isinstance(value, NotApplicable):
            if not item.allow_na or item.critical:
                raise SafetyError(f"`{item.id}` cannot be marked not applicable")
            if not value.reason.strip():
                raise SafetyError("not applicable needs a reason")
            return _done(state, step, "not-applicable", value.reason.strip(), signer, protocol)
        value = check_answer(item, value)
        failure = judge(item, value, expected_count(protocol, state, step))
        event = ItemPerformed(
            **_at(state, step),
            answer=value,
            name=signer.name,
            role=signer.role,
            ok=failure is None,
            reason=failure,
        ).new()
        if failure is not None:
            out_of_bounds = item.kind == "count"
            return [
                event,
                *_done(state, step, "refused", failure, signer, protocol, stop=out_of_bounds),
            ]
        last = not item.witness and not item.readback
        return [event, *(_done(state, step, "confirmed", None, signer, protocol) if last else [])]

    performer = attempt.performed or {}
    by = Signer(performer.get("name", ""), performer.get("role", item.by))
    if step.meaning == "witnessed":
        ok = check_answer_confirm(value)
        event = ItemWitnessed(**_at(state, step), **signer.as_json(), ok=ok).new()
        if not ok:
            reason = f"{step.role} {step.name} did not confirm it"
            return [
                event,
                *_done(state, step, "refused", reason, by, protocol, raised_by=signer),
            ]
        remaining = [
            r
            for r in item.witness
            if r != step.role and r not in {w["role"] for w in attempt.witnessed}
        ]
        last = not remaining and not item.readback
    else:
        heard = check_answer(item, value)
        ok = _same_answer(item, step.answer, heard)
        reason = None if ok else f"read-back mismatch: {step.role} said {heard}, not {step.answer}"
        event = ItemReadBack(
            **_at(state, step), **signer.as_json(), answer=heard, ok=ok, reason=reason
        ).new()
        if not ok:
            return [
                event,
                *_done(state, step, "refused", reason, by, protocol, stop=True, raised_by=signer),
            ]
        remaining = [
            r
            for r in item.readback
            if r != step.role and r not in {x["role"] for x in attempt.read_back}
        ]
        last = not remaining
    return [event, *(_done(state, step, "confirmed", None, by, protocol) if last else [])]


def fails(protocol: Protocol, state: RunState, step: Ask, value: Any) -> bool:
    """Whether this answer fails the item. A failing answer is recorded at once, without waiting
    for a PIN: stopping work is always safe, and a "no" must never vanish because someone did
    not type their PIN after it."""
    if isinstance(value, NotApplicable):
        return False
    if step.meaning == "witnessed":
        return not check_answer_confirm(value)
    heard = check_answer(step.item, value)
    if step.meaning == "read-back":
        return not _same_answer(step.item, step.answer, heard)
    return judge(step.item, heard, expected_count(protocol, state, step)) is not None


def resumed(state: RunState) -> list[NewEvent]:
    """Picking an open run up again: everyone who signs from here signs in again."""
    return [RunResumed(run=state.run_id).new()]


def check_answer_confirm(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("y", "yes", "true"):
        return True
    if text in ("n", "no", "false"):
        return False
    raise SafetyError(f"a witness answers yes or no, not {value!r}")


def another_take(state: RunState, step: AnotherTake, more: bool) -> list[NewEvent]:
    if more:
        return [TakeNext(run=state.run_id, group=step.group, take=step.take + 1).new()]
    return [TakesWrapped(run=state.run_id, group=step.group, takes=step.take).new()]


def finish(state: RunState) -> list[NewEvent]:
    return [RunCompleted(run=state.run_id).new()]


def start(
    protocol: Protocol,
    run_id: str,
    scene: str,
    day: str,
    context: dict[str, Any],
    mode: str = "keyboard",
) -> list[NewEvent]:
    started = RunStarted(
        run=run_id,
        protocol={"id": protocol.id, "version": protocol.version, "sha256": protocol.origin.sha256},
        scene=scene,
        day=day,
        context=context,
        clear_roles=tuple(protocol.hold.cleared_by),
        mode=mode,
    )
    return [started.new()]


def sign_in(state: RunState, role: str, name: str) -> list[NewEvent]:
    for other_role, other in state.signed_in.items():
        if other.casefold() == name.casefold() and other_role != role:
            raise SafetyError(
                f"{name} is already signed in as {other_role} in this run: one person signs "
                "for one role, so every two-person check has two people"
            )
    return [SignedIn(run=state.run_id, name=name, role=role).new()]


def check_holdable(state: RunState, reason: str) -> None:
    """Whether a hold can be raised by hand: checked before anyone types a PIN, so a refusal does
    not cost a try, and again when the hold is written."""
    if state.status != OPEN:
        raise SafetyError(f"run {state.run_id} is {state.status}: only an open run can be held")
    if not reason.strip():
        raise SafetyError("a hold needs a reason: --reason TEXT")


def raise_hold(state: RunState, by: Signer, reason: str) -> list[NewEvent]:
    """A hold raised by hand on the whole run; the run's own clearing roles apply to it."""
    check_holdable(state, reason)
    return [HoldRaised(run=state.run_id, reason=reason.strip(), raised_by=by).new()]


def clearing_roles(protocol: Protocol | None, state: RunState) -> list[str]:
    """Who clears a hold on this run: the roles its protocol named when the run started (so an
    edited protocol file cannot change who must clear a hold already raised)."""
    if state.clear_roles or protocol is None:
        return list(state.clear_roles)
    return list(protocol.hold.cleared_by)  # a run recorded before runs kept their own


def check_clearable(state: RunState, note: str) -> Hold:
    """The hold to clear, if the note says what was done: checked before anyone is asked who
    clears, and again when the clearance is written."""
    hold = state.open_hold
    if hold is None or state.status != HELD:
        raise SafetyError(f"run {state.run_id} is {state.status}, not held: nothing to clear")
    if not note.strip():
        raise SafetyError("clearing a hold needs a note: what was found and what was done")
    return hold


def check_clearers(protocol: Protocol | None, state: RunState, clearers: list[Signer]) -> None:
    """Every clearing role is there, each a different person: checked before anyone types a
    PIN, and again when the clearance is written."""
    roles = {c.role for c in clearers}
    missing = [r for r in clearing_roles(protocol, state) if r not in roles]
    if missing:
        raise SafetyError(f"a hold on this run is cleared by {', '.join(missing)} too")
    names = [c.name.casefold() for c in clearers]
    if len(set(names)) != len(names):
        raise SafetyError(
            "each clearing role must be a different person: name them with --by ROLE=NAME"
        )


def clear_hold(
    protocol: Protocol | None, state: RunState, clearers: list[Signer], note: str
) -> list[NewEvent]:
    check_clearable(state, note)
    check_clearers(protocol, state, clearers)
    return [HoldCleared(run=state.run_id, note=note.strip(), cleared_by=tuple(clearers)).new()]


def check_abortable(state: RunState) -> None:
    if state.status in (COMPLETE, ABORTED):
        raise SafetyError(f"run {state.run_id} is already {state.status}: nothing to abort")
    if state.status == HELD:
        # Aborting must not be a way round a hold: whoever clears holds clears it first.
        raise SafetyError(
            f"run {state.run_id} is held: clear the hold first (safetycli clear "
            f"{state.run_id} --note ...), then abort it"
        )


def abort(state: RunState, by: Signer, reason: str) -> list[NewEvent]:
    check_abortable(state)
    return [RunAborted(run=state.run_id, reason=reason, by=by).new()]


def position(protocol: Protocol, step: Ask | Skip) -> tuple[int, int]:
    """(number of this item, items in the protocol) for the progress line."""
    ids = [item.id for _, item in protocol.items()]
    return ids.index(step.item.id) + 1, len(ids)
