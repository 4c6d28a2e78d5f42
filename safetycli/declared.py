"""Every event kind as a declared type with its payload (see events.py for the vocabulary).

Loaded only by the commands that build or parse events by type: `events.py` reaches these names
on first use, so `status` and `--help` do not pay for defining them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self

from safetycli import events as ev
from safetycli.events import KINDS, Event, NewEvent, Signer, UndeclaredKind

# --- the declared types: one frozen dataclass per kind, with its payload --------------------------
#
# The field names are the payload's keys, so `payload()` is the dict the log stores (and hashes),
# key for key, and `from_event` reads one back. Logs written by older versions must still replay:
# a key older logs lack has a default here, and nothing is ever renamed.


def _signer(value: Mapping[str, Any] | None) -> Signer | None:
    return None if value is None else Signer(value["name"], value["role"])


def _signers(value: Iterable[Mapping[str, Any]]) -> tuple[Signer, ...]:
    return tuple(Signer(v["name"], v["role"]) for v in value)


def _parsed(parse: Callable[[Any], Any], **default: Any) -> Any:
    """A field whose stored form is not its value's (a Signer is stored as a dict, a tuple as a
    list): `parse` turns the stored form back."""
    return field(metadata={"parse": parse}, **default)


def _added(default: Any) -> Any:
    """A key added after logs were written: left out of the payload while it holds its default,
    so the events that do not need it stay exactly as they were."""
    return field(default=default, metadata={"added": True})


def _places(value: Iterable[Iterable[Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(place) for place in value)


def _added_places() -> Any:
    """`also` (issue 11): places signed in the same sitting as the hold's, sent back with it;
    absent from older events and from holds that have none."""
    return field(default=(), metadata={"added": True, "parse": _places})


def _stored(value: Any) -> Any:
    """The JSON form of a field's value: what the log held before these types existed."""
    if isinstance(value, Signer):
        return value.as_json()
    if isinstance(value, tuple):
        return [_stored(v) for v in value]
    return value


# Fields that travel beside the payload, never inside it.
_ENVELOPE = frozenset({"run"})

TYPES: dict[str, type[Declared]] = {}


@dataclass(frozen=True, kw_only=True)
class Declared:
    """One declared event kind: its fields are its payload. `PERSON` names the field that says
    who acted (the event's indexed `person`), or None when the event has no single actor."""

    KIND: ClassVar[str]
    PERSON: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "KIND" in cls.__dict__:
            if cls.KIND not in KINDS or cls.KIND in TYPES:
                raise UndeclaredKind(f"{cls.__name__}: kind {cls.KIND!r} undeclared or taken")
            TYPES[cls.KIND] = cls

    def payload(self) -> dict[str, Any]:
        return {
            f.name: _stored(getattr(self, f.name))
            for f in fields(self)
            if f.name not in _ENVELOPE
            and not (f.metadata.get("omit_none") and getattr(self, f.name) is None)
            and not (f.metadata.get("added") and getattr(self, f.name) == f.default)
        }

    def person(self) -> str | None:
        who = getattr(self, self.PERSON) if self.PERSON else None
        return who.name if isinstance(who, Signer) else who

    def new(self) -> NewEvent:
        """The event to append."""
        return NewEvent(self.KIND, self.payload(), getattr(self, "run", None), self.person())

    @classmethod
    def from_event(cls, event: Event | NewEvent) -> Self:
        if event.kind != cls.KIND:
            raise ValueError(f"a {event.kind} event is not a {cls.KIND} event")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in _ENVELOPE:
                values[f.name] = getattr(event, f.name)
            elif f.name in event.data:
                parse = f.metadata.get("parse")
                raw = event.data[f.name]
                values[f.name] = parse(raw) if parse else raw
        return cls(**values)


def parse(event: Event | NewEvent) -> Declared:
    """The declared type of any event in the log."""
    declared = TYPES.get(event.kind)
    if declared is None:
        raise UndeclaredKind(f"event kind {event.kind!r} is not declared in safetycli.events")
    return declared.from_event(event)


# --- a run ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _InRun(Declared):
    run: str


@dataclass(frozen=True, kw_only=True)
class _AtItem(_InRun):
    """Where in the run: a phase, the take (None outside per-take phases), an item."""

    phase: str
    take: int | None
    item: str


@dataclass(frozen=True, kw_only=True)
class RunStarted(_InRun):
    """`protocol` is {id, version, sha256}: the exact YAML the crew saw. `clear_roles` fixes who
    clears a hold at start; `mode` is how it is answered (keyboard or file). Both are absent
    from runs recorded before they existed."""

    KIND = ev.RUN_STARTED
    protocol: dict[str, Any]
    scene: str
    day: str
    context: dict[str, Any]
    clear_roles: tuple[str, ...] = _parsed(tuple, default=())
    mode: str | None = None
    # "day" for a run covering the whole shooting day; absent (not null) otherwise, so runs
    # recorded before it existed and runs of one scene hold the same payload.
    scope: str | None = field(default=None, metadata={"omit_none": True})
    # The firearms it took out of the armory, (serial, label) in order: its per-firearm checks
    # are asked for each (`Protocol.for_firearms`). Absent when it took none out.
    firearms: tuple[tuple[str, str], ...] = field(
        default=(), metadata={"added": True, "parse": _places}
    )


@dataclass(frozen=True, kw_only=True)
class SignedIn(_InRun):
    """Roll call: this person signs for this role for the rest of the sitting."""

    KIND = ev.RUN_SIGNED_IN
    PERSON = "name"
    name: str
    role: str
    # The language the walk-through addresses them in for the sitting (the roster's, at sign-in);
    # absent when they read the protocol's own language, and in older logs.
    lang: str | None = _added(None)


@dataclass(frozen=True, kw_only=True)
class RunResumed(_InRun):
    """A later sitting: everyone signs in again."""

    KIND = ev.RUN_RESUMED


@dataclass(frozen=True, kw_only=True)
class RunCompleted(_InRun):
    KIND = ev.RUN_COMPLETED


@dataclass(frozen=True, kw_only=True)
class RunAborted(_InRun):
    KIND = ev.RUN_ABORTED
    PERSON = "by"
    reason: str
    by: Signer = _parsed(_signer)


@dataclass(frozen=True, kw_only=True)
class ItemPerformed(_AtItem):
    """The signer's answer; `ok` and `reason` say whether it failed the item and why."""

    KIND = ev.ITEM_PERFORMED
    PERSON = "name"
    answer: Any
    name: str
    role: str
    ok: bool
    reason: str | None
    # What they read, as on a sign-off (`ItemSignedOff`); absent from older logs.
    lang: str | None = _added(None)
    text_sha256: str | None = _added(None)


@dataclass(frozen=True, kw_only=True)
class ItemWitnessed(_AtItem):
    KIND = ev.ITEM_WITNESSED
    PERSON = "name"
    name: str
    role: str
    ok: bool
    # What they read, as on a sign-off (`ItemSignedOff`); absent from older logs.
    lang: str | None = _added(None)
    text_sha256: str | None = _added(None)


@dataclass(frozen=True, kw_only=True)
class ItemReadBack(_AtItem):
    KIND = ev.ITEM_READ_BACK
    PERSON = "name"
    name: str
    role: str
    answer: Any
    ok: bool
    reason: str | None
    # What they read, as on a sign-off (`ItemSignedOff`); absent from older logs.
    lang: str | None = _added(None)
    text_sha256: str | None = _added(None)


@dataclass(frozen=True, kw_only=True)
class ItemSignedOff(_InRun):
    """One person signs their checks of one phase (and take) at once, with one PIN (issue 11):
    `items` lists each check with its meaning (`performed`, `witnessed`, `read-back`, or
    `not-applicable`) and the answer given. `pin` says which PIN proved it: `sign-off` (typed
    for it) or `sign-in` (the sign-in typed just before it, in the same sitting); None when
    none of its checks asks for a PIN. A "no" is never in a sign-off: it is recorded at once,
    alone, as before. Read item by item through `events.expand`."""

    KIND = ev.ITEM_SIGNED_OFF
    PERSON = "name"
    phase: str
    take: int | None
    name: str
    role: str
    items: tuple[dict[str, Any], ...] = _parsed(tuple)
    pin: str | None = None
    # What the person read (translation.py): the language, the sha256 of the questions and
    # options as shown, and the checks shown in the protocol's main language for want of a
    # translation. Absent from older logs.
    lang: str | None = _added(None)
    text_sha256: str | None = _added(None)
    fallback: tuple[str, ...] = field(default=(), metadata={"added": True, "parse": tuple})


@dataclass(frozen=True, kw_only=True)
class ItemDone(_AtItem):
    """The item settled: confirmed, refused, not-applicable or skipped-by-condition. `by` is who
    performed it (None when skipped); no `person`, as it adds no signature."""

    KIND = ev.ITEM_DONE
    outcome: str
    reason: str | None
    by: Signer | None = _parsed(_signer)


@dataclass(frozen=True, kw_only=True)
class TakeNext(_InRun):
    KIND = ev.TAKE_NEXT
    group: str
    take: int


@dataclass(frozen=True, kw_only=True)
class TakesWrapped(_InRun):
    KIND = ev.TAKES_WRAPPED
    group: str
    takes: int


@dataclass(frozen=True, kw_only=True)
class HoldRaised(_InRun):
    """Stop work. On a failed item it names the item; raised by hand (`safetycli hold`) it names
    none. `clear_roles` is empty when the run's own roles apply. `authenticated` is False for a
    hold raised by hand without a PIN (anyone may stop work: someone not on the roster has
    `role` None in `raised_by`); holds recorded before it existed all needed a PIN."""

    KIND = ev.HOLD_RAISED
    PERSON = "raised_by"
    phase: str | None = None
    take: int | None = None
    item: str | None = None
    reason: str
    raised_by: Signer | None = _parsed(_signer)
    clear_roles: tuple[str, ...] = _parsed(tuple, default=())
    authenticated: bool = True
    also: tuple[tuple[str, int | None], ...] = _added_places()


@dataclass(frozen=True, kw_only=True)
class HoldCleared(_InRun):
    """No `person`: a clearance is signed by several people at once, all in `cleared_by`."""

    KIND = ev.HOLD_CLEARED
    note: str
    cleared_by: tuple[Signer, ...] = _parsed(_signers)


@dataclass(frozen=True, kw_only=True)
class ItemCorrected(_AtItem):
    """An earlier answer put right (a typo in a count at wrap): the original stays in the log,
    this event says what replaces it, why, and who agreed (the signer and the 1st AD, each with
    their PIN). `recheck` lists the checks whose sums used the old answer: they are asked again."""

    KIND = ev.ITEM_CORRECTED
    answer: Any
    was: Any
    note: str
    by: tuple[Signer, ...] = _parsed(_signers)
    recheck: tuple[tuple[str, int | None, str], ...] = _parsed(
        lambda keys: tuple(tuple(k) for k in keys), default=()
    )


@dataclass(frozen=True, kw_only=True)
class RunPaused(_InRun):
    """The walk-through stood still longer than the protocol allows (`pause_minutes`): its
    after-break checks come first, because nobody knows where the firearms were meanwhile."""

    KIND = ev.RUN_PAUSED
    minutes: int


@dataclass(frozen=True, kw_only=True)
class RunInterrupted(_InRun):
    """Something beyond the run stopped it mid-take (a stop-work called on its scene, another of
    its runs on hold): the take's phase where it stood (`phase`, `take`) is checked again, as
    after a hold of its own. `cause` names the stop, so it is recorded once."""

    KIND = ev.RUN_INTERRUPTED
    phase: str | None = None
    take: int | None = None
    cause: str
    reason: str
    also: tuple[tuple[str, int | None], ...] = _added_places()


# --- the production -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SceneHeld(Declared):
    """Stop-work on a whole scene, called on the set with no run id. Anyone may call it, on the
    roster or not, and no PIN is needed: `authenticated` says whether the caller proved who they
    are, and `role` is None for someone not on the roster."""

    KIND = ev.SCENE_HELD
    PERSON = "name"
    scene: str
    day: str | None
    reason: str
    name: str
    role: str | None
    authenticated: bool


@dataclass(frozen=True, kw_only=True)
class SceneCleared(Declared):
    """The stop-work `hold` (its seq, in `hold_device`'s chain when that is given) lifted, each
    clearing role in person with their PIN."""

    KIND = ev.SCENE_CLEARED
    scene: str
    hold: int
    note: str
    cleared_by: tuple[Signer, ...] = _parsed(_signers)
    # The laptop whose chain `hold` is numbered in, when another laptop raised it (central/).
    hold_device: str | None = _added(None)
    # The hash of the event `hold` names, for an unverified stop-work of a laptop whose sync the
    # server refused (unverified.py): a forked chain reuses numbers, so the number alone is not
    # enough, and such a clearance never lifts a stop-work of the verified record.
    hold_hash: str | None = _added(None)


@dataclass(frozen=True, kw_only=True)
class IncidentReported(Declared):
    """An incident in the register (incidents.py). Anyone reports one, with no PIN: `name` is
    None for an anonymous report (nothing else about who typed it is kept), `role` None for
    someone not on the roster. `closers` are the roles that must close it, fixed now. `item` is
    the walk-through's check whose "no" raised it (phase, take, item), when one did."""

    KIND = ev.INCIDENT_REPORTED
    PERSON = "name"
    id: str
    kind: str
    text: str
    scene: str | None = None
    run_id: str | None = None
    name: str | None = None
    role: str | None = None
    authenticated: bool = False
    firearms: tuple[str, ...] = _parsed(tuple, default=())
    lots: tuple[str, ...] = _parsed(tuple, default=())
    closers: tuple[str, ...] = _parsed(tuple, default=())
    item: tuple[str, int | None, str] | None = _parsed(
        lambda v: None if v is None else tuple(v), default=None
    )


@dataclass(frozen=True, kw_only=True)
class IncidentClosed(Declared):
    """Incident `incident` closed by every role it names, each with their PIN, with the
    corrective action written down."""

    KIND = ev.INCIDENT_CLOSED
    incident: str
    action: str
    closed_by: tuple[Signer, ...] = _parsed(_signers)


@dataclass(frozen=True, kw_only=True)
class IncidentReleased(Declared):
    """The freeze of incident `incident` lifted by every role it names, each with their PIN,
    once what it froze was examined (`note`); the incident itself stays open."""

    KIND = ev.INCIDENT_RELEASED
    incident: str
    note: str
    released_by: tuple[Signer, ...] = _parsed(_signers)


@dataclass(frozen=True, kw_only=True)
class RiskAssessed(Declared):
    """The safety advisor's written risk assessment for `scene`: its `text`, or the `sha256` of
    the file (named `file`) that holds it."""

    KIND = ev.RISK_ASSESSED
    PERSON = "by"
    scene: str
    by: str
    text: str | None = None
    sha256: str | None = None
    file: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProtocolPublished(Declared):
    """One of the production's own protocol files, sent to its other laptops by `sync`
    (protoshare.py): `text` is the file's exact content, whose sha256 is `sha256`; `file` its name
    in the workspace's checklists folder; `translations` the translation files beside it."""

    KIND = ev.PROTOCOL_PUBLISHED
    protocol: str
    version: int
    sha256: str
    file: str
    text: str
    # Its translation files, sent with it: {lang: {"file", "sha256", "text"}}, each exact.
    translations: dict[str, dict[str, str]] | None = _added(None)
    # The production's own roles it names (config.toml's [roles] where it was sent): {id: what
    # the role does}, so a laptop without them can run it (sharedroles.py).
    roles: dict[str, str] | None = _added(None)


# --- the armory: custody of every firearm and every round (armory.py folds these) ----------------
#
# Each is written in one transaction with the `auth.ok` of every person whose PIN approved it, right
# before it (as roster changes are). `by` is the armorer who acted. A run the custody serves is
# `for_run` in the payload, not the event's `run`: a run's own fold (runner.py) never sees them.


@dataclass(frozen=True, kw_only=True)
class _ByArmorer(Declared):
    PERSON = "by"
    by: str


@dataclass(frozen=True, kw_only=True)
class FirearmAdded(_ByArmorer):
    """A firearm taken into the inventory; it starts in locked storage. `kind` is what it can
    do: `real`, `blank-firing`, `replica`, `non-firing`."""

    KIND = ev.ARMORY_FIREARM_ADDED
    serial: str
    make: str
    model: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class LotAdded(_ByArmorer):
    """A lot of rounds (`dummy` or `blank`, a blank's `load`), `count` of them into storage.
    Live ammunition never has one: it is removed from set and is an incident."""

    KIND = ev.ARMORY_LOT_ADDED
    lot: str
    type: str
    load: str | None
    count: int


@dataclass(frozen=True, kw_only=True)
class StorageUnlocked(_ByArmorer):
    """The locked storage opened; `keys` are who holds its keys from now (the register)."""

    KIND = ev.ARMORY_UNLOCKED
    keys: tuple[str, ...] = _parsed(tuple)


@dataclass(frozen=True, kw_only=True)
class StorageLocked(_ByArmorer):
    KIND = ev.ARMORY_LOCKED
    keys: tuple[str, ...] = _parsed(tuple)


@dataclass(frozen=True, kw_only=True)
class FirearmIssued(_ByArmorer):
    """Out of storage onto the armorer's cart, for a run (`for_run`) or for the day; or, with
    `from_cart`, already on the cart (for the day, or for a run that is over) and now for
    `for_run`: the armorer never let go of it."""

    KIND = ev.ARMORY_ISSUED
    serial: str
    for_run: str | None = None
    from_cart: bool = _added(False)


@dataclass(frozen=True, kw_only=True)
class FirearmHandedOver(_ByArmorer):
    """Only the armorer hands a firearm over; `to` confirmed receiving it with their PIN."""

    KIND = ev.ARMORY_HANDED_OVER
    serial: str
    to: str


@dataclass(frozen=True, kw_only=True)
class FirearmTakenBack(_ByArmorer):
    """Back from `holder` into the armorer's hands."""

    KIND = ev.ARMORY_TAKEN_BACK
    serial: str
    holder: str


@dataclass(frozen=True, kw_only=True)
class FirearmReturned(_ByArmorer):
    """From the cart back into storage."""

    KIND = ev.ARMORY_RETURNED
    serial: str


@dataclass(frozen=True, kw_only=True)
class _RoundsMoved(_ByArmorer):
    """`count` rounds of `lot`, for a run (`for_run`) or for the day; `day` is the shooting day."""

    lot: str
    count: int
    for_run: str | None = None
    day: str


@dataclass(frozen=True, kw_only=True)
class RoundsIssued(_RoundsMoved):
    KIND = ev.ARMORY_ROUNDS_ISSUED


@dataclass(frozen=True, kw_only=True)
class RoundsFired(_RoundsMoved):
    KIND = ev.ARMORY_ROUNDS_FIRED


@dataclass(frozen=True, kw_only=True)
class RoundsReturned(_RoundsMoved):
    KIND = ev.ARMORY_ROUNDS_RETURNED


@dataclass(frozen=True, kw_only=True)
class RoundsSpoiled(_RoundsMoved):
    KIND = ev.ARMORY_ROUNDS_SPOILED


@dataclass(frozen=True, kw_only=True)
class DummiesChecked(_ByArmorer):
    """Every dummy of `lot` on hand (`rounds`) checked one by one by `methods` (rattle, side
    hole, primer, x-ray) on the shooting `day`: without it that day the lot is not issued."""

    KIND = ev.ARMORY_DUMMIES_CHECKED
    lot: str
    methods: tuple[str, ...] = _parsed(tuple)
    rounds: int
    day: str


# --- the workspace and the roster -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WorkspaceCreated(Declared):
    KIND = ev.WORKSPACE_CREATED
    production: str


@dataclass(frozen=True, kw_only=True)
class DeviceKeyed(Declared):
    """From this event on, every event carries a MAC made with the device key (devicekey.py).
    Only ids: the key and the production secret never enter the log."""

    KIND = ev.DEVICE_KEYED
    device: str
    key_id: str
    pepper_id: str
    scheme: str


@dataclass(frozen=True, kw_only=True)
class CrewAdded(Declared):
    """`approved_by` is None only for the first producer. The PIN's hash is never here: only a
    fingerprint of the stored string (see crew.py)."""

    KIND = ev.CREW_ADDED
    PERSON = "name"
    name: str
    roles: tuple[str, ...] = _parsed(tuple)
    approved_by: str | None
    pin_fingerprint: str
    lang: str | None = _added(None)  # the language they read protocols in; None: each one's own


@dataclass(frozen=True, kw_only=True)
class _RosterChange(Declared):
    """A change to `name`'s entry, approved `by` a producer (or, for a PIN, by the person)."""

    PERSON = "name"
    name: str
    by: str


@dataclass(frozen=True, kw_only=True)
class CrewPinSet(_RosterChange):
    """`by` is the person themselves (their old PIN) or the approving producer; a producer's
    reset of someone else's PIN is also `confirmed_by` that person (their old PIN) or a second
    producer. None in logs written before the rule, and for a change made with one's own PIN."""

    KIND = ev.CREW_PIN_SET
    pin_fingerprint: str
    confirmed_by: str | None = _added(None)
    # The fingerprint of the PIN this one replaces, as the writing laptop's roster had it (issue
    # 15): two laptops that changed one person's PIN apart replace the same one, and that is
    # shown as an exception (rostermerge.change_conflicts). Absent from older events.
    replaces: str | None = _added(None)


@dataclass(frozen=True, kw_only=True)
class CrewRecovered(Declared):
    """The producers' recovery code gave `name` (a producer) a new PIN, which also ends a
    lock-out. `code_fingerprint` names the code that was spent; a new one is set right after."""

    KIND = ev.CREW_RECOVERED
    PERSON = "name"
    name: str
    pin_fingerprint: str
    code_fingerprint: str
    replaces: str | None = _added(None)  # as on `crew.pin-set`


@dataclass(frozen=True, kw_only=True)
class RecoverySet(Declared):
    """A new recovery code: only a fingerprint of its stored scrypt hash is here (like a PIN's).
    `why` is `init` or `used` (the previous one was spent)."""

    KIND = ev.RECOVERY_SET
    code_fingerprint: str
    why: str
    by: str | None = _added(None)  # the producer who replaced the code (PIN-proven)


@dataclass(frozen=True, kw_only=True)
class CrewUnlocked(_RosterChange):
    KIND = ev.CREW_UNLOCKED


@dataclass(frozen=True, kw_only=True)
class CrewRemoved(_RosterChange):
    KIND = ev.CREW_REMOVED


@dataclass(frozen=True, kw_only=True)
class CrewRoleAdded(_RosterChange):
    """`name` may now also sign as `role` (a shipped role or the production's own), approved
    `by` a producer with their PIN: someone already on the roster takes on another job."""

    KIND = ev.CREW_ROLE_ADDED
    role: str


@dataclass(frozen=True, kw_only=True)
class CrewLangSet(_RosterChange):
    """`name` reads protocols in `lang` from now on, approved `by` a producer with their PIN:
    what a person is shown decides what their signature proves, so nobody changes it alone."""

    KIND = ev.CREW_LANG_SET
    lang: str


@dataclass(frozen=True, kw_only=True)
class CrewQualified(_RosterChange):
    """`name` holds `qualification` (an `armorer-permit`, a `safety-course` card) numbered
    `number`, valid through `expires` (YYYY-MM-DD); approved `by` a producer with their PIN. The
    newest of each kind for a person is the one in force (qualifications.py)."""

    KIND = ev.CREW_QUALIFIED
    qualification: str
    number: str
    expires: str


# --- sign-in attempts: in a run or not (roster changes are approved outside any run) --------------


@dataclass(frozen=True, kw_only=True)
class _Auth(Declared):
    PERSON = "name"
    run: str | None = None
    name: str


@dataclass(frozen=True, kw_only=True)
class AuthAttempt(_Auth):
    """A PIN is about to be checked: written under the write lock only while fewer than five
    tries are wrong or pending, so parallel guessers cannot all get past the count. It counts as a
    wrong PIN until its outcome (`auth.ok` or `auth.failed` naming its seq as `attempt`) lands;
    a process killed in between leaves it counted as wrong."""

    KIND = ev.AUTH_ATTEMPT
    role: str | None
    purpose: str


@dataclass(frozen=True, kw_only=True)
class AuthOk(_Auth):
    """`attempt` is the seq of the `auth.attempt` it settles (None in older logs)."""

    KIND = ev.AUTH_OK
    role: str | None
    purpose: str
    attempt: int | None = _added(None)


@dataclass(frozen=True, kw_only=True)
class AuthFailed(_Auth):
    """`reason` is one of crew.py's refusal reasons; never the PIN. A wrong PIN names the
    `auth.attempt` it settles as `attempt` (older logs have none: then it is itself the count)."""

    KIND = ev.AUTH_FAILED
    role: str | None
    purpose: str
    reason: str
    attempt: int | None = _added(None)


@dataclass(frozen=True, kw_only=True)
class AuthLocked(_Auth):
    KIND = ev.AUTH_LOCKED
    failures: int
