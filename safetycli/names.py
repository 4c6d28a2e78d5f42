"""How two spellings of a person's name are found to be the same person.

Kept apart from crew.py (which opens the ledger) so that reports and reviews can fold names the
way the roster does without importing the roster.
"""

from __future__ import annotations

import unicodedata


def fold_name(name: str) -> str:
    """Case-insensitive identity of a name; NFKC also folds look-alikes such as full-width
    letters, so `Ｓam` cannot sit on the roster next to `Sam`, and single spaces make
    `Sam  Ortiz` the same person as `Sam Ortiz`."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
