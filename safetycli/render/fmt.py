"""Small, format-neutral wording shared by the report's Markdown, HTML and CSV and by `log show`:
times, durations, people. No escaping here: each output escapes the result its own way."""

from __future__ import annotations

from typing import Any


def clock(at: str | None, day: str | None = None) -> str:
    """`HH:MM:SS` on the shooting day; the date too when the event fell on another (UTC) date,
    as on a night shoot past midnight."""
    if not at:
        return ""
    date, _, rest = at.partition("T")
    time = rest[:8]
    return time if day is not None and date == day else f"{date} {time}"


def duration(seconds: float | None) -> str:
    """How long work stopped, as a person says it."""
    if seconds is None:
        return "still stopped"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def who(person: dict[str, Any] | None) -> str:
    if not person:
        return "-"
    role = person.get("role")
    return f"{person.get('name', '?')} ({role})" if role else str(person.get("name", "?"))


def whos(people: list[dict[str, Any]] | None) -> str:
    return ", ".join(who(p) for p in people or []) or "-"


def answer(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def item_ref(entry: dict[str, Any]) -> str:
    """`phase / item (take 2)`, or `whole run` for a hold raised by hand."""
    if not entry.get("item"):
        return "whole run"
    take = f" (take {entry['take']})" if entry.get("take") else ""
    return f"{entry.get('phase')} / {entry['item']}{take}"


def period(report: dict[str, Any]) -> str:
    lo, hi = report["period"]["from"], report["period"]["to"]
    if lo is None and hi is None:
        return "whole log"
    if lo == hi:
        return str(lo)
    return f"{lo or 'start'} to {hi or 'now'}"


def pin_reason(reason: str | None) -> str:
    """The crew module's refusal codes, in words."""
    return {
        "wrong-pin": "wrong PIN",
        "unknown-name": "name not on the roster",
        "removed": "removed from the roster",
        "role": "not on the roster for that role",
        "locked": "tried while locked out",
        "stored-pin-mismatch": "stored PIN does not match the log",
    }.get(reason or "", reason or "")


def count(n: int, singular: str, plural: str | None = None) -> str:
    """`1 hold`, `2 holds`."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
