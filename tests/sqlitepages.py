"""SQLite's record varints, for the tests that edit a log file's pages as a hex editor would
(test_structcheck, test_structcheck_attack, test_structcheck_attack2)."""

from __future__ import annotations


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
