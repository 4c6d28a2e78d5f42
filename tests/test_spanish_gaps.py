"""The screens a crew reads in an emergency, in Spanish (SAFETYCLI_LANG=es), with no English
sentence left in them: a crew trial in Spanish found "Involved: scene 12A; firearm 4471", the
repeated-misfire warning, the name prompt of `incident report`, the card refusals at a run's
start and the take-out refusal still in English. English stays as it was; JSON stays English."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from safetycli import i18n
from tests.test_cards_at_start import armed  # noqa: F401  (the fixture)
from tests.test_incident_panel import _flat, _report_at_a_terminal
from tests.test_interactive import finished
from tests.test_signers_at_start import SECOND_DP, _events, _revolver, stocked  # noqa: F401
from tests.walk_helpers import (
    ACTOR,
    NO_BLANKS,
    REVOLVER,
    RUN_12A,
    invoke,
    ok,
    one_line_error,
    safetycli_argv,
    subprocess_env,
    write_answers,
)

MISFIRE = ("--kind", "misfire", "--text", "click, no bang", "--scene", "12A", "--firearm", "4471")
# English words that must not be left in a Spanish screen.
ENGLISH = re.compile(
    r"\b(Involved|firearm|scene|misfires?|reported|take it out|Your name|has no|"
    r"safety course|do not transfer|not on the roster|only they issue)\b"
)


def _es(text: str) -> str:
    with i18n.speaking("es"):
        return i18n._(text)


def _spawn(home: Path, *args: str, lang: str = "es") -> pexpect.spawn:
    argv = safetycli_argv()
    child = pexpect.spawn(
        argv[0],
        [*argv[1:], *args],
        env={**subprocess_env(home), "SAFETYCLI_LANG": lang},
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 120),
    )
    child.delaybeforesend = None
    return child


@pytest.mark.slow
def test_the_stop_firearm_work_panel_names_what_is_involved_and_the_misfires_in_spanish(
    crewed: Path, cli: CliRunner
) -> None:
    ok(cli, ["incident", "report", *MISFIRE, "--anonymous"])  # the first misfire, piped
    said = _flat(_report_at_a_terminal(crewed, *MISFIRE, "--anonymous", SAFETYCLI_LANG="es"))
    # The scene and the firearm in Spanish words, and the warning to take it out of service.
    assert "escena 12A" in said and "arma 4471" in said
    assert "2 fallos de disparo" in said and "retírela del servicio" in said
    assert "el armero" in said
    # The title keeps the English beside the Spanish (as every stop panel does); the rest of
    # the panel (user text and the commands aside) has no English sentence left.
    body = said.split("STOP FIREARM WORK", 1)[1]
    body = body.replace("click, no bang", "").replace("safetycli incident close", "")
    assert not ENGLISH.search(body), ENGLISH.search(body)
    # JSON stays English for the scripts that read it.
    listed = json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)
    assert all("firearm 4471" in row["involved"] for row in listed)


@pytest.mark.slow
def test_the_panel_in_english_is_as_it_was(crewed: Path, cli: CliRunner) -> None:
    ok(cli, ["incident", "report", *MISFIRE, "--anonymous"])
    said = _flat(_report_at_a_terminal(crewed, *MISFIRE, "--anonymous"))
    assert "Involved: scene 12A; firearm 4471" in said
    assert "firearm 4471: 2 misfires reported within a week" in said
    assert "take it out of service until the armorer has found why" in said


def test_incident_show_and_list_say_what_is_involved_and_the_warning_in_spanish(
    crewed: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):
        ok(cli, ["incident", "report", *MISFIRE, "--anonymous"])
    english = ok(cli, ["incident", "list"]).stdout
    assert "WARNING: firearm 4471: 2 misfires" in " ".join(english.split())
    monkeypatch.setenv("SAFETYCLI_LANG", "es")
    listed = " ".join(ok(cli, ["incident", "list"]).stdout.split())
    assert "AVISO: arma 4471: 2 fallos de disparo" in listed
    assert "escena 12A; arma 4471" in listed and "firearm 4471" not in listed
    csv = ok(cli, ["incident", "list", "--format", "csv"]).stdout
    assert "scene 12A; firearm 4471" in csv  # spreadsheets keep the English
    incident_id = json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)[0]["id"]
    shown = ok(cli, ["incident", "show", incident_id]).stdout
    assert "escena 12A; arma 4471" in shown and "firearm 4471" not in shown


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_name_prompt_of_an_incident_report_is_in_the_readers_language(
    crewed: Path, lang: str
) -> None:
    child = _spawn(crewed, "incident", "report", "--kind", "near-miss", "--text", "x", lang=lang)
    prompt = "Your name (Enter to report anonymously)"
    child.expect_exact(_es(prompt) if lang == "es" else prompt)
    child.sendline("")
    rest, status = finished(child)
    assert status == 0, rest
    if lang == "es":
        assert _es(prompt) != prompt and "Your name" not in rest


def test_a_card_refused_at_a_runs_start_is_said_in_spanish(
    cli: CliRunner,
    armed: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_answers(tmp_path / "a.yaml", context=NO_BLANKS, armory=REVOLVER)
    english = one_line_error(invoke(cli, [*RUN_12A, "--answers", str(path)]))
    assert "has no firearms safety course card on the roster" in english
    assert "do not transfer" in english
    monkeypatch.setenv("SAFETYCLI_LANG", "es")
    line = one_line_error(invoke(cli, [*RUN_12A, "--answers", str(path)]))
    assert ACTOR[0] in line and "tarjeta del curso de seguridad con armas" in line
    assert "no entregar" in line and "--kind safety-course" in line  # the command stays typed
    assert not ENGLISH.search(line.replace("safety-course", "")), line


@pytest.mark.slow
def test_the_take_out_refuses_someone_not_an_armorer_in_spanish(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    before = _events(stocked)
    facts = ("--set", "blanks=no", "--set", "dummies=no")
    child = _spawn(stocked, *RUN_12A, "--firearm", "4471", *facts)
    asked = _es("{role}: your name").replace("{role}", "").strip(": ")
    assert asked != "your name"
    child.expect_exact(asked)
    child.sendline(SECOND_DP[0])
    child.expect_exact(asked)  # refused, and the name asked again
    line = " ".join((child.before or "").split())
    assert f"{SECOND_DP[0]} no está en la lista del equipo como armero" in line
    assert not ENGLISH.search(line.replace(SECOND_DP[0], "")), line
    child.sendline("h")  # the AD stops there: nothing taken out
    child.expect(r"\(Enter")  # what is wrong, asked before stopping
    child.sendline("no hay armero")
    rest, status = finished(child)
    assert status == 2, rest
    assert _events(stocked) == before and _revolver(cli) == "locked"


def test_a_check_asked_per_firearm_names_the_firearm_in_the_readers_language() -> None:
    """A Spanish question read "¿El armero abrió firearm 4471...?": the noun is the reader's,
    the serial, make and model the armory's; English is as it was."""
    from safetycli import perfirearm
    from safetycli.translation import item_text
    from tests.walk_helpers import protocol

    label = perfirearm.label("4471", "Colt", "SAA")
    walked = protocol().for_firearms((("4471", label),))
    asked = [item for _, item in walked.items() if item.serial == "4471"]
    assert asked
    for item in asked:
        spanish = item_text(walked, item, "es")
        assert not spanish.question_main
        assert "arma 4471 (Colt SAA)" in spanish.question
        assert "firearm" not in spanish.question
        assert "firearm 4471 (Colt SAA)" in item_text(walked, item, "en").question


def test_a_run_refused_by_an_open_incident_names_what_it_involves_in_spanish(
    crewed: Path, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cli, ["incident", "report", *MISFIRE, "--firearm", "4472", "--anonymous"])
    path = write_answers(tmp_path / "a.yaml", context=NO_BLANKS)
    english = one_line_error(invoke(cli, [*RUN_12A, "--answers", str(path)]))
    assert "(scene 12A; firearm 4471, 4472)" in english  # as it was: scripts read it
    monkeypatch.setenv("SAFETYCLI_LANG", "es")
    line = one_line_error(invoke(cli, [*RUN_12A, "--answers", str(path)]))
    assert "escena 12A; armas 4471, 4472" in line
    assert not ENGLISH.search(line.replace("click, no bang", "")), line


def test_what_an_incident_involves_is_said_in_english_exactly_as_the_json_has_it(
    crewed: Path, cli: CliRunner
) -> None:
    from safetycli import production
    from safetycli.ledger import Ledger

    args = ["incident", "report", *MISFIRE, "--firearm", "4472", "--lot", "B-7", "--anonymous"]
    ok(cli, args)
    with Ledger.open(crewed / "log.db") as ledger:
        (incident,) = production.load(ledger).incidents.incidents.values()
    assert incident.involved() == "scene 12A; firearm 4471, 4472; lot B-7"
    assert incident.involved_said() == incident.involved()
    with i18n.speaking("es"):
        assert incident.involved_said() == "escena 12A; armas 4471, 4472; lote B-7"


@pytest.mark.slow
def test_the_facts_asked_at_a_runs_start_are_in_the_laptops_language(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    """The trial's Spanish laptop asked "Will blanks be fired in this scene?" in English though
    the shipped protocol has it in Spanish."""
    child = _spawn(stocked, *RUN_12A, "--firearm", "4471")
    child.expect_exact("¿Se dispararán cartuchos de fogueo en esta escena? [s/n]")
    child.sendline("n")
    child.expect_exact("¿Alguna arma llevará cartuchos inertes en esta escena? [s/n]")
    child.sendline("n")
    child.expect("su nombre")
    child.sendline("h")  # stopped at the take-out: nothing recorded
    child.expect(r"\(Enter")
    child.sendline("no hay armero")
    rest, status = finished(child)
    assert status == 2 and "Will blanks" not in rest
    english = _spawn(stocked, *RUN_12A, "--firearm", "4471", lang="en")
    english.expect_exact("Will blanks be fired in this scene? [y/n]")
    english.sendline("n")
    english.expect_exact("Will any firearm hold dummy rounds in this scene? [y/n]")
    english.sendline("n")
    english.expect("your name")
    english.sendline("h")
    english.expect(r"\(Enter")
    english.sendline("no armorer here")
    assert finished(english)[1] == 2
