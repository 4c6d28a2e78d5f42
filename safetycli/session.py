"""Drives the pure runner against the real log and the real roster.

A `Frontend` supplies answers and PINs (the terminal, or an answers file) and is told what
happened through typed notices. The loop is the same for both: replay the run, ask the runner for
the next step, get the answer, check PINs with the crew module, append the runner's events in one
transaction, repeat. Every answer is durable before the next question is asked.

An answer is normalised once, by the frontend, with `normalise`: the frontend is where a typo can
be asked again (the keyboard) or pointed at by its line (an answers file). The loop passes on what
the frontend returns as it is.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from typing import Protocol as Interface

from safetycli import crew, days, i18n, listorder, production, runner
from safetycli.answers import AnswersFile, Incomplete
from safetycli.conditions import DAY, parse_expect
from safetycli.errors import SafetyError
from safetycli.events import (
    HOLD_RAISED,
    ITEM_DONE,
    ITEM_PERFORMED,
    ITEM_SIGNED_OFF,
    TAKE_NEXT,
    TAKES_WRAPPED,
    Event,
    NewEvent,
    Signer,
)
from safetycli.ledger import Ledger, RunMoved
from safetycli.perfirearm import PUT_AWAY
from safetycli.protocol import ARMORY_FACT, Fact, Item, Protocol
from safetycli.roles import spoken
from safetycli.runner import Ask, NotApplicable, RunState

if TYPE_CHECKING:
    from safetycli import armory

# An answer as the log records it: yes/no, a count, a choice or text, or "not applicable".
Answer = bool | int | str | NotApplicable


def normalise(step: Ask, value: Any) -> Answer:
    """What was typed or written, as the value the log records for this step: yes or no from a
    witness, the item's kind otherwise. SafetyError when it cannot be one, with a message the
    frontend shows (the keyboard asks again, an answers file points at the line)."""
    if step.meaning == "witnessed":
        return runner.check_answer_confirm(value)
    return runner.check_answer(step.item, value)


# --- what the frontend is told -------------------------------------------------------------------


@dataclass(frozen=True)
class RollCallNotice:
    """These roles sign in (name and PIN) now: their first check has come up."""

    roles: tuple[str, ...]


@dataclass(frozen=True)
class SignedInNotice:
    name: str
    role: str


@dataclass(frozen=True)
class CardsNotice:
    """Before a run starts at the keyboard: in these roles, some on the roster cannot sign for
    lack of a card (one line each, naming who and the command that records it), so the 1st AD
    can see to it before anything is taken out or signed."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class SkippedNotice:
    """An item whose condition is false is about to be recorded as skipped."""

    step: runner.Skip


@dataclass(frozen=True)
class EventNotice:
    """An event of this run landed in the log (see `SHOWN_EVENTS`), written by this process or
    another: what the crew sees is what the log holds."""

    event: Event
    state: RunState


@dataclass(frozen=True)
class StoppedNotice:
    """The walk-through ends here: the run is held, aborted or complete; or its scene is held
    (`scene`: a stop-work on the scene, or another of its runs on hold)."""

    status: str
    state: RunState
    hold: runner.Hold | None
    scene: production.SceneStop | None = None
    incident: str | None = None  # the incident the hold recorded, when its check records one


@dataclass(frozen=True)
class MovedNotice:
    """The answer to `step` was not recorded: the run moved on (to `now`) while it was given."""

    step: runner.Step
    now: runner.Step
    state: RunState


Notice = (
    RollCallNotice
    | SignedInNotice
    | CardsNotice
    | SkippedNotice
    | EventNotice
    | StoppedNotice
    | MovedNotice
)


class HoldRequest(Exception):  # noqa: N818 - a request, not an error
    """Someone at the walk-through asked to stop work (the hold key at any prompt), with a
    reason. `by` is who the prompt was for, when the walk-through knows them; the hold is
    recorded as not PIN-checked, since stopping work never waits for a PIN."""

    def __init__(self, reason: str, by: Signer | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.by = by


class Frontend(Interface):
    def fact(self, name: str, fact: Fact) -> Any: ...
    def sign_in(self, role: str, candidates: list[str]) -> str: ...
    def pin(self, name: str, role: str, why: str) -> str: ...
    def refused(self, message: str) -> None: ...
    def answer(self, step: Ask, state: RunState, protocol: Protocol) -> Answer:
        """The answer to `step`, already through `normalise` (or NotApplicable)."""
        ...

    def batch(
        self, batch: runner.Batch, state: RunState, protocol: Protocol
    ) -> Iterator[tuple[Ask, Answer]]:
        """One person's answers to their batch, one check at a time, each through `normalise`:
        the session records a failing one at once and stops asking the rest."""
        ...

    def another_take(self, step: runner.AnotherTake) -> bool: ...
    def second_run(self, open_runs: list[str], scene: str) -> bool:
        """Whether to start another run although these runs of the protocol for the scene are
        still open (usually one somebody forgot to resume)."""
        ...

    def show(self, notice: Notice) -> None: ...


# --- context facts -------------------------------------------------------------------------------


def parse_fact(name: str, fact: Fact, value: Any) -> Any:
    """A fact from --set, a file or the keyboard, typed as the protocol declares it."""
    if fact.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("y", "yes", "true", "1"):
            return True
        if text in ("n", "no", "false", "0"):
            return False
        raise SafetyError(f"fact `{name}` is yes or no, not {value!r}")
    if fact.type == "int":
        try:
            number = int(str(value).strip())
        except ValueError:
            raise SafetyError(f"fact `{name}` is a whole number, not {value!r}") from None
        if (fact.min is not None and number < fact.min) or (
            fact.max is not None and number > fact.max
        ):
            raise SafetyError(f"fact `{name}` must be between {fact.min} and {fact.max}")
        return number
    if fact.type == "choice":
        for option in fact.options or []:
            if str(value).strip().lower() == option.lower():
                return option
        raise SafetyError(f"fact `{name}` is one of {', '.join(fact.options or [])}")
    text = str(value).strip()
    if not text:
        raise SafetyError(f"fact `{name}` needs a value")
    return text


def parse_sets(protocol: Protocol, sets: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in sets:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep:
            raise SafetyError(f"--set {pair!r}: write KEY=VALUE, e.g. --set blanks=yes")
        if key not in protocol.context:
            known = ", ".join(protocol.context) or "none"
            raise SafetyError(f"--set {key}: `{protocol.id}` asks no such fact (it asks: {known})")
        out[key] = parse_fact(key, protocol.context[key], value)
    return out


def parse_day(day: str | None, zone: str = "UTC") -> str:
    """`run --day`; when not given, today in the production's zone (`days.today`), the day its
    report will file the run's incidents and roster changes under. The parsing itself is
    `days.parse_day`, shared with the review commands."""
    return days.today(zone) if day is None else days.parse_day(day)


# --- the loop ------------------------------------------------------------------------------------


def load_state(ledger: Ledger, run_id: str) -> RunState:
    return runner.replay(run_id, ledger.events(run=run_id))


def new_run_id(ledger: Ledger) -> str:
    """`r-` and six hex digits; on a laptop that synced with a central server, `rN-` with its
    unit number there (one per device, handed out by the server), so a run id made on one laptop
    never collides with another's."""
    foreign = ledger.foreign()
    unit = foreign.unit() if foreign is not None else None
    prefix = "r-" if unit is None else f"r{unit}-"
    while True:
        run_id = prefix + secrets.token_hex(3)
        if next(ledger.events(run=run_id), None) is None:
            return run_id


def check_start(
    ledger: Ledger, protocol: Protocol, frontend: Frontend, scene: str, day: str
) -> str:
    """The scene's name, cleaned, once nothing rules a new run out before it starts: its scene
    (or, for a day-wide protocol, its day) is not held, and it is not a second open run of the
    same checklist by mistake (asked at the keyboard, refused from a file). Nothing is recorded
    either way."""
    scene = " ".join(scene.split())
    if not scene:
        raise SafetyError(i18n._("--scene needs the scene's name or number, e.g. --scene 12A"))
    stops = production.scene_stops(ledger, scene, day, firearms=firearm_work(protocol))
    if stops:
        raise SafetyError(stops[0].line())
    if firearm_work(protocol) and protocol.scope != "day" and has_advisor(ledger):
        from safetycli.incidents import assessment_missing

        if production.scene_key(scene) not in production.load(ledger).assessments:
            raise SafetyError(assessment_missing(scene))
    whole_day = day if protocol.scope == "day" else None
    open_ids = [s.run for s in production.open_runs(ledger, scene, protocol.id, day=whole_day)]
    if open_ids and not frontend.second_run(open_ids, scene):
        raise SafetyError(
            i18n._(
                "not started: resume the open run with `safetycli resume {run}`, or end it with "
                "`safetycli abort {run} --reason ...`"
            ).format(run=open_ids[-1])
        )
    return scene


def start_run(
    ledger: Ledger,
    protocol: Protocol,
    frontend: Frontend,
    *,
    scene: str,
    day: str,
    context: dict[str, Any],
    checked: bool = False,
    outgoing: armory.Outgoing | None = None,
) -> str:
    """Record a new run, once everything that would stop it at once has been ruled out
    (`check_start`, unless the caller has just done it: `checked`), and every role it needs has
    someone on the roster who can sign. Nothing is recorded otherwise."""
    if checked:
        scene = " ".join(scene.split())
    else:
        scene = check_start(ledger, protocol, frontend, scene, day)
    for name, fact in protocol.context.items():
        if name not in context:
            from safetycli.translation import fact_ask

            asked = fact.model_copy(update={"ask": fact_ask(protocol, name, i18n.current())})
            context[name] = parse_fact(name, fact, frontend.fact(name, asked))
    firearms: tuple[tuple[str, str], ...] = ()
    if outgoing and outgoing.firearms:
        from safetycli import armory

        firearms = armory.labels(armory.current(ledger), outgoing.firearms)
        context[ARMORY_FACT] = True  # its firearms are the armory's record, not a list typed
    # As the run will walk it: its firearms' hand-overs name who receives one.
    walked = protocol.for_firearms(firearms)
    notes = check_roster(ledger, walked, context, named=signers_named(frontend))
    if notes:
        frontend.show(CardsNotice(tuple(notes)))
    run_id = new_run_id(ledger)
    mode = "answers-file" if isinstance(frontend, FileFrontend) else "keyboard"
    started = runner.start(protocol, run_id, scene, day, context, mode, firearms)
    if outgoing:
        _start_with_custody(ledger, frontend, started, outgoing, run_id, scene, day)
    else:
        ledger.append_many(started)
    return run_id


def signers_named(frontend: Frontend) -> dict[str, str]:
    """Who an answers file names for each role: known before the run starts, so their cards are
    checked then. At the keyboard nobody is known until they sign in."""
    if isinstance(frontend, FileFrontend):
        return {role: name for role, (name, _) in frontend.file.signers.items()}
    return {}


def check_outgoing(
    ledger: Ledger, protocol: Protocol, outgoing: armory.Outgoing, day: str
) -> armory.Outgoing | None:
    """What the run takes out of the armory, checked before anything is asked or recorded (one
    line otherwise); None when the production keeps no armory or the protocol takes nothing out,
    and the run starts as it always has (its `firearms-listed` is the record)."""
    from safetycli import armory

    state = armory.current(ledger)
    if not armory.has_inventory(state) or not takes_firearms_out(protocol):
        if outgoing:
            where = (
                "this production keeps no armory"
                if not armory.has_inventory(state)
                else (f"`{protocol.id}` takes no firearms out")
            )
            raise SafetyError(f"--firearm/--rounds: {where}")
        return None
    # Judged as for a run (any id): a firearm on the cart goes to a run, never to the day.
    armory.going_out(state, outgoing, "-", "(new)", day, finished_runs(ledger, state))
    return outgoing


def finished_runs(ledger: Ledger, state: armory.ArmoryState) -> set[str]:
    """Of the runs the cart's firearms are out for, those that are over (complete or aborted):
    their firearms go on to the next run from the cart."""
    from safetycli import armory
    from safetycli.lifecycle import ABORTED, COMPLETE

    runs = armory.runs_on_cart(state)
    return {r for r in runs if production.status_of(ledger, r) in (COMPLETE, ABORTED)}


def takes_firearms_out(protocol: Protocol) -> bool:
    """A scene's protocol that reconciles its own rounds and firearms at wrap: the firearms and
    lots it takes out are named at its start, when the production keeps an armory."""
    return protocol.scope != "day" and bool(custody_checks(protocol))


def _start_with_custody(
    ledger: Ledger,
    frontend: Frontend,
    started: list[NewEvent],
    outgoing: armory.Outgoing,
    run_id: str,
    scene: str,
    day: str,
) -> None:
    """The run's start and the custody events taking its firearms and rounds out, in one
    transaction with the armorer's PIN (as `armory issue` writes them), and only if the rule
    still holds under the write lock. Refused in one line, with nothing recorded, before anyone
    is asked anything when a firearm is out or a lot is short."""
    from safetycli import armory
    from safetycli.render.safe import one_line

    custody = armory.current(ledger)
    armory.going_out(custody, outgoing, "-", run_id, day, finished_runs(ledger, custody))
    candidates = [m.name for m in crew.roster(ledger) if m.has_role("armorer")]

    def take_out(member: crew.Member) -> tuple[crew.Member, NewEvent]:
        pin = frontend.pin(member.name, "armorer", "take-out")
        # Its auth.ok goes in the transaction that takes the firearms out; a wrong PIN's
        # auth.failed is written at once, as everywhere.
        return crew.prove(
            ledger, member.name, pin, role="armorer", purpose="armory: issue for the run"
        )

    try:
        member, proof = _until_accepted(ledger, frontend, "armorer", candidates, take_out)
    except HoldRequest as request:  # no run yet to hold: the scene is where stop-work goes
        raise SafetyError(
            "not started, nothing recorded; to stop work on the scene: safetycli hold --scene "
            f'"{one_line(scene)}" --reason "{one_line(request.reason)}"'
        ) from None

    def guard() -> None:
        now = armory.current(ledger)
        armory.going_out(now, outgoing, member.name, run_id, day, finished_runs(ledger, now))

    custody = armory.current(ledger)
    events = armory.going_out(
        custody, outgoing, member.name, run_id, day, finished_runs(ledger, custody)
    )
    try:
        ledger.append_many([*started, proof, *(e.new() for e in events)], guard=guard)
    except SafetyError as err:  # another laptop moved a firearm or rounds while the PIN was typed
        ledger.append_many([proof])  # the PIN was right: its try is settled
        message = f"not started, nothing recorded: the armory changed: {err.message}"
        raise SafetyError(message) from None


def check_roster(
    ledger: Ledger,
    protocol: Protocol,
    context: dict[str, Any],
    roles: list[str] | None = None,
    named: dict[str, str] | None = None,
    resuming: bool = False,
) -> list[str]:
    """Every role the run needs (`roles`, by default every role its facts call for) has someone
    on the roster who can sign for it now: otherwise the roll call would wait for a person who
    does not exist. One line says who to add or unlock. `protocol` as the run walks it (its
    firearms' hand-overs say who receives one).

    The cards the roles need are checked here too, before anything is taken out or signed:
    refused in one line when the person an answers file names for a role (`named`), or everyone
    on the roster in it, lacks theirs. Returns what the 1st AD should know before starting
    (someone in a role who could not sign for it) when the people are not known yet."""
    members = crew.roster(ledger)
    needed = roles if roles is not None else runner.roles_needed(protocol, context)
    _check_named(ledger, members, needed, named or {}, resuming)
    for role in needed:
        if named and role in named:
            continue  # the person the file names signs: checked just above
        able = [m for m in members if m.has_role(role)]
        said = {"role": spoken(role), "id": role, "protocol": protocol.id}
        if not able:
            raise SafetyError(
                i18n._(
                    "nobody on the roster can sign as {role}, and `{protocol}` needs one: a "
                    'producer adds someone with `safetycli crew add "NAME" --role {id}`'
                ).format(**said)
            )
        if all(m.locked for m in able):
            names = ", ".join(m.name for m in able)
            raise SafetyError(
                i18n._(
                    "everyone on the roster as {role} ({names}) is locked out after wrong PINs: "
                    'a producer unlocks them with `safetycli crew unlock "NAME"`'
                ).format(names=names, **said)
            )
    return _check_cards(ledger, protocol, needed, members, named or {}, resuming)


def _check_named(
    ledger: Ledger,
    members: list[crew.Member],
    needed: list[str],
    named: dict[str, str],
    resuming: bool,
) -> None:
    """The people an answers file names for the roles the run needs, each on the roster in their
    role, not locked out, and one person for one role: otherwise their sign-in would refuse them
    after the take-out and the checks signed before it (the trial's file named an actor nobody
    had added). The same rules as `_sign_in` and `runner.sign_in`, asked before anything is
    recorded; at the keyboard nobody is named, and a wrong name is asked again there."""
    if not named:
        return
    import shlex

    from safetycli.names import fold_name
    from safetycli.render.safe import one_line
    from safetycli.roster import replay

    on = {fold_name(m.name): m for m in members}
    first: dict[str, str] = {}  # each person named, the first role they are named for
    for role in needed:
        if role not in named:
            continue  # left open at their sign-in, as the file frontend says
        key = fold_name(named[role])
        member = on.get(key)
        shown = member.name if member is not None else one_line(named[role])
        said = {"name": shown, "role": spoken(role), "id": role, "quoted": shlex.quote(shown)}
        if member is None:
            if key in replay(ledger):  # removed ones stay in the replay, inactive
                line = i18n._(
                    "the answers file names {name} as the {role}, who was taken off the roster: "
                    "a producer adds them again with `safetycli crew add {quoted} --role {id}`, "
                    "or the file names someone on it (`safetycli crew list`)"
                ).format(**said)
            else:
                line = i18n._(
                    "the answers file names {name} as the {role}, who is not on the roster: a "
                    "producer adds them with `safetycli crew add {quoted} --role {id}`, or the "
                    "file names someone on it (`safetycli crew list`)"
                ).format(**said)
        elif not member.has_role(role):
            line = i18n._(
                "the answers file names {name} as the {role}, but the roster has them as {roles} "
                "only: a producer gives them the role with `safetycli crew add-role {quoted} "
                "{id}`, or the file names someone who is one (`safetycli crew list`)"
            ).format(roles=", ".join(spoken(r) for r in member.roles), **said)
        elif member.locked:
            line = i18n._(
                "the answers file names {name} as the {role}, who is locked out after wrong "
                "PINs: a producer unlocks them with `safetycli crew unlock {quoted}`"
            ).format(**said)
        elif first.setdefault(key, role) != role:
            line = i18n._(
                "the answers file names {name} as both the {other} and the {role}: one person "
                "signs for one role in a run, so every two-person check has two people; name "
                "someone else for one of them"
            ).format(other=spoken(first[key]), **said)
        else:
            continue
        if resuming:
            raise SafetyError(i18n._("not resumed, nothing recorded: {why}").format(why=line))
        raise SafetyError(i18n._("not started, nothing recorded: {why}").format(why=line))


def _check_cards(
    ledger: Ledger,
    protocol: Protocol,
    needed: list[str],
    members: list[crew.Member],
    named: dict[str, str],
    resuming: bool,
) -> list[str]:
    """The cards part of `check_roster`: the refusal, or the notes for the AD."""
    from safetycli import qualifications
    from safetycli.names import fold_name

    cards = qualifications.cards_needed(needed, receivers(protocol))
    if not cards:
        return []
    # As the roster spells them; someone not on it is said at their sign-in, as always.
    spelled = {fold_name(m.name): m.name for m in members}
    signers = {r: spelled[fold_name(n)] for r, n in named.items() if fold_name(n) in spelled}
    candidates = {role: [m.name for m in members if m.has_role(role)] for role in cards}
    notes = []
    for short in qualifications.shortfalls(ledger, cards, candidates, signers):
        why = "; ".join(short.lacking)
        if short.kind == qualifications.SAFETY_COURSE:
            why = i18n._("do not transfer: {why}").format(why=why)
        said = {"role": spoken(short.role), "why": why}
        if short.named is not None:
            line = i18n._("{name} cannot sign in as the {role}: {why}").format(
                name=short.named, **said
            )
        elif not short.able:
            line = i18n._("nobody can sign in as the {role}: {why}").format(**said)
        else:
            notes.append(
                i18n._("only {names} can sign in as the {role}: {why}").format(
                    names=", ".join(short.able), **said
                )
            )
            continue
        if resuming:
            raise SafetyError(i18n._("not resumed, nothing recorded: {why}").format(why=line))
        raise SafetyError(i18n._("not started, nothing recorded: {why}").format(why=line))
    return notes


def _voice(lang: str | None) -> AbstractContextManager[None]:
    """The tool's words in one person's language (when shipped): why their PIN was refused is
    said to them, in the words they read their checks in."""
    return i18n.speaking(lang) if i18n.shipped(lang) else nullcontext()


def _reads(frontend: Frontend, role: str, lang: str | None) -> None:
    """Tell a frontend that can follow it which language the person signing in for `role`
    reads, before their PIN is asked (scripted frontends have no screen to say it on)."""
    reads = getattr(frontend, "reads", None)
    if callable(reads):
        reads(role, lang)


def authenticate(
    ledger: Ledger,
    frontend: Frontend,
    name: str,
    role: str,
    why: str,
    run_id: str,
    lang: str | None = None,
) -> None:
    """Ask for the PIN until it is right; a lock-out (or a scripted frontend) ends the attempt.
    `lang`: the language the signer reads (a refusal is said in it)."""
    while True:
        pin = frontend.pin(name, role, why)
        try:
            with _voice(lang):
                crew.authenticate(ledger, name, pin, role=role, purpose=why, run=run_id)
            return
        except crew.AuthError as err:
            if err.final:  # locked, removed, tampered: typing again cannot help
                raise
            frontend.refused(err.message)


FINAL_AT_SIGN_IN = (crew.LOCKED, crew.MISMATCH)


def _may_sign_as(ledger: Ledger, name: str, role: str, receives: bool = False) -> None:
    """The armorer signs in only with a permit in force (California Labor Code 9153(b)), and
    whoever the run's hand-overs give a firearm to (`receives`) only with a safety course card
    in force, once the production records qualifications at all; refused before the PIN, so it
    costs no PIN try. Stop-work stays open to everyone: `h` at the name prompt, or `hold`."""
    if role != "armorer" and not receives:
        return
    from safetycli import qualifications

    if role == "armorer":
        why = qualifications.armorer_problem(ledger, name)
    else:
        why = qualifications.receiver_problem(ledger, name)
    if why is not None:
        raise SafetyError(
            i18n._("{name} cannot sign in as the {role}: {why}").format(
                name=name, role=spoken(role), why=why
            )
        )


def receivers(protocol: Protocol) -> set[str]:
    """The roles a run's hand-overs give a firearm to (the witness of a `moves: hand-over`
    check about one of its firearms)."""
    return {
        item.witness[0]
        for _, item in protocol.items()
        if item.moves == "hand-over" and item.serial is not None and item.witness
    }


def _sign_in(
    ledger: Ledger, frontend: Frontend, state: RunState, role: str, receives: bool = False
) -> None:
    candidates = [m.name for m in crew.roster(ledger) if role in m.roles]
    if not candidates:  # removed since the run started: asking for a name would never end
        from safetycli.roles import role_name

        raise SafetyError(
            i18n._(
                "nobody on the roster can sign as {role} any more: a producer adds "
                'someone with `safetycli crew add "NAME" --role {id}`, then resume'
            ).format(role=role_name(role), id=role)
        )

    def signs_in(member: crew.Member) -> crew.Member:
        # One person for one role is checked before the PIN is asked, as the name is.
        runner.sign_in(state, role, member.name, member.lang)
        _reads(frontend, role, member.lang)
        pin = frontend.pin(member.name, role, "sign-in")
        with _voice(member.lang):
            crew.authenticate(
                ledger, member.name, pin, role=role, purpose="sign-in", run=state.run_id
            )
        return member

    member = _until_accepted(ledger, frontend, role, candidates, signs_in, receives)
    ledger.append_many(runner.sign_in(state, role, member.name, member.lang))
    frontend.show(SignedInNotice(member.name, role))


Accepted = TypeVar("Accepted")


def _until_accepted(
    ledger: Ledger,
    frontend: Frontend,
    role: str,
    candidates: list[str],
    accept: Callable[[crew.Member], Accepted],
    receives: bool = False,
) -> Accepted:
    """A person names themselves for `role` until `accept` (what this place checks, then the
    PIN) takes them: the sign-ins of a run and the armorer's take-out before it ask the same way.
    The name, the role and the card are checked before the PIN is asked: a typo in a name costs
    nobody a PIN try and records nothing. A refusal is said in one line and the name asked
    again; a wrong PIN is recorded and counted towards the lock-out (crew.prove) like any other.
    A lock-out or a tampered credential ends the attempt: typing again cannot help."""
    while True:
        name = frontend.sign_in(role, candidates)
        try:
            member = crew.find(ledger, name)
            if role not in member.roles:
                raise SafetyError(
                    i18n._("{name} is not on the roster as {role}").format(
                        name=member.name, role=spoken(role)
                    )
                )
            _may_sign_as(ledger, member.name, role, receives)
            return accept(member)
        except SafetyError as err:
            if isinstance(err, crew.AuthError) and err.reason in FINAL_AT_SIGN_IN:
                raise
            frontend.refused(err.message)


# What an answered step adds to the log, given the run (and what holds beyond it) as they are at
# the moment of appending: the run may have moved while the question was open, so the events are
# built only once it has not.
Record = Callable[[RunState, production.Outside], list[NewEvent]]


def drive(ledger: Ledger, protocol: Protocol, run_id: str, frontend: Frontend) -> RunState:
    """Walk the run until it completes, stops on a hold (its own or its scene's), or the frontend
    has no more answers. When the scene stopped it, `state.scene_stop` says why."""
    state = load_state(ledger, run_id)
    if state.protocol.get("sha256") != protocol.origin.sha256:
        raise SafetyError(
            f"run {run_id} used {protocol.id} v{state.protocol.get('version')} with different "
            "text than the protocol file has now; finish it with the text it started with"
        )
    recorded = state.protocol.get("translations")
    if recorded is not None and recorded != protocol.origin.files(protocol.translations).get(
        "translations"
    ):
        raise SafetyError(
            f"run {run_id} used {protocol.id} v{state.protocol.get('version')} with translations "
            "that have changed since (or are gone); finish it with the files it started with"
        )
    protocol = runner.walked(protocol, state)
    receiving = receivers(protocol)
    _stops_while_away(ledger, protocol, state, frontend)
    signed_now: set[str] = set()  # roles that signed in just now: their first batch is proven
    while True:
        _catch_up(ledger, state, frontend)
        _note_pause(ledger, protocol, state, frontend)
        outside, _ = look_outside(ledger, protocol, state)
        step = runner.next_step(protocol, state, outside)
        if isinstance(step, runner.Stopped):
            if step.scene is not None:
                _interrupted(ledger, protocol, state, step.scene, frontend)
            state.scene_stop = step.scene
            found = incident_of(ledger, state) if step.hold is not None else None
            frontend.show(StoppedNotice(step.status, state, step.hold, step.scene, found))
            return state
        try:
            if isinstance(step, runner.RollCall):
                frontend.show(RollCallNotice(step.roles))
                for role in step.roles:
                    _sign_in(ledger, frontend, state, role, role in receiving)
                    signed_now.add(role)
                    state = load_state(ledger, run_id)
                continue
            if isinstance(step, runner.Batch):
                proven = step.role in signed_now
                signed_now.clear()
                record = _sign_off(ledger, protocol, state, step, frontend, outside, proven)
            else:
                record = _respond(ledger, protocol, state, step, frontend, outside)
        except HoldRequest as request:
            _hold_from_walk(ledger, protocol, state, request, step)
            signed_now.clear()
            continue
        if record is not None:
            _append_if_unmoved(ledger, protocol, state, step, frontend, record)


def day_items(protocol: Protocol) -> list[str]:
    """The counts of other runs this protocol's sums name (`today(id)`)."""
    names: list[str] = []
    for _, item in protocol.items():
        for term in (parse_expect(item.expect) if isinstance(item.expect, str) else None) or []:
            if term.scope == DAY and term.item not in names:
                names.append(term.item)
    return names


def firearm_work(protocol: Protocol) -> bool:
    """A protocol an open stopping incident holds: one the armorer signs."""
    from safetycli.incidents import handles_firearms

    return handles_firearms(protocol.roles)


def custody_checks(protocol: Protocol) -> list[str]:
    """The armory checks this protocol's items name (`custody:`), and for a run that took
    firearms out, each hand-over and take-back of each of them (`moves`)."""
    keys = (item.custody_key for _, item in protocol.items())
    return list(dict.fromkeys(key for key in keys if key))


def look_outside(
    ledger: Ledger, protocol: Protocol, state: RunState
) -> tuple[production.Outside, int]:
    """What beyond this run it must answer to, and the log's head when that was read: an answer
    is recorded only if no stop-work landed anywhere after it (`if_no_stop_after`). The armory
    is read only for a protocol that names custody checks, through its own kinds' index."""
    seen, _ = ledger.head()
    found = production.outside(
        ledger,
        state.scene,
        state.day,
        day_items(protocol),
        run=state.run_id,
        firearms=firearm_work(protocol),
    )
    checks = custody_checks(protocol)
    if checks:
        run = None if protocol.scope == "day" else state.run_id
        own = [serial for serial, _ in state.firearms]
        found = replace(found, custody=_Verdicts(ledger, checks, run, own))
    return found, seen


class _Verdicts(Mapping[str, "armory.Verdict"]):
    """The armory's verdicts, read from the log only when an item with `custody:` is judged:
    the walk-through looks outside before every step, and a season's custody events cost a
    quarter of a second to fold, which the other steps need not pay. Still data to the runner."""

    def __init__(self, ledger: Ledger, checks: list[str], run: str | None, own: list[str]) -> None:
        self._ledger, self._checks, self._run, self._own = ledger, checks, run, own
        self._found: dict[str, armory.Verdict] | None = None

    def _all(self) -> dict[str, armory.Verdict]:
        if self._found is None:
            from safetycli import armory

            state = armory.current(self._ledger)
            self._found = armory.verdicts(state, self._checks, self._run, self._own)
        return self._found

    def __getitem__(self, key: str) -> armory.Verdict:
        return self._all()[key]

    def after(self, pending: tuple[tuple[str, int], ...]) -> dict[str, armory.Verdict]:
        """The verdicts as they will be once the rounds counted earlier in the same batch are
        recorded (`runner._custody_failure`): "every blank accounted for?", signed in the list
        right after "blanks returned", is judged with those returned."""
        from safetycli import armory

        state = armory.current(self._ledger)
        for move, count in pending:
            try:
                moved = armory.rounds_moved(state, move, count, "-", self._run or "", "")
            except SafetyError:
                continue  # its own check fails it, naming the lot
            if moved is not None:
                state.ahead(moved)
        return armory.verdicts(state, self._checks, self._run, self._own)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _interrupted(
    ledger: Ledger,
    protocol: Protocol,
    state: RunState,
    stop: production.SceneStop,
    frontend: Frontend,
) -> None:
    """Record, once, that a stop from beyond the run reached it mid-take: the take's phase goes
    back, as it would after a hold of the run's own."""
    events = runner.interrupt(state, stop, protocol)
    if events:
        try:
            ledger.append_many(events, if_run_at=(state.run_id, state.last_seq))
        except RunMoved:
            pass  # another process is on the run: it records it
        _catch_up(ledger, state, frontend)


def _stops_while_away(
    ledger: Ledger, protocol: Protocol, state: RunState, frontend: Frontend
) -> None:
    """A stop-work called on the scene, or an incident stopping firearm work, and perhaps lifted,
    while nobody walked the run (between sittings): it sends the take back all the same."""
    key = production.scene_key(state.scene)
    since = state.last_item_at
    found = production.load(ledger)
    if firearm_work(protocol) and since is not None:
        # An incident that stopped all firearm work meanwhile (and perhaps was closed since).
        for incident in found.incidents.incidents.values():
            if incident.stops and incident.at > since:
                stop = production.incident_stop(incident)
                _interrupted(ledger, protocol, state, stop, frontend)
    for hold in found.scene_holds:
        if since is None or production.scene_key(hold.scene) != key or hold.raised_at <= since:
            continue
        stop = production.SceneStop(
            scene=hold.scene,
            reason=hold.reason,
            raised_by=hold.raised_by,
            authenticated=hold.authenticated,
            raised_at=hold.raised_at,
            hold_seq=hold.seq,
            hold_device=hold.device,
        )
        _interrupted(ledger, protocol, state, stop, frontend)


def clock() -> datetime:
    """Now, in UTC (tests move it forward to make a lunch break)."""
    return datetime.now(UTC)


def _note_pause(ledger: Ledger, protocol: Protocol, state: RunState, frontend: Frontend) -> None:
    """A walk-through that stood still longer than the protocol's `pause_minutes` (the laptop
    left at a question over lunch) records the pause: its after-break checks come next, because
    nobody knows where the firearms and rounds were meanwhile."""
    limit = protocol.pause_minutes
    if limit is None or state.last_at is None or state.status != runner.OPEN:
        return
    if not state.began or not any(p.repeat == "after_break" for p in protocol.phases):
        return
    if runner.camera_rolling(protocol, state):
        return  # a long take: the firearm is with the performer by design
    last = datetime.fromisoformat(state.last_at.replace("Z", "+00:00"))
    minutes = int((clock() - last).total_seconds() // 60)
    if minutes < limit:
        return
    try:
        ledger.append_many(runner.paused(state, minutes), if_run_at=(state.run_id, state.last_seq))
    except RunMoved:
        pass  # something else was written just now: the run did not stand still after all
    _catch_up(ledger, state, frontend)


def _respond(
    ledger: Ledger,
    protocol: Protocol,
    state: RunState,
    step: runner.Finish | runner.Skip | runner.AnotherTake | Ask,
    frontend: Frontend,
    outside: production.Outside,
) -> Record | None:
    """Get from the crew what `step` needs (nothing, for a skip or the finish) and say what it
    will record; None when the run moved on while the crew answered (already said)."""
    if isinstance(step, runner.Finish):
        return lambda fresh, _: runner.finish(fresh)
    if isinstance(step, runner.Skip):
        frontend.show(SkippedNotice(step))
        return lambda fresh, _: runner.skip(protocol, fresh, step)
    if isinstance(step, runner.AnotherTake):
        more = frontend.another_take(step)
        return lambda fresh, _: runner.another_take(fresh, step, more)
    value = _answer(ledger, protocol, state, step, frontend, outside)
    if value is None:  # the run moved on while the answer was typed: nothing to record
        return None
    return lambda fresh, now: runner.answer(protocol, fresh, step, value, now)


def _answer(
    ledger: Ledger,
    protocol: Protocol,
    state: RunState,
    step: Ask,
    frontend: Frontend,
    outside: production.Outside,
) -> Answer | None:
    """The answer, and the PIN when the step needs one (None: the run moved on meanwhile). The
    PIN comes after the answer and only for one that passes: a failing answer stops work, which
    is recorded at once and never waits for a PIN."""
    _still_may_sign(ledger, step.name)
    value = frontend.answer(step, state, protocol)
    if step.needs_pin and not runner.fails(protocol, state, step, value, outside):
        # A hold that landed while the answer was typed makes the PIN pointless: say so now
        # rather than after the PIN (the answer is not recorded either way).
        if _moved(ledger, protocol, state, step, frontend) is None:
            return None
        lang = runner.lang_of(state, step.role)
        authenticate(ledger, frontend, step.name, step.role, _why(step), state.run_id, lang)
    return value


def _sign_off(
    ledger: Ledger,
    protocol: Protocol,
    state: RunState,
    batch: runner.Batch,
    frontend: Frontend,
    outside: production.Outside,
    proven: bool,
) -> Record | None:
    """One person's batch: each answer in turn; a failing one is recorded at once, alone, and
    nothing else of the batch is asked (stopping work never waits for a PIN); otherwise one
    PIN signs them all, unless the person signed in with their PIN just before (`proven`), in
    the same sitting. None when the run moved on while the answers were typed. An answer is
    judged only with the checks of the list it reads already in (`listorder.unmet`), whatever
    order the frontend asks them in."""
    _still_may_sign(ledger, batch.name)
    entries: list[tuple[Ask, Answer]] = []
    # Answers given before a check of the list they are judged with (a frontend that asks out of
    # `listorder.plan`'s order): judged once that check is answered, never on a guess. A "no" is
    # a no whatever else is typed: it stops work at once.
    waiting: list[tuple[Ask, Answer]] = []
    for given in frontend.batch(batch, state, protocol):
        ask, value = given
        answered = [a for a, _ in entries]
        if listorder.unmet(batch.asks, answered, ask) and not _fails_alone(ask, value):
            waiting.append(given)
            continue
        queue = [given]
        while queue:
            ask, value = queue.pop(0)
            if runner.batch_fails(protocol, state, entries, ask, value, outside):
                failed = list(entries)
                return lambda fresh, now, ask=ask, value=value: runner.refuse_in_batch(
                    protocol, fresh, failed, ask, value, now
                )
            entries.append((ask, value))
            answered = [a for a, _ in entries]
            ready = [w for w in waiting if not listorder.unmet(batch.asks, answered, w[0])]
            waiting = [w for w in waiting if w not in ready]
            queue += ready
    pin: str | None = None
    if batch.needs_pin:
        pin = "sign-in" if proven else "sign-off"
        if not proven:
            # A hold that landed while the answers were typed makes the PIN pointless: say so
            # now rather than after the PIN (nothing is recorded either way).
            if _moved(ledger, protocol, state, batch, frontend) is None:
                return None
            lang = runner.lang_of(state, batch.role)
            authenticate(ledger, frontend, batch.name, batch.role, "sign-off", state.run_id, lang)
    return lambda fresh, now: runner.sign_batch(protocol, fresh, batch, entries, now, pin)


def _fails_alone(ask: Ask, value: Answer) -> bool:
    """An answer that fails its check whatever the rest of the list says (a "no")."""
    return not isinstance(value, NotApplicable) and runner.judge(ask.item, value) is not None


def _hold_from_walk(
    ledger: Ledger,
    protocol: Protocol,
    state: RunState,
    request: HoldRequest,
    step: runner.Step,
) -> None:
    """Stop work from inside the walk-through (the hold key): recorded at once, as `safetycli
    hold` records it, without a PIN (the record says so). Refused only when the run is no
    longer open (held meanwhile): then the loop shows why."""
    now = load_state(ledger, state.run_id)  # the loop catches up and shows the hold
    if now.status != runner.OPEN or not request.reason.strip():
        return
    by = request.by or _addressed(step, now) or Signer("someone at the walk-through", None)
    from safetycli.limits import cut

    reason, _ = cut(request.reason)  # stopping work is never refused for its wording
    ledger.append_many(runner.raise_hold(now, by, reason, protocol, authenticated=False))


def _addressed(step: runner.Step, state: RunState) -> Signer | None:
    """Who the prompt was for, when the walk-through knows: the batch's person, the person
    signing in, the 1st AD at "another take?"."""
    if isinstance(step, runner.Batch | Ask) and step.name:
        return Signer(step.name, step.role)
    if isinstance(step, runner.AnotherTake) and "first_ad" in state.signed_in:
        return Signer(state.signed_in["first_ad"], "first_ad")
    return None


def _still_may_sign(ledger: Ledger, name: str) -> None:
    """A check that asks no PIN is signed by whoever signed in for the role: only while that
    person is still on the roster and not locked out."""
    member = crew.find(ledger, name)  # refuses someone removed since they signed in
    if member.locked:
        raise SafetyError(
            i18n._(
                "{name} is locked out after wrong PINs and cannot sign: a producer must run "
                "`safetycli crew unlock {name}`"
            ).format(name=member.name)
        )


def resume_run(ledger: Ledger, run_id: str) -> None:
    """Mark a new sitting of an open run, so the walk-through starts with a roll call."""
    state = load_state(ledger, run_id)
    if state.status == runner.OPEN and state.signed_in:
        ledger.append_many(runner.resumed(state))


# Events the frontend is told about as they land, whoever wrote them.
SHOWN_EVENTS = (ITEM_SIGNED_OFF, ITEM_DONE, HOLD_RAISED, TAKE_NEXT, TAKES_WRAPPED)


def _catch_up(ledger: Ledger, state: RunState, frontend: Frontend) -> None:
    """Fold in this run's events since the state was last brought up to date: this process's
    own, and any another process wrote meanwhile (a hold raised on another laptop, a second
    terminal on the same run). Read back from the log rather than applied from memory, so an
    event another process slipped in between two of ours is never skipped."""
    for event in ledger.events(run=state.run_id, after=state.last_seq):
        state.apply(event)
        if event.kind in SHOWN_EVENTS:
            frontend.show(EventNotice(event, state))


def _moved(
    ledger: Ledger, protocol: Protocol, state: RunState, step: runner.Step, frontend: Frontend
) -> tuple[production.Outside, int] | None:
    """None when the run moved on while someone was answering `step` (the answer is then not
    recorded): say, a hold raised from another laptop, a stop-work on the scene, or a lunch
    break at the question. Without this check an answer typed after `safetycli hold` would
    still land, and the walk-through would carry on past a stop. Otherwise what holds beyond the
    run now, and the head of the log it was read at."""
    _catch_up(ledger, state, frontend)
    _note_pause(ledger, protocol, state, frontend)
    outside, seen = look_outside(ledger, protocol, state)
    now = runner.next_step(protocol, state, outside)
    if now == step:
        return outside, seen
    frontend.show(MovedNotice(step, now, state))
    return None


def _append_if_unmoved(
    ledger: Ledger,
    protocol: Protocol,
    state: RunState,
    step: runner.Step,
    frontend: Frontend,
    record: Record,
) -> None:
    """Record an answer only if the run is still where it was when the question was asked, and
    no stop-work landed anywhere since; the check and the append happen under one write lock
    (`if_run_at`, `if_no_stop_after`), so nothing can slip between."""
    while (looked := _moved(ledger, protocol, state, step, frontend)) is not None:
        outside, seen = looked
        events = with_incidents(ledger, protocol, state, record(state, outside))
        moves = _custody_moved(ledger, protocol, state, events)

        def unchanged(events: list[NewEvent] = events, moves: list[NewEvent] = moves) -> None:
            """Under the write lock: the armory as the moves were worked out (a firearm moved
            by another process meanwhile means looking again)."""
            if _custody_moved(ledger, protocol, state, events) != moves:
                raise RunMoved(state.run_id)

        try:
            ledger.append_many(
                events + moves,
                if_run_at=(state.run_id, state.last_seq),
                if_no_stop_after=seen,
                guard=unchanged if moves else None,
            )
            return
        except RunMoved:
            continue  # another process wrote just now: look again


def _custody_moved(
    ledger: Ledger, protocol: Protocol, state: RunState, events: list[NewEvent]
) -> list[NewEvent]:
    """The custody events the signatures prove, written with them (`moves`): a hand-over the
    receiver has just confirmed with their PIN (`armory.handed-over`), a take-back on cut, the
    rounds of the run's lot a confirmed count says were fired, returned or spoiled, and at
    lock-up the run's firearms on the cart back into storage (`put-away`). Worked
    out again under the write lock (`_append_if_unmoved`): a firearm or a lot moved meanwhile by
    another process means looking again, never a move recorded twice."""
    settled: list[tuple[Item, str, Any]] = []
    for event in events:
        if event.kind != ITEM_DONE or event.data.get("outcome") != "confirmed":
            continue
        try:
            item = protocol.item(event.data["item"])
        except KeyError:
            continue
        if item.moves is not None:
            by = (event.data.get("by") or {}).get("name", "")
            settled.append((item, by, _answer_of(state, events, event.data)))
    if not settled:
        return []
    from safetycli import armory

    custody = armory.current(ledger)
    out: list[NewEvent] = []

    def record(moves: list[Any]) -> None:
        out.extend(custody.ahead(move) for move in moves)

    for item, armorer, answer in settled:  # in order: on cut, a take-back before a hand-over
        if item.moves == PUT_AWAY:
            own = [serial for serial, _ in state.firearms]
            record(armory.put_away(custody, state.run_id, armorer, own))
        elif item.moves in armory.ROUND_MOVES:
            count = int(answer or 0)
            move = armory.rounds_moved(custody, item.moves, count, armorer, state.run_id, state.day)
            record([move] if move is not None else [])
        elif item.serial is not None:  # a per-firearm check of a run without an armory: none
            receiver = state.signed_in.get(item.witness[0]) if item.witness else None
            move = armory.moved(custody, item.moves or "", item.serial, armorer, receiver)
            record([move] if move is not None else [])
    return out


def _answer_of(state: RunState, events: list[NewEvent], at: dict[str, Any]) -> Any:
    """The performer's answer to the check an `item.done` settles: in the same append (its
    sign-off, or the per-item event of an answer given alone), or signed earlier."""
    place = (at["phase"], at["take"])
    for event in events:
        data = event.data
        if event.kind == ITEM_SIGNED_OFF and (data["phase"], data["take"]) == place:
            for entry in data["items"]:
                if entry["item"] == at["item"] and entry["meaning"] == "performed":
                    return entry["answer"]
        elif event.kind == ITEM_PERFORMED and data["item"] == at["item"]:
            if (data["phase"], data["take"]) == place:
                return data["answer"]
    attempt = state.progress.get((at["phase"], at["take"], at["item"]))
    return None if attempt is None or attempt.performed is None else attempt.performed["answer"]


def with_incidents(
    ledger: Ledger, protocol: Protocol, state: RunState, events: list[NewEvent]
) -> list[NewEvent]:
    """`events`, and for a hold on a check that records an incident (`incident:`), the incident
    in the register, in the same transaction: with the run's scene and the firearms and lots out
    for the run, which an unplanned discharge or an injury freezes where they are."""
    from safetycli import incidents

    out = list(events)
    for event in events:
        if event.kind != HOLD_RAISED or not event.data.get("item"):
            continue
        item = protocol.item(event.data["item"])
        if item.incident is None:
            continue
        firearms, lots = out_for_run(ledger, state.run_id)
        raised = event.data.get("raised_by") or {}
        key = (event.data["phase"], event.data.get("take"), item.id)
        out.append(
            incidents.report(
                incident_id=incidents.new_id(f"{state.run_id}:{key}:{state.last_seq}"),
                kind=item.incident,
                text=f"{event.data['reason']} (run {state.run_id})",
                name=raised.get("name"),
                role=raised.get("role"),
                authenticated=False,
                closers=incidents.closing_roles(item.incident, has_advisor(ledger)),
                scene=state.scene,
                run=state.run_id,
                firearms=firearms,
                lots=lots,
                item=key,
            )
        )
    return out


def incident_of(ledger: Ledger, state: RunState) -> str | None:
    """The open incident the run's open hold recorded (its id), if its check records one."""
    hold = state.open_hold
    if hold is None or hold.key is None:
        return None
    for incident in production.load(ledger).incidents.open():
        if incident.run == state.run_id and incident.item == hold.key:
            return incident.id
    return None


def out_for_run(ledger: Ledger, run_id: str | None) -> tuple[list[str], list[str]]:
    """The firearms and lots the armory has out for `run_id` (every one out, for None)."""
    from safetycli import armory

    state = armory.current(ledger)
    firearms = [
        f.serial
        for f in state.firearms.values()
        if f.where != armory.LOCKED and (run_id is None or f.run == run_id)
    ]
    lots = []
    for lot in state.lots.values():
        out = lot.out if run_id is None else lot.counts(run_id).out
        if out > 0:
            lots.append(lot.lot)
    return firearms, lots


def has_advisor(ledger: Ledger) -> bool:
    """Whether the production has a safety advisor: someone on the roster in that role."""
    return any(m.has_role("safety_advisor") for m in crew.roster(ledger))


def _why(step: Ask) -> str:
    if step.meaning == "performed":
        return "critical check"
    return "witness" if step.meaning == "witnessed" else "read-back"


# --- the answers-file frontend (core: no terminal) -----------------------------------------------


class FileFrontend:
    """Answers from a file; a wrong PIN or a wrong answer type is bad input (exit 2), a missing
    answer leaves the run open (exit 4)."""

    def __init__(self, answers: AnswersFile, resume_hint: str) -> None:
        self.file = answers
        self.resume_hint = resume_hint
        self.log: list[Notice] = []  # what the walk-through said, for the caller and tests

    def fact(self, name: str, fact: Fact) -> Any:
        if name in self.file.context:
            return self.file.context[name]
        raise SafetyError(
            f"{self.file.path}: no value for `{name}` ({fact.ask}); add it under `context:` "
            f"or pass --set {name}=..."
        )

    def _signer(self, role: str) -> tuple[str, str]:
        if role not in self.file.signers:
            raise Incomplete(
                f"{self.file.path}: nobody signs as {role}: add `{role}: {{name: ..., pin: ...}}` "
                f"under `signers:`; {self.resume_hint}"
            )
        return self.file.signers[role]

    def sign_in(self, role: str, candidates: list[str]) -> str:
        return self._signer(role)[0]

    def pin(self, name: str, role: str, why: str) -> str:
        return self._signer(role)[1]

    def refused(self, message: str) -> None:
        raise SafetyError(message)

    def answer(self, step: Ask, state: RunState, protocol: Protocol) -> Answer:
        item = step.item
        # A check asked per firearm takes the file's answer for that firearm
        # (`shown-clear@SN4471`), else the one for every firearm (`shown-clear`).
        ids = (item.id, item.base_id) if item.serial is not None else (item.id,)
        if step.meaning == "witnessed":
            item_id = next((i for i in ids if step.role in self.file.witnesses.get(i, {})), ids[0])
            value = self.file.witnesses.get(item_id, {}).get(step.role, True)
            try:
                return normalise(step, value)
            except SafetyError as err:
                raise self.file.fail(("witnesses", item_id, step.role), err.message) from None
        if step.meaning == "read-back":
            for item_id in ids:
                table = self.file.readbacks.get(item_id, {})
                if step.role in table:
                    loc = ("readbacks", item_id, step.role)
                    return self._checked(loc, step, table[step.role])
            return step.answer  # the signer's, as recorded
        item_id = next((i for i in ids if i in self.file.answers), None)
        if item_id is None:
            raise Incomplete(
                f"no answer for `{item.base_id}` ({item.question}) in {self.file.path}; "
                f"the run is left open: {self.resume_hint}"
            )
        value = self.file.answers[item_id]
        if isinstance(value, dict):
            if set(value) == {"na"} and isinstance(value["na"], str):
                if not item.allow_na or item.critical:
                    raise self.file.fail(
                        ("answers", item_id), f"`{item_id}` cannot be marked not applicable"
                    )
                return NotApplicable(value["na"])
            raise self.file.fail(("answers", item_id), "write an answer, or {na: reason}")
        return self._checked(("answers", item_id), step, value)

    def _checked(self, loc: tuple[str | int, ...], step: Ask, value: Any) -> Answer:
        if step.item.kind != "confirm" and isinstance(value, int | float | date):
            # Read what was typed: YAML makes `0123` octal 83 and `18:30` the number 1110.
            value = self.file.typed(loc)
        try:
            return normalise(step, value)
        except SafetyError as err:
            raise self.file.fail(loc, err.message) from None

    def batch(
        self, batch: runner.Batch, state: RunState, protocol: Protocol
    ) -> Iterator[tuple[Ask, Answer]]:
        """The file's answers in turn. A check the file has no answer for ends the batch there:
        the answers before it are signed (as they were one by one before batches), and the
        next batch starts at that check, which leaves the run open (exit 4)."""
        for n, ask in enumerate(batch.asks):
            try:
                value = self.answer(ask, state, protocol)
            except Incomplete:
                if n == 0:
                    raise
                return
            yield ask, value

    def another_take(self, step: runner.AnotherTake) -> bool:
        return step.take < self.file.takes

    def second_run(self, open_runs: list[str], scene: str) -> bool:
        raise SafetyError(
            f"run {open_runs[-1]} of this checklist for scene {scene} is still open: an answers "
            f"file does not start a second one; resume it (`safetycli resume {open_runs[-1]} "
            f"--answers ...`) or end it (`safetycli abort {open_runs[-1]} --reason ...`)"
        )

    def show(self, notice: Notice) -> None:
        self.log.append(notice)
