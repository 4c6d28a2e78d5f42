"""`log show`: one run as a timeline a producer can read top to bottom.

Lines are lists of (text, style) segments, never markup strings: the CLI prints them as Rich `Text`
on a terminal (styles, no markup parsing) or as plain text when piped, so a name like `[bold]` or a
note holding an escape sequence is shown exactly as typed. Every value passes `safe.one_line`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from safetycli import events
from safetycli.i18n import N_, _
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


def _said(message: str, style: str = "", **values: Any) -> Line:
    """A whole sentence in the reader's language as segments: its words in `style`, each
    `{placeholder}` filled with a value (plain text in `style`, one segment, or a list of them),
    so a translation can move a styled name or answer anywhere in the sentence."""
    import string

    line: Line = []
    for literal, field, _spec, _conversion in string.Formatter().parse(message):
        if literal:
            line.append(_t(literal, style))
        if field is None:
            continue
        value = values[field]
        if isinstance(value, list):
            line.extend(value)
        elif isinstance(value, tuple):
            line.append(value)
        else:
            line.append(_t(value, style))
    return line


def _who(name: Any, role: Any) -> list[Segment]:
    return [_t(name, "bold"), _t(f" ({fmt.role(role)})" if role else "")]


def _where(e: dict[str, Any]) -> list[Segment]:
    """`phase take 2 · item`, or `phase break 1 · item` for an after-break check."""
    take = fmt.take_said(e)
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
    start = fmt.clock(d["started_at"], day, zone)
    if d["ended_at"]:
        when = _said(
            _("started {start}, ended {end}"), start=start, end=fmt.clock(d["ended_at"], day, zone)
        )
    else:
        when = _said(_("started {start}, not ended"), start=start)
    lines: list[Line] = [
        _said(
            _("Run {run}: {protocol} v{version} · scene {scene} · day {day} · {status}"),
            run=_t(d["id"], "bold"),
            protocol=p.get("id"),
            version=p.get("version"),
            scene=_t(d["scene"], "bold"),
            day=d["day"],
            status=_t(fmt.status(d["status"]).upper(), _status_style(d["status"])),
        ),
        [
            *when,
            *_said(_(" · times in {zone}"), zone=fmt.zone_label(zone, [d["started_at"]])),
            *_said(_(" · protocol sha256 {sha256}"), "dim", sha256=str(p.get("sha256", ""))[:16]),
        ],
    ]
    if d["context"]:
        facts = ", ".join(f"{k}={fmt.answer(v)}" for k, v in d["context"].items())
        lines.append(_said(_("facts: {facts}"), facts=facts))
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
        return [_t(_("run started"))]
    if kind == events.RUN_SIGNED_IN:
        return _said(_("signed in  {who}"), who=_who(e["name"], e["role"]))
    if kind == events.ITEM_PERFORMED:
        line = _said(
            _("performed  {check} = {answer} · by {who}"),
            check=_where(e),
            answer=_t(fmt.answer(e["answer"]), "bold"),
            who=_who(e["name"], e["role"]),
        )
        if not e.get("ok", True):
            line.append(_t(f" · {e.get('reason')}", "red"))
        return line
    # A witness or a read-back names its check: one sitting's signatures are written together,
    # so the line above is often another check (the witness's own, or the next one performed).
    if kind == events.ITEM_WITNESSED:
        return _said(
            _("  witnessed {check} by {who}: {answer}"),
            check=_where(e),
            who=_who(e["name"], e["role"]),
            answer=_t(_("yes"), "green") if e["ok"] else _t(_("NO"), "bold red"),
        )
    if kind == events.ITEM_READ_BACK:
        line = _said(
            _("  read back {check} by {who}: {answer}"),
            check=_where(e),
            who=_who(e["name"], e["role"]),
            answer=_t(fmt.answer(e["answer"]), "bold"),
        )
        if not e.get("ok", True):
            line.append(_t(f" · {e.get('reason')}", "bold red"))
        return line
    if kind == events.ITEM_DONE:
        outcome = e["outcome"]
        line = [_t(f"{_outcome(outcome):<10} ", _OUTCOME_STYLE.get(outcome, "")), *_where(e)]
        if outcome in ("not-applicable", "refused") and e.get("reason"):
            line.append(_t(f": {e['reason']}", _OUTCOME_STYLE[outcome]))
        if outcome == "not-applicable" and e.get("by"):
            line += _said(_(" · by {who}"), who=_who(e["by"].get("name"), e["by"].get("role")))
        return line
    if kind == events.HOLD_RAISED:
        open_holds.append(e["at"])
        by = e.get("raised_by") or {}
        where = _where(e) if e.get("item") else [_t(_("whole run"))]
        return _said(
            _("{HOLD} raised on {check} by {who}: {reason}"),
            HOLD=_t(_("HOLD"), "bold white on red"),
            check=where,
            who=_who(by.get("name", "?"), by.get("role")),
            reason=_t(e["reason"], "bold red"),
        )
    if kind == events.HOLD_CLEARED:
        raised = open_holds.popleft() if open_holds else None
        stopped = fmt.duration(_seconds(raised, e["at"])) if raised else "?"
        return _said(
            _("{HOLD} cleared by {who}: {note} · work stopped {stopped}"),
            HOLD=_t(_("HOLD"), "bold green"),
            who=_whos(e.get("cleared_by")),
            note=e["note"],
            stopped=_t(stopped, "bold"),
        )
    if kind == events.SCENE_HELD:
        by = e.get("raised_by") or {}
        if e.get("authenticated"):
            said = _("{STOP} on scene {scene} by {who}: {reason}")
        else:
            said = _("{STOP} on scene {scene} by {who} (no PIN): {reason}")
        return _said(
            said,
            STOP=_t(_("STOP-WORK"), "bold white on red"),
            scene=_t(e["scene"], "bold"),
            who=_who(by.get("name", "?"), by.get("role")),
            reason=_t(e["reason"], "bold red"),
        )
    if kind == events.SCENE_CLEARED:
        raised = scene_raised.get(e["hold"])
        stopped = fmt.duration(_seconds(raised, e["at"])) if raised else "?"
        return _said(
            _("{STOP} on scene {scene} cleared by {who}: {note} · work stopped {stopped}"),
            STOP=_t(_("STOP-WORK"), "bold green"),
            scene=_t(e["scene"], "bold"),
            who=_whos(e.get("cleared_by")),
            note=e["note"],
            stopped=_t(stopped, "bold"),
        )
    if kind == events.ITEM_CORRECTED:
        line = _said(
            _("{CORRECTED} {check}: {was} -> {now} · agreed by {who}: {note}"),
            CORRECTED=_t(_("CORRECTED"), "bold yellow"),
            check=_where(e),
            was=fmt.answer(e["was"]),
            now=_t(fmt.answer(e["answer"]), "bold"),
            who=_whos(e.get("by")),
            note=e["note"],
        )
        if e.get("recheck"):
            asked = ", ".join(str(k[2]) for k in e["recheck"])
            line += _said(_(" · asked again: {checks}"), "dim", checks=asked)
        return line
    if kind == events.RUN_RESUMED:
        return [_t(_("resumed: a new sitting (everyone signs in again)"))]
    if kind == events.RUN_PAUSED:
        return _said(_("paused {n} min: the after-break checks come first"), "bold", n=e["minutes"])
    if kind == events.TAKE_NEXT:
        return _said(_("take {n} called ({group})"), "bold", n=e["take"], group=e["group"])
    if kind == events.TAKES_WRAPPED:
        return _said(_("takes wrapped after take {n} ({group})"), n=e["takes"], group=e["group"])
    if kind == events.RUN_COMPLETED:
        return [_t(_("run COMPLETE"), "bold green")]
    if kind == events.RUN_ABORTED:
        by = e.get("by") or {}
        return _said(
            _("{ABORTED} by {who}: {reason}"),
            ABORTED=_t(_("run ABORTED"), "bold white on red"),
            who=_who(by.get("name", "?"), by.get("role")),
            reason=e.get("reason"),
        )
    if kind == events.AUTH_FAILED:
        return _said(
            _("{REFUSED} {who} for {purpose}: {why}"),
            REFUSED=_t(_("PIN refused"), "bold red"),
            who=_who(e.get("name", e.get("person")), e.get("role")),
            purpose=e.get("purpose"),
            why=fmt.pin_reason(e.get("reason")),
        )
    if kind == events.AUTH_LOCKED:
        return _said(
            _("{LOCKED} {who} after {n} wrong PINs"),
            LOCKED=_t(_("LOCKED OUT"), "bold white on red"),
            who=_who(e.get("name", e.get("person")), None),
            n=e.get("failures"),
        )
    if kind in (events.AUTH_OK, events.AUTH_ATTEMPT):
        return None
    return [_t(kind, "dim")]


def _outcome(code: str) -> str:
    """An item's outcome as people read it; the log, JSON and CSV keep the code."""
    said = OUTCOMES.get(code)
    return _(said) if said is not None else code


OUTCOMES = {
    "confirmed": N_("confirmed"),
    "refused": N_("refused"),
    "not-applicable": N_("not-applicable"),
    "skipped-by-condition": N_("skipped-by-condition"),
}


def _seconds(start: str, end: str) -> float | None:
    from safetycli.review import seconds_between

    return seconds_between(start, end)


def _summary(d: dict[str, Any], zone: str) -> list[Line]:
    lines: list[Line] = []

    def at(when: str | None) -> str:
        return fmt.clock(when, d["day"], zone)

    if d["signed_in"]:
        line: Line = [_t(_("Roll call: "), "bold")]
        for n, (role, name, sittings) in enumerate(fmt.roll_call(d["signed_in"])):
            if sittings > 1:
                said = _("{name} ({role}, {n} sittings)")
            else:
                said = _("{name} ({role})")
            line += [_t("; " if n else "")]
            line += _said(said, name=_t(name, "bold"), role=fmt.role(role), n=sittings)
        lines.append(line)

    def cleared(h: dict[str, Any]) -> Line:
        if not h["cleared_at"]:
            return [_t(_("NOT CLEARED"), "bold white on red")]
        return _said(
            _("cleared {at} by {who}: {note}"),
            at=at(h["cleared_at"]),
            who=fmt.whos(h["cleared_by"]),
            note=h["note"],
        )

    def stopped(h: dict[str, Any]) -> Line:
        return _said(_(" · work stopped {time}"), "bold", time=fmt.duration(h["stopped_seconds"]))

    if d["holds"]:
        lines.append(_said(_("Holds ({n}):"), "bold", n=len(d["holds"])))
        for h in d["holds"]:
            lines.append(
                [
                    *_said(
                        _("  {check}: raised {at} by {who}: {reason}"),
                        check=fmt.item_ref(h),
                        at=at(h["raised_at"]),
                        who=fmt.who(h["raised_by"]),
                        reason=_t(h["reason"], "red"),
                    ),
                    _t(" · "),
                    *cleared(h),
                    *stopped(h),
                ]
            )
    if d.get("scene_holds"):
        lines.append(
            _said(
                _("Stop-work on scene {scene} ({n}):"),
                "bold",
                scene=d["scene"],
                n=len(d["scene_holds"]),
            )
        )
        for h in d["scene_holds"]:
            if h["authenticated"]:
                raised = _("  raised {at} by {who}: {reason}")
            else:
                raised = _("  raised {at} by {who} (no PIN): {reason}")
            lines.append(
                [
                    *_said(
                        raised,
                        at=at(h["raised_at"]),
                        who=fmt.who(h["raised_by"]),
                        reason=_t(h["reason"], "red"),
                    ),
                    _t(" · "),
                    *cleared(h),
                    *stopped(h),
                ]
            )
    if d.get("stopped_from_other_laptops"):
        found = d["stopped_from_other_laptops"]
        lines.append(
            _said(
                _("Stop-work from other laptops on scene {scene} ({n}):"),
                "bold",
                scene=d["scene"],
                n=len(found),
            )
        )
        for s in found:
            style = "red" if s["cleared_at"] is None else ""
            lines.append([_t("  "), _t(fmt.elsewhere(s, zone, d["day"]), style)])
    if d.get("corrections"):
        lines.append(_said(_("Corrections ({n}):"), "bold", n=len(d["corrections"])))
        for c in d["corrections"]:
            lines.append(
                _said(
                    _("  {check}: {was} -> {now} by {who}: {note}"),
                    check=fmt.item_ref(c),
                    was=fmt.answer(c["was"]),
                    now=_t(fmt.answer(c["answer"]), "bold"),
                    who=fmt.whos(c["by"]),
                    note=c["note"],
                )
            )
    if d["not_applicable"]:
        lines.append(_said(_("Not applicable ({n}):"), "bold", n=len(d["not_applicable"])))
        for o in d["not_applicable"]:
            lines.append(
                _said(
                    _("  {check} by {who}: {reason}"),
                    check=fmt.item_ref(o),
                    who=fmt.who(o["by"]),
                    reason=o["reason"],
                )
            )
    failed = [f for f in d["failed_pins"] if f["kind"] == events.AUTH_FAILED]
    locked = [f for f in d["failed_pins"] if f["kind"] == events.AUTH_LOCKED]
    if failed or locked:
        lines.append(
            _said(
                _("Failed PIN attempts: {failed}; lock-outs: {locked}"),
                "bold red",
                failed=len(failed),
                locked=len(locked),
            )
        )
    if d["not_signed_in"]:
        lines.append(
            _said(
                _("Signatures by someone not signed in: {n}"), "bold red", n=len(d["not_signed_in"])
            )
        )
        for u in d["not_signed_in"]:
            lines.append(
                _said(
                    _("  {at} {check} {meaning} by {who}"),
                    "red",
                    at=at(u["at"]),
                    check=fmt.item_ref(u),
                    meaning=u["meaning"],
                    who=fmt.who(u),
                )
            )
    else:
        lines.append(
            _said(
                _("All {n} signatures were by people signed in for their role."), n=d["signatures"]
            )
        )
    return lines
