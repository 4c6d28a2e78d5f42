"""The protocol format: its pydantic model, its semantic rules, and line-aware validation.

A protocol is what a crew will be held to, so the validator reports every problem in a file at the
YAML line that causes it, and a protocol object only exists once the file is entirely valid.
Semantic rules run on the raw data as well as the model, so one pass reports structural and
semantic problems together.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from safetycli.roles import ROLES
from safetycli.yamlsource import Problem, YamlDoc, load_yaml

ID_RE = r"^[a-z0-9]+(-[a-z0-9]+)*$"
NAME_RE = r"^[a-z][a-z0-9_]*$"

Id = Annotated[str, Field(pattern=ID_RE, max_length=64)]
Name = Annotated[str, Field(pattern=NAME_RE, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]

KINDS = ("confirm", "count", "text", "choice")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Strict):
    """A fact asked once at the start of a run; `when` conditions read it."""

    type: Literal["bool", "int", "text", "choice"]
    ask: Text
    options: list[Text] | None = None
    min: int | None = None
    max: int | None = None


class HoldRule(_Strict):
    """Who must clear a hold, each in person with their own PIN."""

    cleared_by: list[Name] = Field(min_length=1)


class Item(_Strict):
    """One check, signed by one role and confirmed in person by its witnesses."""

    id: Id
    kind: Literal["confirm", "count", "text", "choice"] = "confirm"
    ask: Text
    by: Name
    witness: list[Name] = []
    readback: list[Name] = []
    critical: bool = False
    when: str | None = None
    allow_na: bool = False
    options: list[Text] | None = None
    fail_on: list[Text] | None = None
    min: int | None = None
    max: int | None = None
    expect: int | None = None
    source: Text | None = None
    why: Text | None = None

    def can_fail(self) -> bool:
        """An item that no answer can fail must not claim to stop work."""
        if self.readback or self.witness:
            return True
        if self.kind == "confirm":
            return True
        if self.kind == "count":
            return self.min is not None or self.max is not None or self.expect is not None
        if self.kind == "choice":
            return bool(self.fail_on)
        return False


class Phase(_Strict):
    id: Id
    title: Text
    repeat: Literal["once", "per_take"] = "once"
    when: str | None = None
    items: list[Item] = Field(min_length=1)


class Protocol(_Strict):
    id: Id
    title: Text
    version: int = Field(ge=1)
    summary: Text
    sources: list[Text] = Field(min_length=1)
    roles: list[Name] = Field(min_length=1)
    context: dict[Name, Fact] = {}
    hold: HoldRule
    phases: list[Phase] = Field(min_length=1)

    _origin: ProtocolSource | None = PrivateAttr(default=None)

    @property
    def origin(self) -> ProtocolSource:
        assert self._origin is not None, "protocol built outside load_protocol()"
        return self._origin

    def items(self) -> list[tuple[Phase, Item]]:
        return [(phase, item) for phase in self.phases for item in phase.items]

    def item(self, item_id: str) -> Item:
        for _, item in self.items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)


@dataclass(frozen=True)
class ProtocolSource:
    """Where a protocol came from and the exact bytes the crew saw (recorded with every run)."""

    path: Path
    sha256: str
    shipped: bool


# --- conditions ----------------------------------------------------------------------------------

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
    if isinstance(actual, bool):
        return str(actual).lower() == str(expected).lower()
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


# --- validation ----------------------------------------------------------------------------------

_TOP_KEYS = list(Protocol.model_fields)
_KEYS_BY_DEPTH = {
    "protocol": [k for k in Protocol.model_fields],
    "phase": list(Phase.model_fields),
    "item": list(Item.model_fields),
    "fact": list(Fact.model_fields),
    "hold": list(HoldRule.model_fields),
}


def _keys_for(loc: tuple[str | int, ...]) -> list[str]:
    if len(loc) == 1:
        return _KEYS_BY_DEPTH["protocol"]
    if loc[0] == "phases" and len(loc) == 3:
        return _KEYS_BY_DEPTH["phase"]
    if loc[0] == "phases" and len(loc) == 5:
        return _KEYS_BY_DEPTH["item"]
    if loc[0] == "context" and len(loc) == 3:
        return _KEYS_BY_DEPTH["fact"]
    if loc[0] == "hold":
        return _KEYS_BY_DEPTH["hold"]
    return []


def _loc_text(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _pydantic_problems(doc: YamlDoc, error: ValidationError) -> None:
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        field = str(loc[-1]) if loc else "protocol"
        kind = err["type"]
        if kind == "extra_forbidden":
            known = _keys_for(loc)
            near = difflib.get_close_matches(field, known, n=1)
            hint = f"; did you mean `{near[0]}`?" if near else f"; allowed: {', '.join(known)}"
            doc.problem(loc, f"unknown key `{field}`{hint}", key=True)
        elif kind == "missing":
            doc.problem(loc[:-1], f"missing `{field}` in {_loc_text(loc[:-1]) or 'the protocol'}")
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            doc.problem(loc, f"`{field}` must be one of {expected}")
        elif kind == "string_pattern_mismatch":
            doc.problem(
                loc,
                f"`{field}` {err['input']!r} is not a valid id: use lowercase letters, digits and "
                + ("underscores" if err["ctx"]["pattern"] == NAME_RE else "dashes"),
            )
        elif kind == "too_short" and isinstance(err.get("input"), list):
            doc.problem(loc, f"`{field}` is empty: it needs at least one entry")
        elif isinstance(loc[-1:], tuple) and loc and isinstance(loc[-1], int):
            doc.problem(loc, f"{_loc_text(loc[:-1])} entry {loc[-1] + 1}: {err['msg'].lower()}")
        else:
            doc.problem(loc, f"`{field}`: {err['msg'].lower()}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _semantic_problems(doc: YamlDoc) -> None:
    """Rules the model cannot express; guarded so they run even on structurally broken data."""
    data = _as_dict(doc.data)
    roles_raw = _as_list(data.get("roles"))
    roles = {r for r in roles_raw if isinstance(r, str)}
    facts = _as_dict(data.get("context"))

    seen_roles: set[str] = set()
    for i, role in enumerate(roles_raw):
        if not isinstance(role, str):
            continue
        if role in seen_roles:
            doc.problem(("roles", i), f"role `{role}` is listed twice")
        seen_roles.add(role)
        if role not in ROLES:
            near = difflib.get_close_matches(role, list(ROLES), n=1)
            hint = f"did you mean `{near[0]}`?" if near else f"known roles: {', '.join(ROLES)}"
            doc.problem(("roles", i), f"unknown role `{role}`: {hint}")

    def check_role(loc: tuple[str | int, ...], role: Any) -> None:
        if isinstance(role, str) and role not in roles:
            doc.problem(loc, f"role `{role}` is not declared in `roles:` at the top")

    for i, role in enumerate(_as_list(_as_dict(data.get("hold")).get("cleared_by"))):
        check_role(("hold", "cleared_by", i), role)

    for name, fact in facts.items():
        fact = _as_dict(fact)
        loc = ("context", name)
        if fact.get("type") == "choice" and not _as_list(fact.get("options")):
            doc.problem(loc, f"fact `{name}` is a choice: give its `options`")
        if fact.get("type") != "choice" and "options" in fact:
            doc.problem((*loc, "options"), "`options` only belong on a choice fact", key=True)
        for bound in ("min", "max"):
            if fact.get("type") != "int" and bound in fact:
                doc.problem((*loc, bound), f"`{bound}` only belongs on an int fact", key=True)

    def check_when(loc: tuple[str | int, ...], expr: Any) -> None:
        if not isinstance(expr, str):
            return
        cond = parse_when(expr)
        if cond is None:
            doc.problem(loc, f"cannot read `when: {expr}`: write `fact`, `not fact`, `fact == value`")
            return
        if cond.fact not in facts:
            declared = ", ".join(facts) or "none"
            doc.problem(loc, f"`when` names `{cond.fact}`, not a fact in `context:` ({declared})")
            return
        fact = _as_dict(facts[cond.fact])
        options = _as_list(fact.get("options"))
        if cond.op and fact.get("type") == "choice" and options and cond.value not in options:
            doc.problem(loc, f"`{cond.value}` is not one of the options of `{cond.fact}`")

    phase_ids: dict[str, int] = {}
    item_ids: dict[str, tuple[int, int]] = {}
    for p, phase in enumerate(_as_list(data.get("phases"))):
        phase = _as_dict(phase)
        ploc: tuple[str | int, ...] = ("phases", p)
        pid = phase.get("id")
        if isinstance(pid, str):
            if pid in phase_ids:
                doc.problem((*ploc, "id"), f"duplicate phase id `{pid}`")
            phase_ids.setdefault(pid, p)
        if "when" in phase:
            check_when((*ploc, "when"), phase["when"])
        for i, item in enumerate(_as_list(phase.get("items"))):
            item = _as_dict(item)
            _item_problems(doc, (*ploc, "items", i), item, check_role, check_when, item_ids)


def _item_problems(
    doc: YamlDoc,
    loc: tuple[str | int, ...],
    item: dict[str, Any],
    check_role: Any,
    check_when: Any,
    item_ids: dict[str, tuple[int, int]],
) -> None:
    iid = item.get("id")
    if isinstance(iid, str):
        if iid in item_ids:
            line = item_ids[iid][0]
            doc.problem((*loc, "id"), f"duplicate item id `{iid}` (first at line {line})")
        else:
            item_ids[iid] = doc.where((*loc, "id"))
    kind = item.get("kind", "confirm")
    by = item.get("by")
    check_role((*loc, "by"), by)
    for key in ("witness", "readback"):
        for j, role in enumerate(_as_list(item.get(key))):
            check_role((*loc, key, j), role)
            if role == by:
                doc.problem((*loc, key, j), f"`{role}` signs this item, so cannot also {key} it")
    if "when" in item:
        check_when((*loc, "when"), item["when"])
    if not item.get("source") and not item.get("why"):
        doc.problem(loc, "give this item a `source` or a `why`: the crew should know the reason")

    options = _as_list(item.get("options"))
    if kind == "choice":
        if len(options) < 2:
            doc.problem(loc, "a choice item needs `options` with at least two entries")
        if len({str(o) for o in options}) != len(options):
            doc.problem((*loc, "options"), "`options` has the same entry twice")
        for j, fail in enumerate(_as_list(item.get("fail_on"))):
            if fail not in options:
                doc.problem((*loc, "fail_on", j), f"`{fail}` is not one of this item's options")
    else:
        for key in ("options", "fail_on"):
            if key in item:
                doc.problem((*loc, key), f"`{key}` only belongs on a choice item", key=True)
    if kind != "count":
        for key in ("min", "max", "expect"):
            if key in item:
                doc.problem((*loc, key), f"`{key}` only belongs on a count item", key=True)
    else:
        lo, hi, exp = item.get("min"), item.get("max"), item.get("expect")
        ints = [v for v in (lo, hi, exp) if v is not None]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            if lo is not None and hi is not None and lo > hi:
                doc.problem((*loc, "max"), f"`max` ({hi}) is below `min` ({lo})")
            if exp is not None and ((lo is not None and exp < lo) or (hi is not None and exp > hi)):
                doc.problem((*loc, "expect"), f"`expect` ({exp}) is outside `min`..`max`")
            if any(v < 0 for v in ints):
                doc.problem(loc, "counts cannot be negative")

    if item.get("critical") is True:
        if item.get("allow_na") is True:
            doc.problem((*loc, "allow_na"), "a critical item can never be marked not applicable")
        try:
            model = Item.model_validate(item)
        except ValidationError:
            return
        if not model.can_fail():
            doc.problem(
                (*loc, "critical"),
                "`critical` on an item no answer can fail: add bounds, `expect`, `fail_on`, "
                "a witness or a readback",
            )


def validate_doc(doc: YamlDoc, *, shipped: bool = False, raw: bytes = b"") -> Protocol | None:
    """Validate loaded YAML; return the protocol only when there are no problems at all."""
    if doc.data is None:  # unreadable: syntax error, empty or binary; already reported
        return None
    if not isinstance(doc.data, dict):
        doc.problem((), "a protocol is a mapping of keys (`id:`, `title:`, `phases:` ...)")
        return None
    model: Protocol | None = None
    try:
        model = Protocol.model_validate(doc.data)
    except ValidationError as err:
        _pydantic_problems(doc, err)
    _semantic_problems(doc)
    if doc.problems or model is None:
        doc.problems.sort(key=lambda pr: (pr.line, pr.col))
        return None
    model._origin = ProtocolSource(
        path=Path(doc.path), sha256=hashlib.sha256(raw).hexdigest(), shipped=shipped
    )
    return model


def check_file(path: Path, *, shipped: bool = False) -> tuple[Protocol | None, list[Problem]]:
    """Load and validate one protocol file. OSError propagates: an unreadable path is not a
    problem *in* a protocol, and the CLI reports it with a different exit code."""
    raw = path.read_bytes()
    doc = load_yaml(path, raw)
    protocol = validate_doc(doc, shipped=shipped, raw=raw)
    return protocol, list(doc.problems)
