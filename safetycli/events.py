"""The event vocabulary every module shares: what the log holds, kind by kind.

The log is the only source of truth, so its event kinds are the product's real schema: the runner,
the roster, review and the renderers all read and write them. They are declared here, once; a
kind that is not declared cannot be built (`NewEvent` refuses it), so a typo in a kind name fails
the first test that writes it instead of writing an event nobody folds.

Kept free of I/O and heavy imports: `status` and `--help` import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safetycli.records import Frozen

if TYPE_CHECKING:  # defined in newevent.py, reached from here (see __getattr__)
    from safetycli.newevent import NewEvent, Signer  # noqa: F401

# --- a run (all carry `run`; signatures carry `person`) ---------------------------------------
RUN_STARTED = "run.started"
RUN_SIGNED_IN = "run.signed-in"
RUN_RESUMED = "run.resumed"
RUN_COMPLETED = "run.completed"
RUN_ABORTED = "run.aborted"
ITEM_PERFORMED = "item.performed"
ITEM_WITNESSED = "item.witnessed"
ITEM_READ_BACK = "item.read-back"
ITEM_DONE = "item.done"
TAKE_NEXT = "take.next"
TAKES_WRAPPED = "takes.wrapped"
HOLD_RAISED = "hold.raised"
HOLD_CLEARED = "hold.cleared"
ITEM_CORRECTED = "item.corrected"
RUN_PAUSED = "run.paused"
RUN_INTERRUPTED = "run.interrupted"
# One person's sign-off of their checks in one phase (issue 11): every item it covers, each with
# its meaning (performed, witnessed, read back), under one PIN. Read item by item (`expand`).
ITEM_SIGNED_OFF = "item.signed-off"

# --- the production: facts about more than one run ------------------------------------------
SCENE_HELD = "scene.held"
SCENE_CLEARED = "scene.cleared"
# The incident register (incidents.py): anyone reports, the roles its kind names close it.
INCIDENT_REPORTED = "incident.reported"
INCIDENT_CLOSED = "incident.closed"
# The freeze lifted once the firearms and rounds were examined; the incident stays open (and
# keeps stopping firearm work) until it is closed with its corrective action.
INCIDENT_RELEASED = "incident.released"
# The safety advisor's written risk assessment for a scene (its text, or a file's sha256).
RISK_ASSESSED = "advisor.risk-assessed"
# One of the production's own protocol files, as a laptop's `sync` sends it to the others
# (protoshare.py): its exact text, so every laptop runs the same bytes and records the same sha256.
PROTOCOL_PUBLISHED = "protocol.published"

# --- the armory: custody of every firearm and every round (armory.py folds these) -------------
ARMORY_FIREARM_ADDED = "armory.firearm-added"
ARMORY_LOT_ADDED = "armory.lot-added"
ARMORY_UNLOCKED = "armory.unlocked"  # storage opened; who holds its keys
ARMORY_LOCKED = "armory.locked"
ARMORY_ISSUED = "armory.issued"  # storage -> the armorer's cart (for a run, or not)
ARMORY_HANDED_OVER = "armory.handed-over"  # armorer -> a named person, who confirms by PIN
ARMORY_TAKEN_BACK = "armory.taken-back"  # that person -> the armorer
ARMORY_RETURNED = "armory.returned"  # the cart -> storage
ARMORY_ROUNDS_ISSUED = "armory.rounds-issued"
ARMORY_ROUNDS_FIRED = "armory.rounds-fired"
ARMORY_ROUNDS_RETURNED = "armory.rounds-returned"
ARMORY_ROUNDS_SPOILED = "armory.rounds-spoiled"
ARMORY_DUMMIES_CHECKED = "armory.dummies-checked"

# --- the workspace ----------------------------------------------------------------------------
WORKSPACE_CREATED = "workspace.created"
# The device key (devicekey.py) that MACs every event from here on: its id, never the key.
DEVICE_KEYED = "device.keyed"

# --- the roster and sign-in attempts -------------------------------------------------------------
CREW_ADDED = "crew.added"
CREW_PIN_SET = "crew.pin-set"
CREW_UNLOCKED = "crew.unlocked"
CREW_REMOVED = "crew.removed"
CREW_ROLE_ADDED = "crew.role-added"
# A permit or training card with its expiry (qualifications.py), approved by a producer.
CREW_QUALIFIED = "crew.qualified"
# The language someone reads protocols in (translation.py), changed after they were added.
CREW_LANG_SET = "crew.lang-set"
AUTH_OK = "auth.ok"
AUTH_FAILED = "auth.failed"
AUTH_LOCKED = "auth.locked"
AUTH_ATTEMPT = "auth.attempt"
# The producers' recovery code (printed once at `init`) and its use on a locked or lost producer.
RECOVERY_SET = "recovery.set"
CREW_RECOVERED = "crew.recovered"

SIGNATURE_KINDS = (ITEM_PERFORMED, ITEM_WITNESSED, ITEM_READ_BACK)
ITEM_KINDS = (*SIGNATURE_KINDS, ITEM_DONE)
# What each meaning in a sign-off reads as, item by item.
SIGNED_OFF_AS = {
    "performed": ITEM_PERFORMED,
    "witnessed": ITEM_WITNESSED,
    "read-back": ITEM_READ_BACK,
}
# The few events per run that decide its status, whatever its length.
LIFECYCLE_KINDS = (HOLD_RAISED, HOLD_CLEARED, RUN_COMPLETED, RUN_ABORTED)
ROSTER_KINDS = (
    CREW_ADDED,
    CREW_PIN_SET,
    CREW_UNLOCKED,
    CREW_REMOVED,
    CREW_RECOVERED,
    CREW_ROLE_ADDED,
    CREW_QUALIFIED,
    CREW_LANG_SET,
)
AUTH_KINDS = (AUTH_OK, AUTH_FAILED, AUTH_LOCKED, AUTH_ATTEMPT)

RUN_KINDS = (
    RUN_STARTED,
    RUN_SIGNED_IN,
    RUN_RESUMED,
    RUN_COMPLETED,
    RUN_ABORTED,
    *ITEM_KINDS,
    TAKE_NEXT,
    TAKES_WRAPPED,
    HOLD_RAISED,
    HOLD_CLEARED,
    ITEM_CORRECTED,
    RUN_PAUSED,
    RUN_INTERRUPTED,
    ITEM_SIGNED_OFF,
)
# Events that stop work somewhere: an answer decided before one of these landed is looked at again.
STOP_KINDS = (HOLD_RAISED, SCENE_HELD, INCIDENT_REPORTED)
INCIDENT_KINDS = (INCIDENT_REPORTED, INCIDENT_RELEASED, INCIDENT_CLOSED)
PRODUCTION_KINDS = (SCENE_HELD, SCENE_CLEARED, *INCIDENT_KINDS, RISK_ASSESSED)
ROUNDS_KINDS = (
    ARMORY_ROUNDS_ISSUED,
    ARMORY_ROUNDS_FIRED,
    ARMORY_ROUNDS_RETURNED,
    ARMORY_ROUNDS_SPOILED,
)
# Every custody event: the armory's state is a fold over exactly these (read by the kind index).
ARMORY_KINDS = (
    ARMORY_FIREARM_ADDED,
    ARMORY_LOT_ADDED,
    ARMORY_UNLOCKED,
    ARMORY_LOCKED,
    ARMORY_ISSUED,
    ARMORY_HANDED_OVER,
    ARMORY_TAKEN_BACK,
    ARMORY_RETURNED,
    *ROUNDS_KINDS,
    ARMORY_DUMMIES_CHECKED,
)
KINDS = frozenset(
    (
        WORKSPACE_CREATED,
        DEVICE_KEYED,
        RECOVERY_SET,
        *RUN_KINDS,
        *PRODUCTION_KINDS,
        *ARMORY_KINDS,
        *ROSTER_KINDS,
        *AUTH_KINDS,
        PROTOCOL_PUBLISHED,
    )
)


class UndeclaredKind(ValueError):
    """An event kind that is not declared here: a programming error, never user input."""


class Event(Frozen):
    """An event as stored: its place in the chain and the chain's hashes.

    A plain record (records.py) with a frozen dataclass's behaviour, not a dataclass: `status`
    and `--help` import this module, and `dataclasses` with the class cost about 1.5 ms of each
    start-up. Reading the log builds one per row (verify, a season's report), so `__init__` sets
    each slot through its descriptor, faster than the dataclass's `object.__setattr__`."""

    __slots__ = ("seq", "at", "kind", "run", "person", "data", "prev_hash", "hash", "device")
    seq: int
    at: str
    kind: str
    run: str | None
    person: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str
    # The device whose chain the event is in, for another laptop's event pulled from the central
    # store (central/foreign.py); None for this laptop's own. Not part of the chained text.
    device: str | None

    def __init__(
        self,
        seq: int,
        at: str,
        kind: str,
        run: str | None,
        person: str | None,
        data: dict[str, Any],
        prev_hash: str,
        hash: str,
        device: str | None = None,
    ) -> None:
        _seq(self, seq)
        _at(self, at)
        _kind(self, kind)
        _run(self, run)
        _person(self, person)
        _data(self, data)
        _prev_hash(self, prev_hash)
        _hash(self, hash)
        _device(self, device)


# Each slot's own setter: `Frozen.__setattr__` refuses every assignment, these go past it.
_seq, _at, _kind, _run, _person, _data, _prev_hash, _hash, _device = (
    getattr(Event, name).__set__ for name in Event.__slots__
)


def expand(event: Event) -> list[Event]:
    """An event as the per-item signatures it stands for. A sign-off covers many items under one
    PIN; everything that reads a run item by item (the runner's fold, `log show`, the report,
    the day's counts) reads it as the `item.performed`, `item.witnessed` and `item.read-back`
    events it replaces, each with the sign-off's place in the chain, so old logs (one signature
    per item) and new ones read the same way. Any other event is itself."""
    if event.kind != ITEM_SIGNED_OFF:
        return [event]
    data = event.data
    who = {"name": data["name"], "role": data["role"]}
    out: list[Event] = []
    for entry in data["items"]:
        kind = SIGNED_OFF_AS.get(entry["meaning"])
        if kind is None:  # not applicable: its item.done says so, with the reason
            continue
        at = {"phase": data["phase"], "take": data["take"], "item": entry["item"]}
        signed: dict[str, Any] = {**at, **who, "ok": True, "signed_off": event.seq}
        if "lang" in data:  # what the person read (translation.py); absent from older logs
            signed |= {"lang": data["lang"], "text_sha256": data.get("text_sha256")}
        if kind != ITEM_WITNESSED:
            signed |= {"answer": entry["answer"], "reason": None}
        out.append(
            Event(
                seq=event.seq,
                at=event.at,
                kind=kind,
                run=event.run,
                person=event.person,
                data=signed,
                prev_hash=event.prev_hash,
                hash=event.hash,
            )
        )
    return out


_WRITING = frozenset({"NewEvent", "Signer"})


# The declared types (one frozen dataclass per kind, with its payload) live in `declared.py`:
# defining some thirty dataclasses costs about 18 ms, which `status` and `--help` need not pay.
# They are reached from here as before (`events.RunStarted`, `from safetycli.events import
# ItemDone`), loaded on first use.
def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _WRITING:
        # What the commands that write make (newevent.py): `status` and the other readers
        # never build one, and each frozen dataclass costs about 0.4 to 0.8 ms at import.
        from safetycli import newevent

        found = globals()[name] = getattr(newevent, name)  # looked up here once
        return found
    from safetycli import declared

    try:
        return getattr(declared, name)
    except AttributeError:
        raise AttributeError(f"module 'safetycli.events' has no attribute {name!r}") from None
