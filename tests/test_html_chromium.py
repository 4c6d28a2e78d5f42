"""The HTML day report as a person sees it: opened in a real browser (headless Chromium), the
exceptions come before the runs, hostile names are text, and nothing on the page ran a script.

`make test` installs Chromium when it is missing (scripts/require-test-tools) and runs pytest with
SAFETYCLI_REQUIRE_BROWSER set: there, and under CI, a missing browser fails the test rather than
skipping it, so the check can never silently vanish. A bare `pytest` elsewhere may skip it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from safetycli import crew
from tests.reviewdata import EVIL, EVIL_REASON, HOSTILE_DAY, IMG, add_hostile, build

pytestmark = pytest.mark.slow

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if "CI" in os.environ or os.environ.get("SAFETYCLI_REQUIRE_BROWSER"):
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (CI installs it: apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> str:
    return chromium()


@pytest.fixture(scope="module")
def page(browser: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The day report written as HTML, and the DOM Chromium built from it after letting any
    script or timer on the page run (`--virtual-time-budget`)."""
    tmp = tmp_path_factory.mktemp("chromium")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        prod = build(tmp / "ws")
        add_hostile(prod)
    html = tmp / "day.html"
    result = prod.invoke(["report", "--day", HOSTILE_DAY, "--format", "html", "-o", str(html)])
    assert result.exit_code == 0, result.output
    dom = run_browser(browser, tmp, "--virtual-time-budget=2000", "--dump-dom", html.as_uri())
    yield html, dom


def run_browser(browser: str, tmp: Path, *args: str) -> str:
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """Elements with their ids in document order, and the visible text under each section."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text_by_section: dict[str, list[str]] = {}
        self.title: list[str] = []
        self._stack: list[str] = []
        self._in_title = False
        self._section: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        ident = dict(attrs).get("id")
        if tag == "section" and ident in ("exceptions", "runs"):
            self._section = ident
        if tag == "footer":
            self._section = "footer"
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        if self._section is not None and data.strip():
            self.text_by_section.setdefault(self._section, []).append(data.strip())

    def text(self, section: str) -> str:
        return " ".join(self.text_by_section.get(section, []))

    def ids(self) -> list[str]:
        return [str(a["id"]) for _, a in self.elements if a.get("id")]


def test_the_exceptions_come_before_the_runs(page: tuple[Path, str]) -> None:
    dom = Dom(page[1])
    ids = dom.ids()
    assert ids.index("exceptions") < ids.index("holds") < ids.index("runs")
    exceptions = dom.text("exceptions")
    assert "Holds: work stopped" in exceptions
    assert "whole run" in exceptions
    assert "None found: each of the" in exceptions
    assert "Runs" in dom.text("runs") and "Scene" in dom.text("runs")
    assert "safetycli verify --expect-head" in dom.text("footer")


def test_hostile_names_are_text_and_no_script_ran(page: tuple[Path, str]) -> None:
    dom = Dom(page[1])
    tags = [tag for tag, _ in dom.elements]
    assert "script" not in tags
    assert "img" not in tags
    assert not any(name.startswith("on") for _, attrs in dom.elements for name in attrs)
    assert "pwned" not in "".join(dom.title)
    assert "".join(dom.title).startswith("Firearm safety report: Night Train")
    exceptions = dom.text("exceptions")
    assert f"by {EVIL[0]} (armorer)" in exceptions
    assert EVIL_REASON.replace("\x1b", "\\x1b") in exceptions
    assert IMG[0] in dom.text("runs")


def test_it_renders_on_a_phone_sized_screen(
    browser: str, page: tuple[Path, str], tmp_path: Path
) -> None:
    """A phone-width screenshot is produced (the layout does not break the renderer)."""
    shot = tmp_path / "phone.png"
    run_browser(
        browser, tmp_path, "--window-size=390,1600", f"--screenshot={shot}", page[0].as_uri()
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000
