"""The keyboard frontend's own rules, without a terminal: what is hidden and what is asked."""

from __future__ import annotations

import io
from typing import Any

import pytest
import typer
from rich.console import Console

from safetycli.cli.terminal import TerminalFrontend
from safetycli.runner import Ask, RunState
from tests.walk_helpers import protocol


def _ask(item_id: str) -> tuple[Ask, Any]:
    proto = protocol()
    phase, item = next((p, i) for p, i in proto.items() if i.id == item_id)
    take = 1 if phase.repeat == "per_take" else None
    return Ask(phase, item, take, "performed", item.by, "Sam Ortiz", item.critical), proto


@pytest.mark.parametrize(
    ("item_id", "hidden"), [("state-announced", True), ("bore-checked", False)]
)
def test_an_answer_to_be_read_back_is_typed_hidden(
    monkeypatch: pytest.MonkeyPatch, item_id: str, hidden: bool
) -> None:
    """The actor says back what they heard; they must not read it off the screen."""
    seen: list[bool] = []

    def prompt(text: str, hide_input: bool = False, **_: Any) -> str:
        seen.append(hide_input)
        return "1" if item_id == "state-announced" else "yes"

    monkeypatch.setattr(typer, "prompt", prompt)
    step, proto = _ask(item_id)
    frontend = TerminalFrontend(Console(file=io.StringIO()), proto)
    frontend.answer(step, RunState("r-test"), proto)
    assert seen == [hidden]
