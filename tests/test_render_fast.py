"""The report's renderers take shortcuts a season's report needs (a plain text written as it is in
Markdown; messages filled without markupsafe's formatter in HTML). Each shortcut must write
exactly what the full escaping writes, for any text a crew could type."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape

from safetycli.render import report, safe

# What each format treats specially.
SPECIAL = list("\\`*_[]<>|~&#\"'{}\n\r\t\x00\x1b\x7f\x9b\u202e\u200b\u2066")
# What a crew types, with those.
typed = st.text(
    st.one_of(st.sampled_from(SPECIAL), st.characters(blacklist_categories=("Cs",))),
    max_size=20,
)


def full_markdown(value: Any) -> str:
    return "" if value is None else safe._pattern(safe._MARKDOWN).sub(r"\\\1", safe.one_line(value))


@given(st.one_of(typed, st.integers(), st.none()))
def test_markdown_writes_plain_text_as_the_full_escaping_does(value: Any) -> None:
    assert safe.md(value) == full_markdown(value)


def test_markdown_changes_each_special_character_alone() -> None:
    for char in SPECIAL:
        text = f"Sam{char}Ortiz"
        if char not in "\"'{}":  # written as typed by both
            assert safe.md(text) != text, repr(char)
        assert safe.md(text) == full_markdown(text), repr(char)


@given(
    typed.map(lambda t: t.replace("{", "").replace("}", "")),
    st.lists(st.one_of(typed, st.integers(), st.none(), typed.map(Markup)), max_size=3),
)
def test_html_messages_are_filled_as_markupsafe_fills_them(text: str, values: list[Any]) -> None:
    message = text + "".join(f" {{v{n}}}" for n in range(len(values)))
    named = {f"v{n}": value for n, value in enumerate(values)}
    full = Markup(escape(message)).format(**{k: report._finalize(v) for k, v in named.items()})
    filled = report._filled(message, named)
    assert isinstance(filled, Markup)
    assert str(filled) == str(full)
