"""`when` conditions: `fact`, `not fact`, `fact == value`, `fact != value`.

Kept apart from the protocol model so the walk-through and the review commands can evaluate
conditions without importing pydantic (start-up time of `safetycli status`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TRUE_WORDS = ("true", "yes", "on", "y")
FALSE_WORDS = ("false", "no", "off", "n")

_WHEN_RE = re.compile(r"^\s*(?:(not)\s+)?([a-z][a-z0-9_]*)\s*(?:(==|!=)\s*(.+?))?\s*$")


@dataclass(frozen=True)
class Condition:
    fact: str
    negate: bool = False
    op: str | None = None
    value: str | None = None

    def holds(self, context: dict[str, Any]) -> bool:
        actual = context.get(self.fact)
        if self.op is None:
            result = bool(actual)
        else:
            result = _same(actual, self.value)
            if self.op == "!=":
                result = not result
        return not result if self.negate else result

    def __str__(self) -> str:
        if self.op is None:
            return f"{'not ' if self.negate else ''}{self.fact}"
        return f"{self.fact} {self.op} {self.value}"


def _same(actual: Any, expected: str | None) -> bool:
    if isinstance(actual, bool):  # `blanks == yes` reads as YAML would read `yes`
        word = str(expected).lower()
        return (word in TRUE_WORDS) if actual else (word in FALSE_WORDS)
    return str(actual) == str(expected)


def parse_when(expr: str) -> Condition | None:
    """`fact`, `not fact`, `fact == value` or `fact != value`; None if it is none of those."""
    match = _WHEN_RE.match(expr)
    if not match:
        return None
    negate, fact, op, value = match.groups()
    if negate and op:
        return None
    if value is not None:
        value = value.strip().strip("\"'")
    return Condition(fact=fact, negate=bool(negate), op=op, value=value)


# --- counts that must add up ---------------------------------------------------------------------

_TERM_SPLIT = re.compile(r"\s+([+-])\s+")
_ITEM_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TODAY = re.compile(r"^today\(\s*([a-z0-9]+(?:-[a-z0-9]+)*)\s*\)$")

RUN, DAY = "run", "day"


@dataclass(frozen=True)
class Term:
    """One signed term of an `expect` sum: an earlier count of this run (`scope` RUN), or the
    total of a count over the other runs of the same shooting day (`today(id)`, scope DAY): how
    the daily close-out is checked against what the day's scene runs recorded."""

    sign: int
    item: str
    scope: str = RUN


def parse_expect(expr: str) -> list[Term] | None:
    """`loaded - fired`, `issued - returned - fired` or `today(blanks-issued)`: signed terms, or
    None if it is not that. Operators need spaces around them, because item ids contain dashes."""
    parts = _TERM_SPLIT.split(" " + expr.strip())
    signed = [("+", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]
    terms = []
    for op, raw in signed:
        name = raw.strip()
        day = _TODAY.match(name)
        if day:
            terms.append(Term(1 if op == "+" else -1, day.group(1), DAY))
        elif _ITEM_ID.match(name):
            terms.append(Term(1 if op == "+" else -1, name))
        else:
            return None
    return terms


def parse_sum(expr: str) -> list[tuple[int, str]] | None:
    """The terms of `expect` that name counts of the same run (see `parse_expect`)."""
    terms = parse_expect(expr)
    if terms is None:
        return None
    return [(t.sign, t.item) for t in terms if t.scope == RUN]
