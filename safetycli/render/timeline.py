"""`log show`: one run as a timeline a producer can read top to bottom.

Lines are lists of (text, style) segments, never markup strings: the CLI prints them as Rich `Text`
on a terminal (styles, no markup parsing) or as plain text when piped, so a name like `[bold]` or a
note holding an escape sequence is shown exactly as typed. Every value passes `safe.one_line`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from safetycli import events
from safetycli.render import fmt
from safetycli.render.safe import one_line

Segment = tuple[str, str]
Line = list[Segment]

_OUTCOME_STYLE = {
    "confirmed": "green",
    "refused": "bold red",
    "not-applicable": "yellow",
    "skipped-by-condition": "dim",
}


def _t(value: Any, style: str = "") -> Segment:
    return (one_line("" if value is None else value), style)


def _who(name: Any, role: Any) -> list[Segment]:
    return [_t(name, "bold"), _t(f" ({fmt.role(role)})" if role else "")]


def _where(e: dict[str, Any]) -> list[Segment]:
    """`phase take 2 · item`, or `phase break 1 · item` for an after-break check."""
    take = fmt.take(e)
    return [_t(f"{e.get('phase')}{' ' + take if take else ''} · "), _t(e.get("item"), "bold")]


def _whos(people: list[dict[str, Any]] | None) -> list[Segment]:
    line: list[Segment] = []
    for n, who in enumerate(people or []):
        line += [_t(", " if n else ""), *_who(who.get("name"), who.get("role"))]
    return line


def timeline(detail: dict[str, Any], zone: str = "UTC") -> list[Line]:
    """Header, every event in log order (PINs accepted are left out: they are in the JSON), then
    the run's exceptions in one place. Times in `zone` (the workspace's `timezone`), named once
    in the header; the JSON keeps the log's UTC."""
    d = detail
    day = d["day"]
    p = d["protocol"]
    lines: list[Line] = [
        [
            _t("Run ", "bold"),
            _t(d["id"], "bold"),
            _t(f": {p.get('id')} v{p.get('version')} · scene "),
            _t(d["scene"], "bold"),
            _t(f" · day {d['day']} · "),
            _t(d["status"].upper(), _status_style(d["status"])),
        ],
        [
            _t(f"started {fmt.clock(d['started_at'], day, zone)}"),
            _t(f", ended {fmt.clock(d['ended_at'], day, zone)}" if d["ended_at"] else ""),
            _t("" if d["ended_at"] else ", not ended"),
            _t(f" · times in {fmt.zone_label(zone, [d['started_at']])}"),
            _t(f" · protocol sha256 {str(p.get('sha256', ''))[:16]}", "dim"),
        ],
    ]
    if d["context"]:
        facts = ", ".join(f"{k}={fmt.answer(v)}" for k, v in d["context"].items())
        lines.append([_t("facts: "), _t(facts)])
    lines.append([])
    open_holds: deque[str] = deque()
    scene_raised = {h["seq"]: h["raised_at"] for h in d.get("scene_holds", [])}
    for e in d["timeline"]:
        line = _event_line(e, open_holds, scene_raised)
        if line is not None:
            lines.append([_t(f"{fmt.clock(e['at'], day, zone):>8}  ", "dim"), *line])
    lines.append([])
    lines.extend(_summary(d, zone))
    return lines


def _status_style(status: str) -> str:
    return {"complete": "bold green", "open": "bold yellow"}.get(status, "bold white on red")


def _event_line(
    e: dict[str, Any], open_holds: deque[str], scene_raised: dict[int, str]
) -> Line | None:
    kind = e["kind"]
    if kind == events.RUN_STARTED:
        return [_t("run started")]
    if kind == events.RUN_SIGNED_IN:
        return [_t("signed in  "), *_who(e["name"], e["role"])]
    if kind == events.ITEM_PERFORMED:
        line = [
            _t("performed  "),
            *_where(e),
            _t(" = "),
            _t(fmt.answer(e["answer"]), "bold"),
            _t(" · by "),
            *_who(e["name"], e["role"]),
        ]
        if not e.get("ok", True):
            line.append(_t(f" · {e.get('reason')}", "red"))
        return line
    if kind == events.ITEM_WITNESSED:
        return [
            _t("  witnessed by "),
            *_who(e["name"], e["role"]),
            _t(": "),
            _t("yes", "green") if e["ok"] else _t("NO", "bold red"),
        ]
    if kind == events.ITEM_READ_BACK:
        line = [
            _t("  read back by "),
            *_who(e["name"], e["role"]),
            _t(": "),
            _t(fmt.answer(e["answer"]), "bold"),
        ]
        if not e.get("ok", True):
            line.append(_t(f" · {e.get('reason')}", "bold red"))
        return line
    if kind == events.ITEM_DONE:
        outcome = e["outcome"]
        line = [_t(f"{outcome:<10} ", _OUTCOME_STYLE.get(outcome, "")), *_where(e)]
        if outcome in ("not-applicable", "refused") and e.get("reason"):
            line.append(_t(f": {e['reason']}", _OUTCOME_STYLE[outcome]))
        if outcome == "not-applicable" and e.get("by"):
            line += [_t(" · by "), *_who(e["by"].get("name"), e["by"].get("role"))]
        return line
    if kind == events.HOLD_RAISED:
        open_holds.append(e["at"])
        by = e.get("raised_by") or {}
        where = _where(e) if e.get("item") else [_t("whole run")]
        return [
            _t("HOLD", "bold white on red"),
            _t(" raised on "),
            *where,
            _t(" by "),
            *_who(by.get("name", "?"), by.get("role")),
            _t(": "),
            _t(e["reason"], "bold red"),
        ]
    if kind == events.HOLD_CLEARED:
        raised = open_holds.popleft() if open_holds else None
        stopped = fmt.duration(_seconds(raised, e["at"])) if raised else "?"
        line: Line = [_t("HOLD cleared", "bold green"), _t(" by "), *_whos(e.get("cleared_by"))]
        return [*line, _t(": "), _t(e["note"]), _t(f" · work stopped {stopped}", "bold")]
    if kind == events.SCENE_HELD:
        by = e.get("raised_by") or {}
        return [
            _t("STOP-WORK", "bold white on red"),
            _t(" on scene "),
            _t(e["scene"], "bold"),
            _t(" by "),
            *_who(by.get("name", "?"), by.get("role")),
            _t("" if e.get("authenticated") else " (no PIN)"),
            _t(": "),
            _t(e["reason"], "bold red"),
        ]
    if kind == events.SCENE_CLEARED:
        raised = scene_raised.get(e["hold"])
        stopped = fmt.duration(_seconds(raised, e["at"])) if raised else "?"
        return [
            _t("STOP-WORK", "bold green"),
            _t(" on scene "),
            _t(e["scene"], "bold"),
            _t(" cleared by "),
            *_whos(e.get("cleared_by")),
            _t(": "),
            _t(e["note"]),
            _t(f" · work stopped {stopped}", "bold"),
        ]
    if kind == events.ITEM_CORRECTED:
        line = [
            _t("CORRECTED ", "bold yellow"),
            *_where(e),
            _t(f": {fmt.answer(e['was'])} -> "),
            _t(fmt.answer(e["answer"]), "bold"),
            _t(" · agreed by "),
            *_whos(e.get("by")),
            _t(": "),
            _t(e["note"]),
        ]
        if e.get("recheck"):
            asked = ", ".join(str(k[2]) for k in e["recheck"])
            line.append(_t(f" · asked again: {asked}", "dim"))
        return line
    if kind == events.RUN_RESUMED:
        return [_t("resumed: a new sitting (everyone signs in again)")]
    if kind == events.RUN_PAUSED:
        return [_t(f"paused {e['minutes']} min: the after-break checks come first", "bold")]
    if kind == events.TAKE_NEXT:
        return [_t(f"take {e['take']} called ({e['group']})", "bold")]
    if kind == events.TAKES_WRAPPED:
        return [_t(f"takes wrapped after take {e['takes']} ({e['group']})")]
    if kind == events.RUN_COMPLETED:
        return [_t("run COMPLETE", "bold green")]
    if kind == events.RUN_ABORTED:
        by = e.get("by") or {}
        return [
            _t("run ABORTED", "bold white on red"),
            _t(" by "),
            *_who(by.get("name", "?"), by.get("role")),
            _t(": "),
            _t(e.get("reason")),
        ]
    if kind == events.AUTH_FAILED:
        return [
            _t("PIN refused", "bold red"),
            _t(" "),
            *_who(e.get("name", e.get("person")), e.get("role")),
            _t(f" for {e.get('purpose')}: {fmt.pin_reason(e.get('reason'))}"),
        ]
    if kind == events.AUTH_LOCKED:
        return [
            _t("LOCKED OUT", "bold white on red"),
            _t(" "),
            *_who(e.get("name", e.get("person")), None),
            _t(f" after {e.get('failures')} wrong PINs"),
        ]
    if kind in (events.AUTH_OK, events.AUTH_ATTEMPT):
        return None
    return [_t(kind, "dim")]


def _seconds(start: str, end: str) -> float | None:
    from safetycli.review import seconds_between

    return seconds_between(start, end)


def _summary(d: dict[str, Any], zone: str) -> list[Line]:
    lines: list[Line] = []

    def at(when: str | None) -> str:
        return fmt.clock(when, d["day"], zone)

    if d["signed_in"]:
        line: Line = [_t("Roll call: ", "bold")]
        for n, (role, name, sittings) in enumerate(fmt.roll_call(d["signed_in"])):
            more = f", {sittings} sittings" if sittings > 1 else ""
            line += [_t("; " if n else ""), _t(name, "bold"), _t(f" ({fmt.role(role)}{more})")]
        lines.append(line)
    if d["holds"]:
        lines.append([_t(f"Holds ({len(d['holds'])}):", "bold")])
        for h in d["holds"]:
            cleared: Line = (
                [
                    _t(f"cleared {at(h['cleared_at'])} by {fmt.whos(h['cleared_by'])}: "),
                    _t(h["note"]),
                ]
                if h["cleared_at"]
                else [_t("NOT CLEARED", "bold white on red")]
            )
            lines.append(
                [
                    _t(f"  {fmt.item_ref(h)}: raised {at(h['raised_at'])} "),
                    _t(f"by {fmt.who(h['raised_by'])}: "),
                    _t(h["reason"], "red"),
                    _t(" · "),
                    *cleared,
                    _t(f" · work stopped {fmt.duration(h['stopped_seconds'])}", "bold"),
                ]
            )
    if d.get("scene_holds"):
        lines.append([_t(f"Stop-work on scene {d['scene']} ({len(d['scene_holds'])}):", "bold")])
        for h in d["scene_holds"]:
            checked = "" if h["authenticated"] else " (no PIN)"
            cleared: Line = (
                [
                    _t(f"cleared {at(h['cleared_at'])} by {fmt.whos(h['cleared_by'])}: "),
                    _t(h["note"]),
                ]
                if h["cleared_at"]
                else [_t("NOT CLEARED", "bold white on red")]
            )
            lines.append(
                [
                    _t(f"  raised {at(h['raised_at'])} by {fmt.who(h['raised_by'])}{checked}: "),
                    _t(h["reason"], "red"),
                    _t(" · "),
                    *cleared,
                    _t(f" · work stopped {fmt.duration(h['stopped_seconds'])}", "bold"),
                ]
            )
    if d.get("corrections"):
        lines.append([_t(f"Corrections ({len(d['corrections'])}):", "bold")])
        for c in d["corrections"]:
            lines.append(
                [
                    _t(f"  {fmt.item_ref(c)}: {fmt.answer(c['was'])} -> "),
                    _t(fmt.answer(c["answer"]), "bold"),
                    _t(f" by {fmt.whos(c['by'])}: "),
                    _t(c["note"]),
                ]
            )
    if d["not_applicable"]:
        lines.append([_t(f"Not applicable ({len(d['not_applicable'])}):", "bold")])
        for o in d["not_applicable"]:
            lines.append([_t(f"  {fmt.item_ref(o)} by {fmt.who(o['by'])}: "), _t(o["reason"])])
    failed = [f for f in d["failed_pins"] if f["kind"] == events.AUTH_FAILED]
    locked = [f for f in d["failed_pins"] if f["kind"] == events.AUTH_LOCKED]
    if failed or locked:
        lines.append(
            [_t(f"Failed PIN attempts: {len(failed)}; lock-outs: {len(locked)}", "bold red")]
        )
    if d["not_signed_in"]:
        lines.append(
            [_t(f"Signatures by someone not signed in: {len(d['not_signed_in'])}", "bold red")]
        )
        for u in d["not_signed_in"]:
            lines.append(
                [_t(f"  {at(u['at'])} {fmt.item_ref(u)} {u['meaning']} by {fmt.who(u)}", "red")]
            )
    else:
        lines.append(
            [_t(f"All {d['signatures']} signatures were by people signed in for their role.")]
        )
    return lines
