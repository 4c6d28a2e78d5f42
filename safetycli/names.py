"""How two spellings of a person's name, or of a serial or lot, are found to be the same.

Kept apart from crew.py (which opens the ledger) and armory.py (some fifty dataclasses and its
rules) so that reports, reviews and `status` can compare names the way the roster and the
armory do without importing either.

`unicodedata` is imported where a text beyond ASCII needs it: NFKC and NFC leave ASCII as it is,
so most names never need it, and `status` does not pay for loading it (about 0.2 ms).
"""

from __future__ import annotations


def fold_name(name: str) -> str:
    """Case-insensitive identity of a name; NFKC also folds look-alikes such as full-width
    letters, so `Ｓam` cannot sit on the roster next to `Sam`, and single spaces make
    `Sam  Ortiz` the same person as `Sam Ortiz`."""
    return " ".join(_nfkc(name).casefold().split())


def _nfkc(text: str) -> str:
    if text.isascii():  # NFKC changes no ASCII character
        return text
    import unicodedata

    return unicodedata.normalize("NFKC", text)


# Control, invisible format (a zero-width space, a right-to-left override), surrogate, private
# and unassigned characters, and line or paragraph separators: nothing a typed name should hold.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def plain_line(typed: str) -> tuple[str, list[str]]:
    """A typed name as it is recorded (NFC, single spaces) and the characters in it that are
    not plain text (`_HIDDEN`): a crew member's name, the production's."""
    import unicodedata

    text = " ".join(unicodedata.normalize("NFC", typed).split())
    return text, [c for c in text if unicodedata.category(c) in _HIDDEN]


def shown_escaped(text: str, bad: list[str]) -> str:
    """The name with each of its `bad` characters written as `\\uXXXX`, to say where they are."""
    return "".join(f"\\u{ord(c):04x}" if c in bad else c for c in text)


def ident(text: str) -> str:
    """How serials and lots are compared: case and spaces ignored, as people read them off a
    receiver or a box (`a 12934` is `A12934`); dashes and letters count."""
    return "".join(_nfkc(text).casefold().split())
