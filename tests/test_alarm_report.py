"""A report of a log that failed its head mark says so in the document itself.

An older copy of log.db put back over the new one: `verify` exits 1 and every command that
writes refuses, but `report` still reads what is left (an investigator needs it). The file it
writes is what a producer mails on, so the alarm must be in the file, at the top, in every
format, and never in the report of an intact log."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_html_chromium import Dom, chromium, run_browser
from tests.walk_helpers import DAY, hold_run, invoke, start, write_answers

WENT_BACK = "this log is older than one this laptop already wrote"
FORMATS = ("html", "json", "md", "csv")


def reports(cli: CliRunner, folder: Path, lang: str = "en") -> dict[str, str]:
    """The day's report in every format, each written to a file as a producer would, each
    exiting 0 (the README: a report reads what is left of the log, and says so)."""
    out = {}
    for fmt in FORMATS:
        path = folder / f"day-{lang}.{fmt}"
        result = invoke(
            cli, ["report", "--day", DAY, "--format", fmt, "--lang", lang, "-o", str(path)]
        )
        assert result.exit_code == 0, result.output
        out[fmt] = path.read_text(encoding="utf-8")
    return out


@pytest.fixture
def rolled_back(cli: CliRunner, crewed: Path, tmp_path: Path) -> Iterator[dict[str, int]]:
    """A run and its report, then an older copy of the log put back: the second run and its
    hold are gone from the file, but this laptop's head mark remembers writing them."""
    answers = write_answers(tmp_path / "answers.yaml")
    start(cli, answers, expect=0, scene="12A")
    db = sqlite3.connect(crewed / "log.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    kept = db.execute("SELECT max(seq) FROM events").fetchone()[0]
    db.close()
    shutil.copy(crewed / "log.db", tmp_path / "older.db")
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4, scene="14")
    hold_run(cli, run_id, "actor asked for a re-check")
    db = sqlite3.connect(crewed / "log.db")
    written = db.execute("SELECT max(seq) FROM events").fetchone()[0]
    db.close()
    shutil.copy(tmp_path / "older.db", crewed / "log.db")
    for name in ("log.db-wal", "log.db-shm"):
        (crewed / name).unlink(missing_ok=True)
    assert invoke(cli, ["verify"]).exit_code == 1  # the premise: the log went backwards
    yield {"kept": kept, "written": written}


def test_a_rolled_back_logs_report_carries_the_alarm_in_every_format(
    cli: CliRunner, rolled_back: dict[str, int], tmp_path: Path
) -> None:
    kept, written = rolled_back["kept"], rolled_back["written"]
    got = reports(cli, tmp_path)

    data = json.loads(got["json"])
    alarm = data["log_alarm"]
    assert alarm["kind"] == "went-back" and alarm["written"] == written
    assert data["head"]["seq"] == kept and f"ends at event {kept}" in alarm["line"]
    assert data["counts"]["runs"] == 1  # what is left is still reported

    # HTML: the first thing on the page, before the title and the counts, in a producer's
    # words with both event numbers and what to do; the page's title says it too (a mail's
    # attachment preview, a browser tab).
    dom = Dom(got["html"])
    ids = dom.ids()
    assert ids[0] == "log-alarm"
    assert any(a.get("role") == "alert" for _, a in dom.elements)
    page = " ".join(got["html"].split())
    top = page[: page.index("<header>")]
    assert WENT_BACK in top.lower()
    assert f"up to event {written}" in top and f"ends at event {kept}" in top
    assert "do not send this report" in top and "safetycli verify" in top
    assert "".join(dom.title).startswith("ALARM:")
    assert "This log failed its check" in page[page.index("<footer>") :]

    # Markdown: under the title, before the counts.
    lines = got["md"].splitlines()
    assert lines[0].startswith("# Firearm safety report")
    first = "\n".join(lines[:12])
    assert WENT_BACK in first.lower() and first.index("ALARM") < got["md"].index("0 aborted")

    # CSV: the first row after the header, its kind and the line.
    rows = list(csv.DictReader(io.StringIO(got["csv"])))
    assert rows[0]["section"] == "log-alarm" and rows[0]["status"] == "went-back"
    assert "went backwards" in rows[0]["detail"]


def test_the_alarm_is_in_the_readers_language(
    cli: CliRunner, rolled_back: dict[str, int], tmp_path: Path
) -> None:
    got = reports(cli, tmp_path, "es")
    top = got["html"][: got["html"].index("<header>")]
    assert "ALARMA" in top and "portátil" in top and "ALARM:" not in top
    assert "ALARMA" in got["md"].splitlines()[2]
    assert json.loads(got["json"])["log_alarm"]["kind"] == "went-back"  # JSON: every language


def test_an_intact_logs_report_carries_no_alarm(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    start(cli, write_answers(tmp_path / "answers.yaml"), expect=0)
    got = reports(cli, tmp_path)
    assert json.loads(got["json"])["log_alarm"] is None
    assert "ALARM" not in got["html"] and 'role="alert"' not in got["html"]
    assert "ALARM" not in got["md"]
    assert "log-alarm" not in got["csv"]


@pytest.mark.slow
def test_the_browser_shows_the_alarm_first(
    cli: CliRunner, rolled_back: dict[str, int], tmp_path: Path
) -> None:
    """Opened in Chromium, the page's first element is the alarm, with its words; the same page
    of an intact log (the hold kept) is the one test_html_chromium checks."""
    browser = chromium()
    html = tmp_path / "rolled.html"
    assert invoke(cli, ["report", "--day", DAY, "--format", "html", "-o", str(html)]).exit_code == 0
    dom = Dom(
        run_browser(browser, tmp_path, "--virtual-time-budget=1000", "--dump-dom", html.as_uri())
    )
    body = [a for tag, a in dom.elements if tag not in ("html", "head", "meta", "title", "style")]
    assert body[1].get("id") == "log-alarm"  # after <body>
    shot = tmp_path / "rolled.png"
    run_browser(browser, tmp_path, "--window-size=1200,2000", f"--screenshot={shot}", html.as_uri())
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_an_event_added_with_the_log_file_alone_is_named_as_such(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """The other alarm a report can be made under: the newest event carries no device MAC."""
    from tests.test_security_log import forge

    start(cli, write_answers(tmp_path / "answers.yaml"), expect=0)
    forge(crewed / "log.db", "crew.unlocked", {"name": "Eve Mallory", "by": "Pat Producer"})
    got = reports(cli, tmp_path)
    assert json.loads(got["json"])["log_alarm"]["kind"] == "forged"
    top = got["html"][: got["html"].index("<header>")]
    assert "someone added to this log outside safetycli" in top and WENT_BACK not in top
