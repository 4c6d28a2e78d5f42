"""Unverified stop-work of refused laptops (unverified.py), folded and cleared, without a server:
what the pulled rows stop, and that a clearance names exactly one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safetycli import production
from safetycli.errors import SafetyError
from safetycli.events import Event
from safetycli.unverified import fold

A = "device-a"
ALARM = "fork: it does not link to event 7 (a forked chain)"


def event(
    seq: int, kind: str, data: dict[str, Any], *, run: str | None = None, h: str = ""
) -> Event:
    return Event(seq, f"2026-11-23T10:00:{seq:02d}Z", kind, run, None, data, "p", h or f"h{seq}", A)


def held(seq: int, scene: str, h: str = "") -> Event:
    data = {"scene": scene, "day": None, "reason": "smoke", "name": "A Visitor", "role": None}
    return event(seq, "scene.held", {**data, "authenticated": False}, h=h)


def rows(*events: Event) -> list[tuple[Event, str, str]]:
    return [(e, ALARM, "2026-11-23 10:05:00+00") for e in events]


class Pulled:
    """A source holding only pulled unverified rows (as the central reader offers them)."""

    def __init__(self, *events: Event, verified: list[Event] | None = None) -> None:
        self.rows = rows(*events)
        self.verified = verified or []

    def unverified_stops(self) -> list[tuple[Event, str, str]]:
        return self.rows

    def production_events(self) -> Any:
        return iter(self.verified)


def test_what_the_pulled_rows_stop() -> None:
    start = event(3, "run.started", {"scene": "14", "day": "2026-11-23"}, run="r-1")
    hold = event(4, "hold.raised", {"reason": "Safety meeting", "raised_by": None}, run="r-1")
    orphan = event(5, "hold.raised", {"reason": "no start"}, run="r-2")
    halt = event(6, "incident.reported", {"id": "i-1", "kind": "advisor-halt", "text": "stop"})
    near = event(7, "incident.reported", {"id": "i-2", "kind": "near-miss", "text": "cart"})
    stops = fold(rows(held(2, "12A"), start, hold, orphan, halt, near))
    assert [(s.what, s.scene) for s in stops] == [
        ("stop-work", "12A"),
        ("run hold", "14"),
        ("incident", None),
    ]
    assert stops[2].clear_roles == ("safety_advisor", "producer")
    assert "producer" in stops[0].clear_roles and "--scene" in stops[0].clear_command
    assert f"--unverified {A}:6" in stops[2].clear_command


def test_a_clearance_lifts_only_the_stop_work_it_names_by_hash() -> None:
    # A forked chain reuses numbers: 9 is both a verified hold on the server and another one.
    verified = held(9, "30", h="verified")
    source = Pulled(held(9, "12A", h="forked"), held(9, "12A", h="forked-again"))
    state = production.load(source)  # type: ignore[arg-type]
    with pytest.raises(SafetyError, match="names 2 stop-works"):
        production.unverified_named(source, state, f"{A}:9")  # type: ignore[arg-type]
    stop = production.unverified_named(source, state, f"{A}:9:forked-again")  # type: ignore[arg-type]
    assert stop.hash == "forked-again"

    cleared = Event(
        1,
        "2026-11-23T11:00:00Z",
        "scene.cleared",
        None,
        None,
        {
            "scene": "12A",
            "hold": 9,
            "hold_device": A,
            "hold_hash": "forked",
            "note": "ok",
            "cleared_by": [],
        },
        "p",
        "c1",
    )
    source.verified = [verified, cleared]
    state = production.load(source)  # type: ignore[arg-type]
    left = production.open_unverified(source, state)  # type: ignore[arg-type]
    assert [u.hash for u in left] == ["forked-again"]
    assert [h.seq for h in state.open_scene_holds("30")] == [9]  # the verified one stands
    board = production.StopBoard.__new__(production.StopBoard)
    board.scene_holds, board.held, board.unverified = [], [], left
    board.incidents = state.incidents
    assert [s.hold_hash for s in board.for_scene("12a")] == ["forked-again"]
    assert board.for_scene("13") == ()


def pulled_into(home: Path, scene: str) -> None:
    """A refused laptop's stop-work on `scene`, as a sync pulls it into this laptop's foreign.db
    (sealed with this laptop's key)."""
    from safetycli.central.foreign import ForeignLog, path_of
    from safetycli.ledger import Ledger, canonical_json, row_hash

    data = canonical_json(
        {"scene": scene, "day": None, "reason": "holster strap loose", "name": "A Visitor"}
        | {"role": None, "authenticated": False}
    )
    at, prev = "2026-11-23T10:00:00.000000Z", "0" * 64
    digest = row_hash(12, at, "scene.held", None, "A Visitor", data, prev)
    row = (A, 12, at, "scene.held", None, "A Visitor", data, prev, digest, ALARM, at)
    with Ledger.open(home / "log.db", create=False) as ledger:
        assert ledger.key is not None
        foreign = ForeignLog.open(path_of(ledger.path))
        assert foreign.add_unverified([row], ledger.key.foreign_seal) == 1
        foreign.close()


@pytest.mark.slow
def test_a_walk_through_at_the_keyboard_stops_when_a_refused_laptops_stop_work_arrives(
    tmp_path: Path,
) -> None:
    from tests.test_interactive import ANSWER, KEYS, NO_FACTS, TAKE_1, Crew, finished, spawn
    from tests.walk_helpers import make_workspace, protocol

    home = make_workspace(tmp_path / "ws")
    items = [item for _, item in protocol("firearm-scene").items()]
    child = spawn(home, "run", "firearm-scene", "--scene", "12A", "--day", "2026-11-23", *NO_FACTS)
    crew = Crew(child, items)
    crew.run(TAKE_1)
    child.expect(KEYS)
    child.sendline("yy")
    child.expect(ANSWER)
    pulled_into(home, "12a")  # the laptop syncs while the armorer is answering

    child.sendline("1")
    crew.run(r"Nothing proceeds until it is cleared\.")
    tail, status = finished(child)
    text = " ".join((crew.transcript + tail).replace("\u2502", " ").split())
    assert status == 3
    assert "STOP WORK on scene 12a" in text and f"from laptop {A}" in text
    assert "refused that laptop's sync" in text and "holster strap loose" in text
    assert "producer" in text and "safetycli clear --scene" in text
