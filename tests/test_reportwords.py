"""What other laptops stopped work here with, said in the reader's language and the production's
zone: the report's section (Markdown, HTML), `report --central`'s unverified lines among the
conflicts, `log show`'s list and `incident list`/`show`'s unverified marks; JSON the same in
every language, English with the log's UTC times.

Laptop B (in Denver) pulls a run held on laptop A and the stop-work of laptop C, whose sync the
server refused (a stop-work on 12A and a misfire). What A and C's crews typed is hostile (Rich
markup, HTML, a spreadsheet formula): shown as typed, never built. Against the real throwaway
PostgreSQL (tests/pgserver.py) with real workspaces, as tests/test_reviewstop.py does.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from tests.test_central import Laptop, device_of, on, sync
from tests.test_central_forkstop import forked
from tests.test_reviewstop import MISFIRE, NAME_C, ON_A, ON_C, shown_html
from tests.walk_helpers import (
    ARMORER,
    CLEARERS,
    FIRST_AD,
    PRODUCER,
    cheap_pins,
    clear_run,
    hold_run,
    invoke,
    laptops,
    log_list,
    log_show,
    ok,
    write_answers,
)

pytestmark = pytest.mark.slow

ZONE = "America/Denver"
LOGGED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")

# Each kind of line, whole, as a person of each language reads it (the stop, then its end).
SAYS = {
    "en": {
        "held-run": "run {run} held on laptop {device}: scene {scene} held here too, raised at "
        "{at} by {who}: {reason}; ",
        "stop-work": "UNVERIFIED stop-work from laptop {device}, whose sync the server refused "
        "({alarm}): scene {scene}, raised at {at} by {who}: {reason}; ",
        "incident": "UNVERIFIED incident from laptop {device}, whose sync the server refused "
        "({alarm}): firearm work in every scene, raised at {at} by {who}: {reason}; ",
        "on": "still on",
        "on-held-run": "still on: it is cleared on laptop {device}, then both laptops sync",
        "cleared": "cleared at {at} by {names}: {note}",
        "someone": "someone",
        "section": "Stop-work from other laptops",
        "log-show": "Stop-work from other laptops on scene {scene} ({n}):",
        "mark": "UNVERIFIED",
        "show": "UNVERIFIED: reported on laptop {device}, whose sync the server refused "
        "({alarm}); not part of the production's record, and it stops firearm work all the same",
        "must": "Must clear it: safetycli clear --unverified {ref}",
        "cleared-incident": "Cleared at {at} {zone} by ",
    },
    "es": {
        "held-run": "recorrido {run} parado en el portátil {device}: la escena {scene} queda "
        "parada aquí también, a las {at}, por {who}: {reason}; ",
        "stop-work": "alto al trabajo SIN VERIFICAR del portátil {device}, cuya sincronización "
        "rechazó el servidor ({alarm}): escena {scene}, a las {at}, por {who}: {reason}; ",
        "incident": "incidente SIN VERIFICAR del portátil {device}, cuya sincronización rechazó "
        "el servidor ({alarm}): trabajo con armas en todas las escenas, a las {at}, por {who}: "
        "{reason}; ",
        "on": "sigue vigente",
        "on-held-run": "sigue vigente: se levanta en el portátil {device} y después se "
        "sincronizan los dos portátiles",
        "cleared": "se levantó a las {at}, por {names}: {note}",
        "someone": "alguien",
        "section": "Alto al trabajo de otros portátiles",
        "log-show": "Alto al trabajo de otros portátiles en la escena {scene} ({n}):",
        "mark": "SIN VERIFICAR",
        "show": "SIN VERIFICAR: notificado en el portátil {device}, cuya sincronización rechazó "
        "el servidor ({alarm}); no forma parte del registro de la producción, y detiene el "
        "trabajo con armas de todos modos",
        "must": "Deben levantarlo: safetycli clear --unverified {ref}",
        "cleared-incident": "Levantado a las {at} {zone} por ",
    },
}


@pytest.fixture
def laptop(tmp_path: Path, cli: CliRunner, cheap_scrypt: None) -> Laptop:
    """Laptops of the production in Denver."""
    return laptops(tmp_path, cli, ZONE)


def in_denver(logged: str, day: str | None = None) -> str:
    """A logged UTC time as the report and `log show` show it in Denver: the clock time, with
    its date unless it fell on `day` there (worked out here with the standard library)."""
    here = datetime.fromisoformat(logged.replace("Z", "+00:00")).astimezone(ZoneInfo(ZONE))
    clock = f"{here:%H:%M:%S}"
    return clock if here.date().isoformat() == day else f"{here.date().isoformat()} {clock}"


def expected(entry: dict[str, Any], lang: str, day: str | None = None) -> str:
    """The line a person of `lang` reads for a JSON entry (its English `line` aside)."""
    says = SAYS[lang]
    kind = "held-run" if entry["source"] == "held-run" else entry["kind"]
    who = (entry["raised_by"] or {}).get("name") or says["someone"]
    stop = says[kind].format(
        run=entry["run"],
        device=entry["device"],
        scene=entry["scene"],
        alarm=entry["alarm"],
        at=in_denver(entry["raised_at"], day),
        who=who,
        reason=entry["reason"],
    )
    if entry["cleared_at"] is not None:
        names = ", ".join(c["name"] for c in entry["cleared_by"])
        end = says["cleared"].format(
            at=in_denver(entry["cleared_at"], day), names=names, note=entry["note"]
        )
    elif entry["source"] == "held-run":
        end = says["on-held-run"].format(device=entry["device"])
    else:
        end = says["on"]
    return stop + end


def report(cli: CliRunner, day: str, fmt: str, lang: str, *extra: str) -> str:
    return ok(cli, ["report", "--day", day, "--format", fmt, "--lang", lang, *extra]).stdout


def same_json(cli: CliRunner, day: str, *extra: str) -> dict[str, Any]:
    """The report's JSON, the same in English and Spanish but for when it was made."""
    made = [json.loads(report(cli, day, "json", lang, *extra)) for lang in ("en", "es")]
    for got in made:
        got.pop("generated_at")
    assert made[0] == made[1]
    return made[0]


def section(markdown: str, title: str) -> str:
    """One exceptions section of the Markdown report, heading to the next heading."""
    start = markdown.index(f"### {title}")
    return markdown[start : markdown.index("\n### ", start + 1)]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_other_laptops_stop_work_in_the_readers_language_and_the_productions_zone(
    cli: CliRunner,
    central: str,
    laptop: Laptop,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    lang: str,
) -> None:
    says = SAYS[lang]
    a, b, c = laptop("a"), laptop("b"), laptop("c")
    # The shooting day in Denver: its report holds the day's stop-work, wherever UTC's date is.
    today = datetime.now(ZoneInfo(ZONE)).date().isoformat()
    for ws in (a, b, c, a):
        sync(cli, ws, central)
    forked(cli, c, central, tmp_path)
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run = ["run", "firearm-scene", "--scene", "12A", "--day", today, "--answers", str(partial)]
    on(b, monkeypatch)
    assert invoke(cli, run).exit_code == 4
    (on_b,) = [r["id"] for r in log_list(cli)]
    on(a, monkeypatch)
    assert invoke(cli, run).exit_code == 4
    (on_a,) = [r["id"] for r in log_list(cli)]
    with cheap_pins():
        hold_run(cli, on_a, ON_A)
    sync(cli, a, central)
    on(c, monkeypatch)
    ok(cli, ["hold", "--scene", "12A", "--day", today, "--reason", ON_C, "--by", NAME_C])
    ok(cli, ["incident", "report", "--kind", "misfire", "--text", MISFIRE])
    sync(cli, c, central, expect=1)
    on(b, monkeypatch)
    sync(cli, b, central)

    # The report: JSON English and UTC in both languages; Markdown and HTML in the reader's.
    got = same_json(cli, today)
    found = got["exceptions"]["from_other_laptops"]
    assert len(found) == 3 and all(LOGGED.fullmatch(s["raised_at"]) for s in found)
    assert all(s["raised_at"] in s["line"] for s in found)  # `line` keeps the log's UTC
    markdown = report(cli, today, "md", lang)
    part = section(markdown, f"{says['section']} (3)")
    assert not LOGGED.search(part)
    assert all(in_denver(s["raised_at"]) in part for s in found)
    assert re.search(r"(?<!\\)<", part) is None and "\\[bold red\\]strap" in part
    text, tags = shown_html(report(cli, today, "html", lang))
    assert "script" not in tags and "img" not in tags and "i" not in tags
    assert f"{says['section']} 3" in text
    for s in found:
        assert " ".join(expected(s, lang).split()) in text, expected(s, lang)

    # log show of B's run: each stop that held it, in the reader's words, clock times in Denver.
    monkeypatch.setenv("SAFETYCLI_LANG", lang)
    shown = log_show(cli, on_b)["stopped_from_other_laptops"]
    monkeypatch.setenv("SAFETYCLI_LANG", "en" if lang == "es" else "es")
    assert log_show(cli, on_b)["stopped_from_other_laptops"] == shown  # JSON: every language
    monkeypatch.setenv("SAFETYCLI_LANG", lang)
    table = ok(cli, ["log", "show", on_b]).stdout.splitlines()
    assert says["log-show"].format(scene="12A", n=len(shown)) in table
    for s in shown:
        assert f"  {expected(s, lang, today)}" in table

    # The refused laptop's misfire: marked in the reader's words on the table, English in CSV.
    (misfire,) = [s for s in found if s["kind"] == "incident"]
    listed = ok(cli, ["incident", "list"]).stdout
    (row,) = [line for line in listed.splitlines() if device_of(c) in line]
    assert f"open, {says['mark']}" in row
    rows = list(
        csv.DictReader(io.StringIO(ok(cli, ["incident", "list", "--format", "csv"]).stdout))
    )
    assert [r["status"] for r in rows if r["device"] == device_of(c)] == ["open, UNVERIFIED"]
    told = ok(cli, ["incident", "show", misfire["ref"]]).stdout.splitlines()
    assert says["show"].format(device=device_of(c), alarm=misfire["alarm"]) in told
    assert any(line.startswith(says["must"].format(ref=misfire["ref"])) for line in told)

    # Lifted: C's on B, A's run on A; the lines say who lifted each, and when, in Denver.
    producer = ["--by", f"producer={PRODUCER[0]}", "--pin-stdin"]
    with cheap_pins():
        pins = f"{ARMORER[1]}\n{FIRST_AD[1]}\n{PRODUCER[1]}\n"
        clear = ["clear", "--scene", "12A", "--note", "checked <ok>", *CLEARERS, *producer]
        ok(cli, clear, input=pins)
        clear = ["clear", "--unverified", misfire["ref"], "--note", "pin [b]replaced[/b]"]
        armorer = ["--by", f"armorer={ARMORER[0]}"]
        ok(cli, [*clear, *armorer, *producer], input=f"{ARMORER[1]}\n{PRODUCER[1]}\n")
    on(a, monkeypatch)
    with cheap_pins():
        clear_run(cli, on_a, "strap replaced")
    sync(cli, a, central)
    on(b, monkeypatch)
    sync(cli, b, central)
    found = same_json(cli, today)["exceptions"]["from_other_laptops"]
    assert len(found) == 3 and all(s["cleared_at"] for s in found)
    text, _ = shown_html(report(cli, today, "html", lang))
    for s in found:
        assert " ".join(expected(s, lang).split()) in text, expected(s, lang)
    assert "checked <ok>" in text and says["on"] not in text
    (misfire,) = [s for s in found if s["kind"] == "incident"]
    told = ok(cli, ["incident", "show", misfire["ref"]]).stdout.splitlines()
    stamp = in_denver(misfire["cleared_at"])[:16]  # as `status` shows a time: to the minute
    head = says["cleared-incident"].format(at=stamp, zone=ZONE)
    (line,) = [t for t in told if t.startswith(head)]
    assert line.endswith(": pin [b]replaced[/b]")
    assert all(c["name"] in line for c in misfire["cleared_by"])

    # The production's view from the server: the refused laptop's stop-work among the
    # conflicts, in the reader's words and zone; its JSON the English lines with UTC times.
    central_json = same_json(cli, today, "--central", central)
    apart = central_json["exceptions"]["between_laptops"]
    ours = [line for line in apart if line.startswith("UNVERIFIED")]
    assert len(ours) == 2 and all(LOGGED.search(line) for line in ours)
    text, tags = shown_html(report(cli, today, "html", lang, "--central", central))
    assert "script" not in tags and "img" not in tags
    for s in found:
        if s["source"] == "unverified":
            assert " ".join(expected(s, lang).split()) in text, expected(s, lang)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_incident_show_gives_its_times_in_the_productions_zone_named(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """Beside the refused laptop's incident (above), a laptop's own: every time `incident show`
    gives is read in the production's zone, as `status` gives times; its JSON keeps UTC."""
    ws = tmp_path / "denver"
    ok(cli, ["init", "--home", str(ws), "--production", "Night Unit", "--timezone", ZONE])
    on(ws, monkeypatch)
    ok(cli, ["incident", "report", "--kind", "misfire", "--text", "click", "--by", "Sam Ortiz"])
    (listed,) = json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)
    one = json.loads(ok(cli, ["incident", "show", listed["id"], "--format", "json"]).stdout)
    assert LOGGED.fullmatch(one["reported_at"])
    monkeypatch.setenv("SAFETYCLI_LANG", lang)
    told = ok(cli, ["incident", "show", listed["id"]]).stdout
    at = f"{in_denver(one['reported_at'])[:16]} {ZONE}"
    said = {
        "en": ("Reported by: Sam Ortiz", ", at "),
        "es": ("Notificado por: Sam Ortiz", ", a las "),
    }
    (line,) = [t for t in told.splitlines() if t.startswith(said[lang][0])]
    assert line.endswith(said[lang][1] + at)
    assert not LOGGED.search(told)
