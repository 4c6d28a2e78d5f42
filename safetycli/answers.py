"""The answers file: a scripted crew for training, demos and tests.

Same rules as the keyboard: a wrong PIN is refused and recorded, a critical "no" raises a hold.
Every mistake in the file is reported at its line, before anything is written to the log where
possible (malformed structure), or at the item where it is used (a wrong answer type).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetycli import perfirearm
from safetycli.errors import EXIT_OPEN, SafetyError
from safetycli.filemodes import refuse_if_readable_by_others
from safetycli.i18n import _
from safetycli.yamlsource import YamlDoc, load_yaml

if TYPE_CHECKING:
    from safetycli.protocol import Protocol

TOP_KEYS = ("context", "signers", "answers", "takes", "readbacks", "witnesses", "armory")


class Incomplete(SafetyError):
    """The file has no answer for the next question: the run stays open (exit 4)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_OPEN)


@dataclass
class AnswersFile:
    path: str
    doc: YamlDoc
    lines: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    signers: dict[str, tuple[str, str]] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    takes: int = 1
    readbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    witnesses: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What the run takes out of the armory at its start: `armory: {firearms: [4471], rounds:
    # {B-7: 12}}` (as `run --firearm 4471 --rounds B-7=12`).
    firearms: list[str] = field(default_factory=list)
    rounds: list[tuple[str, int]] = field(default_factory=list)

    def at(self, *loc: str | int, key: bool = False) -> str:
        line, col = self.doc.where(tuple(loc), key=key)
        return f"{self.path}:{line}:{col}"

    def typed(self, loc: tuple[str | int, ...]) -> str:
        """The characters of a plain scalar as they stand in the file. YAML turns some plain text
        into numbers (`0123` is octal 83, `18:30` is 1110 in base 60); a text answer or a PIN
        means what the person typed."""
        line, col = self.doc.where(loc)
        source = self.lines[line - 1][col - 1 :] if 0 < line <= len(self.lines) else ""
        return source.split(" #")[0].split(",")[0].split("}")[0].strip()

    def fail(self, loc: tuple[str | int, ...], message: str, *, key: bool = False) -> SafetyError:
        """The error at `loc`: its value, or with `key` the key itself (for a key that is wrong,
        the line the user has to change is the key's, not the line of its value)."""
        return SafetyError(f"{self.at(*loc, key=key)}: {message}")


def _mapping(af: AnswersFile, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise af.fail((key,), _("`{key}` must be a mapping of names to values").format(key=key))
    return value


def _pin(af: AnswersFile, role: str, value: Any) -> str:
    """The PIN as typed. YAML reads an unquoted `0123` as the octal number 83: a file like that
    would be refused as a wrong PIN again and again until the person is locked out, so say what
    happened instead."""
    if isinstance(value, str):
        return value
    loc = ("signers", role, "pin")
    if isinstance(value, int) and not isinstance(value, bool):
        typed = af.typed(loc)
        if typed == str(value):
            return typed
        said = _('YAML reads this PIN as the number {value}; put it in quotes: pin: "{typed}"')
        raise af.fail(loc, said.format(value=value, typed=typed))
    said = _('the PIN for `{role}` is digits in quotes, e.g. pin: "4821"')
    raise af.fail(loc, said.format(role=role))


def load_answers(path: Path) -> AnswersFile:
    """Read and check an answers file. It holds PINs: one that other accounts can read is
    refused before anything in it is used."""
    refuse_if_readable_by_others(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        said = _("cannot read answers file {path}: {why}")
        raise SafetyError(said.format(path=path, why=err.strerror)) from None
    doc = load_yaml(path, raw)
    if doc.problems:
        raise SafetyError(str(doc.problems[0]))
    af = AnswersFile(str(path), doc, raw.decode("utf-8", "replace").splitlines())
    data = doc.data
    if not isinstance(data, dict):
        raise af.fail((), _("an answers file is a mapping with `signers:` and `answers:`"))
    for key in data:
        if key not in TOP_KEYS:
            said = _("unknown key `{key}`; allowed: {allowed}")
            raise af.fail((key,), said.format(key=key, allowed=", ".join(TOP_KEYS)), key=True)
    af.context = _mapping(af, data, "context")
    for role, signer in _mapping(af, data, "signers").items():
        if not isinstance(signer, dict) or "name" not in signer or "pin" not in signer:
            said = _("signer `{role}` needs `name:` and `pin:`")
            raise af.fail(("signers", role), said.format(role=role))
        extra = sorted(set(signer) - {"name", "pin"}, key=str)
        if extra:
            said = _("unknown key `{key}` for `{role}`").format(key=extra[0], role=role)
            raise af.fail(("signers", role, extra[0]), said, key=True)
        af.signers[role] = (str(signer["name"]), _pin(af, role, signer["pin"]))
    af.answers = _mapping(af, data, "answers")
    takes = data.get("takes", 1)
    if isinstance(takes, bool) or not isinstance(takes, int) or not 1 <= takes <= 200:
        raise af.fail(("takes",), _("`takes` must be a whole number from 1 to 200"))
    af.takes = takes
    for key in ("readbacks", "witnesses"):
        table = _mapping(af, data, key)
        for item_id, by_role in table.items():
            if not isinstance(by_role, dict):
                said = _("`{key}.{item}` must map roles to answers")
                raise af.fail((key, item_id), said.format(key=key, item=item_id))
        setattr(af, key, table)
    _outgoing(af, _mapping(af, data, "armory"))
    return af


def _outgoing(af: AnswersFile, table: dict[str, Any]) -> None:
    for key in table:
        if key not in ("firearms", "rounds"):
            said = _("unknown key `{key}`; allowed: {allowed}")
            raise af.fail(("armory", key), said.format(key=key, allowed="firearms, rounds"))
    firearms = table.get("firearms", [])
    if not isinstance(firearms, list):
        raise af.fail(("armory", "firearms"), _("`armory.firearms` is a list of serials"))
    af.firearms = [str(serial) for serial in firearms]
    rounds = table.get("rounds", {})
    if not isinstance(rounds, dict):
        raise af.fail(("armory", "rounds"), _("`armory.rounds` maps each lot to a count"))
    for lot, count in rounds.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            said = _("lot {lot}: a count of 1 or more").format(lot=lot)
            raise af.fail(("armory", "rounds", lot), said)
        af.rounds.append((str(lot), count))


def check_against(answers: AnswersFile, protocol: Protocol) -> None:
    """Every item and role the file names must exist in the protocol: a misspelt witness who
    was meant to refuse would otherwise be read as the default "yes", and the run would pass."""
    items = {item.id: item for _phase, item in protocol.items()}
    for item_id in [*answers.answers, *answers.witnesses, *answers.readbacks]:
        base, serial = perfirearm.split_id(str(item_id))
        if serial and base in items and items[base].per_firearm:
            items[item_id] = items[base]  # `shown-clear@SN4471`: for that firearm only

    def unknown_item(section: str, item_id: str) -> SafetyError:
        near = difflib.get_close_matches(str(item_id), list(items), n=1)
        if near:
            said = _("`{protocol}` has no item `{item}`; did you mean `{near}`?")
        else:
            said = _("`{protocol}` has no item `{item}`")
        said = said.format(protocol=protocol.id, item=item_id, near=near[0] if near else "")
        return answers.fail((section, item_id), said)

    for item_id in answers.answers:
        if item_id not in items:
            raise unknown_item("answers", item_id)
    for section, kind in (("witnesses", "witness"), ("readbacks", "readback")):
        for item_id, by_role in getattr(answers, section).items():
            if item_id not in items:
                raise unknown_item(section, item_id)
            allowed = getattr(items[item_id], kind)
            for role in by_role:
                if role not in allowed:
                    if kind == "witness":
                        said = _("`{item}` has no witness `{role}` (its witness: {who})")
                    else:
                        said = _("`{item}` has no readback `{role}` (its readback: {who})")
                    who = ", ".join(allowed) or _("nobody")
                    raise answers.fail(
                        (section, item_id, role), said.format(item=item_id, role=role, who=who)
                    )


def passing_answers(protocol: Protocol, text: str = "Recorded", takes: int = 1) -> dict[str, Any]:
    """Answers that pass every check, counts that add up included: what a scene where all is
    right looks like (the demo, training files, tests). A count whose `expect` names earlier
    counts gets their sum (a per-take count named by a once-only one counts `takes` times, as
    the same answers are given every take); if that would be negative, the first count it names
    is raised. Counts of the day's other runs (`today(id)`) are taken to be none."""
    from safetycli.conditions import RUN, parse_expect

    out: dict[str, Any] = {}
    repeat = {item.id: phase.repeat for phase, item in protocol.items()}
    for phase, item in protocol.items():
        if item.kind == "confirm":
            out[item.id] = True
        elif item.kind == "choice":
            out[item.id] = next(o for o in item.options or [] if o not in (item.fail_on or []))
        elif item.kind == "text":
            out[item.id] = f"{text}: {item.id}"
        elif isinstance(item.expect, int):
            out[item.id] = item.expect
        elif isinstance(item.expect, str):
            terms = [t for t in parse_expect(item.expect) or [] if t.scope == RUN]
            once = phase.repeat == "once"

            def times(name: str, once: bool = once) -> int:
                return takes if once and repeat.get(name) == "per_take" else 1

            value = sum(t.sign * int(out.get(t.item, 0)) * times(t.item) for t in terms)
            if value < 0 and terms and terms[0].sign == 1:
                first = terms[0].item
                out[first] = int(out.get(first, 0)) - value // times(first)
                value = 0
            out[item.id] = max(value, 0)
        else:
            out[item.id] = item.min if item.min is not None else min(2, item.max or 2)
    return out
