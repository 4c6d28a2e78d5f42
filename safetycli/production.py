"""What holds across runs: the production-wide state, folded from the log like a run's state.

A run's state is a fold over its own events, but some facts belong to the whole production: a
stop-work called on the set for scene 12A holds every run of 12A, on any day, until it is cleared.
They live here, as one pure fold over production-level events (`ProductionState.apply`), so each
check ("is this scene held?") has one place to live and the runner stays pure: the session loads
this state from the log and hands it to the runner as data before each step.

Scene names are compared as the crew would: `12a` and ` 12A ` are the same scene.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from safetycli import events as ev
from safetycli import storage
from safetycli.events import Event
from safetycli.lifecycle import HELD, OPEN, Lifecycle
from safetycli.records import Frozen, Record, replace

if TYPE_CHECKING:
    from typing import Protocol

    from safetycli.incidents import Incident, Register
    from safetycli.outside import Outside
    from safetycli.unverified import UnverifiedStop

DAY = "day"  # a protocol's `scope: day`: it covers the whole shooting day, not one scene


@functools.cache
def _scene_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Not alphanumeric; a leading "scene" or "sc" before the number. Compiled on first use: a
    command that compares no scene (a quiet set's `status`) never pays for them."""
    return re.compile(r"[\W_]+"), re.compile(r"^(?:scene|sc)(?=\d)")


# Letters drawn like digits in a scene number: `l2A` and `I2A` look like `12A`, `1O` like `10`.
_LOOKS_LIKE_A_DIGIT = str.maketrans({"l": "1", "i": "1", "o": "0"})


def scene_key(scene: str) -> str:
    """How scenes are compared, as loosely as the crew writes them: case, spaces and punctuation
    ignored, and a leading "scene" or "sc" before the number dropped, so `12A`, `12a`, `12 A`,
    `12A.` and `Sc 12A` are one scene. A hold must not be got round by spelling the scene
    differently, nor by a look-alike of it: accents, Cyrillic or Greek letters drawn like Latin
    ones (`12А`), letters drawn like digits (`l2A`, `1O`) fold too. Two real scenes are never
    told apart by punctuation or such look-alikes alone (folding too much only holds more)."""
    from safetycli.confusables import letters

    not_alnum, scene_word = _scene_patterns()
    folded = not_alnum.sub("", letters(scene)).translate(_LOOKS_LIKE_A_DIGIT)
    return scene_word.sub("", folded) or " ".join(scene.split()).casefold()


class SceneHold(Record):
    """A stop-work on a whole scene, raised on the set with no run id. Whoever raised it may not
    have proven who they are (stop-work never waits for a PIN): `authenticated` says whether they
    did, and reports show it. A plain record (records.py) with a dataclass's equality and repr:
    `status` imports this module on every call, and the dataclass cost about 0.5 ms of it."""

    __slots__ = (
        "seq",
        "raised_at",
        "scene",
        "day",
        "reason",
        "raised_by",
        "authenticated",
        "cleared_seq",
        "cleared_at",
        "cleared_by",
        "note",
        "device",
    )
    seq: int
    raised_at: str
    scene: str
    day: str | None
    reason: str
    raised_by: dict[str, Any]
    authenticated: bool
    cleared_seq: int | None
    cleared_at: str | None
    cleared_by: list[dict[str, str]] | None
    note: str | None
    # The laptop that raised it, when another one did (pulled through the central store); None
    # for this laptop's own. Its number is `seq` in that device's chain.
    device: str | None

    def __init__(
        self,
        seq: int,
        raised_at: str,
        scene: str,
        day: str | None,
        reason: str,
        raised_by: dict[str, Any],
        authenticated: bool,
        cleared_seq: int | None = None,
        cleared_at: str | None = None,
        cleared_by: list[dict[str, str]] | None = None,
        note: str | None = None,
        device: str | None = None,
    ) -> None:
        self.seq = seq
        self.raised_at = raised_at
        self.scene = scene
        self.day = day
        self.reason = reason
        self.raised_by = raised_by
        self.authenticated = authenticated
        self.cleared_seq = cleared_seq
        self.cleared_at = cleared_at
        self.cleared_by = cleared_by
        self.note = note
        self.device = device

    @property
    def is_open(self) -> bool:
        return self.cleared_seq is None

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "scene": self.scene,
            "day": self.day,
            "reason": self.reason,
            "raised_at": self.raised_at,
            "raised_by": self.raised_by,
            "authenticated": self.authenticated,
            "cleared_at": self.cleared_at,
            "cleared_by": self.cleared_by,
            "note": self.note,
        } | ({} if self.device is None else {"device": self.device})


# Who clears a stop-work on a whole scene: no protocol names them, so the rule of firearm work
# applies: the armorer clears, the 1st AD restarts the set, each in person with their PIN.
SCENE_CLEAR_ROLES = ("armorer", "first_ad")


def _register() -> Register:
    from safetycli.incidents import Register

    return Register()


class ProductionState(Record):
    """`home`: this laptop's device id, so that a hold this laptop raised and another laptop
    cleared (naming this device) is recognised as the one it clears. Events of several devices
    come in no common order, so a clearance read before the hold it names waits for it. A plain
    record (records.py) with a dataclass's equality and repr: `status` folds one on every call,
    and the dataclass cost about 0.4 ms of its start-up."""

    __slots__ = (
        "scene_holds",
        "incidents",
        "assessments",
        "last_seq",
        "home",
        "cleared_unverified",
        "_waiting",
    )
    _unshown = ("_waiting",)
    scene_holds: list[SceneHold]
    incidents: Register
    # scene key -> the safety advisor's latest risk assessment for it (the event's data and at)
    assessments: dict[str, dict[str, Any]]
    last_seq: int
    home: str | None
    # Unverified stop-work (of laptops the server refused: unverified.py) lifted, by its device,
    # number and hash -> the clearance.
    cleared_unverified: dict[tuple[str, int, str], Event]
    _waiting: dict[tuple[str | None, int], Event]

    def __init__(
        self,
        scene_holds: list[SceneHold] | None = None,
        incidents: Register | None = None,
        assessments: dict[str, dict[str, Any]] | None = None,
        last_seq: int = 0,
        home: str | None = None,
        cleared_unverified: dict[tuple[str, int, str], Event] | None = None,
        _waiting: dict[tuple[str | None, int], Event] | None = None,
    ) -> None:
        self.scene_holds = [] if scene_holds is None else scene_holds
        self.incidents = _register() if incidents is None else incidents
        self.assessments = {} if assessments is None else assessments
        self.last_seq = last_seq
        self.home = home
        self.cleared_unverified = {} if cleared_unverified is None else cleared_unverified
        self._waiting = {} if _waiting is None else _waiting

    def apply(self, event: Event) -> None:
        data = event.data
        if event.device is None:  # numbers of other devices' chains are not this log's
            self.last_seq = max(self.last_seq, event.seq)
        if event.kind in ev.INCIDENT_KINDS:
            self.incidents.apply(event)
        elif event.kind == ev.RISK_ASSESSED:
            self.assessments[scene_key(data["scene"])] = {**data, "at": event.at}
        elif event.kind == ev.SCENE_HELD:
            hold = SceneHold(
                seq=event.seq,
                raised_at=event.at,
                scene=data["scene"],
                day=data.get("day"),
                reason=data["reason"],
                raised_by={"name": data["name"], "role": data.get("role")},
                authenticated=bool(data.get("authenticated")),
                device=event.device,
            )
            self.scene_holds.append(hold)
            cleared = self._waiting.pop((event.device or self.home, event.seq), None)
            if cleared is not None:
                self._clear(hold, cleared)
        elif event.kind == ev.SCENE_CLEARED and data.get("hold_hash"):
            target_u = (str(data.get("hold_device")), int(data["hold"]), str(data["hold_hash"]))
            self.cleared_unverified.setdefault(target_u, event)
        elif event.kind == ev.SCENE_CLEARED:
            # The hold's device: named when it was another laptop's, else the clearing one's.
            target = (data.get("hold_device") or event.device or self.home, data["hold"])
            for hold in self.scene_holds:
                if (hold.device or self.home, hold.seq) == target and hold.is_open:
                    self._clear(hold, event)
                    break
            else:
                self._waiting[target] = event

    @staticmethod
    def _clear(hold: SceneHold, event: Event) -> None:
        hold.cleared_seq = event.seq
        hold.cleared_at = event.at
        hold.cleared_by = event.data["cleared_by"]
        hold.note = event.data["note"]

    def open_scene_holds(self, scene: str | None = None) -> list[SceneHold]:
        key = None if scene is None else scene_key(scene)
        return [
            h for h in self.scene_holds if h.is_open and (key is None or scene_key(h.scene) == key)
        ]


def fold(events: Iterable[Event], home: str | None = None) -> ProductionState:
    state = ProductionState(home=home)
    for event in events:
        state.apply(event)
    return state


class SceneStop(Frozen):
    """Why a run must not go on although its own events say it may: its scene is held, by a
    stop-work on the scene (`hold_seq`) or by another run of the scene on hold (`run`). Says how
    to lift it, in the words the crew will type. A plain record (records.py) with a frozen
    dataclass's behaviour: `status` imports this module, and the dataclass cost about 0.8 ms of
    its start-up."""

    __slots__ = (
        "scene",
        "reason",
        "raised_by",
        "authenticated",
        "raised_at",
        "run",
        "hold_seq",
        "day",
        "incident",
        "hold_device",
        "run_device",
        "unverified",
        "hold_hash",
        "source",
    )
    scene: str
    reason: str
    raised_by: Mapping[str, Any] | None
    authenticated: bool
    raised_at: str
    run: str | None
    hold_seq: int | None
    day: str | None  # set when a day-wide run (the armory's) holds the whole day
    incident: Incident | None  # an open incident holding all firearm work
    hold_device: str | None  # another laptop's stop-work: `hold_seq` is in its chain
    run_device: str | None  # another laptop's held run: cleared there, then synced
    # A refused laptop's stop-work (unverified.py): the alarm's words; `hold_hash` names it.
    unverified: str | None
    hold_hash: str | None
    source: UnverifiedStop | None

    def __init__(
        self,
        scene: str,
        reason: str,
        raised_by: Mapping[str, Any] | None,
        authenticated: bool,
        raised_at: str,
        run: str | None = None,
        hold_seq: int | None = None,
        day: str | None = None,
        incident: Incident | None = None,
        hold_device: str | None = None,
        run_device: str | None = None,
        unverified: str | None = None,
        hold_hash: str | None = None,
        source: UnverifiedStop | None = None,
    ) -> None:
        object.__setattr__(self, "scene", scene)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "raised_by", raised_by)
        object.__setattr__(self, "authenticated", authenticated)
        object.__setattr__(self, "raised_at", raised_at)
        object.__setattr__(self, "run", run)
        object.__setattr__(self, "hold_seq", hold_seq)
        object.__setattr__(self, "day", day)
        object.__setattr__(self, "incident", incident)
        object.__setattr__(self, "hold_device", hold_device)
        object.__setattr__(self, "run_device", run_device)
        object.__setattr__(self, "unverified", unverified)
        object.__setattr__(self, "hold_hash", hold_hash)
        object.__setattr__(self, "source", source)

    @property
    def cause(self) -> str:
        """Which stop this is, the same every time it is seen (a run records it once)."""
        if self.incident is not None:
            return f"incident:{self.incident.id}"
        if self.unverified is not None:
            return f"unverified:{self.hold_device}:{self.hold_seq}:{self.hold_hash}"
        if self.hold_seq is not None and self.hold_device is not None:
            return f"scene-hold:{self.hold_device}:{self.hold_seq}"
        if self.hold_seq is not None:
            return f"scene-hold:{self.hold_seq}"
        if self.run_device is not None:
            return f"run-hold:{self.run_device}:{self.run}:{self.raised_at}"
        return f"run-hold:{self.run}:{self.raised_at}"

    @property
    def clear_command(self) -> str:
        if self.incident is not None:
            return self.incident.close_command()
        if self.unverified is not None and self.source is not None:
            return self.source.clear_command
        if self.run is not None and self.run_device is not None:
            from safetycli.i18n import _

            # Translators: where another laptop's held run is cleared; keep the command as it is.
            return _(
                'on laptop {device}: safetycli clear {run} --note "what was found and done", '
                "then sync both laptops"
            ).format(device=self.run_device, run=self.run)
        if self.run is not None:
            return f'safetycli clear {self.run} --note "what was found and done"'
        return f'safetycli clear --scene "{self.scene}" --note "what was found and done"'

    def line(self) -> str:
        """One line for a refusal: what holds the scene, and how to clear it."""
        if self.incident is not None:
            from safetycli.incidents import stop_line

            return stop_line(self.incident)
        from safetycli.i18n import _  # a refusal people read, in their language

        if self.unverified is not None:
            said = {
                "scene": self.scene,
                "device": self.hold_device,
                "alarm": self.unverified,
                "reason": self.reason,
                "command": self.clear_command if self.source is None else self.source.clear_said(),
            }
            if self.source is not None and self.source.is_incident:
                return _(
                    "firearm work is held: stop-work from laptop {device}, whose sync the server "
                    "refused ({alarm}): not verified, and it stops work all the same ({reason}); "
                    "nothing starts or goes on with firearms in any scene until it is cleared, a "
                    "producer among those who clear it: {command}"
                ).format(**said)
            return _(
                "scene {scene} is held: stop-work from laptop {device}, whose sync the server "
                "refused ({alarm}): not verified, and it stops work all the same ({reason}); "
                "nothing starts or goes on in this scene until it is cleared, a producer among "
                "those who clear it: {command}"
            ).format(**said)

        said = {
            "day": self.day,
            "run": self.run,
            "scene": self.scene,
            "reason": self.reason,
            "command": self.clear_command,
        }
        if self.run is not None and self.day is not None:
            return _(
                "{day} is held: the day's run {run} is on hold ({reason}); no run of that day "
                "starts or goes on until that hold is cleared: {command}"
            ).format(**said)
        if self.run is not None:
            return _(
                "scene {scene} is held: run {run} is on hold ({reason}); nothing starts or goes "
                "on in this scene until that hold is cleared: {command}"
            ).format(**said)
        from safetycli.roles import spoken

        who = ""
        if self.raised_by:
            role = self.raised_by.get("role")
            name = self.raised_by.get("name")
            if role:
                who = _(" by {name} ({role})").format(name=name, role=spoken(role))
            else:
                who = _(" by {name}").format(name=name)
            if not self.authenticated:
                who += _(", no PIN")
        return _(
            "scene {scene} is held: stop-work called{who} ({reason}); nothing starts or goes on "
            "in this scene until the armorer and the 1st AD clear it: {command}"
        ).format(who=who, **said)


# --- reading it from the log ---------------------------------------------------------------------


# A type for the checker alone: making a Protocol class costs about 0.05 ms of every start-up,
# and nothing asks isinstance of it.
if TYPE_CHECKING:

    class Source(Protocol):
        """What the production state is read from (the SQLite ledger; later the central store)."""

        def events(self, *, run: str | None = None, after: int = 0) -> Iterator[Event]: ...
        def production_events(self) -> Iterator[Event]: ...
        def run_starts(
            self,
            *,
            day_from: str | None = None,
            day_to: str | None = None,
            scene: str | None = None,
            protocol: str | None = None,
            newest_first: bool = True,
        ) -> Iterator[Any]: ...
        def lifecycle(self, run: str) -> Iterator[tuple[str, str]]: ...
        def hold_events(self) -> Iterator[tuple[int, str, str, str, dict[str, Any]]]: ...
        def hold_kinds(self) -> Iterator[tuple[int, str, str, str]]: ...
        def starts_of(self, runs: Iterable[str]) -> list[Any]: ...


def runs_of(source: Source, scene: str, protocol_id: str | None = None) -> Iterator[Any]:
    """Run starts of `scene` as the crew says it (`scene_key`): compared here, not in SQL, whose
    NOCASE folds only ASCII letters and no punctuation. (A scene index is the projection issue
    14 asks for; until then this reads every run start, a few milliseconds a season.)"""
    key = scene_key(scene)
    for start in source.run_starts(protocol=protocol_id):
        if scene_key(start.data["scene"]) == key:
            yield start


def load(source: Source) -> ProductionState:
    return fold(source.production_events(), getattr(source, "device", None))


def status_of(source: Source, run: str) -> str:
    """A run's status from its few lifecycle events (the fold the runner uses), no replay."""
    quick = Lifecycle()
    for kind, at in source.lifecycle(run):
        quick.apply(kind, 0, at)
    return quick.status


def held_runs(source: Source) -> dict[str, Lifecycle]:
    """Runs on hold now, each with its fold: every hold raised or cleared and every abort, read
    from the log itself through the kind index (a few rows per run ever held; never the
    run-status table, so an edited row cannot hide a hold), folded per run by `Lifecycle` as a
    full replay folds them. A run is held when it has an open hold and was not aborted."""
    folds: dict[str, Lifecycle] = {}
    for seq, at, kind, run, data in source.hold_events():
        folds.setdefault(run, Lifecycle()).apply(kind, seq, at, data)
    return {run: fold for run, fold in folds.items() if fold.status == HELD}


def held_run_ids(source: Source) -> set[str]:
    """The runs `held_runs` gives, folded from the kinds alone (no hold's data decoded): for a
    caller that folds those runs again anyway (the set status)."""
    folds: dict[str, Lifecycle] = {}
    for seq, at, kind, run in source.hold_kinds():
        folds.setdefault(run, Lifecycle()).apply(kind, seq, at)
    return {run for run, fold in folds.items() if fold.status == HELD}


def _run_stop(start: Any, hold: Any, *, day_wide: bool) -> SceneStop:
    """A held run's open hold, as what stops its scene (and its day, for a day-wide run)."""
    return SceneStop(
        scene=start.data["scene"],
        reason=hold.reason,
        raised_by=hold.raised_by,
        authenticated=hold.authenticated,
        raised_at=hold.raised_at,
        run=start.run,
        day=start.data["day"] if day_wide else None,
    )


def _called_stop(h: SceneHold) -> SceneStop:
    """A stop-work called on the scene, as what holds a run of it."""
    return SceneStop(
        scene=h.scene,
        reason=h.reason,
        raised_by=h.raised_by,
        authenticated=h.authenticated,
        raised_at=h.raised_at,
        hold_seq=h.seq,
        hold_device=h.device,
    )


def incident_stop(incident: Incident) -> SceneStop:
    """An open incident of a stopping kind, as what holds a firearm run."""
    return SceneStop(
        scene=incident.scene or "(every scene)",
        reason=f"{incident.spec.label} {incident.id}: {incident.text}",
        raised_by=None
        if incident.reported_by is None
        else {"name": incident.reported_by, "role": incident.role},
        authenticated=incident.authenticated,
        raised_at=incident.at,
        incident=incident,
    )


def scene_stops(
    source: Source,
    scene: str,
    day: str | None = None,
    *,
    except_run: str | None = None,
    firearms: bool = False,
) -> tuple[SceneStop, ...]:
    """Everything that holds `scene` now: for firearm work (`firearms`), every open incident of
    a stopping kind, whatever its scene; stop-work called on it, its other runs on hold, and
    (given the shooting `day`) a held run of a day-wide protocol that day (the armory's open or
    close: a live round in the morning sweep stops every scene). A held run stops its whole
    scene: starting a second run must not be a way round a hold.

    Read from the log itself (never the run-status table), through the kind index: the season's
    holds and aborts, folded per run (`StopBoard`); before, every run start of the season was
    read and each run of the scene folded, about 60 ms a step at a million events."""
    return StopBoard(source).for_scene(scene, day, except_run=except_run, firearms=firearms)


class StopBoard:
    """Everything that stops work now, read once, for a board that asks about many scenes (the
    set status): `scene_stops` per open run read every run start of the season for each one
    (5 s for `status` at a million events). Held runs are folded from the holds and aborts
    alone, read once through the kind index (not a lifecycle query per run ever held)."""

    def __init__(
        self,
        source: Source,
        *,
        state: ProductionState | None = None,
        held: Mapping[str, Any] | None = None,
    ) -> None:
        """`state` and `held`: `load(source)` and `held_runs(source)` when the caller has them
        already (the set status folds each held run for its own list: any fold of a run's
        holds and aborts with an `open_hold` serves)."""
        state = load(source) if state is None else state
        self.scene_holds = [(scene_key(h.scene), h) for h in state.open_scene_holds()]
        self.incidents = state.incidents
        # (scene key, run start, what it stops): the key made once, not once per scene asked.
        self.held: list[tuple[str, Any, SceneStop]] = []
        held = held_runs(source) if held is None else held
        for first in source.starts_of(held):  # newest first, as `scene_stops` lists them
            hold = held[first.run].open_hold
            day_wide = first.data.get("scope") == DAY
            stop = _run_stop(first, hold, day_wide=day_wide)
            self.held.append((scene_key(first.data["scene"]), first, stop))
        self.held += [
            (scene_key(first.data["scene"]), first, stop) for first, stop in _held_elsewhere(source)
        ]
        # Stop-work of laptops the server refused, not yet cleared by a producer here.
        self.unverified = open_unverified(source, state)

    @property
    def elsewhere(self) -> list[tuple[Any, SceneStop]]:
        """The other laptops' held runs (pulled by sync), each holding its scene here too: its
        start and the stop it makes."""
        return [(start, stop) for _, start, stop in self.held if stop.run_device is not None]

    def for_scene(
        self,
        scene: str,
        day: str | None = None,
        *,
        except_run: str | None = None,
        firearms: bool = False,
    ) -> tuple[SceneStop, ...]:
        """What `scene_stops` says for this scene, from what was read once."""
        key = scene_key(scene)
        stops = [incident_stop(i) for i in self.incidents.stopping()] if firearms else []
        stops += [_called_stop(h) for held_key, h in self.scene_holds if held_key == key]
        stops += [
            _unverified_stop(u)
            for u_key, u in self._keyed_unverified()
            if (firearms and u.is_incident) or (u_key is not None and u_key == key)
        ]
        # In `scene_stops`' order: the scene's own held runs, then the day's day-wide ones.
        others = []
        for held_key, start, stop in self.held:
            if start.run == except_run and stop.run_device is None:
                continue
            if held_key == key:
                stops.append(replace(stop, day=None))
            elif day is not None and stop.day == day:
                others.append(stop)
        return (*stops, *others)

    def _keyed_unverified(self) -> list[tuple[str | None, UnverifiedStop]]:
        """`unverified`, each with its scene's key (None: an incident, firearm work in every
        scene), made once for a board asked about many scenes (a list of a season's runs)."""
        kept = self.__dict__.get("_keyed")
        if kept is None or kept[0] is not self.unverified:
            keyed = [
                (None if u.is_incident or u.scene is None else scene_key(u.scene), u)
                for u in self.unverified
            ]
            kept = self.__dict__["_keyed"] = (self.unverified, keyed)
        return kept[1]

    def holds(self, scene: str, day: str | None = None) -> bool:
        """Whether anything holds work on `scene` now: whether `for_scene(scene, day,
        firearms=True)` names anything, as `status` marks a run `scene_held` and as the runner
        refuses firearm work; one rule, for `status` and `log list` alike. Answered from sets
        made once, without building the stops: a season's list asks it for every run."""
        kept = self.__dict__.get("_holding")
        if kept is None or kept[0] is not self.unverified:
            everywhere = bool(self.incidents.stopping()) or any(
                u.is_incident for u in self.unverified
            )
            keys = {k for k, _ in self.scene_holds} | {k for k, _, _ in self.held}
            keys |= {k for k, _ in self._keyed_unverified() if k is not None}
            days = {stop.day for _, _, stop in self.held if stop.day is not None}
            kept = self.__dict__["_holding"] = (self.unverified, everywhere, keys, days)
        _, everywhere, keys, days = kept
        return everywhere or scene_key(scene) in keys or (day is not None and day in days)


def open_unverified(source: Source, state: ProductionState) -> list[UnverifiedStop]:
    """The unverified stop-work the source holds (unverified.py) not yet cleared. A laptop that
    never synced has none, and does not load unverified.py to learn so (every `status`)."""
    if not callable(getattr(source, "unverified_stops", None)) and storage.pulled(source) is None:
        return []
    from safetycli.unverified import pulled

    return [u for u in pulled(source) if u.key not in state.cleared_unverified]


def _unverified_stop(u: UnverifiedStop) -> SceneStop:
    return SceneStop(
        scene=u.scene or "(every scene)",
        reason=u.reason,
        raised_by=u.raised_by,
        authenticated=u.authenticated,
        raised_at=u.raised_at,
        hold_seq=u.seq,
        hold_device=u.device,
        unverified=u.alarm,
        hold_hash=u.hash,
        source=u,
    )


def _held_elsewhere(source: Source) -> list[tuple[Any, SceneStop]]:
    """The runs other laptops hold (pulled by sync into `foreign.db`), as what stops their scene
    (and day) here: none for a laptop that never synced, or a source without pulled events."""
    found = storage.pulled(source)
    if found is None:
        return []
    pulled, seal = found
    out = []
    for device, first, hold in pulled.held_runs(seal):
        stop = _run_stop(first, hold, day_wide=first.data.get("scope") == DAY)
        out.append((first, replace(stop, run_device=device)))
    return out


def unfinished_on(source: Source, day: str, *, except_run: str | None = None) -> tuple[str, ...]:
    """Runs of the shooting day still open or held (not aborted), named `r-xxxx (scene S)`: a
    close-out adding up the day's rounds is premature while one of them has rounds out."""
    out = []
    for start in source.run_starts(day_from=day, day_to=day):
        if start.run != except_run and status_of(source, start.run) in (OPEN, HELD):
            out.append(f"{start.run} (scene {start.data['scene']})")
    return tuple(out)


def day_totals(
    source: Source, day: str, items: Iterable[str], *, except_run: str | None = None
) -> dict[str, int]:
    """Each count in `items` added up over the runs of shooting day `day` (but `except_run`):
    the latest answer per check and take, corrections applied. What the daily close-out is
    checked against (`expect: today(blanks-issued)`)."""
    wanted = set(items)
    totals = dict.fromkeys(wanted, 0)
    if not wanted:
        return totals
    for start in source.run_starts(day_from=day, day_to=day):
        if start.run == except_run or _aborted(source, start.run):
            continue  # an aborted run never reached its wrap count: the armorer counts it at close
        answers: dict[tuple[Any, ...], int] = {}
        for event in (e for raw in source.events(run=start.run) for e in ev.expand(raw)):
            data = event.data
            if event.kind in (ev.ITEM_PERFORMED, ev.ITEM_CORRECTED) and data["item"] in wanted:
                if isinstance(data["answer"], int) and not isinstance(data["answer"], bool):
                    answers[(data["phase"], data["take"], data["item"])] = data["answer"]
        for (_, _, item), value in answers.items():
            totals[item] += value
    return totals


def _aborted(source: Source, run: str) -> bool:
    return status_of(source, run) == "aborted"


def outside(
    source: Source,
    scene: str,
    day: str,
    day_items: Iterable[str],
    *,
    run: str | None,
    firearms: bool = False,
) -> Outside:
    """Everything beyond `run` that it must answer to, read now (`firearms`: the run is firearm
    work, which an open stopping incident holds)."""
    from safetycli.outside import Outside

    items = list(day_items)
    return Outside(
        stops=scene_stops(source, scene, day, except_run=run, firearms=firearms),
        day_totals=day_totals(source, day, items, except_run=run),
        unfinished_today=unfinished_on(source, day, except_run=run) if items else (),
    )


def open_runs(
    source: Source,
    scene: str,
    protocol_id: str | None = None,
    *,
    day: str | None = None,
) -> list[Any]:
    """Runs for this scene (of this protocol, when given; of that shooting `day`, any scene,
    when the protocol is day-wide) still open: not complete, aborted or held. A second one is
    usually a run someone forgot to resume."""
    if day is not None:
        starts: Iterable[Any] = (
            s
            for s in source.run_starts(day_from=day, day_to=day, protocol=protocol_id)
            if s.data.get("scope") == DAY
        )
    else:
        starts = runs_of(source, scene, protocol_id)
    return [start for start in starts if status_of(source, start.run) == OPEN]


# --- stop-work on a scene, and lifting it -----------------------------------------------------


def hold_scene(
    scene: str, day: str | None, reason: str, name: str, role: str | None, authenticated: bool
) -> list[ev.NewEvent]:
    """Stop work on a whole scene. Never waits for a PIN: whoever sees danger stops work."""
    from safetycli.errors import SafetyError
    from safetycli.limits import check_length

    scene = " ".join(scene.split())
    if not scene:
        raise SafetyError("--scene needs the scene's name or number, e.g. --scene 12A")
    if not reason.strip():
        raise SafetyError("a hold needs a reason: --reason TEXT")
    check_length(reason, "a hold's reason")
    held = ev.SceneHeld(
        scene=scene,
        day=day,
        reason=reason.strip(),
        name=name,
        role=role,
        authenticated=authenticated,
    )
    return [held.new()]


def check_scene_clearable(
    state: ProductionState,
    scene: str,
    note: str,
    unverified: Iterable[UnverifiedStop] = (),
) -> list[SceneHold]:
    """The stop-work holds on `scene` to lift, if the note says what was done: checked before
    anyone is asked who clears. `unverified`: the refused laptops' stop-work on it, still open
    (`unverified_on`), which the same clearance lifts."""
    from safetycli.errors import SafetyError
    from safetycli.limits import check_length

    holds = state.open_scene_holds(scene)
    if not holds and not list(unverified):
        raise SafetyError(
            f"scene {scene} has no stop-work to clear (a run on hold is cleared with "
            "`safetycli clear RUN_ID`; see `safetycli status`)"
        )
    if not note.strip():
        raise SafetyError("clearing a hold needs a note: what was found and what was done")
    check_length(note, "a note")
    return holds


def unverified_on(source: Source, state: ProductionState, scene: str) -> list[UnverifiedStop]:
    """The refused laptops' stop-work on `scene` not yet cleared (not their incidents: those
    hold every scene's firearm work, and are cleared by name, `unverified_named`)."""
    key = scene_key(scene)
    return [
        u
        for u in open_unverified(source, state)
        if not u.is_incident and u.scene is not None and scene_key(u.scene) == key
    ]


def unverified_named(source: Source, state: ProductionState, ref: str) -> UnverifiedStop:
    """The refused laptop's stop-work `DEVICE:SEQ` (as `status` names it), not yet cleared."""
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    typed = ref.strip()
    found = [
        u for u in open_unverified(source, state) if typed in (u.ref, f"{u.ref}:{u.hash[:12]}")
    ]
    from safetycli.i18n import _

    if len(found) > 1:  # a chain that forked twice reuses a number: its hash tells them apart
        named = ", ".join(f"{u.ref}:{u.hash[:12]}" for u in found)
        raise SafetyError(
            _("{ref} names {n} stop-works: name one of {named}").format(
                ref=one_line(typed), n=len(found), named=named
            )
        )
    if not found:
        raise SafetyError(
            _(
                "no unverified stop-work {ref} to clear: `safetycli status` lists each with the "
                "command that clears it"
            ).format(ref=one_line(typed))
        )
    return found[0]


def clear_roles(unverified: Iterable[UnverifiedStop]) -> tuple[str, ...]:
    """Who lifts the stop-work on a scene: the armorer and the 1st AD; and whoever clears each
    refused laptop's stop-work among it, a producer always (unverified.py)."""
    roles = [r for u in unverified for r in u.clear_roles]
    return tuple(dict.fromkeys(roles)) if roles else SCENE_CLEAR_ROLES


def clear_scene(
    state: ProductionState,
    scene: str,
    note: str,
    clearers: list[ev.Signer],
    unverified: Iterable[UnverifiedStop] = (),
) -> list[ev.NewEvent]:
    """Lift every stop-work on the scene, each clearing role in person."""
    from safetycli.errors import SafetyError
    from safetycli.names import fold_name

    unverified = list(unverified)
    holds = check_scene_clearable(state, scene, note, unverified)
    missing = [r for r in clear_roles(unverified) if r not in {c.role for c in clearers}]
    if missing:
        raise SafetyError(f"a stop-work on a scene is cleared by {', '.join(missing)} too")
    if len({fold_name(c.name) for c in clearers}) != len(clearers):
        raise SafetyError("each clearing role must be a different person")
    return [
        ev.SceneCleared(
            scene=hold.scene,
            hold=hold.seq,
            note=note.strip(),
            cleared_by=tuple(clearers),
            hold_device=hold.device,
        ).new()
        for hold in holds
    ] + clear_unverified(unverified, note, clearers)


def check_note(note: str) -> None:
    """A clearance's note says what was found and what was done."""
    from safetycli.errors import SafetyError
    from safetycli.limits import check_length

    if not note.strip():
        raise SafetyError("clearing a hold needs a note: what was found and what was done")
    check_length(note, "a note")


def clear_unverified(
    stops: Iterable[UnverifiedStop], note: str, clearers: list[ev.Signer]
) -> list[ev.NewEvent]:
    """Lift refused laptops' stop-work: a `scene.cleared` naming each by device, number and
    hash, by every role `clear_roles` names, each a different person."""
    from safetycli.errors import SafetyError
    from safetycli.names import fold_name

    stops = list(stops)
    check_note(note)
    missing = [r for r in clear_roles(stops) if r not in {c.role for c in clearers}]
    if stops and missing:
        from safetycli.i18n import _
        from safetycli.roles import spoken

        raise SafetyError(
            _("this stop-work is cleared by {roles} too").format(
                roles=", ".join(spoken(r) for r in missing)
            )
        )
    if len({fold_name(c.name) for c in clearers}) != len(clearers):
        raise SafetyError("each clearing role must be a different person")
    return [
        ev.SceneCleared(
            scene=u.scene or "",
            hold=u.seq,
            note=note.strip(),
            cleared_by=tuple(clearers),
            hold_device=u.device,
            hold_hash=u.hash,
        ).new()
        for u in stops
    ]


def __getattr__(name: str) -> Any:
    """`production.Outside`, defined in outside.py: only the walk-through builds it, and making
    a frozen dataclass costs about 0.5 ms of every start-up that imports this module (`status`)."""
    if name == "Outside":
        from safetycli.outside import Outside

        return Outside
    raise AttributeError(f"module 'safetycli.production' has no attribute {name!r}")
