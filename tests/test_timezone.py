"""Times in the production's zone, and checks named by their question (issue 11, item 4).

The log keeps UTC; people read the production's local time, with the zone named once. Asserted
as a producer reads the report: the times and dates they see, never a library's wording."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from safetycli.cli import app
from safetycli.render import report as render
from safetycli.render.fmt import clock
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    add_crew,
    invoke,
    log_show,
    ok,
    one_line_error,
    start,
    write_answers,
)

DENVER = "America/Denver"


@pytest.fixture
def denver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner, cheap_scrypt: None
) -> Path:
    """A crewed workspace shooting in Denver, made on a laptop set to UTC."""
    ws = tmp_path / "ws"
    result = cli.invoke(app, ["init", "--home", str(ws), "--timezone", DENVER])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("SAFETYCLI_HOME", str(ws))
    add_crew(ws / "log.db")
    return ws


def _local(at: str) -> datetime:
    return datetime.fromisoformat(at).astimezone(ZoneInfo(DENVER))


def _denver_today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo(DENVER)).date().isoformat()


# --- setting the zone ----------------------------------------------------------------------------


def test_an_unknown_zone_at_init_is_refused_in_one_line_and_nothing_is_made(
    cli: CliRunner, tmp_path: Path
) -> None:
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "UTC+3", " "):
        result = cli.invoke(app, ["init", "--home", str(tmp_path / "ws"), "--timezone", bad])
        message = one_line_error(result)
        assert "--timezone" in message and "America/Denver" in message
        assert not (tmp_path / "ws" / "config.toml").exists()


def test_the_zone_is_kept_in_config_and_defaults_to_the_laptops(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = ok(cli, ["init", "--home", str(tmp_path / "a"), "--timezone", "Europe/London"])
    assert "Europe/London" in result.stdout
    assert 'timezone = "Europe/London"' in (tmp_path / "a" / "config.toml").read_text()
    monkeypatch.setenv("TZ", DENVER)
    result = ok(cli, ["init", "--home", str(tmp_path / "b")])
    assert f"Times are shown in {DENVER}, this laptop's zone" in result.stdout
    assert f'timezone = "{DENVER}"' in (tmp_path / "b" / "config.toml").read_text()


def test_a_broken_zone_in_config_is_one_line_but_never_stops_a_hold(
    cli: CliRunner, denver: Path, tmp_path: Path
) -> None:
    config = denver / "config.toml"
    config.write_text(config.read_text().replace(DENVER, "Nowhere/Atlantis"))
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml", drop=("meeting-covered",)), expect=4)
    message = one_line_error(invoke(cli, ["report"]))
    assert "Nowhere/Atlantis" in message and "config.toml" in message
    held = invoke(cli, ["hold", run_id, "--reason", "smoke", "--by", "A Visitor"], input="\n")
    assert held.exit_code == 0, held.output
    assert "UTC" in held.stdout  # the panel falls back to the log's own time


# --- what the producer reads ---------------------------------------------------------------------


def test_the_report_shows_local_times_and_names_the_zone_json_keeps_utc(
    cli: CliRunner, denver: Path, tmp_path: Path
) -> None:
    day = _denver_today()
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml"), expect=0, day=day)
    started = log_show(cli, run_id)["started_at"]
    assert started.endswith("Z")  # the log's UTC, as the contract says

    md = ok(cli, ["report", "--day", day]).stdout
    offset = int(_local(started).utcoffset().total_seconds() // 3600)  # type: ignore[union-attr]
    assert f"Times in {DENVER} (UTC{offset})" in md
    assert md.count(DENVER) == 1  # named once
    local = _local(started).strftime("%H:%M:%S")
    assert f"`, {local} to " in md  # the run's start, in Denver's time on its shooting day

    html = ok(cli, ["report", "--day", day, "--format", "html"]).stdout
    assert f"Times in {DENVER} (UTC{offset})" in html and f"· {local} to " in html

    data = json.loads(ok(cli, ["report", "--day", day, "--format", "json"]).stdout)
    assert data["timezone"] == DENVER
    assert data["runs"][0]["started_at"] == started
    csv_text = ok(cli, ["report", "--day", day, "--format", "csv"]).stdout
    assert started in csv_text  # machine formats keep the log's UTC

    shown = ok(cli, ["log", "show", run_id]).stdout
    assert f"times in {DENVER}" in shown and f"started {local}" in shown


def test_a_night_shoot_past_local_midnight_shows_the_date(
    cli: CliRunner, denver: Path, tmp_path: Path
) -> None:
    """The shooting day began yesterday (Denver): everything now is after local midnight."""
    yesterday = (datetime.fromisoformat(_denver_today()) - timedelta(days=1)).date().isoformat()
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml"), expect=0, day=yesterday)
    started = log_show(cli, run_id)["started_at"]
    md = ok(cli, ["report", "--day", yesterday]).stdout
    when = _local(started)
    assert f"`, {when.date().isoformat()} {when.strftime('%H:%M')}" in md


def test_midnight_is_judged_in_local_time() -> None:
    """05:40 UTC on the 15th is 23:40 on the 14th in Denver (UTC-6 in March): the same shooting
    day, no date; 06:40 UTC is 00:40 on the 15th, past local midnight: dated."""
    day = "2026-03-14"
    assert clock("2026-03-15T05:40:00.000000Z", day, DENVER) == "23:40:00"
    assert clock("2026-03-15T06:40:00.000000Z", day, DENVER) == "2026-03-15 00:40:00"
    assert clock("2026-03-15T05:40:00.000000Z", day) == "2026-03-15 05:40:00"  # UTC as before


def test_status_and_the_hold_panel_show_local_time(
    cli: CliRunner, denver: Path, tmp_path: Path
) -> None:
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml", drop=("meeting-covered",)), expect=4)
    held = invoke(cli, ["hold", run_id, "--reason", "smoke", "--by", "A Visitor"], input="\n")
    assert held.exit_code == 0, held.output
    (hold,) = log_show(cli, run_id)["holds"]
    local = _local(hold["raised_at"])
    assert re.search(rf"at (\d{{4}}-\d\d-\d\d )?{local.strftime('%H:%M:%S')} {DENVER}", held.stdout)
    status = ok(cli, ["status"]).stdout
    assert f"since {local.strftime('%Y-%m-%d %H:%M')} {DENVER}" in status
    assert (
        json.loads(ok(cli, ["status", "--format", "json"]).stdout)["runs"][0]["hold"]["raised_at"]
        == hold["raised_at"]
    )


# --- checks by their question --------------------------------------------------------------------


def test_the_report_names_a_check_by_its_question_with_the_id_in_small_print(
    cli: CliRunner, denver: Path, tmp_path: Path
) -> None:
    from safetycli.catalog import load_catalog

    proto = load_catalog(None).get("firearm-scene")
    item = next(i for ph in proto.phases for i in ph.items if i.id == "meeting-held")
    answers = write_answers(tmp_path / "a.yaml", answers={"meeting-held": False})
    run_id, _ = start(cli, answers, expect=3, day=_denver_today())
    md = ok(cli, ["report", "--day", _denver_today()]).stdout
    (row,) = [line for line in md.splitlines() if line.startswith(f"| {run_id}")][:1]
    assert f"{item.ask} (meeting-held)" in row.replace("\\", "")
    html = ok(cli, ["report", "--day", _denver_today(), "--format", "html"]).stdout
    assert '<small class="id">meeting-held</small>' in html
    data = json.loads(ok(cli, ["report", "--day", _denver_today(), "--format", "json"]).stdout)
    assert data["exceptions"]["holds"][0]["question"] == item.ask
    assert data["exceptions"]["holds"][0]["item"] == "meeting-held"  # the id stays for scripts


def test_the_html_report_lists_a_runs_crew_once_with_their_sittings(
    cli: CliRunner, denver: Path, tmp_path: Path
) -> None:
    day = _denver_today()
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4, day=day)
    ok(cli, ["resume", run_id, "--answers", str(write_answers(tmp_path / "full.yaml"))])
    html = ok(cli, ["report", "--day", day, "--format", "html"]).stdout
    signers = html.split('<dl class="signers">', 1)[1].split("</dl>", 1)[0]
    assert signers.count(ARMORER[0]) == 1 and signers.count(ACTOR[0]) == 1
    assert "(2 sittings)" in signers


def test_a_question_from_the_log_is_escaped() -> None:
    """A question is protocol text: data in every format."""
    entry = {
        "run": "r1",
        "day": "2026-03-14",
        "scene": "1",
        "phase": "p",
        "item": "i",
        "take": None,
        "question": "<b>[bold]|loaded?|</b>",
    }
    assert "<b>" not in render._check(entry) and "\\|" in render._check(entry)
