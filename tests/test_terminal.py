"""The keyboard frontend's own rules, without a terminal: what is hidden and what is asked."""

from __future__ import annotations

import io
from typing import Any

import pytest
import typer
from rich.console import Console

from safetycli.cli.terminal import TerminalFrontend
from safetycli.events import Event
from safetycli.runner import Ask, RunState, Skip, Stopped
from safetycli.session import (
    EventNotice,
    MovedNotice,
    RollCallNotice,
    SignedInNotice,
    SkippedNotice,
    StoppedNotice,
)
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


def test_a_rehearsal_asks_for_another_run_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """The words people use: a rehearsal's protocol calls a pass a run-through."""
    from safetycli.runner import AnotherTake

    asked: list[str] = []

    def prompt(text: str, **_: Any) -> str:
        asked.append(text)
        return "n"

    monkeypatch.setattr(typer, "prompt", prompt)
    for protocol_id, word in (("rehearsal", "run-through"), ("firearm-scene", "take")):
        proto = protocol(protocol_id)
        block = tuple(p for p in proto.phases if p.repeat == "per_take")
        screen = io.StringIO()
        frontend = TerminalFrontend(Console(file=screen, width=100), proto)
        assert frontend.another_take(AnotherTake(block[0].id, 1, block)) is False
        assert asked[-1] == f"1st AD: another {word}? (no wraps the scene) [y/n]"
        assert f"{word.capitalize()} 1: the checks before it are done." in screen.getvalue()


def _event(kind: str, **data: Any) -> Event:
    return Event(1, "2026-11-23T10:00:00Z", kind, "r-test", None, data, "", "")


def test_each_notice_reads_as_the_crew_sees_it() -> None:
    """What the walk-through says between questions, one line per notice; the events nobody
    needs to see (a skip's own item.done, a hold's event before its panel) say nothing."""
    step, proto = _ask("bore-checked")
    skip = Skip(step.phase, step.item, step.take, "only when blanks")
    state = RunState("r-test")
    screen = io.StringIO()
    frontend = TerminalFrontend(Console(file=screen, width=100, no_color=True), proto)
    for notice in (
        RollCallNotice(("first_ad", "dp", "safety_rep")),
        SignedInNotice("Dana Reyes", "first_ad"),
        SkippedNotice(skip),
        EventNotice(_event("item.done", outcome="skipped-by-condition"), state),
        EventNotice(_event("item.signed-off", name="Jo Park", role="dp", items=[{}, {}]), state),
        EventNotice(_event("item.done", outcome="confirmed"), state),
        EventNotice(_event("item.done", outcome="refused", reason="answered no"), state),
        EventNotice(_event("hold.raised", reason="answered no"), state),
        EventNotice(_event("take.next", take=2), state),
        EventNotice(_event("takes.wrapped", takes=2), state),
        MovedNotice(step, Stopped("held", None), state),
        MovedNotice(step, step, state),
        StoppedNotice("aborted", state, None),
    ):
        frontend.show(notice)
    assert screen.getvalue().splitlines() == [
        "",
        "Sign in: 1st AD, DP, safety rep, your checks come next.",
        "  Signed in: Dana Reyes as 1st AD",
        f"  Skipped: {step.item.question} (only when blanks)",
        "  Signed: Jo Park (DP), 2 checks",
        "  REFUSED: answered no",
        "",
        "Take 2",
        "  Wrapped after 2 take(s).",
        "Not recorded: the run moved on while that answer was given (the run is held now).",
        "Not recorded: the run moved on while that answer was given (it was answered elsewhere).",
        "Run r-test was aborted.",
    ]


# --- the red panels on a mixed set ----------------------------------------------------------------


def _panel_text(draw: Any) -> str:
    out = io.StringIO()
    draw(Console(file=out, width=100, color_system=None))
    return " ".join(out.getvalue().replace("│", " ").split())


def test_the_incident_and_scene_stop_panels_are_said_in_each_language_of_the_set() -> None:
    """A walk-through's INCIDENT and scene stop-work panels, like the HOLD panel, say their
    words in the laptop's language and then in each other language of the people signed in."""
    from safetycli import i18n
    from safetycli.cli.terminal import freeze_panel, scene_panel
    from safetycli.production import SceneStop

    stop = SceneStop(
        scene="7",
        reason="smoke near the cart",
        raised_by={"name": "Sam Ortiz", "role": "armorer"},
        authenticated=True,
        raised_at="2026-11-23T21:40:02.000000Z",
    )
    both = ["en", "es"]
    scene = _panel_text(lambda c: scene_panel(c, stop, resume="r-1a2b3c", langs=both))
    freeze = _panel_text(lambda c: freeze_panel(c, "misfire", "i-1a2b3c", langs=both))
    alone = _panel_text(lambda c: scene_panel(c, stop, resume="r-1a2b3c"))
    english = {
        "scene": "STOP WORK on scene {scene}. Nothing proceeds until it is cleared.",
        "incident": "INCIDENT RECORDED: {kind} ({incident}).",
    }
    with i18n.speaking("es"):
        spanish = {key: i18n._(words).split("{")[0] for key, words in english.items()}
    assert spanish != {key: words.split("{")[0] for key, words in english.items()}
    for key, text in (("scene", scene), ("incident", freeze)):
        said_en, said_es = english[key].split("{")[0], spanish[key]
        assert said_en in text and said_es in text, text
        assert text.index(said_en) < text.index("español (es)") < text.index(said_es)
    assert "ALTO" in scene.split("STOP WORK")[0]  # the title carries both words
    assert "smoke near the cart" in scene  # what a person wrote, as written, in each block
    assert scene.count("smoke near the cart") == 2
    assert spanish["scene"] not in alone and "español" not in alone
