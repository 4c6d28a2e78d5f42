"""Everyone an answers file names to sign is checked against the roster at the run's start: the
trial's answers file named an actor who was not on the roster, and the run took the revolver out
of the armory and signed the armorer's checks before the actor's sign-in refused them. Now one
line names who and what is wrong, and the command that fixes it, before any PIN is asked,
anything is taken out or anything is signed; with the roster fixed, the same file runs to the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from safetycli import crew
from safetycli.ledger import Ledger
from tests.test_armory import _qualify, armorer
from tests.test_cards_at_start import LABELS
from tests.test_interactive import FACT, HOLD_REASON, KEYS, Crew, finished, spawn
from tests.walk_helpers import (
    ACTOR,
    CREW,
    DP,
    NO_BLANKS,
    PRODUCER,
    REVOLVER,
    RUN_12A,
    cheap_pins,
    invoke,
    ok,
    one_line_error,
    protocol,
    start,
    write_answers,
)

NEWCOMER = ("Robin Vale", "6604")  # not on the roster
SECOND_DP = ("Lee Chan", "3390")  # on the roster as a DP only


@pytest.fixture
def stocked(crewed: Path, cli: CliRunner) -> Path:
    """The crew with their cards, a second DP, and a revolver in the armory, storage open."""
    with cheap_pins(), Ledger.open(crewed / "log.db") as ledger:
        crew.add_member(ledger, SECOND_DP[0], ["dp"], SECOND_DP[1], PRODUCER)
    _qualify(crewed, CREW["armorer"][0], "armorer-permit")
    for name in (ACTOR[0], DP[0], SECOND_DP[0]):
        _qualify(crewed, name, "safety-course")
    armorer(cli, *"add firearm --serial 4471 --make Colt --model SAA --kind real".split())
    armorer(cli, "unlock", "--key-holder", CREW["armorer"][0], "--key-holder", PRODUCER[0])
    return crewed


def _events(home: Path) -> list[tuple[int, str]]:
    with Ledger.open(home / "log.db") as ledger:
        return [(e.seq, e.kind) for e in ledger.events()]


def _revolver(cli: CliRunner) -> str:
    shown = json.loads(ok(cli, ["armory", "list", "--format", "json"]).stdout)
    return str(next(f["where"] for f in shown["firearms"] if f["serial"] == "4471"))


def _answers(path: Path, actor: tuple[str, str], **kwargs: object) -> Path:
    signers = {**CREW, "actor": actor}
    return write_answers(path, context=NO_BLANKS, armory=REVOLVER, signers=signers, **kwargs)


def _refused_at_start(cli: CliRunner, home: Path, args: list[str]) -> str:
    """The run's one-line refusal; the log and the armory exactly as they were."""
    before = _events(home)
    line = one_line_error(invoke(cli, args))
    assert _events(home) == before  # no run, no PIN tried, no custody, no signature
    assert _revolver(cli) == "locked"
    return line


def _completes(cli: CliRunner, path: Path) -> None:
    run_id, _ = start(cli, path, expect=0)
    shown = ok(cli, ["log", "show", run_id, "--format", "json"]).stdout
    assert json.loads(shown)["status"] == "complete"
    assert _revolver(cli) == "locked"  # taken out and returned


def test_an_actor_not_on_the_roster_is_refused_before_anything_is_recorded(
    cli: CliRunner, stocked: Path, tmp_path: Path
) -> None:
    path = _answers(tmp_path / "a.yaml", NEWCOMER)
    line = _refused_at_start(cli, stocked, [*RUN_12A, "--answers", str(path)])
    assert line.startswith("not started, nothing recorded")
    assert NEWCOMER[0] in line and "actor" in line
    assert f"safetycli crew add '{NEWCOMER[0]}' --role actor" in line
    # A producer adds them with the command the line names; the same file runs to the end.
    add = ["crew", "add", NEWCOMER[0], "--role", "actor", "--pin-stdin"]
    ok(cli, add, input=f"{NEWCOMER[1]}\n{PRODUCER[1]}\n")
    _qualify(stocked, NEWCOMER[0], "safety-course")
    _completes(cli, path)


def test_someone_on_the_roster_in_another_role_is_refused_before_anything_is_recorded(
    cli: CliRunner, stocked: Path, tmp_path: Path
) -> None:
    path = _answers(tmp_path / "a.yaml", SECOND_DP)
    line = _refused_at_start(cli, stocked, [*RUN_12A, "--answers", str(path)])
    assert line.startswith("not started, nothing recorded")
    assert SECOND_DP[0] in line and "actor" in line
    assert f"safetycli crew add-role '{SECOND_DP[0]}' actor" in line
    ok(cli, ["crew", "add-role", SECOND_DP[0], "actor", "--pin-stdin"], input=f"{PRODUCER[1]}\n")
    _completes(cli, path)


def test_someone_taken_off_the_roster_is_refused_before_anything_is_recorded(
    cli: CliRunner, stocked: Path, tmp_path: Path
) -> None:
    ok(cli, ["crew", "remove", ACTOR[0], "--pin-stdin"], input=f"{PRODUCER[1]}\n")
    path = _answers(tmp_path / "a.yaml", ACTOR)
    line = _refused_at_start(cli, stocked, [*RUN_12A, "--answers", str(path)])
    assert line.startswith("not started, nothing recorded")
    assert ACTOR[0] in line and "taken off the roster" in line
    assert f"safetycli crew add '{ACTOR[0]}' --role actor" in line
    ok(cli, ["crew", "add", ACTOR[0], "--role", "actor", "--pin-stdin"], f"{ACTOR[1]}\n9182\n")
    _completes(cli, path)


def test_one_person_named_for_two_roles_is_refused_before_anything_is_recorded(
    cli: CliRunner, stocked: Path, tmp_path: Path
) -> None:
    """The run would refuse the DP's second sign-in (one person, one role): said at the start."""
    ok(cli, ["crew", "add-role", DP[0], "actor", "--pin-stdin"], input=f"{PRODUCER[1]}\n")
    path = _answers(tmp_path / "a.yaml", DP)
    line = _refused_at_start(cli, stocked, [*RUN_12A, "--answers", str(path)])
    assert line.startswith("not started, nothing recorded")
    assert DP[0] in line and "actor" in line and "DP" in line


def test_a_named_signer_locked_out_is_refused_though_another_actor_could_sign(
    cli: CliRunner, stocked: Path, tmp_path: Path
) -> None:
    """Their sign-in would refuse them after the take-out: the line names the unlock instead."""
    ok(cli, ["crew", "add-role", SECOND_DP[0], "actor", "--pin-stdin"], input=f"{PRODUCER[1]}\n")
    with Ledger.open(stocked / "log.db") as ledger:
        for _ in range(crew.LOCK_AFTER):
            with pytest.raises(crew.AuthError):
                crew.authenticate(ledger, ACTOR[0], "0000", role="actor", purpose="test")
    path = _answers(tmp_path / "a.yaml", ACTOR)
    line = _refused_at_start(cli, stocked, [*RUN_12A, "--answers", str(path)])
    assert line.startswith("not started, nothing recorded")
    assert ACTOR[0] in line and f"safetycli crew unlock '{ACTOR[0]}'" in line
    _completes(cli, _answers(tmp_path / "b.yaml", SECOND_DP))


def test_a_resume_is_refused_when_a_signer_was_taken_off_the_roster_meanwhile(
    cli: CliRunner, stocked: Path, tmp_path: Path
) -> None:
    partial = _answers(tmp_path / "a.yaml", ACTOR, drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)  # left open at the safety meeting, revolver out
    assert _revolver(cli) != "locked"
    ok(cli, ["crew", "remove", ACTOR[0], "--pin-stdin"], input=f"{PRODUCER[1]}\n")
    before = _events(stocked)
    full = _answers(tmp_path / "b.yaml", ACTOR)
    line = one_line_error(invoke(cli, ["resume", run_id, "--answers", str(full)]))
    assert line.startswith("not resumed, nothing recorded")
    assert ACTOR[0] in line and "taken off the roster" in line
    assert _events(stocked) == before
    ok(cli, ["crew", "add", ACTOR[0], "--role", "actor", "--pin-stdin"], f"{ACTOR[1]}\n9182\n")
    result = invoke(cli, ["resume", run_id, "--answers", str(full)])
    assert result.exit_code == 0, result.output
    assert _revolver(cli) == "locked"


@pytest.mark.slow
def test_at_the_keyboard_a_run_nobody_on_the_roster_can_act_in_stops_before_the_take_out(
    cli: CliRunner, stocked: Path
) -> None:
    """Names are typed at sign-in, after the take-out: a role with nobody on the roster who can
    sign for it stops the run before the armorer is asked for a PIN."""
    ok(cli, ["crew", "remove", ACTOR[0], "--pin-stdin"], input=f"{PRODUCER[1]}\n")
    before = _events(stocked)
    child = spawn(stocked, *RUN_12A, "--firearm", "4471")
    for _ in ("blanks", "dummies"):
        child.expect(FACT)
        child.sendline("n")
    rest, status = finished(child)
    assert status == 2
    line = " ".join(rest.split())  # the line as the terminal wrapped it
    assert "nobody on the roster can sign as" in line and "--role actor" in line
    assert "PIN" not in rest.replace("--pin-stdin", "")  # nobody was asked for one
    assert _events(stocked) == before
    assert _revolver(cli) == "locked"


def _to_the_take_out(child: pexpect.spawn) -> None:
    for _ in ("blanks", "dummies"):
        child.expect(FACT)
        child.sendline("n")
    child.expect("armorer: your name")


@pytest.mark.slow
def test_at_the_keyboard_a_name_not_in_the_armorers_role_at_the_take_out_is_asked_again(
    cli: CliRunner, stocked: Path
) -> None:
    """Refused before any PIN and the name asked again, as a sign-in is; `h` there still stops
    before anything is taken out, with nothing recorded (tests/test_takeout_at_keyboard.py has
    the right name after it)."""
    before = _events(stocked)
    child = spawn(stocked, *RUN_12A, "--firearm", "4471")
    _to_the_take_out(child)
    child.sendline(SECOND_DP[0])
    child.expect("armorer: your name")
    said = " ".join((child.before or "").split())
    assert f"Refused: {SECOND_DP[0]} is not on the roster as armorer" in said
    assert "PIN" not in said
    child.sendline("h")
    child.expect(HOLD_REASON)
    child.sendline("the armorer is not here")
    rest, status = finished(child)
    line = " ".join(rest.split())
    assert status == 2 and "not started, nothing recorded" in line
    assert 'safetycli hold --scene "12A"' in line
    assert _events(stocked) == before
    assert _revolver(cli) == "locked"


@pytest.mark.slow
def test_at_the_keyboard_a_name_not_in_the_actors_role_is_asked_again_with_nothing_recorded(
    cli: CliRunner, stocked: Path
) -> None:
    """After the take-out, a sign-in names the person: a name not in the role is refused before
    their PIN is asked (no try recorded against them), and the name is asked again."""
    child = spawn(stocked, *RUN_12A, "--firearm", "4471")
    items = [item for _, item in protocol().for_firearms(LABELS).items()]
    at_set = Crew(child, items, typos={"actor": SECOND_DP[0]})
    _to_the_take_out(child)
    child.sendline("")
    child.expect("your PIN to take these out of the armory")
    child.waitnoecho(timeout=5)
    child.sendline(CREW["armorer"][1])
    at_set.run(rf"Signed in: {ACTOR[0]} as actor")
    said = " ".join(at_set.transcript.split())
    assert f"Refused: {SECOND_DP[0]} is not on the roster as actor" in said
    child.expect(KEYS)
    child.sendline("h")
    child.expect(HOLD_REASON)
    child.sendline("end of the test")
    rest, status = finished(child)
    assert status == 3, rest
    with Ledger.open(stocked / "log.db") as ledger:
        theirs = [e.kind for e in ledger.events() if e.data.get("name") == SECOND_DP[0]]
    assert all(not kind.startswith(("auth.", "run.")) for kind in theirs), theirs
