"""The tool's own words in the reader's language: gettext over catalogs compiled at build time.

A crew member who does not fully understand the HOLD panel has not been told to stop. Every
sentence the tool itself says (prompts, the HOLD panel, status, errors, report headings) goes
through `_`; protocol text and anything a person typed never does (it is data, shown as given).

Stdlib `gettext` reads the `.mo` files the build hook (hatch_build.py) compiles from the `.po`
sources with Babel; Babel itself is never imported at run time. English is the source language:
it loads no catalog and imports nothing, so `safetycli --help` pays for no language it does not
show. Messages are whole sentences with named `{placeholders}`, filled in after translation
(`_("Run {run} was aborted.").format(run=...)`), so a translator can move words around.

Which language: see `resolve`. One language at a time, for the process (a CLI command runs one
thing at a time); `speaking` switches for a block, for a prompt addressed to one person.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gettext import NullTranslations

DOMAIN = "safetycli"
# absolute(), not resolve(): opening a catalog needs no symlink resolved, and resolve() cost
# 0.1 ms of every start (a system call for each part of the path).
LOCALE_DIR = Path(__file__).absolute().parent / "locale"
SOURCE = "en"  # the language the messages are written in: it needs no catalog
SHIPPED = ("en", "es")  # BCP 47 primary tags, as DESIGN's contract spells languages
ENV = "SAFETYCLI_LANG"

_lang = SOURCE
_catalog: NullTranslations | None = None  # None: English, no lookup at all


def primary(tag: str | None) -> str | None:
    """`es_MX.UTF-8`, `es-419`, `ES` -> `es`; `C`, `POSIX` and nothing -> None (no preference)."""
    if not tag:
        return None
    head = tag.strip().split(".")[0].split("@")[0].replace("_", "-").split("-")[0].lower()
    if not head or head in ("c", "posix"):
        return None
    return head


def shipped(tag: str | None) -> str | None:
    """The shipped language a tag asks for, or None when we ship none for it."""
    code = primary(tag)
    return code if code in SHIPPED else None


def from_locale(environ: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """The user's locale, as gettext reads it: the first of LANGUAGE (a `:` list of
    preferences), LC_ALL, LC_MESSAGES, LANG that is set; a preference we do not ship is passed
    over within LANGUAGE's list, and a locale naming an unshipped language means English."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if not value:
            continue
        if name == "LANGUAGE":
            for tag in value.split(":"):
                if shipped(tag):
                    return shipped(tag)
            continue  # LANGUAGE of unshipped languages only: look at the locale proper
        return shipped(value)
    return None


def resolve(flag: str | None = None, configured: str | None = None) -> str:
    """The interface language of a command nobody in particular is addressed by: `--lang`
    where the command has it (checked by the command: a typo there is refused), else
    SAFETYCLI_LANG, else the workspace's `language` in config.toml, else the user's locale,
    else English. An unshipped language from the environment or the config falls through to
    the next: stopping work must never fail on a setting."""
    for choice in (flag, os.environ.get(ENV), configured):
        code = shipped(choice)
        if code:
            return code
    return from_locale() or SOURCE


def use(lang: str | None) -> None:
    """Speak `lang` from now on (None or "en": English). An unshipped language, or a catalog
    missing from a broken install, is English: the words change, the safety never does."""
    global _lang, _catalog
    code = shipped(lang) or SOURCE
    if code == SOURCE:
        _lang, _catalog = SOURCE, None
        return
    found = _loaded.get(code) or _load(code)
    if found is None:  # no compiled catalog (a broken install): say it in English
        _lang, _catalog = SOURCE, None
        return
    _lang, _catalog = code, found


_loaded: dict[str, NullTranslations] = {}


def _load(code: str) -> NullTranslations | None:
    """The compiled catalog, read straight from its known place: `gettext.translation` would
    search every spelling of the locale and copy the result, 3 to 7 ms of a command's start on
    a busy laptop against 1 ms for this."""
    import gettext  # only for another language: English start-up never pays for it

    try:
        with (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as mo:
            found = gettext.GNUTranslations(mo)
    except Exception:  # noqa: BLE001 - missing or damaged: the words fall back to English
        return None
    _loaded[code] = found
    return found


def current() -> str:
    return _lang


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Speak `lang` inside the block and the language before it afterwards, even on an
    exception (a hold raised at a prompt must not leave the next person in the wrong tongue)."""
    before = _lang
    use(lang)
    try:
        yield
    finally:
        use(before)


def _(message: str) -> str:
    return message if _catalog is None else _catalog.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if _catalog is None:
        return singular if n == 1 else plural
    return _catalog.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """A message whose English word is ambiguous (`take`: a film take, not "to take")."""
    return message if _catalog is None else _catalog.pgettext(context, message)


def N_(message: str) -> str:  # noqa: N802 - the name extraction tools look for
    """Marks a message for extraction where it is defined (a table at import time); it is
    translated with `_` where it is shown, in the language of that moment."""
    return message


# Translators: a language's name, as a reader of the language you translate into says it.
NAMES = {"en": N_("English"), "es": N_("Spanish")}


def language_name(code: str) -> str:
    """`Spanish (es)` to an English reader, `español (es)` to a Spanish one: a code alone is
    not what a crew member calls their language. A language we have no name for is its code."""
    name = NAMES.get(code)
    return f"{_(name)} ({code})" if name is not None else code


def with_everyone(langs: Iterator[str | None] | list[str | None]) -> list[str]:
    """The interface language now, then each other shipped language in `langs` once, in
    order: what is said to the whole set (a HOLD) is said in each of them."""
    out = [_lang]
    for lang in langs:
        code = shipped(lang)
        if code is not None and code not in out:
            out.append(code)
    return out
