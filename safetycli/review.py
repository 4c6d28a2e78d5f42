"""Projections for people reviewing the log: run summaries, one run's full record, the set now.

Everything here is derived from the log by replay; nothing is stored. The JSON shapes of
`run_detail` and `run_summary` are a contract (DESIGN.md) that scripts depend on: add keys, never
rename or remove them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from safetycli.ledger import Event, Ledger
from safetycli.runner import RunState, replay

AUTH_KINDS = ("auth.failed", "auth.locked")


def run_ids(ledger: Ledger) -> list[str]:
    """Every run, newest first."""
    ids = [e.run for e in ledger.events(kinds=["run.started"]) if e.run]
    ids.reverse()
    return ids


def run_events(ledger: Ledger, run_id: str) -> list[Event]:
    return list(ledger.events(run=run_id))


def summary(state: RunState) -> dict[str, Any]:
    return {
        "id": state.run_id,
        "protocol": state.protocol.get("id"),
        "scene": state.scene,
        "day": state.day,
        "status": state.status,
        "started_at": state.started_at,
        "ended_at": state.ended_at,
        "holds": len(state.holds),
    }


def run_summaries(ledger: Ledger) -> Iterator[dict[str, Any]]:
    for run_id in run_ids(ledger):
        yield summary(replay(run_id, ledger.events(run=run_id)))


def run_detail(ledger: Ledger, run_id: str) -> dict[str, Any]:
    """One run, in order: every sign-off with its witnesses and read-backs, holds, exceptions."""
    events = run_events(ledger, run_id)
    state = replay(run_id, events)
    signoffs: list[dict[str, Any]] = []
    open_items: dict[tuple[Any, ...], dict[str, Any]] = {}
    outcomes: list[dict[str, Any]] = []
    failed_pins: list[dict[str, Any]] = []
    sign_ins: list[dict[str, Any]] = []
    for event in events:
        data = event.data
        key = (data.get("phase"), data.get("take"), data.get("item"))
        if event.kind == "item.performed":
            entry = {
                "seq": event.seq,
                "at": event.at,
                "phase": data["phase"],
                "take": data["take"],
                "item": data["item"],
                "answer": data["answer"],
                "by": {"name": data["name"], "role": data["role"]},
                "meaning": "performed",
                "witnesses": [],
                "readbacks": [],
                "outcome": None,
                "reason": data.get("reason"),
            }
            signoffs.append(entry)
            open_items[key] = entry
        elif event.kind == "item.witnessed" and key in open_items:
            open_items[key]["witnesses"].append(
                {"name": data["name"], "role": data["role"], "ok": data["ok"], "at": event.at}
            )
        elif event.kind == "item.read-back" and key in open_items:
            open_items[key]["readbacks"].append(
                {
                    "name": data["name"],
                    "role": data["role"],
                    "answer": data["answer"],
                    "ok": data["ok"],
                    "at": event.at,
                }
            )
        elif event.kind == "item.done":
            if key in open_items:
                open_items.pop(key)["outcome"] = data["outcome"]
            outcomes.append(
                {
                    "seq": event.seq,
                    "at": event.at,
                    "phase": data["phase"],
                    "take": data["take"],
                    "item": data["item"],
                    "outcome": data["outcome"],
                    "reason": data.get("reason"),
                    "by": data.get("by"),
                }
            )
        elif event.kind == "run.signed-in":
            sign_ins.append({"name": data["name"], "role": data["role"], "at": event.at})
        elif event.kind in AUTH_KINDS:
            failed_pins.append(
                {
                    "at": event.at,
                    "kind": event.kind,
                    "name": data.get("name", event.person),
                    "role": data.get("role"),
                    "purpose": data.get("purpose"),
                }
            )
    holds = [
        {
            "item": h.key[2] if h.key else None,
            "phase": h.key[0] if h.key else None,
            "take": h.key[1] if h.key else None,
            "raised_at": h.raised_at,
            "raised_by": h.raised_by,
            "reason": h.reason,
            "cleared_at": h.cleared_at,
            "cleared_by": h.cleared_by,
            "note": h.note,
        }
        for h in state.holds
    ]
    return {
        "id": run_id,
        "protocol": dict(state.protocol),
        "scene": state.scene,
        "day": state.day,
        "status": state.status,
        "context": state.context,
        "started_at": state.started_at,
        "ended_at": state.ended_at,
        "signed_in": sign_ins,
        "signoffs": signoffs,
        "outcomes": outcomes,
        "not_applicable": [o for o in outcomes if o["outcome"] == "not-applicable"],
        "holds": holds,
        "failed_pins": failed_pins,
        "aborted": state.aborted,
    }


def set_status(ledger: Ledger) -> list[dict[str, Any]]:
    """Open and held runs with their outstanding hold and who is signed in for each role."""
    out = []
    for run_id in run_ids(ledger):
        state = replay(run_id, ledger.events(run=run_id))
        if state.status not in ("open", "held"):
            continue
        hold = state.open_hold
        out.append(
            {
                **summary(state),
                "signed_in": dict(state.signed_in),
                "hold": None
                if hold is None
                else {
                    "reason": hold.reason,
                    "raised_at": hold.raised_at,
                    "raised_by": hold.raised_by,
                    "item": hold.key[2] if hold.key else None,
                },
            }
        )
    return out
