"""User text (names, notes, YAML prompts) is data: never markup, never terminal control, never a
spreadsheet formula. Each output format has one function here that makes a value safe for it.

The patterns with non-ASCII ranges are compiled on first use (`_pattern`): each takes 0.3 to
0.4 ms to compile, about 1 ms of every command's start-up for all of them, and most commands
need one or none (text with nothing to escape, the usual case, is passed through unsearched).
"""

from __future__ import annotations

import functools
import re
from typing import Any

# C0 controls except newline, DEL, and C1 controls (ESC starts ANSI sequences; CSI is \x9b).
_C0_C1 = "\x00-\x09\x0b-\x1f\x7f-\x9f"
# Invisible format characters: zero-width spaces and joiners, left-to-right and right-to-left
# marks, embeddings, overrides (U+202E turns the rest of a line around) and isolates. Invisible,
# they make two different texts look alike or a reason read backwards; shown, they are evidence.
_FORMAT = "\u200b-\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = f"[{_C0_C1}{_FORMAT}]"
_INVISIBLE = f"[{_FORMAT}]"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@functools.cache
def _pattern(source: str) -> re.Pattern[str]:
    return re.compile(source)


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any) -> str:
    """Control characters shown as `\\x1b` text, so a name cannot clear or recolour a screen;
    invisible format characters as `\\u202e`, so a reason cannot turn its line around."""
    text = str(value)
    if text.isprintable():  # no control or format character is printable: nothing to show
        return text
    return _pattern(_CONTROL).sub(_show, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(text: str) -> str:
    """JSON already printed (ensure_ascii=False) with the invisible format characters written as
    `\\u202e` escapes: the same data for a parser, visible to a person reading the file. They can
    only occur inside strings, where the escape means the same character."""
    if text.isascii():  # every format character is beyond ASCII
        return text
    return _pattern(_INVISIBLE).sub(_json_escape, text)


def one_line(value: Any) -> str:
    return visible(value).replace("\n", " ")


def markup(value: Any) -> str:
    """For Rich: brackets escaped so `[bold]` in a name prints as typed."""
    from rich.markup import escape

    return escape(visible(value))


def csv_cell(value: Any) -> str | int | float:
    """Spreadsheets run cells that start with = + - @ tab or CR: prefix those with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return one_line(text)


# The ASCII characters Markdown (CommonMark/GFM) gives a meaning to inside a line: emphasis, code,
# links and images (`[`), raw HTML and entities, table cells, strikethrough, a heading's closing
# `#`. A backslash makes each literal. Values never start a line, so `-`, `+` and `1.` are safe.
_MARKDOWN = r"([\\`*_\[\]<>|~&#])"  # compiled on first use (`_pattern`): `status` never needs it


# Any character `md` changes: a text with none of them is written as it is (most are).
_MD_CHANGES = f"[{_C0_C1}{_FORMAT}\n\\\\`*_\\[\\]<>|~&#]"


def md(value: Any) -> str:
    """For Markdown: one line, no control characters, every markup character escaped, so a name
    like `<script>` or `[x](y)` reads as typed and a `|` cannot break a table."""
    if value is None:
        return ""
    text = str(value)
    if _pattern(_MD_CHANGES).search(text) is None:
        return text
    return _pattern(_MARKDOWN).sub(r"\\\1", one_line(text))
