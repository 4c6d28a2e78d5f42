"""The shooting day, parsed one way for every command that takes one (`run --day`, `log list
--day`, `report --from/--to`): the same dates accepted, the same one-line error everywhere."""

from __future__ import annotations

from datetime import date

from safetycli.errors import SafetyError


def today() -> str:
    """The default shooting day. A night shoot that crosses midnight names its day with --day."""
    return date.today().isoformat()


def parse_day(text: str, option: str = "--day") -> str:
    """A shooting day as YYYY-MM-DD, or the one-line error the CLI prints (exit 2); `option` is
    the flag the user typed, so the message points at it."""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise SafetyError(
            f"{option} {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-23"
        ) from None
