"""Items asked once per firearm: how their ids and questions name the firearm, and which moves
are a firearm's.

Kept apart from the protocol models so that review, which names checks in the crew's words, does
not pay for pydantic to read an id like `shown-clear@SN4471`.
"""

from __future__ import annotations

SLOT = "{firearm}"  # in a per-firearm item's `ask`: the firearm it is about
SEP = "@"  # `shown-clear@SN4471`: never in an item id an author writes (protocol.ID_RE)
ANY = "each firearm"  # what the slot says where the run names no firearms (no armory)
NOUN = "firearm "  # how a run's label of a firearm starts (`label`), in the protocol's English
# The `moves` of one firearm (a per-firearm check); `put-away` puts the run's firearms back in
# storage; every other `moves` is a count of rounds.
FIREARM_MOVES = ("hand-over", "take-back")
PUT_AWAY = "put-away"  # a confirmation that every firearm of the run went back into storage


def expanded_id(item_id: str, serial: str) -> str:
    return f"{item_id}{SEP}{serial}"


def split_id(item_id: str) -> tuple[str, str | None]:
    """`shown-clear@SN4471` -> ("shown-clear", "SN4471"); an item's own id -> (id, None)."""
    base, sep, serial = item_id.partition(SEP)
    return base, (serial if sep else None)


def label(serial: str, make: str, model: str) -> str:
    """What a run's per-firearm checks call a firearm (`firearm SN4471 (Colt SAA)`)."""
    return f"{NOUN}{serial} ({make} {model})"


def label_in(label: str, lang: str | None) -> str:
    """`label` with its noun in `lang`: a Spanish question read "¿El armero abrió firearm
    4471...?" on the trial set. The serial, make and model are the armory's, as written."""
    from safetycli import i18n

    if not label.startswith(NOUN) or not i18n.shipped(lang):
        return label
    with i18n.speaking(lang):
        # Translators: a firearm named in a check's question: "{name}" is its serial number
        # with make and model, e.g. "firearm 4471 (Colt SAA)".
        return i18n._("firearm {name}").format(name=label[len(NOUN) :])


def naming(ask: str, label: str | None) -> str:
    """The question about one firearm (`label`), or about every firearm (None). A question
    without the slot gets the firearm in front of it."""
    if label is None:
        return ask.replace(SLOT, ANY)
    if SLOT in ask:
        return ask.replace(SLOT, label)
    return f"{label}: {ask}"
