"""The incident register (issue 13): anyone reports, stopping kinds hold every firearm protocol,
an unplanned discharge or an injury freezes what it involves, and only the roles its kind names
close it, with the corrective action written down."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli import incidents
from safetycli.ledger import Ledger
from tests.test_armory import armorer, hand_over, stocked  # noqa: F401  (the fixture)
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    FIRST_AD,
    PRODUCER,
    cheap_pins,
    invoke,
    log_show,
    ok,
    refused,
    start,
    write_answers,
)

ID = re.compile(r"\bi-[0-9a-f]{6}\b")


def report(cli: CliRunner, *args: str) -> str:
    """`incident report ...` (no PIN, no name unless given); returns the new incident's id."""
    result = ok(cli, ["incident", "report", *args])
    found = ID.search(result.stdout)
    assert found, result.stdout
    return found.group(0)


def listed(cli: CliRunner) -> list[dict[str, Any]]:
    return json.loads(ok(cli, ["incident", "list", "--format", "json"]).stdout)  # type: ignore[no-any-return]


def shown(cli: CliRunner, incident_id: str) -> dict[str, Any]:
    return json.loads(ok(cli, ["incident", "show", incident_id, "--format", "json"]).stdout)  # type: ignore[no-any-return]


def close_args(incident_id: str, *people: tuple[str, str, str]) -> tuple[list[str], str]:
    args = ["incident", "close", incident_id, "--action", "firearm out of service, rounds bagged"]
    for role, name, _ in people:
        args += ["--by", f"{role}={name}"]
    return [*args, "--pin-stdin"], "".join(f"{pin}\n" for _, _, pin in people)


def close(cli: CliRunner, incident_id: str, *people: tuple[str, str, str]) -> None:
    args, pins = close_args(incident_id, *people)
    ok(cli, args, input=pins)


def refuse_close(cli: CliRunner, incident_id: str, *people: tuple[str, str, str]) -> str:
    args, pins = close_args(incident_id, *people)
    return refused(cli, args, input=pins)


PRODUCER_SIGNS = ("producer", *PRODUCER)
ARMORER_SIGNS = ("armorer", *ARMORER)
AD_SIGNS = ("first_ad", *FIRST_AD)


# --- the register -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", incidents.REPORTABLE)
def test_every_kind_is_recorded_without_a_pin_and_closed_only_by_its_roles(
    cli: CliRunner, crewed: Path, kind: str
) -> None:
    incident_id = report(cli, "--kind", kind, "--text", "it happened", "--by", "A Visitor")
    record = shown(cli, incident_id)
    assert record["kind"] == kind and record["status"] == "open"
    assert record["reported_by"] == {"name": "A Visitor", "role": None}
    roles = incidents.KINDS[kind].closed_by
    people = {"producer": PRODUCER_SIGNS, "armorer": ARMORER_SIGNS, "first_ad": AD_SIGNS}
    # One role short: refused, nothing recorded.
    assert roles[1] in refuse_close(cli, incident_id, people[roles[0]]).replace(" ", "_")
    assert shown(cli, incident_id)["status"] == "open"
    close(cli, incident_id, *(people[r] for r in roles))
    closed = shown(cli, incident_id)
    assert closed["status"] == "closed"
    assert closed["action"] == "firearm out of service, rounds bagged"
    assert {c["role"] for c in closed["closed_by"]} == set(roles)


def test_an_anonymous_complaint_keeps_no_name(cli: CliRunner, crewed: Path) -> None:
    incident_id = report(
        cli, "--kind", "complaint", "--text", "the muzzle swept the camera crew", "--anonymous"
    )
    record = shown(cli, incident_id)
    assert record["reported_by"] is None
    with Ledger.open(crewed / "log.db") as ledger:
        (event,) = list(ledger.events(kinds=["incident.reported"]))
    assert event.person is None
    assert "name" not in event.data or event.data["name"] is None
    # No name on the command line and no terminal: anonymous too, never refused.
    plain = report(cli, "--kind", "complaint", "--text", "armorer has props duties too")
    assert shown(cli, plain)["reported_by"] is None


def test_a_report_needs_a_known_kind_and_a_text(cli: CliRunner, crewed: Path) -> None:
    assert "misfire" in refused(cli, ["incident", "report", "--kind", "oops", "--text", "x"])
    assert "--text" in refused(cli, ["incident", "report", "--kind", "misfire", "--text", " "])
    assert listed(cli) == []


def test_closing_needs_the_action_and_the_right_pins(cli: CliRunner, crewed: Path) -> None:
    incident_id = report(cli, "--kind", "misfire", "--text", "click, no bang", "--by", ARMORER[0])
    args = ["incident", "close", incident_id, "--action", " ", "--pin-stdin"]
    assert "--action" in refused(cli, args)
    # A wrong PIN is refused and nothing is closed.
    args, _ = close_args(incident_id, ARMORER_SIGNS, PRODUCER_SIGNS)
    refused(cli, args, input=f"{ARMORER[1]}\n0000\n")
    assert shown(cli, incident_id)["status"] == "open"
    # Someone not holding the role cannot close for it.
    assert refuse_close(cli, incident_id, ARMORER_SIGNS, ("producer", *ACTOR))
    close(cli, incident_id, ARMORER_SIGNS, PRODUCER_SIGNS)
    assert "closed" in refuse_close(cli, incident_id, ARMORER_SIGNS, PRODUCER_SIGNS)


def test_an_injury_is_never_closed_by_the_armorer_and_the_first_ad_alone(
    cli: CliRunner, crewed: Path
) -> None:
    incident_id = report(cli, "--kind", "injury", "--text", "grip cut the actor's hand")
    refuse_close(cli, incident_id, ARMORER_SIGNS, AD_SIGNS)
    assert shown(cli, incident_id)["status"] == "open"
    discharge = report(cli, "--kind", "unplanned-discharge", "--text", "fired on the draw")
    refuse_close(cli, discharge, ARMORER_SIGNS, AD_SIGNS)
    assert shown(cli, discharge)["status"] == "open"


def test_a_production_with_a_safety_advisor_needs_them_to_close(
    cli: CliRunner, crewed: Path
) -> None:
    from safetycli import crew

    with cheap_pins(), Ledger.open(crewed / "log.db") as ledger:
        crew.add_member(ledger, "Val Advisor", ["safety_advisor"], "3141", PRODUCER)
    incident_id = report(cli, "--kind", "misfire", "--text", "click, no bang")
    assert shown(cli, incident_id)["closed_by_roles"] == ["armorer", "producer", "safety_advisor"]
    refuse_close(cli, incident_id, ARMORER_SIGNS, PRODUCER_SIGNS)
    close(
        cli, incident_id, ARMORER_SIGNS, PRODUCER_SIGNS, ("safety_advisor", "Val Advisor", "3141")
    )


# --- stop work where it should -------------------------------------------------------------


def test_an_open_misfire_refuses_the_next_firearm_run(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    incident_id = report(cli, "--kind", "misfire", "--text", "click on take 3", "--scene", "12A")
    answers = write_answers(tmp_path / "a.yaml")
    for protocol_id in ("firearm-scene", "rehearsal", "daily-armory"):
        path = write_answers(tmp_path / f"{protocol_id}.yaml", protocol_id)
        # another scene: the whole production's firearm work is held
        line = refused(cli, ["run", protocol_id, "--scene", "40", "--answers", str(path)])
        assert incident_id in line and "incident close" in line
    close(cli, incident_id, ARMORER_SIGNS, PRODUCER_SIGNS)
    start(cli, answers, expect=0, scene="40")


def test_a_near_miss_does_not_stop_work(cli: CliRunner, crewed: Path, tmp_path: Path) -> None:
    report(cli, "--kind", "near-miss", "--text", "grip stand fell near the actor")
    start(cli, write_answers(tmp_path / "a.yaml"), expect=0)


def test_an_open_run_is_held_by_an_incident_at_its_next_step(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "p.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    incident_id = report(cli, "--kind", "complaint", "--text", "camera crew: unsafe handling")
    full = write_answers(tmp_path / "f.yaml")
    line = refused(cli, ["resume", run_id, "--answers", str(full)])
    assert incident_id in line
    close(cli, incident_id, PRODUCER_SIGNS, ARMORER_SIGNS)
    result = invoke(cli, ["resume", run_id, "--answers", str(full)])
    assert result.exit_code == 0, result.output


# --- the freeze ---------------------------------------------------------------------------


def test_the_freeze_refuses_custody_events_on_the_frozen_firearm(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    armorer(cli, "issue", "4471")
    hand_over(cli, "4471", ACTOR)
    armorer(cli, "rounds", "issue", "--lot", "B-7", "--count", "6")
    incident_id = report(
        cli,
        "--kind",
        "unplanned-discharge",
        "--text",
        "fired during the rehearsal",
        "--firearm",
        "4471",
        "--lot",
        "B-7",
    )
    pin = f"{ARMORER[1]}\n"
    for args in (
        ["armory", "take-back", "4471"],
        ["armory", "return", "4471"],
        ["armory", "rounds", "return", "--lot", "B-7", "--count", "6"],
        ["armory", "rounds", "fire", "--lot", "B-7", "--count", "1"],
        ["armory", "check-dummies", "--lot", "B-7", "--method", "rattle"],
    ):
        line = refused(cli, [*args, "--pin-stdin"], input=pin)
        assert "frozen" in line and incident_id in line, line
    # What the incident does not involve is not frozen.
    armorer(cli, "issue", "B88120")
    # Examined, the freeze is released by the closing roles only; firearm work stays stopped.
    release = [
        "incident",
        "release",
        incident_id,
        "--note",
        "police photographed it",
        "--pin-stdin",
    ]
    refused(
        cli,
        [*release, "--by", f"armorer={ARMORER[0]}", "--by", f"first_ad={FIRST_AD[0]}"],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    armorer_pin = f"{ARMORER[1]}\n"
    assert "frozen" in refused(cli, ["armory", "take-back", "4471", "--pin-stdin"], armorer_pin)
    ok(
        cli,
        [*release, "--by", f"producer={PRODUCER[0]}", "--by", f"armorer={ARMORER[0]}"],
        input=f"{PRODUCER[1]}\n{ARMORER[1]}\n",
    )
    armorer(cli, "take-back", "4471")
    assert shown(cli, incident_id)["status"] == "open"
    close(cli, incident_id, PRODUCER_SIGNS, ARMORER_SIGNS)
    armorer(cli, "return", "4471")


def test_a_discharge_with_nothing_named_freezes_everything_out(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    armorer(cli, "issue", "4471")
    incident_id = report(cli, "--kind", "injury", "--text", "actor burnt by a blank")
    assert shown(cli, incident_id)["firearms"] == ["4471"]
    assert "frozen" in refused(cli, ["armory", "return", "4471", "--pin-stdin"], input=ARMORER[1])


def test_a_near_miss_freezes_nothing(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    report(
        cli, "--kind", "near-miss", "--text", "nothing frozen by a near miss", "--firearm", "4471"
    )
    armorer(cli, "issue", "4471")
    armorer(cli, "return", "4471")


# --- escalation ---------------------------------------------------------------------------


def test_two_misfires_in_a_week_for_one_firearm_are_called_out(
    cli: CliRunner, crewed: Path
) -> None:
    first = report(cli, "--kind", "misfire", "--text", "click", "--firearm", "4471")
    close(cli, first, ARMORER_SIGNS, PRODUCER_SIGNS)
    result = ok(
        cli,
        ["incident", "report", "--kind", "misfire", "--text", "click again", "--firearm", "4471"],
    )
    assert "2 misfires" in result.stdout and "4471" in result.stdout
    status = ok(cli, ["status"]).stdout
    assert "4471" in status and "2 misfires" in status


def test_status_opens_with_open_incidents(cli: CliRunner, crewed: Path) -> None:
    incident_id = report(cli, "--kind", "injury", "--text", "actor's hand cut")
    status = ok(cli, ["status"]).stdout
    assert incident_id in status and "injury" in status
    assert status.index(incident_id) < 200
    assert "producer" in status.lower()
    data = json.loads(ok(cli, ["status", "--format", "json"]).stdout)
    assert [i["id"] for i in data["incidents"]] == [incident_id]


def test_status_and_the_report_say_an_incidents_age_and_closers_in_the_readers_language(
    cli: CliRunner, crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Who must close an incident and how long it has been open are shown in Spanish to a
    Spanish reader; the JSON keeps the English a program reads."""
    from safetycli import i18n
    from safetycli.roles import spoken

    incident_id = report(cli, "--kind", "injury", "--text", "actor's hand cut")
    as_json = ok(cli, ["status", "--format", "json"]).stdout
    monkeypatch.setenv(i18n.ENV, "es")
    with i18n.speaking("es"):
        closers = i18n._(" and ").join(spoken(r) for r in ("producer", "armorer"))
        age = i18n._("{n}m").format(n=0)
    assert closers == "productor y armero" and age == "0 min"
    status = ok(cli, ["status"]).stdout
    assert incident_id in status and closers in status and age in status
    assert "producer and armorer" not in status
    md = ok(cli, ["report", "--format", "md"]).stdout
    opening = next(line for line in md.splitlines() if incident_id in line)
    assert closers in opening and age in opening
    assert ok(cli, ["status", "--format", "json"]).stdout == as_json
    assert json.loads(as_json)["incidents"][0]["must_close"] == "producer and armorer"


def test_an_incident_is_reported_shown_and_closed_in_the_readers_language(
    cli: CliRunner, crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Spanish reader reporting an injury is told in Spanish that firearm work stops and who
    closes it; what they wrote stays as written."""
    from safetycli import i18n
    from safetycli.roles import spoken

    monkeypatch.setenv(i18n.ENV, "es")
    reported = ok(cli, ["incident", "report", "--kind", "injury", "--text", "hand cut"]).stdout
    incident_id = ID.search(reported).group(0)  # type: ignore[union-attr]
    with i18n.speaking("es"):
        closers = i18n._(" and ").join(spoken(r) for r in ("producer", "armorer"))
        stop = i18n._(
            "STOP: no firearm protocol starts or goes on until the {roles} close it: {command}"
        ).split("{roles}")[0]
        kind = i18n._("injury")
        what = i18n._("What happened: {text}").format(text="hand cut")
        closed = i18n._("Incident {id} closed. Its stop and freeze are lifted.")
    assert stop.startswith("ALTO") and kind != "injury"
    assert stop in reported and closers in reported and kind in reported
    assert "STOP:" not in reported
    assert what in ok(cli, ["incident", "show", incident_id]).stdout
    args, pins = close_args(incident_id, PRODUCER_SIGNS, ARMORER_SIGNS)
    assert closed.format(id=incident_id) in ok(cli, args, input=pins).stdout


def test_list_shows_open_incidents_first_with_who_closes(cli: CliRunner, crewed: Path) -> None:
    old = report(cli, "--kind", "misfire", "--text", "click")
    close(cli, old, ARMORER_SIGNS, PRODUCER_SIGNS)
    new = report(cli, "--kind", "complaint", "--text", '=HYPERLINK("x")')
    rows = listed(cli)
    assert [r["id"] for r in rows] == [new, old]
    assert rows[0]["must_close"] and not rows[1]["must_close"]
    csv_out = ok(cli, ["incident", "list", "--format", "csv"]).stdout
    assert "'=HYPERLINK" in csv_out or "\t=HYPERLINK" not in csv_out
    assert ",=HYPERLINK" not in csv_out


def test_an_unknown_incident_is_one_line(cli: CliRunner, crewed: Path) -> None:
    assert "incident list" in refused(cli, ["incident", "show", "i-000000"])
    assert "incident list" in refused(
        cli, ["incident", "close", "i-000000", "--action", "x", "--pin-stdin"]
    )


def test_log_show_is_untouched_by_a_run_hold_cleared_by_closing(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """A "no" to "no unplanned discharge, nobody hurt?" records the incident with the run, holds
    it, refuses `clear` (the incident is closed instead), and closing clears the run's hold."""
    answers = write_answers(tmp_path / "a.yaml", answers={"no-unplanned-discharge": False})
    run_id, result = start(cli, answers, expect=3)
    assert "UNTOUCHED" in result.stdout
    (incident,) = listed(cli)
    assert incident["kind"] == "unplanned-discharge" and incident["run"] == run_id
    assert incident["scene"] == "12A"
    line = refused(
        cli,
        [
            "clear",
            run_id,
            "--note",
            "unloaded",
            "--by",
            f"armorer={ARMORER[0]}",
            "--by",
            f"first_ad={FIRST_AD[0]}",
            "--pin-stdin",
        ],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    assert incident["id"] in line
    close(cli, incident["id"], PRODUCER_SIGNS, ARMORER_SIGNS)
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["cleared_at"] is not None
    assert {c["role"] for c in hold["cleared_by"]} == {"producer", "armorer"}


# --- the safety advisor --------------------------------------------------------------------------

ADVISOR = ("Val Advisor", "3141")
ADVISOR_SIGNS = ("safety_advisor", *ADVISOR)


@pytest.fixture
def advised(crewed: Path) -> Path:
    from safetycli import crew

    with cheap_pins(), Ledger.open(crewed / "log.db") as ledger:
        crew.add_member(ledger, ADVISOR[0], ["safety_advisor"], ADVISOR[1], PRODUCER)
    return crewed


def test_the_advisors_halt_is_cleared_only_by_them_and_a_producer(
    cli: CliRunner, advised: Path, tmp_path: Path
) -> None:
    ok(
        cli,
        ["advisor", "assess", "--scene", "12A", "--text", "blanks at 20 ft", "--pin-stdin"],
        input=f"{ADVISOR[1]}\n",
    )
    result = ok(
        cli,
        ["advisor", "halt", "--reason", "crew exhausted, 14h day", "--pin-stdin"],
        input=f"{ADVISOR[1]}\n",
    )
    incident_id = ID.search(result.stdout).group(0)  # type: ignore[union-attr]
    answers = write_answers(tmp_path / "a.yaml")
    assert incident_id in refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--answers", str(answers)]
    )
    refuse_close(cli, incident_id, PRODUCER_SIGNS, ARMORER_SIGNS)
    refuse_close(cli, incident_id, ADVISOR_SIGNS, ARMORER_SIGNS)
    close(cli, incident_id, ADVISOR_SIGNS, PRODUCER_SIGNS)
    start(cli, answers, expect=0)


def test_only_the_advisor_halts_and_with_their_pin(cli: CliRunner, advised: Path) -> None:
    refused(
        cli,
        ["advisor", "halt", "--reason", "x", "--by", ARMORER[0], "--pin-stdin"],
        input=f"{ARMORER[1]}\n",
    )
    refused(cli, ["advisor", "halt", "--reason", "x", "--pin-stdin"], input="0000\n")
    assert listed(cli) == []


def test_a_production_with_an_advisor_needs_the_scenes_risk_assessment(
    cli: CliRunner, advised: Path, tmp_path: Path
) -> None:
    answers = write_answers(tmp_path / "a.yaml")
    line = refused(cli, ["run", "firearm-scene", "--scene", "12A", "--answers", str(answers)])
    assert "risk assessment" in line and "advisor assess" in line
    paper = tmp_path / "ra.txt"
    paper.write_text("Scene 12A: blanks, 20 ft stand-off, shields for camera.", encoding="utf-8")
    result = ok(
        cli,
        ["advisor", "assess", "--scene", "12a", "--file", str(paper), "--pin-stdin"],
        input=f"{ADVISOR[1]}\n",
    )
    import hashlib

    assert hashlib.sha256(paper.read_bytes()).hexdigest() in result.stdout
    start(cli, answers, expect=0)


def test_a_production_without_an_advisor_needs_no_assessment(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    start(cli, write_answers(tmp_path / "a.yaml"), expect=0)


def test_the_day_report_opens_with_open_incidents_escaped(cli: CliRunner, crewed: Path) -> None:
    incident_id = report(cli, "--kind", "injury", "--text", "<b>cut</b> | =1+1 [red]x[/red]")
    md = ok(cli, ["report", "--format", "md"]).stdout
    assert md.index("### Incidents and complaints (1)") < md.index("### Holds")
    first, row = [line for line in md.splitlines() if incident_id in line]
    assert md.index(first) < md.index("## Exceptions")  # the report opens with it
    assert "1 open incident" in first and "injury" in first and "producer" in first
    assert "OPEN" in row and "producer" in row and "<b>" not in row
    html = ok(cli, ["report", "--format", "html"]).stdout
    assert incident_id in html and "<b>cut</b>" not in html and "&lt;b&gt;cut" in html
    data = json.loads(ok(cli, ["report", "--format", "json"]).stdout)
    (entry,) = data["exceptions"]["incidents"]
    assert entry["id"] == incident_id and entry["status"] == "open" and entry["age"]
    assert data["counts"]["open_incidents"] == 1
    csv_out = ok(cli, ["report", "--format", "csv"]).stdout
    line = next(x for x in csv_out.splitlines() if incident_id in x or "injury" in x)
    assert line.startswith("incident,") and ",=1+1" not in line


# --- who clears what, per check ------------------------------------------------------------

OWN = """id: stunt-gun
title: Stunt with a firearm
version: 1
summary: One check whose hold a producer clears.
sources: ["Test fixture"]
roles: [first_ad, armorer]
hold:
  cleared_by: [armorer, first_ad]
phases:
  - id: only
    title: The only phase
    items:
      - id: harness-checked
        ask: Harness checked?
        by: first_ad
        critical: true
        cleared_by: [producer, armorer]
        why: A producer signs off a harness failure.
      - id: no-discharge
        ask: No unplanned discharge?
        by: armorer
        critical: true
        incident: unplanned-discharge
        {extra}
        why: A discharge is an incident.
"""


def _validate(cli: CliRunner, tmp_path: Path, extra: str) -> str:
    path = tmp_path / "own.yaml"
    path.write_text(OWN.replace("{extra}", extra), encoding="utf-8")
    return invoke(cli, ["checklists", "validate", str(path)]).output


def test_an_item_that_records_an_injury_or_discharge_is_never_cleared_by_armorer_and_ad(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    assert "all valid" in _validate(cli, tmp_path, "witness: [first_ad]")
    said = _validate(cli, tmp_path, "cleared_by: [armorer, first_ad]")
    assert "cleared_by" in said and "producer" in said
    said = _validate(cli, tmp_path, "critical: false").lower()
    assert "critical" in said


def test_a_checks_own_cleared_by_decides_who_clears_its_hold(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    (crewed / "checklists").mkdir(exist_ok=True)
    text = OWN.replace("{extra}", "witness: [first_ad]")
    (crewed / "checklists" / "stunt-gun.yaml").write_text(text, encoding="utf-8")
    answers = tmp_path / "a.yaml"
    answers.write_text(
        "signers:\n"
        f"  armorer: {{name: {ARMORER[0]}, pin: '{ARMORER[1]}'}}\n"
        f"  first_ad: {{name: {FIRST_AD[0]}, pin: '{FIRST_AD[1]}'}}\n"
        "answers: {harness-checked: no, no-discharge: yes}\n",
        encoding="utf-8",
    )
    answers.chmod(0o600)
    run_id, _ = start(cli, answers, expect=3, protocol_id="stunt-gun")
    armorer_and_ad = ["--by", f"armorer={ARMORER[0]}", "--by", f"first_ad={FIRST_AD[0]}"]
    refused(
        cli,
        ["clear", run_id, "--note", "re-rigged", *armorer_and_ad, "--pin-stdin"],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    producer_and_armorer = ["--by", f"producer={PRODUCER[0]}", "--by", f"armorer={ARMORER[0]}"]
    ok(
        cli,
        ["clear", run_id, "--note", "re-rigged", *producer_and_armorer, "--pin-stdin"],
        input=f"{PRODUCER[1]}\n{ARMORER[1]}\n",
    )
    (hold,) = log_show(cli, run_id)["holds"]
    assert {c["role"] for c in hold["cleared_by"]} == {"producer", "armorer"}


def test_a_protocol_the_armorer_does_not_sign_is_not_firearm_work(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """Only firearm work stops: a workspace protocol without the armorer (a stunt rehearsal with
    no firearm) still starts while a misfire is open."""
    report(cli, "--kind", "misfire", "--text", "click")
    (crewed / "checklists").mkdir(exist_ok=True)
    minimal = (Path(__file__).parent / "fixtures/protocols/valid/minimal.yaml").read_text("utf-8")
    (crewed / "checklists" / "minimal.yaml").write_text(minimal, encoding="utf-8")
    answers = tmp_path / "a.yaml"
    answers.write_text(
        f"signers:\n  first_ad: {{name: {FIRST_AD[0]}, pin: '{FIRST_AD[1]}'}}\n"
        "answers: {ready: yes}\n",
        encoding="utf-8",
    )
    answers.chmod(0o600)
    start(cli, answers, expect=0, protocol_id="minimal")
