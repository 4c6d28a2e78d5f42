"""For the tests that edit a log file's pages as a hex editor would (test_structcheck,
test_structcheck_attack, test_structcheck_attack2): SQLite's record varints, the full
integrity_check they hold verify to, and what a lookup through an index finds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from safetycli.filecheck import integrity_problems


def full(path: Path) -> list[str]:
    """SQLite's full integrity_check of the file: the verdict verify must give."""
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return integrity_problems(db)
    finally:
        db.close()


def lookup_misses(path: Path, index: str, seq: int) -> bool:
    """Whether event `seq`, which the log holds, is missed by a lookup through `index` (one of
    the lean indexes, named events_COLUMN): what a damaged entry hides from every query."""
    column = index.removeprefix("events_")
    db = sqlite3.connect(path)
    try:
        (key,) = db.execute(
            f"SELECT {column} FROM events NOT INDEXED WHERE seq = ?", (seq,)
        ).fetchone()
        found = db.execute(
            f"SELECT count(*) FROM events INDEXED BY {index} WHERE {column} = ? AND seq = ?",
            (key, seq),
        ).fetchone()
    finally:
        db.close()
    return found == (0,)


def read_varint(data: bytes, at: int) -> tuple[int, int]:
    """The varint at `at`: (value, its length in bytes)."""
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i + 1
    raise AssertionError("unreachable")


def encode_varint(value: int) -> bytes:
    """`value` as SQLite writes it: the shortest form (values below 2**56)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))
