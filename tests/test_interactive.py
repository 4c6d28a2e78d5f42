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
    DP,
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
WHO = r"(?:^|\n)(?P<name>[^\n(]+) \((?P<role>[^)\n]+)\)"
NAME = r"(?P<role>[^\n]+): your name(?: \(on the roster: [^)\n]*\))?(?: \[[^\]\n]*\])?: $"
SIGN_IN_PIN = r"(?:^|\n)(?P<name>[^\n,]+), your PIN: $"
PIN = WHO + r", your PIN to sign these: $"
CLEAR_PIN = WHO + r", your PIN to clear the hold: $"
KEYS = WHO + (
    r": checks? (?P<numbers>[\d, ]+): type \d+ letters?, y or n(?: for each)?, then Enter: $"
)
READ_BACK = WHO + r", (?P<n>\d+): say back what you heard: [a-z ]+: $"
ANSWER = (
    WHO + r", (?P<n>\d+): (?P<hint>yes or no|the number|number or name|your answer)"
    r"(?: \(or na\))?: $"
)
ANOTHER_TAKE = r"1st AD: another take\? \(no wraps the scene\) \[y/n\]: $"
FACT = r"(?:^|\n)(?P<ask>[^\n]+\?) \[y/n\]: $"
HOLD_REASON = r"HOLD: what is wrong\? \(Enter alone goes back\): $"
# A batch lists each check with its number and, in small print, its id.
LISTED = re.compile(r"^  (\d+)\. .*?\[([a-z0-9-]+(?:@[^\]\s]+)?)\]", re.M | re.S)
CHECK = re.compile(r"check (\d+) of (\d+)")


@dataclass
class Crew:
    """Answers every prompt the way a careful crew would, and remembers what it saw.

    `script` maps a (prompt kind, item id) to the one answer to give instead, once; a check on
    a batch's one-key line is `("answer", id)` for the checks a person does and
    `("witness", id)` for those they witness. `seen` has one entry per prompt, and one per check
    answered on a one-key line (kind "answer" or "witness")."""

    child: pexpect.spawn
    items: list[Item]
    script: dict[tuple[str, str], str] = field(default_factory=dict)
    wrong_pins: list[str] = field(default_factory=list)  # names to give one wrong PIN first
    takes: list[str] = field(default_factory=list)  # answers to "another take?", then "n"
    typos: dict[str, str] = field(default_factory=dict)  # role as shown -> a name to mistype
    hold_at: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, item) -> reason
    listed: dict[int, Item] = field(default_factory=dict)  # the batch on screen
    said: dict[str, str] = field(default_factory=dict)  # item id -> what its signer answered
    seen: list[tuple[str, str | None, dict[str, str]]] = field(default_factory=list)
    transcript: str = ""

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    def passing(self, item: Item) -> str:
        """A passing answer; a count that must add up to earlier counts gets their sum."""
        terms = parse_expect(item.expect) if isinstance(item.expect, str) else None
        if terms and all(t.scope == RUN and t.item in self.said for t in terms):
            return str(sum(t.sign * int(self.said[t.item]) for t in terms))
        return str(passing_answer(item))

    def run(self, until: str) -> str:
        """Answer prompts until `until` (a regex) shows; returns the text up to it."""
        patterns = {
            "until": until,  # first: it wins over a prompt it also matches
            "name": NAME,
            "sign-in-pin": SIGN_IN_PIN,
            "pin": PIN,
            "clear-pin": CLEAR_PIN,
            "keys": KEYS,
            "read-back": READ_BACK,
            "answer": ANSWER,
            "another-take": ANOTHER_TAKE,
            "fact": FACT,
        }
        kinds = list(patterns)
        child = self.child
        while True:
            index = child.expect([patterns[k] for k in kinds])
            kind = kinds[index]
            before = child.before or ""
            self.transcript += before + (child.after if isinstance(child.after, str) else "")
            listed = LISTED.findall(before)
            if listed:
                self.listed = {int(n): self.item(item_id) for n, item_id in listed}
            groups = {k: v for k, v in child.match.groupdict().items() if v is not None}
            if kind == "until":
                self.seen.append((kind, None, groups))
                return before
            self.respond(kind, groups)

    def _hold(self, kind: str, item: Item | None) -> bool:
        """Press the hold key here if the script says so."""
        reason = self.hold_at.pop((kind, item.id if item else ""), None)
        if reason is None:
            return False
        self.child.sendline("h")
        self.child.expect(HOLD_REASON)
        self.child.sendline(reason)
        return True

    def respond(self, kind: str, groups: dict[str, str]) -> None:
        child = self.child
        item = self.listed.get(int(groups["n"])) if "n" in groups else None
        self.seen.append((kind, item.id if item else None, groups))
        if self._hold(kind, item):
            return
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
        elif kind == "keys":
            keys = ""
            for n in (int(x) for x in groups["numbers"].split(",")):
                checked = self.listed[n]
                meaning = "answer" if checked.by == ROLES[groups["role"]] else "witness"
                key = self.script.pop((meaning, checked.id), "y")
                self.seen.append((meaning, checked.id, groups))
                keys += key
                if key == "n":
                    break
            child.sendline(keys)
        elif kind == "read-back":
            assert item is not None
            child.sendline(self.script.pop(("read-back", item.id), self.said[item.id]))
        elif kind == "answer":
            assert item is not None
            answer = self.script.pop(("answer", item.id), self.passing(item))
            self.said[item.id] = answer
            child.sendline(answer)
        elif kind == "another-take":
            child.sendline(self.takes.pop(0) if self.takes else "n")
        elif kind == "fact":
            child.sendline("n")


ROLES = {"armorer": "armorer", "1st AD": "first_ad", "actor": "actor", "DP": "dp"}


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


def signed_off(home: Path, run_id: str) -> list[dict[str, Any]]:
    """The run's sign-off events: one per person per phase (and take), each listing its checks."""
    with Ledger.open(home / "log.db") as ledger:
        return [e.data for e in ledger.events(run=run_id, kinds=["item.signed-off"])]


def sign_ins(crew: Crew) -> list[str]:
    """The roles asked for a name, in order (a refused name is asked again)."""
    return [g["role"] for kind, _, g in crew.seen if kind == "name"]


def run_id_of(text: str) -> str:
    return re.search(r"Run (r-[0-9a-f]{6}) started\.", text).group(1)  # type: ignore[union-attr]


def test_a_whole_firearm_scene_at_the_keyboard(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    proto = protocol("firearm-scene")
    items = [item for _, item in proto.items()]

    # --- the run: each person signs in when their first check comes up (one wrong PIN, one
    # mistyped name), signs their checks of a phase at once, until the read-back goes wrong ---
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
    run_id = run_id_of(text)

    # The dummies fact was asked (blanks came from --set) and answered.
    facts = [g["ask"] for kind, _, g in crew.seen if kind == "fact"]
    assert facts == ["Will any firearm hold dummy rounds in this scene?"]
    # Nobody signs in at the start: the armorer when the armorer's checks come up, then the
    # 1st AD to witness them, the actor at the meeting, the DP at the first take.
    assert sign_ins(crew) == ["armorer", "armorer", "1st AD", "1st AD", "actor", "DP"]
    assert "Refused: nobody called Sam Ortis on the roster" in text
    assert f"Refused: wrong PIN for {FIRST_AD[0]} (4 tries left before lock-out)" in text
    assert text.index("DP: your name") > text.index("Before each take")
    assert f"Signed in: {FIRST_AD[0]} as 1st AD" in text
    # Each person answers their checks of a phase with one key each and signs them once with
    # their PIN; the batch right after a sign-in is signed by that PIN.
    pins = [(g["name"].strip(), item) for kind, item, g in crew.seen if kind == "pin"]
    assert pins == [
        (FIRST_AD[0], None),
        (ARMORER[0], None),
        (ARMORER[0], None),
        (FIRST_AD[0], None),
    ]
    witnessed = [item for kind, item, _ in crew.seen if kind == "witness"]
    assert witnessed[:2] == ["armorer-present", "no-live-ammunition"]
    assert "you witness it (done by the armorer)" in text
    # The actor's read-back did not match: that stops work at once, with no PIN to wait for.
    assert "REFUSED: read-back mismatch: actor said BLANKS, not EMPTY" in text
    assert f"safetycli clear {run_id}" in text and f"safetycli resume {run_id}" in text
    # Progress counts the whole run, and the checks are named in their own words.
    # (8 checks settled before take 1; 22 in a one-take run without blanks or dummies.)
    assert "take 1 · check 9 of 22" in flat(text)
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
    assert [(g["name"].strip(), g["role"]) for k, _, g in clearing.seen if k == "clear-pin"] == [
        (ARMORER[0], "armorer"),
        (FIRST_AD[0], "1st AD"),
    ]

    # --- resume: where the firearms were while work stopped, then the whole "before each
    # take" phase of take 1 again (the firearm was handled while the problem was put right);
    # two takes ---
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, takes=["y"], said=dict(crew.said))
    again.run(rf"COMPLETE: every check of run {run_id} is done and signed\.")
    _, status = finished(child)
    assert status == 0
    assert again.seen[0][0] == "name" and again.seen[0][2]["role"] == "armorer"
    answered = [item for kind, item, _ in again.seen if kind == "answer"]
    assert answered[:3] == ["custody-kept", "live-sweep-again", "shown-clear"]
    takes = [kind for kind, _, _ in again.seen if kind == "another-take"]
    assert takes == ["another-take", "another-take"]

    done = show(home, run_id)
    assert done["status"] == "complete"
    shown = [s for s in done["signoffs"] if s["item"] == "shown-clear"]
    # Take 1's first showing was never witnessed by the actor (the read-back stopped work
    # first): it stays in the record, unfinished, and was shown again after the hold.
    assert [(s["take"], s["outcome"]) for s in shown] == [
        (1, None),
        (1, "confirmed"),
        (2, "confirmed"),
    ]
    assert [(w["name"], w["role"]) for w in shown[-1]["witnesses"]] == [
        (FIRST_AD[0], "first_ad"),
        (ACTOR[0], "actor"),
        (DP[0], "dp"),
    ]
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

    # The log: one sign-off per person per phase of each take, each naming every check it
    # covers and what the signature means.
    events = signed_off(home, run_id)

    def roles(phase: str, take: int) -> list[str]:
        return [e["role"] for e in events if (e["phase"], e["take"]) == (phase, take)]

    # At cut of take 1, one sitting: each person signs take 1's checks after it and take 2's
    # before it together, with one PIN.
    assert roles("after-each-take", 1) == ["armorer", "first_ad", "actor"]
    assert roles("before-each-take", 2) == ["armorer", "first_ad", "actor", "dp"]
    assert roles("after-each-take", 2) == ["armorer", "first_ad", "actor"]
    actor = next(e for e in events if e["role"] == "actor" and e["take"] == 2)
    assert actor["name"] == ACTOR[0] and actor["pin"] == "sign-off"
    assert [(i["item"], i["meaning"]) for i in actor["items"]] == [
        ("shown-clear", "witnessed"),
        ("state-announced", "read-back"),
        ("muzzle-line-clear", "witnessed"),
        ("handed-over", "witnessed"),
    ]
    with Ledger.open(home / "log.db") as ledger:
        failed = [
            {k: v for k, v in e.data.items() if k != "attempt"}
            for e in ledger.events(run=run_id, kinds=["auth.failed"])
        ]
    assert failed == [
        {"name": FIRST_AD[0], "role": "first_ad", "purpose": "sign-in", "reason": "wrong-pin"}
    ]
    verify(home)


def test_ctrl_c_pauses_a_run_and_resume_asks_the_unsigned_batch_again(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    all_items = [item for _, item in protocol("firearm-scene").items()]
    args = ("--scene", "3", "--day", DAY, "--set", "blanks=no", "--set", "dummies=no")
    child = spawn(home, "run", "firearm-scene", *args)
    crew = Crew(child, all_items)
    # The armorer has typed yes twice, then stops at the count.
    crew.run(r"\nSam Ortiz \(armorer\), 3: the number: $")  # from the line start, as ANSWER
    child.sendcontrol("c")
    tail, status = finished(child)
    assert status == 4
    run_id = run_id_of(crew.transcript)
    assert f"Paused: run {run_id} is left open and nothing confirmed is lost" in tail
    assert f"Continue with: safetycli resume {run_id}" in tail
    # Nobody signed the batch: nothing of it is recorded.
    assert show(home, run_id)["signoffs"] == []

    child = spawn(home, "resume", run_id)
    again = Crew(child, all_items)
    again.run(rf"COMPLETE: every check of run {run_id} is done and signed\.")
    _, status = finished(child)
    assert status == 0
    # Nothing had been checked: no break to ask about; the armorer's batch again, whole.
    answered = [item for kind, item, _ in again.seen if kind == "answer"]
    assert answered[:4] == [
        "armorer-present",
        "no-live-ammunition",
        "firearms-issued",
        "firearms-listed",
    ]
    verify(home)


# --- issue 9: a manual hold mid-take, and a resume after a pause ---------------------------------

SHOWN_CLEAR = r"Armorer opened each firearm and showed every chamber"
NO_FACTS = ("--set", "blanks=no", "--set", "dummies=no")
TAKE_1 = r"Before each take \(every hand-over\) · take 1"


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
        ["clear", run_id, "--note", note, "--pin-stdin", "--home", str(home)]
        + ["--by", f"armorer={ARMORER[0]}", "--by", f"first_ad={FIRST_AD[0]}"],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    assert result.exit_code == 0, result.output
    assert f"Hold cleared on run {run_id}." in result.stdout


def flat(text: str) -> str:
    """The screen's words with line breaks (an 80-column terminal wraps) as single spaces."""
    return " ".join(text.split())


def answered(crew: Crew) -> list[str | None]:
    """The checks the crew did (not witnessed or read back), in order."""
    return [item for kind, item, _ in crew.seen if kind == "answer"]


def test_a_manual_hold_mid_take_then_a_resume(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]

    # --- the armorer is answering take 1's checks when the actor holds the run ---
    child = spawn(home, "run", "firearm-scene", "--scene", "7", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items)
    header = crew.run(TAKE_1)
    child.expect(KEYS)
    assert child.match.group("role") == "armorer"
    child.sendline("yy")  # shown clear, handed over
    child.expect(ANSWER)  # the state, typed hidden
    run_id = run_id_of(crew.transcript)
    hold_from_elsewhere(home, run_id, "actor asked for a re-check")

    # The armorer, not knowing, answers: it is not recorded and the HOLD shows, no PIN asked.
    child.sendline("1")
    crew.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    tail, status = finished(child)
    assert status == 3
    text = crew.transcript + tail
    assert "take 1" in header + text
    assert "Not recorded: the run moved on while that answer was given (the run is held now)" in (
        flat(text)
    )
    assert not [kind for kind, _, _ in crew.seen if kind == "pin"][2:]  # meeting's two only
    assert "What failed: actor asked for a re-check" in text
    assert f"Raised by: {ACTOR[0]} (actor)" in text
    held = show(home, run_id)
    assert held["status"] == "held"
    assert [s["item"] for s in held["signoffs"] if s["take"] == 1] == []

    # --- cleared by the armorer and the 1st AD; resume at the keyboard ---
    clear_with_pins(home, run_id, "firearm shown clear to the actor again")
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, said=dict(crew.said))
    again.run(rf"COMPLETE: every check of run {run_id} is done and signed\.")
    _, status = finished(child)
    assert status == 0
    # Only who is needed, when needed: the armorer first (where were the firearms?).
    assert sign_ins(again) == ["armorer", "1st AD", "DP", "actor"]
    assert answered(again)[:4] == [
        "custody-kept",
        "live-sweep-again",
        "shown-clear",
        "handed-over",
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
    assert take_1.count(("shown-clear", "confirmed")) == 1
    assert [item for item, _ in take_1].count("shown-clear") == 1
    assert all(s["at"] > hold["raised_at"] for s in done["signoffs"] if s["item"] == "shown-clear")
    verify(home)


def test_a_resume_after_a_pause_asks_where_the_rounds_were_and_a_no_holds(
    tmp_path: Path,
) -> None:
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]
    child = spawn(home, "run", "firearm-scene", "--scene", "8", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items)
    crew.run(TAKE_1)
    child.expect(KEYS)
    child.sendcontrol("c")  # the crew breaks for lunch at the question
    tail, status = finished(child)
    assert status == 4
    run_id = run_id_of(crew.transcript)
    assert f"Continue with: safetycli resume {run_id}" in tail

    # After lunch: the armorer signs in, and the after-break checks come before the take.
    # During the break the ammunition was left on a cart: the armorer says no.
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, script={("answer", "custody-kept"): "n"})
    again.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    tail, status = finished(child)
    assert status == 3
    assert sign_ins(again) == ["armorer"]
    assert answered(again) == ["custody-kept"]
    text = flat(again.transcript + tail)
    custody = protocol("firearm-scene").item("custody-kept")
    assert flat(custody.ask) in text  # the question, on screen before the answer
    # The HOLD panel names the check that failed, in its own words, and the answer.
    panel = flat(text[text.index("STOP WORK. Nothing proceeds") :].replace("\u2502", " "))
    assert f"What failed: {flat(custody.ask)} -- answered no" in panel, panel
    assert f"Raised by: {ARMORER[0]} (armorer)" in panel
    # A "no" stops work at once: no PIN is waited for.
    assert not [g for kind, _, g in again.seen if kind == "pin"]

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
    # Nothing of take 1 was signed.
    take_1 = [s for s in held["signoffs"] if s["take"] == 1 and s["phase"] != "after-break"]
    assert take_1 == []
    verify(home)


def test_a_manual_hold_mid_take_after_a_resume_still_sends_the_take_back(tmp_path: Path) -> None:
    """The after-break checks are no place in the take: a hold raised in take 1 after them
    still sends take 1's before-each-take phase back (fixed in a6990a2)."""
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]
    child = spawn(home, "run", "firearm-scene", "--scene", "9", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items)
    crew.run(TAKE_1)
    child.expect(KEYS)
    child.sendcontrol("c")
    _, status = finished(child)
    assert status == 4
    run_id = run_id_of(crew.transcript)

    # Resumed: the after-break checks pass, the armorer signs take 1's checks, and while the
    # 1st AD answers theirs the actor holds.
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, said=dict(crew.said))
    again.run(r"Dana Reyes \(1st AD\): 4 checks for you to sign")  # take 1's, not the break's
    child.expect(KEYS)
    assert answered(again)[:2] == ["custody-kept", "live-sweep-again"]
    hold_from_elsewhere(home, run_id, "actor asked for a re-check")
    child.sendline("yyyy")
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
    # Take 1's checks the armorer signed before the hold are asked again.
    assert answered(last)[:3] == ["custody-kept", "live-sweep-again", "shown-clear"]


# --- issue 11: the hold key, and a resume that asks only who is needed ---------------------------


def test_the_hold_key_stops_work_at_any_prompt(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]

    # At a count: `h`, a reason, done. Nothing of the batch is recorded; the hold is.
    child = spawn(home, "run", "firearm-scene", "--scene", "30", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items, hold_at={("answer", "firearms-issued"): "smoke near the cart"})
    crew.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    tail, status = finished(child)
    assert status == 3
    text = flat(crew.transcript + tail)
    run_id = run_id_of(text)
    assert "h at any prompt stops work" in text
    assert "What failed: smoke near the cart" in text
    assert f"Raised by: {ARMORER[0]} (armorer), without a PIN" in text
    detail = show(home, run_id)
    assert detail["status"] == "held" and detail["signoffs"] == []
    (hold,) = detail["holds"]
    assert (hold["reason"], hold["raised_by"]) == (
        "smoke near the cart",
        {"name": ARMORER[0], "role": "armorer"},
    )
    with Ledger.open(home / "log.db") as ledger:
        (raised,) = ledger.events(run=run_id, kinds=["hold.raised"])
    assert raised.data["authenticated"] is False  # stopping work never waits for a PIN

    # At a hidden PIN prompt too (a PIN is digits: `h` is never one).
    child = spawn(home, "run", "firearm-scene", "--scene", "31", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items, hold_at={("pin", ""): "actor feels unwell"})
    crew.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    tail, status = finished(child)
    assert status == 3
    text = flat(crew.transcript + tail)
    assert "What failed: actor feels unwell" in text
    # The 1st AD's meeting batch was at the PIN: it is not recorded.
    detail = show(home, run_id_of(text))
    assert not [s for s in detail["signoffs"] if s["phase"] == "safety-meeting"]


def test_a_resume_asks_only_the_people_still_needed(tmp_path: Path) -> None:
    """A hold at wrap (the firearms counted back do not add up): after it is cleared, the
    resume asks the armorer and the 1st AD to sign in, not the actor or the DP, whose checks
    are all done."""
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]
    child = spawn(home, "run", "firearm-scene", "--scene", "40", "--day", DAY, *NO_FACTS)
    crew = Crew(child, items, script={("answer", "firearms-counted-back"): "0"})
    crew.run(r"STOP WORK\. Nothing proceeds until the hold is cleared\.")
    tail, status = finished(child)
    assert status == 3
    run_id = run_id_of(crew.transcript)
    assert sign_ins(crew) == ["armorer", "1st AD", "actor", "DP"]
    assert "What failed: How many firearms are back with the armorer now?" in flat(tail)

    clear_with_pins(home, run_id, "second firearm found in the truck")
    child = spawn(home, "resume", run_id)
    again = Crew(child, items, said=dict(crew.said))
    again.run(rf"COMPLETE: every check of run {run_id} is done and signed\.")
    _, status = finished(child)
    assert status == 0
    assert sign_ins(again) == ["armorer", "1st AD"]
    verify(home)


def test_a_discharge_at_the_keyboard_records_an_incident_and_says_touch_nothing(
    tmp_path: Path,
) -> None:
    """Issue 13: after the take, "no" to "no unplanned discharge, nobody hurt?" stops the run at
    once, records the incident and tells the armorer to leave everything untouched: the
    unloading check is never asked."""
    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]
    child = spawn(home, "run", "firearm-scene", "--scene", "14", "--day", DAY, "--set", "blanks=no")
    crew = Crew(child, items, script={("answer", "no-unplanned-discharge"): "n"})
    crew.run(r"LEAVE EVERYTHING UNTOUCHED")
    tail, status = finished(child)
    assert status == 3
    text = flat(crew.transcript + tail)
    assert "INCIDENT RECORDED: unplanned discharge" in text
    assert "incident close" in text
    asked = [item for kind, item, _ in crew.seen if kind in ("answer", "witness")]
    assert "no-unplanned-discharge" in asked and "shown-clear-after" not in asked
    result = CliRunner().invoke(app, ["incident", "list", "--format", "json", "--home", str(home)])
    import json

    (incident,) = json.loads(result.stdout)
    assert incident["kind"] == "unplanned-discharge" and incident["scene"] == "14"
