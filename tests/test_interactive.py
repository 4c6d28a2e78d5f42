"""The walk-through at a real keyboard: `safetycli` in a pseudo-terminal, driven by pexpect the way
a crew would type. Hidden PINs go through getpass on the terminal, exactly as on set.

One scene, start to finish: a wrong PIN at roll call is refused and asked again; witnesses
confirm; the actor reads back the wrong state, which stops work with a HOLD; the armorer and the
1st AD clear it; `resume` asks the failed check again; two takes; complete; the log verifies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pexpect
import pytest
import typer.main
from typer.testing import CliRunner

from safetycli.cli import app
from safetycli.conditions import RUN, parse_expect
from safetycli.ledger import Ledger
from safetycli.protocol import Item
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    FIRST_AD,
    PINS,
    make_workspace,
    passing_answer,
    protocol,
    safetycli_argv,
    subprocess_env,
)

pytestmark = pytest.mark.slow

DAY = "2026-11-23"
WRONG_PIN = "2468"

# The prompts of safetycli/cli/terminal.py, as they end on the screen.
NAME = r"(?P<role>[^\n]+): your name(?: \(on the roster: [^)\n]*\))?(?: \[[^\]\n]*\])?: $"
SIGN_IN_PIN = r"(?:^|\n)(?P<name>[^\n,]+), your PIN: $"
PIN = r"(?:^|\n)(?P<name>[^\n(]+) \((?P<role>[^)\n]+)\), PIN for this (?P<why>[a-z -]+): $"
CLEAR_PIN = r"(?:^|\n)(?P<name>[^\n(]+) \((?P<role>[^)\n]+)\), your PIN to clear the hold: $"
WITNESS = r"(?:^|\n)(?P<name>[^\n(]+) \((?P<role>[^)\n]+)\): seen and confirmed \[y/n\]: $"
READ_BACK = r"(?:^|\n)(?P<name>[^\n(]+) \((?P<role>[^)\n]+)\): what you heard: [a-z ]+: $"
ANSWER = r"(?:^|\n)(?P<name>[^\n(]+) \((?P<role>[^)\n]+)\): (?P<hint>yes or no|the number|number or name|your answer)(?: \(or na\))?: $"  # noqa: E501
ANOTHER_TAKE = r"1st AD: another take\? \(no wraps the scene\) \[y/n\]: $"
FACT = r"(?:^|\n)(?P<ask>[^\n]+\?) \[y/n\]: $"
CHECK = re.compile(r"check (\d+) of (\d+)")


@dataclass
class Crew:
    """Answers every prompt the way a careful crew would, and remembers what it saw.

    `script` maps a (prompt kind, item id) to the one answer to give instead, once."""

    child: pexpect.spawn
    items: list[Item]
    script: dict[tuple[str, str], str] = field(default_factory=dict)
    wrong_pins: list[str] = field(default_factory=list)  # names to give one wrong PIN first
    takes: list[str] = field(default_factory=list)  # answers to "another take?", then "n"
    typos: dict[str, str] = field(default_factory=dict)  # role as shown -> a name to mistype
    item: Item | None = None
    said: dict[str, str] = field(default_factory=dict)  # item id -> what its signer answered
    seen: list[tuple[str, str | None, dict[str, str]]] = field(default_factory=list)
    transcript: str = ""

    def scripted(self, kind: str, default: str) -> str:
        key = (kind, self.item.id if self.item else "")
        return self.script.pop(key, default)

    def passing(self, item: Item) -> str:
        """A passing answer; a count that must add up to earlier counts gets their sum."""
        terms = parse_expect(item.expect) if isinstance(item.expect, str) else None
        if terms and all(t.scope == RUN and t.item in self.said for t in terms):
            return str(sum(t.sign * int(self.said[t.item]) for t in terms))
        return str(passing_answer(item))

    def run(self, until: str) -> str:
        """Answer prompts until `until` (a regex) shows; returns the text up to it."""
        patterns = {
            "name": NAME,
            "sign-in-pin": SIGN_IN_PIN,
            "pin": PIN,
            "clear-pin": CLEAR_PIN,
            "witness": WITNESS,
            "read-back": READ_BACK,
            "answer": ANSWER,
            "another-take": ANOTHER_TAKE,
            "fact": FACT,
            "until": until,
        }
        kinds = list(patterns)
        child = self.child
        while True:
            index = child.expect([patterns[k] for k in kinds])
            kind = kinds[index]
            before = child.before or ""
            self.transcript += before + (child.after if isinstance(child.after, str) else "")
            checks = CHECK.findall(before)
            if checks:
                self.item = self.items[int(checks[-1][0]) - 1]
            groups = {k: v for k, v in child.match.groupdict().items() if v is not None}
            self.seen.append((kind, self.item.id if self.item else None, groups))
            if kind == "until":
                return before
            self.respond(kind, groups)

    def respond(self, kind: str, groups: dict[str, str]) -> None:
        child = self.child
        if kind == "name":
            # The only person on the roster for the role is offered: Enter takes it.
            child.sendline(self.typos.pop(groups["role"], ""))
        elif kind in ("sign-in-pin", "pin", "clear-pin"):
            name = groups["name"].strip()
            pin = PINS[name]
            if name in self.wrong_pins:
                self.wrong_pins.remove(name)
                pin = WRONG_PIN
            child.waitnoecho(timeout=5)  # never type a PIN into an echoing terminal
            child.sendline(pin)
        elif kind == "witness":
            child.sendline(self.scripted("witness", "y"))
        elif kind == "read-back":
            assert self.item is not None
            child.sendline(self.scripted("read-back", self.said[self.item.id]))
        elif kind == "answer":
            assert self.item is not None
            answer = self.scripted("answer", self.passing(self.item))
            self.said[self.item.id] = answer
            child.sendline(answer)
        elif kind == "another-take":
            child.sendline(self.takes.pop(0) if self.takes else "n")
        elif kind == "fact":
            child.sendline("n")


def spawn(home: Path, *args: str) -> pexpect.spawn:
    argv = safetycli_argv()
    child = pexpect.spawn(
        argv[0],
        [*argv[1:], *args],
        env=subprocess_env(home),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 120),
    )
    # pexpect waits 50 ms before every send in case echo is still on; PINs wait for echo to be
    # off instead (Crew.respond), so the other answers need no delay.
    child.delaybeforesend = None
    return child


def finished(child: pexpect.spawn) -> tuple[str, int]:
    child.expect(pexpect.EOF)
    rest = child.before or ""
    child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return rest, child.exitstatus


def show(home: Path, run_id: str) -> dict[str, Any]:
    import json

    result = CliRunner().invoke(
        app, ["log", "show", run_id, "--format", "json", "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def verify(home: Path) -> None:
    """The chain is intact: `safetycli verify` exits 0 when the command exists, and the ledger's
    own check agrees either way."""
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    if "verify" in commands:
        result = CliRunner().invoke(app, ["verify", "--home", str(home)])
        assert result.exit_code == 0, result.output
    with Ledger.open(home / "log.db") as ledger:
        outcome = ledger.verify()
    assert outcome.ok, outcome


def test_a_whole_firearm_scene_at_the_keyboard(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    proto = protocol("firearm-scene")
    items = [item for _, item in proto.items()]

    # --- the run: roll call with one wrong PIN, then checks until the read-back goes wrong ---
    child = spawn(home, "run", "firearm-scene", "--scene", "14", "--day", DAY, "--set", "blanks=no")
    crew = Crew(
        child,
        items,
        script={("answer", "state-announced"): "EMPTY", ("read-back", "state-announced"): "BLANKS"},
        wrong_pins=[FIRST_AD[0]],
        typos={"armorer": "Sam Ortis"},
    )
    crew.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    tail, status = finished(child)
    assert status == 3
    text = crew.transcript + tail
    run_id = re.search(r"Run (r-[0-9a-f]{6}) started\.", text).group(1)  # type: ignore[union-attr]

    # The dummies fact was asked (blanks came from --set) and answered.
    facts = [g["ask"] for kind, _, g in crew.seen if kind == "fact"]
    assert facts == ["Will any firearm hold dummy rounds in this scene?"]
    # Roll call: the wrong PIN is refused with the tries left, and the name asked again.
    assert f"Refused: wrong PIN for {FIRST_AD[0]} (4 tries left before lock-out)" in text
    roll = [(kind, g.get("role", g.get("name"))) for kind, _, g in crew.seen[:12]]
    assert roll == [
        ("fact", None),
        ("name", "1st AD"),
        ("sign-in-pin", FIRST_AD[0]),  # wrong
        ("name", "1st AD"),
        ("sign-in-pin", FIRST_AD[0]),
        ("name", "armorer"),  # a typo in the name: refused before any PIN is asked
        ("name", "armorer"),
        ("sign-in-pin", ARMORER[0]),
        ("name", "actor"),
        ("sign-in-pin", ACTOR[0]),
        ("name", "DP"),
        ("sign-in-pin", "Jo Park"),
    ]
    assert "Refused: nobody called Sam Ortis on the roster" in text
    assert f"Signed in: {FIRST_AD[0]} as 1st AD" in text
    # A witness confirms in person, with their own PIN.
    witness = [(item, g["name"]) for kind, item, g in crew.seen if kind == "witness"]
    assert witness[0] == ("armorer-present", FIRST_AD[0])
    assert ("shown-clear", ACTOR[0]) in witness
    pins = [(g["name"], g["why"]) for kind, _, g in crew.seen if kind == "pin"]
    assert (FIRST_AD[0], "witness") in pins
    # The actor's read-back did not match: that stops work at once, with no PIN to wait for.
    assert (ACTOR[0], "read-back") not in pins
    # The mismatch stops work, on screen, with what to do next.
    assert "REFUSED: read-back mismatch: actor said BLANKS, not EMPTY" in text
    assert f"safetycli clear {run_id}" in text and f"safetycli resume {run_id}" in text
    # Hidden means hidden: no PIN was ever shown on the screen.
    for pin in (*PINS.values(), WRONG_PIN):
        assert pin not in text

    held = show(home, run_id)
    assert held["status"] == "held"
    assert held["holds"][0]["item"] == "state-announced"

    # --- the armorer and the 1st AD clear the hold, each with their own PIN ---
    child = spawn(home, "clear", run_id, "--note", "actor re-briefed; firearm shown clear again")
    clearing = Crew(child, items)
    clearing.run(rf"Hold cleared on run {run_id}\.")
    _, status = finished(child)
    assert status == 0
    assert [(g["name"], g["role"]) for k, _, g in clearing.seen if k == "clear-pin"] == [
        (ARMORER[0], "armorer"),
        (FIRST_AD[0], "1st AD"),
    ]

    # --- resume: everyone signs in again, then the whole "before each take" phase of take 1
    # is checked again (the firearm was handled while the problem was put right); two takes ---
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, takes=["y"], said=dict(crew.said))
    again.run(rf"COMPLETE: every check of run {run_id} is done and signed\.")
    _, status = finished(child)
    assert status == 0
    assert again.seen[0][0] == "name"  # a new sitting starts with the roll call
    # Then where the firearms were while work stopped, and only then the take's checks again.
    answered = [item for kind, item, _ in again.seen if kind == "answer"]
    assert answered[:3] == ["custody-kept", "live-sweep-again", "blocking-unchanged"]
    shown = [s for s in show(home, run_id)["signoffs"] if s["item"] == "shown-clear"]
    assert [(s["take"], s["outcome"]) for s in shown] == [
        (1, "confirmed"),
        (1, "confirmed"),
        (2, "confirmed"),
    ]
    takes = [kind for kind, _, _ in again.seen if kind == "another-take"]
    assert takes == ["another-take", "another-take"]

    done = show(home, run_id)
    assert done["status"] == "complete"
    announced = [s for s in done["signoffs"] if s["item"] == "state-announced"]
    assert [(s["take"], s["answer"], s["outcome"]) for s in announced] == [
        (1, "EMPTY", "refused"),
        (1, "EMPTY", "confirmed"),
        (2, "EMPTY", "confirmed"),
    ]
    assert [r["answer"] for r in announced[0]["readbacks"]] == ["BLANKS"]
    (hold,) = done["holds"]
    assert hold["note"] == "actor re-briefed; firearm shown clear again"
    assert [c["role"] for c in hold["cleared_by"]] == ["armorer", "first_ad"]
    with Ledger.open(home / "log.db") as ledger:
        failed = [
            {k: v for k, v in e.data.items() if k != "attempt"}
            for e in ledger.events(run=run_id, kinds=["auth.failed"])
        ]
    assert failed == [
        {"name": FIRST_AD[0], "role": "first_ad", "purpose": "sign-in", "reason": "wrong-pin"}
    ]
    verify(home)


def test_ctrl_c_pauses_a_run_and_resume_continues_at_the_same_question(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    proto = protocol("firearm-scene")
    all_items = [item for _, item in proto.items()]
    args = ("--scene", "3", "--day", DAY, "--set", "blanks=no", "--set", "dummies=no")
    child = spawn(home, "run", "firearm-scene", *args)
    crew = Crew(child, all_items)
    crew.run(r"How many firearms are out for this scene\?")
    child.expect(ANSWER)
    child.sendcontrol("c")
    tail, status = finished(child)
    assert status == 4
    run_id = re.search(r"Run (r-[0-9a-f]{6}) started\.", crew.transcript).group(1)  # type: ignore[union-attr]
    assert f"Paused: run {run_id} is left open and nothing confirmed is lost" in tail
    assert f"Continue with: safetycli resume {run_id}" in tail
    before = show(home, run_id)
    assert [s["item"] for s in before["signoffs"]] == ["armorer-present", "no-live-ammunition"]

    child = spawn(home, "resume", run_id)
    again = Crew(child, all_items)
    again.run(rf"COMPLETE: every check of run {run_id} is done and signed\.")
    _, status = finished(child)
    assert status == 0
    answered = [item for kind, item, _ in again.seen if kind == "answer"]
    # After the pause: where the firearms were meanwhile, then the question it stopped at.
    assert answered[:3] == ["custody-kept", "live-sweep-again", "firearms-issued"]
    after = show(home, run_id)
    assert after["signoffs"][:2] == before["signoffs"]
    verify(home)


# --- issue 9: a manual hold mid-take, and a resume after a pause ---------------------------------

SHOWN_CLEAR = r"Armorer opened each firearm and showed every chamber"
NO_FACTS = ("--set", "blanks=no", "--set", "dummies=no")


def hold_from_elsewhere(home: Path, run_id: str, reason: str) -> None:
    """The actor holds the run from their own laptop, with their PIN, while the walk-through
    waits at a question."""
    result = CliRunner().invoke(
        app,
        ["hold", run_id, "--reason", reason, "--by", ACTOR[0], "--pin-stdin", "--home", str(home)],
        input=f"{ACTOR[1]}\n",
    )
    assert result.exit_code == 0, result.output


def clear_with_pins(home: Path, run_id: str, note: str) -> None:
    """The armorer and the 1st AD clear the hold, each with their own PIN (scripted)."""
    result = CliRunner().invoke(
        app,
        ["clear", run_id, "--note", note, "--pin-stdin", "--home", str(home)],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    assert result.exit_code == 0, result.output
    assert f"Hold cleared on run {run_id}." in result.stdout


def flat(text: str) -> str:
    """The screen's words with line breaks (an 80-column terminal wraps) as single spaces."""
    return " ".join(text.split())


def answered(crew: Crew) -> list[str | None]:
    """The items the crew was asked to answer (not witness or read back), in order."""
    return [item for kind, item, _ in crew.seen if kind == "answer"]


def test_a_manual_hold_mid_take_then_a_resume(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]

    # --- the walk-through waits at `shown-clear` of take 1 when the actor holds the run ---
    child = spawn(home, "run", "firearm-scene", "--scene", "7", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items)
    header = crew.run(SHOWN_CLEAR)
    assert "take 1" in header
    child.expect(ANSWER)
    assert crew.item is not None and crew.item.id == "shown-clear"
    assert child.match.group("role") == "armorer"
    run_id = re.search(r"Run (r-[0-9a-f]{6}) started\.", crew.transcript).group(1)  # type: ignore[union-attr]
    hold_from_elsewhere(home, run_id, "actor asked for a re-check")

    # The armorer, not knowing, says yes: it is not recorded and the HOLD shows.
    child.sendline("y")
    crew.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    tail, status = finished(child)
    assert status == 3
    text = crew.transcript + tail
    assert "Not recorded: the run moved on while that answer was given (the run is held now)" in (
        flat(text)
    )
    assert "What failed: actor asked for a re-check" in text
    assert f"Raised by: {ACTOR[0]} (actor)" in text
    assert f"safetycli clear {run_id}" in text and f"safetycli resume {run_id}" in text
    held = show(home, run_id)
    assert held["status"] == "held"
    assert [s["item"] for s in held["signoffs"] if s["take"] == 1] == ["blocking-unchanged"]

    # --- cleared by the armorer and the 1st AD; resume at the keyboard ---
    clear_with_pins(home, run_id, "firearm shown clear to the actor again")
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, said=dict(crew.said))
    again.run(rf"COMPLETE: every check of run {run_id} is done and signed\.")
    _, status = finished(child)
    assert status == 0
    # The roll call first; then where the firearms were while work stopped; then take 1's
    # before-each-take phase from its first check again.
    assert [kind for kind, _, _ in again.seen[:8]] == ["name", "sign-in-pin"] * 4
    assert answered(again)[:4] == [
        "custody-kept",
        "live-sweep-again",
        "blocking-unchanged",
        "shown-clear",
    ]
    assert "bore-checked" in answered(again)

    done = show(home, run_id)
    assert done["status"] == "complete"
    (hold,) = done["holds"]
    assert hold["reason"] == "actor asked for a re-check"
    assert hold["raised_by"] == {"name": ACTOR[0], "role": "actor"}
    assert hold["note"] == "firearm shown clear to the actor again"
    assert [c["role"] for c in hold["cleared_by"]] == ["armorer", "first_ad"]
    take_1 = [(s["item"], s["outcome"]) for s in done["signoffs"] if s["take"] == 1]
    # shown-clear for take 1 is confirmed once, and only after the hold.
    assert take_1.count(("shown-clear", "confirmed")) == 1
    assert [item for item, _ in take_1].count("shown-clear") == 1
    assert [item for item, _ in take_1].count("blocking-unchanged") == 2
    signed = [(s["phase"], s["take"], s["item"]) for s in done["signoffs"]]
    assert signed.index(("before-each-take", 1, "shown-clear")) > signed.index(
        ("after-break", 1, "custody-kept")
    )
    assert all(s["at"] > hold["raised_at"] for s in done["signoffs"] if s["item"] == "shown-clear")
    verify(home)


def test_a_resume_after_a_pause_asks_where_the_rounds_were_and_a_no_holds(
    tmp_path: Path,
) -> None:
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]
    child = spawn(home, "run", "firearm-scene", "--scene", "8", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items)
    crew.run(SHOWN_CLEAR)
    child.expect(ANSWER)
    child.sendcontrol("c")  # the crew breaks for lunch at the question
    tail, status = finished(child)
    assert status == 4
    run_id = re.search(r"Run (r-[0-9a-f]{6}) started\.", crew.transcript).group(1)  # type: ignore[union-attr]
    assert f"Continue with: safetycli resume {run_id}" in tail

    # After lunch: the roll call, then the after-break checks before the question it stopped
    # at. During the break the ammunition was left on a cart: the armorer says no.
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, script={("answer", "custody-kept"): "n"})
    again.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    tail, status = finished(child)
    assert status == 3
    assert again.seen[0][0] == "name"
    assert answered(again) == ["custody-kept"]
    text = flat(again.transcript + tail)
    custody = protocol("firearm-scene").item("custody-kept")
    assert flat(custody.ask) in text  # the question, on screen before the answer
    # The HOLD panel names the check that failed, and the answer.
    panel = flat(text[text.index("STOP WORK. Nothing proceeds") :].replace("\u2502", " "))
    assert f"What failed: {flat(custody.ask)} -- answered no" in panel, panel
    assert f"Raised by: {ARMORER[0]} (armorer)" in panel
    # A "no" stops work at once: no PIN is waited for.
    assert not [g for kind, item, g in again.seen if kind == "pin" and item == "custody-kept"]

    held = show(home, run_id)
    assert held["status"] == "held"
    (hold,) = held["holds"]
    assert hold["item"] == "custody-kept"
    (custody_no,) = [s for s in held["signoffs"] if s["item"] == "custody-kept"]
    assert (custody_no["phase"], custody_no["answer"], custody_no["outcome"]) == (
        "after-break",
        False,
        "refused",
    )
    # Nothing of take 1 past the question it paused at was signed.
    take_1 = [s for s in held["signoffs"] if s["take"] == 1 and s["phase"] != "after-break"]
    assert [s["item"] for s in take_1] == ["blocking-unchanged"]
    verify(home)


def test_a_manual_hold_mid_take_after_a_resume_still_sends_the_take_back(tmp_path: Path) -> None:
    """The after-break checks are no place in the take: a hold raised at `shown-clear` after
    them still sends take 1's before-each-take phase back (fixed in a6990a2)."""
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]
    child = spawn(home, "run", "firearm-scene", "--scene", "9", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items)
    crew.run(SHOWN_CLEAR)
    child.expect(ANSWER)
    child.sendcontrol("c")
    _, status = finished(child)
    assert status == 4
    run_id = re.search(r"Run (r-[0-9a-f]{6}) started\.", crew.transcript).group(1)  # type: ignore[union-attr]

    # Resumed: the after-break checks pass, then at `shown-clear` of take 1 the actor holds.
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, said=dict(crew.said))
    again.run(SHOWN_CLEAR)
    child.expect(ANSWER)
    assert answered(again) == ["custody-kept", "live-sweep-again"]
    hold_from_elsewhere(home, run_id, "actor asked for a re-check")
    child.sendline("y")
    again.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    _, status = finished(child)
    assert status == 3
    (hold,) = show(home, run_id)["holds"]
    assert (hold["phase"], hold["take"]) == ("before-each-take", 1)

    clear_with_pins(home, run_id, "firearm shown clear to the actor again")
    child = spawn(home, "resume", run_id)
    last = Crew(child, items, said=dict(crew.said))
    last.run(rf"COMPLETE: every check of run {run_id} is done and signed\.")
    _, status = finished(child)
    assert status == 0
    assert answered(last)[:3] == ["custody-kept", "live-sweep-again", "blocking-unchanged"]
