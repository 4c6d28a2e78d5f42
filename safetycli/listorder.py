"""The order one person's list is asked in at the keyboard, and what a check is judged with.

The keyboard saves typing by putting a list's yes-or-no checks on one line, one key each, ahead
of its numbers, choices and texts. That is only honest for a check whose outcome no earlier
number of the list feeds: "every blank accounted for?" is judged with the blanks returned and
spoiled typed in the same list, so asked ahead of them it was judged with none returned, and
held on a round that was in the armorer's hand. `reads` says what a check is judged with;
`plan` keeps every check after those it reads and batches the rest as before. The session
holds any frontend to the same rule (`unmet`), so no front end can judge a check too early.

Pure: no terminal, no log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from safetycli import perfirearm
from safetycli.conditions import RUN, parse_expect

if TYPE_CHECKING:
    from collections.abc import Sequence

    from safetycli.protocol import Item
    from safetycli.runner import Ask

# Armory checks about firearms only: no count of rounds changes their verdict.
_FIREARMS_ONLY = ("firearms-back", "firearms-in-storage")


@dataclass(frozen=True)
class Keys:
    """Yes-or-no checks answered on one line, one key each, in this order."""

    asks: tuple[Ask, ...]


def one_key(ask: Ask) -> bool:
    """A check answered with y or n alone: one the person witnesses, or a yes-or-no check they
    do that cannot be marked not applicable (that needs a reason typed)."""
    if ask.meaning == "witnessed":
        return True
    item = ask.item
    return (
        ask.meaning == "performed"
        and item.kind == "confirm"
        and not (item.allow_na and not item.critical)
    )


def reads(item: Item, other: Item) -> bool:
    """Whether `item`'s outcome is judged with `other`'s answer when both are in one list: a sum
    naming it (`expect: rounds-counted - rounds-fired`), or an armory check that counts rounds
    (`custody: blanks-back`, the lock-up) after a count that moves them. An armory check this
    module does not know is taken to count rounds: a wrong guess costs a prompt, never a hold."""
    if item.id == other.id:
        return False
    terms = parse_expect(item.expect) if isinstance(item.expect, str) else None
    if terms and any(t.scope == RUN and t.item == other.base_id for t in terms):
        return True
    check = item.custody_key
    if check is None or other.rounds_move is None:
        return False
    return check.partition(perfirearm.SEP)[0] not in (*perfirearm.FIREARM_MOVES, *_FIREARMS_ONLY)


def _feeds(before: Ask, ask: Ask) -> bool:
    """A signature `ask` is judged with: the answer its check's performer gives to a check of
    the list that `reads` names. Witnesses and read-backs check an answer already recorded."""
    performed = ask.meaning == before.meaning == "performed"
    return performed and reads(ask.item, before.item)


def plan(asks: Sequence[Ask]) -> list[Keys | Ask]:
    """The list (`asks`, in protocol order) as asked at the keyboard: first one line of every
    yes-or-no check that nothing before it in the list feeds; then the rest in protocol order,
    each number, choice or text on its own, consecutive yes-or-no checks on one line. Every
    check comes after each check of the list it reads."""
    first: list[Ask] = []
    rest: list[Ask] = []
    for n, ask in enumerate(asks):
        waits = any(_feeds(before, ask) and before not in first for before in asks[:n])
        (first if one_key(ask) and not waits else rest).append(ask)
    out: list[Keys | Ask] = [Keys(tuple(first))] if first else []
    for ask in rest:
        if not one_key(ask):
            out.append(ask)
        elif out and isinstance(out[-1], Keys) and out[-1].asks[-1] in rest:
            out[-1] = Keys((*out[-1].asks, ask))
        else:
            out.append(Keys((ask,)))
    return out


def unmet(asks: Sequence[Ask], answered: Sequence[Ask], ask: Ask) -> list[Ask]:
    """The checks of the list (`asks`, in protocol order) before `ask` that it is judged with
    and that are not answered yet: until they are, its answer cannot be judged."""
    at = asks.index(ask) if ask in asks else len(asks)
    return [b for b in asks[:at] if _feeds(b, ask) and b not in answered]
