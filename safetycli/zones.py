"""The production's time zone: the log keeps UTC, people read local time.

A crew shooting in Denver reads "21:40", not "04:40 UTC the next day", and a producer checking a
night shoot must see which events fell after local midnight. The zone is an IANA name (such as
`America/Denver`) kept in the workspace's `config.toml` as `timezone`: one production, one zone,
whatever laptop prints the report. Stored times never change; only what people read does.

`zoneinfo` (and the tz database it reads) costs a few milliseconds, so it is imported only when a
time is actually shown in a zone other than UTC: `safetycli --help` and a quiet `status` never
load it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from safetycli.errors import SafetyError

if TYPE_CHECKING:
    from datetime import tzinfo

UTC_NAME = "UTC"
# Other names the tz database gives UTC: shown as plain "UTC".
_UTC_ALIASES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu"}
)
EXAMPLES = "an IANA name such as America/Denver, Europe/London or UTC"


def _normal(name: str) -> str:
    return UTC_NAME if name in _UTC_ALIASES else name


@lru_cache(maxsize=16)
def zone(name: str) -> tzinfo:
    """The tzinfo for a zone name; SafetyError (one line) when the tz database has no such zone.
    UTC needs no tz database at all."""
    from datetime import UTC

    if _normal(name) == UTC_NAME:
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise SafetyError(
            f"unknown time zone {name!r} (`timezone` in the workspace's config.toml): give "
            f"{EXAMPLES}"
        ) from None


def check(name: str, *, option: str = "--timezone") -> str:
    """A zone name a person typed, checked against the tz database and tidied (UTC aliases
    become `UTC`), or one line saying what would be right."""
    text = name.strip()
    if not text:
        raise SafetyError(f"{option} needs a time zone: give {EXAMPLES}")
    try:
        zone(text)
    except SafetyError:
        raise SafetyError(f"{option} {text!r} is not a time zone: give {EXAMPLES}") from None
    return _normal(text)


def laptop_zone() -> str:
    """This laptop's own zone, when it can be named: `TZ` when it holds an IANA name, else the
    zone `/etc/localtime` links to, else `/etc/timezone`; UTC when none of them names one (a
    zone known only by its offset cannot follow daylight saving time)."""
    candidates: list[str] = []
    tz = os.environ.get("TZ", "").strip().removeprefix(":")
    if tz:
        candidates.append(tz)
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    for name in candidates:
        if not name or name.startswith("/"):
            continue
        try:
            zone(name)
        except SafetyError:
            continue
        return _normal(name)
    return UTC_NAME
