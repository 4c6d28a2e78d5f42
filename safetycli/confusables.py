"""Names that look the same on screen but are different strings: `Ѕam Ortiz` (Cyrillic Ѕ) beside
`Sam Ortiz`. A reviewer reading a report cannot tell them apart, so an impostor could sign as a
look-alike of a real crew member. `crew add` refuses a name whose skeleton matches an existing
member's.

The skeleton is a small, dependency-free cut of Unicode's confusables idea (UTS #39): NFKC and
case folding (full-width and styled letters, case), accents dropped, and the Cyrillic and Greek
letters that are drawn like Latin ones mapped to them, plus the digits that pass for letters in a
name (0 for o, 1 for l). It errs towards refusing: two real people whose names differ only by an
accent are told to tell them apart (a middle initial), which a report reader needs anyway.
"""

from __future__ import annotations

import unicodedata

# Lower case only: the skeleton is built after case folding.
_LOOK_ALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y", "һ": "h", "ӏ": "l", "ɡ": "g",
        # Greek
        "α": "a", "β": "b", "γ": "y", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k",
        "μ": "u", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
        "ϲ": "c", "ϳ": "j",
        # Latin and digits that pass for letters
        "ı": "i", "ȷ": "j", "0": "o", "1": "l", "|": "l",
    }
)  # fmt: skip


def skeleton(name: str) -> str:
    """What a name looks like, for comparison only (never shown or stored)."""
    return " ".join(letters(name).translate(_LOOK_ALIKES).split())


def letters(text: str) -> str:
    """The text case-folded, NFKC, without accents, its Cyrillic and Greek look-alike letters
    drawn as the Latin ones; digits and `|` left as they are (a scene's `1` is a digit)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return text.translate(_LETTERS)


_LETTERS = {k: v for k, v in _LOOK_ALIKES.items() if not chr(k).isdigit() and chr(k) != "|"}
