"""The shooting day: one rule for every command that names or defaults one.

A run belongs to the shooting day it records (`run --day`: a night shoot past midnight keeps its
day). Its default, `report`'s default and every other event's place in a day's report (an
incident, a roster change, a PIN refused outside any run, stop-work called on a scene with no
day) are the calendar date in the production's zone (`timezone` in config.toml,
`Workspace.zone_or_utc`), never the laptop's: a laptop left on UTC in Denver would otherwise
file an evening's run under tomorrow while its report of today shows the day's incidents.

Dates are parsed one way too (`run --day`, `log list --day`, `report --from/--to`): the same
dates accepted, the same one-line error everywhere.

The log's times are UTC text (`ledger.now_utc`), so a local day is a half-open range of that
text (`window`): compared as text, such a range keeps an index seek on the log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from safetycli.errors import SafetyError

UTC_NAME = "UTC"


def now_utc() -> str:
    """Now, as the log writes it. The ledger's own clock, read when asked, so that tests which
    set the clock (`ledger.now_utc`) move the shooting day with every event they record."""
    from safetycli import ledger

    return ledger.now_utc()


def local_day(at: str, zone: str = UTC_NAME) -> str:
    """The calendar date of a logged UTC time in the production's zone. UTC is read off the
    text itself: no tz database."""
    if zone == UTC_NAME:
        return at[:10]
    from safetycli.zones import zone as tz

    return datetime.fromisoformat(at).astimezone(tz(zone)).date().isoformat()


def today(zone: str = UTC_NAME) -> str:
    """The default shooting day: today where the production shoots. A night shoot that crosses
    midnight names its day with --day."""
    return local_day(now_utc(), zone)


def _start(day: str, zone: str) -> str:
    """The first moment of a local day, as UTC text comparable with the log's times: local
    midnight (a midnight the clocks skip resolves to the moment they jump)."""
    if zone == UTC_NAME:
        return f"{day}T00:00:00"
    from datetime import UTC

    from safetycli.zones import zone as tz

    local = datetime.combine(date.fromisoformat(day), time(0), tzinfo=tz(zone))
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def window(
    day_from: str | None, day_to: str | None, zone: str = UTC_NAME
) -> tuple[str | None, str | None]:
    """The logged times (`since <= at < until`) that fall on the local days `day_from`..
    `day_to` (inclusive; None: open). Bounds are `YYYY-MM-DDTHH:MM:SS` without fraction or `Z`,
    so they compare right as text with a logged time of any precision."""
    since = None if day_from is None else _start(day_from, zone)
    after = None if day_to is None else (date.fromisoformat(day_to) + timedelta(days=1))
    until = None if after is None else _start(after.isoformat(), zone)
    return since, until


def within(day: str | None, day_from: str | None, day_to: str | None) -> bool:
    """Whether a date falls in a period (None bounds: open); no date never does."""
    if not day:
        return False
    return (day_from is None or day >= day_from) and (day_to is None or day <= day_to)


def parse_day(text: str, option: str = "--day") -> str:
    """A shooting day as YYYY-MM-DD, or the one-line error the CLI prints (exit 2); `option` is
    the flag the user typed, so the message points at it."""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise SafetyError(
            f"{option} {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-23"
        ) from None
