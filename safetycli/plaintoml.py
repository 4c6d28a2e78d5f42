"""config.toml as safetycli writes it, read without importing `tomllib`.

Every command that opens a workspace reads its config.toml (the production's zone, language and
device), and `tomllib` costs about 2.5 ms of each start-up (its parser, `string`, and 0.9 ms
compiling its own patterns; bench/README.md, start-up). What `init`, `crew` and the sync write
there is plain: comments, `key = "text"` lines and a `[roles]` table. This reads exactly that
plain form and gives `None` for anything else (another value type, an escape, a dotted or quoted
key, a duplicate, a control character...), which `tomllib` then reads as before, errors and all.

So nothing is cached and nothing can be stale: the file is read afresh every time, and where
this reads it at all, it gives what `tomllib.loads` gives (tests/test_plaintoml.py holds the two
equal on generated files, plain and not).
"""

from __future__ import annotations

from typing import Any

# TOML's bare keys: ASCII letters, digits, `_` and `-`.
_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
# Control characters, which TOML allows nowhere but a tab (and a newline between lines).
_CONTROL = frozenset([*map(chr, range(0x20)), "\x7f"]) - {"\t"}
_BLANK = " \t"


def loads(text: str) -> dict[str, Any] | None:
    """The document, as `tomllib.loads(text)` gives it, when `text` is plain; else None."""
    root: dict[str, Any] = {}
    table = root
    lines = text.split("\n")
    last = len(lines) - 1
    for number, line in enumerate(lines):
        if number < last and line.endswith("\r"):  # CRLF; a lone CR is a control character
            line = line[:-1]
        if not _CONTROL.isdisjoint(line):
            return None
        body = line.strip(_BLANK)
        if not body or body.startswith("#"):
            continue
        if body.startswith("["):
            end = body.find("]")
            name = body[1:end]
            if end < 0 or not _is_bare(name) or name in root or not _ends(body[end + 1 :]):
                return None
            table = root[name] = {}
            continue
        key, equals, value = body.partition("=")
        key = key.rstrip(_BLANK)
        value = value.lstrip(_BLANK)
        if not equals or not _is_bare(key) or key in table or not value.startswith('"'):
            return None
        end = value.find('"', 1)
        if end < 0 or "\\" in value[1:end] or not _ends(value[end + 1 :]):
            return None
        table[key] = value[1:end]
    return root


def _is_bare(key: str) -> bool:
    return bool(key) and _BARE.issuperset(key)


def _ends(rest: str) -> bool:
    """Whether what follows a value or a table's name is blank or a comment."""
    rest = rest.lstrip(_BLANK)
    return not rest or rest.startswith("#")
