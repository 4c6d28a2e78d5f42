"""The event vocabulary: every kind the product writes is declared, and each declared type writes
exactly the payload the log has always held (the log's JSON is hashed, so old logs must replay)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli import crew, events, recovery, session
from safetycli.catalog import load_catalog
from safetycli.cli import app
from safetycli.events import Event, NewEvent, Signer, UndeclaredKind
from safetycli.ledger import Ledger
from safetycli.protocol import Protocol
from safetycli.runner import applicable
from tests.walk_helpers import (
    CHEAP_SCRYPT_N,
    CREW,
    FIRST_AD,
    PRODUCER,
    add_crew,
    failing_answer,
    write_answers,
)

# --- (a) an undeclared kind cannot be written ----------------------------------------------------


def test_an_undeclared_kind_cannot_be_built_or_parsed() -> None:
    with pytest.raises(UndeclaredKind, match="run.strated"):
        NewEvent("run.strated", {}, run="r1")
    stored = Event(1, "2026-11-23T10:00:00Z", "hold.rasied", "r1", None, {}, "", "")
    with pytest.raises(UndeclaredKind, match="hold.rasied"):
        events.parse(stored)


def test_every_declared_kind_has_exactly_one_type() -> None:
    assert set(events.TYPES) == events.KINDS
    assert all(t.KIND == kind for kind, t in events.TYPES.items())


# --- (c) each type writes today's payload and reads it back ---------------------------------------

SAM = Signer("Sam Ortiz", "armorer")
DANA = Signer("Dana Reyes", "first_ad")
AT = {"phase": "before-take", "take": 2, "item": "shown-clear"}

# Each type, built as the product builds it, and the event the log has always held for it: the
# dicts are written out by hand so that a change of a key or a value fails here, not in an old log.
SAMPLES: list[tuple[events.Declared, NewEvent]] = [
    (
        events.RunStarted(
            run="r1",
            protocol={"id": "firearm-scene", "version": 1, "sha256": "ab12"},
            scene="12A",
            day="2026-11-23",
            context={"blanks": True},
            clear_roles=("armorer", "first_ad"),
            mode="file",
        ),
        NewEvent(
            "run.started",
            {
                "protocol": {"id": "firearm-scene", "version": 1, "sha256": "ab12"},
                "scene": "12A",
                "day": "2026-11-23",
                "context": {"blanks": True},
                "clear_roles": ["armorer", "first_ad"],
                "mode": "file",
            },
            "r1",
        ),
    ),
    (
        events.SignedIn(run="r1", name="Sam Ortiz", role="armorer"),
        NewEvent("run.signed-in", {"name": "Sam Ortiz", "role": "armorer"}, "r1", "Sam Ortiz"),
    ),
    (events.RunResumed(run="r1"), NewEvent("run.resumed", {}, "r1")),
    (events.RunCompleted(run="r1"), NewEvent("run.completed", {}, "r1")),
    (
        events.RunAborted(run="r1", reason="scene cut", by=DANA),
        NewEvent(
            "run.aborted",
            {"reason": "scene cut", "by": {"name": "Dana Reyes", "role": "first_ad"}},
            "r1",
            "Dana Reyes",
        ),
    ),
    (
        events.ItemPerformed(
            run="r1", **AT, answer=False, name="Sam Ortiz", role="armorer", ok=False, reason="no"
        ),
        NewEvent(
            "item.performed",
            {
                **AT,
                "answer": False,
                "name": "Sam Ortiz",
                "role": "armorer",
                "ok": False,
                "reason": "no",
            },
            "r1",
            "Sam Ortiz",
        ),
    ),
    (
        events.ItemWitnessed(run="r1", **AT, name="Dana Reyes", role="first_ad", ok=True),
        NewEvent(
            "item.witnessed",
            {**AT, "name": "Dana Reyes", "role": "first_ad", "ok": True},
            "r1",
            "Dana Reyes",
        ),
    ),
    (
        events.ItemReadBack(
            run="r1", **AT, name="Alex Kim", role="actor", answer="EMPTY", ok=True, reason=None
        ),
        NewEvent(
            "item.read-back",
            {
                **AT,
                "name": "Alex Kim",
                "role": "actor",
                "answer": "EMPTY",
                "ok": True,
                "reason": None,
            },
            "r1",
            "Alex Kim",
        ),
    ),
    (
        events.ItemSignedOff(
            run="r1",
            phase="before-each-take",
            take=1,
            name="Alex Kim",
            role="actor",
            items=(
                {"item": "shown-clear", "meaning": "witnessed", "answer": True},
                {"item": "state-announced", "meaning": "read-back", "answer": "EMPTY"},
            ),
            pin="sign-off",
        ),
        NewEvent(
            "item.signed-off",
            {
                "phase": "before-each-take",
                "take": 1,
                "name": "Alex Kim",
                "role": "actor",
                "items": [
                    {"item": "shown-clear", "meaning": "witnessed", "answer": True},
                    {"item": "state-announced", "meaning": "read-back", "answer": "EMPTY"},
                ],
                "pin": "sign-off",
            },
            "r1",
            "Alex Kim",
        ),
    ),
    (
        events.ItemDone(run="r1", **AT, outcome="confirmed", reason=None, by=SAM),
        NewEvent(
            "item.done",
            {
                **AT,
                "outcome": "confirmed",
                "reason": None,
                "by": {"name": "Sam Ortiz", "role": "armorer"},
            },
            "r1",
        ),
    ),
    (
        events.ItemDone(
            run="r1", **AT, outcome="skipped-by-condition", reason="only when blanks", by=None
        ),
        NewEvent(
            "item.done",
            {**AT, "outcome": "skipped-by-condition", "reason": "only when blanks", "by": None},
            "r1",
        ),
    ),
    (
        events.TakeNext(run="r1", group="before-take", take=3),
        NewEvent("take.next", {"group": "before-take", "take": 3}, "r1"),
    ),
    (
        events.TakesWrapped(run="r1", group="before-take", takes=3),
        NewEvent("takes.wrapped", {"group": "before-take", "takes": 3}, "r1"),
    ),
    (
        events.HoldRaised(
            run="r1",
            **AT,
            reason="Shown clear? -- answered no",
            raised_by=SAM,
            clear_roles=("armorer",),
        ),
        NewEvent(
            "hold.raised",
            {
                **AT,
                "reason": "Shown clear? -- answered no",
                "raised_by": {"name": "Sam Ortiz", "role": "armorer"},
                "clear_roles": ["armorer"],
                "authenticated": True,
            },
            "r1",
            "Sam Ortiz",
        ),
    ),
    (
        events.HoldRaised(run="r1", reason="smoke on set", raised_by=DANA),
        NewEvent(
            "hold.raised",
            {
                "phase": None,
                "take": None,
                "item": None,
                "reason": "smoke on set",
                "raised_by": {"name": "Dana Reyes", "role": "first_ad"},
                "clear_roles": [],
                "authenticated": True,
            },
            "r1",
            "Dana Reyes",
        ),
    ),
    (
        events.HoldRaised(
            run="r1", reason="smoke", raised_by=events.Signer("Vi Day", None), authenticated=False
        ),
        NewEvent(
            "hold.raised",
            {
                "phase": None,
                "take": None,
                "item": None,
                "reason": "smoke",
                "raised_by": {"name": "Vi Day", "role": None},
                "clear_roles": [],
                "authenticated": False,
            },
            "r1",
            "Vi Day",
        ),
    ),
    (
        events.HoldCleared(run="r1", note="fixed", cleared_by=(SAM, DANA)),
        NewEvent(
            "hold.cleared",
            {
                "note": "fixed",
                "cleared_by": [
                    {"name": "Sam Ortiz", "role": "armorer"},
                    {"name": "Dana Reyes", "role": "first_ad"},
                ],
            },
            "r1",
        ),
    ),
    (
        events.WorkspaceCreated(production="Night Shoot"),
        NewEvent("workspace.created", {"production": "Night Shoot"}),
    ),
    (
        events.CrewAdded(
            name="Sam Ortiz", roles=("armorer",), approved_by="Pat", pin_fingerprint="f00d"
        ),
        NewEvent(
            "crew.added",
            {
                "name": "Sam Ortiz",
                "roles": ["armorer"],
                "approved_by": "Pat",
                "pin_fingerprint": "f00d",
            },
            person="Sam Ortiz",
        ),
    ),
    (
        events.CrewPinSet(name="Sam Ortiz", by="Pat", pin_fingerprint="beef"),
        NewEvent(
            "crew.pin-set",
            {"name": "Sam Ortiz", "by": "Pat", "pin_fingerprint": "beef"},
            person="Sam Ortiz",
        ),
    ),
    (
        events.CrewUnlocked(name="Sam Ortiz", by="Pat"),
        NewEvent("crew.unlocked", {"name": "Sam Ortiz", "by": "Pat"}, person="Sam Ortiz"),
    ),
    (
        events.CrewRemoved(name="Sam Ortiz", by="Pat"),
        NewEvent("crew.removed", {"name": "Sam Ortiz", "by": "Pat"}, person="Sam Ortiz"),
    ),
    (
        events.CrewLangSet(name="Alex Kim", by="Pat", lang="es"),
        NewEvent(
            "crew.lang-set", {"name": "Alex Kim", "by": "Pat", "lang": "es"}, person="Alex Kim"
        ),
    ),
    (
        events.CrewRoleAdded(name="Sam Ortiz", by="Pat", role="pyrotechnician"),
        NewEvent(
            "crew.role-added",
            {"name": "Sam Ortiz", "by": "Pat", "role": "pyrotechnician"},
            person="Sam Ortiz",
        ),
    ),
    (
        events.AuthOk(run="r1", name="Sam Ortiz", role="armorer", purpose="sign in"),
        NewEvent(
            "auth.ok",
            {"name": "Sam Ortiz", "role": "armorer", "purpose": "sign in"},
            "r1",
            "Sam Ortiz",
        ),
    ),
    (
        events.AuthFailed(
            name="Sam Ortiz", role=None, purpose="change own PIN", reason="wrong-pin"
        ),
        NewEvent(
            "auth.failed",
            {"name": "Sam Ortiz", "role": None, "purpose": "change own PIN", "reason": "wrong-pin"},
            person="Sam Ortiz",
        ),
    ),
    (
        events.AuthAttempt(run="r1", name="Sam Ortiz", role="armorer", purpose="sign in"),
        NewEvent(
            "auth.attempt",
            {"name": "Sam Ortiz", "role": "armorer", "purpose": "sign in"},
            "r1",
            "Sam Ortiz",
        ),
    ),
    (
        events.AuthFailed(
            name="Sam Ortiz", role=None, purpose="sign in", reason="wrong-pin", attempt=7
        ),
        NewEvent(
            "auth.failed",
            {
                "name": "Sam Ortiz",
                "role": None,
                "purpose": "sign in",
                "reason": "wrong-pin",
                "attempt": 7,
            },
            person="Sam Ortiz",
        ),
    ),
    (
        events.RecoverySet(code_fingerprint="ab12", why="init"),
        NewEvent("recovery.set", {"code_fingerprint": "ab12", "why": "init"}),
    ),
    (
        events.RecoverySet(code_fingerprint="ab13", why="issued", by="Pat Morgan"),
        NewEvent("recovery.set", {"code_fingerprint": "ab13", "why": "issued", "by": "Pat Morgan"}),
    ),
    (
        events.DeviceKeyed(device="0a1b", key_id="k1", pepper_id="p1", scheme="hmac-sha256-128"),
        NewEvent(
            "device.keyed",
            {"device": "0a1b", "key_id": "k1", "pepper_id": "p1", "scheme": "hmac-sha256-128"},
        ),
    ),
    (
        events.CrewRecovered(name="Pat Morgan", pin_fingerprint="cd34", code_fingerprint="ab12"),
        NewEvent(
            "crew.recovered",
            {"name": "Pat Morgan", "pin_fingerprint": "cd34", "code_fingerprint": "ab12"},
            person="Pat Morgan",
        ),
    ),
    (
        events.AuthLocked(run="r1", name="Sam Ortiz", failures=5),
        NewEvent("auth.locked", {"name": "Sam Ortiz", "failures": 5}, "r1", "Sam Ortiz"),
    ),
    (
        events.ItemCorrected(
            run="r1",
            phase="wrap",
            take=None,
            item="blanks-returned",
            answer=6,
            was=5,
            note="typed 5 for 6",
            by=(SAM, DANA),
            recheck=(("wrap", None, "blanks-spoiled"),),
        ),
        NewEvent(
            "item.corrected",
            {
                "phase": "wrap",
                "take": None,
                "item": "blanks-returned",
                "answer": 6,
                "was": 5,
                "note": "typed 5 for 6",
                "by": [SAM.as_json(), DANA.as_json()],
                "recheck": [["wrap", None, "blanks-spoiled"]],
            },
            "r1",
        ),
    ),
    (
        events.RunPaused(run="r1", minutes=45),
        NewEvent("run.paused", {"minutes": 45}, "r1"),
    ),
    (
        events.RunInterrupted(
            run="r1", phase="before-take", take=2, cause="scene-hold:7", reason="smoke"
        ),
        NewEvent(
            "run.interrupted",
            {"phase": "before-take", "take": 2, "cause": "scene-hold:7", "reason": "smoke"},
            "r1",
        ),
    ),
    (
        events.SceneHeld(
            scene="12A",
            day="2026-11-23",
            reason="actor asked for a re-check",
            name="Alex Kim",
            role="actor",
            authenticated=False,
        ),
        NewEvent(
            "scene.held",
            {
                "scene": "12A",
                "day": "2026-11-23",
                "reason": "actor asked for a re-check",
                "name": "Alex Kim",
                "role": "actor",
                "authenticated": False,
            },
            person="Alex Kim",
        ),
    ),
    (
        events.SceneCleared(scene="12A", hold=7, note="re-checked", cleared_by=(SAM, DANA)),
        NewEvent(
            "scene.cleared",
            {
                "scene": "12A",
                "hold": 7,
                "note": "re-checked",
                "cleared_by": [SAM.as_json(), DANA.as_json()],
            },
        ),
    ),
    (
        events.IncidentReported(
            id="i-3f2a1c",
            kind="misfire",
            text="click, no bang",
            scene="12A",
            run_id="r1",
            firearms=("4471",),
            closers=("armorer", "producer"),
            item=("after-each-take", 2, "no-misfire"),
        ),
        NewEvent(
            "incident.reported",
            {
                "id": "i-3f2a1c",
                "kind": "misfire",
                "text": "click, no bang",
                "scene": "12A",
                "run_id": "r1",
                "name": None,
                "role": None,
                "authenticated": False,
                "firearms": ["4471"],
                "lots": [],
                "closers": ["armorer", "producer"],
                "item": ["after-each-take", 2, "no-misfire"],
            },
        ),
    ),
    (
        events.IncidentClosed(incident="i-3f2a1c", action="firing pin replaced", closed_by=(SAM,)),
        NewEvent(
            "incident.closed",
            {"incident": "i-3f2a1c", "action": "firing pin replaced", "closed_by": [SAM.as_json()]},
        ),
    ),
    (
        events.IncidentReleased(incident="i-3f2a1c", note="examined", released_by=(SAM,)),
        NewEvent(
            "incident.released",
            {"incident": "i-3f2a1c", "note": "examined", "released_by": [SAM.as_json()]},
        ),
    ),
    (
        events.RiskAssessed(scene="12A", by="Val Advisor", sha256="ab12", file="ra.pdf"),
        NewEvent(
            "advisor.risk-assessed",
            {"scene": "12A", "by": "Val Advisor", "text": None, "sha256": "ab12", "file": "ra.pdf"},
            person="Val Advisor",
        ),
    ),
    (
        events.FirearmAdded(serial="4471", make="Colt", model="SAA", kind="real", by="Sam Ortiz"),
        NewEvent(
            "armory.firearm-added",
            {"serial": "4471", "make": "Colt", "model": "SAA", "kind": "real", "by": "Sam Ortiz"},
            person="Sam Ortiz",
        ),
    ),
    (
        events.LotAdded(lot="B-7", type="blank", load="half", count=50, by="Sam Ortiz"),
        NewEvent(
            "armory.lot-added",
            {"lot": "B-7", "type": "blank", "load": "half", "count": 50, "by": "Sam Ortiz"},
            person="Sam Ortiz",
        ),
    ),
    (
        events.StorageUnlocked(by="Sam Ortiz", keys=("Sam Ortiz", "Pat Producer")),
        NewEvent(
            "armory.unlocked",
            {"by": "Sam Ortiz", "keys": ["Sam Ortiz", "Pat Producer"]},
            person="Sam Ortiz",
        ),
    ),
    (
        events.StorageLocked(by="Sam Ortiz", keys=("Sam Ortiz",)),
        NewEvent("armory.locked", {"by": "Sam Ortiz", "keys": ["Sam Ortiz"]}, person="Sam Ortiz"),
    ),
    (
        events.FirearmIssued(serial="4471", by="Sam Ortiz", for_run="r1"),
        NewEvent(
            "armory.issued",
            {"serial": "4471", "by": "Sam Ortiz", "for_run": "r1"},
            person="Sam Ortiz",
        ),
    ),
    (
        events.FirearmHandedOver(serial="4471", by="Sam Ortiz", to="Alex Kim"),
        NewEvent(
            "armory.handed-over",
            {"serial": "4471", "by": "Sam Ortiz", "to": "Alex Kim"},
            person="Sam Ortiz",
        ),
    ),
    (
        events.FirearmTakenBack(serial="4471", by="Sam Ortiz", holder="Alex Kim"),
        NewEvent(
            "armory.taken-back",
            {"serial": "4471", "by": "Sam Ortiz", "holder": "Alex Kim"},
            person="Sam Ortiz",
        ),
    ),
    (
        events.FirearmReturned(serial="4471", by="Sam Ortiz"),
        NewEvent("armory.returned", {"serial": "4471", "by": "Sam Ortiz"}, person="Sam Ortiz"),
    ),
    *[
        (
            kind(lot="B-7", count=6, by="Sam Ortiz", for_run=None, day="2026-11-23"),
            NewEvent(
                name,
                {"lot": "B-7", "count": 6, "by": "Sam Ortiz", "for_run": None, "day": "2026-11-23"},
                person="Sam Ortiz",
            ),
        )
        for kind, name in (
            (events.RoundsIssued, "armory.rounds-issued"),
            (events.RoundsFired, "armory.rounds-fired"),
            (events.RoundsReturned, "armory.rounds-returned"),
            (events.RoundsSpoiled, "armory.rounds-spoiled"),
        )
    ],
    (
        events.DummiesChecked(
            lot="D-1", methods=("rattle", "primer"), rounds=30, by="Sam Ortiz", day="2026-11-23"
        ),
        NewEvent(
            "armory.dummies-checked",
            {
                "lot": "D-1",
                "methods": ["rattle", "primer"],
                "rounds": 30,
                "by": "Sam Ortiz",
                "day": "2026-11-23",
            },
            person="Sam Ortiz",
        ),
    ),
    (
        events.CrewQualified(
            name="Sam Ortiz",
            by="Pat Producer",
            qualification="armorer-permit",
            number="EFP-1",
            expires="2027-06-30",
        ),
        NewEvent(
            "crew.qualified",
            {
                "name": "Sam Ortiz",
                "by": "Pat Producer",
                "qualification": "armorer-permit",
                "number": "EFP-1",
                "expires": "2027-06-30",
            },
            person="Sam Ortiz",
        ),
    ),
]


def test_the_samples_cover_every_declared_type() -> None:
    assert {type(built) for built, _ in SAMPLES} == set(events.TYPES.values())


@pytest.mark.parametrize(("built", "stored"), SAMPLES, ids=lambda x: getattr(x, "KIND", ""))
def test_each_type_writes_the_payload_the_log_holds_and_reads_it_back(
    built: events.Declared, stored: NewEvent
) -> None:
    assert built.new() == stored
    assert type(built).from_event(stored) == built
    assert events.parse(stored).new() == stored


def test_a_run_started_before_runs_kept_their_clearing_roles_still_parses() -> None:
    old = NewEvent(
        "run.started",
        {
            "protocol": {"id": "p", "version": 1, "sha256": "x"},
            "scene": "1",
            "day": "d",
            "context": {},
        },
        "r0",
    )
    started = events.RunStarted.from_event(old)
    assert (started.clear_roles, started.mode) == ((), None)


def test_a_type_reads_only_its_own_kind() -> None:
    with pytest.raises(ValueError, match="not a run.completed event"):
        events.RunCompleted.from_event(NewEvent("run.resumed", {}, "r1"))


# --- (b) what walking the shipped protocols writes ------------------------------------------------

# Declared kinds these walks do not write, each with the reason (none today: a new kind either
# gets a step in the walk or a line here).
NOT_WALKED: dict[str, str] = {}
EXTRA_CREW = {"safety_rep": ("Lou Grant", "6203"), "stunt_coordinator": ("Kit Moss", "8154")}
SIGNERS = {**CREW, **EXTRA_CREW}


def _context(proto: Protocol) -> dict[str, Any]:
    """Every fact yes (or its first option), so as many checks as possible are asked."""
    out: dict[str, Any] = {}
    for name, fact in proto.context.items():
        assert fact.type in ("bool", "choice"), f"{proto.id}: add a value for {fact.type} facts"
        out[name] = True if fact.type == "bool" else (fact.options or [""])[0]
    return out


class _Walker:
    def __init__(self, home: Path, tmp: Path) -> None:
        self.cli = CliRunner()
        self.home = home
        self.tmp = tmp

    def invoke(self, args: list[str], *, expect: int, input: str | None = None) -> str:
        result = self.cli.invoke(app, [*args, "--home", str(self.home)], input=input)
        assert result.exit_code == expect, (args, result.output)
        return result.output

    def answers(self, proto: Protocol, name: str, **answers: Any) -> Path:
        return write_answers(
            self.tmp / f"{proto.id}-{name}.yaml",
            proto.id,
            context=_context(proto),
            takes=2,
            signers={role: SIGNERS[role] for role in proto.roles},
            **answers,
        )

    def run(self, proto: Protocol, name: str, *, expect: int, **answers: Any) -> str:
        """A new run of `proto` from an answers file; returns its id."""
        path = self.answers(proto, name, **answers)
        self.invoke(["run", proto.id, "--scene", name, "--answers", str(path)], expect=expect)
        with Ledger.open(self.home / "log.db") as ledger:
            (newest,) = ledger.latest(kinds=[events.RUN_STARTED])
        assert newest.run is not None
        return newest.run


def _walk_every_shipped_protocol(home: Path, tmp: Path) -> None:
    """For each shipped protocol: a run where all is right (two takes where it has takes), and
    one stopped on its first critical check, cleared by the named roles and resumed to the end.
    Then one run left open, a refused PIN on it and the 1st AD aborting it."""
    walker = _Walker(home, tmp)
    for proto in load_catalog(None).protocols.values():
        walker.run(proto, "all-right", expect=0)
        context = _context(proto)
        first = next(i for _, i in applicable(proto, context) if i.critical and i.can_fail())
        run_id = walker.run(proto, "held", expect=3, answers={first.id: failing_answer(first)})
        # The run's signers clear for their roles, named: a clearing role may not have signed
        # in yet (people sign in when their checks come up).
        clearers = "".join(f"{SIGNERS[role][1]}\n" for role in proto.hold.cleared_by)
        named = [f"--by={role}={SIGNERS[role][0]}" for role in proto.hold.cleared_by]
        walker.invoke(
            ["clear", run_id, "--note", "put right", "--pin-stdin", *named],
            expect=0,
            input=clearers,
        )
        passing = walker.answers(proto, "resumed")
        walker.invoke(["resume", run_id, "--answers", str(passing)], expect=0)
    scene = load_catalog(None).get("firearm-scene")
    open_run = walker.run(scene, "open", expect=4, drop=("meeting-covered",))
    # A wrong PIN with a hold: the PIN is refused, the hold recorded as not PIN-checked.
    hold = ["hold", open_run, "--reason", "smoke", "--by", FIRST_AD[0], "--pin-stdin"]
    walker.invoke(hold, expect=0, input="0000\n")
    clearers = f"{SIGNERS['armorer'][1]}\n{SIGNERS['first_ad'][1]}\n"
    walker.invoke(
        ["clear", open_run, "--note", "smoke gone", "--pin-stdin"], expect=0, input=clearers
    )
    abort = ["abort", open_run, "--reason", "scene cut", "--by", FIRST_AD[0], "--pin-stdin"]
    walker.invoke(abort, expect=0, input=f"{FIRST_AD[1]}\n")
    _scene_episode(walker)
    _correction_episode(walker, scene)
    _refusal_episode(walker, scene)


def _scene_episode(walker: _Walker) -> None:
    """Stop-work called on a scene by someone not on the roster; the scene's runs are refused
    until the armorer and the 1st AD lift it."""
    scene = load_catalog(None).get("firearm-scene")
    going = walker.run(scene, "stopped", expect=4, drop=("meeting-covered",))
    walker.invoke(
        ["hold", "--scene", "stopped", "--reason", "smell of smoke", "--by", "A Visitor"],
        expect=0,
    )
    path = walker.answers(scene, "stopped")
    walker.invoke(["run", "firearm-scene", "--scene", "stopped", "--answers", str(path)], expect=2)
    walker.invoke(["resume", going, "--answers", str(path)], expect=2)
    pins = f"{SIGNERS['armorer'][1]}\n{SIGNERS['first_ad'][1]}\n"
    who = ["--by", f"armorer={SIGNERS['armorer'][0]}", "--by", f"first_ad={SIGNERS['first_ad'][0]}"]
    clear = ["clear", "--scene", "stopped", "--note", "no fire", *who, "--pin-stdin"]
    walker.invoke(clear, expect=0, input=pins)
    # Stopped while it stood open: where it stood goes back, and it finishes.
    walker.invoke(["resume", going, "--answers", str(path)], expect=0)


def _correction_episode(walker: _Walker, scene: Protocol) -> None:
    """A typo in the firearms counted out is found at wrap, when the count back does not add up:
    the run holds; the armorer and the 1st AD correct it, clear the hold, and the resumed run
    completes. (A typo inside one sign-off, the wrap's own counts, is a hold and a recount
    instead: nothing of that sign-off was recorded.) Then a run whose walk-through stands
    still for two hours."""
    counts = {
        "rounds-counted": 2,
        "rounds-fired": 1,
        "rounds-unfired": 1,
        "blanks-issued": 12,
        "blanks-fired": 2,
        "blanks-returned": 10,
        "blanks-spoiled": 0,
        "firearms-issued": 3,  # 2 went out: a typo
        "firearms-counted-back": 2,
    }
    run_id = walker.run(scene, "typo", expect=3, answers=counts)
    pins = f"{SIGNERS['armorer'][1]}\n{SIGNERS['first_ad'][1]}\n"
    fix = ["correct", run_id, "firearms-issued", "--answer", "2", "--note", "typed 3 for 2"]
    walker.invoke([*fix, "--pin-stdin"], expect=0, input=pins)
    walker.invoke(
        ["clear", run_id, "--note", "count was a typo", "--pin-stdin"], expect=0, input=pins
    )
    again = walker.answers(scene, "typo", answers=counts)
    walker.invoke(["resume", run_id, "--answers", str(again)], expect=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session, "clock", _LunchAfterFirstCheck())
        walker.run(scene, "lunch", expect=0)


def _refusal_episode(walker: _Walker, scene: Protocol) -> None:
    """A "no" is never part of a sign-off: it is recorded alone, at once. A witness who did not
    see the check (the DP), and an actor who says back another state: each holds its run."""
    walker.run(scene, "witness-no", expect=3, witnesses={"shown-clear": {"dp": False}})
    walker.run(scene, "readback-no", expect=3, readbacks={"state-announced": {"actor": "BLANKS"}})


class _LunchAfterFirstCheck:
    """A clock that jumps two hours once, after the first check: the crew went to lunch."""

    def __init__(self) -> None:
        self.jumped = False

    def __call__(self) -> datetime:
        now = datetime.now(UTC)
        if self.jumped:
            return now
        self.jumped = True
        return now + timedelta(hours=2)


def _roster_episode(home: Path) -> None:
    """What the roster writes outside any run: a lock-out, an unlock, a new PIN, a role added, a
    removal, a producer's new PIN with the recovery code."""
    name = EXTRA_CREW["stunt_coordinator"][0]
    with Ledger.open(home / "log.db") as ledger:
        for _ in range(crew.LOCK_AFTER):
            with pytest.raises(crew.AuthError):
                crew.authenticate(ledger, name, "0000", role=None, purpose="test")
        crew.unlock(ledger, name, PRODUCER)
        old = EXTRA_CREW["stunt_coordinator"][1]
        crew.set_pin(ledger, name, "2580", old_pin=old, approver=PRODUCER)
        crew.add_role(ledger, name, "safety_rep", PRODUCER)
        crew.remove(ledger, name, PRODUCER)
        code = recovery.reissue(ledger, PRODUCER)
        recovery.recover(ledger, PRODUCER[0], code, "97531")


def _armory_episode(home: Path) -> None:
    """What the armory writes: permits and cards, inventory, storage unlocked and locked, a
    firearm out, handed to the actor and back, rounds issued, fired, returned and spoiled, a
    dummy lot checked."""
    with Ledger.open(home / "log.db") as ledger:
        crew.qualify(ledger, CREW["armorer"][0], "armorer-permit", "EFP-1", "2099-12-31", PRODUCER)
        crew.qualify(ledger, CREW["actor"][0], "safety-course", "SC-2", "2099-12-31", PRODUCER)
        crew.set_lang(ledger, CREW["actor"][0], "es", PRODUCER)  # the actor reads Spanish
    pin = f"{CREW['armorer'][1]}\n"
    steps: list[tuple[list[str], str]] = [
        ("add firearm --serial 4471 --make Colt --model SAA --kind real".split(), pin),
        ("add rounds --lot B-7 --type blank --load half --count 50".split(), pin),
        ("add rounds --lot D-1 --type dummy --count 30".split(), pin),
        (["unlock"], pin),
        (["issue", "4471"], pin),
        (["hand-over", "4471", "--to", CREW["actor"][0]], f"{pin}{CREW['actor'][1]}\n"),
        (["take-back", "4471"], pin),
        (["return", "4471"], pin),
        ("check-dummies --lot D-1 --method rattle".split(), pin),
        ("rounds issue --lot B-7 --count 12".split(), pin),
        ("rounds fire --lot B-7 --count 6".split(), pin),
        ("rounds spoil --lot B-7 --count 1".split(), pin),
        ("rounds return --lot B-7 --count 5".split(), pin),
        (["lock"], pin),
    ]
    for args, pins in steps:
        result = CliRunner().invoke(
            app, ["armory", *args, "--home", str(home), "--pin-stdin"], input=pins
        )
        assert result.exit_code == 0, result.output


def _incident_episode(home: Path, tmp: Path) -> None:
    """The register: a "no" to "no unplanned discharge, nobody hurt?" records an incident, closed
    by a producer and the armorer; then a safety advisor joins, assesses a scene and halts."""
    walker = _Walker(home, tmp)
    scene = load_catalog(None).get("firearm-scene")
    walker.run(scene, "discharge", expect=3, answers={"no-unplanned-discharge": False})
    with Ledger.open(home / "log.db") as ledger:
        (incident,) = ledger.latest(kinds=[events.INCIDENT_REPORTED])
    people = [("producer", PRODUCER), ("armorer", CREW["armorer"])]
    who = [f"--by={role}={name}" for role, (name, _) in people]
    pins = "".join(f"{pin}\n" for _, (_, pin) in people)
    release = ["incident", "release", incident.data["id"], "--note", "examined", *who]
    walker.invoke([*release, "--pin-stdin"], expect=0, input=pins)
    close = ["incident", "close", incident.data["id"], "--action", "examined", *who]
    walker.invoke([*close, "--pin-stdin"], expect=0, input=pins)
    with Ledger.open(home / "log.db") as ledger:
        crew.add_member(ledger, "Val Advisor", ["safety_advisor"], "3141", PRODUCER)
    assess = ["advisor", "assess", "--scene", "12A", "--text", "20 ft", "--pin-stdin"]
    walker.invoke(assess, expect=0, input="3141\n")


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Event]]:
    """The log after walking every shipped protocol and a roster episode."""
    tmp = tmp_path_factory.mktemp("walked")
    home = tmp / "ws"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", CHEAP_SCRYPT_N)
        mp.setenv("NO_COLOR", "1")
        assert CliRunner().invoke(app, ["init", "--home", str(home)]).exit_code == 0
        add_crew(home / "log.db")
        with Ledger.open(home / "log.db") as ledger:
            for role, (name, pin) in EXTRA_CREW.items():
                crew.add_member(ledger, name, [role], pin, PRODUCER)
        _walk_every_shipped_protocol(home, tmp)
        _armory_episode(home)  # before the roster episode re-PINs the producer
        _incident_episode(home, tmp)
        _roster_episode(home)
        with Ledger.open(home / "log.db") as ledger:
            yield list(ledger.events())


def test_walking_the_shipped_protocols_writes_every_declared_kind_and_nothing_else(
    walked: list[Event],
) -> None:
    written = {e.kind for e in walked}
    assert written <= events.KINDS, written - events.KINDS
    assert set(events.RUN_KINDS) <= written, set(events.RUN_KINDS) - written
    assert events.KINDS - written == set(NOT_WALKED)


def test_every_event_written_reads_back_as_its_type_and_writes_the_same_again(
    walked: list[Event],
) -> None:
    for event in walked:
        assert events.parse(event).new() == NewEvent(
            event.kind, event.data, event.run, event.person
        ), event
