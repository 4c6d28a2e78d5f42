"""Shared fixtures: every test gets its own workspace through SAFETYCLI_HOME, a fixed console
width, and no colour, so output is stable and nothing touches the developer's real workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetycli.cli import app

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("SAFETYCLI_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner) -> Path:
    """An initialised, empty workspace, selected through SAFETYCLI_HOME."""
    ws = tmp_path / "ws"
    result = cli.invoke(app, ["init", "--home", str(ws), "--production", "Test Production"])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("SAFETYCLI_HOME", str(ws))
    return ws
