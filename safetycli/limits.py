"""How long a typed text may be: reasons, notes and written answers.

Every one of them lands in the log for good and in every report, the HOLD panel and each export.
Without a cap, one paste can bury the day report or hide the real reason under pages of filler; a
reason is a sentence or two, a written answer a paragraph. Stop-work is the one exception to a
refusal: a hold's reason is cut to the cap (and the person told), never refused for its length.
"""

from __future__ import annotations

from safetycli.errors import SafetyError

REASON_MAX = 500  # reasons and notes
TEXT_MAX = 2000  # written answers to `text` items


def check_length(text: str, what: str, limit: int = REASON_MAX) -> str:
    """`text` stripped, or one line saying how long `what` may be."""
    text = text.strip()
    if len(text) > limit:
        raise SafetyError(
            f"{what} can be at most {limit} characters (this one has {len(text)}): say it shorter"
        )
    return text


def cut(text: str, limit: int = REASON_MAX) -> tuple[str, bool]:
    """`text` stripped and cut to `limit` characters; True when something was cut."""
    text = text.strip()
    if len(text) <= limit:
        return text, False
    return text[: limit - 1].rstrip() + "…", True
