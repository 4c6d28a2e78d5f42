"""A protocol's crew-facing words in other languages: one file per language, beside it.

`firearm-scene.es.yaml` translates `firearm-scene.yaml` into Spanish. A translator receives one
file, with every English text beside the place for its Spanish (`ask: {en: ..., es: ...}`), and
changes nothing else: the checks themselves (who signs, what stops work, the options recorded)
stay in the main file, so a translation can never change what a check does, only how it reads.

Each translated text keeps the English it was made from. When the English changes, the old
translation is not shown (the person reads the English, marked `[en]`) and the validator warns,
naming the item and quoting the new English, until the translator updates both. A translation
that names no item, phase or option, or that makes two options read alike (two answers
collapsing into one in that language), is an error: the protocol does not load until it is put
right, as with any other problem in its files.

Which text each person saw is computed here, purely, from the protocol and their language: the
terminal shows it and the runner hashes it into the signature (`text_sha256`), from one function,
so what the log proves is what was on the screen.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetycli import perfirearm
from safetycli.i18n import NAMES
from safetycli.protocache import TRANSLATION_FILE
from safetycli.yamlsource import Problem, YamlDoc, load_yaml, read_source, shown, visible

if TYPE_CHECKING:
    from safetycli.protocol import Item, Phase, Protocol

LANG_RE = re.compile(r"^[a-z]{2,3}$")  # a BCP 47 primary language tag: `en`, `es`
FILE_RE = TRANSLATION_FILE  # `firearm-scene.es.yaml`
TEXT_MAX = 2000
MARK = "[{lang}] "  # before a text shown in the protocol's main language instead of the person's
WARNING = "warning: "
_TOP_KEYS = ("translates", "lang", "each_firearm", "title", "summary", "context", "phases", "items")
_ITEM_KEYS = ("ask", "why", "options")


def _quoted(text: str, limit: int = 300) -> str:
    """The new source text, whole enough for a translator to work from, on one line."""
    said = visible(text)
    return said if len(said) <= limit else said[: limit - 3] + "..."


def language_name(lang: str) -> str:
    """The language's English name, as the validator's findings (which stay English) say it;
    `i18n.language_name` is the one in the reader's words. Any code is accepted."""
    return NAMES.get(lang, f"`{lang}`")


def check_lang(value: str) -> str:
    """A language code as the roster and the files keep it, or ValueError saying what is."""
    code = value.strip().lower()
    if not LANG_RE.match(code):
        raise ValueError(
            f"`{shown(value)}` is not a language code: use two or three letters, e.g. en or es"
        )
    return code


def is_translation_file(path: Path) -> bool:
    return FILE_RE.match(path.name) is not None


def main_file(path: Path) -> Path | None:
    """The protocol file a translation file translates, if it is beside it."""
    found = FILE_RE.match(path.name)
    if found is None:
        return None
    for suffix in (".yaml", ".yml"):
        main = path.with_name(found["stem"] + suffix)
        if main.is_file():
            return main
    return None


def files_for(path: Path) -> list[tuple[str, Path]]:
    """(language, file) of every translation beside a protocol file, by language."""
    out: dict[str, Path] = {}
    try:
        siblings = sorted(path.parent.iterdir())
    except OSError:
        return []
    for other in siblings:
        found = FILE_RE.match(other.name)
        if found and found["stem"] == path.stem and other.is_file():
            out.setdefault(found["lang"], other)
    return sorted(out.items())


# --- what a translation holds, once checked ---------------------------------------------


@dataclass(frozen=True)
class ItemText:
    ask: str | None = None
    why: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # main-language option -> translated


@dataclass(frozen=True)
class Translation:
    """The texts of one language that are current (made from the English the protocol has now);
    a stale or missing text is simply absent, and the main language is shown instead."""

    lang: str
    path: Path
    sha256: str
    each_firearm: str | None = None
    title: str | None = None
    summary: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    phases: dict[str, str] = field(default_factory=dict)
    items: dict[str, ItemText] = field(default_factory=dict)


# --- what one person is shown ------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """An item as one person reads it: its question, options and why in their language where
    translated, else in the protocol's main language (`fallback`: the parts that are)."""

    question: str
    options: tuple[str, ...]
    why: str | None
    lang: str  # the language asked for
    main: str  # the protocol's own language, shown where there is no translation
    question_main: bool = False  # the question is in the main language
    options_main: tuple[bool, ...] = ()  # each option is
    why_main: bool = False

    @property
    def fallback(self) -> bool:
        """Some of it is in the protocol's main language, for want of a translation."""
        return self.question_main or any(self.options_main) or self.why_main

    @property
    def lines(self) -> list[str]:
        """What the signature's hash covers: the question, then each option, one a line."""
        return [self.question, *self.options]


def _translation(protocol: Protocol, lang: str | None) -> Translation | None:
    if lang is None or lang == protocol.lang:
        return None
    return protocol.translations.get(lang)


def fact_ask(protocol: Protocol, name: str, lang: str | None) -> str:
    """A fact's question at a run's start, said to the room in the laptop's language where the
    protocol has it (the trial's Spanish laptop asked about blanks in English); else as written."""
    found = _translation(protocol, lang)
    said = found.facts.get(name) if found is not None else None
    return said or protocol.context[name].ask


def item_text(protocol: Protocol, item: Item, lang: str | None) -> Shown:
    """`item` as a person reading `lang` sees it. An item asked per firearm names its firearm
    (or "each firearm", in that language) the way the English does."""
    main = protocol.lang
    wanted = lang or main
    found = _translation(protocol, lang)
    own = found.items.get(item.base_id) if found is not None else None
    options = tuple(item.options or ())
    if wanted == main:
        return Shown(item.question, options, item.why, main, main)
    question_main = own is None or own.ask is None
    if own is not None and own.ask is not None:
        label = protocol.firearm_label(item.serial)
        any_firearm = (found.each_firearm if found is not None else None) or perfirearm.ANY
        question = (
            own.ask.replace(perfirearm.SLOT, any_firearm)
            if label is None
            else perfirearm.naming(own.ask, perfirearm.label_in(label, wanted))
        )
    else:
        question = item.question
    shown_options = []
    options_main = []
    for option in options:
        said = own.options.get(option) if own is not None else None
        options_main.append(said is None)
        shown_options.append(said or option)
    why, why_main = item.why, False
    if item.why is not None:
        if own is not None and own.why is not None:
            why = own.why
        else:
            why_main = True
    return Shown(
        question,
        tuple(shown_options),
        why,
        wanted,
        main,
        question_main,
        tuple(options_main),
        why_main,
    )


def phase_title(protocol: Protocol, phase: Phase, lang: str | None) -> tuple[str, bool]:
    """A phase's title in `lang`, and whether it fell back to the main language."""
    found = _translation(protocol, lang)
    if found is None:
        return phase.title, (lang or protocol.lang) != protocol.lang
    said = found.phases.get(phase.id)
    return (said, False) if said else (phase.title, True)


def answer_from(item: Item, shown_text: Shown, typed: str) -> str:
    """A choice typed in the person's words (or its number) as the option the log records: the
    main-language option. Anything else is handed on as typed, for the usual checks."""
    raw = typed.strip()
    for said, option in zip(shown_text.options, item.options or (), strict=False):
        if raw.casefold() == said.casefold():
            return option
    return typed


def text_sha256(shown_items: Iterable[Shown]) -> str:
    """The sha256 of what a person read for one signature: each check's question and then its
    options, one a line, in the order listed, UTF-8, joined by newlines (markers not included:
    the signature's `fallback` says which checks were in the main language)."""
    lines = [line for one in shown_items for line in one.lines]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


# --- checking a translation file ---------------------------------------------------------------


@dataclass
class Checked:
    translation: Translation | None
    problems: list[Problem]
    warnings: list[Problem]


class _Checker:
    def __init__(self, doc: YamlDoc, protocol: Protocol, lang: str) -> None:
        self.doc = doc
        self.protocol = protocol
        self.main = protocol.lang
        self.lang = lang
        self.warnings: list[Problem] = []

    def error(self, loc: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        self.doc.problem(loc, message, key=key)

    def warn(self, loc: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        line, col = self.doc.where(loc, key=key)
        self.warnings.append(Problem(self.doc.path, line, col, WARNING + message))

    def unknown_keys(
        self, loc: tuple[str | int, ...], data: dict[str, Any], allowed: Iterable[str]
    ) -> None:
        allowed = list(allowed)
        for key in data:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = (
                    f"did you mean `{near[0]}`?" if near else f"allowed here: {', '.join(allowed)}"
                )
                self.error((*loc, key), f"unknown key `{shown(key)}`: {hint}", key=True)

    def pair(self, loc: tuple[str | int, ...], value: Any, source: str, what: str) -> str | None:
        """`{en: source it was made from, es: translation}`: the translation when it is current,
        None (with a warning) when missing or made from other words."""
        main, lang = self.main, self.lang
        if not isinstance(value, dict):
            self.error(
                loc,
                f"{what} must be a map with the {language_name(main)} and the "
                f'{language_name(lang)}: e.g. `{{{main}: "...", {lang}: "..."}}`',
            )
            return None
        self.unknown_keys(loc, value, (main, lang))
        made_from, said = value.get(main), value.get(lang)
        for key, text in ((main, made_from), (lang, said)):
            if text is not None and not isinstance(text, str):
                self.error((*loc, key), f"{what}: `{key}` must be text")
                return None
            if isinstance(text, str) and len(text) > TEXT_MAX:
                self.error((*loc, key), f"{what}: `{key}` is longer than {TEXT_MAX} characters")
                return None
        if not isinstance(said, str) or not said.strip():
            self.warn(loc, f"{what} is not translated into {language_name(lang)} yet")
            return None
        if made_from != source:
            self.warn(
                (*loc, main) if main in value else loc,
                f"{what}: the {language_name(main)} changed since it was translated "
                f'(now "{_quoted(source)}"): it is shown in {language_name(main)} until the '
                f"translation and `{main}:` are updated",
            )
            return None
        return said

    def check(self, path: Path, raw: bytes) -> Translation | None:
        data = self.doc.data
        protocol = self.protocol
        if not isinstance(data, dict):
            self.error((), "a translation is a map: `translates:`, `lang:`, `items:` ...")
            return None
        self.unknown_keys((), data, _TOP_KEYS)
        if data.get("translates") != protocol.id:
            self.error(
                ("translates",),
                f"write `translates: {protocol.id}`: the id of the protocol this file translates",
            )
        if data.get("lang") != self.lang:
            self.error(("lang",), f"write `lang: {self.lang}`: the language its file name says")
        each = data.get("each_firearm")
        if each is not None and not isinstance(each, str):
            self.error(("each_firearm",), '`each_firearm` is the words for "each firearm"')
            each = None
        elif isinstance(each, str) and not each.strip():  # left for the translator
            self.warn(("each_firearm",), "`each_firearm` is not translated yet", key=True)
            each = None
        title = (
            self.pair(("title",), data["title"], protocol.title, "the title")
            if "title" in data
            else None
        )
        if "title" not in data:
            self.warn((), f"the title is not translated into {language_name(self.lang)}")
        summary = (
            self.pair(("summary",), data["summary"], protocol.summary, "the summary")
            if "summary" in data
            else None
        )
        if "summary" not in data:
            self.warn((), f"the summary is not translated into {language_name(self.lang)}")
        facts = self.section("context", data, list(protocol.context), "fact")
        for name in protocol.context:
            if name not in facts:
                where = ("context",) if "context" in data else ()
                self.warn(where, f"fact `{name}`: its question is not translated", key=True)
        fact_texts = {
            name: said
            for name, value in facts.items()
            if (
                said := self.pair(
                    ("context", name), value, protocol.context[name].ask, f"fact `{name}`"
                )
            )
        }
        phases = self.section("phases", data, [p.id for p in protocol.phases], "phase")
        phase_texts = {
            pid: said
            for pid, value in phases.items()
            if (
                said := self.pair(
                    ("phases", pid), value, protocol.phase(pid).title, f"phase `{pid}`"
                )
            )
        }
        for phase in protocol.phases:
            if phase.id not in phases:
                self.warn(
                    ("phases",) if "phases" in data else (),
                    f"phase `{phase.id}`: its title is not translated",
                    key=True,
                )
        items_raw = self.section("items", data, [i.id for _, i in protocol.items()], "item")
        items: dict[str, ItemText] = {}
        for phase, item in protocol.items():
            if item.id not in items_raw:
                self.warn(
                    ("items",) if "items" in data else (),
                    f"item `{item.id}` (phase `{phase.id}`) is not translated into "
                    f"{language_name(self.lang)}: it is shown in {language_name(self.main)}, "
                    f"marked {MARK.format(lang=self.main).strip()}",
                    key=True,
                )
                continue
            items[item.id] = self.item(("items", item.id), items_raw[item.id], item)
        return Translation(
            lang=self.lang,
            path=path,
            sha256=hashlib.sha256(raw).hexdigest(),
            each_firearm=each,
            title=title,
            summary=summary,
            facts=fact_texts,
            phases=phase_texts,
            items=items,
        )

    def section(self, key: str, data: dict[str, Any], ids: list[str], noun: str) -> dict[str, Any]:
        """A map of ids to translations; an id the protocol does not have is an error."""
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error((key,), f"`{key}` must be a map of {noun} ids")
            return {}
        out = {}
        for name, entry in value.items():
            if name in ids:
                out[name] = entry
                continue
            near = difflib.get_close_matches(str(name), ids, n=1)
            hint = f"did you mean `{near[0]}`?" if near else "remove it, or check the id"
            self.error(
                (key, name),
                f"`{shown(name)}` names no {noun} of `{self.protocol.id}`: {hint}",
                key=True,
            )
        return out

    def item(self, loc: tuple[str | int, ...], value: Any, item: Item) -> ItemText:
        if not isinstance(value, dict):
            self.error(loc, f"item `{item.id}` must be a map with `ask:` (and `why:`, `options:`)")
            return ItemText()
        self.unknown_keys(loc, value, _ITEM_KEYS)
        what = f"item `{item.id}`"
        ask = (
            self.pair((*loc, "ask"), value["ask"], item.ask, f"{what} `ask`")
            if "ask" in value
            else None
        )
        if "ask" not in value:
            self.warn(loc, f"{what}: `ask` is not translated")
        if ask is not None:
            slot = perfirearm.SLOT
            if item.per_firearm and slot in item.ask and slot not in ask:
                self.error(
                    (*loc, "ask", self.lang),
                    f"{what}: the translation must name the firearm with `{slot}`, as the "
                    f"{language_name(self.main)} does",
                )
                ask = None
            elif slot in ask and not item.per_firearm:
                self.error(
                    (*loc, "ask", self.lang), f"{what}: `{slot}` only belongs in a per-firearm item"
                )
                ask = None
        why = None
        if "why" in value:
            if item.why is None:
                self.error((*loc, "why"), f"{what} has no `why` in the protocol to translate")
            else:
                why = self.pair((*loc, "why"), value["why"], item.why, f"{what} `why`")
        elif item.why is not None:
            self.warn(loc, f"{what}: `why` is not translated")
        options = self.options((*loc, "options"), value.get("options"), item)
        return ItemText(ask=ask, why=why, options=options)

    def options(self, loc: tuple[str | int, ...], value: Any, item: Item) -> dict[str, str]:
        what = f"item `{item.id}`"
        choices = list(item.options or [])
        if value is None:
            if choices:
                self.warn(loc[:-1], f"{what}: its options are not translated")
            return {}
        if not choices:
            self.error(loc, f"{what} is not a choice: it has no options to translate", key=True)
            return {}
        if not isinstance(value, dict):
            self.error(
                loc, f"{what}: `options` maps each option to its translation: `EMPTY: VACÍA`"
            )
            return {}
        out: dict[str, str] = {}
        for option, said in value.items():
            if option not in choices:
                near = difflib.get_close_matches(str(option), choices, n=1)
                hint = (
                    f"did you mean `{near[0]}`?" if near else f"its options: {', '.join(choices)}"
                )
                self.error(
                    (*loc, option), f"{what}: `{shown(option)}` names no option: {hint}", key=True
                )
                continue
            if not isinstance(said, str) or not said.strip():
                self.warn((*loc, option), f"{what}: option `{shown(option)}` is not translated")
                continue
            out[option] = said.strip()
        for option in choices:
            if option not in value:
                self.warn(loc, f"{what}: option `{shown(option)}` is not translated")
        # Two options that read alike in this language would be one answer to the person, and a
        # read-back could not tell them apart: refused, naming both.
        seen: dict[str, str] = {}
        for option in choices:
            words = out.get(option, option).casefold()
            if words in seen:
                self.error(
                    (*loc, option) if option in out else loc,
                    f"{what}: options `{shown(seen[words])}` and `{shown(option)}` read the same "
                    f'in {language_name(self.lang)} ("{shown(out.get(option, option))}"): '
                    "translate each to its own words",
                    key=option in out,
                )
            seen.setdefault(words, option)
        for option, said in out.items():
            for other in choices:
                if other != option and said.casefold() == other.casefold():
                    self.error(
                        (*loc, option),
                        f"{what}: option `{shown(option)}` is translated to the words of option "
                        f"`{shown(other)}`: typed, it would be read as that option",
                    )
        return out


def check(path: Path, protocol: Protocol, lang: str, raw: bytes | None = None) -> Checked:
    """Load and check one translation file against its (valid) protocol."""
    if raw is None:
        raw = read_source(path)
    doc = load_yaml(path, raw)
    if doc.data is None:
        return Checked(None, list(doc.problems), [])
    if lang == protocol.lang:
        doc.add(1, 1, f"this protocol is written in {language_name(lang)} already")
        return Checked(None, list(doc.problems), [])
    checker = _Checker(doc, protocol, lang)
    translation = checker.check(path, raw)
    problems = sorted(doc.problems, key=lambda p: (p.line, p.col))
    warnings = sorted(checker.warnings, key=lambda p: (p.line, p.col))
    return Checked(None if problems else translation, problems, warnings)


def load_for(protocol: Protocol) -> tuple[dict[str, Translation], list[Problem], list[Problem]]:
    """Every translation beside a valid protocol's file: (by language, problems, warnings).
    OSError propagates, as for the protocol file itself."""
    found: dict[str, Translation] = {}
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for lang, path in files_for(protocol.origin.path):
        checked = check(path, protocol, lang)
        problems += checked.problems
        warnings += checked.warnings
        if checked.translation is not None:
            found[lang] = checked.translation
    return found, problems, warnings


def signature_texts(
    protocol: Protocol, items: Iterable[Item], lang: str | None
) -> tuple[str, str, tuple[str, ...]]:
    """(language, text sha256, ids of checks shown in the main language) for one signature."""
    shown_items = [(item, item_text(protocol, item, lang)) for item in items]
    fallback = tuple(item.id for item, one in shown_items if one.fallback)
    return lang or protocol.lang, text_sha256(one for _, one in shown_items), fallback


# --- what a translator receives ----------------------------------------------------------------


def draft(protocol: Protocol, lang: str) -> str:
    """The translation file for `lang`, ready for a translator: every crew-facing text of the
    protocol with its current source beside the place for the translation. What the file
    beside the protocol already translates from that same source is kept; a text whose source
    changed since is emptied, its old translation kept in a comment above it to work from (kept
    as it was, it would pass for a translation of the new words); the rest is empty. Plain text,
    written line by line, so the comments survive; every string is a JSON string, which YAML
    reads as a double-quoted scalar."""
    import json

    main = protocol.lang
    path = dict(files_for(protocol.origin.path)).get(lang)
    old: dict[str, Any] = {}
    if path is not None:
        loaded = load_yaml(path).data
        old = loaded if isinstance(loaded, dict) else {}

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    def section(key: str) -> dict[str, Any]:
        value = old.get(key)
        return value if isinstance(value, dict) else {}

    out = [
        f"# {language_name(lang)} translation of {protocol.origin.path.name} "
        f"(`safetycli checklists translate {protocol.id} --lang {lang}`).",
        f"# Write the {language_name(lang)} under each `{main}:` text, as `{lang}:`; change "
        "nothing else. An empty one",
        f"# is shown in {language_name(main)}, marked [{main}]; `safetycli checklists validate` "
        "lists what is left.",
        f"translates: {protocol.id}",
        f"lang: {lang}",
    ]

    def pair(indent: str, key: str, source: str, before: Any) -> None:
        said = ""
        if isinstance(before, dict) and isinstance(before.get(lang), str):
            if before.get(main) == source:
                said = before[lang]
            elif before[lang].strip():
                was = f"{q(before[lang])} (from {q(str(before.get(main, '')))})"
                out.append(f"{indent}# outdated, was: {was}")
        out.append(f"{indent}{key}:")
        out.append(f"{indent}  {main}: {q(source)}")
        out.append(f"{indent}  {lang}: {q(said)}")

    if protocol.per_firearm:
        each = old.get("each_firearm")
        out.append(f"each_firearm: {q(each if isinstance(each, str) else '')}")
    pair("", "title", protocol.title, old.get("title"))
    pair("", "summary", protocol.summary, old.get("summary"))
    if protocol.context:
        out.append("context:")
        for name, fact in protocol.context.items():
            pair("  ", name, fact.ask, section("context").get(name))
    out.append("phases:")
    for phase in protocol.phases:
        pair("  ", phase.id, phase.title, section("phases").get(phase.id))
    out.append("items:")
    for _, item in protocol.items():
        before = section("items").get(item.id)
        before = before if isinstance(before, dict) else {}
        out.append(f"  {item.id}:")
        pair("    ", "ask", item.ask, before.get("ask"))
        if item.why is not None:
            pair("    ", "why", item.why, before.get("why"))
        if item.options:
            options = before.get("options")
            options = options if isinstance(options, dict) else {}
            out.append("    options:")
            for option in item.options:
                said = options.get(option)
                out.append(f"      {q(option)}: {q(said if isinstance(said, str) else '')}")
    return "\n".join(out) + "\n"
