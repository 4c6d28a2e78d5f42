"""The walk-through as a pure state machine: (protocol, events) -> next step; answer -> events.

No I/O, no terminal, no clock: the CLI, the answers-file mode and the tests all drive the same
machine, and a run's state is always what replaying its events gives. That is what makes a run
survive a kill -9: the log holds every answer, and replay puts the cursor back on the first item not
yet done.

Events of a run (all carry `run`; signatures carry `person`), each a type in events.py:
  run.started     {protocol: {id, version, sha256}, scene, day, context, clear_roles, mode}
  run.signed-in   {name, role}                     this person signs for this role (signed in
                                                   when their first check comes up)
  item.signed-off {phase, take, name, role, items: [{item, meaning, answer}], pin}
                                                   one person's checks of a phase, one PIN; it
                                                   folds in as the per-item signatures below
  item.performed  {phase, take, item, answer, name, role, ok, reason}
  item.witnessed  {phase, take, item, name, role, ok}
  item.read-back  {phase, take, item, name, role, answer, ok, reason}
  item.done       {phase, take, item, outcome, reason, by}   outcome: confirmed | refused |
                                                      not-applicable | skipped-by-condition
  take.next       {group, take}                    the AD called another take
  takes.wrapped   {group, takes}                   the AD wrapped the takes of this group
  hold.raised     {phase, take, item, reason, raised_by, clear_roles, also}
  hold.cleared    {note, cleared_by: [{name, role}]}
  run.resumed     {}                               a later sitting: everyone signs in again
  run.paused      {minutes}                        it stood still longer than pause_minutes
  item.corrected  {phase, take, item, answer, was, note, by, recheck}
  run.completed   {}
  run.aborted     {reason, by}

A run also answers to what happens beyond it (`production.Outside`, handed in by the session): a
stop-work on its scene, or another run of its scene on hold, stops it too; and a daily count may
be checked against what the day's other runs recorded (`expect: today(blanks-issued)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safetycli import i18n
from safetycli.conditions import DAY, RUN, parse_expect, parse_when
from safetycli.errors import SafetyError
from safetycli.events import (
    ITEM_CORRECTED,
    ITEM_DONE,
    ITEM_KINDS,
    ITEM_PERFORMED,
    ITEM_READ_BACK,
    ITEM_SIGNED_OFF,
    ITEM_WITNESSED,
    RUN_INTERRUPTED,
    RUN_PAUSED,
    RUN_RESUMED,
    RUN_SIGNED_IN,
    RUN_STARTED,
    TAKE_NEXT,
    TAKES_WRAPPED,
    Event,
    HoldCleared,
    HoldRaised,
    ItemCorrected,
    ItemDone,
    ItemPerformed,
    ItemReadBack,
    ItemSignedOff,
    ItemWitnessed,
    NewEvent,
    RunAborted,
    RunCompleted,
    RunInterrupted,
    RunPaused,
    RunResumed,
    RunStarted,
    SignedIn,
    Signer,
    TakeNext,
    TakesWrapped,
    expand,
)
from safetycli.lifecycle import ABORTED, COMPLETE, HELD, OPEN, Hold, Key, Lifecycle
from safetycli.limits import TEXT_MAX, check_length
from safetycli.names import fold_name
from safetycli.production import Outside, SceneStop
from safetycli.roles import role_name

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
    # (serial, label) of each firearm the run took out of the armory: its per-firearm checks
    # are asked for each (`walked`).
    firearms: tuple[tuple[str, str], ...] = ()
    started_at: str | None = None
    signed_in: dict[str, str] = field(default_factory=dict)  # role -> name
    # role -> the language its signer reads, from their sign-in (None: the protocol's own)
    langs: dict[str, str | None] = field(default_factory=dict)
    clear_roles: list[str] = field(default_factory=list)  # who clears a hold, fixed at start
    progress: dict[Key, Attempt] = field(default_factory=dict)
    takes: dict[str, int] = field(default_factory=dict)  # group -> current take
    wrapped: set[str] = field(default_factory=set)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)  # holds, completion, abort
    last_seq: int = 0
    last_at: str | None = None
    # Where the run has been, in order: (phase id, take) of each item event and each take
    # called, (None, None) once the takes are wrapped. A hold raised by hand in a take sends
    # that phase of that take back (see `raise_hold`).
    positions: list[tuple[str | None, int | None]] = field(default_factory=list)
    breaks: int = 0  # resumes and long pauses so far: each asks the after-break checks again
    began: bool = False  # any check answered yet: before that, a break handed nothing out
    interrupted: set[str] = field(default_factory=set)  # stops from beyond it, recorded once
    last_item_at: str | None = None  # when a check was last signed
    # Everyone who signed in at any sitting, by folded name: one person, one role per run.
    roles_of: dict[str, str] = field(default_factory=dict)
    # Who last signed in for each role, at any sitting: whom `clear` and `correct` offer.
    signers: dict[str, str] = field(default_factory=dict)
    rechecks: list[Key] = field(default_factory=list)  # sent back by corrections, not yet done
    # Not from the log: counts of rounds moved (`moves: blanks-returned`) answered earlier in
    # the batch being judged, which the armory has not recorded yet (`_provisional`).
    pending_rounds: tuple[tuple[str, int], ...] = ()
    # Not from the log: set by the session when something beyond the run stopped the walk-through
    # (a stop-work on its scene, or another run of the scene on hold).
    scene_stop: SceneStop | None = None

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

    def _take_a_break(self) -> None:
        """A resume or a long pause: the after-break checks are asked again, and a two-person
        check signed only in part before it starts again from the beginning (the firearm shown
        before lunch is not the firearm witnessed after it). A break before any check was
        answered is no break: nothing had been handed out, so nothing needs asking about (counted,
        it would ask the after-break checks in the middle of the first check after the resume)."""
        if self.began:
            self.breaks += 1
        for key, attempt in list(self.progress.items()):
            if attempt.outcome is None:
                del self.progress[key]

    def _send_back(self, phase: str | None, take: int | None, item: Key | None = None) -> None:
        """Checks signed only in part, the failed check (`item`), and in a repeated phase every
        check of that phase for that take: what a stop sends back to be checked again."""
        for key, attempt in list(self.progress.items()):
            part_signed = attempt.outcome is None
            same_phase_take = take is not None and (key[0], key[1]) == (phase, take)
            if part_signed or key == item or same_phase_take:
                del self.progress[key]

    def _restart_after(self, hold: Hold) -> None:
        """What a cleared hold sends back to be checked again: every check signed only in part
        (its signatures were given before work stopped), the failed check, and, in a phase
        repeated per take, every check of that phase for that take, because the firearm may have
        been handled while the problem was put right; and the next take's checks when they were
        signed in the same sitting, at cut (`also`)."""
        self._send_back(hold.phase, hold.take, hold.key)
        for phase, take in hold.also:
            self._send_back(phase, take)

    def apply(self, event: Event) -> None:
        """Fold one event into the state; replay is just this, in log order. A sign-off folds
        in as the per-item signatures it covers (`events.expand`)."""
        if event.kind == ITEM_SIGNED_OFF:
            for signed in expand(event):
                self.apply(signed)
            self.last_seq = event.seq
            self.last_at = event.at
            return
        data = event.data
        kind = event.kind
        self.last_seq = event.seq
        self.last_at = event.at
        if kind == RUN_STARTED:
            self.protocol = data["protocol"]
            self.scene = data["scene"]
            self.day = data["day"]
            self.context = dict(data.get("context", {}))
            self.firearms = tuple(tuple(f) for f in data.get("firearms", ()))  # type: ignore[misc]
            self.clear_roles = list(data.get("clear_roles", []))
            self.started_at = event.at
        elif kind == RUN_SIGNED_IN:
            self.signed_in[data["role"]] = data["name"]
            self.langs[data["role"]] = data.get("lang")
            self.signers[data["role"]] = data["name"]
            self.roles_of.setdefault(fold_name(data["name"]), data["role"])
        elif kind == RUN_RESUMED:
            # Sign-ins last one sitting: whoever picks the run up again signs in again, so
            # nobody answers as a person who signed in hours ago on another laptop.
            self.signed_in = {}
            self._take_a_break()
        elif kind == RUN_PAUSED:
            self._take_a_break()
        elif kind == RUN_INTERRUPTED:
            self.interrupted.add(data["cause"])
            self._send_back(data.get("phase"), data.get("take"))
            for phase, take in data.get("also", ()):
                self._send_back(phase, take)
        elif kind == ITEM_CORRECTED:
            key = (data["phase"], data["take"], data["item"])
            corrected = self.progress.get(key)
            if corrected is not None and corrected.performed is not None:
                corrected.performed = {**corrected.performed, "answer": data["answer"]}
            for raw in data.get("recheck", []):
                sent_back: Key = (raw[0], raw[1], raw[2])
                self.progress.pop(sent_back, None)
                if sent_back not in self.rechecks:
                    self.rechecks.append(sent_back)
        elif kind in ITEM_KINDS:
            self.began = True
            self.last_item_at = event.at
            key = (data["phase"], data["take"], data["item"])
            self.positions.append((key[0], key[1]))
            if kind == ITEM_DONE and key in self.rechecks:
                self.rechecks.remove(key)
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
            self.positions.append((data["group"], data["take"]))
        elif kind == TAKES_WRAPPED:
            self.wrapped.add(data["group"])
            self.positions.append((None, None))
        else:
            cleared = self.lifecycle.apply(kind, event.seq, event.at, data)
            if cleared is not None:
                self._restart_after(cleared)


class UnknownRun(SafetyError):
    """No run of that id in the log read (a reader of the central store names its own listing)."""

    def __init__(self, run_id: str, listing: str = "safetycli log list") -> None:
        super().__init__(f"unknown run `{run_id}`: see `{listing}`")
        self.run_id = run_id


def replay(run_id: str, events: Iterable[Event]) -> RunState:
    state = RunState(run_id)
    for event in events:
        state.apply(event)
    if not state.protocol:
        raise UnknownRun(run_id)
    return state


# --- steps: what the machine needs next -----------------------------------------------------------


@dataclass(frozen=True)
class RollCall:
    """Roles that must sign in (name + PIN) before the walk-through can go on: the person whose
    checks come next (`batch`), when their first check comes up, not everyone at the start."""

    roles: tuple[str, ...]
    batch: Batch | None = None


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
class Batch:
    """One person's checks in one phase (and take) that they can answer now, in protocol
    order: the checks they perform, and those they witness or read back once performed. Each is
    answered in turn; the batch is signed once, with one PIN when any of its checks asks for
    one. A failing answer is recorded at once, alone, without waiting for the rest or a PIN."""

    phase: Phase
    take: int | None
    role: str
    name: str
    asks: tuple[Ask, ...]

    @property
    def needs_pin(self) -> bool:
        return any(ask.needs_pin for ask in self.asks)

    @property
    def places(self) -> list[tuple[Phase, int | None]]:
        """The phases (and takes) the batch covers, in order: one, or at cut two (the checks
        after a take and those before the next, signed in one sitting)."""
        out: list[tuple[Phase, int | None]] = []
        for ask in self.asks:
            if not any(p.id == ask.phase.id and t == ask.take for p, t in out):
                out.append((ask.phase, ask.take))
        return out


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
    """Held or aborted: nothing proceeds. `scene` is set when the stop comes from beyond the run
    (a stop-work on its scene, or another run of the scene on hold): the run itself is open."""

    status: str
    hold: Hold | None
    scene: SceneStop | None = None


Step = RollCall | Skip | Ask | Batch | AnotherTake | Finish | Stopped


def blocks(protocol: Protocol) -> list[list[Phase]]:
    """Phases in order, consecutive per-take phases grouped: one take runs through the group.
    After-break phases are not in the flow: `next_step` asks them after a break."""
    out: list[list[Phase]] = []
    for phase in protocol.phases:
        if phase.repeat == "after_break":
            continue
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


def roles_still_needed(protocol: Protocol, state: RunState) -> list[str]:
    """Roles with something left to sign in this run: a resume after a hold at wrap asks the
    armorer and the 1st AD to sign in again, not an actor who has gone home."""
    group_of = {phase.id: block[0].id for block in blocks(protocol) for phase in block}

    def settled(phase_id: str, take: int | None, item_id: str) -> bool:
        attempt = state.progress.get((phase_id, take, item_id))
        return attempt is not None and attempt.outcome is not None

    needed: set[str] = set()
    rechecked = {key[2] for key in state.rechecks}
    for phase, item in applicable(protocol, state.context):
        if phase.repeat == "after_break":
            if not (state.breaks and state.began) or settled(phase.id, state.breaks, item.id):
                continue
        elif phase.repeat == "per_take":
            group = group_of[phase.id]
            takes = range(1, state.takes.get(group, 1) + 1)
            pending = group not in state.wrapped or any(
                not settled(phase.id, t, item.id) for t in takes
            )
            if not pending and item.id not in rechecked:
                continue
        elif settled(phase.id, None, item.id) and item.id not in rechecked:
            continue
        needed.add(item.by)
        needed.update(item.witness)
        needed.update(item.readback)
    return [role for role in protocol.roles if role in needed]


def camera_rolling(protocol: Protocol, state: RunState) -> bool:
    """The take is being shot: the checks before it are done and the walk-through waits at
    "another take?", which the 1st AD answers on cut. The firearm is with the performer by
    design then, so a long take is not a break."""
    step = next_step(protocol, state)
    return isinstance(step, AnotherTake) and len(step.phases) > 1


def next_step(protocol: Protocol, state: RunState, outside: Outside | None = None) -> Step:
    """What the walk-through needs next: a skip, one person's batch of checks (after their
    sign-in, when they have not signed in this sitting), another take, the finish, or a stop."""
    step = _next_item(protocol, state, outside)
    if not isinstance(step, Ask):
        return step
    batch = _batch(protocol, state, step)
    if batch.role not in state.signed_in:
        return RollCall((batch.role,), batch)
    return batch


def _next_item(protocol: Protocol, state: RunState, outside: Outside | None = None) -> Step:
    """The first thing not yet done, one item at a time, in the run's order."""
    if state.status in (HELD, ABORTED):
        return Stopped(state.status, state.open_hold)
    if state.completed:
        return Stopped(COMPLETE, None)
    if outside is not None and outside.stops:
        return Stopped(HELD, None, outside.stops[0])
    # After a resume or a long pause, first of all: where were the firearms and rounds
    # meanwhile? (Not before the first check: nothing had been handed out yet.)
    if state.breaks and state.began:
        for phase in protocol.phases:
            if phase.repeat == "after_break":
                for item in phase.items:
                    step = _item_step(phase, item, state.breaks, state)
                    if step is not None:
                        return step
    # Then the checks a correction sent back: their sums used the answer that was wrong.
    where = {item.id: phase for phase, item in protocol.items()}
    for _, take, item_id in sorted(state.rechecks, key=_protocol_order(protocol)):
        phase = where[item_id]
        step = _item_step(phase, protocol.item(item_id), take, state)
        if step is not None:
            return step
    for block in blocks(protocol):
        if block[0].repeat != "per_take":
            for phase in block:
                for item in phase.items:
                    step = _item_step(phase, item, None, state)
                    if step is not None:
                        return step
            continue
        group = block[0].id
        current = state.takes.get(group, 1)
        wrapped = group in state.wrapped
        for take in range(1, current + 1):
            for n, phase in enumerate(block):
                if at_cut(block, n) and take == current and not wrapped:
                    # The checks before the take are done and the camera rolls: on cut the 1st
                    # AD calls another take or wraps, so that one sitting covers the checks
                    # after this take and those before the next.
                    return AnotherTake(group, take, tuple(block))
                for item in phase.items:
                    step = _item_step(phase, item, take, state)
                    if step is not None:
                        return step
        if not wrapped:
            return AnotherTake(group, current, tuple(block))
    return Finish()


def at_cut(block: list[Phase], n: int) -> bool:
    """Whether phase `n` of a per-take group is the one after the camera rolls (the last of two
    or more): "another take?" comes before it."""
    return len(block) > 1 and n == len(block) - 1


def sitting_after(
    protocol: Protocol, state: RunState, phase_id: str | None, take: int | None
) -> tuple[tuple[str, int | None], ...]:
    """What is signed in the same sitting as the checks after take `take`: the next take's
    checks before it, once the 1st AD has called it. A hold there sends both back."""
    if phase_id is None or take is None:
        return ()
    for block in blocks(protocol):
        ids = [p.id for p in block]
        if phase_id in ids and block[0].repeat == "per_take":
            if at_cut(block, ids.index(phase_id)) and state.takes.get(block[0].id, 1) > take:
                return ((block[0].id, take + 1),)
    return ()


def _open_asks(
    phase: Phase, take: int | None, state: RunState, only: set[Key] | None = None
) -> tuple[list[Ask], set[str]]:
    """Every signature this phase (and take) still needs that someone can give now, in protocol
    order (the performer's before the witnesses', witnesses' and read-backs' once performed);
    and the roles with a signature that waits for someone else's check first."""
    ready: list[Ask] = []
    waiting: set[str] = set()
    for item in phase.items:
        key: Key = (phase.id, take, item.id)
        attempt = state.progress.get(key)
        if (attempt is not None and attempt.outcome is not None) or (
            only is not None and key not in only
        ):
            continue
        if attempt is None or attempt.performed is None:
            if _condition_false(phase, item, state.context) is not None:
                continue  # a skip: recorded when it comes up, nobody signs it
            name = state.signed_in.get(item.by, "")
            ready.append(Ask(phase, item, take, "performed", item.by, name, item.critical))
            waiting.update(item.witness)
            waiting.update(item.readback)
            continue
        answer = attempt.performed["answer"]
        done = {w["role"] for w in attempt.witnessed}
        for role in item.witness:
            if role not in done:
                name = state.signed_in.get(role, "")
                ready.append(Ask(phase, item, take, "witnessed", role, name, True, answer))
        done = {r["role"] for r in attempt.read_back}
        for role in item.readback:
            if role not in done:
                name = state.signed_in.get(role, "")
                ready.append(Ask(phase, item, take, "read-back", role, name, True, answer))
    return ready, waiting


def _batch(protocol: Protocol, state: RunState, first: Ask) -> Batch:
    """Whose checks come next, and which: in the phase (and take) of the first check not yet
    done, the first person (in protocol order) who can sign everything of theirs in it now,
    so that witnesses sign after the check they witness and each person signs once a phase;
    when everyone waits on someone (the 1st AD witnesses the armorer's check and the armorer
    the AD's), the first person signs what they can now and the rest later."""
    # Checks a correction sent back are asked on their own, not with the rest of their phase.
    only = set(state.rechecks) if first.key in state.rechecks else None
    ready, waiting = _open_asks(first.phase, first.take, state, only)
    if only is None:  # at cut: the next take's checks are signed in the same sitting
        for phase_id, take in sitting_after(protocol, state, first.phase.id, first.take):
            more, more_waiting = _open_asks(protocol.phase(phase_id), take, state)
            ready += more
            waiting |= more_waiting
    roles: list[str] = []
    for ask in ready:
        if ask.role not in roles:
            roles.append(ask.role)
    role = next((r for r in roles if r not in waiting), first.role)
    name = state.signed_in.get(role, "")
    asks = tuple(
        Ask(a.phase, a.item, a.take, a.meaning, a.role, name, a.needs_pin, a.answer)
        for a in ready
        if a.role == role
    )
    return Batch(first.phase, first.take, role, name, asks)


def _protocol_order(protocol: Protocol) -> Any:
    order = {item.id: i for i, (_, item) in enumerate(protocol.items())}
    return lambda key: (order.get(key[2], 0), key[1] or 0)


def _item_step(phase: Phase, item: Item, take: int | None, state: RunState) -> Step | None:
    key: Key = (phase.id, take, item.id)
    attempt = state.progress.get(key)
    if attempt is not None and attempt.outcome is not None:
        return None
    if attempt is None or attempt.performed is None:
        reason = _condition_false(phase, item, state.context)
        if reason is not None:
            return Skip(phase, item, take, reason)
        name = state.signed_in.get(item.by, "")
        return Ask(phase, item, take, "performed", item.by, name, item.critical)
    answer = attempt.performed["answer"]
    done_witness = {w["role"] for w in attempt.witnessed}
    for role in item.witness:
        if role not in done_witness:
            return Ask(
                phase, item, take, "witnessed", role, state.signed_in.get(role, ""), True, answer
            )
    done_readback = {r["role"] for r in attempt.read_back}
    for role in item.readback:
        if role not in done_readback:
            return Ask(
                phase, item, take, "read-back", role, state.signed_in.get(role, ""), True, answer
            )
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
        raise SafetyError(
            i18n._("`{id}` needs yes or no, not {value}").format(id=item.id, value=repr(value))
        )
    if item.kind == "count":
        whole = i18n._("`{id}` needs a whole number, not {value}")
        if isinstance(value, bool):
            raise SafetyError(whole.format(id=item.id, value=repr(value)))
        try:
            number = int(str(value).strip())
        except ValueError:
            raise SafetyError(whole.format(id=item.id, value=repr(value))) from None
        if number < 0:
            raise SafetyError(
                i18n._("`{id}` needs a count of zero or more, not {value}").format(
                    id=item.id, value=number
                )
            )
        return number
    if item.kind == "choice":
        options = item.options or []
        text = str(value).strip()
        for option in options:
            if text.lower() == option.lower():
                return option
        if text.isdigit() and 1 <= int(text) <= len(options):
            return options[int(text) - 1]
        raise SafetyError(
            i18n._("`{id}` needs one of: {options}; not {value}").format(
                id=item.id, options=", ".join(options), value=repr(value)
            )
        )
    text = str(value).strip()
    if not text:
        raise SafetyError(i18n._("`{id}` needs a written answer").format(id=item.id))
    return check_length(text, f"the answer to `{item.id}`", TEXT_MAX)


def expected_count(
    protocol: Protocol,
    state: RunState,
    item: Item,
    take: int | None,
    outside: Outside | None = None,
) -> int | None:
    """What a count with `expect: loaded - fired` must be in this run: the sum of the earlier
    counts' answers, from the same take for a check repeated per take, and summed over every
    take when a once-only check names a per-take count; `today(id)` adds that count over the
    day's other runs (`outside`). None when a count it names was not taken (its condition was
    false, or it was marked not applicable), or the day's runs are not known."""
    found = _sum(protocol, state, item, take, outside)
    return None if found is None else found[0]


def _words(item_id: str) -> str:
    return item_id.replace("-", " ")


def _sum(
    protocol: Protocol,
    state: RunState,
    item: Item,
    take: int | None,
    outside: Outside | None,
) -> tuple[int, str] | None:
    """(the expected count, the sum in words: "blanks issued 12 - blanks returned 6 = 6")."""
    expr = item.expect
    if not isinstance(expr, str):
        return None
    terms = parse_expect(expr)
    if terms is None:
        return None
    phase_of = {item.id: phase for phase, item in protocol.items()}
    total = 0
    said: list[str] = []
    for n, term in enumerate(terms):
        if term.scope == DAY:
            if outside is None:
                return None
            value = outside.day_totals.get(term.item, 0)
            label = f"{_words(term.item)} in today's other runs"
        else:
            phase = phase_of[term.item]
            answers = [
                attempt.performed["answer"]
                for (phase_id, at_take, item_id), attempt in state.progress.items()
                if item_id == term.item
                and phase_id == phase.id
                and attempt.performed is not None
                and (take is None or phase.repeat == "once" or at_take == take)
            ]
            if not answers:
                return None
            value = sum(answers)
            label = _words(term.item) + (" (all takes)" if len(answers) > 1 else "")
        total += term.sign * value
        sign = "" if n == 0 else (" + " if term.sign > 0 else " - ")
        said.append(f"{sign}{label} {value}")
    return total, f"{''.join(said)} = {total}"


def _unfinished_day(item: Item, outside: Outside | None) -> str | None:
    """A close-out adding up the day's rounds while a run of the day still has rounds out."""
    terms = parse_expect(item.expect) if isinstance(item.expect, str) else None
    if not terms or outside is None or not outside.unfinished_today:
        return None
    if not any(t.scope == DAY for t in terms):
        return None
    return (
        f"today's runs are not all finished ({', '.join(outside.unfinished_today)}): their "
        "rounds may still be out; finish or abort them, then count again"
    )


def _failure(
    protocol: Protocol,
    state: RunState,
    item: Item,
    take: int | None,
    value: Any,
    outside: Outside | None,
) -> str | None:
    """Why the performer's answer fails the item, sums and the day's other runs included."""
    early = _unfinished_day(item, outside)
    if early is not None:
        return early
    found = _sum(protocol, state, item, take, outside)
    return judge(item, value, *(found or (None, None))) or _custody_failure(
        item, value, outside, state.pending_rounds
    )


def _custody_failure(
    item: Item, value: Any, outside: Outside | None, pending: tuple[tuple[str, int], ...] = ()
) -> str | None:
    """An item with `custody:` checked against the armory's own record (`armory.Verdict`, read
    by the session): a count that is not the armory's, or a firearm or round still out, fails
    it like any other answer, naming the serial or lot; so does a hand-over of a firearm the
    armorer does not have (`moves`). No armory, no verdict, no change."""
    key = item.custody_key
    if key is None or outside is None:
        return None
    custody = outside.custody
    if item.custody and item.rounds_move is not None and _number(value):
        pending += ((item.rounds_move, value),)  # "blanks spoiled", checked with itself
    after = getattr(custody, "after", None)
    if pending and after is not None:  # with the rounds counted earlier in the same batch
        custody = after(pending)
    verdict = custody.get(key)
    return None if verdict is None else verdict.judge(item.kind, value)


def _number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def judge(
    item: Item, answer: Any, expected: int | None = None, sum_words: str | None = None
) -> str | None:
    """Why this answer fails the item, or None when it passes. `expected` is the run's own sum
    for a count whose `expect` names other counts (see `expected_count`); `sum_words` says that
    sum in words, so the hold names the counts rather than an expression."""
    if item.kind == "confirm" and answer is False:
        return "answered no"
    if item.kind == "count":
        if isinstance(item.expect, str) and expected is not None and answer != expected:
            gap = expected - answer
            how = sum_words or f"{item.expect} makes {expected}"
            return (
                f"does not add up: {how}, but {answer} counted "
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
            reason=f"{step.item.question} -- {reason}",
            raised_by=raised_by or by,
            clear_roles=tuple(step.item.clear_roles(protocol.hold.cleared_by)),
            also=sitting_after(protocol, state, step.phase.id, step.take),
        )
        out.append(hold.new())
    return out


def skip(protocol: Protocol, state: RunState, step: Skip) -> list[NewEvent]:
    return _done(state, step, "skipped-by-condition", step.reason, None, protocol)


def answer(
    protocol: Protocol, state: RunState, step: Ask, value: Any, outside: Outside | None = None
) -> list[NewEvent]:
    """The events one answer adds: the signature, and when it settles the item, the outcome (and a
    hold if a critical item failed), all to be appended in one transaction."""
    item = step.item
    signer = Signer(step.name, step.role)
    attempt = state.progress.get(step.key, Attempt())
    if step.meaning != "performed" and attempt.performed is not None:
        _not_own_check(step, attempt.performed["name"])
    if step.meaning == "performed":
        if isinstance(value, NotApplicable):
            if not item.allow_na or item.critical:
                raise SafetyError(f"`{item.id}` cannot be marked not applicable")
            if not value.reason.strip():
                raise SafetyError("not applicable needs a reason")
            check_length(value.reason, "a not-applicable reason")
            return _done(state, step, "not-applicable", value.reason.strip(), signer, protocol)
        value = check_answer(item, value)
        failure = _failure(protocol, state, item, step.take, value, outside)
        event = ItemPerformed(
            **_at(state, step),
            answer=value,
            name=signer.name,
            role=signer.role,
            ok=failure is None,
            reason=failure,
            **_read(protocol, state, step),
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
        event = ItemWitnessed(
            **_at(state, step), **signer.as_json(), ok=ok, **_read(protocol, state, step)
        ).new()
        if not ok:
            reason = f"{role_name(step.role)} {step.name} did not confirm it"
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
        reason = (
            None
            if ok
            else f"read-back mismatch: {role_name(step.role)} said {heard}, not {step.answer}"
        )
        event = ItemReadBack(
            **_at(state, step),
            **signer.as_json(),
            answer=heard,
            ok=ok,
            reason=reason,
            **_read(protocol, state, step),
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


def _read(protocol: Protocol, state: RunState, step: Ask) -> dict[str, Any]:
    """A signature's language and text hash (`read_by`), for a check answered on its own."""
    lang, text_sha256, _ = read_by(protocol, state, step.role, [step.item.id])
    return {"lang": lang, "text_sha256": text_sha256}


def _provisional(
    protocol: Protocol,
    state: RunState,
    entries: list[tuple[Ask, Any]],
    outside: Outside | None,
) -> tuple[RunState, list[NewEvent]]:
    """The run as it would be with a batch's answers so far recorded, and the per-item events
    they make: later answers in the batch are judged against the earlier ones (the unfired
    count of a take against the count fired, typed a moment before in the same batch)."""
    ahead = deepcopy(state)
    made: list[NewEvent] = []
    for ask, value in entries:
        for new in answer(protocol, ahead, ask, value, outside):
            made.append(new)
            ahead.apply(
                Event(
                    ahead.last_seq,
                    ahead.last_at or "",
                    new.kind,
                    new.run,
                    new.person,
                    new.data,
                    "",
                    "",
                )
            )
        moves = ask.item.rounds_move
        if ask.meaning == "performed" and moves is not None and _number(value):
            ahead.pending_rounds += ((moves, value),)
    return ahead, made


def ahead_of(
    protocol: Protocol,
    state: RunState,
    entries: list[tuple[Ask, Any]],
    outside: Outside | None = None,
) -> RunState:
    """The run as it would be with these answers of a batch recorded (nothing is written):
    what the next answer of the batch is judged against, and a count's expected sum shown."""
    return _provisional(protocol, state, entries, outside)[0]


def batch_fails(
    protocol: Protocol,
    state: RunState,
    entries: list[tuple[Ask, Any]],
    step: Ask,
    value: Any,
    outside: Outside | None = None,
) -> bool:
    """Whether this answer, after the batch's earlier ones, fails its check (see `fails`)."""
    ahead, _ = _provisional(protocol, state, entries, outside)
    return fails(protocol, ahead, step, value, outside)


def refuse_in_batch(
    protocol: Protocol,
    state: RunState,
    entries: list[tuple[Ask, Any]],
    step: Ask,
    value: Any,
    outside: Outside | None = None,
) -> list[NewEvent]:
    """A failing answer in a batch, recorded at once and alone, as a single answer always was:
    its signature (not ok), the refusal and the hold. The batch's earlier answers are not
    recorded (nobody signed them): they are asked again once the hold is cleared. The failure
    is judged with them, so a count that does not add up names the numbers typed."""
    ahead, _ = _provisional(protocol, state, entries, outside)
    return answer(protocol, ahead, step, value, outside)


def sign_batch(
    protocol: Protocol,
    state: RunState,
    batch: Batch,
    entries: list[tuple[Ask, Any]],
    outside: Outside | None = None,
    pin: str | None = None,
) -> list[NewEvent]:
    """One sign-off for a batch: a single `item.signed-off` naming every check it covers with
    its meaning and answer, then the outcome of each check it settles. Judged again here, with
    the run as it is when appended: should an answer fail now (a count of the day's other runs
    moved meanwhile), that failure is what is recorded, alone, as `refuse_in_batch` does."""
    if not entries:
        return []
    # Recorded in the order the batch lists its checks (the one-key line is typed first).
    order = {ask.key + (ask.meaning,): n for n, ask in enumerate(batch.asks)}
    entries = sorted(entries, key=lambda e: order.get(e[0].key + (e[0].meaning,), len(order)))
    for n, (ask, value) in enumerate(entries):
        if batch_fails(protocol, state, entries[:n], ask, value, outside):
            return refuse_in_batch(protocol, state, entries[:n], ask, value, outside)
    _, made = _provisional(protocol, state, entries, outside)
    covered: list[dict[str, Any]] = []
    outcomes: list[NewEvent] = []
    for new in made:
        data = new.data
        if new.kind == ITEM_PERFORMED:
            covered.append({"item": data["item"], "meaning": "performed", "answer": data["answer"]})
        elif new.kind == ITEM_WITNESSED:
            covered.append({"item": data["item"], "meaning": "witnessed", "answer": data["ok"]})
        elif new.kind == ITEM_READ_BACK:
            covered.append({"item": data["item"], "meaning": "read-back", "answer": data["answer"]})
        elif new.kind == ITEM_DONE and data["outcome"] == "not-applicable":
            covered.append({"item": data["item"], "meaning": "not-applicable", "answer": None})
            outcomes.append(new)
        else:
            outcomes.append(new)
    # One sign-off per phase (and take), all under the one PIN: at cut a sitting covers two.
    place_of = {(a.key[2], a.meaning): (a.phase.id, a.take) for a in batch.asks}
    signed: list[NewEvent] = []
    for phase, take in batch.places:
        mine = [
            entry
            for entry in covered
            if place_of.get((entry["item"], _meaning_of(entry))) == (phase.id, take)
        ]
        if mine:
            lang, text_sha256, fallback = read_by(
                protocol, state, batch.role, [entry["item"] for entry in mine]
            )
            signed.append(
                ItemSignedOff(
                    run=state.run_id,
                    phase=phase.id,
                    take=take,
                    name=batch.name,
                    role=batch.role,
                    items=tuple(mine),
                    pin=pin,
                    lang=lang,
                    text_sha256=text_sha256,
                    fallback=fallback,
                ).new()
            )
    return [*signed, *outcomes]


def lang_of(state: RunState, role: str) -> str | None:
    """The language the signer for `role` reads in this sitting (None: the protocol's own)."""
    return state.langs.get(role)


def read_by(
    protocol: Protocol, state: RunState, role: str, item_ids: list[str]
) -> tuple[str, str, tuple[str, ...]]:
    """What the signer for `role` read of these checks (translation.py): their language, the
    sha256 of the questions and options shown, and the checks shown in the protocol's own
    language for want of a translation. The frontend shows the same text from the same
    function, so the hash is of what was on the screen."""
    from safetycli.translation import signature_texts

    items = []
    for item_id in item_ids:
        try:
            items.append(protocol.item(item_id))
        except KeyError:
            continue
    return signature_texts(protocol, items, lang_of(state, role))


def _meaning_of(entry: dict[str, Any]) -> str:
    """The ask's meaning a sign-off entry answers (not applicable is the performer's)."""
    return "performed" if entry["meaning"] == "not-applicable" else entry["meaning"]


def _not_own_check(step: Ask, performer: str) -> None:
    """Nobody witnesses or reads back a check they performed: a two-person check has two people,
    in every sitting (sign-in already keeps one person to one role in a run)."""
    if fold_name(step.name) == fold_name(performer):
        verb = "witness" if step.meaning == "witnessed" else "read back"
        raise SafetyError(
            f"{step.name} performed `{step.item.id}` and cannot also {verb} it: someone else "
            "in that role signs in"
        )


def fails(
    protocol: Protocol, state: RunState, step: Ask, value: Any, outside: Outside | None = None
) -> bool:
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
    return _failure(protocol, state, step.item, step.take, heard, outside) is not None


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
    raise SafetyError(i18n._("a witness answers yes or no, not {value}").format(value=repr(value)))


def another_take(state: RunState, step: AnotherTake, more: bool) -> list[NewEvent]:
    if more:
        return [TakeNext(run=state.run_id, group=step.group, take=step.take + 1).new()]
    return [TakesWrapped(run=state.run_id, group=step.group, takes=step.take).new()]


def finish(state: RunState) -> list[NewEvent]:
    return [RunCompleted(run=state.run_id).new()]


def walked(protocol: Protocol, state: RunState) -> Protocol:
    """The protocol as this run walks it: its per-firearm checks asked for each firearm it took
    out of the armory. Every step, answer and correction of the run is read against this."""
    return protocol.for_firearms(state.firearms)


def start(
    protocol: Protocol,
    run_id: str,
    scene: str,
    day: str,
    context: dict[str, Any],
    mode: str = "keyboard",
    firearms: tuple[tuple[str, str], ...] = (),
) -> list[NewEvent]:
    started = RunStarted(
        run=run_id,
        protocol={
            "id": protocol.id,
            "version": protocol.version,
            "sha256": protocol.origin.sha256,
            **protocol.origin.files(protocol.translations),
        },
        scene=scene,
        day=day,
        context=context,
        clear_roles=tuple(protocol.hold.cleared_by),
        mode=mode,
        scope="day" if protocol.scope == "day" else None,
        firearms=firearms,
    )
    return [started.new()]


def sign_in(state: RunState, role: str, name: str, lang: str | None = None) -> list[NewEvent]:
    """One person signs for one role in a run, across every sitting: someone who signed as the
    armorer before lunch cannot come back as the 1st AD and witness their own check. `lang` is
    the language the roster says they read: their checks are shown, and signed, in it for the
    rest of the sitting."""
    for other_role, other in state.signed_in.items():
        if fold_name(other) == fold_name(name) and other_role != role:
            raise SafetyError(
                f"{name} is already signed in as {role_name(other_role)} in this run: one "
                "person signs for one role, so every two-person check has two people"
            )
    earlier = state.roles_of.get(fold_name(name))
    if earlier is not None and earlier != role:
        raise SafetyError(
            f"{name} signed for {role_name(earlier)} earlier in this run: one person signs for "
            "one role in a run, so every two-person check has two people"
        )
    return [SignedIn(run=state.run_id, name=name, role=role, lang=lang).new()]


def check_holdable(state: RunState, reason: str) -> None:
    """Whether a hold can be raised by hand: checked before anyone types a PIN, so a refusal does
    not cost a try, and again when the hold is written."""
    if state.status != OPEN:
        raise SafetyError(
            i18n._("run {run} is {status}: only an open run can be held").format(
                run=state.run_id,
                status=i18n._(state.status),  # a status word (render.fmt)
            )
        )
    if not reason.strip():
        raise SafetyError(i18n._("a hold needs a reason: --reason TEXT"))
    check_length(reason, "a hold's reason")


def raise_hold(
    state: RunState,
    by: Signer,
    reason: str,
    protocol: Protocol | None = None,
    *,
    authenticated: bool = True,
) -> list[NewEvent]:
    """A hold raised by hand on the whole run; the run's own clearing roles apply to it. Raised
    during a take, it names where the take stood, so clearing it sends that take's phase back
    (the firearm may have been handled while work was stopped). The after-break checks are not
    a place in the take: with the protocol at hand they are looked past; without it (a broken
    file must never stop anyone stopping work) the last place the run was is named."""
    check_holdable(state, reason)
    phase, take = _in_take(state, protocol)
    hold = HoldRaised(
        run=state.run_id,
        phase=phase,
        take=take,
        reason=reason.strip(),
        raised_by=by,
        authenticated=authenticated,
        also=sitting_after(protocol, state, phase, take) if protocol else (),
    )
    return [hold.new()]


def _in_take(state: RunState, protocol: Protocol | None) -> tuple[str | None, int | None]:
    """The phase and take where the run stands, looking past the after-break checks (they are
    not a place in the take); (None, None) outside the takes."""
    breaks = {p.id for p in protocol.phases if p.repeat == "after_break"} if protocol else set()
    phase, take = next(
        ((ph, tk) for ph, tk in reversed(state.positions) if ph not in breaks), (None, None)
    )
    return (phase, take) if take is not None else (None, None)


def interrupt(state: RunState, stop: SceneStop, protocol: Protocol) -> list[NewEvent]:
    """A stop from beyond the run (its scene held) reached it: the take's phase where it stood
    goes back, as a hold of its own would send it. Nothing when already recorded, or before
    anything was checked."""
    if stop.cause in state.interrupted or not state.began:
        return []
    phase, take = _in_take(state, protocol)
    event = RunInterrupted(
        run=state.run_id,
        phase=phase,
        take=take,
        cause=stop.cause,
        reason=stop.reason,
        also=sitting_after(protocol, state, phase, take),
    )
    return [event.new()]


def paused(state: RunState, minutes: int) -> list[NewEvent]:
    """The walk-through stood still `minutes`: the after-break checks come next."""
    return [RunPaused(run=state.run_id, minutes=minutes).new()]


def clearing_roles(protocol: Protocol | None, state: RunState) -> list[str]:
    """Who clears a hold on this run: the roles its protocol named when the run started (so an
    edited protocol file cannot change who must clear a hold already raised); a hold on a check
    with its own `cleared_by` (or that records an incident) names its own."""
    hold = state.open_hold
    if hold is not None and hold.clear_roles:
        return list(hold.clear_roles)
    if state.clear_roles or protocol is None:
        return list(state.clear_roles)
    return list(protocol.hold.cleared_by)  # a run recorded before runs kept their own


def check_clearable(state: RunState, note: str) -> Hold:
    """The hold to clear, if the note says what was done: checked before anyone is asked who
    clears, and again when the clearance is written."""
    hold = state.open_hold
    if hold is None or state.status != HELD:
        raise SafetyError(
            i18n._("run {run} is {status}, not held: nothing to clear").format(
                run=state.run_id,
                status=i18n._(state.status),  # a status word (render.fmt)
            )
        )
    if not note.strip():
        raise SafetyError(i18n._("clearing a hold needs a note: what was found and what was done"))
    check_length(note, "a note")
    return hold


def check_clearers(protocol: Protocol | None, state: RunState, clearers: list[Signer]) -> None:
    """Every clearing role is there, each a different person: checked before anyone types a
    PIN, and again when the clearance is written."""
    roles = {c.role for c in clearers}
    missing = [r for r in clearing_roles(protocol, state) if r not in roles]
    if missing:
        said = " and ".join(role_name(r) for r in missing)
        raise SafetyError(f"a hold on this run is cleared by {said} too")
    names = [fold_name(c.name) for c in clearers]
    if len(set(names)) != len(names):
        raise SafetyError(
            "each clearing role must be a different person: name them with --by ROLE=NAME"
        )
    for clearer in clearers:  # one person, one role per run reaches clearing too
        earlier = state.roles_of.get(fold_name(clearer.name))
        if earlier is not None and earlier != clearer.role:
            raise SafetyError(
                f"{clearer.name} signed for {role_name(earlier)} in this run, so cannot clear its "
                f"hold as {role_name(clearer.role or '')}: name someone else with "
                f"--by {clearer.role}=NAME"
            )


def clear_hold(
    protocol: Protocol | None, state: RunState, clearers: list[Signer], note: str
) -> list[NewEvent]:
    check_clearable(state, note)
    check_clearers(protocol, state, clearers)
    return [HoldCleared(run=state.run_id, note=note.strip(), cleared_by=tuple(clearers)).new()]


# --- corrections: an earlier answer put right, the original kept --------------------------------

CORRECTION_SECOND = ("first_ad", "producer")  # who agrees with the signer: the 1st AD, or a
# producer when the signer is the 1st AD (every correction has two people)


@dataclass(frozen=True)
class CorrectionTarget:
    phase: Phase
    item: Item
    take: int | None
    was: Any
    signer: Signer  # who gave the answer being corrected
    second_role: str  # who agrees with them

    @property
    def key(self) -> Key:
        return (self.phase.id, self.take, self.item.id)


def correction_target(
    protocol: Protocol, state: RunState, item_id: str, take: int | None
) -> CorrectionTarget:
    """What a correction would change, checked before anyone types a PIN. Only an accepted
    count, text or choice nobody else confirmed can be corrected: a "yes" that was wrong, or a
    check someone witnessed or heard read back, is checked again by stopping work instead."""
    if state.status not in (OPEN, HELD):
        raise SafetyError(
            f"run {state.run_id} is {state.status}: only an open or held run can be corrected"
        )
    try:
        item = protocol.item(item_id)
    except KeyError:
        raise SafetyError(
            f"`{protocol.id}` has no check `{item_id}`: see `safetycli log show {state.run_id}`"
        ) from None
    phase = next(p for p, i in protocol.items() if i.id == item_id)
    if phase.repeat == "once" and take is not None:
        raise SafetyError(f"`{item_id}` is asked once per run: leave out --take")
    if phase.repeat != "once" and take is None:
        takes = sorted(
            k[1] for k, a in state.progress.items() if k[2] == item_id and a.performed is not None
        )
        if len(takes) != 1:
            shown = ", ".join(str(t) for t in takes) or "none yet"
            raise SafetyError(f"`{item_id}` is asked every take (answered: {shown}): add --take N")
        take = takes[0]
    attempt = state.progress.get((phase.id, take, item_id))
    if attempt is None or attempt.performed is None or attempt.outcome is None:
        raise SafetyError(f"`{item_id}` has no answer to correct yet in run {state.run_id}")
    if attempt.outcome != "confirmed":
        raise SafetyError(
            f"`{item_id}` was {attempt.outcome}, not accepted: a failed check is asked again once "
            "its hold is cleared, so there is nothing to correct"
        )
    if item.kind == "confirm":
        raise SafetyError(
            f"`{item_id}` is a yes-or-no check: a wrong yes is not corrected afterwards; stop work "
            f"with `safetycli hold {state.run_id} --reason ...` so it is checked again"
        )
    if item.witness or item.readback:
        raise SafetyError(
            f"`{item_id}` was confirmed by others too, so it cannot be corrected afterwards; stop "
            f"work with `safetycli hold {state.run_id} --reason ...` so it is checked again"
        )
    signer = Signer(attempt.performed["name"], attempt.performed["role"])
    second = CORRECTION_SECOND[1] if signer.role == CORRECTION_SECOND[0] else CORRECTION_SECOND[0]
    return CorrectionTarget(phase, item, take, attempt.performed["answer"], signer, second)


def _sent_back(protocol: Protocol, state: RunState, key: Key) -> list[Key]:
    """Every settled check whose sum used the corrected answer, directly or through another
    sum (blanks-fired is the sum of rounds-fired, blanks-spoiled uses blanks-fired)."""
    phase_of = {item.id: phase for phase, item in protocol.items()}
    out: list[Key] = []
    todo = [key]
    while todo:
        changed = todo.pop()
        for phase, item in protocol.items():
            terms = parse_expect(item.expect) if isinstance(item.expect, str) else None
            if not terms or not any(t.scope == RUN and t.item == changed[2] for t in terms):
                continue
            per_take_pair = phase.repeat != "once" and phase_of[changed[2]].repeat != "once"
            for done, attempt in state.progress.items():
                if done[2] != item.id or attempt.outcome not in ("confirmed", "refused"):
                    continue
                if per_take_pair and done[1] != changed[1]:
                    continue  # a per-take sum uses its own take only
                if done not in out and done != key:
                    out.append(done)
                    todo.append(done)
    return out


def check_correction(
    protocol: Protocol,
    state: RunState,
    target: CorrectionTarget,
    value: Any,
    note: str,
    outside: Outside | None = None,
) -> Any:
    """The new answer, normalised, if it may replace the old one: checked before anyone types a
    PIN, and again when the correction is written. A new answer that fails its own check is
    refused: that is a hold, not a correction."""
    if not note.strip():
        raise SafetyError("a correction needs a note: what was wrong and how it was found")
    check_length(note, "a note")
    value = check_answer(target.item, value)
    if value == target.was:
        raise SafetyError(f"`{target.item.id}` already says {value}: nothing to correct")
    failure = _failure(protocol, state, target.item, target.take, value, outside)
    if failure is not None:
        raise SafetyError(
            f"{value} would fail `{target.item.id}` too ({failure}): if that is what happened, "
            f"stop work with `safetycli hold {state.run_id} --reason ...`"
        )
    return value


def correct(
    protocol: Protocol,
    state: RunState,
    target: CorrectionTarget,
    value: Any,
    note: str,
    by: list[Signer],
    outside: Outside | None = None,
) -> list[NewEvent]:
    """The correction event: the new answer, the one it replaces, why, and who agreed (the
    person who gave the answer, and the 1st AD). Sums that used the old answer are sent back
    (`recheck`), so they are asked again with the new one."""
    value = check_correction(protocol, state, target, value, note, outside)
    who = {(fold_name(s.name), s.role) for s in by}
    if (fold_name(target.signer.name), target.signer.role) not in who or target.second_role not in {
        s.role for s in by
    }:
        raise SafetyError(
            f"a correction is agreed by {target.signer.name} "
            f"({role_name(target.signer.role or '')}), who gave the answer, and the "
            f"{role_name(target.second_role)}, each with their PIN"
        )
    if len({fold_name(s.name) for s in by}) != len(by):
        raise SafetyError("a correction is agreed by two different people")
    corrected = ItemCorrected(
        run=state.run_id,
        phase=target.phase.id,
        take=target.take,
        item=target.item.id,
        answer=value,
        was=target.was,
        note=note.strip(),
        by=tuple(by),
        recheck=tuple(_sent_back(protocol, state, target.key)),
    )
    return [corrected.new()]


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


def run_progress(protocol: Protocol, state: RunState) -> tuple[int, int]:
    """(the next check's number, the checks in the run as it stands) for the progress line,
    counted over the whole run ("take 2 · check 16 of 52"): the once-only checks and each
    per-take check once for every take called so far; checks whose condition is false and the
    after-break checks are not counted."""
    breaks = {p.id for p in protocol.phases if p.repeat == "after_break"}
    done = sum(
        1
        for key, attempt in state.progress.items()
        if key[0] not in breaks and attempt.outcome not in (None, "skipped-by-condition")
    )
    total = 0
    for block in blocks(protocol):
        count = sum(
            1
            for phase in block
            for item in phase.items
            if _condition_false(phase, item, state.context) is None
        )
        total += count * (state.takes.get(block[0].id, 1) if block[0].repeat == "per_take" else 1)
    return min(done + 1, max(total, 1)), total


def position(protocol: Protocol, step: Ask | Skip) -> tuple[int, int]:
    """(number of this item, items in the protocol) for the progress line."""
    ids = [item.id for _, item in protocol.items()]
    return ids.index(step.item.id) + 1, len(ids)
