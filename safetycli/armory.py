"""The armory: where every firearm is and what every lot of rounds holds, folded from the log.

Custody is what failed on the "Rust" set (live rounds among dummies, nobody counting, a disputed
hand-over), so the armory is not a table anyone edits: like the roster, it is the fold of its own
events (`armory.*`, declared in events.py), read through the kind index, never the whole log. Each
custody event is written with the `auth.ok` of everyone whose PIN approved it, in one transaction
(the CLI does that, as for roster changes; `verify` checks it, custodycheck.py), and this
module's rules are checked twice: before anyone types a PIN (a refusal costs no PIN try) and
again under the write lock (another laptop may have moved the firearm meanwhile).

Pure: no terminal and no SQL. `load` reads the events from anything with `events(kinds=...)`;
`fold` takes any events (a full replay ignores the kinds that are not custody), and the two agree
(tests/test_armory.py proves it).

The words: a firearm is `locked` (in storage), with the `armorer` (out of storage, on the cart) or
`issued` (in the hands of the named person it was handed to). A lot's rounds are `on_hand` (in
storage) or `out` (issued and not yet fired, returned or spoiled), counted per run they were
issued for, so a run's issued = fired + returned + spoiled can be checked on its own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from typing import Protocol as Interface

from safetycli import events as ev
from safetycli import perfirearm, storage
from safetycli.errors import SafetyError
from safetycli.events import Event, NewEvent
from safetycli.names import fold_name, ident
from safetycli.render.safe import one_line

if TYPE_CHECKING:
    from safetycli.incidents import Register


def _register() -> Register:
    from safetycli.incidents import Register

    return Register()


FIREARM_KINDS = ("real", "blank-firing", "replica", "non-firing")
ROUND_TYPES = ("dummy", "blank")
LOADS = ("quarter", "half", "full")
# How a dummy is told from a live round, one by one: shaken (a rattle), a drilled side hole, an
# empty or struck primer pocket, an x-ray of the box.
DUMMY_METHODS = ("rattle", "side-hole", "primer", "xray")
# Typed as a round type, these mean live ammunition: never taken in (see `check_round_type`).
_LIVE = frozenset({"live", "ball", "real", "live-round", "live-rounds", "hollow-point", "fmj"})

LOCKED = "locked"
ARMORER = "armorer"
ISSUED = "issued"

ROUNDS_ACTIONS = {
    "issue": ev.ARMORY_ROUNDS_ISSUED,
    "fire": ev.ARMORY_ROUNDS_FIRED,
    "return": ev.ARMORY_ROUNDS_RETURNED,
    "spoil": ev.ARMORY_ROUNDS_SPOILED,
}
_TEXT_MAX = {"serial": 40, "lot": 40, "make": 60, "model": 60, "key holder": 80}
_BAD = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
COUNT_MAX = 100_000


# --- text as the armorer types it -----------------------------------------------------------


def clean(value: str, what: str) -> str:
    """A serial, lot, make or model as it will be recorded: NFC, single spaces, not empty, not
    too long, and no control or invisible characters (two serials that look alike on a report
    must be the same serial)."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text:
        raise SafetyError(f"the {what} is empty: type it as it is written")
    limit = _TEXT_MAX.get(what, 80)
    if len(text) > limit:
        raise SafetyError(f"a {what} is at most {limit} characters (this one has {len(text)})")
    if any(unicodedata.category(c) in _BAD for c in text):
        raise SafetyError(f"the {what} `{one_line(text)}` has a control or invisible character")
    return text


def check_round_type(text: str) -> str:
    """`dummy` or `blank`. Live ammunition is refused outright: it has no place in the armory,
    and found on set it is removed and reported as an incident, never counted in."""
    word = text.strip().lower()
    if word in _LIVE:
        raise SafetyError(
            "live ammunition is never taken into the armory: live rounds found on set are "
            "removed and reported as an incident; stop work now (safetycli hold --scene S "
            "--reason 'live round found')"
        )
    if word not in ROUND_TYPES:
        raise SafetyError(f"--type {one_line(text)!r}: a lot is {' or '.join(ROUND_TYPES)}")
    return word


def plain_time(at: str) -> str:
    """A log time (UTC ISO-8601) as people read it: `2026-11-23 14:05:12 UTC`."""
    return f"{at[:10]} {at[11:19]} UTC" if len(at) >= 19 else at


# --- the state ----------------------------------------------------------------------------------


@dataclass
class Span:
    """One stretch of a firearm's custody: where it was, who had it (None in storage), from
    when until when (None: still). The register a theatrical armourer keeps."""

    where: str
    holder: str | None
    run: str | None
    since: str
    until: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "holder": self.holder,
            "run": self.run,
            "from": self.since,
            "until": self.until,
        }


@dataclass(frozen=True)
class Move:
    """One custody event, as `armory show` lists it."""

    seq: int
    at: str
    what: str
    by: str
    detail: str
    run: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "what": self.what,
            "by": self.by,
            "detail": self.detail,
            "run": self.run,
        }


@dataclass
class Firearm:
    serial: str
    make: str
    model: str
    kind: str
    added_at: str
    where: str = LOCKED
    holder: str | None = None
    run: str | None = None
    spans: list[Span] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    # The laptop that recorded its last move, when another one did (pulled through the central
    # store); None for this laptop. Its `run` is then a run of that laptop.
    device: str | None = None

    def _move(self, event: Event, where: str, holder: str | None, run: str | None) -> None:
        if self.spans:
            self.spans[-1].until = event.at
        self.where, self.holder, self.run = where, holder, run
        self.device = event.device
        self.spans.append(Span(where, holder, run, event.at))

    def as_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "kind": self.kind,
            "where": self.where,
            "holder": self.holder,
            "run": self.run,
            "make": self.make,
            "model": self.model,
            "since": self.spans[-1].since if self.spans else self.added_at,
        } | ({} if self.device is None else {"device": self.device})


@dataclass
class Counts:
    """Rounds of one lot for one run (or for the day, run None)."""

    issued: int = 0
    fired: int = 0
    returned: int = 0
    spoiled: int = 0

    @property
    def out(self) -> int:
        """Issued and not yet fired, returned or spoiled: with the armorer or in a firearm."""
        return self.issued - self.fired - self.returned - self.spoiled

    def as_json(self) -> dict[str, int]:
        return {
            "issued": self.issued,
            "fired": self.fired,
            "returned": self.returned,
            "spoiled": self.spoiled,
            "out": self.out,
        }


@dataclass(frozen=True)
class DummyCheck:
    day: str
    methods: tuple[str, ...]
    by: str
    at: str
    rounds: int


@dataclass
class Lot:
    lot: str
    type: str
    load: str | None
    received: int
    added_at: str
    by_run: dict[str | None, Counts] = field(default_factory=dict)
    checks: list[DummyCheck] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)

    def total(self) -> Counts:
        out = Counts()
        for c in self.by_run.values():
            out.issued += c.issued
            out.fired += c.fired
            out.returned += c.returned
            out.spoiled += c.spoiled
        return out

    @property
    def on_hand(self) -> int:
        total = self.total()
        return self.received - total.issued + total.returned

    @property
    def out(self) -> int:
        return self.total().out

    def counts(self, run: str | None) -> Counts:
        return self.by_run.get(run) or Counts()

    def checked_on(self, day: str) -> DummyCheck | None:
        """The day's dummy check, if there was one (the latest)."""
        return next((c for c in reversed(self.checks) if c.day == day), None)

    def describe(self) -> str:
        return f"{self.type}, {self.load} load" if self.load else self.type

    def as_json(self) -> dict[str, Any]:
        total = self.total()
        last = self.checks[-1] if self.checks else None
        return {
            "lot": self.lot,
            "type": self.type,
            "on_hand": self.on_hand,
            "out": total.out,
            "load": self.load,
            "received": self.received,
            "issued": total.issued,
            "fired": total.fired,
            "returned": total.returned,
            "spoiled": total.spoiled,
            "checked": None
            if last is None
            else {"day": last.day, "at": last.at, "by": last.by, "methods": list(last.methods)},
        }


@dataclass
class Storage:
    """The locked storage: whether it is locked, since when, by whom, and who holds its keys."""

    locked: bool = True
    by: str | None = None
    at: str | None = None
    keys: tuple[str, ...] = ()
    moves: list[Move] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"locked": self.locked, "by": self.by, "at": self.at, "keys": list(self.keys)}


@dataclass
class ArmoryState:
    """Every firearm and lot, and the storage, as of `last_seq`. `apply` is the one fold: each
    custody kind has one mutator below, and every other kind is ignored (a full replay)."""

    firearms: dict[str, Firearm] = field(default_factory=dict)
    lots: dict[str, Lot] = field(default_factory=dict)
    storage: Storage = field(default_factory=Storage)
    last_seq: int = 0
    # The last custody event folded (`last_seq` counts the incidents too): what a snapshot is of.
    custody_seq: int = 0
    # The latest time among the custody events folded (UTC ISO-8601; "" before any): a report
    # may start from a snapshot only if none of its events can belong to the report's period.
    custody_at: str = ""
    # The incident register: an open unplanned discharge or injury freezes what it involves, and
    # every custody event on a frozen firearm or lot is refused (incidents.py).
    incidents: Register = field(default_factory=lambda: _register())
    # Which moves to keep, by (run, at): a report keeps only its period's (`in_period`); the
    # positions, counts and storage, what every gap is judged from, are folded in full either way.
    keep: Callable[[str | None, str], bool] | None = field(default=None, compare=False, repr=False)
    # Custody that two laptops recorded apart (each offline): one firearm issued on two units.
    # Shown as exceptions (`sync`, `status --central`, the central report), never resolved: the
    # fold goes on in its order (time, then device) and the later move stands.
    conflicts: list[str] = field(default_factory=list)
    # This laptop's device id, to name it in a conflict; not part of what the state is.
    home: str | None = field(default=None, compare=False)

    def keeps(self, run: str | None, at: str) -> bool:
        return self.keep is None or self.keep(run, at)

    def apply(self, event: Event) -> None:
        if event.kind in ev.INCIDENT_KINDS:
            if event.device is None:  # numbers of other devices' chains are not this log's
                self.last_seq = max(self.last_seq, event.seq)
            self.incidents.apply(event)
            return
        mutate = _MUTATORS.get(event.kind)
        if mutate is None:
            return
        if event.device is None:  # the snapshot is of this log's own custody (custodyview.py)
            self.last_seq = max(self.last_seq, event.seq)
            self.custody_seq = max(self.custody_seq, event.seq)
            self.custody_at = max(self.custody_at, event.at)
        mutate(self, event, event.data)

    def unit(self, device: str | None) -> str:
        """A device as a conflict names it."""
        from safetycli.i18n import _

        name = device or self.home
        return _("device {device}").format(device=name) if name else _("this laptop")

    def ahead(self, move: ev.Declared) -> NewEvent:
        """Fold a move not yet written (the walk-through's, worked out before its append), so
        the next one is judged after it; returns the event to write."""
        new = move.new()
        self.apply(Event(self.last_seq + 1, "", new.kind, None, None, new.data, "", ""))
        return new

    def firearm(self, serial: str) -> Firearm | None:
        return self.firearms.get(ident(serial))

    def not_frozen(self, names: Iterable[str], what: str) -> None:
        """Refused in one line when an open incident freezes any of `names` (serials or lots)."""
        frozen = self.incidents.frozen()
        if frozen:
            from safetycli.incidents import check_not_frozen

            check_not_frozen(frozen, names, what)

    def lot(self, lot: str) -> Lot | None:
        return self.lots.get(ident(lot))

    def as_json(self) -> dict[str, Any]:
        """`armory list --format json`: the contract keys first (DESIGN.md), more beside them."""
        return {
            "firearms": [f.as_json() for f in self.firearms.values()],
            "lots": [lot.as_json() for lot in self.lots.values()],
            "storage": self.storage.as_json(),
        } | ({"exceptions": list(self.conflicts)} if self.conflicts else {})


# --- the fold: one mutator per custody kind -------------------------------------------------------


def _added_firearm(state: ArmoryState, event: Event, data: dict[str, Any]) -> None:
    firearm = Firearm(data["serial"], data["make"], data["model"], data["kind"], event.at)
    firearm.device = event.device
    firearm.spans.append(Span(LOCKED, None, None, event.at))
    if state.keeps(None, event.at):
        firearm.moves.append(Move(event.seq, event.at, "added", data["by"], "into storage"))
    state.firearms[ident(data["serial"])] = firearm


def _added_lot(state: ArmoryState, event: Event, data: dict[str, Any]) -> None:
    lot = Lot(data["lot"], data["type"], data.get("load"), int(data["count"]), event.at)
    if state.keeps(None, event.at):
        detail = f"{data['count']} received"
        lot.moves.append(Move(event.seq, event.at, "added", data["by"], detail))
    state.lots[ident(data["lot"])] = lot


def _storage(locked: bool) -> Any:
    def mutate(state: ArmoryState, event: Event, data: dict[str, Any]) -> None:
        store = state.storage
        store.locked, store.by, store.at = locked, data["by"], event.at
        store.keys = tuple(data.get("keys", ()))
        if not state.keeps(None, event.at):
            return
        what = "locked" if locked else "unlocked"
        keys = ", ".join(store.keys) or "nobody named"
        store.moves.append(Move(event.seq, event.at, what, data["by"], f"keys: {keys}"))

    return mutate


def _firearm_move(where: str, what: str) -> Any:
    def mutate(state: ArmoryState, event: Event, data: dict[str, Any]) -> None:
        firearm = state.firearms.get(ident(data["serial"]))
        if firearm is None:
            return
        by = data["by"]
        if what == "issued" and not data.get("from_cart") and firearm.where != LOCKED:
            if event.device != firearm.device:  # one laptop never writes this (issue refuses)
                from safetycli.i18n import _

                state.conflicts.append(
                    _(
                        "firearm {serial} was issued on {unit} at {at} while {where} on {other} "
                        "since {since}: two units recorded it out at once; the armorer finds "
                        "where it is"
                    ).format(
                        serial=firearm.serial,
                        unit=state.unit(event.device),
                        at=event.at,
                        where=where_text(firearm),
                        other=state.unit(firearm.device),
                        since=firearm.spans[-1].since if firearm.spans else firearm.added_at,
                    )
                )
        run = data.get("for_run") if where == ARMORER and what == "issued" else firearm.run
        came_from = firearm.run  # a return belongs to the run the firearm comes back from
        if where == LOCKED:
            holder, run, detail = None, None, "back into storage"
        elif where == ISSUED:
            holder, detail = data["to"], f"to {data['to']}"
        elif what == "taken back":
            holder, detail = by, f"from {data.get('holder')}"
        elif data.get("from_cart"):
            holder, detail = by, f"on the armorer's cart, now for run {run}"
        else:
            holder, detail = by, "out of storage to the armorer"
        firearm._move(event, where, holder, run)
        if state.keeps(run or came_from, event.at):
            firearm.moves.append(Move(event.seq, event.at, what, by, detail, run or came_from))

    return mutate


def _rounds(action: str) -> Any:
    def mutate(state: ArmoryState, event: Event, data: dict[str, Any]) -> None:
        lot = state.lots.get(ident(data["lot"]))
        if lot is None:
            return
        run = data.get("for_run")
        counts = lot.by_run.setdefault(run, Counts())
        count = int(data["count"])
        setattr(counts, action, getattr(counts, action) + count)
        if state.keeps(run, event.at):
            lot.moves.append(Move(event.seq, event.at, action, data["by"], str(count), run))

    return mutate


def _checked(state: ArmoryState, event: Event, data: dict[str, Any]) -> None:
    lot = state.lots.get(ident(data["lot"]))
    if lot is None:
        return
    methods = tuple(data.get("methods", ()))
    lot.checks.append(DummyCheck(data["day"], methods, data["by"], event.at, int(data["rounds"])))
    if not state.keeps(None, event.at):
        return
    detail = f"{data['rounds']} dummies checked ({', '.join(methods)}) for {data['day']}"
    lot.moves.append(Move(event.seq, event.at, "checked", data["by"], detail))


_MUTATORS: dict[str, Any] = {
    ev.ARMORY_FIREARM_ADDED: _added_firearm,
    ev.ARMORY_LOT_ADDED: _added_lot,
    ev.ARMORY_UNLOCKED: _storage(False),
    ev.ARMORY_LOCKED: _storage(True),
    ev.ARMORY_ISSUED: _firearm_move(ARMORER, "issued"),
    ev.ARMORY_HANDED_OVER: _firearm_move(ISSUED, "handed over"),
    ev.ARMORY_TAKEN_BACK: _firearm_move(ARMORER, "taken back"),
    ev.ARMORY_RETURNED: _firearm_move(LOCKED, "returned"),
    ev.ARMORY_ROUNDS_ISSUED: _rounds("issued"),
    ev.ARMORY_ROUNDS_FIRED: _rounds("fired"),
    ev.ARMORY_ROUNDS_RETURNED: _rounds("returned"),
    ev.ARMORY_ROUNDS_SPOILED: _rounds("spoiled"),
    ev.ARMORY_DUMMIES_CHECKED: _checked,
}
assert set(_MUTATORS) == set(ev.ARMORY_KINDS)


def fold(events: Iterable[Event]) -> ArmoryState:
    """The armory after these events; any other kinds among them are ignored (a full replay)."""
    state = ArmoryState()
    for event in events:
        state.apply(event)
    return state


class Source(Interface):
    def events(
        self, *, run: str | None = None, kinds: Iterable[str] | None = None, after: int = 0
    ) -> Iterator[Event]: ...


def load(
    source: Source,
    upto: int | None = None,
    keep: Callable[[str | None, str], bool] | None = None,
) -> ArmoryState:
    """The armory now (or as of event `upto`), from its own events through the kind index: a
    season's custody events, however long the log around them. `keep`: which moves to keep
    (`ArmoryState.keep`); all when None."""
    kinds = (*ev.ARMORY_KINDS, *ev.INCIDENT_KINDS)
    state = ArmoryState(keep=keep, home=getattr(source, "device", None))
    found = storage.pulled(source) if upto is None else None
    if found is None:
        # This log's custody alone, as it is read: a season's 8,000 events were held in a
        # list first (12 MB of a season's report). Events of several devices (the central
        # store's) are merged by time instead: start over below.
        for event in source.events(kinds=kinds):
            if event.device is not None:
                break
            if upto is not None and event.seq > upto:
                return state
            state.apply(event)
        else:
            return state
        state = ArmoryState(keep=keep, home=getattr(source, "device", None))
    local: list[Event] = []
    theirs: list[Event] = []
    for event in source.events(kinds=kinds):
        if event.device is not None:  # read from the central store: every unit's
            theirs.append(event)
        elif upto is None or event.seq <= upto:
            local.append(event)
        else:
            break
    if found is not None:  # other laptops' custody, pulled by sync (central/foreign.py)
        pulled, seal = found
        theirs += pulled.events(kinds, seal)
    if not theirs:
        for event in local:
            state.apply(event)
        return state
    from safetycli.central.foreign import merged

    for event in merged(local, theirs, state.home):
        state.apply(event)
    return state


# --- the armory now, from a sealed checkpoint (custodyview.py keeps it) ---------------------------


def _pulled(source: Source) -> bool:
    """Whether other laptops' custody was pulled here (sync): the sealed snapshot is of this
    log's custody alone, and theirs merges into it by time, not after it, so a laptop that
    syncs folds the merged custody in full (`load`)."""
    found = storage.pulled(source)
    if found is None:
        return False
    pulled, seal = found
    theirs = pulled.events((*ev.ARMORY_KINDS, *ev.INCIDENT_KINDS), seal)
    return next(iter(theirs), None) is not None


def snapshot(state: ArmoryState) -> dict[str, Any]:
    """The custody fold as data, without its history (moves, past spans) or the incident
    register: what every check, `armory list` and the rules read, and what custodyview.py seals
    and stores. Two states with the same snapshot judge every custody check alike; in the
    firearms' and lots' own order, so a listing from either is the same."""
    return {
        "seq": state.custody_seq,
        "at": state.custody_at,
        "firearms": [firearm_row(f) for f in state.firearms.values()],
        "lots": [lot_row(lot) for lot in state.lots.values()],
        "storage": storage_row(state.storage),
    }


# A snapshot's parts, one function each: custodyview.Canonical encodes them one by one.
def firearm_row(f: Firearm) -> list[Any]:
    since = f.spans[-1].since if f.spans else f.added_at
    return [f.serial, f.make, f.model, f.kind, f.added_at, f.where, f.holder, f.run, since]


def lot_row(lot: Lot) -> list[Any]:
    return [
        lot.lot,
        lot.type,
        lot.load,
        lot.received,
        lot.added_at,
        [[run, c.issued, c.fired, c.returned, c.spoiled] for run, c in lot.by_run.items()],
        [[c.day, list(c.methods), c.by, c.at, c.rounds] for c in lot.checks],
    ]


def storage_row(store: Storage) -> list[Any]:
    return [store.locked, store.by, store.at, list(store.keys)]


def restore(body: dict[str, Any]) -> ArmoryState:
    """The state a `snapshot` describes (history empty: each firearm's current span only)."""
    seq = int(body["seq"])
    state = ArmoryState(last_seq=seq, custody_seq=seq, custody_at=str(body["at"]))
    for serial, make, model, kind, added_at, where, holder, run, since in body["firearms"]:
        firearm = Firearm(serial, make, model, kind, added_at, where, holder, run)
        firearm.spans.append(Span(where, holder, run, since))
        state.firearms[ident(serial)] = firearm
    for name, type_, load_, received, added_at, by_run, checks in body["lots"]:
        lot = Lot(name, type_, load_, int(received), added_at)
        for run, issued, fired, returned, spoiled in by_run:
            lot.by_run[run] = Counts(int(issued), int(fired), int(returned), int(spoiled))
        for day, methods, by, at, rounds in checks:
            lot.checks.append(DummyCheck(day, tuple(methods), by, at, int(rounds)))
        state.lots[ident(name)] = lot
    locked, by, at, keys = body["storage"]
    state.storage = Storage(bool(locked), by, at, tuple(keys))
    return state


def current(source: Source) -> ArmoryState:
    """The armory now, for the checks, the rules and `armory list`: from the sealed checkpoint
    when the source keeps one that holds (`custody_checkpoint`: a snapshot as of some event,
    its MAC and that event's hash checked), plus the custody events after it and the incident
    register; else the full fold (`load`). The same state either way, without the history
    (`armory show` and the report's moves fold the log: `load`)."""
    point = getattr(source, "custody_checkpoint", None)
    found = point() if point is not None and not _pulled(source) else None
    if found is None:
        return load(source)
    seq, body = found
    try:
        state = restore(body)
    except (KeyError, TypeError, ValueError):
        return load(source)
    for event in source.events(kinds=ev.ARMORY_KINDS, after=seq):
        state.apply(event)
    for event in source.events(kinds=ev.INCIDENT_KINDS):
        state.apply(event)
    return state


def for_period(
    source: Source,
    keep: Callable[[str | None, str], bool],
    day_from: str | None,
    first_seq: int | None,
    zone: str = "UTC",
) -> ArmoryState:
    """The armory now, keeping only a report's moves (`keep`: `in_period`), as `load(source,
    keep=keep)` gives it. From a sealed snapshot when the source keeps one that no kept move
    can be in: all its custody events more than a day before the period (UTC; `in_period`
    keeps none of those but a period run's) and before the period's first run started
    (`first_seq`: a run's custody comes after its start). Then only the season's custody
    since the day before the period is read, however long the season. The central store's
    reader keeps its own starting points (`custody_for_period`: central/custodypoint.py)."""
    central = getattr(source, "custody_for_period", None)
    if central is not None:
        folded: ArmoryState = central(keep, day_from, zone)
        return folded
    point = getattr(source, "custody_before", None)
    found = None
    if point is not None and day_from is not None and not _pulled(source):
        low = (date.fromisoformat(day_from) - timedelta(days=1)).isoformat()
        found = point(low, first_seq)
    if found is None:
        return load(source, keep=keep)
    seq, body = found
    try:
        state = restore(body)
    except (KeyError, TypeError, ValueError):
        return load(source, keep=keep)
    state.keep = keep
    for event in source.events(kinds=ev.ARMORY_KINDS, after=seq):
        state.apply(event)
    for event in source.events(kinds=ev.INCIDENT_KINDS):
        state.apply(event)
    return state


# --- the rules: each returns the events to write, or refuses in one line --------------------------


def _firearm(state: ArmoryState, serial: str) -> Firearm:
    firearm = state.firearm(serial)
    if firearm is None:
        raise SafetyError(
            f"no firearm with serial {one_line(serial)} in the armory: see `safetycli armory list`"
        )
    return firearm


def _lot(state: ArmoryState, lot: str) -> Lot:
    found = state.lot(lot)
    if found is None:
        raise SafetyError(f"no lot {one_line(lot)} in the armory: see `safetycli armory list`")
    return found


def where_text(firearm: Firearm) -> str:
    """Where a firearm is, in words: `locked in storage`, `with the armorer Sam Ortiz`, `with
    Alex Kim`, and the run it went out for."""
    from safetycli.i18n import _

    run = ""
    if firearm.run and firearm.device is not None:
        run = _(" (out for run {run} of device {device})")
    elif firearm.run:
        run = _(" (out for run {run})")
    elif firearm.device is not None and firearm.where != LOCKED:
        run = _(" (recorded on device {device})")
    run = run.format(run=firearm.run, device=firearm.device)
    if firearm.where == LOCKED:
        return _("locked in storage")
    if firearm.where == ARMORER:
        return _("with the armorer {holder}").format(holder=firearm.holder) + run
    return _("with {holder}").format(holder=firearm.holder) + run


def _need_storage_open(state: ArmoryState, doing: str) -> None:
    if state.storage.locked:
        raise SafetyError(
            f"the storage is locked: unlock it first to {doing} (safetycli armory unlock)"
        )


def _check_count(count: int) -> int:
    if count < 1:
        raise SafetyError(f"--count {count}: a count of rounds is 1 or more")
    if count > COUNT_MAX:
        raise SafetyError(f"--count {count}: more than {COUNT_MAX:,} rounds in one go")
    return count


def add_firearm(
    state: ArmoryState, serial: str, make: str, model: str, kind: str, by: str
) -> ev.FirearmAdded:
    serial, make, model = clean(serial, "serial"), clean(make, "make"), clean(model, "model")
    if kind not in FIREARM_KINDS:
        raise SafetyError(f"--kind {one_line(kind)!r}: a firearm is {', '.join(FIREARM_KINDS)}")
    known = state.firearm(serial)
    if known is not None:
        raise SafetyError(
            f"serial {known.serial} is already in the armory ({known.make} {known.model})"
        )
    if state.lot(serial) is not None:
        raise SafetyError(f"{serial} already names a lot: a serial and a lot must differ")
    return ev.FirearmAdded(serial=serial, make=make, model=model, kind=kind, by=by)


def add_rounds(
    state: ArmoryState, lot: str, round_type: str, load: str | None, count: int, by: str
) -> ev.LotAdded:
    round_type = check_round_type(round_type)
    lot = clean(lot, "lot")
    if round_type == "dummy" and load is not None:
        raise SafetyError("--load is for blanks: a dummy has no charge")
    if round_type == "blank" and load is None:
        raise SafetyError(f"a lot of blanks needs its load: --load {'|'.join(LOADS)}")
    if load is not None and load not in LOADS:
        raise SafetyError(f"--load {one_line(load)!r}: a blank's load is {', '.join(LOADS)}")
    _check_count(count)
    known = state.lot(lot)
    if known is not None:
        raise SafetyError(
            f"lot {known.lot} is already in the armory ({known.received} {known.describe()} "
            "received): give a new delivery its own lot"
        )
    if state.firearm(lot) is not None:
        raise SafetyError(f"{lot} already names a firearm: a serial and a lot must differ")
    return ev.LotAdded(lot=lot, type=round_type, load=load, count=count, by=by)


def unlock(state: ArmoryState, by: str, keys: Sequence[str]) -> ev.StorageUnlocked:
    store = state.storage
    if not store.locked:
        raise SafetyError(
            f"the storage is already unlocked (by {store.by} at {plain_time(store.at or '')})"
        )
    return ev.StorageUnlocked(by=by, keys=tuple(keys))


def lock(state: ArmoryState, by: str, keys: Sequence[str]) -> ev.StorageLocked:
    store = state.storage
    if store.locked:
        when = f" (by {store.by} at {plain_time(store.at)})" if store.at else ""
        raise SafetyError(f"the storage is already locked{when}")
    return ev.StorageLocked(by=by, keys=tuple(keys))


def issue(
    state: ArmoryState,
    serials: Sequence[str],
    by: str,
    run: str | None,
    finished: Container[str] = (),
) -> list[ev.FirearmIssued]:
    """Out of storage onto the armorer's cart. A firearm already on the cart for the day, or
    for a run that is over (`finished`: complete or aborted), goes to the new run from the cart
    (the rehearsal's revolver, straight on to the takes). A firearm out for another run not yet
    over, or in someone's hands, is refused: one firearm, one custodian."""
    seen: set[str] = set()
    out: list[ev.FirearmIssued] = []
    for serial in serials:
        firearm = _firearm(state, serial)
        if ident(firearm.serial) in seen:
            continue
        seen.add(ident(firearm.serial))
        state.not_frozen([firearm.serial], "firearm")
        # Only this laptop's cart: a firearm another unit took out is with that unit's armorer.
        mine = firearm.device is None
        on_cart = (
            mine and firearm.where == ARMORER and (firearm.run is None or firearm.run in finished)
        )
        if on_cart and run is not None:
            out.append(ev.FirearmIssued(serial=firearm.serial, by=by, for_run=run, from_cart=True))
            continue
        if firearm.where != LOCKED:
            raise SafetyError(
                f"firearm {firearm.serial} is already out: {where_text(firearm)}; return it "
                "before it is issued again"
            )
        _need_storage_open(state, "take a firearm out")
        out.append(ev.FirearmIssued(serial=firearm.serial, by=by, for_run=run))
    if not out:
        raise SafetyError("name the firearms to issue by serial")
    return out


def hand_over(state: ArmoryState, serial: str, by: str, to: str) -> ev.FirearmHandedOver:
    """Armorer -> a named person. The firearm must be with the armorer: not locked away (issue
    it first) and not already in someone's hands (take it back first)."""
    firearm = _firearm(state, serial)
    state.not_frozen([firearm.serial], "firearm")
    if firearm.where == LOCKED:
        raise SafetyError(
            f"firearm {firearm.serial} is locked in storage: issue it to the armorer first "
            f"(safetycli armory issue {firearm.serial})"
        )
    if firearm.where == ISSUED:
        raise SafetyError(
            f"firearm {firearm.serial} is with {firearm.holder}: the armorer takes it back "
            f"before handing it to anyone (safetycli armory take-back {firearm.serial})"
        )
    if firearm.device is not None:
        raise SafetyError(
            f"firearm {firearm.serial} is out on another unit ({where_text(firearm)}): it is "
            "handed over on that unit's laptop, or returned and issued here"
        )
    if fold_name(to) == fold_name(by):
        raise SafetyError("the armorer hands a firearm to someone else: --to names who receives it")
    return ev.FirearmHandedOver(serial=firearm.serial, by=by, to=to)


def take_back(state: ArmoryState, serial: str, by: str) -> ev.FirearmTakenBack:
    firearm = _firearm(state, serial)
    state.not_frozen([firearm.serial], "firearm")
    if firearm.where != ISSUED or firearm.holder is None:
        raise SafetyError(
            f"firearm {firearm.serial} is not in anyone's hands ({where_text(firearm)})"
        )
    return ev.FirearmTakenBack(serial=firearm.serial, by=by, holder=firearm.holder)


def return_(state: ArmoryState, serials: Sequence[str], by: str) -> list[ev.FirearmReturned]:
    """From the cart back into storage; a firearm still in someone's hands comes back to the
    armorer first."""
    _need_storage_open(state, "put a firearm back")
    seen: set[str] = set()
    out: list[ev.FirearmReturned] = []
    for serial in serials:
        firearm = _firearm(state, serial)
        if ident(firearm.serial) in seen:
            continue
        seen.add(ident(firearm.serial))
        state.not_frozen([firearm.serial], "firearm")
        if firearm.where == LOCKED:
            raise SafetyError(f"firearm {firearm.serial} is already in storage")
        if firearm.where == ISSUED:
            raise SafetyError(
                f"firearm {firearm.serial} is with {firearm.holder}: take it back first "
                f"(safetycli armory take-back {firearm.serial})"
            )
        out.append(ev.FirearmReturned(serial=firearm.serial, by=by))
    if not out:
        raise SafetyError("name the firearms to return by serial")
    return out


def move_rounds(
    state: ArmoryState,
    action: str,
    lot: str,
    count: int,
    by: str,
    run: str | None,
    day: str,
) -> ev.Declared:
    """Rounds issued from storage, fired, returned to storage or spoiled, per lot and run. A
    count that would leave fewer than none anywhere is refused: rounds do not appear from
    nowhere, and a dummy lot is issued only on a day it was checked."""
    if action not in ROUNDS_ACTIONS:
        raise SafetyError(f"rounds {one_line(action)}: one of {', '.join(ROUNDS_ACTIONS)}")
    _check_count(count)
    found = _lot(state, lot)
    state.not_frozen([found.lot], "lot")
    where = f" for run {run}" if run else ""
    if action == "issue":
        _need_storage_open(state, "issue rounds")
        if count > found.on_hand:
            raise SafetyError(
                f"lot {found.lot} has {_plural(found.on_hand, 'round')} in storage: {count} "
                "cannot be issued"
            )
        if found.type == "dummy" and found.checked_on(day) is None:
            raise SafetyError(
                f"dummy lot {found.lot} has not been checked today ({day}): check every round "
                f"first (safetycli armory check-dummies --lot {found.lot} --method rattle)"
            )
    else:
        if action == "return":
            _need_storage_open(state, "put rounds back")
        out = found.counts(run).out
        if count > out:
            verb = {"fire": "fired", "return": "returned", "spoil": "spoiled"}[action]
            raise SafetyError(
                f"lot {found.lot} has {_plural(out, 'round')} out{where}: {count} cannot be {verb}"
            )
    kind = {
        "issue": ev.RoundsIssued,
        "fire": ev.RoundsFired,
        "return": ev.RoundsReturned,
        "spoil": ev.RoundsSpoiled,
    }[action]
    return kind(lot=found.lot, count=count, by=by, for_run=run, day=day)


def check_dummies(
    state: ArmoryState, lot: str, methods: Sequence[str], by: str, day: str
) -> ev.DummiesChecked:
    found = _lot(state, lot)
    state.not_frozen([found.lot], "lot")
    if found.type != "dummy":
        raise SafetyError(f"lot {found.lot} is {found.describe()}: only dummies are checked so")
    chosen: list[str] = []
    for method in methods:
        word = method.strip().lower()
        if word not in DUMMY_METHODS:
            raise SafetyError(f"--method {one_line(method)!r}: one of {', '.join(DUMMY_METHODS)}")
        if word not in chosen:
            chosen.append(word)
    if not chosen:
        raise SafetyError(f"say how the dummies were checked: --method {'|'.join(DUMMY_METHODS)}")
    if found.on_hand == 0:
        raise SafetyError(f"lot {found.lot} has no rounds in storage to check")
    return ev.DummiesChecked(
        lot=found.lot, methods=tuple(chosen), rounds=found.on_hand, by=by, day=day
    )


# --- what does not add up ---------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """Something not accounted for: a firearm not back in storage, rounds out that were not
    fired, returned or spoiled, storage left open. `subject` is the serial or lot (the hold
    item 4 raises names it)."""

    what: str  # firearm, lot or storage
    subject: str
    text: str
    run: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "subject": self.subject, "text": self.text, "run": self.run}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def lot_gaps(lot: Lot, run: str | None = None) -> list[Gap]:
    """The lot's rounds out, for each run they went out for (or only `run`'s): issued that were
    not fired, returned or spoiled."""
    gaps: list[Gap] = []
    buckets = [(run, lot.counts(run))] if run is not None else list(lot.by_run.items())
    for bucket, counts in buckets:
        if counts.out == 0:
            continue
        where = f" for run {bucket}" if bucket else ""
        gaps.append(
            Gap(
                "lot",
                lot.lot,
                f"lot {lot.lot} ({lot.describe()}){where}: issued {counts.issued}, fired "
                f"{counts.fired}, returned {counts.returned}, spoiled {counts.spoiled}: "
                f"{_plural(counts.out, 'round')} unaccounted for",
                bucket,
            )
        )
    return gaps


def reconcile(state: ArmoryState, run: str | None = None) -> list[Gap]:
    """Everything that is not where the end of the day (or, given `run`, the end of that run)
    wants it: each firearm not back in storage, each lot whose issued is not fired + returned +
    spoiled, and (for the day) storage left unlocked. The daily close-out and a run's wrap turn
    each gap into a hold naming the serial or lot."""
    gaps: list[Gap] = []
    for firearm in state.firearms.values():
        # A run is this laptop's: another unit's firearm out for a run of the same id is not it.
        mine = firearm.run == run and firearm.device is None
        if firearm.where == LOCKED or (run is not None and not mine):
            continue
        gaps.append(
            Gap(
                "firearm",
                firearm.serial,
                f"firearm {firearm.serial} is not back in storage: {where_text(firearm)}",
                firearm.run,
            )
        )
    for lot in state.lots.values():
        gaps.extend(lot_gaps(lot, run))
    if run is None and not state.storage.locked:
        gaps.append(Gap("storage", "storage", "the storage is unlocked"))
    return gaps


# --- the protocol's `custody:` checks: what the armory itself says at a count or a confirmation --

# The checks a protocol item may name with `custody:`. `*-in-storage` are counts: what the armorer
# counts in storage must be every firearm (every round of that type the armory holds), and nothing
# may be out. `*-back` are confirmations: nothing of that sort is still out (for the whole day in
# a day-wide protocol, for this run in a scene's). A gap found is a hold naming the serial or lot.
IN_STORAGE = ("firearms-in-storage", "blanks-in-storage", "dummies-in-storage")
BACK = ("firearms-back", "blanks-back", "dummies-back", "all-back")
CUSTODY_CHECKS = IN_STORAGE + BACK
_ROUND_OF = {"blanks": "blank", "dummies": "dummy"}


@dataclass(frozen=True)
class Verdict:
    """What the armory's own record says for one `custody:` check, worked out by the session
    before each step and handed to the pure runner (in `production.Outside`): the count the
    armorer's must equal, if any, and what is not where it should be. The runner turns a
    mismatch into a hold like any failed critical check, so the existing hold, clear and
    re-check machinery applies unchanged."""

    check: str
    expected: int | None = None
    expected_words: str = ""
    gaps: tuple[Gap, ...] = ()
    # A count of rounds moved (`moves: blanks-fired`): at most what the run's lot has out.
    at_most: int | None = None
    at_most_words: str = ""

    def judge(self, kind: str, answer: Any) -> str | None:
        """Why this answer fails against the armory's record, or None: a count that is not the
        armory's, or any gap at all (a "yes, all back" while the log says a firearm is with a
        performer is exactly the disputed record a hold is for)."""
        missing = "; ".join(gap.text for gap in self.gaps)
        if kind == "count" and isinstance(answer, int) and not isinstance(answer, bool):
            if self.expected is not None and answer != self.expected:
                diff = self.expected - answer
                how = f"{abs(diff)} {'missing' if diff > 0 else 'too many'}"
                tail = f": {missing}" if missing else ""
                return (
                    f"does not match the armory: {self.expected_words}, but {answer} counted "
                    f"({how}){tail}"
                )
            if self.at_most is not None and answer > self.at_most:
                return f"does not match the armory: {self.at_most_words}, not {answer}"
        answered = answer is True or (isinstance(answer, int) and not isinstance(answer, bool))
        if answered and missing:
            return f"the armory's record does not add up: {missing}"
        return None


def has_inventory(state: ArmoryState) -> bool:
    """Whether this production keeps an armory at all: a production that never recorded a
    firearm or a lot walks its protocols exactly as before (its counts are the crew's word)."""
    return bool(state.firearms or state.lots)


def verdicts(
    state: ArmoryState, checks: Iterable[str], run: str | None, own: Collection[str] = ()
) -> dict[str, Verdict]:
    """Each `custody:` check against the armory now; `run` None for the whole day (a day-wide
    protocol), else that run's custody events only; `own`: the serials the run took out at its
    start (what its lock-up puts away). Empty when there is no armory."""
    if not has_inventory(state):
        return {}
    gaps = reconcile(state, run)
    out: dict[str, Verdict] = {}
    for check in checks:
        if check == "firearms-in-storage":
            firearms = [g for g in reconcile(state) if g.what == "firearm"]
            total, locked = len(state.firearms), len(state.firearms) - len(firearms)
            words = f"the armory has {_plural(total, 'firearm')}, {locked} in storage"
            out[check] = Verdict(check, total, words, tuple(firearms))
        elif check in ("blanks-in-storage", "dummies-in-storage"):
            kind = _ROUND_OF[check.split("-")[0]]
            lots = [lot for lot in state.lots.values() if lot.type == kind]
            held = sum(lot.on_hand for lot in lots)
            lot_gaps_ = tuple(g for lot in lots for g in lot_gaps(lot))
            words = f"the armory has {_plural(held, kind)} in storage"
            out[check] = Verdict(check, held, words, lot_gaps_)
        elif check == "firearms-back":
            out[check] = Verdict(check, gaps=tuple(g for g in gaps if g.what == "firearm"))
        elif check in ("blanks-back", "dummies-back"):
            kind = _ROUND_OF[check.split("-")[0]]
            named = {ident(lot.lot) for lot in state.lots.values() if lot.type == kind}
            found = tuple(g for g in gaps if g.what == "lot" and ident(g.subject) in named)
            out[check] = Verdict(check, gaps=found)
        elif check == "all-back":
            out[check] = Verdict(check, gaps=tuple(g for g in gaps if g.what != "storage"))
        elif check.partition(perfirearm.SEP)[0] in perfirearm.FIREARM_MOVES:
            out[check] = _move_verdict(state, check, run)
        elif check in ROUND_MOVES:
            out[check] = _rounds_verdict(state, check, run)
        elif check == perfirearm.PUT_AWAY:
            out[check] = _put_away_verdict(state, gaps, run, own)
    return out


def _with_the_armorer(state: ArmoryState, run: str | None, own: Collection[str]) -> list[Firearm]:
    """The firearms the run took out at its start (`own`) and now on the armorer's cart for it:
    what its lock-up puts back in storage. One issued to the run by hand later (`armory issue
    --run`) is returned by hand too: the walk-through moves only what it named."""
    named = {ident(serial) for serial in own}
    return [
        f
        for f in state.firearms.values()
        if f.where == ARMORER and f.run == run and f.device is None and ident(f.serial) in named
    ]


def _put_away_verdict(
    state: ArmoryState, gaps: list[Gap], run: str | None, own: Collection[str]
) -> Verdict:
    """ "Locked in storage, nothing left out" puts the run's firearms on the armorer's cart back
    in storage (`put_away`): every other gap of the run holds, naming it (a firearm still with
    a performer, rounds unaccounted for), and so does a locked storage with firearms to put
    back."""
    cart = {ident(f.serial) for f in _with_the_armorer(state, run, own)}
    left = [g for g in gaps if not (g.what == "firearm" and ident(g.subject) in cart)]
    left = [g for g in left if g.what != "storage"]
    if cart and state.storage.locked:
        text = "the storage is locked: unlock it to put the firearms back (safetycli armory unlock)"
        left.append(Gap("storage", "storage", text, run))
    return Verdict(perfirearm.PUT_AWAY, gaps=tuple(left))


def put_away(
    state: ArmoryState, run: str, by: str, own: Collection[str]
) -> list[ev.FirearmReturned]:
    """The custody events of a run's lock-up: each of its firearms on the cart into storage."""
    serials = [f.serial for f in _with_the_armorer(state, run, own)]
    return return_(state, serials, by) if serials else []


# A count item's `moves`: the action on the run's one lot of that round type.
ROUND_MOVES = {
    "blanks-fired": ("blank", "fire"),
    "blanks-returned": ("blank", "return"),
    "blanks-spoiled": ("blank", "spoil"),
    "dummies-returned": ("dummy", "return"),
}
_DONE = {"fire": "fired", "return": "returned", "spoil": "spoiled"}


def run_lot(state: ArmoryState, run: str | None, kind: str) -> Lot | None:
    """The one lot of rounds of this type the run took out; None when it took none or several
    (then the walk-through's counts are the crew's word, and the armorer records each lot's
    rounds with `armory rounds`)."""
    lots = [lot for lot in state.lots.values() if lot.type == kind and run in lot.by_run]
    return lots[0] if run is not None and len(lots) == 1 else None


def _rounds_verdict(state: ArmoryState, check: str, run: str | None) -> Verdict:
    """A count of the run's rounds fired, returned or spoiled can be at most what its lot has
    out for it; returning needs the storage open."""
    kind, action = ROUND_MOVES[check]
    lot = run_lot(state, run, kind)
    if lot is None:
        return Verdict(check)
    out = lot.counts(run).out
    words = f"lot {lot.lot} has {_plural(out, 'round')} out for this run"
    gaps: tuple[Gap, ...] = ()
    if action == "return" and state.storage.locked:
        text = "the storage is locked: unlock it to put rounds back (safetycli armory unlock)"
        gaps = (Gap("storage", "storage", text, run),)
    return Verdict(check, gaps=gaps, at_most=out, at_most_words=words)


def rounds_moved(
    state: ArmoryState, move: str, count: int, by: str, run: str, day: str
) -> ev.Declared | None:
    """The custody event a confirmed count of rounds proves (`moves: blanks-fired`), for the
    run's one lot of that type; None for none counted, or when the run has no such one lot."""
    kind, action = ROUND_MOVES[move]
    lot = run_lot(state, run, kind)
    if lot is None or count <= 0:
        return None
    return move_rounds(state, action, lot.lot, count, by, run, day)


def _move_verdict(state: ArmoryState, check: str, run: str | None) -> Verdict:
    """A hand-over or a take-back needs the firearm out for this run: with the armorer, or in
    a performer's hands (on cut the take-back is signed in the same sitting as the next
    hand-over, and written before it). A firearm in storage, out for another run or unknown is
    a record nobody can vouch for: a hold naming it."""
    _, serial = perfirearm.split_id(check)
    firearm = state.firearm(serial or "")
    if firearm is None:
        why = f"firearm {serial} is not in the armory"
    elif firearm.run != run or firearm.where == LOCKED:
        why = f"firearm {firearm.serial} is not out for this run: {where_text(firearm)}"
    else:  # with the armorer, or with a performer who hands it back on cut before this
        return Verdict(check)
    return Verdict(check, gaps=(Gap("firearm", serial or "", why, run),))


def moved(
    state: ArmoryState, move: str, serial: str, armorer: str, receiver: str | None
) -> ev.Declared | None:
    """The custody event an item's signatures prove once it is confirmed: the armorer handed
    the firearm to `receiver` (who confirmed with their PIN), or took it back. None when there
    is nothing to move (taken back by hand already)."""
    if move == "hand-over":
        return hand_over(state, serial, armorer, receiver or "")
    firearm = _firearm(state, serial)
    if firearm.where == ARMORER:
        return None
    return take_back(state, serial, armorer)


# --- what a run takes out at its start (item 3) ------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """The firearms (by serial) and rounds (lot, count) a run takes out of the armory at its
    start, as the armorer names them (`run --firearm S --rounds LOT=N`, or `armory:` in an
    answers file)."""

    firearms: tuple[str, ...] = ()
    rounds: tuple[tuple[str, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.firearms or self.rounds)


def runs_on_cart(state: ArmoryState) -> set[str]:
    """The runs the firearms on the armorer's cart are out for: which of them are over decides
    whether a new run may take those firearms from the cart (`issue`)."""
    return {f.run for f in state.firearms.values() if f.where == ARMORER and f.run}


def labels(state: ArmoryState, serials: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(serial, label) of each firearm named, once each, in order: what a run's per-firearm
    checks call it (`firearm SN4471 (Colt Single Action Army)`)."""
    out: dict[str, tuple[str, str]] = {}
    for serial in serials:
        firearm = _firearm(state, serial)
        label = perfirearm.label(firearm.serial, firearm.make, firearm.model)
        out.setdefault(ident(firearm.serial), (firearm.serial, label))
    return tuple(out.values())


def parse_rounds(text: str) -> tuple[str, int]:
    """`B-7=12` -> ("B-7", 12), refused in one line otherwise."""
    lot, sep, count = text.rpartition("=")
    if not sep or not lot.strip() or not count.strip().isdigit():
        raise SafetyError(f"--rounds {one_line(text)!r}: write LOT=COUNT, e.g. --rounds B-7=12")
    return lot.strip(), int(count)


def going_out(
    state: ArmoryState,
    outgoing: Outgoing,
    by: str,
    run: str | None,
    day: str,
    finished: Container[str] = (),
) -> list[ev.Declared]:
    """The custody events that take a run's firearms and rounds out when it starts, written in
    the run's first transaction with the armorer's PIN. The same rules as `armory issue` and
    `armory rounds issue`, so a firearm out for another open run (or in someone's hands), a lot
    short of rounds, or a dummy lot not checked today refuses the run before it starts."""
    events: list[ev.Declared] = []
    if outgoing.firearms:
        events.extend(issue(state, outgoing.firearms, by, run, finished))
    wanted: dict[str, tuple[str, int]] = {}
    for lot, count in outgoing.rounds:
        found = _lot(state, lot)
        name, total = wanted.get(ident(found.lot), (found.lot, 0))
        wanted[ident(found.lot)] = (name, total + count)
    for name, count in wanted.values():
        events.append(move_rounds(state, "issue", name, count, by, run, day))
    return events


# --- the day report's custody section (item 7) -------------------------------------------------


def in_period(
    runs: Container[str], day_from: str | None, day_to: str | None, zone: str = "UTC"
) -> Callable[[str | None, str], bool]:
    """Whether a custody event (its run, its time) belongs to a report's period: one for one of
    the period's runs does (a night shoot past midnight included); any other if it happened on
    one of the period's days in the production's zone. A time more than a day outside the
    period's UTC dates is outside in every zone, and is told so without a time-zone sum."""
    from safetycli.days import local_day
    from safetycli.zones import zone as tz

    tz(zone)  # an unknown zone is one line now, not at the first move read
    low = (date.fromisoformat(day_from) - timedelta(days=1)).isoformat() if day_from else None
    high = (date.fromisoformat(day_to) + timedelta(days=1)).isoformat() if day_to else None

    def within(run: str | None, at: str) -> bool:
        if run is not None and run in runs:
            return True
        utc_day = at[:10]
        if (low is not None and utc_day < low) or (high is not None and utc_day > high):
            return False
        day = local_day(at, zone)  # the one rule (days.py): the date in the production's zone
        return (day_from is None or day >= day_from) and (day_to is None or day <= day_to)

    return within


def custody_report(
    state: ArmoryState,
    runs: Iterable[str],
    day_from: str | None,
    day_to: str | None,
    zone: str = "UTC",
) -> dict[str, Any] | None:
    """For the producer's report: each firearm's custody events in the period (who had it
    when), each lot's counts for the period's runs, and every count that does not add up (a
    firearm not back, rounds out for one of the period's runs or for the day). None when the
    production keeps no armory, so its report is as before. An event for one of the period's
    runs belongs to it (a night shoot past midnight included); any other to the day it
    happened on in the production's zone, as the crew lived it."""
    if not has_inventory(state):
        return None
    wanted = set(runs)
    in_it = in_period(wanted, day_from, day_to, zone)

    def within(move: Move) -> bool:
        return in_it(move.run, move.at)

    firearms = []
    for firearm in state.firearms.values():
        moves = [m.as_json() for m in firearm.moves if within(m)]
        if moves:
            firearms.append({"serial": firearm.serial, "kind": firearm.kind, "moves": moves})
    lots = []
    for lot in state.lots.values():
        counts = [
            {"run": run, **c.as_json()}
            for run, c in lot.by_run.items()
            if run in wanted or (run is None and any(within(m) for m in lot.moves))
        ]
        if counts:
            lots.append({"lot": lot.lot, "type": lot.describe(), "runs": counts})
    gaps = [
        g.as_json()
        for g in reconcile(state)
        if g.what == "firearm" or g.what == "storage" or g.run is None or g.run in wanted
    ]
    return {"firearms": firearms, "lots": lots, "gaps": gaps}
