"""Names, notes, reasons and answers are data in every format we write: a crew member called
`[bold red]Boss[/] =HYPERLINK("x") <script>alert(1)</script>`, a hold reason and a clear note that
hold `\\x1b[2J` (clear the screen), a scene that is a spreadsheet formula. Each output shows them as
typed: never Rich markup, never a terminal control sequence, never a live formula, never HTML."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from safetycli import crew
from safetycli.cli import common
from tests.reviewdata import (
    EVIL,
    EVIL_NOTE,
    EVIL_REASON,
    EVIL_SCENE,
    EVIL_TEXT,
    HOSTILE_DAY,
    IMG,
    Production,
    add_hostile,
    build,
)

NAME = EVIL[0]
# How a control character reads once made visible: the escape as text, never the byte.
REASON_SHOWN = "Muzzle swept the crew \\x1b[2J\\x1b[31mSEE ME"
NOTE_SHOWN = '=HYPERLINK("http://example.invalid","click") re-briefed \\x1b[2J'


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        built = build(tmp_path_factory.mktemp("escaping") / "ws")
        add_hostile(built)
        yield built


class Page(HTMLParser):
    """What a browser would build: the elements, and the text a person reads."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.chunks: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())


def no_raw_controls(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text


def test_the_roster_accepts_such_a_name(prod: Production) -> None:
    """Only control and invisible characters are refused in names; brackets, quotes, `<` and `=`
    are ordinary characters somebody's name (or nickname) may contain."""
    names = [m["name"] for m in prod.json(["crew", "list"])]
    assert NAME in names and IMG[0] in names


# --- table ---------------------------------------------------------------------------------------


def test_log_show_piped(prod: Production) -> None:
    out = prod.invoke(["log", "show", prod.runs["hostile"]]).stdout
    no_raw_controls(out)
    assert f"signed in  {NAME} (armorer)" in out
    assert f"signed in  {IMG[0]} (actor)" in out
    assert f"= {EVIL_TEXT} · by {NAME} (armorer)" in out
    assert f"HOLD raised on whole run by {NAME} (armorer): {REASON_SHOWN}" in out
    assert f"HOLD cleared by {NAME} (armorer), Dana Reyes (1st AD): {NOTE_SHOWN}" in out


def test_log_show_and_list_on_a_terminal(prod: Production, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through Rich, where `[bold red]` would vanish into styling if it were parsed as markup."""
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    out = prod.invoke(["log", "show", prod.runs["hostile"]]).stdout
    no_raw_controls(out)
    assert f"{NAME} (armorer)" in out
    assert REASON_SHOWN in out and NOTE_SHOWN in out
    assert EVIL_TEXT in out
    listed = prod.invoke(["log", "list", "--day", HOSTILE_DAY]).stdout
    assert EVIL_SCENE in listed


# --- JSON ----------------------------------------------------------------------------------------


def test_json_keeps_the_exact_text(prod: Production) -> None:
    result = prod.invoke(["log", "show", prod.runs["hostile"], "--format", "json"])
    no_raw_controls(result.stdout)  # JSON escapes it as \u001b
    detail = json.loads(result.stdout)
    assert detail["scene"] == EVIL_SCENE
    assert {s["by"]["name"] for s in detail["signoffs"]} >= {NAME}
    hold, readback = detail["holds"]  # the hand-raised hold, then IMG's read-back mismatch
    assert readback["item"] == "state-announced"
    assert hold["reason"] == EVIL_REASON
    assert hold["note"] == EVIL_NOTE
    assert hold["raised_by"] == {"name": NAME, "role": "armorer"}
    report = json.loads(prod.invoke(["report", "--day", HOSTILE_DAY, "--format", "json"]).stdout)
    assert report["exceptions"]["holds"][0]["note"] == EVIL_NOTE
    assert report["runs"][0]["signers"][1] == {
        "name": NAME,
        "role": "armorer",
        "at": report["runs"][0]["signers"][1]["at"],
    }


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_neutralises_formulas_and_shows_controls(prod: Production) -> None:
    text = prod.invoke(["report", "--day", HOSTILE_DAY, "--format", "csv"]).stdout
    no_raw_controls(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    hold = next(r for r in rows if r["section"] == "hold")
    assert hold["name"] == NAME  # starts with `[`: nothing to neutralise, shown as typed
    assert hold["detail"] == REASON_SHOWN
    assert hold["note"] == "'" + NOTE_SHOWN
    assert hold["scene"] == "'" + EVIL_SCENE
    assert hold["cleared_by"] == f"{NAME} (armorer), Dana Reyes (first_ad)"
    run = next(r for r in rows if r["section"] == "run")
    assert run["scene"] == "'" + EVIL_SCENE
    assert f"armorer: {NAME}" in run["detail"]
    for row in rows:
        for cell in row.values():
            assert (cell or "x")[0] not in "=+-@\t\r", row
    listed = prod.invoke(["log", "list", "--day", HOSTILE_DAY, "--format", "csv"]).stdout
    assert list(csv.reader(io.StringIO(listed)))[1][2] == "'" + EVIL_SCENE


# --- Markdown ------------------------------------------------------------------------------------


def test_markdown_renders_as_the_typed_text(prod: Production) -> None:
    """Rendered by a CommonMark renderer (GitHub, mail clients), the report shows the names as
    typed: no script, no image, no link, no emphasis made from them."""
    md = prod.invoke(["report", "--day", HOSTILE_DAY]).stdout
    no_raw_controls(md)
    page = Page(MarkdownIt("commonmark").enable("table").render(md))
    assert not {"script", "img", "a", "em"} & set(page.tags)
    assert "onerror" not in page.attrs
    assert NAME in page.text
    assert IMG[0] in page.text
    assert REASON_SHOWN in page.text
    assert NOTE_SHOWN in page.text
    assert f"scene {EVIL_SCENE}" in page.text
    # Tables survive: the `|` in the scene does not split a cell.
    hold_row = next(line for line in md.splitlines() if "re-briefed" in line)
    assert hold_row.count(" | ") == 8


# --- HTML ----------------------------------------------------------------------------------------


def test_html_escapes_everything(prod: Production, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert (
        prod.invoke(["report", "--day", HOSTILE_DAY, "--format", "html", "-o", str(out)]).exit_code
        == 0
    )
    html = out.read_text(encoding="utf-8")
    no_raw_controls(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert "onerror" not in page.attrs
    assert NAME in page.text
    assert IMG[0] in page.text
    assert REASON_SHOWN in page.text
    assert NOTE_SHOWN in page.text
    assert EVIL_SCENE in page.text
