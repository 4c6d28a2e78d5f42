"""`hold` and `clear` piped into a script or a file print plain lines, the same facts as the red
panel, with no colour codes and no box drawing (a crew trial found `hold` writing a 200-column
box into a script's log); at a terminal the HOLD panel shows as before. `status` and `incident
report` already did this."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pexpect
import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.test_interactive import finished
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    FIRST_AD,
    safetycli_argv,
    start,
    subprocess_env,
    write_answers,
)

BOX = re.compile(r"[\u2500-\u257f]")  # every box-drawing character Rich draws panels with
SGR_RED_BACKGROUND = re.compile(r"\x1b\[[0-9;]*\b41[;m]")
# What a person wrote, with what Rich would read as markup: printed as typed, in both forms.
REASON = "smoke near the [bold]cart[/bold] [/]"
CLEARERS = ["--by", f"armorer={ARMORER[0]}", "--by", f"first_ad={FIRST_AD[0]}", "--pin-stdin"]
BOTH_PINS = f"{ARMORER[1]}\n{FIRST_AD[1]}\n"


def _colour_env(home: Path) -> dict[str, str]:
    """As on a crew laptop: a colour terminal named, NO_COLOR unset."""
    env = {**subprocess_env(home), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    return env


def _piped(home: Path, args: list[str], stdin: str = "") -> list[str]:
    """The command with its standard output a pipe, as a script runs it: its lines, after
    checking it exited 0 and printed no colour code and no box."""
    done = subprocess.run(
        [*safetycli_argv(), *args],
        env=_colour_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout, done.stdout
    assert not BOX.search(done.stdout), done.stdout
    lines = done.stdout.splitlines()
    assert all(line == line.rstrip() and line.strip() for line in lines), lines  # no padding
    return lines


def _open_run(cli: CliRunner, tmp_path: Path) -> str:
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml", drop=("meeting-held",)), expect=4)
    return run_id


def test_piped_a_hold_and_its_clear_on_a_run_are_plain_lines_with_every_fact(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = _open_run(cli, tmp_path)
    hold = ["hold", run_id, "--reason", REASON, "--by", ACTOR[0], "--pin-stdin"]
    lines = _piped(crewed, hold, f"{ACTOR[1]}\n")
    assert lines[0] == "HOLD"
    assert lines[1] == "STOP WORK. Nothing proceeds until the hold is cleared."
    assert f"What failed: {REASON}" in lines
    assert any(line.startswith(f"Raised by: {ACTOR[0]} (actor) at ") for line in lines), lines
    assert "To clear: armorer and 1st AD, each in person with their PIN:" in lines
    assert f'  safetycli clear {run_id} --note "what was found and done"' in lines
    assert lines[-1] == f"then:  safetycli resume {run_id}"

    clear = ["clear", run_id, "--note", "fan on, smoke gone", *CLEARERS]
    assert _piped(crewed, clear, BOTH_PINS) == [
        f"Hold on run {run_id}: {REASON} (raised by {ACTOR[0]}, actor)",
        f"Hold cleared on run {run_id}. Continue with: safetycli resume {run_id}",
    ]


def test_piped_a_hold_and_its_clear_on_a_scene_are_plain_lines_with_every_fact(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = _open_run(cli, tmp_path)  # scene 12A: the hold stops it at its next step
    hold = ["hold", "--scene", "12A", "--reason", REASON, "--by", "Lee [grip]"]
    lines = _piped(crewed, hold)
    assert lines[0] == "HOLD"
    assert lines[1] == "STOP WORK on scene 12A. Nothing proceeds until it is cleared."
    assert f"Stop-work called on the scene: {REASON}" in lines
    raised = "Raised by: Lee [grip] (not on the roster), without a PIN at "
    assert any(line.startswith(raised) for line in lines), lines
    assert "To clear: armorer and 1st AD, each in person with their PIN:" in lines
    assert '  safetycli clear --scene "12A" --note "what was found and done"' in lines
    assert lines[-1] == "Every run of scene 12A stops at its next step."

    clear = ["clear", "--scene", "12A", "--note", "cart checked", *CLEARERS]
    assert _piped(crewed, clear, BOTH_PINS) == [
        f"Stop-work on scene 12A: {REASON} (by Lee [grip])",
        "Stop-work on scene 12A cleared.",
        f"Continue with: safetycli resume {run_id}",
    ]


def _at_a_terminal(home: Path, *args: str, pin: str | None = None) -> str:
    """The command in a pseudo-terminal, colours on; `pin` typed at the PIN prompt a hold
    offers. Returns what the screen showed."""
    argv = safetycli_argv()
    child = pexpect.spawn(
        argv[0],
        [*argv[1:], *args],
        env=_colour_env(home),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 120),
    )
    if pin is not None:
        child.expect(r"your PIN \(Enter to skip\): ")
        child.waitnoecho(timeout=5)
        child.sendline(pin)
    rest, status = finished(child)
    assert status == 0, rest
    return rest


def _flat(text: str) -> str:
    """The panel's words as one line: colours, borders, padding and wrapping taken out."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return " ".join(plain.replace("│", " ").replace("\r", " ").split())


@pytest.mark.slow
def test_at_a_terminal_a_hold_is_still_the_red_panel(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = _open_run(cli, tmp_path)
    shown = _at_a_terminal(
        crewed, "hold", run_id, "--reason", REASON, "--by", ACTOR[0], pin=ACTOR[1]
    )
    assert "╭" in shown and SGR_RED_BACKGROUND.search(shown), shown
    said = _flat(shown)
    assert "HOLD" in said and "STOP WORK. Nothing proceeds until the hold is cleared." in said
    assert f"What failed: {REASON}" in said and f"Raised by: {ACTOR[0]} (actor) at" in said
    assert f"safetycli resume {run_id}" in said

    scene = _at_a_terminal(crewed, "hold", "--scene", "14", "--reason", "smoke", "--by", "Lee")
    assert "╭" in scene and SGR_RED_BACKGROUND.search(scene), scene
    assert "STOP WORK on scene 14." in _flat(scene)


def test_plain_lines_name_each_language_of_the_set_without_box_drawing() -> None:
    """A hold said to a mixed set is said in each language piped too, each block after a line
    naming its language (the panel's rule, drawn without box characters)."""
    from safetycli import i18n
    from safetycli.cli.terminal import scene_panel
    from safetycli.production import SceneStop

    stop = SceneStop(
        scene="7",
        reason=REASON,
        raised_by={"name": "Sam Ortiz", "role": "armorer"},
        authenticated=True,
        raised_at="2026-11-23T21:40:02.000000Z",
    )
    out = io.StringIO()
    scene_panel(Console(file=out, width=100), stop, langs=["en", "es"], plain=True)
    lines = out.getvalue().splitlines()
    assert not BOX.search(out.getvalue()) and "\x1b" not in out.getvalue()
    with i18n.speaking("es"):
        spanish = i18n._("STOP WORK on scene {scene}. Nothing proceeds until it is cleared.")
    assert lines[0] == "HOLD · ALTO"
    assert lines[1] == "-- English (en) --"
    assert "STOP WORK on scene 7. Nothing proceeds until it is cleared." in lines
    spanish_at = lines.index(spanish.format(scene="7"))
    assert lines[spanish_at - 1] == "-- español (es) --"
    assert sum(REASON in line for line in lines) == 2  # what was written, in each block
