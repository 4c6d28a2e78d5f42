"""The README's command table is what crews and producers read first: it must name every command
the tool has, and nothing it lacks; every command must say what it does in --help."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from safetycli.cli import app
from tests.conftest import REPO


def _commands() -> dict[str, object]:
    """Command paths (`crew add`, `run`) mapped to their click command objects."""
    root = typer.main.get_command(app)
    found: dict[str, object] = {}

    def walk(group: object, prefix: str) -> None:
        for name, command in group.commands.items():  # type: ignore[attr-defined]
            path = f"{prefix}{name}"
            if hasattr(command, "commands"):
                walk(command, path + " ")
            else:
                found[path] = command

    walk(root, "")
    return found


def _readme_commands() -> set[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    paths = set()
    for cell in re.findall(r"^\| `safetycli ([^`]+)`", text, flags=re.MULTILINE):
        words = []
        for word in cell.split():
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        paths.add(" ".join(words))
    return paths


def test_every_command_has_help_text() -> None:
    missing = [path for path, cmd in _commands().items() if not (cmd.help or "").strip()]  # type: ignore[attr-defined]
    assert missing == []


def test_readme_command_table_matches_the_tool() -> None:
    assert _readme_commands() == set(_commands())


def test_readme_shows_the_two_setup_commands() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text


def test_the_readme_protocol_example_is_a_valid_protocol(tmp_path: Path) -> None:
    """Authors copy the README's example: it must pass the validator as printed."""
    from safetycli.protocol import check_file

    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("```yaml\nid: ") + len("```yaml\n")
    example = tmp_path / "example.yaml"
    example.write_text(text[start : text.index("```", start)], encoding="utf-8")
    protocol, problems = check_file(example)
    assert [str(p) for p in problems] == []
    assert protocol is not None and protocol.item("rounds-unfired").critical
