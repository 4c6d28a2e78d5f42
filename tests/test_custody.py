"""The armory reconciles (issue 12, item 4): the daily open and close counts, and each run's
wrap, are checked against the armory's own record; a firearm not back or a round unaccounted
for is a hold naming the serial or the lot. A production without an armory is not affected."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest
from typer.testing import CliRunner

from safetycli import armory, crew, qualifications
from safetycli.ledger import Ledger
from safetycli.protocol import Item
from tests.test_armory import armorer, hand_over, stocked  # noqa: F401  (the fixture)
from tests.test_interactive import finished, spawn
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    CREW,
    DAY,
    FIRST_AD,
    PRODUCER,
    cheap_pins,
    hold_scene,
    invoke,
    log_list,
    log_show,
    ok,
    refused,
    resume,
    start,
    write_answers,
)

# What the stocked armory holds: two firearms, 50 blanks in lot B-7, 30 dummies in lot D-1.
RIGHT = {
    "firearms-counted": 2,
    "blanks-counted": 50,
    "dummies-counted": 30,
    "firearms-counted-close": 2,
    "blanks-issued-today": 0,
    "blanks-returned-today": 0,
    "blanks-fired-today": 0,
    "blanks-spoiled-today": 0,
    "blanks-counted-close": 50,
    "dummies-counted-close": 30,
}


def _daily(path: Path, drop: tuple[str, ...] = (), **counts: Any) -> Path:
    return write_answers(
        path,
        "daily-armory",
        context={"blanks": True, "dummies": True},
        signers={"armorer": ARMORER, "first_ad": FIRST_AD},
        answers={**RIGHT, **counts},
        drop=drop,
    )


def _hold(cli: CliRunner, run_id: str) -> dict[str, Any]:
    (hold,) = log_show(cli, run_id)["holds"]
    return hold  # type: ignore[no-any-return]


def test_a_day_that_adds_up_completes(cli: CliRunner, stocked: Path, tmp_path: Path) -> None:  # noqa: F811
    start(cli, _daily(tmp_path / "a.yaml"), expect=0, scene="armory", protocol_id="daily-armory")


def test_a_firearm_not_returned_by_close_holds_naming_it(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The morning adds up; the run is left open before the close of day.
    morning = _daily(tmp_path / "am.yaml", drop=("all-firearms-back",))
    run_id, _ = start(cli, morning, expect=4, scene="armory", protocol_id="daily-armory")
    armorer(cli, "issue", "4471")
    hand_over(cli, "4471", ACTOR)
    # The armorer says every firearm is back; the armory says the revolver is with the actor.
    resume(cli, run_id, _daily(tmp_path / "pm.yaml"), expect=3)
    hold = _hold(cli, run_id)
    assert hold["item"] == "all-firearms-back"
    assert "4471" in hold["reason"] and ACTOR[0] in hold["reason"]


def test_a_morning_count_short_of_the_armory_holds(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    answers = _daily(tmp_path / "short.yaml", **{"blanks-counted": 48})
    run_id, _ = start(cli, answers, expect=3, scene="armory", protocol_id="daily-armory")
    hold = _hold(cli, run_id)
    assert hold["item"] == "blanks-counted"
    assert "50" in hold["reason"] and "(2 missing)" in hold["reason"]


def test_issued_12_fired_6_and_5_holds_the_run_naming_the_lot_and_the_missing_round(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    partial = write_answers(tmp_path / "p.yaml", drop=("rounds-reconciled",))
    run_id, _ = start(cli, partial, expect=4, scene="12A")
    armorer(cli, "rounds", "issue", "--lot", "B-7", "--count", "12", "--run", run_id)
    armorer(cli, "rounds", "fire", "--lot", "B-7", "--count", "6", "--run", run_id)
    armorer(cli, "rounds", "fire", "--lot", "B-7", "--count", "5", "--run", run_id)
    resume(cli, run_id, write_answers(tmp_path / "all.yaml"), expect=3)
    hold = _hold(cli, run_id)
    assert hold["item"] == "rounds-reconciled"
    assert "B-7" in hold["reason"] and "1 round unaccounted for" in hold["reason"]
    assert "issued 12" in hold["reason"] and "fired 11" in hold["reason"]


def test_another_runs_rounds_do_not_hold_this_run(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    other, _ = start(cli, write_answers(tmp_path / "p.yaml", drop=("rounds-reconciled",)), expect=4)
    armorer(cli, "rounds", "issue", "--lot", "B-7", "--count", "4", "--run", other)
    start(cli, write_answers(tmp_path / "all.yaml"), expect=0, scene="14B")


def test_without_an_armory_the_counts_are_the_crews_word(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    start(
        cli,
        _daily(tmp_path / "a.yaml", **{"blanks-counted": 7, "blanks-counted-close": 7}),
        expect=0,
        scene="armory",
        protocol_id="daily-armory",
    )


def test_the_protocol_names_exactly_the_armorys_checks() -> None:
    (literal, _) = get_args(Item.model_fields["custody"].annotation)
    assert set(get_args(literal)) == set(armory.CUSTODY_CHECKS)
    assert armory.verdicts(armory.ArmoryState(), armory.CUSTODY_CHECKS, None) == {}


MINIMAL = (Path(__file__).parent / "fixtures/protocols/valid/minimal.yaml").read_text("utf-8")


def test_a_storage_count_check_on_a_confirmation_is_pointed_at(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL.replace("critical: true", "critical: true\n        custody: x"))
    assert invoke(cli, ["checklists", "validate", str(path)]).exit_code == 1
    path.write_text(
        MINIMAL.replace("critical: true", "critical: true\n        custody: blanks-in-storage")
    )
    result = invoke(cli, ["checklists", "validate", str(path)])
    assert result.exit_code == 1 and ":17:" in result.stdout and "count" in result.stdout
    path.write_text(MINIMAL.replace("critical: true", "critical: true\n        custody: all-back"))
    assert invoke(cli, ["checklists", "validate", str(path)]).exit_code == 0


# --- the armorer's sign-in (item 6, in the walk-through) ------------------------------------------


def test_an_expired_permit_is_refused_at_the_armorers_sign_in_and_stop_work_stays_open(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(qualifications, "today", lambda: "2031-01-05")
    answers = write_answers(tmp_path / "a.yaml")
    # The only armorer's permit has lapsed: refused at the start, in one line, nothing recorded.
    args = ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(answers)]
    line = refused(cli, args)
    assert ARMORER[0] in line and "expired on 2030-12-31" in line
    assert log_list(cli) == []
    # A second armorer with a permit in force signs; the lapsed one, named in the answers file,
    # is refused at the start too (before any PIN, nothing recorded), and stop-work stays open
    # to everyone.
    with cheap_pins(), Ledger.open(stocked / "log.db") as ledger:
        crew.add_member(ledger, "Jo Banks", ["armorer"], "5150", PRODUCER)
        crew.qualify(ledger, "Jo Banks", "armorer-permit", "P-7", "2032-06-30", PRODUCER)
    line = refused(cli, args)
    assert f"{ARMORER[0]} cannot sign in as the armorer" in line and "2030-12-31" in line
    assert log_list(cli) == []
    hold_scene(cli, "12A", "no armorer with a permit")
    signers = {**CREW, "armorer": ("Jo Banks", "5150")}
    start(cli, write_answers(tmp_path / "b.yaml", signers=signers), expect=0, scene="14B")


def test_a_production_that_records_no_permits_signs_its_armorer_in_as_before(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    start(cli, write_answers(tmp_path / "a.yaml"), expect=0)


# --- runs take their firearms and rounds out of the armory (item 3) -------------------------------


def _listing(cli: CliRunner) -> dict[str, Any]:
    return json.loads(ok(cli, ["armory", "list", "--format", "json"]).stdout)  # type: ignore[no-any-return]


def test_a_run_takes_its_firearms_and_rounds_out_at_its_start(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = {"firearms": ["4471"], "rounds": {"B-7": 12}}
    partial = write_answers(tmp_path / "p.yaml", drop=("rounds-reconciled",), armory=out)
    run_id, _ = start(cli, partial, expect=4)
    listing = _listing(cli)
    (revolver,) = [f for f in listing["firearms"] if f["serial"] == "4471"]
    assert (revolver["where"], revolver["run"]) == ("armorer", run_id)
    (blanks,) = [lot for lot in listing["lots"] if lot["lot"] == "B-7"]
    # 12 went out at the start; the walk-through's counts then fired and returned some of them.
    assert blanks["issued"] == 12 and blanks["fired"] > 0
    assert blanks["on_hand"] == 50 - 12 + blanks["returned"]


def test_a_firearm_issued_to_two_open_runs_is_refused_at_the_start(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = {"firearms": ["4471"]}
    partial = write_answers(tmp_path / "p.yaml", drop=("rounds-reconciled",), armory=out)
    first, _ = start(cli, partial, expect=4)
    args = ["run", "firearm-scene", "--scene", "14B", "--day", DAY, "--answers", str(partial)]
    line = refused(cli, args)
    assert "4471" in line and "already out" in line and first in line
    assert [r["id"] for r in log_list(cli)] == [first]  # nothing recorded
    # So is a lot without enough rounds, named on the command line.
    plain = write_answers(tmp_path / "plain.yaml")
    line = refused(cli, [*args[:-1], str(plain), "--rounds", "B-7=51"])
    assert "B-7" in line and "50 rounds" in line
    assert [r["id"] for r in log_list(cli)] == [first]


def test_naming_firearms_without_an_armory_is_refused(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = write_answers(tmp_path / "a.yaml")
    args = ["run", "firearm-scene", "--scene", "12A", "--answers", str(answers), "--firearm", "1"]
    assert "keeps no armory" in refused(cli, args)


def test_at_the_keyboard_the_run_asks_what_goes_out_and_refuses_a_firearm_already_out(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    # Out for the day and in the actor's hands (one on the cart for the day would go with the
    # run from the cart).
    armorer(cli, "issue", "4471")
    hand_over(cli, "4471", ACTOR)
    child = spawn(stocked, "run", "firearm-scene", "--scene", "12A", "--day", DAY)
    child.expect("Firearms going out")
    child.sendline("4471")
    child.expect("Rounds going out")
    child.sendline("B-7=12")
    rest, status = finished(child)
    assert status == 2
    assert "4471" in rest and "already out" in rest
    assert log_list(cli) == []


def test_armory_times_are_read_in_the_productions_zone(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    config = stocked / "config.toml"
    config.write_text(config.read_text().replace('timezone = "UTC"', 'timezone = "Asia/Kolkata"'))
    said = ok(cli, ["armory", "issue", "4471", "--pin-stdin"], input=f"{ARMORER[1]}\n").stdout
    assert "UTC+5:30" in said and " UTC." not in said
    shown = ok(cli, ["armory", "show", "4471"]).stdout
    assert "UTC+5:30" in shown and " UTC\n" not in shown
    # JSON keeps the log's UTC.
    assert json.loads(ok(cli, ["armory", "show", "4471", "--format", "json"]).stdout)


# --- the day report's custody section (item 7) ----------------------------------------------------


def test_the_day_report_shows_custody_and_every_count_that_did_not_add_up(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = {"firearms": ["4471"], "rounds": {"B-7": 12}}
    # No blanks asked in the walk-through: the armorer records the rounds by hand.
    partial = write_answers(
        tmp_path / "p.yaml",
        context={"blanks": False, "dummies": False},
        drop=("locked-up",),
        armory=out,
    )
    run_id, _ = start(cli, partial, expect=4)
    hand_over(cli, "4471", ACTOR)
    armorer(cli, "rounds", "fire", "--lot", "B-7", "--count", "6", "--run", run_id)
    armorer(cli, "rounds", "fire", "--lot", "B-7", "--count", "5", "--run", run_id)
    today = date.today().isoformat()
    report = json.loads(
        ok(cli, ["report", "--from", DAY, "--to", today, "--format", "json"]).stdout
    )
    gaps = {g["subject"]: g["text"] for g in report["exceptions"]["custody"]}
    assert "1 round unaccounted for" in gaps["B-7"] and ACTOR[0] in gaps["4471"]
    (revolver,) = [f for f in report["custody"]["firearms"] if f["serial"] == "4471"]
    # The take's hand-over and return on cut (signed in the walk-through), then the hand-over
    # by hand that was never returned.
    moves = ["added", "issued", "handed over", "taken back", "handed over"]
    assert [m["what"] for m in revolver["moves"]] == moves
    (blanks,) = report["custody"]["lots"]
    assert blanks["runs"] == [
        {"run": run_id, "issued": 12, "fired": 11, "returned": 0, "spoiled": 0, "out": 1}
    ]
    text = ok(cli, ["report", "--from", DAY, "--to", today, "--format", "md"]).stdout
    assert "did not add up (3)" in text and "1 round unaccounted for" in text
    assert "## Custody" in text and "handed over" in text
    rows = ok(cli, ["report", "--from", DAY, "--to", today, "--format", "csv"]).stdout
    assert any(r.startswith("custody,") and "B-7" in r for r in rows.splitlines())
    page = ok(cli, ["report", "--from", DAY, "--to", today, "--format", "html"]).stdout
    assert "Custody: counts that did not add up" in page and "1 round unaccounted for" in page
    assert page.count(">handed over<") == 2


def test_a_production_without_an_armory_has_no_custody_section(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    start(cli, write_answers(tmp_path / "a.yaml"), expect=0)
    report = json.loads(ok(cli, ["report", "--day", DAY, "--format", "json"]).stdout)
    assert "custody" not in report and "custody" not in report["exceptions"]
