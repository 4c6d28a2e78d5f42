"""A small production's log, built once per test module through the real commands: what the review
tests (log list/show, report, escaping, the browser test) read.

Runs are made with `safetycli run --answers`, holds with `hold` and `clear`, the way a crew would;
only what has no command yet (an abort, a lock-out) goes through the core functions, which append
through the ledger like everything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner, Result

from safetycli import crew, runner
from safetycli.cli import app
from safetycli.ledger import Ledger

# A workspace protocol, so these tests do not move when the shipped protocols are revised: it has
# what review must show (a witness, a read-back, a text answer, an item that may be marked not
# applicable, a per-take phase) and nothing else.
PROTOCOL = """\
id: test-scene
title: "Test scene with a firearm"
version: 3
summary: A short protocol for the review tests.
sources: ["safetycli tests"]
roles: [first_ad, armorer, actor]
context:
  blanks: {type: bool, ask: "Will blanks be fired?"}
hold:
  cleared_by: [armorer, first_ad]
phases:
  - id: prep
    title: Before the scene
    items:
      - id: meeting-held
        ask: "Safety meeting held where the scene is shot?"
        by: first_ad
        witness: [armorer]
        critical: true
        why: tests
      - id: weather-checked
        ask: "Wind and rain checked for the exterior?"
        by: first_ad
        allow_na: true
        why: tests
      - id: firearms-listed
        kind: text
        ask: "Each firearm: make, model, serial"
        by: armorer
        why: tests
  - id: each-take
    title: Before each take
    repeat: per_take
    items:
      - id: shown-clear
        ask: "Shown clear to the actor?"
        by: armorer
        witness: [actor]
        critical: true
        why: tests
      - id: state-announced
        kind: choice
        ask: "State of the firearm"
        options: [EMPTY, BLANKS, "NOT VERIFIED: stop"]
        fail_on: ["NOT VERIFIED: stop"]
        by: armorer
        readback: [actor]
        critical: true
        why: tests
"""

MEETING = """\
id: test-meeting
title: "Crew safety meeting"
version: 1
summary: One item.
sources: ["safetycli tests"]
roles: [first_ad]
hold:
  cleared_by: [first_ad]
phases:
  - id: meeting
    title: Meeting
    items:
      - id: held
        ask: "Meeting held?"
        by: first_ad
        critical: true
        why: tests
"""

PRODUCER = ("Pat Producer", ["producer"], "9137")
SAM = ("Sam Ortiz", ["armorer"], "4821")
DANA = ("Dana Reyes", ["first_ad"], "1170")
ALEX = ("Alex Kim", ["actor"], "5526")
RILEY = ("Riley Chen", ["armorer", "first_ad"], "8042")
JO = ("Jo Park", ["actor"], "3319")

ANSWERS: dict[str, Any] = {
    "meeting-held": True,
    "weather-checked": True,
    "firearms-listed": "Colt SAA .45 #A1234 to Alex, empty",
    "shown-clear": True,
    "state-announced": "EMPTY",
}


@dataclass
class Production:
    """The built workspace and what the tests need to know about it."""

    home: Path
    runs: dict[str, str] = field(default_factory=dict)  # label -> run id
    cli: CliRunner = field(default_factory=CliRunner)

    @property
    def db(self) -> Path:
        return self.home / "log.db"

    def invoke(self, args: list[str], input: str | None = None) -> Result:
        result = self.cli.invoke(
            app, [*args, "--home", str(self.home)], input=input, env=ENV, catch_exceptions=False
        )
        assert "Traceback" not in result.output, result.output
        return result

    def json(self, args: list[str]) -> Any:
        result = self.invoke([*args, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


ENV = {"NO_COLOR": "1", "COLUMNS": "120", "SAFETYCLI_HOME": None}


def add(ledger: Ledger, person: tuple[str, list[str], str]) -> None:
    name, roles, pin = person
    first = not crew.roster(ledger)
    crew.add_member(ledger, name, roles, pin, None if first else (PRODUCER[0], PRODUCER[2]))


def signers(**people: tuple[str, list[str], str]) -> dict[str, dict[str, str]]:
    return {role: {"name": p[0], "pin": p[2]} for role, p in people.items()}


def run(
    prod: Production,
    label: str,
    *,
    day: str,
    scene: str,
    answers: dict[str, Any],
    who: dict[str, dict[str, str]],
    protocol: str = "test-scene",
    takes: int = 1,
    expect: int = 0,
    **extra: Any,
) -> str:
    """`safetycli run --answers`; returns the run id (the newest run.started in the log)."""
    path = prod.home / f"answers-{label}.yaml"
    doc = {"signers": who, "answers": answers, "takes": takes, **extra}
    if protocol == "test-scene":
        doc.setdefault("context", {"blanks": False})
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = prod.invoke(["run", protocol, "--scene", scene, "--day", day, "--answers", str(path)])
    assert result.exit_code == expect, result.output
    with Ledger.open(prod.db) as ledger:
        started = ledger.latest(kinds=["run.started"])[0]
    prod.runs[label] = str(started.run)
    return str(started.run)


def build(home: Path) -> Production:
    """The production: two shooting days and a third with trouble.

    2026-03-02  clean        scene 12A  complete, two takes, weather not applicable
                held-cleared scene 14   a refused meeting: hold, cleared by armorer + AD, resumed
    2026-03-03  open         scene 12A  Riley as armorer, left open (no answer for the list)
                meeting      scene 20   test-meeting protocol, complete
                held         scene 20   state NOT VERIFIED: hold still on (which holds scene
                                        20: no run of it starts until it is cleared)
    2026-03-04  wrong-pin    scene 31   the actor's PIN is wrong: refused, run left open
                aborted      scene 32   aborted by the AD after a lock-out of Jo Park
    """
    prod = Production(home)
    result = prod.cli.invoke(app, ["init", "--home", str(home), "--production", "Night Train"])
    assert result.exit_code == 0, result.output
    (home / "checklists" / "test-scene.yaml").write_text(PROTOCOL, encoding="utf-8")
    (home / "checklists" / "test-meeting.yaml").write_text(MEETING, encoding="utf-8")
    with Ledger.open(prod.db) as ledger:
        for person in (PRODUCER, SAM, DANA, ALEX, RILEY, JO):
            add(ledger, person)
    crew_a = signers(armorer=SAM, first_ad=DANA, actor=ALEX)

    run(
        prod,
        "clean",
        day="2026-03-02",
        scene="12A",
        answers={**ANSWERS, "weather-checked": {"na": "Interior scene: no weather"}},
        who=crew_a,
        takes=2,
    )
    held = run(
        prod,
        "held-cleared",
        day="2026-03-02",
        scene="14",
        answers={**ANSWERS, "meeting-held": False},
        who=crew_a,
        expect=3,
    )
    cleared = prod.invoke(
        [
            *("clear", held, "--note", "Meeting re-held on set with everyone", "--pin-stdin"),
            # People sign in when their checks come up: the armorer had not yet (two on the
            # roster), so the clearing armorer is named.
            *("--by", f"armorer={SAM[0]}"),
        ],
        input=f"{SAM[2]}\n{DANA[2]}\n",
    )
    assert cleared.exit_code == 0, cleared.output
    path = prod.home / "answers-held-cleared.yaml"
    resumed = prod.invoke(["resume", held, "--answers", str(path)])
    assert resumed.exit_code == 3, resumed.output  # the file still says no: held again
    path.write_text(
        yaml.safe_dump({"signers": crew_a, "answers": ANSWERS, "context": {"blanks": False}}),
        encoding="utf-8",
    )
    cleared = prod.invoke(
        ["clear", held, "--note", "Second meeting, AD satisfied", "--pin-stdin"]
        + ["--by", f"armorer={SAM[0]}"],
        input=f"{SAM[2]}\n{DANA[2]}\n",
    )
    assert cleared.exit_code == 0, cleared.output
    assert prod.invoke(["resume", held, "--answers", str(path)]).exit_code == 0

    crew_b = signers(armorer=RILEY, first_ad=DANA, actor=JO)
    open_answers = {k: v for k, v in ANSWERS.items() if k != "firearms-listed"}
    run(prod, "open", day="2026-03-03", scene="12A", answers=open_answers, who=crew_b, expect=4)
    run(
        prod,
        "meeting",
        day="2026-03-03",
        scene="20",
        answers={"held": True},
        who=signers(first_ad=RILEY),
        protocol="test-meeting",
    )
    run(
        prod,
        "held",
        day="2026-03-03",
        scene="20",
        answers={**ANSWERS, "state-announced": "NOT VERIFIED: stop"},
        who=crew_a,
        expect=3,
    )

    wrong = {**crew_a, "actor": {"name": ALEX[0], "pin": "0000"}}
    run(prod, "wrong-pin", day="2026-03-04", scene="31", answers=ANSWERS, who=wrong, expect=2)
    aborted = run(
        prod,
        "aborted",
        day="2026-03-04",
        scene="32",
        answers=open_answers,
        who=signers(armorer=SAM, first_ad=DANA, actor=JO),
        expect=4,
    )
    with Ledger.open(prod.db) as ledger:
        for _ in range(crew.LOCK_AFTER):
            try:
                crew.authenticate(
                    ledger, JO[0], "1111", role="actor", purpose="witness", run=aborted
                )
            except crew.AuthError:
                pass
        state = runner.replay(aborted, ledger.events(run=aborted))
        ledger.append_many(
            runner.abort(state, runner.Signer(DANA[0], "first_ad"), "Actor locked out; scene cut")
        )
    return prod


# A crew member whose name is markup in every format we write, and one whose name would run a
# script if a page ever rendered it as HTML; notes and reasons holding terminal escapes.
EVIL = ('[bold red]Boss[/] =HYPERLINK("x") <script>alert(1)</script>', ["armorer"], "6284")
IMG = ("<img src=x onerror=\"document.title='pwned'\">", ["actor"], "7395")
EVIL_SCENE = '=cmd|"/c calc"!A1'
EVIL_REASON = "Muzzle swept the crew \x1b[2J\x1b[31mSEE ME"
EVIL_NOTE = '=HYPERLINK("http://example.invalid","click") re-briefed \x1b[2J'
EVIL_TEXT = "@SUM(1+1) [link](http://example.invalid) *bold* `code`"
HOSTILE_DAY = "2026-03-05"


def add_hostile(prod: Production) -> str:
    """On HOSTILE_DAY: EVIL (armorer) and IMG (actor) sign a run for scene EVIL_SCENE; EVIL stops
    work by hand with EVIL_REASON, the hold is cleared with EVIL_NOTE; on resume IMG's read-back
    does not match, which holds the run again. Returns the run id."""
    with Ledger.open(prod.db) as ledger:
        add(ledger, EVIL)
        add(ledger, IMG)
    answers = {
        k: v for k, v in {**ANSWERS, "firearms-listed": EVIL_TEXT}.items() if k != "state-announced"
    }
    run_id = run(
        prod,
        "hostile",
        day=HOSTILE_DAY,
        scene=EVIL_SCENE,
        answers=answers,
        who=signers(armorer=EVIL, first_ad=DANA, actor=IMG),
        expect=4,
    )
    held = prod.invoke(
        ["hold", run_id, "--reason", EVIL_REASON, "--by", EVIL[0], "--pin-stdin"],
        input=f"{EVIL[2]}\n",
    )
    assert held.exit_code == 0, held.output
    cleared = prod.invoke(
        ["clear", run_id, "--note", EVIL_NOTE, "--pin-stdin"], input=f"{EVIL[2]}\n{DANA[2]}\n"
    )
    assert cleared.exit_code == 0, cleared.output
    # The actor signs in when their first check comes up: after the hold, with the state
    # announced, IMG witnesses the check and says back a different state: held again.
    path = prod.home / "answers-hostile.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["answers"]["state-announced"] = "EMPTY"
    doc["readbacks"] = {"state-announced": {"actor": "BLANKS"}}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    resumed = prod.invoke(["resume", run_id, "--answers", str(path)])
    assert resumed.exit_code == 3, resumed.output
    return run_id
