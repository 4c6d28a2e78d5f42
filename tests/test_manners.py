"""CLI manners: `--home` on either side of the command, `--version`, every usage error as one
line on stderr (exit 2), no GetPassWarning when there is no terminal, and `make run` saying
what a demo hold means instead of `make: *** Error 3`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from safetycli import __version__
from safetycli.cli import app
from tests.walk_helpers import (
    FIRST_AD,
    invoke,
    log_list,
    ok,
    refused,
    safetycli_argv,
    start,
    subprocess_env,
    write_answers,
)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """The workspace, named only on the command line: no SAFETYCLI_HOME, and a current folder
    with no workspace above it."""
    monkeypatch.delenv("SAFETYCLI_HOME")
    away = tmp_path / "away"
    away.mkdir()
    monkeypatch.chdir(away)
    return home


def test_home_is_accepted_before_or_after_the_command(cli: CliRunner, elsewhere: Path) -> None:
    before = ok(cli, ["--home", str(elsewhere), "status"])
    after = ok(cli, ["status", "--home", str(elsewhere)])
    assert before.stdout == after.stdout
    assert "No open or held runs" in before.stdout
    # Nested commands too.
    assert "role" in ok(cli, ["--home", str(elsewhere), "crew", "roles"]).stdout
    assert "no workspace here" in refused(cli, ["status"])


def test_home_after_the_command_wins_then_before_it_then_the_environment(
    cli: CliRunner, elsewhere: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing"
    assert "no workspace at" in refused(
        cli, ["--home", str(elsewhere), "status", "--home", str(missing)]
    )
    ok(cli, ["--home", str(missing), "status", "--home", str(elsewhere)])
    env = {"SAFETYCLI_HOME": str(missing)}
    assert cli.invoke(app, ["--home", str(elsewhere), "status"], env=env).exit_code == 0
    assert cli.invoke(app, ["status"], env=env).exit_code == 2


def test_version(cli: CliRunner) -> None:
    result = ok(cli, ["--version"])
    assert result.stdout.strip() == f"safetycli {__version__}"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["report", "--format", "pdf"], ["--format", "pdf", "md, html, json, csv"]),
        (["log", "list", "--format", "xml"], ["--format", "xml", "table, json, csv"]),
        (["status", "--bogus"], ["--bogus"]),
        (["run"], ["PROTOCOL"]),
        (["run", "firearm-scene"], ["--scene"]),
        (["stauts"], ["stauts", "status"]),
        (["status", "--watch", "--interval", "0"], ["--interval", "at least 0.2"]),
        (["status", "--watch", "--interval", "soon"], ["--interval", "soon", "a number"]),
    ],
)
def test_every_usage_error_is_one_line_on_stderr(
    cli: CliRunner, home: Path, args: list[str], says: list[str]
) -> None:
    result = invoke(cli, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    for words in says:
        assert words in line
    for noise in ("Usage:", "Try '", "Value error", "Input should", "╭"):
        assert noise not in line


def _no_terminal(args: list[str], home: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """safetycli as cron or a CI job starts it: no controlling terminal, stdin not a terminal."""
    return subprocess.run(
        [*safetycli_argv(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=subprocess_env(home),
        start_new_session=True,
        timeout=60,
    )


def test_without_a_terminal_a_pin_prompt_says_use_pin_stdin(crewed: Path) -> None:
    done = _no_terminal(["crew", "add", "Lee Grip", "--role", "actor"], crewed)
    assert done.returncode == 2
    assert "GetPassWarning" not in done.stderr and "echoed" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ") and "--pin-stdin" in line
    # A walk-through says how to run without a keyboard, before any run starts.
    walk = _no_terminal(["run", "firearm-scene", "--scene", "9"], crewed)
    assert walk.returncode == 2 and "--answers FILE" in walk.stderr
    assert "GetPassWarning" not in walk.stderr


def test_without_a_terminal_a_hold_still_stops_work_without_a_pin(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml", drop=("meeting-held",)), expect=4)
    done = _no_terminal(["hold", run_id, "--reason", "smoke", "--by", FIRST_AD[0]], crewed)
    assert done.returncode == 0, done.stderr
    assert "GetPassWarning" not in done.stderr
    assert "without a PIN" in done.stderr
    assert next(r for r in log_list(cli) if r["id"] == run_id)["status"] == "held"


@pytest.mark.slow
def test_make_run_explains_a_demo_hold_and_exits_0(tmp_path: Path) -> None:
    """The demo at a keyboard, answered "no" at the first check: a hold, explained."""
    from safetycli.demo import CREW, PRODUCER

    pins = {name: pin for name, _, pin in [PRODUCER, *CREW]}
    env = subprocess_env(tmp_path)
    del env["SAFETYCLI_HOME"]
    child = pexpect.spawn(
        sys.executable,
        ["-m", "safetycli.demo"],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    while True:
        found = child.expect(
            [
                r"your name[^\n]*: $",
                r"(?:^|\n)([^\n,]+), your PIN: $",
                r"\[y/n\]: $",
                r"yes or no: $",
                r"type (\d+) letters?, y or n[^\n]*, then Enter: $",
                pexpect.EOF,
            ]
        )
        if found == 0:
            child.sendline("")  # one person per role: the name is offered
        elif found == 1:
            child.sendline(pins[child.match.group(1).strip()])
        elif found == 2:
            child.sendline("n")
        elif found == 3:
            child.sendline("n")  # the first check fails: a hold
        elif found == 4:  # a batch of yes/no checks: the first one fails
            child.sendline("n" + "y" * (int(child.match.group(1)) - 1))
        else:
            break
    child.close()
    said = child.before or ""
    assert child.exitstatus == 0
    assert "HOLD" in said
    # What to type next, with the demo's workspace named: the panel alone would not say where.
    assert re.search(r"--home \S+ clear r-\w+", said) and re.search(r"resume r-\w+", said)
    assert "Traceback" not in said
