"""Projections for people reviewing the log: run lists, one run's full record, the set now, and the
producer's report.

Everything here is derived from the log; nothing is stored. The JSON shapes of `run_detail` and
`summary` are a contract (DESIGN.md) that scripts depend on: add keys, never rename or remove them.

Review reads the log only through `capabilities.ReviewSource`, never through SQL or the SQLite
class, so the central store can serve it too.

How it scales. A season's log holds a million events, and a producer asks about one day. So
listing never replays runs: run starts are found by shooting day, scene and protocol through the
store's index (`ReviewIndex.run_starts`), and each candidate's status comes from the store's
run-status projection (one row a run, kept with every append, checked against the log's own fold
by verify; runview.py). What stops work (`status`, the scenes held) reads the log itself, never
the projection: the few holds and ends through the kind index, folded as `RunState` folds them. Only
`run_detail` replays a run's events. The report reads of each run only what it shows (its start,
sign-ins, holds, ends, failed PINs, corrections, refusals and N/A, its signatures counted in the
store: `_report_parts`), and replays only a run that summary cannot vouch for; a test holds it to
the replay's output. The cost of a day's list or report depends on that day, not on the length of
the log, and results stream: nothing loads the whole log.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetycli import days, perfirearm
from safetycli import events as ev
from safetycli.days import local_day, parse_day, within
from safetycli.errors import SafetyError
from safetycli.events import Event
from safetycli.names import fold_name
from safetycli.roles import known as known_roles
from safetycli.roles import role_name
from safetycli.storage import RunStart

if TYPE_CHECKING:
    from safetycli.capabilities import ReviewSource
    from safetycli.lifecycle import Hold
    from safetycli.runner import RunState
    from safetycli.runspool import RunSpool

STATUSES = ("open", "held", "complete", "aborted")
# A run's failed PINs and lock-outs (a successful sign-in is no exception).
_FAILED_PIN_KINDS = (ev.AUTH_FAILED, ev.AUTH_LOCKED)
# Outside runs, an unlock also belongs with the lock-outs.
_OUTSIDE_RUN_KINDS = (
    ev.AUTH_FAILED,
    ev.AUTH_LOCKED,
    ev.CREW_UNLOCKED,
    ev.CREW_ADDED,
    ev.CREW_PIN_SET,
    ev.CREW_REMOVED,
    ev.CREW_ROLE_ADDED,
)
_MEANING = {
    ev.ITEM_PERFORMED: "performed",
    ev.ITEM_WITNESSED: "witnessed",
    ev.ITEM_READ_BACK: "read-back",
}

Progress = Callable[[int, int], None]


# --- filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFilter:
    """Which runs a list or report covers. Every field is optional; all given ones must match."""

    day_from: str | None = None
    day_to: str | None = None
    scene: str | None = None
    status: str | None = None
    protocol: str | None = None
    person: str | None = None
    role: str | None = None

    @classmethod
    def build(
        cls,
        *,
        day: str | None = None,
        from_day: str | None = None,
        to_day: str | None = None,
        scene: str | None = None,
        status: str | None = None,
        protocol: str | None = None,
        person: str | None = None,
        role: str | None = None,
        own_roles: Mapping[str, str] | None = None,
    ) -> RunFilter:
        """Check what the user typed and say plainly what is wrong (SafetyError, exit 2)."""
        if day is not None and (from_day is not None or to_day is not None):
            raise SafetyError("give either --day or --from/--to, not both")
        lo = hi = parse_day(day) if day is not None else None
        if from_day is not None:
            lo = parse_day(from_day, "--from")
        if to_day is not None:
            hi = parse_day(to_day, "--to")
        if lo is not None and hi is not None and lo > hi:
            raise SafetyError(f"--from {lo} is after --to {hi}: nothing can match")
        if status is not None:
            status = status.strip().lower()
            if status not in STATUSES:
                raise SafetyError(
                    f"--status {status!r} is not a run status: use one of {', '.join(STATUSES)}"
                )
        if role is not None:
            role = role.strip()
            roles = known_roles(own_roles)
            if role not in roles:
                raise SafetyError(f"--role {role!r} is not a role: roles are {', '.join(roles)}")
        for option, value in (("--scene", scene), ("--protocol", protocol), ("--person", person)):
            if value is not None and not value.strip():
                raise SafetyError(f"{option} needs a value")
        return cls(
            day_from=lo,
            day_to=hi,
            scene=scene.strip() if scene is not None else None,
            status=status,
            protocol=protocol.strip() if protocol is not None else None,
            person=person.strip() if person is not None else None,
            role=role,
        )


# --- run lists, without replay -------------------------------------------------------------------


def _starts(ledger: ReviewSource, f: RunFilter, *, newest_first: bool) -> Iterator[RunStart]:
    """Run starts matching the day, scene and protocol filters (the rest need more than the
    start)."""
    return ledger.run_starts(
        day_from=f.day_from,
        day_to=f.day_to,
        scene=f.scene,
        protocol=f.protocol,
        newest_first=newest_first,
    )


def _lifecycle(ledger: ReviewSource, run_id: str) -> tuple[str, int, str | None]:
    """(status, holds, ended_at) from the run's lifecycle events alone, through the same fold
    `RunState` uses, so a listed status is always the status the runner acts on."""
    from safetycli.lifecycle import Lifecycle

    fold = Lifecycle()
    for kind, at in ledger.lifecycle(run_id):
        fold.apply(kind, 0, at)
    return fold.status, len(fold.holds), fold.ended_at


def _names(ledger: ReviewSource, person: str) -> list[str]:
    """The spellings of a person in the log: the roster matches names case-insensitively, so
    `--person sam ortiz` finds Sam Ortiz."""
    want = fold_name(person)
    found = {person}
    for name in ledger.crew_names():
        if fold_name(name) == want:
            found.add(name)
    return sorted(found)


def _people_in(kind: str, data: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(name, role) of everyone a sign-in, a hold raised or a hold cleared names."""
    if kind == ev.RUN_SIGNED_IN:
        yield data["name"], data["role"]
    elif kind == ev.HOLD_RAISED:
        if data.get("raised_by"):
            yield data["raised_by"]["name"], data["raised_by"]["role"]
    elif kind == ev.HOLD_CLEARED:
        for who in data.get("cleared_by") or []:
            yield who["name"], who["role"]


def _took_part(
    ledger: ReviewSource, run_id: str, names: list[str] | None, role: str | None
) -> bool:
    """`_runs_with` for one run, from its own events (through the run index): cheaper than the
    season-wide sets when the list is one shooting day's few runs."""
    for kind, data in ledger.people_events(run_id):
        for n, r in _people_in(kind, data):
            if (role is None or r == role) and (names is None or n in names):
                return True
    return role is None and names is not None and ledger.has_events_by(run_id, names)


def _runs_with(ledger: ReviewSource, names: list[str] | None, role: str | None) -> set[str]:
    """--person: the runs the person appears in (signed in, signed, witnessed, read back, held,
    cleared a hold, or tried a PIN); --role: someone signed for the role; both: that person in
    that role. One set for the whole list, from the indexes (sign-ins and the person column
    answer all but the holds; the holds, a few per held run, are read through the kind index
    and matched here), instead of asking every run of the season in turn."""
    if role is not None:
        found = ledger.signed_in_runs(role, names)
    else:
        assert names is not None
        found = ledger.runs_by(names)  # sign-ins and hold raises carry the signer as `person`
    for _, _, kind, run, data in ledger.hold_events():
        if run in found:
            continue
        for n, r in _people_in(kind, data):
            if (role is None or r == role) and (names is None or n in names):
                found.add(run)
                break
    return found


def summary_of(
    start: RunStart, status: str, holds: int, ended_at: str | None, scene_held: bool = False
) -> dict[str, Any]:
    data = start.data
    return {
        "id": start.run,
        "protocol": data["protocol"]["id"],
        "scene": data["scene"],
        "day": data["day"],
        "status": status,
        "started_at": start.at,
        "ended_at": ended_at,
        "holds": holds,
        # Its scene is held: by a stop-work called on the set, or by a run of it on hold (this
        # one or another), as `status` says.
        "scene_held": scene_held or status == "held",
    }


def _stop_board(ledger: ReviewSource) -> Any:
    """What holds scenes now, read once for the whole list: `production.StopBoard`, the state
    `status` shows and the runner acts on (stop-work called on a scene, here or pulled; a run on
    hold here or on another laptop; a refused laptop's unverified stop-work; an open incident
    that stops firearm work). Read from the log and foreign.db through their kind indexes: a
    day's list must not read the season."""
    from safetycli import production

    return production.StopBoard(ledger)


_FEW_RUNS = 1_000
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _start_matches(start: RunStart, f: RunFilter) -> bool:
    """The day, scene and protocol filters as `ReviewIndex.run_starts` applies them in SQL:
    days compared as text, the scene without case as SQLite's NOCASE folds it (ASCII only)."""
    data = start.data
    day = data.get("day")
    if (f.day_from is not None or f.day_to is not None) and not isinstance(day, str):
        return False
    if f.day_from is not None and day < f.day_from:
        return False
    if f.day_to is not None and day > f.day_to:
        return False
    if f.scene is not None:
        scene = data.get("scene")
        if not isinstance(scene, str):
            return False
        if scene.translate(_ASCII_UPPER) != f.scene.translate(_ASCII_UPPER):
            return False
    protocol = data.get("protocol")
    return f.protocol is None or (isinstance(protocol, dict) and protocol.get("id") == f.protocol)


def _status(ledger: ReviewSource, run_id: str) -> tuple[str, int, str | None]:
    """(status, holds, ended_at) of a listed run: its row of the run-status projection, kept
    with every append (one lookup, however long the log); folded from the log when it has none."""
    found = ledger.run_status(run_id)
    return found if found is not None else _lifecycle(ledger, run_id)


def run_summaries(
    ledger: ReviewSource, filters: RunFilter | None = None
) -> Iterator[dict[str, Any]]:
    """Runs matching the filters, newest shooting day first (then newest start), streamed."""
    f = filters or RunFilter()
    names = _names(ledger, f.person) if f.person is not None else None
    by_person = names is not None or f.role is not None
    # One day's few runs are asked one by one; any longer list takes the season-wide set.
    one_day = f.day_from is not None and f.day_from == f.day_to
    among = _runs_with(ledger, names, f.role) if by_person and not one_day else None
    board = _stop_board(ledger)
    starts: Iterable[RunStart]
    if among is not None and len(among) <= _FEW_RUNS:
        # A person's runs: their starts through the run index, not every start of the season.
        starts = (s for s in ledger.starts_of(among) if _start_matches(s, f))
    else:
        starts = _starts(ledger, f, newest_first=True)
    for start in starts:
        if among is not None and start.run not in among:
            continue
        if by_person and among is None and not _took_part(ledger, start.run, names, f.role):
            continue
        status, holds, ended_at = _status(ledger, start.run)
        if f.status is not None and status != f.status:
            continue
        held_scene = board.holds(start.data["scene"], start.data["day"])
        yield summary_of(start, status, holds, ended_at, held_scene)


def run_ids(ledger: ReviewSource) -> list[str]:
    """Every run, newest shooting day first."""
    return [s.run for s in _starts(ledger, RunFilter(), newest_first=True)]


def run_events(ledger: ReviewSource, run_id: str) -> list[Event]:
    return list(ledger.events(run=run_id))


def summary(state: RunState) -> dict[str, Any]:
    """The list entry of a replayed run (the same keys `run_summaries` gives without replay)."""
    return {
        "id": state.run_id,
        "protocol": state.protocol.get("id"),
        "scene": state.scene,
        "day": state.day,
        "status": state.status,
        "started_at": state.started_at,
        "ended_at": state.ended_at,
        "holds": len(state.holds),
        "scene_held": state.status == "held",
    }


# --- one run, in full ----------------------------------------------------------------------------


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


_BREAK_PHASE = "after-break"  # the id every shipped protocol gives its after-break phase


@dataclass(frozen=True)
class _Known:
    """What review needs from a protocol's text: its after-break phases, and each check's
    question (`ask`) by (phase, item), so the report names a check in the crew's words."""

    breaks: frozenset[str]
    asks: Mapping[tuple[str, str], str]


_UNKNOWN = _Known(frozenset((_BREAK_PHASE,)), {})


@functools.lru_cache(maxsize=8)
def _protocols_in(folder: str | None) -> dict[tuple[str, str], _Known]:
    """(protocol id, sha256) -> what review needs from it, for every protocol the tool would
    load (shipped, and the workspace's own); read once per process, from the protocol cache
    when no protocol file changed (protocache.questions: loading and validating the catalog
    is most of a month's report otherwise)."""
    from safetycli.protocache import questions

    return {
        key: _Known(breaks, asks)
        for key, (breaks, asks) in questions(Path(folder) if folder else None).items()
    }


def _known(ledger: ReviewSource, protocol: dict[str, Any]) -> _Known:
    """The protocol text the run recorded (matched by its sha256, so a question is always the
    one the crew was asked); when that text is no longer on disk, no questions, and the shipped
    protocols' after-break phase id `after-break`."""
    path = getattr(ledger, "path", None)  # the workspace's log.db, beside its checklists/
    folder = str(Path(path).parent / "checklists") if path else None
    key = (str(protocol.get("id")), str(protocol.get("sha256")))
    return _protocols_in(folder).get(key, _UNKNOWN)


def _break_phases(ledger: ReviewSource, protocol: dict[str, Any]) -> frozenset[str]:
    """The run's after-break phases: their take number counts breaks, not takes."""
    return _known(ledger, protocol).breaks


def _scene_holds_during(ledger: ReviewSource, state: RunState) -> list[dict[str, Any]]:
    """Stop-work called on the run's scene while the run was under way: raised before its end
    (or now) and not cleared before it started."""
    from safetycli import production

    key = production.scene_key(state.scene)
    out = []
    for hold in production.load(ledger).scene_holds:
        if production.scene_key(hold.scene) != key:
            continue
        if state.ended_at is not None and hold.raised_at > state.ended_at:
            continue
        if state.started_at and hold.cleared_at is not None and hold.cleared_at < state.started_at:
            continue
        out.append(
            {
                **hold.as_json(),
                "cleared_seq": hold.cleared_seq,
                "stopped_seconds": seconds_between(hold.raised_at, hold.cleared_at),
            }
        )
    return out


def _stopped_during(ledger: ReviewSource, state: RunState) -> list[dict[str, Any]]:
    """What other laptops stopped the run's scene with while it was under way (elsewhere.py):
    read from foreign.db, nothing for a laptop that never synced."""
    foreign = getattr(ledger, "foreign", None)
    if not callable(foreign) or foreign() is None:
        return []
    from safetycli import elsewhere, production

    state_now = production.load(ledger)
    found = elsewhere.stopped_here(ledger, state_now, state.started_at, state.ended_at)
    during = elsewhere.during(found, state.scene, state.day, state.started_at, state.ended_at)
    return [s.as_json() for s in during]


def _scene_hold_story(holds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timeline entries for stop-work on the run's scene: raised, and cleared when it was."""
    story = []
    for h in holds:
        story.append(
            {
                "seq": h["seq"],
                "at": h["raised_at"],
                "kind": ev.SCENE_HELD,
                "person": h["raised_by"].get("name"),
                "scene": h["scene"],
                "reason": h["reason"],
                "raised_by": h["raised_by"],
                "authenticated": h["authenticated"],
            }
        )
        if h["cleared_seq"] is not None:
            story.append(
                {
                    "seq": h["cleared_seq"],
                    "at": h["cleared_at"],
                    "kind": ev.SCENE_CLEARED,
                    "person": None,
                    "scene": h["scene"],
                    "hold": h["seq"],
                    "cleared_by": h["cleared_by"],
                    "note": h["note"],
                }
            )
    return story


Question = Callable[[Any, Any], str | None]


def _questions(known: _Known) -> Question:
    def question(phase: Any, item: Any) -> str | None:
        """The check's question, as the crew was asked it (naming the firearm of a check asked
        per firearm); None for a hold on the whole run."""
        base, serial = perfirearm.split_id(str(item))
        ask = known.asks.get((phase, base))
        return None if ask is None else perfirearm.naming(ask, serial and f"firearm {serial}")

    return question


def _at_item(event: Event, question: Question) -> dict[str, Any]:
    """Where an entry about one check stands: when, and which check (asked as the crew saw it)."""
    data = event.data
    return {
        "seq": event.seq,
        "at": event.at,
        "phase": data["phase"],
        "take": data["take"],
        "item": data["item"],
        "question": question(data["phase"], data["item"]),
    }


def _outcome(event: Event, question: Question, after_break: bool) -> dict[str, Any]:
    data = event.data
    return {
        **_at_item(event, question),
        "outcome": data["outcome"],
        "reason": data.get("reason"),
        "by": data.get("by"),
        "after_break": after_break,
    }


def _correction(event: Event, question: Question, after_break: bool) -> dict[str, Any]:
    data = event.data
    return {
        **_at_item(event, question),
        "was": data["was"],
        "answer": data["answer"],
        "note": data["note"],
        "by": data["by"],
        "recheck": [list(k) for k in data.get("recheck", [])],
        "after_break": after_break,
    }


def _failed_pin(event: Event) -> dict[str, Any]:
    data = event.data
    return {
        "seq": event.seq,
        "at": event.at,
        "kind": event.kind,
        "name": data.get("name", event.person),
        "role": data.get("role"),
        "purpose": data.get("purpose"),
        "reason": data.get("reason", "locked out"),
    }


def _hold_entries(
    holds: Iterable[Hold], question: Question, breaks: frozenset[str]
) -> list[dict[str, Any]]:
    return [
        {
            "item": h.key[2] if h.key else None,
            "question": question(h.phase, h.key[2]) if h.key else None,
            "phase": h.phase,
            "take": h.take,
            "after_break": h.phase in breaks,
            "raised_at": h.raised_at,
            "raised_by": h.raised_by,
            "authenticated": h.authenticated,
            "reason": h.reason,
            "cleared_at": h.cleared_at,
            "cleared_by": h.cleared_by,
            "note": h.note,
            # How long work stopped; None while the hold is still on.
            "stopped_seconds": seconds_between(h.raised_at, h.cleared_at),
        }
        for h in holds
    ]


def run_detail(ledger: ReviewSource, run_id: str, *, timeline: bool = True) -> dict[str, Any]:
    """One run, in order: every sign-off with its witnesses and read-backs, holds and how long work
    stopped, outcomes, failed PINs, and any signature by someone not signed in for it.
    `timeline=False` leaves out the copy of every event (the report has no use for it)."""
    from safetycli.runner import replay  # the protocol models behind it cost a listing 40 ms

    events = run_events(ledger, run_id)
    state = replay(run_id, events)
    known = _known(ledger, state.protocol)
    breaks = known.breaks
    question = _questions(known)

    signoffs: list[dict[str, Any]] = []
    open_items: dict[tuple[Any, ...], dict[str, Any]] = {}
    outcomes: list[dict[str, Any]] = []
    failed_pins: list[dict[str, Any]] = []
    sign_ins: list[dict[str, Any]] = []
    rolled: set[tuple[str, str]] = set()
    signatures = 0
    not_signed_in: list[dict[str, Any]] = []
    corrections: list[dict[str, Any]] = []
    story: list[dict[str, Any]] = []
    # A sign-off reads as the per-item signatures it covers: the record shows every check with
    # who performed, witnessed and read it back, whether signed one by one or in a batch.
    for event in (signed for raw in events for signed in ev.expand(raw)):
        data = event.data
        # An after-break check's take number counts breaks (`fmt.take` says `break 2`).
        after_break = data.get("phase") in breaks
        if timeline:
            entry = {"seq": event.seq, "at": event.at, "kind": event.kind, "person": event.person}
            story.append(entry | data | ({"after_break": True} if after_break else {}))
        key = (data.get("phase"), data.get("take"), data.get("item"))
        if event.kind in ev.SIGNATURE_KINDS:
            signatures += 1
            if (data["name"], data["role"]) not in rolled:
                not_signed_in.append(
                    {
                        **_at_item(event, question),
                        "meaning": _MEANING[event.kind],
                        "name": data["name"],
                        "role": data["role"],
                        "after_break": after_break,
                    }
                )
        if event.kind == ev.ITEM_PERFORMED:
            entry = {
                **_at_item(event, question),
                "answer": data["answer"],
                "by": {"name": data["name"], "role": data["role"]},
                "meaning": "performed",
                "witnesses": [],
                "readbacks": [],
                "outcome": None,
                "reason": data.get("reason"),
                "after_break": after_break,
                # The language the signer read and the sha256 of the text shown (translation.py);
                # null in logs written before they were recorded.
                "lang": data.get("lang"),
                "text_sha256": data.get("text_sha256"),
            }
            signoffs.append(entry)
            open_items[key] = entry
        elif event.kind == ev.ITEM_WITNESSED and key in open_items:
            open_items[key]["witnesses"].append(
                {
                    "name": data["name"],
                    "role": data["role"],
                    "ok": data["ok"],
                    "at": event.at,
                    "lang": data.get("lang"),
                    "text_sha256": data.get("text_sha256"),
                }
            )
        elif event.kind == ev.ITEM_READ_BACK and key in open_items:
            open_items[key]["readbacks"].append(
                {
                    "name": data["name"],
                    "role": data["role"],
                    "answer": data["answer"],
                    "ok": data["ok"],
                    "at": event.at,
                    "lang": data.get("lang"),
                    "text_sha256": data.get("text_sha256"),
                }
            )
        elif event.kind == ev.ITEM_DONE:
            if key in open_items:
                open_items.pop(key)["outcome"] = data["outcome"]
            outcomes.append(_outcome(event, question, after_break))
        elif event.kind == ev.ITEM_CORRECTED:
            correction = _correction(event, question, after_break)
            corrections.append(correction)
            for signoff in reversed(signoffs):  # the answer it puts right: the latest for the key
                if (signoff["phase"], signoff["take"], signoff["item"]) == key:
                    signoff["corrected"] = correction
                    break
        elif event.kind == ev.RUN_SIGNED_IN:
            rolled.add((data["name"], data["role"]))
            sign_ins.append({"name": data["name"], "role": data["role"], "at": event.at})
        elif event.kind in _FAILED_PIN_KINDS:
            failed_pins.append(_failed_pin(event))
    holds = _hold_entries(state.holds, question, breaks)
    scene_holds = _scene_holds_during(ledger, state)
    from_others = _stopped_during(ledger, state) if timeline else []
    if timeline and scene_holds:
        story = sorted(story + _scene_hold_story(scene_holds), key=lambda e: e["seq"])
    return {
        "id": run_id,
        "protocol": dict(state.protocol),
        "scene": state.scene,
        "day": state.day,
        "status": state.status,
        "context": state.context,
        "started_at": state.started_at,
        "ended_at": state.ended_at,
        "signed_in": sign_ins,
        "signoffs": signoffs,
        "outcomes": outcomes,
        "refused": [o for o in outcomes if o["outcome"] == "refused"],
        "not_applicable": [o for o in outcomes if o["outcome"] == "not-applicable"],
        "holds": holds,
        "failed_pins": failed_pins,
        "aborted": state.aborted,
        "signatures": signatures,
        "not_signed_in": not_signed_in,
        "corrections": corrections,
        # Stop-work called on the run's scene while it was under way (`hold --scene`).
        "scene_holds": scene_holds,
        # What other laptops stopped its scene with while it was under way: their held runs,
        # and refused laptops' unverified stop-work (elsewhere.py); not events of this log.
        "stopped_from_other_laptops": from_others,
        # How it was answered: at the keyboard, or from an answers file (training, scripts).
        "mode": events[0].data.get("mode") if events else None,
        "timeline": story,
    }


def set_status(ledger: ReviewSource) -> dict[str, Any]:
    """The set now (`safetycli status`): in setnow.py, which `status` loads without review."""
    from safetycli.setnow import set_status as now

    return now(ledger)


def open_incidents(register: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every open incident, oldest first, with its age and who must close it: what `status`
    and the day report open with."""
    from safetycli.incidents import open_list

    return open_list(register, now or datetime.now(UTC))


# --- the producer's report -----------------------------------------------------------------------


def _period(f: RunFilter) -> dict[str, str | None]:
    return {"from": f.day_from, "to": f.day_to}


def build_report(
    ledger: ReviewSource,
    filters: RunFilter,
    *,
    production: str = "",
    timezone: str = "UTC",
    generated_at: str | None = None,
    progress: Progress | None = None,
    spool: bool = False,
) -> dict[str, Any]:
    """The producer's report for a day or a period: exceptions first, then every run in order
    with its signers, and the log's head so a printed copy anchors the chain. `spool`: the runs
    kept on disk as they are made (`runspool.RunSpool`, iterable like the list it replaces), so
    a season's report holds one run at a time; the caller closes it.

    Read inside one read transaction: the head printed at the foot is exactly the log the report
    was made from, even while the crew keeps signing on another laptop."""
    from safetycli.ledger import now_utc

    f = RunFilter(day_from=filters.day_from, day_to=filters.day_to)
    with ledger.snapshot() as (head_seq, head_hash):
        starts: list[str] = []
        first: int | None = None  # the period's first run start: its custody comes after it
        for start in _starts(ledger, f, newest_first=False):
            starts.append(start.run)
            first = start.seq if first is None else min(first, start.seq)
        exceptions: dict[str, Any] = {
            "incidents": _incidents(ledger, f, timezone),
            "holds": [],
            "refused": [],
            "not_applicable": [],
            "unfinished": [],
            "failed_pins": [],
            "lockouts": [],
            "not_signed_in": {"checked": 0, "found": []},
            "scene_holds": _scene_holds(ledger, f, timezone),
            "corrections": [],
            "roster": [],
            "answers_file_runs": [],
        }
        runs: list[dict[str, Any]] | RunSpool = [] if not spool else _spool()
        totals = dict.fromkeys(STATUSES, 0)
        for part in _report_parts(ledger, starts, progress):
            _collect(part, exceptions, runs)
            totals[part["status"]] += 1
        # Failed PINs, lock-outs and unlocks that belong to no run (approving a roster change,
        # changing a PIN), on the period's days in the production's zone (days.py).
        since, until = days.window(f.day_from, f.day_to, timezone)
        for event in ledger.outside_runs(_OUTSIDE_RUN_KINDS, since=since, until=until):
            _outside(event, exceptions, timezone)
        custody, apart = _custody(ledger, starts, f, timezone, first)
        # Read from the central store: what two laptops recorded apart (central/conflicts.py);
        # the custody fold above already found the custody ones.
        conflicts = getattr(ledger, "conflicts", None)
        if conflicts is not None:
            exceptions["between_laptops"] = conflicts(starts, custody=apart) + _unverified(
                ledger, f, timezone
            )
        else:
            stopped = _from_other_laptops(ledger, f, timezone)
            if stopped is not None:
                exceptions["from_other_laptops"] = stopped
    exceptions["failed_pins"].sort(key=lambda e: e["seq"])
    exceptions["lockouts"].sort(key=lambda e: e["seq"])
    counts = {
        "runs": len(runs),
        **totals,
        "signatures": exceptions["not_signed_in"]["checked"],
        "incidents": len(exceptions["incidents"]),
        "open_incidents": sum(1 for i in exceptions["incidents"] if i["status"] == "open"),
        "holds": len(exceptions["holds"]),
        "refused": len(exceptions["refused"]),
        "not_applicable": len(exceptions["not_applicable"]),
        "failed_pins": len(exceptions["failed_pins"]),
        "lockouts": sum(1 for e in exceptions["lockouts"] if e["kind"] == ev.AUTH_LOCKED),
        "not_signed_in": len(exceptions["not_signed_in"]["found"]),
        "scene_holds": len(exceptions["scene_holds"]),
        "corrections": len(exceptions["corrections"]),
        "roster_changes": len(exceptions["roster"]),
        "answers_file_runs": len(exceptions["answers_file_runs"]),
    }
    if "between_laptops" in exceptions:
        counts["between_laptops"] = len(exceptions["between_laptops"])
    if "from_other_laptops" in exceptions:
        counts["from_other_laptops"] = len(exceptions["from_other_laptops"])
    head = f"{head_seq}:{head_hash}"
    extra: dict[str, Any] = {}
    if custody is not None:  # only a production that keeps an armory: the others' is as before
        exceptions["custody"] = custody.pop("gaps")
        counts["custody_gaps"] = len(exceptions["custody"])
        extra["custody"] = custody
    return {
        "production": production,
        # A log that fails its head mark (headmark.py): the report says so at its top, in every
        # format, so a copy mailed on cannot pass for the record. None for an intact log.
        "log_alarm": _log_alarm(ledger),
        # The zone the Markdown and HTML show times in; every time here stays UTC.
        "timezone": timezone,
        "period": _period(f),
        "generated_at": generated_at or now_utc(),
        "counts": counts,
        "exceptions": exceptions,
        "runs": runs,
        "head": {"seq": head_seq, "hash": head_hash},
        "verify_command": f"safetycli verify --expect-head {head}",
        **extra,
    }


# What the report shows of a run comes from these kinds, its refusals and items marked not
# applicable, and its signatures counted (`_report_parts`); the rest of a run (its passed checks,
# PIN proofs, takes) is most of its events, and the report names none of it.
_PART_KINDS = (
    ev.RUN_STARTED,
    ev.RUN_SIGNED_IN,
    *ev.LIFECYCLE_KINDS,
    *_FAILED_PIN_KINDS,
    ev.ITEM_CORRECTED,
)
_SHOWN_OUTCOMES = ("refused", "not-applicable")
_START_SHOWN = ("protocol", "scene", "day", "context", "mode")


class _Seen:
    """What the report reads of one run, folded as the period's events stream past, so a
    season's events are never held: the start, sign-ins, the lifecycle fold, and the rare rest."""

    def __init__(self) -> None:
        from safetycli.lifecycle import Lifecycle

        self.starts: list[tuple[int, str, dict[str, Any]]] = []  # (seq, at, data) of each start
        self.signed_in: dict[tuple[Any, Any], int] = {}  # (name, role) -> first sign-in
        self.sign_ins: list[dict[str, Any]] = []
        self.fold = Lifecycle()
        self.failed_pins: list[dict[str, Any]] = []
        self.corrected: list[Event] = []
        self.outcomes: list[Event] = []
        # (name, role, first signature, signatures, performed) for each who signed
        self.signed: list[tuple[Any, Any, int, int, int]] = []

    def take(self, event: Event) -> None:
        """Fold one event of `_PART_KINDS`, in log order."""
        data = event.data
        if event.kind == ev.RUN_STARTED:  # only what the report shows of it
            shown = {k: data[k] for k in _START_SHOWN if k in data}
            self.starts.append((event.seq, event.at, shown))
        elif event.kind == ev.RUN_SIGNED_IN:
            self.signed_in.setdefault((data["name"], data["role"]), event.seq)
            self.sign_ins.append({"name": data["name"], "role": data["role"], "at": event.at})
        elif event.kind in _FAILED_PIN_KINDS:
            self.failed_pins.append(_failed_pin(event))
        elif event.kind == ev.ITEM_CORRECTED:
            self.corrected.append(event)
        else:
            self.fold.apply(event.kind, event.seq, event.at, data)


def _report_part(d: dict[str, Any]) -> dict[str, Any]:
    """A run's part of the report from its full record (`run_detail`)."""
    return {**d, "signoffs": len(d["signoffs"])}


# Runs a report reads at once: the signature counts and outcomes of a window are held until its
# runs are handed on, so a season is read a few weeks at a time, in flat memory.
_WINDOW = 400


def _windows(starts: list[str], size: int | None = None) -> Iterator[list[str]]:
    """`starts` cut into runs of about `size` (`_WINDOW`), in order, never parting a run listed
    twice (started twice) from its other listing."""
    size = size or _WINDOW
    last = {run: i for i, run in enumerate(starts)}
    begin, end = 0, -1
    for i, run in enumerate(starts):
        end = max(end, last[run])
        if i == end and i + 1 - begin >= size:
            yield starts[begin : i + 1]
            begin = i + 1
    if begin < len(starts):
        yield starts[begin:]


def _report_parts(
    ledger: ReviewSource, starts: list[str], progress: Progress | None
) -> Iterator[dict[str, Any]]:
    """Each run's part of the report, in the order of `starts`: from the one chain of a
    laptop's log, or, for a store of several chains (the central store), from each chain's
    runs summarised over that chain and merged back into the order of `starts`."""
    from safetycli.capabilities import Partitioned

    if not isinstance(ledger, Partitioned):
        yield from _windowed_parts(ledger, starts, progress)
        return
    streams = [
        zip(places, _windowed_parts(view, [starts[i] for i in places], None), strict=True)
        for view, places in ledger.partitions(starts)
    ]
    for turn, (_, part) in enumerate(heapq.merge(*streams, key=lambda pair: pair[0]), 1):
        yield part
        if progress is not None:
            progress(turn, len(starts))


def _windowed_parts(
    ledger: ReviewSource, starts: list[str], progress: Progress | None
) -> Iterator[dict[str, Any]]:
    """`_chain_parts` a window of runs at a time (`_windows`), so memory stays flat."""
    done = 0
    for window in _windows(starts):
        tick = None
        if progress is not None:
            offset = done

            def tick(n: int, _: int, offset: int = offset) -> None:
                progress(offset + n, len(starts))

        yield from _chain_parts(ledger, window, tick)
        done += len(window)


def _chain_parts(
    ledger: ReviewSource, starts: list[str], progress: Progress | None
) -> Iterator[dict[str, Any]]:
    """Each run's part of the report, in the order of `starts`: exactly what `run_detail`
    gives the report (`_report_part`), read without replaying the run. The period's events of
    the kinds the report shows are read once, through the kind index, over the numbers the
    period's runs span; the outcomes only where a check was refused or not applicable; the
    signatures are counted in the store. A run the summary cannot vouch for (a signature by
    someone not signed in, a run started twice, an event before its start) is replayed whole."""
    spans = {run: ledger.run_span(run) for run in dict.fromkeys(starts)}
    known = {run: span for run, span in spans.items() if span is not None}
    seen: dict[str, _Seen] = {}
    # Each run is settled once the events stream past its last (None: to be replayed), and
    # handed on in the order of `starts` as soon as every run before it is: memory holds the
    # runs under way, not the period.
    settled: dict[str, dict[str, Any] | None] = {run: None for run in spans if run not in known}
    turn = 0
    left = Counter(starts)

    def ready() -> Iterator[dict[str, Any]]:
        nonlocal turn
        while turn < len(starts) and starts[turn] in settled:
            run_id = starts[turn]
            turn += 1
            # A run listed twice (started twice) is replayed both times.
            left[run_id] -= 1
            part = settled[run_id] if left[run_id] else settled.pop(run_id)
            if part is None:
                part = _report_part(run_detail(ledger, run_id, timeline=False))
            yield part
            if progress is not None:
                progress(turn, len(starts))

    def settle(run_id: str) -> None:
        settled[run_id] = _summary_part(ledger, run_id, seen.pop(run_id, None), known[run_id])

    if known:
        first = min(span[0] for span in known.values())
        last = max(span[1] for span in known.values())
        for event in ledger.outcomes_between(_SHOWN_OUTCOMES, first, last):
            if event.run in known:
                _seen(seen, event.run).outcomes.append(event)
        for run, name, role, seq, count, performed in ledger.signature_tally(first, last):
            if run in known:
                _seen(seen, run).signed.append((name, role, seq, count, performed))
        ending = sorted((span[1], run) for run, span in known.items())
        done = 0
        for event in ledger.events_between(_PART_KINDS, first, last):
            while done < len(ending) and ending[done][0] < event.seq:
                settle(ending[done][1])
                done += 1
                yield from ready()
            if event.run in known:
                _seen(seen, event.run).take(event)
        for _, run_id in ending[done:]:
            settle(run_id)
    yield from ready()


def _seen(seen: dict[str, _Seen], run: str) -> _Seen:
    """The run's `_Seen`, made on its first event only (`setdefault` would make one for every
    event: a day of twenty units is 9,000 of them for 900 runs)."""
    found = seen.get(run)
    if found is None:
        found = seen[run] = _Seen()
    return found


def _summary_part(
    ledger: ReviewSource, run_id: str, seen: _Seen | None, span: tuple[int, int] | None
) -> dict[str, Any] | None:
    """One run's part from what `_report_parts` read, or None when only a replay can say."""
    if seen is None or span is None or len(seen.starts) != 1 or seen.starts[0][0] != span[0]:
        return None
    start_at, data = seen.starts[0][1:]
    signed_in, fold, corrected = seen.signed_in, seen.fold, seen.corrected
    signatures = signoffs = 0
    for name, role, seq, count, performed in seen.signed:
        since = signed_in.get((name, role))
        if since is None or since > seq:
            return None  # someone signed before signing in: the record lists each signature
        signatures += count
        signoffs += performed
    protocol = data["protocol"]
    known = _known(ledger, protocol) if fold.holds or seen.outcomes or corrected else _UNKNOWN
    question = _questions(known)
    outcomes = [_outcome(e, question, e.data.get("phase") in known.breaks) for e in seen.outcomes]
    return {
        "id": run_id,
        "protocol": dict(protocol),
        "scene": data["scene"],
        "day": data["day"],
        "status": fold.status,
        "context": dict(data.get("context", {})),
        "started_at": start_at,
        "ended_at": fold.ended_at,
        "signed_in": seen.sign_ins,
        "signoffs": signoffs,
        "refused": [o for o in outcomes if o["outcome"] == "refused"],
        "not_applicable": [o for o in outcomes if o["outcome"] == "not-applicable"],
        "holds": _hold_entries(fold.holds, question, known.breaks),
        "failed_pins": seen.failed_pins,
        "aborted": fold.aborted,
        "signatures": signatures,
        "not_signed_in": [],
        "corrections": [
            _correction(e, question, e.data.get("phase") in known.breaks) for e in corrected
        ],
        "mode": data.get("mode"),
    }


def _custody(
    ledger: ReviewSource, runs: list[str], f: RunFilter, zone: str, first_seq: int | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The armory's part of the report (armory.custody_report), read in the same snapshot. The
    custody is as of the head (the gaps are), but only the period's moves are kept: the others
    are never shown. It starts from the sealed snapshot of the day before the period where the
    log keeps one (`armory.for_period`), not from the season's first custody event. With it, the
    custody two units recorded apart, which the same fold finds (a report read from the central
    store shows them)."""
    from safetycli import armory

    keep = armory.in_period(set(runs), f.day_from, f.day_to, zone)
    state = armory.for_period(ledger, keep, f.day_from, first_seq, zone)
    return armory.custody_report(state, runs, f.day_from, f.day_to, zone), state.conflicts


def _log_alarm(ledger: ReviewSource) -> dict[str, Any] | None:
    """What the log's head mark found when it was opened (workspace.open_log): its kind
    (headmark's `went-back`, `replaced`, `forged`), the line `verify` and stderr print, and, when
    it went back, the event this laptop had already written. Else verify's standing verdict
    (verdict.py): kind `altered`, the event from which nothing can be trusted (`event`, null
    when what verify found names none), when verify found it and the log's head it read. The
    central store has neither."""
    line = getattr(ledger, "alarm", None)
    if line is None:
        found = getattr(ledger, "verdict", None)
        if found is None:
            return None
        return {
            "kind": "altered",
            "line": found.finding(),
            "written": None,
            "event": found.seq,
            "found_at": found.found_at,
            "verified_head": found.head,
        }
    return {
        "kind": getattr(ledger, "alarm_kind", None),
        "line": line,
        "written": getattr(ledger, "alarm_written", None),
    }


def _incidents(ledger: ReviewSource, f: RunFilter, zone: str = "UTC") -> list[dict[str, Any]]:
    """The incident register's part of the report, what it opens with: every incident still
    open, whenever reported (with its age and who must close it), then those reported or closed
    in the period (their dates in the production's zone); and, on each, a firearm with two
    misfires within a week."""
    from safetycli import production

    register = production.load(ledger).incidents
    warnings = register.repeated_misfires()
    now = datetime.now(UTC)
    out = []
    opened = {i["id"]: i for i in open_incidents(register, now)}
    for incident in sorted(register.incidents.values(), key=lambda i: (not i.is_open, i.seq)):
        reported = local_day(incident.at, zone)
        closed = local_day(incident.closed_at, zone) if incident.closed_at else None
        inside = within(reported, f.day_from, f.day_to) or within(closed, f.day_from, f.day_to)
        if not (inside or incident.is_open):
            continue
        record = opened.get(incident.id) or {
            **incident.as_json(),
            "age": "",
            "must_close": "",
            "close": "",
        }
        record["day"] = reported
        record["warnings"] = [w for w in warnings if any(s in w for s in incident.firearms)]
        out.append(record)
    return out


def _scene_holds(ledger: ReviewSource, f: RunFilter, zone: str = "UTC") -> list[dict[str, Any]]:
    """Stop-work called on a scene: those raised in the period (by their shooting day, or the
    date they were raised in the production's zone when none was given), and any still on,
    whenever raised."""
    from safetycli import production

    out = []
    for hold in production.load(ledger).scene_holds:
        day = hold.day or local_day(hold.raised_at, zone)
        if within(day, f.day_from, f.day_to) or hold.is_open:
            out.append(
                {
                    **hold.as_json(),
                    "day": day,
                    "stopped_seconds": seconds_between(hold.raised_at, hold.cleared_at),
                }
            )
    return out


def _unverified(ledger: ReviewSource, f: RunFilter, zone: str = "UTC") -> list[str]:
    """Stop-work of laptops whose sync the server refused (unverified.py), raised in the period
    or still on, each one line: never part of the record, so the producer reads it here, first
    among the exceptions, beside the conflicts between laptops."""
    from safetycli import elsewhere, production

    found = elsewhere.unverified(ledger, production.load(ledger))
    # Each its English line (JSON's), keeping the stop for the Markdown and HTML to say.
    return [elsewhere.Line(s) for s in elsewhere.in_period(found, f.day_from, f.day_to, zone)]


def _from_other_laptops(
    ledger: ReviewSource, f: RunFilter, zone: str = "UTC"
) -> list[dict[str, Any]] | None:
    """What stopped work on this laptop from the others (elsewhere.py), raised in the period or
    still on: None for a laptop that never synced (the report has no such section) and for the
    central store (its runs are every laptop's own; the unverified are among `between_laptops`)."""
    foreign = getattr(ledger, "foreign", None)
    if not callable(foreign) or foreign() is None:
        return None
    from safetycli import elsewhere, production

    since, until = elsewhere.around(f.day_from, f.day_to)
    found = elsewhere.stopped_here(ledger, production.load(ledger), since, until)
    return [s.as_json() for s in elsewhere.in_period(found, f.day_from, f.day_to, zone)]


def _run_ref(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": d["id"],
        "day": d["day"],
        "scene": d["scene"],
        "protocol": d["protocol"].get("id"),
    }


def _spool() -> RunSpool:
    from safetycli.runspool import RunSpool

    return RunSpool()


def _collect(
    d: dict[str, Any], exceptions: dict[str, Any], runs: list[dict[str, Any]] | RunSpool
) -> None:
    """Add one run's part (`_report_parts`) to the report's exceptions and runs."""
    ref = _run_ref(d)
    for hold in d["holds"]:
        exceptions["holds"].append({**ref, **hold})
    for outcome in d["refused"]:
        exceptions["refused"].append({**ref, **outcome})
    for outcome in d["not_applicable"]:
        exceptions["not_applicable"].append({**ref, **outcome})
    for correction in d["corrections"]:
        exceptions["corrections"].append({**ref, **correction})
    if d["mode"] == "answers-file":  # signed from a file, not by people at the keyboard
        exceptions["answers_file_runs"].append(
            {**ref, "started_at": d["started_at"], "status": d["status"]}
        )
    if d["status"] != "complete":
        why = None
        stopped = None  # who stopped it and their reason: for the words shown (render.fmt.why)
        if d["status"] == "aborted" and d["aborted"]:
            by = d["aborted"].get("by") or {}
            role = role_name(by["role"]) if by.get("role") else "?"
            why = f"aborted by {by.get('name', '?')} ({role}): " + str(
                d["aborted"].get("reason", "")
            )
            stopped = {"by": by or None, "reason": str(d["aborted"].get("reason", ""))}
        elif d["status"] == "held":
            open_hold = next(h for h in d["holds"] if h["cleared_at"] is None)
            why = f"held: {open_hold['reason']}"
            stopped = {"by": open_hold.get("raised_by"), "reason": open_hold["reason"]}
        exceptions["unfinished"].append(
            {
                **ref,
                "status": d["status"],
                "started_at": d["started_at"],
                "ended_at": d["ended_at"],
                "why": why,
                "stopped": stopped,
                "signoffs": d["signoffs"],
            }
        )
    for failed in d["failed_pins"]:
        bucket = "lockouts" if failed["kind"] == ev.AUTH_LOCKED else "failed_pins"
        exceptions[bucket].append({**ref, **failed})
    check = exceptions["not_signed_in"]
    check["checked"] += d["signatures"]
    for entry in d["not_signed_in"]:
        check["found"].append({**ref, **entry})
    also: list[dict[str, str]] = []
    rolled = {(s["name"], s["role"]) for s in d["signed_in"]}
    for hold in d["holds"]:
        for who in [hold["raised_by"], *(hold["cleared_by"] or [])]:
            if who and (who["name"], who["role"]) not in rolled and who not in also:
                also.append(who)
    runs.append(
        {
            "id": d["id"],
            "protocol": d["protocol"],
            "scene": d["scene"],
            "day": d["day"],
            "status": d["status"],
            "context": d["context"],
            "started_at": d["started_at"],
            "ended_at": d["ended_at"],
            "signers": d["signed_in"],
            "also_signed": also,
            "signoffs": d["signoffs"],
            "signatures": d["signatures"],
            "holds": len(d["holds"]),
            "refused": len(d["refused"]),
            "not_applicable": len(d["not_applicable"]),
            "failed_pins": len(d["failed_pins"]),
        }
    )


def _outside(event: Event, exceptions: dict[str, Any], zone: str = "UTC") -> None:
    data = event.data
    entry = {
        "run": None,
        "day": local_day(event.at, zone),
        "scene": None,
        "protocol": None,
        **_failed_pin(event),
        "reason": data.get("reason"),  # none given: what the kind says (below)
    }
    if event.kind == ev.AUTH_FAILED:
        exceptions["failed_pins"].append(entry)
    elif event.kind == ev.AUTH_LOCKED:
        exceptions["lockouts"].append({**entry, "reason": "locked out"})
    elif event.kind == ev.CREW_UNLOCKED:
        exceptions["lockouts"].append({**entry, "reason": f"unlocked by {data.get('by', '?')}"})
    else:
        exceptions["roster"].append(
            {**entry, "what": _roster_change(event), "change": _roster_words(event)}
        )


def _roster_words(event: Event) -> dict[str, Any]:
    """What `_roster_change` says, as its parts (role ids, who approved), so a report in
    another language can say it in its words (`fmt.roster_change`)."""
    data = event.data
    if event.kind == ev.CREW_ADDED:
        return {"roles": list(data.get("roles", [])), "by": data.get("approved_by")}
    if event.kind == ev.CREW_PIN_SET:
        by = data.get("by")
        return {"by": by if by and by != data.get("name") else None}
    if event.kind == ev.CREW_ROLE_ADDED:
        return {"roles": [str(data.get("role", "?"))], "by": data.get("by", "?")}
    return {"by": data.get("by", "?")}


def _roster_change(event: Event) -> str:
    """A roster change in the words an investigator reads first: who changed whose entry."""
    data = event.data
    if event.kind == ev.CREW_ADDED:
        roles = ", ".join(role_name(r) for r in data.get("roles", []))
        by = data.get("approved_by")
        return f"added as {roles}" + (f", approved by {by}" if by else " (the first producer)")
    if event.kind == ev.CREW_PIN_SET:
        by = data.get("by")
        if by and by != data.get("name"):
            return f"PIN reset by {by}"
        return "changed their own PIN"
    if event.kind == ev.CREW_ROLE_ADDED:
        return f"also {role_name(str(data.get('role', '?')))}, approved by {data.get('by', '?')}"
    return f"removed from the roster by {data.get('by', '?')}"
