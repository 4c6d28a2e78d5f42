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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    ValidationError,
)

from safetycli import perfirearm
from safetycli.conditions import DAY, FALSE_WORDS, TRUE_WORDS, parse_expect, parse_when
from safetycli.roles import known as known_roles
from safetycli.yamlsource import EMPTY_FILE, Problem, YamlDoc, load_yaml, read_source, shown

if TYPE_CHECKING:
    from safetycli.translation import Translation

ID_RE = r"^[a-z0-9]+(-[a-z0-9]+)*$"
NAME_RE = r"^[a-z][a-z0-9_]*$"

Id = Annotated[str, Field(pattern=ID_RE, max_length=64)]
Name = Annotated[str, Field(pattern=NAME_RE, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]

KINDS = ("confirm", "count", "text", "choice")
# A fact no protocol declares: true when the run took firearms out of the production's armory
# (session.start_run), so `when: not armory` asks what the armory's record already says (a
# free-text firearm list) only where there is no armory.
ARMORY_FACT = "armory"
_OWN_ROLES_HINT = (
    " (a production declares its own roles in its workspace's config.toml, under [roles])"
)


class _Strict(BaseModel):
    # defer_build: validators are built on first use, not at import. `status` and `log` import
    # these models (through the runner) without validating anything; building them at import
    # cost about 20 ms of their start-up (bench/startup.py).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


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
    # Strict: `critical: "true"` or `critical: 1` must be refused, not read as true, or the rules
    # that only apply to critical items would be skipped for it.
    critical: StrictBool = False
    when: str | None = None
    allow_na: StrictBool = False
    options: list[Text] | None = None
    fail_on: list[Text] | None = None
    min: int | None = None
    max: int | None = None
    # A number, or a sum of earlier counts that this one must equal (`loaded - fired`).
    expect: StrictInt | str | None = None
    # Checked against the armory's own record too, where the production keeps one (armory.py,
    # `CUSTODY_CHECKS`): a count or a "yes, all back" the record contradicts is a hold.
    custody: (
        Literal[
            "firearms-in-storage",
            "blanks-in-storage",
            "dummies-in-storage",
            "firearms-back",
            "blanks-back",
            "dummies-back",
            "all-back",
        ]
        | None
    ) = None
    # Asked once for each firearm the run took out of the armory, each on its own (`{firearm}`
    # in `ask` names it); once, for every firearm, where the production keeps no armory.
    per_firearm: StrictBool = False
    # The custody the signatures prove, written with them (armory.py): the armorer hands the
    # firearm to the witness, who confirms receiving it with their PIN, or takes it back; or
    # a count of rounds fired, returned or spoiled, for the run's one lot of that type.
    moves: (
        Literal[
            "hand-over",
            "take-back",
            "blanks-fired",
            "blanks-returned",
            "blanks-spoiled",
            "dummies-returned",
            "put-away",
        ]
        | None
    ) = None
    # Who clears the hold this item raises, when not the protocol's `hold: cleared_by` (roles
    # from the whole vocabulary: a producer clears without signing anything in the run).
    cleared_by: list[Name] | None = None
    # A failing answer is also an incident of this kind in the register (incidents.py), with the
    # run's scene and firearms; its hold is cleared by the kind's closing roles at least.
    incident: (
        Literal[
            "misfire",
            "unplanned-discharge",
            "injury",
            "near-miss",
            "unidentified-round",
            "live-round-found",
            "complaint",
        ]
        | None
    ) = None
    source: Text | None = None
    why: Text | None = None

    @property
    def question(self) -> str:
        """The question as the crew reads it: `{firearm}` names the firearm once the run has
        expanded the item per firearm (`Protocol.for_firearms`), else "each firearm"."""
        return perfirearm.naming(self.ask, None)

    @property
    def base_id(self) -> str:
        """The protocol's own id of an item expanded per firearm (`shown-clear@SN4471`)."""
        return perfirearm.split_id(self.id)[0]

    @property
    def serial(self) -> str | None:
        """The firearm an expanded item is about; None for every other item."""
        return perfirearm.split_id(self.id)[1]

    @property
    def rounds_move(self) -> str | None:
        """What a count of rounds moves in the armory (`blanks-fired`...); None for any other
        item, a firearm's move or the lock-up included."""
        moves = self.moves
        if moves is None or moves in (*perfirearm.FIREARM_MOVES, perfirearm.PUT_AWAY):
            return None
        return moves

    @property
    def custody_key(self) -> str | None:
        """The armory check this item answers to, if any: its `custody:`, or for an item that
        moves one firearm (`moves`), that move of that firearm (`hand-over@SN4471`)."""
        if self.custody is not None:
            return self.custody
        if self.moves is not None and self.moves not in perfirearm.FIREARM_MOVES:
            return self.moves  # rounds of the run's lot: one check for the whole run
        serial = self.serial
        if self.moves is None or serial is None:
            return None
        return perfirearm.expanded_id(self.moves, serial)

    def clear_roles(self, default: list[str]) -> list[str]:
        """Who clears a hold on this item: its own `cleared_by`, else its incident kind's closing
        roles, else the protocol's."""
        if self.cleared_by:
            return list(self.cleared_by)
        if self.incident is not None:
            from safetycli.incidents import KINDS

            return list(KINDS[self.incident].closed_by)
        return list(default)

    def can_fail(self) -> bool:
        """An item that no answer can fail must not claim to stop work."""
        if self.readback or self.witness or self.custody is not None or self.moves:
            return True
        if self.kind == "confirm":
            return True
        if self.kind == "count":  # counts are never negative, so `min: 0` fails nothing
            return bool(self.min) or self.max is not None or self.expect is not None
        if self.kind == "choice":
            return bool(self.fail_on)
        return False


class Phase(_Strict):
    id: Id
    title: Text
    # once; per_take: for every take until the 1st AD wraps; after_break: not in the flow, asked
    # again after every resume and every pause longer than the protocol's `pause_minutes`
    # (custody checks: where were the firearms and rounds, a new sweep for live rounds).
    repeat: Literal["once", "per_take", "after_break"] = "once"
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
    # A pause in the walk-through longer than this (minutes) asks the `after_break` phases again.
    pause_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    # scene: a run covers one scene; day: it covers the whole shooting day (the armory's open and
    # close), so a hold on it stops every run of that day, and one open run a day is enough.
    scope: Literal["scene", "day"] = "scene"
    # What one pass through the per-take phases is called on set, in the walk-through's words:
    # a take, or a run-through (a rehearsal): "another run-through?".
    take_word: Literal["take", "run-through"] = "take"
    phases: list[Phase] = Field(min_length=1)
    # The language it is written in; translations beside it (`firearm-scene.es.yaml`,
    # translation.py) give its crew-facing words in others.
    lang: str = Field(default="en", pattern=r"^[a-z]{2,3}$")

    _origin: ProtocolSource | None = PrivateAttr(default=None)
    # None until `with_translations` read them: most commands load every protocol and use one.
    _translations: dict[str, Any] | None = PrivateAttr(default=None)
    _labels: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def translations(self) -> dict[str, Translation]:
        """Its checked translations, by language (none until `with_translations` read them)."""
        return self._translations or {}

    def with_translations(self) -> list[Problem]:
        """Read and check the translations beside its file, once (translation.py); the
        problems found, if any, and then it has none: a protocol whose translation is broken
        must not run, as one with a problem in its own file does not."""
        if self._translations is not None:
            return []
        from safetycli import translation

        found, problems, _ = translation.load_for(self)
        self._translations = {} if problems else found
        return problems

    def firearm_label(self, serial: str | None) -> str | None:
        """How a run's firearm is named in questions (`for_firearms`); None: each firearm."""
        return None if serial is None else self._labels.get(serial, serial)

    @property
    def origin(self) -> ProtocolSource:
        assert self._origin is not None, "protocol built outside load_protocol()"
        return self._origin

    def items(self) -> list[tuple[Phase, Item]]:
        return [(phase, item) for phase in self.phases for item in phase.items]

    def phase(self, phase_id: str) -> Phase:
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise KeyError(phase_id)

    def item(self, item_id: str) -> Item:
        for _, item in self.items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    @property
    def per_firearm(self) -> bool:
        return any(item.per_firearm for _, item in self.items())

    def for_firearms(self, firearms: Sequence[tuple[str, str]]) -> Protocol:
        """The protocol as one run walks it: each per-firearm item asked once for each firearm
        (serial, label) the run took out, in that order, with its own id (`shown-clear@SN4471`)
        so each firearm is shown clear, announced and read back on its own, and its question
        names the firearm. Unchanged for no firearms (a production without an armory): the
        items are asked once, for every firearm. The origin (the exact YAML) is kept."""
        if not firearms or not self.per_firearm:
            return self
        phases = []
        for phase in self.phases:
            items: list[Item] = []
            for item in phase.items:
                if not item.per_firearm:
                    items.append(item)
                    continue
                for serial, label in firearms:
                    items.append(
                        item.model_copy(
                            update={
                                "id": perfirearm.expanded_id(item.id, serial),
                                "ask": perfirearm.naming(item.ask, label),
                            }
                        )
                    )
            phases.append(phase.model_copy(update={"items": items}))
        out = self.model_copy(update={"phases": phases})
        out._origin = self._origin
        out._translations = self._translations
        out._labels = dict(firearms)
        return out


@dataclass(frozen=True)
class ProtocolSource:
    """Where a protocol came from and the exact bytes the crew saw (recorded with every run)."""

    path: Path
    sha256: str
    shipped: bool
    id_pos: tuple[int, int] = (1, 1)  # line, column of its `id:` value, for messages about it

    def files(self, translations: Mapping[str, Translation]) -> dict[str, Any]:
        """What a run records of the files the crew read: `sha256` of this file, and beside
        it, only when there are any, the sha256 of each translation loaded with it."""
        if not translations:
            return {}
        return {"translations": {lang: t.sha256 for lang, t in sorted(translations.items())}}


# --- validation ----------------------------------------------------------------------------------

_KEYS = {
    "protocol": list(Protocol.model_fields),
    "phase": list(Phase.model_fields),
    "item": list(Item.model_fields),
    "fact": list(Fact.model_fields),
    "hold": list(HoldRule.model_fields),
}

# What to write when a required key is missing, said the way an author needs it.
_MISSING_HINT = {
    "id": "give it a short id in lowercase with dashes, e.g. `id: safety-meeting`",
    "title": "give it a title the crew will read",
    "version": "start at `version: 1` and raise it with every change",
    "summary": "say in one line what this protocol covers",
    "sources": 'list the bulletins or rules it follows, e.g. `sources: ["..."]`',
    "roles": "list the roles that sign it, e.g. `roles: [first_ad, armorer, actor]`",
    "hold": "say who clears a hold, e.g. `hold: {cleared_by: [armorer, first_ad]}`",
    "phases": "add the phases of the checklist, each with its `items`",
    "ask": "write the question the crew answers",
    "by": "name the role that signs it",
    "type": "use one of bool, int, text, choice",
    "cleared_by": "name the roles who clear a hold, e.g. `cleared_by: [armorer, first_ad]`",
}

YES_OR_NO = TRUE_WORDS + FALSE_WORDS
EMPTY_PROTOCOL = f"{EMPTY_FILE}: a protocol starts with `id:`, `title:` and `phases:`"
_ROLE_LISTS = ("roles", "witness", "readback", "cleared_by")


def _keys_for(loc: tuple[str | int, ...]) -> list[str]:
    if len(loc) == 1:
        return _KEYS["protocol"]
    if loc[0] == "phases" and len(loc) == 3:
        return _KEYS["phase"]
    if loc[0] == "phases" and len(loc) == 5:
        return _KEYS["item"]
    if loc[0] == "context" and len(loc) == 3:
        return _KEYS["fact"]
    if loc[0] == "hold":
        return _KEYS["hold"]
    return []


def _describe(value: Any) -> str:
    """What a wrong value looks like, in the author's words."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return f"`{shown(value)}`"


def _suggest_id(value: Any) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")[:64].strip("-")
    return slug or "safety-meeting"


def _is_role_value(loc: tuple[str | int, ...]) -> bool:
    if loc and loc[-1] == "by":
        return True
    return len(loc) >= 2 and isinstance(loc[-1], int) and loc[-2] in _ROLE_LISTS


class _Checker:
    """Every problem in one document, each pointing at the node that causes it."""

    def __init__(self, doc: YamlDoc, roles: Mapping[str, str] | None = None) -> None:
        self.doc = doc
        self.data = _as_dict(doc.data)
        self.vocabulary = known_roles(roles)  # shipped roles, and the production's own
        self.own_roles = bool(roles)

    # -- names for places, the way an author thinks of them ------------------------------------

    def where_text(self, loc: tuple[str | int, ...]) -> str:
        if not loc:
            return "the protocol"
        if loc[0] == "phases" and len(loc) >= 2 and isinstance(loc[1], int):
            phase = self.named(self.data.get("phases"), loc[1], "phase")
            if len(loc) >= 4 and loc[2] == "items" and isinstance(loc[3], int):
                items = _as_dict(_at(self.data.get("phases"), loc[1])).get("items")
                return self.named(items, loc[3], "item") + (
                    "" if _has_id(items, loc[3]) else f" of {phase}"
                )
            return phase
        if loc[0] == "context" and len(loc) >= 2:
            return f"fact `{shown(loc[1])}`"
        return f"`{'.'.join(str(part) for part in loc)}`"

    @staticmethod
    def named(entries: Any, index: int, noun: str) -> str:
        if _has_id(entries, index):
            return f"{noun} `{shown(entries[index]['id'])}`"
        return f"{noun} {index + 1}"

    @staticmethod
    def label(loc: tuple[str | int, ...]) -> str:
        """`field`, or `field` entry N for a list entry."""
        if not loc:
            return "the protocol"
        if isinstance(loc[-1], int):
            parent = str(loc[-2]) if len(loc) >= 2 else "list"
            return f"`{parent}` entry {loc[-1] + 1}"
        return f"`{loc[-1]}`"

    # -- structure: pydantic's findings, reworded ---------------------------------------------

    def pydantic(self, error: ValidationError) -> None:
        for err in error.errors(include_url=False):
            self.one_pydantic(tuple(err["loc"]), err)

    def one_pydantic(self, loc: tuple[str | int, ...], err: Any) -> None:  # noqa: C901
        doc = self.doc
        if loc in doc.unreadable:  # the loader has said why this value is missing
            return
        kind = err["type"]
        value = err.get("input")
        ctx = err.get("ctx") or {}
        field = str(loc[-1]) if loc else "protocol"
        label = self.label(loc)
        is_items = len(loc) == 3 and loc[0] == "phases" and loc[2] == "items"
        if kind == "extra_forbidden":
            known = _keys_for(loc)
            near = difflib.get_close_matches(field, known, n=1)
            hint = f"did you mean `{near[0]}`?" if near else f"allowed here: {', '.join(known)}"
            doc.problem(loc, f"unknown key `{shown(field)}`: {hint}", key=True)
        elif is_items and (kind == "missing" or value in (None, [])):
            doc.problem(loc, f"{self.where_text(loc[:2])} has no items: add at least one")
        elif kind == "missing":
            hint = _MISSING_HINT.get(field)
            where = self.where_text(loc[:-1])
            doc.problem(loc[:-1], f"missing `{field}` in {where}" + (f": {hint}" if hint else ""))
        elif kind == "string_pattern_mismatch" and loc and loc[-1] == "[key]":
            doc.problem(
                loc[:-1],
                f"fact name `{shown(value)}` is not valid: use lowercase letters, digits and "
                "underscores, starting with a letter",
                key=True,
            )
        elif kind == "string_pattern_mismatch" and _is_role_value(loc):
            return  # the role checks below report it, with a suggestion
        elif kind == "string_pattern_mismatch":
            what = {1: "protocol id", 3: "phase id", 5: "item id"}.get(len(loc), label)
            doc.problem(
                loc,
                f"{what} `{shown(value)}` is not valid: use lowercase letters, digits and "
                f"dashes, e.g. `{_suggest_id(value)}`",
            )
        elif kind == "literal_error":
            expected = str(ctx.get("expected", "")).replace("'", "")
            doc.problem(loc, f"{label} is {_describe(value)}: use one of {expected}")
        elif kind == "too_short" and isinstance(value, list):
            doc.problem(loc, f"{label} is empty: it needs at least one entry")
        elif kind == "string_too_short":
            doc.problem(loc, f"{label} is empty: write it out")
        elif kind == "string_too_long":
            doc.problem(
                loc, f"{label} is longer than {ctx.get('max_length')} characters: shorten it"
            )
        elif kind == "string_type" and field == "by" and isinstance(value, list):
            doc.problem(loc, "`by` names one role, not a list: put the others in `witness`")
        elif kind == "string_type":
            quote = ": put it in quotes" if isinstance(value, bool | int | float) else ""
            doc.problem(loc, f"{label} must be text, not {_describe(value)}{quote}")
        elif kind == "list_type" and isinstance(value, str):
            doc.problem(loc, f"{label} must be a list: write `[{shown(value)}]`")
        elif kind == "list_type":
            doc.problem(loc, f"{label} must be a list, not {_describe(value)}")
        elif kind in ("dict_type", "model_type"):
            doc.problem(loc, self.not_a_map(loc, value))
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            doc.problem(loc, f"{label} must be a whole number, not {_describe(value)}")
        elif kind in ("bool_type", "bool_parsing") and str(value).lower() in YES_OR_NO:
            doc.problem(loc, f"{label} must be true or false, without quotes")
        elif kind in ("bool_type", "bool_parsing"):
            doc.problem(loc, f"{label} must be true or false, not {_describe(value)}")
        elif kind == "greater_than_equal":
            doc.problem(loc, f"{label} must be at least {ctx.get('ge')}")
        elif kind == "less_than_equal":
            doc.problem(loc, f"{label} must be at most {ctx.get('le')}")
        else:
            doc.problem(loc, f"{label}: {str(err['msg']).lower()}")

    def not_a_map(self, loc: tuple[str | int, ...], value: Any) -> str:
        found = _describe(value)
        if loc == ("context",):
            return f"`context` must be a map of facts, not {found}: e.g. `blanks: {{type: bool}}`"
        if loc == ("hold",):
            return f"`hold` must be a map, not {found}: e.g. `hold: {{cleared_by: [armorer]}}`"
        if len(loc) == 2 and loc[0] == "context":
            example = "`{type: bool, ask: ...}`"
            return f"{self.where_text(loc)} must be a map, not {found}: e.g. {example}"
        if len(loc) == 2 and loc[0] == "phases":
            keys = "`id:`, `title:` and `items:`"
            return f"phase {int(loc[1]) + 1} must be a map with {keys}, not {found}"
        if len(loc) == 4 and loc[0] == "phases":
            where = f"item {int(loc[3]) + 1} of {self.where_text(loc[:2])}"
            return f"{where} must be a map with `id:`, `ask:` and `by:`, not {found}"
        return f"{self.label(loc)} must be a map, not {found}"

    # -- rules the model cannot express -------------------------------------------------------

    def semantics(self) -> None:
        """Guarded so they run on structurally broken data without repeating its problems."""
        data = self.data
        roles_raw = data.get("roles")
        # With no usable `roles:` list its own problem is reported; checking every signer
        # against it would bury that one line under dozens of consequences.
        self.roles: set[str] | None = None
        if isinstance(roles_raw, list) and roles_raw:
            self.roles = {r for r in roles_raw if isinstance(r, str)}
            self.role_list("roles", ("roles",), roles_raw, vocabulary=True)
        context = data.get("context", {})
        self.facts: dict[str, Any] | None = context if isinstance(context, dict) else None
        for name, fact in (self.facts or {}).items():
            self.fact(name, fact)
        hold = _as_dict(data.get("hold"))
        self.role_list("cleared_by", ("hold", "cleared_by"), hold.get("cleared_by"))

        phases = _as_list(data.get("phases"))
        breaks = [p for p in phases if isinstance(p, dict) and p.get("repeat") == "after_break"]
        if "pause_minutes" in data and not breaks:
            self.doc.problem(
                ("pause_minutes",),
                "`pause_minutes` needs a phase with `repeat: after_break` to ask after a pause",
                key=True,
            )
        phase_ids: dict[str, tuple[int, int]] = {}
        item_ids: dict[str, tuple[int, int]] = {}
        earlier: dict[str, Any] = {}  # item id -> kind, for counts that must add up
        for p, phase in enumerate(_as_list(data.get("phases"))):
            if not isinstance(phase, dict):
                continue
            ploc: tuple[str | int, ...] = ("phases", p)
            self.unique(phase.get("id"), (*ploc, "id"), phase_ids, "phase id")
            if "when" in phase:
                self.when((*ploc, "when"), phase["when"])
            for i, item in enumerate(_as_list(phase.get("items"))):
                if isinstance(item, dict):
                    self.item((*ploc, "items", i), item, item_ids)
                    self.never((*ploc, "items", i, "when"), phase.get("when"), item.get("when"))
                    self.adds_up((*ploc, "items", i, "expect"), item, earlier)
                    earlier.setdefault(str(item.get("id")), item.get("kind", "confirm"))

    def unique(
        self, value: Any, loc: tuple[str | int, ...], seen: dict[str, tuple[int, int]], what: str
    ) -> None:
        if not isinstance(value, str):
            return
        if value in seen:
            first = seen[value][0]
            self.doc.problem(
                loc,
                f"duplicate {what} `{shown(value)}` (first at line {first}): "
                f"give each {what.split()[0]} its own id",
            )
        else:
            seen[value] = self.doc.where(loc)

    def role(self, loc: tuple[str | int, ...], role: Any) -> None:
        if self.roles is None or not isinstance(role, str) or role in self.roles:
            return
        near = difflib.get_close_matches(role, sorted(self.roles), n=1)
        if near:
            hint = f"did you mean `{near[0]}`?"
        else:
            hint = f"add it there or use one of {', '.join(sorted(self.roles))}"
        self.doc.problem(loc, f"role `{shown(role)}` is not in this protocol's `roles:`: {hint}")

    def role_list(
        self, key: str, loc: tuple[str | int, ...], values: Any, *, vocabulary: bool = False
    ) -> None:
        seen: set[str] = set()
        for i, role in enumerate(_as_list(values)):
            if not isinstance(role, str):
                continue
            if role in seen:
                self.doc.problem(
                    (*loc, i), f"role `{shown(role)}` is listed twice in `{key}`: remove one"
                )
            seen.add(role)
            if not vocabulary:
                self.role((*loc, i), role)
            elif role not in self.vocabulary:
                near = difflib.get_close_matches(role, list(self.vocabulary), n=1)
                hint = (
                    f"did you mean `{near[0]}`?"
                    if near
                    else f"known roles: {', '.join(self.vocabulary)}"
                    + ("" if self.own_roles else _OWN_ROLES_HINT)
                )
                self.doc.problem((*loc, i), f"unknown role `{shown(role)}`: {hint}")

    def fact(self, name: str, fact: Any) -> None:
        loc = ("context", name)
        if name == ARMORY_FACT:
            self.doc.problem(
                loc,
                "`armory` is set by the tool (whether the run took firearms out of the "
                "production's armory), never asked: give this fact another name",
                key=True,
            )
            return
        if not isinstance(fact, dict):
            return
        kind = fact.get("type")
        options = fact.get("options")
        if kind == "choice":
            if not isinstance(options, list) or len(options) < 2:
                self.doc.problem(
                    loc, f"fact `{shown(name)}` is a choice: give it two or more `options`"
                )
            elif len({str(o) for o in options}) != len(options):
                self.doc.problem((*loc, "options"), "`options` has the same entry twice")
        elif "options" in fact:
            self.doc.problem((*loc, "options"), "`options` only belongs on a choice fact", key=True)
        for bound in ("min", "max"):
            if kind != "int" and bound in fact:
                self.doc.problem((*loc, bound), f"`{bound}` only belongs on an int fact", key=True)
        lo, hi = fact.get("min"), fact.get("max")
        if _is_int(lo) and _is_int(hi) and lo > hi:
            self.doc.problem((*loc, "max"), f"`max` ({hi}) is below `min` ({lo})")

    def when(self, loc: tuple[str | int, ...], expr: Any) -> None:
        if not isinstance(expr, str):
            return
        cond = parse_when(expr)
        if cond is None:
            self.doc.problem(
                loc,
                f"cannot read `when: {shown(expr)}`: write `fact`, `not fact`, "
                "`fact == value` or `fact != value`",
            )
            return
        if self.facts is None:  # `context:` itself is broken and already reported
            return
        if cond.fact == ARMORY_FACT:
            if cond.op is not None:
                self.doc.problem(loc, "write `when: armory` or `when: not armory`")
            return
        if cond.fact not in self.facts:
            near = difflib.get_close_matches(cond.fact, list(self.facts), n=1)
            if near:
                hint = f"did you mean `{near[0]}`?"
            elif self.facts:
                hint = f"declared facts: {', '.join(self.facts)}"
            else:
                hint = "`context:` declares no facts; add it there"
            self.doc.problem(loc, f"`when` names `{cond.fact}`, which is not in `context:`: {hint}")
            return
        fact = _as_dict(self.facts[cond.fact])
        if cond.op is None:
            return
        kind, value = fact.get("type"), str(cond.value)
        options = [str(o) for o in _as_list(fact.get("options"))]
        if kind == "choice" and options and value not in options:
            self.doc.problem(
                loc,
                f"`when` compares `{cond.fact}` with `{shown(value)}`, which is not one of its "
                f"options ({', '.join(shown(o) for o in options)})",
            )
        elif kind == "bool" and value.lower() not in YES_OR_NO:
            self.doc.problem(
                loc,
                f"`{cond.fact}` is yes or no: write `when: {cond.fact}` or `when: not {cond.fact}`",
            )
        elif kind == "int" and not re.fullmatch(r"-?\d+", value):
            self.doc.problem(loc, f"`{cond.fact}` is a number: compare it with a whole number")

    def never(self, loc: tuple[str | int, ...], phase_when: Any, item_when: Any) -> None:
        """An item whose condition contradicts its phase's would silently never be asked."""
        if not isinstance(phase_when, str) or not isinstance(item_when, str):
            return
        outer, inner = parse_when(phase_when), parse_when(item_when)
        if outer is None or inner is None or outer.fact != inner.fact:
            return
        if outer.op is None and inner.op is None:
            clash = outer.negate != inner.negate
        elif outer.op is not None and inner.op is not None:
            same_value = str(outer.value).lower() == str(inner.value).lower()
            clash = (outer.op == inner.op == "==" and not same_value) or (
                outer.op != inner.op and same_value
            )
        else:
            clash = False
        if clash:
            self.doc.problem(
                loc,
                f"this item can never be asked: its phase runs only when `{phase_when}`, and "
                f"the item only when `{item_when}`",
            )

    def item(
        self, loc: tuple[str | int, ...], item: dict[str, Any], item_ids: dict[str, tuple[int, int]]
    ) -> None:
        doc = self.doc
        self.unique(item.get("id"), (*loc, "id"), item_ids, "item id")
        kind = item.get("kind", "confirm")
        by = item.get("by")
        self.role((*loc, "by"), by)
        for key in ("witness", "readback"):
            self.role_list(key, (*loc, key), item.get(key))
            for j, role in enumerate(_as_list(item.get(key))):
                if isinstance(role, str) and role == by:
                    verb = "read it back" if key == "readback" else "witness it"
                    doc.problem((*loc, key, j), f"`{role}` signs this item, so cannot also {verb}")
        if "when" in item:
            self.when((*loc, "when"), item["when"])
        self.role_list("cleared_by", (*loc, "cleared_by"), item.get("cleared_by"), vocabulary=True)
        self.incident_rule(loc, item)
        if not item.get("source") and not item.get("why"):
            doc.problem(
                loc, "give this item a `source` or a `why`: the crew should know the reason"
            )

        options = _as_list(item.get("options"))
        if kind == "choice":
            if len(options) < 2:
                doc.problem(loc, "a choice item needs `options` with at least two entries")
            elif len({str(o) for o in options}) != len(options):
                doc.problem((*loc, "options"), "`options` has the same entry twice")
            fail_on = _as_list(item.get("fail_on"))
            if options and fail_on and {str(o) for o in options} <= {str(f) for f in fail_on}:
                doc.problem(
                    (*loc, "fail_on"),
                    "`fail_on` lists every option, so no answer could pass: remove the ones "
                    "that are safe",
                )
            for j, fail in enumerate(fail_on):
                if options and fail not in options:
                    doc.problem(
                        (*loc, "fail_on", j),
                        f"`fail_on` names `{shown(fail)}`, "
                        "which is not one of this item's `options`",
                    )
        else:
            for key in ("options", "fail_on"):
                if key in item:
                    doc.problem((*loc, key), f"`{key}` only belongs on a choice item", key=True)
        custody = item.get("custody")
        if isinstance(custody, str) and custody.endswith("-in-storage") and kind != "count":
            doc.problem((*loc, "custody"), f"`custody: {shown(custody)}` belongs on a count item")
        elif isinstance(custody, str) and kind not in ("count", "confirm"):
            doc.problem((*loc, "custody"), "`custody` belongs on a count or a confirm item")
        self.firearm_rules(loc, item, kind, by)
        if kind != "count":
            for key in ("min", "max", "expect"):
                if key in item:
                    doc.problem((*loc, key), f"`{key}` only belongs on a count item", key=True)
        else:
            self.bounds(loc, item)

        if item.get("critical") is True:
            if item.get("allow_na") is True:
                doc.problem(
                    (*loc, "allow_na"),
                    "a critical item can never be marked not applicable: remove `allow_na`",
                )
            try:
                model = Item.model_validate(item)
            except ValidationError:
                return  # its structural problems are reported already
            if not model.can_fail():
                doc.problem((*loc, "critical"), _CANNOT_FAIL[model.kind])

    def firearm_rules(
        self, loc: tuple[str | int, ...], item: dict[str, Any], kind: Any, by: Any
    ) -> None:
        """Per-firearm items and the custody their signatures move (`moves`)."""
        doc = self.doc
        per_firearm = item.get("per_firearm") is True
        if per_firearm and kind == "count":
            doc.problem(
                (*loc, "per_firearm"),
                "a count is for the whole run (the sums add it up across takes), not per "
                "firearm: remove `per_firearm`",
            )
        ask = item.get("ask")
        if isinstance(ask, str) and perfirearm.SLOT in ask and not per_firearm:
            doc.problem(
                (*loc, "ask"),
                f"`{perfirearm.SLOT}` names the firearm of a per-firearm item: add "
                "`per_firearm: true` or write the firearm out",
            )
        moves = item.get("moves")
        if not isinstance(moves, str):
            return
        if moves == perfirearm.PUT_AWAY:
            if kind != "confirm" or per_firearm:
                doc.problem(
                    (*loc, "moves"),
                    "`moves: put-away` belongs on a confirmation for the whole run, not per "
                    "firearm",
                )
        elif moves not in perfirearm.FIREARM_MOVES:
            if kind != "count":
                doc.problem((*loc, "moves"), f"`moves: {shown(moves)}` belongs on a count item")
            if per_firearm:
                doc.problem((*loc, "moves"), "rounds are counted for the run, not per firearm")
        elif not per_firearm:
            doc.problem((*loc, "moves"), "`moves` needs `per_firearm: true`: it moves one firearm")
        elif kind != "confirm":
            doc.problem((*loc, "moves"), "`moves` belongs on a confirm item")
        if by != "armorer":
            doc.problem(
                (*loc, "by"),
                "only the armorer moves firearms and rounds in the armory's record: write "
                "`by: armorer`",
            )
        if moves == "hand-over" and len(_as_list(item.get("witness"))) != 1:
            doc.problem(
                (*loc, "witness"),
                "a hand-over names one witness, the person who receives the firearm and "
                "confirms it with their PIN: e.g. `witness: [actor]`",
            )

    def incident_rule(self, loc: tuple[str | int, ...], item: dict[str, Any]) -> None:
        """An item that records an incident stops work, and its hold is cleared by at least the
        roles who close that kind of incident: an injury or an unplanned discharge is never
        cleared by the armorer and the 1st AD alone."""
        from safetycli.incidents import KINDS

        kind = item.get("incident")
        if not isinstance(kind, str) or kind not in KINDS:
            return
        if item.get("critical") is not True:
            self.doc.problem(
                (*loc, "incident"), "an item that records an incident must be `critical: true`"
            )
        cleared = item.get("cleared_by")
        if isinstance(cleared, list):
            missing = [r for r in KINDS[kind].closed_by if r not in cleared]
            if missing:
                self.doc.problem(
                    (*loc, "cleared_by"),
                    f"`cleared_by` must name at least {', '.join(KINDS[kind].closed_by)} on a "
                    f"check that records an incident ({KINDS[kind].label}): add "
                    f"{', '.join(missing)}",
                )

    def adds_up(
        self, loc: tuple[str | int, ...], item: dict[str, Any], earlier: dict[str, Any]
    ) -> None:
        """`expect: loaded - fired` names counts asked before this one; `today(id)` names a
        count of the day's other runs, which may come from any protocol."""
        expr = item.get("expect")
        if not isinstance(expr, str) or item.get("kind") != "count":
            return
        terms = parse_expect(expr)
        if terms is None:
            self.doc.problem(
                loc,
                f"cannot read `expect: {shown(expr)}`: write a number, or earlier counts joined "
                "by ` + ` and ` - ` (spaces around them), e.g. `loaded - fired`, or "
                "`today(blanks-issued)` for the day's other runs",
            )
            return
        for term in terms:
            if term.scope == DAY:
                continue
            if term.item not in earlier:
                self.doc.problem(
                    loc, f"`expect` names `{term.item}`, which is not an item before this one"
                )
            elif earlier[term.item] != "count":
                self.doc.problem(loc, f"`expect` names `{term.item}`, which is not a count")

    def bounds(self, loc: tuple[str | int, ...], item: dict[str, Any]) -> None:
        lo, hi, exp = item.get("min"), item.get("max"), item.get("expect")
        for key, value in (("min", lo), ("max", hi), ("expect", exp)):
            if _is_int(value) and value < 0:
                self.doc.problem((*loc, key), f"`{key}` cannot be negative ({value})")
        if _is_int(lo) and _is_int(hi) and lo > hi:
            self.doc.problem((*loc, "max"), f"`max` ({hi}) is below `min` ({lo})")
        elif _is_int(exp) and ((_is_int(lo) and exp < lo) or (_is_int(hi) and exp > hi)):
            span = f"{lo if _is_int(lo) else ''}..{hi if _is_int(hi) else ''}"
            self.doc.problem((*loc, "expect"), f"`expect` ({exp}) is outside `min`..`max` ({span})")


_CANNOT_FAIL = {
    "text": "a written answer cannot fail, so `critical` would never stop work: "
    "add a `witness` or a `readback`, or remove `critical`",
    "count": "a count with no `max`, no `expect` and no `min` above 0 cannot fail, so "
    "`critical` would never stop work: add one, or remove `critical`",
    "choice": "a choice with no `fail_on` cannot fail, so `critical` would never stop work: "
    "add `fail_on`, or remove `critical`",
    "confirm": "no answer can fail this item, so `critical` would never stop work: "
    "remove `critical`",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _at(entries: Any, index: int) -> Any:
    return entries[index] if isinstance(entries, list) and 0 <= index < len(entries) else None


def _has_id(entries: Any, index: int) -> bool:
    return isinstance(_as_dict(_at(entries, index)).get("id"), str)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def validate_doc(
    doc: YamlDoc,
    *,
    shipped: bool = False,
    raw: bytes = b"",
    roles: Mapping[str, str] | None = None,
) -> Protocol | None:
    """Validate loaded YAML; return the protocol only when there are no problems at all.

    Every problem found lands in `doc.problems`, sorted by position. `roles` are the
    production's own (roles.py), which its own protocols may use beside the shipped ones; a
    shipped protocol is checked against the shipped roles alone, so it works in every workspace."""
    if doc.data is None:  # unreadable (syntax error, empty, binary) and reported; or plain `null`
        if not doc.problems:
            doc.add(1, 1, EMPTY_FILE)
        doc.problems[:] = [
            Problem(pr.path, pr.line, pr.col, EMPTY_PROTOCOL) if pr.message == EMPTY_FILE else pr
            for pr in doc.problems
        ]
        doc.problems.sort(key=lambda pr: (pr.line, pr.col))
        return None
    if not isinstance(doc.data, dict):
        line, col = doc.where(())
        doc.add(
            line,
            col,
            "a protocol is a map of keys (`id:`, `title:`, `phases:` ...), "
            f"not {_describe(doc.data)}",
        )
        doc.problems.sort(key=lambda pr: (pr.line, pr.col))
        return None
    checker = _Checker(doc, None if shipped else roles)
    model: Protocol | None = None
    try:
        model = Protocol.model_validate(doc.data)
    except ValidationError as err:
        checker.pydantic(err)
    checker.semantics()
    doc.problems.sort(key=lambda pr: (pr.line, pr.col))
    if doc.problems or model is None:
        return None
    model._origin = ProtocolSource(
        path=Path(doc.path),
        sha256=hashlib.sha256(raw).hexdigest(),
        shipped=shipped,
        id_pos=doc.where(("id",)),
    )
    return model


def check_file(
    path: Path, *, shipped: bool = False, roles: Mapping[str, str] | None = None
) -> tuple[Protocol | None, list[Problem]]:
    """Load and validate one protocol file (its translations are read when it is about to be
    used: `Protocol.with_translations`). OSError propagates: an unreadable path is not a
    problem *in* a protocol, and the CLI reports it with a different exit code."""
    raw = read_source(path)
    doc = load_yaml(path, raw)
    protocol = validate_doc(doc, shipped=shipped, raw=raw, roles=roles)
    return protocol, list(doc.problems)


def check_with_warnings(
    path: Path, *, shipped: bool = False, roles: Mapping[str, str] | None = None
) -> tuple[Protocol | None, list[Problem], list[Problem]]:
    """(the protocol, its problems, its warnings): the file and every translation beside it
    (translation.py). A problem in a translation refuses the protocol as one in the file does;
    what is only untranslated or out of date is a warning, and reads in the main language."""
    from safetycli import translation

    raw = read_source(path)
    doc = load_yaml(path, raw)
    protocol = validate_doc(doc, shipped=shipped, raw=raw, roles=roles)
    if protocol is None:
        return None, list(doc.problems), []
    found, problems, warnings = translation.load_for(protocol)
    if problems:
        return None, problems, warnings
    protocol._translations = found
    return protocol, [], warnings
