"""The plain records that replaced dataclasses made at start-up (safetycli/records.py) behave as
those dataclasses did: equality, hashing, repr, immutability, copying and pickling."""

import copy
import dataclasses
import pickle
from pathlib import Path
from typing import Any

import pytest

from safetycli.devicekey import DeviceKey
from safetycli.events import Event
from safetycli.headmark import Mark
from safetycli.incidents import KINDS, Incident, Kind, Register
from safetycli.ledger import _Seal
from safetycli.lifecycle import Hold, Lifecycle
from safetycli.production import ProductionState, SceneHold, SceneStop
from safetycli.records import replace
from safetycli.roster import Entry
from safetycli.rostercheck import Credential, _Person
from safetycli.setnow import BoardRun
from safetycli.storage import Problem, RunStart, VerifyResult

# Each converted class, the dataclass it was (same fields, same order, same defaults, same
# frozen-ness), and the arguments of two different instances.
CASES: list[tuple[type, Any, tuple[Any, ...], tuple[Any, ...]]] = [
    (
        Mark,
        dataclasses.make_dataclass(
            "Mark",
            [("seq", int), ("hash", str), ("where", Path), ("device", Any, None)],
            frozen=True,
        ),
        (3, "ab" * 32, Path("/ws/log.head")),
        (3, "ab" * 32, Path("/ws/log.head"), "dev-1"),
    ),
    (
        DeviceKey,
        dataclasses.make_dataclass(
            "DeviceKey",
            [
                "device",
                ("mac_key", bytes, dataclasses.field(repr=False)),
                ("pepper", bytes, dataclasses.field(repr=False)),
                "path",
            ],
            frozen=True,
        ),
        ("dev-1", b"k" * 32, b"p" * 32, Path("/keys/dev-1.key")),
        ("dev-2", b"k" * 32, b"p" * 32, Path("/keys/dev-1.key")),
    ),
    (
        Credential,
        dataclasses.make_dataclass("Credential", ["key", "fingerprint", "seq"], frozen=True),
        ("sam ortiz", "0123456789abcdef", 7),
        ("sam ortiz", "0123456789abcdef", 8),
    ),
    (
        Kind,
        dataclasses.make_dataclass(
            "Kind", ["id", "label", "stops", "freezes", "closed_by"], frozen=True
        ),
        ("misfire", "misfire", True, False, ("armorer", "producer")),
        ("misfire", "misfire", True, True, ("armorer", "producer")),
    ),
    (
        RunStart,
        dataclasses.make_dataclass("RunStart", ["run", "seq", "at", "data"], frozen=True),
        ("r-1", 4, "2026-03-14T03:40:02Z", {"scene": "12A", "day": "2026-03-13"}),
        ("r-1", 4, "2026-03-14T03:40:02Z", {"scene": "12B", "day": "2026-03-13"}),
    ),
    (
        _Person,
        dataclasses.make_dataclass(
            "_Person",
            ["name", "roles", "active", "fingerprint", "set_at", ("removed_on", Any, None)],
        ),
        ("Sam Ortiz", ("armorer",), True, "00ff", 3),
        ("Sam Ortiz", ("armorer",), False, "00ff", 3, ""),
    ),
    (
        Entry,
        dataclasses.make_dataclass(
            "Entry",
            [
                "name",
                "roles",
                "active",
                "fingerprint",
                "added_seq",
                "added_at",
                ("set_seq", int, 0),
                ("device", Any, None),
                ("removed", Any, None),
                ("lang", Any, None),
            ],
        ),
        ("Dana Reyes", ("first_ad",), True, "00ff", 2, "2026-03-14T03:40:02Z"),
        ("Dana Reyes", ("first_ad",), True, "00ff", 2, "2026-03-14T03:40:02Z", 5, "d", None, "es"),
    ),
]
HOLD_FIELDS = [
    "seq",
    "raised_at",
    "key",
    "reason",
    "raised_by",
    ("phase", Any, None),
    ("take", Any, None),
    ("cleared_seq", Any, None),
    ("cleared_at", Any, None),
    ("cleared_by", Any, None),
    ("note", Any, None),
    ("authenticated", bool, True),
    ("also", tuple, ()),
    ("clear_roles", tuple, ()),
]
RAISED = (7, "2026-03-14T03:40:02Z", ("meeting", None, "meeting-held"), "no meeting", None)
CASES += [
    (
        Hold,
        dataclasses.make_dataclass("Hold", HOLD_FIELDS),
        RAISED,
        (*RAISED, "meeting", 2, 9, "2026-03-14T03:50:00Z", [{"name": "Sam"}], "ok", False),
    ),
    (
        Lifecycle,
        dataclasses.make_dataclass(
            "Lifecycle",
            [
                ("holds", list, dataclasses.field(default_factory=list)),
                ("completed", bool, False),
                ("aborted", Any, None),
                ("ended_at", Any, None),
            ],
        ),
        (),
        ([Hold(*RAISED)], True, None, "2026-03-14T05:00:00Z"),
    ),
    (
        BoardRun,
        dataclasses.make_dataclass(
            "BoardRun",
            [
                "run_id",
                ("protocol", dict, dataclasses.field(default_factory=dict)),
                ("scene", str, ""),
                ("day", str, ""),
                ("started_at", Any, None),
                ("signed_in", dict, dataclasses.field(default_factory=dict)),
                ("lifecycle", Lifecycle, dataclasses.field(default_factory=Lifecycle)),
            ],
        ),
        ("r-1",),
        ("r-1", {"id": "firearm-scene"}, "12A", "2026-03-13", None, {"armorer": "Sam Ortiz"}),
    ),
]
REPORTED = (
    "i-0a1b2c",
    12,
    "2026-03-14T03:40:02Z",
    "misfire",
    "click, no bang",
    "12A",
    None,
    ("SN-1",),
    (),
    "Sam Ortiz",
    "armorer",
    True,
    ("armorer", "producer"),
)
LATER = ("2026-03-14T04:00:00Z", [{"name": "Sam"}], "checked", 20, "2026-03-14T05:00:00Z")
CASES += [
    (
        SceneHold,
        dataclasses.make_dataclass(
            "SceneHold",
            [
                "seq",
                "raised_at",
                "scene",
                "day",
                "reason",
                "raised_by",
                "authenticated",
                *((name, Any, None) for name in ("cleared_seq", "cleared_at", "cleared_by")),
                *((name, Any, None) for name in ("note", "device")),
            ],
        ),
        (4, "2026-03-14T03:40:02Z", "12A", None, "smoke", {"name": "Dana Reyes"}, False),
        (4, "2026-03-14T03:40:02Z", "12A", None, "smoke", {"name": "Dana Reyes"}, False, 5),
    ),
    (
        Incident,
        dataclasses.make_dataclass(
            "Incident",
            [
                *"id seq at kind text scene run firearms lots reported_by role".split(),
                "authenticated",
                "closers",
                *(
                    (name, Any, None)
                    for name in (
                        "item released_at released_by release_note closed_seq closed_at "
                        "closed_by action device"
                    ).split()
                ),
            ],
        ),
        REPORTED,
        (*REPORTED, ("checks", 1, "shown-clear"), *LATER, [{"name": "Pat"}], "fixed", "d-2"),
    ),
]
STOP = ("12A", "smoke", {"name": "Dana Reyes", "role": "first_ad"}, False, "2026-03-14T03:40:02Z")
CASES.append(
    (
        SceneStop,
        dataclasses.make_dataclass(
            "SceneStop",
            [
                *"scene reason raised_by authenticated raised_at".split(),
                *(
                    (name, Any, None)
                    for name in (
                        "run hold_seq day incident hold_device run_device unverified hold_hash "
                        "source"
                    ).split()
                ),
            ],
            frozen=True,
        ),
        STOP,
        (*STOP, "r-1", None, "2026-03-13"),
    )
)


def _factory(make: Any, **options: Any) -> Any:
    return dataclasses.field(default_factory=make, **options)


CASES += [
    (
        Register,
        dataclasses.make_dataclass(
            "Register",
            [
                ("incidents", dict, _factory(dict)),
                ("_waiting", dict, _factory(dict, repr=False, compare=False)),
            ],
        ),
        ({}, {"i-1": []}),  # differ only where equality does not look
        ({"i-1": Incident(*REPORTED)},),
    ),
    (
        ProductionState,
        dataclasses.make_dataclass(
            "ProductionState",
            [
                ("scene_holds", list, _factory(list)),
                ("incidents", Register, _factory(Register)),
                ("assessments", dict, _factory(dict)),
                ("last_seq", int, 0),
                ("home", Any, None),
                ("cleared_unverified", dict, _factory(dict)),
                ("_waiting", dict, _factory(dict, repr=False)),
            ],
        ),
        (),
        ([], Register(), {}, 0, None, {}, {("d-1", 4): None}),  # differ in `_waiting` alone
    ),
]
EVENT = (9, "2026-03-14T03:40:02Z", "item.done", "r-1", "Sam Ortiz", {"item": "shown-clear"})
CASES.append(
    (
        Event,
        dataclasses.make_dataclass(
            "Event",
            [
                *"seq at kind run person data prev_hash hash".split(),
                ("device", Any, None),
            ],
            frozen=True,
        ),
        (*EVENT, "00" * 32, "ab" * 32),
        (*EVENT, "00" * 32, "ab" * 32, "dev-2"),  # another laptop's copy of the same event
    )
)
PROBLEM = Problem(7, "a credential that does not match")
CASES += [
    (
        Problem,
        dataclasses.make_dataclass("Problem", ["seq", "reason"], frozen=True),
        (7, "a credential that does not match"),
        (None, "the file's structure is damaged"),
    ),
    (
        VerifyResult,
        dataclasses.make_dataclass(
            "VerifyResult",
            [
                *"ok events head_seq head first_bad_seq reason".split(),
                *((name, Any, None) for name in ("device", "macs_from", "unchecked")),
                ("problems", tuple, ()),
            ],
            frozen=True,
        ),
        (True, 12, 12, "ab" * 32, None, None),
        (False, 12, 12, "ab" * 32, None, "audit", "dev-1", 3, None, (PROBLEM,)),
    ),
    (
        _Seal,
        dataclasses.make_dataclass("_Seal", ["mac_key", "device", "keyed_from"], frozen=True),
        (b"k" * 32, "dev-1", 3),
        (b"k" * 32, "dev-1", 4),
    ),
]
IDS = [case[0].__name__ for case in CASES]


@pytest.mark.parametrize(("cls", "was", "one", "other"), CASES, ids=IDS)
def test_a_record_behaves_as_its_dataclass(cls: type, was: Any, one: tuple, other: tuple) -> None:
    a, b = cls(*one), cls(*other)
    da, db = was(*one), was(*other)
    assert repr(a) == repr(da) and repr(b) == repr(db)
    assert (a == cls(*one), a == b, a != b) == (da == was(*one), da == db, da != db)
    assert a != da and a != one  # never equal to another class, nor to a tuple
    fields = [f.name for f in dataclasses.fields(was)]
    assert cls.__match_args__ == tuple(fields)
    assert [getattr(a, name) for name in fields] == [getattr(da, name) for name in fields]
    keywords = cls(**{name: getattr(b, name) for name in fields})
    assert keywords == b
    assert copy.copy(a) == a and copy.deepcopy(b) == b
    assert pickle.loads(pickle.dumps(b)) == b
    frozen = was.__dataclass_params__.frozen
    try:
        hashed = hash(da)
    except TypeError:
        hashed = None
    if hashed is None:
        with pytest.raises(TypeError):
            hash(a)
    else:
        assert hash(a) == hash(cls(*one)) and {a, cls(*one)} == {a}
    name = fields[0]
    if frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(a, name, "changed")
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(a, name)
    else:
        setattr(a, name, "changed")
        assert getattr(a, name) == "changed"
    with pytest.raises(AttributeError):
        object.__setattr__(a, "not_a_field", 1)  # slots: no stray attributes


def test_the_incident_kinds_are_as_they_were() -> None:
    assert KINDS["misfire"] == Kind("misfire", "misfire", True, False, ("armorer", "producer"))
    assert KINDS["injury"].freezes and not KINDS["near-miss"].stops
    assert len({*KINDS.values()}) == len(KINDS)  # hashable, as frozen dataclasses were


def test_replace_is_dataclasses_replace() -> None:
    stop = SceneStop(*STOP, run="r-1", day="2026-03-13")
    moved = replace(stop, day=None, run_device="d-2")
    assert (moved.day, moved.run_device, moved.run, moved.scene) == (None, "d-2", "r-1", "12A")
    assert stop.day == "2026-03-13" and type(moved) is SceneStop
    with pytest.raises(TypeError):
        replace(stop, nowhere=1)


def test_a_device_key_s_repr_does_not_carry_its_secrets() -> None:
    key = DeviceKey("dev-1", b"\x01secret-mac-key" * 2, b"\x02pepper" * 4, Path("/keys/dev-1.key"))
    shown = repr(key)
    assert "dev-1" in shown and "secret-mac-key" not in shown and "pepper" not in shown
