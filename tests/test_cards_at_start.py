"""Every card a run will need is checked at its start (the trial's actor was refused at their
sign-in with the revolver already out and five checks signed): the armorer's permit, and the
safety course card of whoever the run's hand-overs give a firearm to. Before anything is taken
out of the armory, signed, or even asked for a PIN, one line says who lacks what and the command
that records it; with the card in force, the same run goes on."""

from __future__ import annotations

from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from safetycli import crew, qualifications
from safetycli.ledger import Ledger
from tests.test_armory import _qualify, armorer
from tests.test_interactive import FACT, HOLD_REASON, KEYS, Crew, finished, spawn
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
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

LABELS = (("4471", "firearm 4471 (Colt SAA)"),)
SECOND_ACTOR = ("Lee Chan", "6604")


@pytest.fixture
def armed(crewed: Path, cli: CliRunner) -> Path:
    """The armorer's permit and the DP's card recorded; the actor has no card. A revolver in the
    armory, storage open."""
    _qualify(crewed, ARMORER[0], "armorer-permit")
    _qualify(crewed, DP[0], "safety-course")
    armorer(cli, *"add firearm --serial 4471 --make Colt --model SAA --kind real".split())
    armorer(cli, "unlock", "--key-holder", ARMORER[0], "--key-holder", PRODUCER[0])
    return crewed


def _kinds(home: Path) -> list[str]:
    with Ledger.open(home / "log.db") as ledger:
        return [e.kind for e in ledger.events()]


def _qualify_actor(cli: CliRunner) -> None:
    """As a producer records it, with the command the refusal names."""
    args = ["crew", "qualify", ACTOR[0], "--kind", "safety-course", "--id", "SC-5521"]
    ok(cli, [*args, "--expires", "2030-03-31", "--pin-stdin"], input=f"{PRODUCER[1]}\n")


def _says_who_lacks_what(line: str) -> None:
    assert ACTOR[0] in line and "safety course card" in line
    assert f"safetycli crew qualify '{ACTOR[0]}' --kind safety-course" in line


def test_an_answers_file_naming_an_actor_without_a_card_is_refused_before_anything_is_written(
    cli: CliRunner, armed: Path, tmp_path: Path
) -> None:
    before = _kinds(armed)
    path = write_answers(tmp_path / "a.yaml", context=NO_BLANKS, armory=REVOLVER)
    line = one_line_error(invoke(cli, [*RUN_12A, "--answers", str(path)]))
    _says_who_lacks_what(line)
    assert line.startswith("not started, nothing recorded")
    # Nothing reached the log: no run, no PIN tried, no custody, no signature.
    assert _kinds(armed) == before
    revolver = ok(cli, ["armory", "show", "4471", "--format", "json"]).stdout
    assert '"issued"' not in revolver and '"handed over"' not in revolver
    # The producer records the card the line named; the same file now runs to the end, the
    # revolver handed to the actor and back.
    _qualify_actor(cli)
    run_id, _ = start(cli, path, expect=0)
    shown = ok(cli, ["log", "show", run_id, "--format", "json"]).stdout
    assert "handed-over@4471" in shown and ACTOR[0] in shown


def test_an_expired_card_of_the_named_actor_is_refused_though_another_actor_has_one(
    cli: CliRunner, armed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file names who signs: a colleague's card does not let them through."""
    with cheap_pins(), Ledger.open(armed / "log.db") as ledger:
        crew.add_member(ledger, SECOND_ACTOR[0], ["actor"], SECOND_ACTOR[1], PRODUCER)
        crew.qualify(ledger, SECOND_ACTOR[0], "safety-course", "SC-1", "2030-12-31", PRODUCER)
        crew.qualify(ledger, ACTOR[0], "safety-course", "SC-2", "2030-06-30", PRODUCER)
    monkeypatch.setattr(qualifications, "today", lambda: "2030-07-01")
    before = _kinds(armed)
    path = write_answers(tmp_path / "a.yaml", context=NO_BLANKS, armory=REVOLVER)
    line = one_line_error(invoke(cli, [*RUN_12A, "--answers", str(path)]))
    assert ACTOR[0] in line and "expired on 2030-06-30" in line
    assert SECOND_ACTOR[0] not in line
    assert _kinds(armed) == before
    other = {"armorer": ARMORER, "first_ad": ("Dana Reyes", "1170"), "actor": SECOND_ACTOR}
    other["dp"] = DP
    start(
        cli,
        write_answers(tmp_path / "b.yaml", context=NO_BLANKS, armory=REVOLVER, signers=other),
        expect=0,
    )


def test_a_run_that_hands_no_firearm_over_asks_no_card_of_the_actor(
    cli: CliRunner, armed: Path, tmp_path: Path
) -> None:
    """Without firearms taken out of the armory there is no hand-over the log records, and the
    actor signs as before (only the armorer's permit is asked)."""
    start(cli, write_answers(tmp_path / "a.yaml", context=NO_BLANKS), expect=0)


def test_a_resume_is_refused_when_the_actors_card_lapsed_while_the_run_stood_open(
    cli: CliRunner, armed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Ledger.open(armed / "log.db") as ledger:
        crew.qualify(ledger, ACTOR[0], "safety-course", "SC-2", "2030-06-30", PRODUCER)
    partial = write_answers(
        tmp_path / "a.yaml", context=NO_BLANKS, armory=REVOLVER, drop=("meeting-covered",)
    )
    run_id, _ = start(cli, partial, expect=4)  # left open at the safety meeting
    monkeypatch.setattr(qualifications, "today", lambda: "2030-07-01")
    before = _kinds(armed)
    full = write_answers(tmp_path / "b.yaml", context=NO_BLANKS, armory=REVOLVER)
    line = one_line_error(invoke(cli, ["resume", run_id, "--answers", str(full)]))
    assert line.startswith("not resumed, nothing recorded")
    assert ACTOR[0] in line and "expired on 2030-06-30" in line
    assert _kinds(armed) == before


# --- at the keyboard ------------------------------------------------------------------------------


def _to_the_take_out(child: pexpect.spawn) -> None:
    for _ in ("blanks", "dummies"):
        child.expect(FACT)
        child.sendline("n")


@pytest.mark.slow
def test_at_the_keyboard_an_actor_without_a_card_stops_the_run_before_the_armorers_pin(
    cli: CliRunner, armed: Path
) -> None:
    before = _kinds(armed)
    child = spawn(armed, *RUN_12A, "--firearm", "4471")
    _to_the_take_out(child)
    rest, status = finished(child)
    assert status == 2
    line = " ".join(rest.split())  # the line as the terminal wrapped it
    assert "error: not started, nothing recorded" in line
    _says_who_lacks_what(line)
    assert "PIN" not in rest.replace("--pin-stdin", "")  # nobody was asked for one
    assert _kinds(armed) == before
    # With the card recorded, the same run takes the revolver out and the actor signs in.
    _qualify_actor(cli)
    child = spawn(armed, *RUN_12A, "--firearm", "4471")
    items = [item for _, item in protocol().for_firearms(LABELS).items()]
    crew_at_set = Crew(child, items)
    _to_the_take_out(child)
    child.expect("armorer: your name")
    child.sendline("")
    child.expect("your PIN to take these out of the armory")
    child.waitnoecho(timeout=5)
    child.sendline(ARMORER[1])
    crew_at_set.run(rf"Signed in: {ACTOR[0]} as actor")
    child.expect(KEYS)  # the actor's one-key line
    child.sendline("h")
    child.expect(HOLD_REASON)
    child.sendline("end of the test")
    rest, status = finished(child)
    assert status == 3, rest


@pytest.mark.slow
def test_at_the_keyboard_the_ad_is_told_before_the_start_who_could_not_sign_for_lack_of_a_card(
    armed: Path,
) -> None:
    """Two actors on the roster, one with a card: the run may go on (the carded one may be the
    scene's actor), and the AD reads, before anything is taken out, which one cannot sign."""
    with cheap_pins(), Ledger.open(armed / "log.db") as ledger:
        crew.add_member(ledger, SECOND_ACTOR[0], ["actor"], SECOND_ACTOR[1], PRODUCER)
        crew.qualify(ledger, SECOND_ACTOR[0], "safety-course", "SC-1", "2030-12-31", PRODUCER)
    before = _kinds(armed)
    child = spawn(armed, *RUN_12A, "--firearm", "4471")
    _to_the_take_out(child)
    child.expect("armorer: your name")
    said = " ".join((child.before or "").split())
    assert f"Before you start: only {SECOND_ACTOR[0]} can sign in as the actor" in said
    _says_who_lacks_what(said)
    child.sendline("h")  # the AD stops here: nothing was taken out
    child.expect(HOLD_REASON)
    child.sendline("Alex needs a card")
    rest, status = finished(child)
    assert status == 2 and "nothing recorded" in rest
    assert _kinds(armed) == before
