"""An incident that stops firearm work is as loud as a HOLD at a terminal: a full-width red panel
saying STOP FIREARM WORK, what was reported, what it stops and freezes, who closes it and the
exact command. Piped or scripted, `incident report` prints the plain lines scripts read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from safetycli import i18n
from tests.test_incidents import ADVISOR, advised  # noqa: F401  (the fixture)
from tests.test_interactive import finished
from tests.walk_helpers import ARMORER, invoke, ok, safetycli_argv, subprocess_env

ID = re.compile(r"\bi-[0-9a-f]{6}\b")
SGR_RED_BACKGROUND = re.compile(r"\x1b\[[0-9;]*\b41[;m]")
BOX = "╭"
# User text with what Rich would read as markup, and a name in brackets.
TEXT = "click, no bang on [bold]take 3[/bold] [/]"
REPORTER = "Lee [grip]"


def _flat(text: str) -> str:
    """The panel's words as one line: borders, padding and the terminal's wrapping taken out."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return " ".join(plain.replace("│", " ").replace("\r", " ").split())


def _report_at_a_terminal(home: Path, *args: str, **env: str) -> str:
    """`incident report` in a pseudo-terminal, as typed on a crew laptop (colours on, unless
    `env` says otherwise)."""
    environ = {**subprocess_env(home), "TERM": "xterm-256color", **env}
    environ.pop("NO_COLOR")
    argv = safetycli_argv()
    child = pexpect.spawn(
        argv[0],
        [*argv[1:], "incident", "report", *args],
        env=environ,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 120),
    )
    rest, status = finished(child)
    assert status == 0, rest
    return rest


@pytest.mark.slow
def test_a_misfire_reported_at_a_terminal_is_a_red_panel_that_says_to_stop_firearm_work(
    crewed: Path,
) -> None:
    shown = _report_at_a_terminal(
        crewed,
        *("--kind", "misfire", "--text", TEXT, "--by", REPORTER, "--firearm", "4471"),
    )
    assert BOX in shown and SGR_RED_BACKGROUND.search(shown), shown
    said = _flat(shown)
    incident_id = ID.search(said).group(0)  # type: ignore[union-attr]
    assert said.count("STOP FIREARM WORK") >= 2  # the title, and the first line
    # What was reported, exactly as typed: brackets are text, not markup.
    assert f"What happened: {TEXT}" in said
    assert f"Reported by: {REPORTER}, no PIN at" in said
    assert "firearm 4471" in said
    # What it stops, who closes it, and the command they type.
    assert "every protocol the armorer signs" in said
    assert "To close: armorer and producer, each in person with their PIN" in said
    assert f'safetycli incident close {incident_id} --action "what was done"' in said


@pytest.mark.slow
def test_an_injury_at_a_terminal_names_what_is_frozen_and_how_to_release_it_in_spanish(
    crewed: Path,
) -> None:
    args = ("--kind", "injury", "--text", "hand cut", "--firearm", "4471", "--anonymous")
    shown = _report_at_a_terminal(crewed, *args, SAFETYCLI_LANG="es")
    said = _flat(shown)
    incident_id = ID.search(said).group(0)  # type: ignore[union-attr]
    with i18n.speaking("es"):
        title = i18n._("STOP FIREARM WORK")
        frozen = i18n._(
            "FROZEN: {what}: leave everything exactly as it is (no unloading, hand-over, "
            "return or count) until it has been examined and released:"
        ).format(what="4471")
        release = i18n._('safetycli incident release {incident} --note "who examined what"')
        closers = i18n._("To close: {roles}, each in person with their PIN:").split("{roles}")[0]
    assert title != "STOP FIREARM WORK"
    assert f"{title} · STOP FIREARM WORK" in said  # the reader's word, and the English one
    assert frozen in said and release.format(incident=incident_id) in said
    assert closers in said and "To close" not in said


def test_piped_the_report_stays_the_plain_lines_scripts_read(crewed: Path) -> None:
    argv = safetycli_argv()
    env = {**subprocess_env(crewed), "TERM": "xterm-256color"}
    env.pop("NO_COLOR")
    args = ["incident", "report", "--kind", "misfire", "--text", TEXT, "--by", ARMORER[0]]
    done = subprocess.run(
        [*argv, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and BOX not in done.stdout and "\x1b" not in done.stdout
    incident_id = ID.search(lines[0]).group(0)  # type: ignore[union-attr]
    assert lines[0] == (
        f"Incident {incident_id} recorded: misfire, reported by {ARMORER[0]} (armorer), no PIN."
    )
    assert lines[1].startswith("STOP: no firearm protocol starts or goes on until the armorer")
    assert lines[1].endswith(f'safetycli incident close {incident_id} --action "what was done"')


def test_an_incident_that_stops_nothing_stays_plain_at_a_terminal(
    cli: CliRunner, crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A near miss stops no work: a red panel there would teach people to read past red."""
    from safetycli.cli import common

    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    args = ["incident", "report", "--kind", "near-miss", "--text", "muzzle swept", "--anonymous"]
    shown = ok(cli, args).stdout
    assert BOX not in shown and "STOP" not in shown
    assert "To close it: the producer and 1st AD" in shown
    # The same at a terminal for a misfire: the panel.
    args = ["incident", "report", "--kind", "misfire", "--text", "click", "--anonymous"]
    assert BOX in invoke(cli, args).stdout


def test_the_advisors_halt_at_a_terminal_is_the_same_red_panel(
    cli: CliRunner,
    advised: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The safety advisor's halt stops all firearm work too: the same panel, their reason as
    typed, and the roles and command that close it."""
    from safetycli.cli import common

    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    args = ["advisor", "halt", "--reason", "crew exhausted [14h day]", "--pin-stdin"]
    said = _flat(ok(cli, args, input=f"{ADVISOR[1]}\n").stdout)
    incident_id = ID.search(said).group(0)  # type: ignore[union-attr]
    assert BOX in said and "STOP FIREARM WORK" in said
    assert "What happened: crew exhausted [14h day]" in said
    assert "To close: safety advisor and producer, each in person with their PIN" in said
    assert f'safetycli incident close {incident_id} --action "what was done"' in said
