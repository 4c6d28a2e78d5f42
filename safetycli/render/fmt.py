"""Small, format-neutral wording shared by the report's Markdown, HTML and CSV and by `log show`:
times, durations, people. No escaping here: each output escapes the result its own way."""

from __future__ import annotations

import functools
import re
from typing import Any

from safetycli import events as ev
from safetycli.i18n import N_, _, ngettext
from safetycli.roles import spoken


def _local(at: str, zone: str) -> tuple[str, str]:
    """(date, `HH:MM:SS`) of a logged UTC time as read in `zone`. UTC is read off the string
    itself: no date arithmetic, no tz database."""
    if zone == "UTC":
        date, _, rest = at.partition("T")
        return date, rest[:8]
    from datetime import datetime

    from safetycli.zones import zone as tz

    here = datetime.fromisoformat(at).astimezone(tz(zone))
    return here.date().isoformat(), here.strftime("%H:%M:%S")


def clock(at: str | None, day: str | None = None, zone: str = "UTC") -> str:
    """`HH:MM:SS` in the production's zone on the shooting day; the date too when the event
    fell on another date there, as on a night shoot past local midnight. The log's times are
    UTC; `zone` is the workspace's (`Workspace.timezone`), passed by whoever prints."""
    if not at:
        return ""
    date, time = _local(at, zone)
    return time if day is not None and date == day else f"{date} {time}"


def local_date(at: str, zone: str = "UTC") -> str:
    """The calendar date of a logged time in the production's zone."""
    return _local(at, zone)[0]


def stamp(at: str | None, zone: str = "UTC") -> str:
    """`2026-03-14 21:40` in the production's zone: a time on the set board."""
    if not at:
        return ""
    date, time = _local(at, zone)
    return f"{date} {time[:5]}"


# A time as the log writes it (ledger.now_utc): UTC, ISO-8601, `Z`, to the microsecond at most.
# Compiled on first use: only the lines between laptops carry logged times.
@functools.cache
def _logged_time() -> re.Pattern[str]:
    return re.compile(r"(?<![\w:.-])\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z(?![\w:])")


def local_times(line: str, zone: str = "UTC") -> str:
    """A line for people with each logged time in it (`2026-03-14T03:40:02.123456Z`) as `stamp`
    shows it, the zone named (`2026-03-13 20:40 America/Denver`); in UTC when the zone is not in
    the tz database. For the lines between laptops (central/conflicts.py): they are made deep in
    folds (the armory's custody, the custody starting points kept on disk) for JSON too, which
    keeps the log's UTC times, so the reader's zone is applied where a person reads them. Only
    the log's own spelling of a time is rewritten."""
    from safetycli.errors import SafetyError

    def said(found: re.Match[str]) -> str:
        try:
            return f"{stamp(found.group(), zone)} {zone}"
        except SafetyError:
            return f"{stamp(found.group())} UTC"

    return _logged_time().sub(said, line)


def elsewhere(entry: Any, zone: str = "UTC", day: str | None = None) -> str:
    """What another laptop stopped work here with (elsewhere.py: a report's entry, a `log show`
    entry, or `report --central`'s line among the conflicts) in the reader's language, each time
    as `clock` shows it on `day` (no day: with its date). Its `line`, which JSON and CSV keep,
    is English with the log's UTC times; an entry that lost its stop (read back from JSON)
    shows that line with its times in the zone."""
    stop = getattr(entry, "stop", None)
    if stop is not None:
        return str(stop.said(lambda at: clock(at, day, zone)))
    return local_times(entry if isinstance(entry, str) else str(entry["line"]), zone)


def offset(at: str, zone: str) -> str:
    """`UTC-6`, `UTC+5:30`: the zone's offset at that moment (daylight saving moves it)."""
    from datetime import datetime

    from safetycli.zones import zone as tz

    delta = datetime.fromisoformat(at).astimezone(tz(zone)).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(zone: str, moments: list[str | None]) -> str:
    """The zone named once for a page of times: `America/Denver (UTC-6)`, with each offset it
    had at those moments (`UTC-7, UTC-6` across a change of clocks); plain `UTC` for UTC."""
    if zone == "UTC":
        return "UTC"
    offsets = list(dict.fromkeys(offset(at, zone) for at in moments if at))
    return f"{zone} ({', '.join(offsets)})" if offsets else zone


def duration(seconds: float | None) -> str:
    """How long work stopped, as a person says it."""
    if seconds is None:
        return _("still stopped")
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def role(role_id: str | None) -> str:
    """A role as people say it (`first_ad` -> `1st AD`); empty for none."""
    return spoken(role_id) if role_id else ""


def who(person: dict[str, Any] | None, *, ids: bool = False) -> str:
    """`Dana Reyes (1st AD)`; with `ids`, the role id a machine reads (`Dana Reyes (first_ad)`),
    as the CSV keeps it."""
    if not person:
        return "-"
    name = str(person.get("name", "?"))
    said = person.get("role") if ids else role(person.get("role"))
    return f"{name} ({said})" if said else name


def whos(people: list[dict[str, Any]] | None, *, ids: bool = False) -> str:
    return ", ".join(who(p, ids=ids) for p in people or []) or "-"


def roll_call(sign_ins: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(role, name, sittings) for each person signed in for a role, once, in the order they
    first signed in: a run resumed twice signs everyone in three times."""
    sittings: dict[tuple[str, str], int] = {}
    for s in sign_ins:
        key = (s["role"], s["name"])
        sittings[key] = sittings.get(key, 0) + 1
    return [(r, name, n) for (r, name), n in sittings.items()]


def signed_in(sign_ins: list[dict[str, Any]]) -> list[str]:
    """`Dana Reyes (1st AD, 2 sittings)`, one entry per person and role."""
    out = []
    for r, name, n in roll_call(sign_ins):
        more = ", " + ngettext("{n} sitting", "{n} sittings", n).format(n=n) if n > 1 else ""
        out.append(f"{name} ({role(r)}{more})")
    return out


def answer(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return "" if value is None else str(value)


def take(entry: dict[str, Any]) -> str:
    """`take 2`, or `break 2` for an after-break check (its number counts breaks, as the
    walk-through says it); empty for a check asked once."""
    if not entry.get("take"):
        return ""
    return f"{'break' if entry.get('after_break') else 'take'} {entry['take']}"


def take_said(entry: dict[str, Any]) -> str:
    """`take 2` or `break 1` as `take` says it, in the reader's language: for people (`log
    show`, a report's small print); `take` keeps the log's words for what programs read."""
    if not entry.get("take"):
        return ""
    if entry.get("after_break"):
        return _("break {n}").format(n=entry["take"])
    return _("take {n}").format(n=entry["take"])


def item_ref(entry: dict[str, Any]) -> str:
    """`phase / item (take 2)`, `phase / item (break 1)`, or `whole run` for a hold raised by
    hand: the ids a machine reads (CSV, `log show`)."""
    if not entry.get("item"):
        return "whole run"
    number = take(entry)
    return f"{entry.get('phase')} / {entry['item']}" + (f" ({number})" if number else "")


def item_id(entry: dict[str, Any]) -> str:
    """`shown-clear, take 2`: the small print under a check's question."""
    number = take_said(entry)
    return f"{entry.get('item')}" + (f", {number}" if number else "")


def check(entry: dict[str, Any]) -> tuple[str, str]:
    """A check as a producer reads it: (its question, the id in small print), from the
    protocol the run recorded (`review`). Without the question (the protocol's text is no
    longer on this laptop) the ids, and `whole run` for a hold raised by hand; small print
    empty then."""
    if not entry.get("item"):
        return _("whole run"), ""
    question = entry.get("question")
    if not question:
        return item_ref(entry), ""
    return str(question), item_id(entry)


def period(report: dict[str, Any]) -> str:
    lo, hi = report["period"]["from"], report["period"]["to"]
    if lo is None and hi is None:
        return _("whole log")
    if lo == hi:
        return str(lo)
    return _("{start} to {end}").format(start=lo or _("start"), end=hi or _("now"))


def roster_change(entry: dict[str, Any]) -> str:
    """A roster change in the reader's words, from its parts (`review._roster_words`); the
    English sentence the JSON and CSV keep when the parts are not there."""
    change = entry.get("change")
    if not isinstance(change, dict):
        return str(entry.get("what", ""))
    kind, by = entry.get("kind"), change.get("by")
    roles = ", ".join(role(r) for r in change.get("roles", []))
    if kind == ev.CREW_ADDED:
        if by:
            return _("added as {roles}, approved by {by}").format(roles=roles, by=by)
        return _("added as {roles} (the first producer)").format(roles=roles)
    if kind == ev.CREW_PIN_SET:
        return _("PIN reset by {by}").format(by=by) if by else _("changed their own PIN")
    if kind == ev.CREW_ROLE_ADDED:
        return _("also {role}, approved by {by}").format(role=roles, by=by)
    if kind == ev.CREW_REMOVED:
        return _("removed from the roster by {by}").format(by=by)
    return str(entry.get("what", ""))


# What a PIN was asked for in the walk-through, as the log records it (English words).
PURPOSES = {
    "sign-in": N_("sign-in"),
    "sign-off": N_("sign-off"),
    "witness": N_("witness"),
    "read-back": N_("read-back"),
    "critical check": N_("critical check"),
    "clear hold": N_("clear hold"),
    "hold": N_("hold"),
}


def purpose(said: str | None) -> str:
    """What a refused PIN was for, in the reader's words where the walk-through's; others
    (a roster change being approved, an armory move) as the log says them."""
    known = PURPOSES.get(said or "")
    return _(known) if known is not None else said or ""


def pin_reason(reason: str | None) -> str:
    """The crew module's refusal codes, in words."""
    said = PIN_REASONS.get(reason or "")
    return _(said) if said is not None else reason or ""


PIN_REASONS = {
    "wrong-pin": N_("wrong PIN"),
    "unknown-name": N_("name not on the roster"),
    "removed": N_("removed from the roster"),
    "role": N_("not on the roster for that role"),
    "locked": N_("tried while locked out"),
    "stored-pin-mismatch": N_("stored PIN does not match the log"),
}

# A run's status as people read it; the log, JSON and CSV keep the English code.
STATUSES = {
    "open": N_("open"),
    "held": N_("held"),
    "complete": N_("complete"),
    "aborted": N_("aborted"),
}


def status(code: str) -> str:
    said = STATUSES.get(code)
    return _(said) if said is not None else code


def count(n: int, singular: str, plural: str | None = None) -> str:
    """`1 hold`, `2 holds`."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


# How long an incident has been open, as incidents.age writes it (`3h`) for JSON and CSV.
AGE_UNITS = {
    # Translators: an incident open for this many days, hours, minutes; short, as on a board.
    "d": N_("{n}d"),
    "h": N_("{n}h"),
    "m": N_("{n}m"),
}


def age(text: str) -> str:
    """`3h` in the reader's units (`3 h`); JSON and CSV keep incidents.age's own."""
    unit = AGE_UNITS.get(text[-1:]) if text[:-1].isdigit() else None
    return _(unit).format(n=text[:-1]) if unit is not None else text


def closers(incident: dict[str, Any]) -> str:
    """Who must close an incident, as the reader says the roles (`armorer and 1st AD`): the
    `must_close` of JSON and CSV is recorded English."""
    roles = incident.get("closed_by_roles")
    if not roles:
        return str(incident.get("must_close", ""))
    # Translators: the word joining the last two of a list ("armorer and 1st AD").
    return _(" and ").join(spoken(r) for r in roles)


def why(entry: dict[str, Any]) -> str:
    """Why a run is unfinished, in the reader's language (review's `why` is the English that
    JSON and CSV keep); what people and protocols wrote stays as written."""
    stopped = entry.get("stopped")
    if not stopped:
        return _("left open: resume it or abort it") if not entry.get("why") else entry["why"]
    if entry.get("status") == "held":
        return _("held: {reason}").format(reason=stopped.get("reason", ""))
    by = stopped.get("by") or {}
    return _("aborted by {name} ({role}): {reason}").format(
        name=by.get("name", "?"), role=role(by.get("role")) or "?", reason=stopped.get("reason", "")
    )


def log_alarm(alarm: dict[str, Any], head_seq: int) -> tuple[str, str, str]:
    """(headline, what happened, what to do) for a report made from a log that failed its head
    mark (`review._log_alarm`), in a producer's words: the page must not pass for the record."""
    kind = alarm.get("kind")
    if kind == "went-back":
        written = alarm.get("written")
        headline = _("ALARM: this log is older than one this laptop already wrote")
        said = _(
            "This laptop had already written the log up to event {written}, but this copy ends "
            "at event {seq}: an older copy of the log was put back, or part of it was deleted. "
            "Holds, incidents and signatures recorded after event {seq} are missing from this "
            "report."
        ).format(written=written if written is not None else "?", seq=head_seq)
    elif kind == "altered":  # verify's standing verdict (verdict.py)
        headline = _("ALARM: safetycli verify found this log altered")
        event = alarm.get("event")
        when = str(alarm.get("found_at") or "")
        when = f"{when[:10]} {when[11:16]} UTC"
        if event is not None:
            said = _(
                "On {when}, safetycli verify found event {event} of this log altered after it "
                "was written, and no verify has passed since. From event {event} on, nothing in "
                "this report can be trusted: a hold's reason, a count or a signature may not be "
                "what the crew recorded."
            ).format(when=when, event=event)
        else:
            said = _(
                "On {when}, safetycli verify found that this log does not hold, and no verify "
                "has passed since. Nothing in this report can be trusted."
            ).format(when=when)
    elif kind == "forged":
        headline = _("ALARM: someone added to this log outside safetycli")
        said = _(
            "The newest event in this log was not written by safetycli on this laptop: someone "
            "holding the log file added it. Nothing in this report can be trusted."
        )
    else:
        headline = _("ALARM: this log is not the one this laptop wrote")
        said = _(
            "The log was replaced or rewritten after this laptop wrote it. Nothing in this "
            "report can be trusted."
        )
    todo = _(
        "What to do: do not send this report or rely on it. Keep the workspace folder exactly as "
        "it is (it is evidence), run safetycli verify on this laptop, and tell the producer "
        "and the safety rep."
    )
    return headline, said, todo
