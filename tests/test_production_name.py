"""The production's name: it heads every report and sits in config.toml, which every command
reads first, so a name `init` takes must never leave a workspace no command can open."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from safetycli.cli import app
from safetycli.workspace import toml_string
from tests.walk_helpers import ok, one_line_error


def test_a_name_with_a_control_or_invisible_character_is_refused_and_nothing_is_made(
    cli: CliRunner, tmp_path: Path
) -> None:
    for bad in ("Night\x7fUnit", "Night\u200bUnit", "Night\x1bUnit", "   "):
        home = tmp_path / "ws"
        result = cli.invoke(app, ["init", "--home", str(home), "--production", bad])
        line = one_line_error(result)
        assert "--production" in line and "nothing was created" in line
        assert not (home / "config.toml").exists()


def test_an_awkward_but_plain_name_is_kept_exactly_and_every_command_reads_it(
    cli: CliRunner, tmp_path: Path
) -> None:
    name = 'El "Último" \\ Tren 🚂 — Unit 2'
    home = tmp_path / "ws"
    ok(cli, ["init", "--home", str(home), "--production", f"  {name}  "])
    assert tomllib.loads((home / "config.toml").read_text())["production"] == name
    ok(cli, ["status", "--home", str(home)])
    report = ok(cli, ["report", "--home", str(home), "--format", "json"]).stdout
    assert json.loads(report)["production"] == name


@given(st.text())
def test_any_text_is_written_as_a_toml_string_that_reads_back(text: str) -> None:
    """A name received from another laptop (a join) is written as it came: DEL escaped, and a
    lone surrogate (no character at all) as U+FFFD."""
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    assert tomllib.loads(f"x = {toml_string(text)}\n")["x"] == expected
