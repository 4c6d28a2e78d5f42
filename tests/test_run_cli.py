"""`run`, `resume`, `hold`, `clear`, `status` and `log` from the outside, with answers files: the
exit codes, the one-line errors, and what a producer then reads in the log."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli import crew
from safetycli.ledger import Ledger
from safetycli.protocache import shipped_dir
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    BLANKS,
    CLEAR_PINS,
    CREW,
    DAY,
    DP,
    FIRST_AD,
    NO_BLANKS,
    ONE_TAKE_COUNTS,
    PRODUCER,
    after_break,
    break_keys,
    clear_scene,
    expected_keys,
    hold_run,
    hold_scene,
    invoke,
    keys_of,
    log_list,
    log_show,
    ok,
    protocol,
    refused,
    resume,
    same_checks,
    settled_keys,
    start,
    write_answers,
)

SHOW_KEYS = {"id", "protocol", "scene", "day", "status", "context", "signoffs", "holds"}
SIGNOFF_KEYS = {"seq", "at", "phase", "item", "answer", "by", "witnesses"}
HOLD_KEYS = {"item", "raised_at", "reason", "cleared_at", "cleared_by", "note"}
LIST_KEYS = {"id", "protocol", "scene", "day", "status", "started_at", "ended_at", "holds"}


pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def status_text(cli: CliRunner) -> str:
    result = invoke(cli, ["status"])
    assert result.exit_code == 0, result.output
    return result.stdout


# --- a whole run ---------------------------------------------------------------------------------


def test_a_complete_run_exits_0_and_the_log_has_every_signoff(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = write_answers(tmp_path / "all-pass.yaml", context=BLANKS, takes=2)
    run_id, result = start(cli, answers, expect=0)
    assert result.stdout.strip() == f"Run {run_id}: complete"

    (listed,) = log_list(cli)
    assert set(listed) >= LIST_KEYS
    assert (listed["id"], listed["protocol"], listed["scene"], listed["day"]) == (
        run_id,
        "firearm-scene",
        "12A",
        DAY,
    )
    assert (listed["status"], listed["holds"]) == ("complete", 0)
    assert listed["started_at"] <= listed["ended_at"]

    detail = log_show(cli, run_id)
    assert set(detail) >= SHOW_KEYS
    shipped = (shipped_dir() / "firearm-scene.yaml").read_bytes()
    spanish = (shipped_dir() / "firearm-scene.es.yaml").read_bytes()
    # The exact files the crew could read: the protocol, and its Spanish beside it.
    assert detail["protocol"] == {
        "id": "firearm-scene",
        "version": protocol().version,
        "sha256": hashlib.sha256(shipped).hexdigest(),
        "translations": {"es": hashlib.sha256(spanish).hexdigest()},
    }
    assert (detail["status"], detail["scene"], detail["day"]) == ("complete", "12A", DAY)
    assert detail["context"] == BLANKS
    assert detail["holds"] == []
    # Every check, once for each take (within a phase, in the order people signed).
    assert sorted(keys_of(detail), key=str) == sorted(
        expected_keys(protocol(), BLANKS, takes=2), key=str
    )
    # One sign-off per person per phase and take, each listing its checks with their meaning;
    # only a witness loop (the 1st AD witnesses the armorer's stand-off, the armorer the AD's
    # meeting) has someone sign twice in a phase: a witness signs after the check is done.
    with Ledger.open(crewed / "log.db") as ledger:
        signed = list(ledger.events(run=run_id, kinds=["item.signed-off"]))
        singles = list(
            ledger.events(run=run_id, kinds=["item.performed", "item.witnessed", "item.read-back"])
        )
    assert singles == []  # nothing was signed one item at a time
    per = [(e.data["phase"], e.data["take"], e.data["role"]) for e in signed]
    twice = {p for p in per if per.count(p) > 1}
    assert twice <= {("safety-meeting", None, "first_ad"), ("safety-meeting", None, "armorer")}

    def roles(phase: str, take: int) -> list[str]:
        return [r for p, t, r in per if (p, t) == (phase, take)]

    assert roles("before-each-take", 1) == ["armorer", "first_ad", "dp", "actor"]
    # At cut of take 1 one sitting covers take 1's checks after it and take 2's before it: each
    # person signs both at once (one PIN), the 1st AD before the actor, who witnesses the AD's.
    assert roles("after-each-take", 1) == ["armorer", "first_ad", "actor"]
    assert roles("before-each-take", 2) == ["armorer", "first_ad", "actor", "dp"]
    seq = {(e.data["phase"], e.data["take"], e.data["role"]): e.seq for e in signed}
    for role in ("armorer", "first_ad", "actor"):  # the two, one after the other, one append
        assert seq[("before-each-take", 2, role)] == seq[("after-each-take", 1, role)] + 1
    actor = next(e for e in signed if e.data["role"] == "actor" and e.data["take"] == 2)
    assert actor.data["pin"] == "sign-off"
    assert [(i["item"], i["meaning"]) for i in actor.data["items"]] == [
        ("shown-clear", "witnessed"),
        ("rounds-counted", "read-back"),
        ("state-announced", "read-back"),
        ("muzzle-line-clear", "witnessed"),
        ("handed-over", "witnessed"),
    ]
    covered = sum(len(e.data["items"]) for e in signed)
    signatures = sum(1 + len(s["witnesses"]) + len(s["readbacks"]) for s in detail["signoffs"])
    assert covered == signatures  # the record shows each of them item by item
    for signoff in detail["signoffs"]:
        assert set(signoff) >= SIGNOFF_KEYS
        assert set(signoff["by"]) >= {"name", "role"}
    seqs = [s["seq"] for s in detail["signoffs"]]
    assert seqs == sorted(seqs)
    shown = next(s for s in detail["signoffs"] if s["item"] == "shown-clear" and s["take"] == 2)
    assert shown["by"] == {"name": ARMORER[0], "role": "armorer"}
    assert [(w["name"], w["role"]) for w in shown["witnesses"]] == [  # in the order they signed
        (FIRST_AD[0], "first_ad"),
        (ACTOR[0], "actor"),
        (CREW["dp"][0], "dp"),
    ]
    assert status_text(cli).strip() == "No open or held runs, and no scene held."


def test_resuming_a_complete_run_changes_nothing(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = write_answers(tmp_path / "a.yaml", context=NO_BLANKS)
    run_id, _ = start(cli, answers, expect=0)
    before = log_show(cli, run_id)
    result = resume(cli, run_id, answers, expect=0)
    assert result.stdout.strip() == f"Run {run_id}: complete"
    assert log_show(cli, run_id) == before


# --- holds ---------------------------------------------------------------------------------------


def test_a_critical_no_exits_3_with_the_run_held(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    answers = write_answers(tmp_path / "no.yaml", answers={"meeting-held": "no"})
    run_id, result = start(cli, answers, expect=3)
    assert "HOLD" in result.stdout and "STOP WORK" in result.stdout
    assert "Safety meeting held where the scene will be shot" in result.stdout
    assert f"safetycli clear {run_id}" in result.stdout

    detail = log_show(cli, run_id)
    assert detail["status"] == "held"
    (hold,) = detail["holds"]
    assert set(hold) >= HOLD_KEYS
    assert hold["item"] == "meeting-held"
    assert "answered no" in hold["reason"]
    assert (hold["cleared_at"], hold["cleared_by"], hold["note"]) == (None, None, None)
    # Nothing after the failed check was asked.
    assert keys_of(detail)[-1] == ("safety-meeting", None, "meeting-held")
    assert detail["signoffs"][-1]["answer"] is False
    (listed,) = log_list(cli)
    assert (listed["status"], listed["holds"]) == ("held", 1)

    status = status_text(cli)
    assert f"HELD  {run_id}  firearm-scene  scene 12A  {DAY}" in status
    assert "hold: Safety meeting held where the scene will be shot" in status
    assert "answered no" in status

    # Resuming does not get past a hold that nobody cleared.
    before = log_show(cli, run_id)
    resume(cli, run_id, write_answers(tmp_path / "ok.yaml"), expect=3)
    assert log_show(cli, run_id)["signoffs"] == before["signoffs"]


def test_the_named_roles_clear_a_hold_and_resume_asks_the_failed_check_again(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id, _ = start(
        cli, write_answers(tmp_path / "no.yaml", answers={"meeting-held": "no"}), expect=3
    )
    note = "meeting held again with the whole unit"
    result = invoke(
        cli,
        ["clear", run_id, "--note", note, "--pin-stdin"],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    assert result.exit_code == 0, result.output
    assert f"Hold cleared on run {run_id}" in result.stdout
    assert f"safetycli resume {run_id}" in result.stdout
    assert f"open  {run_id}" in status_text(cli)

    resume(cli, run_id, write_answers(tmp_path / "ok.yaml"), expect=0)
    detail = log_show(cli, run_id)
    assert detail["status"] == "complete"
    (hold,) = detail["holds"]
    assert hold["note"] == note
    assert hold["cleared_by"] == [
        {"name": ARMORER[0], "role": "armorer"},
        {"name": FIRST_AD[0], "role": "first_ad"},
    ]
    assert hold["raised_at"] < hold["cleared_at"]
    meeting = [s for s in detail["signoffs"] if s["item"] == "meeting-held"]
    assert [(s["answer"], s["outcome"]) for s in meeting] == [
        (False, "refused"),
        (True, "confirmed"),
    ]
    assert meeting[0]["seq"] < meeting[1]["seq"]
    # Every other check was signed once.
    others = [k for k in keys_of(detail) if k[2] != "meeting-held"]
    assert len(others) == len(set(others))


def test_clearing_needs_the_roles_the_protocol_names(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id, _ = start(
        cli, write_answers(tmp_path / "no.yaml", answers={"meeting-held": "no"}), expect=3
    )
    wrong_person = refused(
        cli,
        ["clear", run_id, "--note", "fixed", "--by", f"armorer={FIRST_AD[0]}", "--pin-stdin"],
        input=f"{FIRST_AD[1]}\n{FIRST_AD[1]}\n",
    )
    assert wrong_person == f"{FIRST_AD[0]} is not on the roster as armorer"
    no_such_role = refused(
        cli,
        ["clear", run_id, "--note", "fixed", "--by", f"actor={ACTOR[0]}", "--pin-stdin"],
        input=f"{ACTOR[1]}\n",
    )
    assert no_such_role == (
        "--by actor=...: a hold on this run is cleared by armorer and 1st AD, not by actor"
    )
    with Ledger.open(crewed / "log.db") as ledger:
        crew.add_member(ledger, "Robin Lee", ["armorer", "first_ad"], "3141", PRODUCER)
    same_person = refused(
        cli,
        [
            "clear",
            run_id,
            "--note",
            "fixed",
            "--by",
            "first_ad=Robin Lee",
            "--by",
            "armorer=Robin Lee",
            "--pin-stdin",
        ],
        input="3141\n3141\n",
    )
    assert same_person == "each role must be a different person: name them with --by ROLE=NAME"
    wrong_pin = refused(
        cli, ["clear", run_id, "--note", "fixed", "--pin-stdin"], input=f"{ARMORER[1]}\n0000\n"
    )
    assert wrong_pin.startswith(f"wrong PIN for {FIRST_AD[0]}")
    assert refused(cli, ["clear", run_id, "--note", "  ", "--pin-stdin"], input="").startswith(
        "clearing a hold needs a note"
    )
    detail = log_show(cli, run_id)
    assert detail["status"] == "held"
    assert detail["holds"][0]["cleared_at"] is None


def test_at_the_keyboard_a_mistyped_pin_is_asked_again(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    # No --by and no --pin-stdin: the name and the hidden PIN are asked, a typo asked again.
    result = invoke(
        cli, ["hold", run_id, "--reason", "smoke on set"], input=f"{ACTOR[0]}\n2468\n{ACTOR[1]}\n"
    )
    assert result.exit_code == 0, result.output
    assert f"Refused: wrong PIN for {ACTOR[0]} (4 tries left before lock-out)" in result.stderr
    assert log_show(cli, run_id)["status"] == "held"

    result = invoke(
        cli,
        ["clear", run_id, "--note", "smoke gone"],
        input=f"{ARMORER[1]}\n2468\n{FIRST_AD[1]}\n",
    )
    assert result.exit_code == 0, result.output
    assert f"Refused: wrong PIN for {FIRST_AD[0]} (4 tries left before lock-out)" in result.stderr
    (hold,) = log_show(cli, run_id)["holds"]
    assert [c["name"] for c in hold["cleared_by"]] == [ARMORER[0], FIRST_AD[0]]
    for pin in (ACTOR[1], ARMORER[1], FIRST_AD[1], "2468"):
        assert pin not in result.output


def test_clear_on_a_run_that_is_not_held_is_refused(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml", context=NO_BLANKS), expect=0)
    message = refused(
        cli,
        ["clear", run_id, "--note", "nothing", "--pin-stdin"],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    assert message == f"run {run_id} is complete, not held: nothing to clear"


def test_anyone_on_the_roster_holds_an_open_run(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    # A wrong PIN or a name off the roster no longer refuses a hold (issue 10): see
    # tests/test_security_crew.py. A hold with no reason still is.
    assert refused(
        cli, ["hold", run_id, "--reason", " ", "--by", ACTOR[0], "--pin-stdin"], input="5532\n"
    ).startswith("a hold needs a reason")
    assert log_show(cli, run_id)["status"] == "open"

    result = invoke(
        cli,
        ["hold", run_id, "--reason", "smoke on set", "--by", ACTOR[0], "--pin-stdin"],
        input=f"{ACTOR[1]}\n",
    )
    assert result.exit_code == 0, result.output
    assert "HOLD" in result.stdout and "smoke on set" in result.stdout
    assert f"Raised by: {ACTOR[0]} (actor)" in result.stdout
    detail = log_show(cli, run_id)
    assert detail["status"] == "held"
    (hold,) = detail["holds"]
    assert (hold["item"], hold["reason"], hold["cleared_at"]) == (None, "smoke on set", None)
    status = status_text(cli)
    assert run_id in status and "HELD" in status and "hold: smoke on set" in status

    again = refused(
        cli,
        ["hold", run_id, "--reason", "again", "--by", ACTOR[0], "--pin-stdin"],
        input=f"{ACTOR[1]}\n",
    )
    assert again == f"run {run_id} is held: only an open run can be held"

    result = invoke(
        cli,
        ["clear", run_id, "--note", "smoke gone", "--pin-stdin"],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    assert result.exit_code == 0, result.output
    resume(cli, run_id, write_answers(tmp_path / "full.yaml"), expect=0)
    flow, breaks = after_break(protocol(), settled_keys(log_show(cli, run_id)))
    assert same_checks(flow, expected_keys(protocol(), BLANKS, takes=1))
    # Resumed after the hold: where were the firearms meanwhile? asked first, once.
    assert breaks == break_keys(protocol(), BLANKS, 1)


# --- answers files -------------------------------------------------------------------------------


def test_a_missing_answer_leaves_the_run_open_with_exit_4(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, result = start(cli, partial, expect=4)
    (line,) = result.stderr.splitlines()
    assert line.startswith("Left open: no answer for `meeting-covered`")
    assert f"safetycli resume {run_id} --answers {partial}" in line
    detail = log_show(cli, run_id)
    assert detail["status"] == "open"
    # What the 1st AD answered before the missing check is signed; the missing one is not.
    signed = keys_of(detail)
    assert ("safety-meeting", None, "meeting-attendance") in signed
    assert ("safety-meeting", None, "meeting-covered") not in signed

    full = write_answers(tmp_path / "full.yaml")
    resume(cli, run_id, full, expect=0)
    after = log_show(cli, run_id)
    assert after["signoffs"][: len(detail["signoffs"])] == detail["signoffs"]
    flow, breaks = after_break(protocol(), settled_keys(after))
    assert same_checks(flow, expected_keys(protocol(), BLANKS, takes=1))
    assert breaks == break_keys(protocol(), BLANKS, 1)
    # ...and they come first after the resume, before the check the run stopped at.
    resumed = keys_of(after)[len(detail["signoffs"]) :]
    assert resumed[: len(breaks)] == breaks


def test_a_wrong_pin_in_the_file_is_one_line_naming_the_person_and_the_open_run(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    signers = {**CREW, "first_ad": (FIRST_AD[0], "9999")}
    bad = write_answers(tmp_path / "bad-pin.yaml", signers=signers)
    before = {r["id"] for r in log_list(cli)}
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(bad)]
    )
    (run_id,) = {r["id"] for r in log_list(cli)} - before
    assert message == (
        f"wrong PIN for {FIRST_AD[0]} (4 tries left before lock-out) "
        f"(run {run_id} is left open: safetycli resume {run_id} --answers {bad})"
    )
    assert log_show(cli, run_id)["status"] == "open"
    with Ledger.open(crewed / "log.db") as ledger:
        failed = [
            {k: v for k, v in e.data.items() if k != "attempt"}
            for e in ledger.events(run=run_id, kinds=["auth.failed"])
        ]
    assert failed == [
        {"name": FIRST_AD[0], "role": "first_ad", "purpose": "sign-in", "reason": "wrong-pin"}
    ]
    resume(cli, run_id, write_answers(tmp_path / "good.yaml"), expect=0)


def test_a_malformed_answers_file_exits_2_with_the_line_at_fault(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(
        "context: {blanks: true, dummies: false}\n"
        "signers:\n"
        "  armorer: {name: Sam Ortiz, pin: '4821'}\n"
        "answer:\n"
        "  meeting-held: yes\n",
        encoding="utf-8",
    )
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(path)]
    )
    assert message == (
        f"{path}:4:1: unknown key `answer`; "
        "allowed: context, signers, answers, takes, readbacks, witnesses, armory"
    )
    assert log_list(cli) == []  # refused before anything was written

    path.write_text("signers:\n  armorer: {name: Sam Ortiz}\n", encoding="utf-8")
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(path)]
    )
    assert message == f"{path}:2:12: signer `armorer` needs `name:` and `pin:`"

    path.write_text("answers: [meeting-held: yes\n", encoding="utf-8")
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(path)]
    )
    assert message.startswith(f"{path}:")
    assert log_list(cli) == []


def test_an_answer_of_the_wrong_kind_is_refused_at_its_line(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    path = write_answers(tmp_path / "words.yaml", answers={"firearms-issued": "two"})
    line = next(
        n
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if text.strip().startswith("firearms-issued:")
    )
    before = {r["id"] for r in log_list(cli)}
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(path)]
    )
    (run_id,) = {r["id"] for r in log_list(cli)} - before
    assert message.startswith(f"{path}:{line}:")
    assert "`firearms-issued` needs a whole number, not 'two'" in message
    assert f"run {run_id} is left open" in message


def test_numbers_yaml_would_misread_are_taken_as_typed(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    # Unquoted, YAML reads 0123 as octal 83 and 18:30 as 1110 (base 60).
    with Ledger.open(crewed / "log.db") as ledger:
        crew.set_pin(ledger, FIRST_AD[0], "0123", old_pin=FIRST_AD[1], approver=PRODUCER)
    path = write_answers(
        tmp_path / "plain.yaml",
        answers={"key-holders": "@TIME@"},
        signers={**CREW, "first_ad": (FIRST_AD[0], "@PIN@")},
    )
    text = path.read_text(encoding="utf-8").replace("'@TIME@'", "18:30")
    path.write_text(text.replace("'@PIN@'", "0123"), encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "@PIN@" in t)
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(path)]
    )
    assert message == (
        f"{path}:{line}:{text.splitlines()[line - 1].index('@PIN@')}: "
        'YAML reads this PIN as the number 83; put it in quotes: pin: "0123"'
    )
    assert log_list(cli) == []  # refused before a run started: no PIN try was spent

    path.write_text(text.replace("'@PIN@'", "'0123'"), encoding="utf-8")
    run_id, _ = start(cli, path, expect=0)
    (keys,) = [s for s in log_show(cli, run_id)["signoffs"] if s["item"] == "key-holders"]
    assert keys["answer"] == "18:30"


def test_the_answers_file_context_must_be_facts_the_protocol_asks(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    path = write_answers(tmp_path / "ctx.yaml", context={**BLANKS, "smoke": True})
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(path)]
    )
    assert "asks no fact `smoke`" in message
    path = write_answers(tmp_path / "ctx.yaml", context={"blanks": "maybe", "dummies": False})
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "maybe" in t)
    message = refused(
        cli, ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(path)]
    )
    assert message.startswith(f"{path}:{line}:")
    assert message.endswith("fact `blanks` is yes or no, not 'maybe'")
    assert log_list(cli) == []


# --- bad input on the command line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", "no-such-protocol", "--scene", "1"],
            "unknown protocol `no-such-protocol`: known protocols are",
        ),
        (
            ["run", "firearm-scene", "--scene", "1", "--day", "23/11/2026"],
            "--day '23/11/2026' is not a date: use YYYY-MM-DD, e.g. 2026-11-23",
        ),
        (
            ["run", "firearm-scene", "--scene", "1", "--day", "2026-02-30"],
            "--day '2026-02-30' is not a date",
        ),
        (
            ["run", "firearm-scene", "--scene", "1", "--set", "smoke=yes"],
            "--set smoke: `firearm-scene` asks no such fact (it asks: blanks, dummies)",
        ),
        (
            ["run", "firearm-scene", "--scene", "1", "--set", "blanks"],
            "--set 'blanks': write KEY=VALUE, e.g. --set blanks=yes",
        ),
        (
            ["run", "firearm-scene", "--scene", "1", "--set", "blanks=perhaps"],
            "fact `blanks` is yes or no, not 'perhaps'",
        ),
        (["resume", "r-000000"], "unknown run `r-000000`: see `safetycli log list`"),
        (["clear", "r-000000", "--note", "x"], "unknown run `r-000000`"),
        (["log", "show", "r-000000"], "unknown run `r-000000`"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cli: CliRunner, crewed: Path, args: list[str], expected: str
) -> None:
    assert refused(cli, args).startswith(expected)
    assert log_list(cli) == []


# --- another laptop -------------------------------------------------------------------------------


def test_a_hold_raised_elsewhere_stops_a_walk_through_in_progress(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """The AD's terminal is waiting on an answer when the actor holds the run from their own
    laptop: the answer typed afterwards is not recorded and the walk-through stops."""
    from safetycli.answers import load_answers
    from safetycli.session import FileFrontend, MovedNotice, StoppedNotice, drive, start_run

    class Crew(FileFrontend):
        def answer(self, step: Any, state: Any, proto: Any) -> Any:
            value = super().answer(step, state, proto)
            if step.item.id == "meeting-covered" and step.meaning == "performed":
                held = invoke(
                    cli,
                    ["hold", state.run_id, "--reason", "smoke on set", "--by", ACTOR[0]]
                    + ["--pin-stdin"],
                    input=f"{ACTOR[1]}\n",
                )
                assert held.exit_code == 0, held.output
            return value

    frontend = Crew(load_answers(write_answers(tmp_path / "a.yaml")), "")
    proto = protocol()
    with Ledger.open(crewed / "log.db") as ledger:
        run_id = start_run(ledger, proto, frontend, scene="12A", day=DAY, context=dict(BLANKS))
        state = drive(ledger, proto, run_id, frontend)
    assert state.status == "held"
    moved, stopped = frontend.log[-2:]
    assert isinstance(moved, MovedNotice) and isinstance(stopped, StoppedNotice)
    assert stopped.status == "held"
    detail = log_show(cli, run_id)
    # Nothing of the 1st AD's batch typed while the hold landed was recorded.
    signed = keys_of(detail)
    assert ("safety-meeting", None, "meeting-held") not in signed
    assert ("safety-meeting", None, "meeting-covered") not in signed
    assert detail["holds"][0]["reason"] == "smoke on set"
    assert detail["status"] == "held"


def test_stopping_at_a_starting_question_records_nothing_and_exits_2(
    cli: CliRunner, crewed: Path
) -> None:
    # At the keyboard, the facts are asked before the run starts; no answer (end of input,
    # Ctrl-C) leaves nothing to resume.
    message = refused(cli, ["run", "firearm-scene", "--scene", "1", "--set", "blanks=no"], input="")
    assert message == (
        "stopped before the run started: nothing was recorded "
        "(facts can be given with --set KEY=VALUE)"
    )
    assert log_list(cli) == []


def test_a_run_that_will_not_be_finished_is_aborted_by_the_first_ad(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    # Only a 1st AD or a producer ends a run; anyone else is told to hold instead.
    message = refused(cli, ["abort", run_id, "--reason", "scene cut", "--by", ACTOR[0]])
    assert message == (
        f"{ACTOR[0]} cannot abort a run: only a 1st AD or a producer can "
        "(anyone can stop work with `safetycli hold`)"
    )
    assert refused(cli, ["abort", run_id, "--reason", " ", "--by", FIRST_AD[0]]) == (
        "aborting a run needs a reason: --reason TEXT"
    )
    result = invoke(
        cli,
        ["abort", run_id, "--reason", "scene cut", "--by", FIRST_AD[0], "--pin-stdin"],
        input=f"{FIRST_AD[1]}\n",
    )
    assert result.exit_code == 0, result.output
    assert f"Run {run_id} aborted by {FIRST_AD[0]} (first_ad)" in result.stdout
    detail = log_show(cli, run_id)
    assert detail["status"] == "aborted"
    assert detail["aborted"]["reason"] == "scene cut"
    assert run_id not in status_text(cli)
    # Nothing goes on in an aborted run, and it cannot be aborted twice.
    full = write_answers(tmp_path / "full.yaml")
    assert refused(cli, ["resume", run_id, "--answers", str(full)]) == (
        f"run {run_id} was aborted (scene cut): it cannot be resumed; start a new run"
    )
    assert log_show(cli, run_id)["signoffs"] == detail["signoffs"]
    assert refused(cli, ["abort", run_id, "--reason", "again", "--by", FIRST_AD[0]]) == (
        f"run {run_id} is already aborted: nothing to abort"
    )


def test_a_wrong_pin_does_not_abort(cli: CliRunner, crewed: Path, tmp_path: Path) -> None:
    run_id, _ = start(cli, write_answers(tmp_path / "p.yaml", drop=("meeting-covered",)), expect=4)
    result = invoke(
        cli,
        ["abort", run_id, "--reason", "x", "--by", PRODUCER[0], "--pin-stdin"],
        input="0000\n",
    )
    assert result.exit_code == 2
    assert log_show(cli, run_id)["status"] == "open"


# --- fixes from the first review: stopping work never waits, and nobody signs as someone else ---


def test_a_critical_no_is_recorded_even_if_no_pin_follows(crewed: Path, tmp_path: Path) -> None:
    """A "no" stops work at once: it must not vanish because the PIN after it was never typed."""
    from safetycli.answers import load_answers
    from safetycli.session import FileFrontend, drive, start_run

    class WalksAwayAtThePin(FileFrontend):
        def pin(self, name: str, role: str, why: str) -> str:
            if why == "critical check":
                raise KeyboardInterrupt  # Ctrl-C at the PIN prompt
            return super().pin(name, role, why)

    answers = write_answers(tmp_path / "no.yaml", answers={"armorer-present": False})
    frontend = WalksAwayAtThePin(load_answers(answers), "")
    with Ledger.open(crewed / "log.db") as ledger:
        run_id = start_run(ledger, protocol(), frontend, scene="9", day=DAY, context=dict(BLANKS))
        state = drive(ledger, protocol(), run_id, frontend)
    assert state.status == "held"
    assert state.open_hold is not None and "answered no" in state.open_hold.reason


def test_resume_with_the_only_armorer_locked_is_refused_before_anything_is_recorded(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("firearms-issued",))
    run_id, _ = start(cli, partial, expect=4)
    signed = len(log_show(cli, run_id)["signoffs"])
    for _ in range(5):  # the armorer mistypes a PIN five times elsewhere: locked out
        invoke(cli, ["crew", "set-pin", ARMORER[0], "--pin-stdin"], input="2580\n0000\n")
    full = write_answers(tmp_path / "full.yaml")
    with Ledger.open(crewed / "log.db") as ledger:
        before = ledger.count()
    message = refused(cli, ["resume", run_id, "--answers", str(full)])
    assert "locked" in message and ARMORER[0] in message and "crew unlock" in message
    detail = log_show(cli, run_id)
    assert len(detail["signoffs"]) == signed  # nothing signed in the locked armorer's name
    with Ledger.open(crewed / "log.db") as ledger:
        assert ledger.count() == before  # refused before the roll call: nothing recorded


def test_hold_and_clear_do_not_depend_on_the_protocol_file(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    """Stopping work must not depend on a file someone can break; who clears is fixed at start."""
    own = crewed / "checklists" / "own-scene.yaml"
    text = (shipped_dir() / "firearm-scene.yaml").read_text(encoding="utf-8")
    own.write_text(text.replace("id: firearm-scene", "id: own-scene", 1), encoding="utf-8")
    answers = write_answers(tmp_path / "own.yaml", drop=("firearms-issued",))
    result = invoke(
        cli, ["run", "own-scene", "--scene", "3", "--day", DAY, "--answers", str(answers)]
    )
    assert result.exit_code == 4, result.output
    run_id = log_list(cli)[0]["id"]
    # Someone "simplifies" the protocol so the 1st AD alone clears, then breaks it entirely.
    own.write_text(text.replace("cleared_by: [armorer, first_ad]", "cleared_by: [first_ad]"))
    result = invoke(
        cli,
        ["hold", run_id, "--reason", "smoke", "--by", ACTOR[0], "--pin-stdin"],
        input=f"{ACTOR[1]}\n",
    )
    assert result.exit_code == 0, result.output
    own.write_text("not: [a protocol")
    result = invoke(
        cli,
        ["clear", run_id, "--note", "AD alone", "--pin-stdin"],
        input=f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
    )
    assert result.exit_code == 0, result.output
    # The run's own rule still asked the armorer and the 1st AD, and showed what was cleared.
    assert f"Hold on run {run_id}: smoke (raised by {ACTOR[0]}, actor)" in result.stdout
    (hold,) = log_show(cli, run_id)["holds"]
    assert [c["role"] for c in hold["cleared_by"]] == ["armorer", "first_ad"]


def test_a_held_run_is_not_aborted_and_scripts_must_name_who_acts(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    held = write_answers(tmp_path / "held.yaml", answers={"armorer-present": False})
    run_id, _ = start(cli, held, expect=3)
    message = refused(cli, ["abort", run_id, "--reason", "moving on", "--by", FIRST_AD[0]])
    assert message == (
        f"run {run_id} is held: clear the hold first (safetycli clear {run_id} --note ...), "
        "then abort it"
    )
    assert log_show(cli, run_id)["status"] == "held"
    partial = write_answers(tmp_path / "p.yaml", drop=("firearms-issued",))
    open_id, _ = start(cli, partial, expect=4, scene="7")
    assert refused(cli, ["hold", open_id, "--reason", "x", "--pin-stdin"], input="1170\n") == (
        "with --pin-stdin, say who you are with --by NAME"
    )


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"witnesses": {"shown-clr": {"dp": False}}},
         "`firearm-scene` has no item `shown-clr`; did you mean `shown-clear`?"),
        ({"witnesses": {"shown-clear": {"DP": False}}},
         "`shown-clear` has no witness `DP` (its witness: first_ad, dp, actor)"),
        ({"readbacks": {"state-anounced": {"actor": "BLANKS"}}},
         "`firearm-scene` has no item `state-anounced`; did you mean `state-announced`?"),
    ],
)  # fmt: skip
def test_a_misspelt_witness_or_read_back_in_an_answers_file_is_refused(
    cli: CliRunner, crewed: Path, tmp_path: Path, extra: dict[str, Any], expected: str
) -> None:
    """A witness meant to refuse must not become the default "yes" because of a typo."""
    answers = write_answers(tmp_path / "typo.yaml", **extra)
    before = log_list(cli)
    message = refused(cli, ["run", "firearm-scene", "--scene", "1", "--answers", str(answers)])
    assert message.endswith(expected), message
    assert message.startswith(f"{answers}:")
    assert log_list(cli) == before  # refused before anything was written


def test_an_answers_file_error_is_said_in_the_readers_language_at_the_same_place(
    cli: CliRunner, crewed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetycli import i18n

    answers = write_answers(tmp_path / "typo.yaml", witnesses={"shown-clr": {"dp": False}})
    english = refused(cli, ["run", "firearm-scene", "--scene", "1", "--answers", str(answers)])
    monkeypatch.setenv(i18n.ENV, "es")
    spanish = refused(cli, ["run", "firearm-scene", "--scene", "1", "--answers", str(answers)])
    with i18n.speaking("es"):
        said = i18n._("`{protocol}` has no item `{item}`; did you mean `{near}`?").format(
            protocol="firearm-scene", item="shown-clr", near="shown-clear"
        )
    assert said != english.split(": ", 1)[1] and spanish.endswith(said), spanish
    assert spanish.split(": ", 1)[0] == english.split(": ", 1)[0]  # file:line:col, the same


def test_counts_that_do_not_add_up_stop_work(cli: CliRunner, crewed: Path, tmp_path: Path) -> None:
    """PROTOCOL-FACTS: any count that does not add up is a hold. Six loaded, two fired, none
    unfired: four blanks are unaccounted for, whatever anyone answers to a yes/no about it."""
    answers = write_answers(
        tmp_path / "short.yaml",
        answers={"rounds-counted": 6, "rounds-fired": 2, "rounds-unfired": 0},
    )
    run_id, _ = start(cli, answers, expect=3)
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "rounds-unfired"
    # The hold names the counts in words, with their numbers, not the expression.
    assert hold["reason"].endswith(
        "does not add up: rounds counted 6 - rounds fired 2 = 4, but 0 counted (4 missing)"
    )


def test_the_wrap_count_adds_up_issued_returned_fired_and_spoiled(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    take = {"rounds-counted": 2, "rounds-fired": 1, "rounds-unfired": 1}
    good = {
        **take,
        "blanks-issued": 12,
        "blanks-returned": 0,
        "blanks-fired": 1,
        "blanks-spoiled": 11,
    }
    start(cli, write_answers(tmp_path / "ok.yaml", answers=good), expect=0)
    short = {**good, "blanks-spoiled": 0}
    run_id, _ = start(cli, write_answers(tmp_path / "short.yaml", answers=short), expect=3)
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "blanks-spoiled"
    assert "(11 missing)" in hold["reason"]


# --- what people read: role names, sittings, breaks, stop-work on the scene ---------------------


def test_correcting_a_held_run_says_to_clear_the_hold_before_resuming(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    # 2 firearms went out, 3 were typed before the scene: the count back at wrap holds.
    counts = {**ONE_TAKE_COUNTS, "firearms-issued": 3, "firearms-counted-back": 2}
    run_id, _ = start(cli, write_answers(tmp_path / "typo.yaml", answers=counts), expect=3)
    fix = ["correct", run_id, "firearms-issued", "--answer", "2", "--note", "typed 3 for 2"]
    out = invoke(cli, [*fix, "--pin-stdin"], input=CLEAR_PINS)
    assert out.exit_code == 0, out.output
    assert f"3, given by {ARMORER[0]} (armorer); corrected to 2" in out.stdout
    assert out.stdout.splitlines()[-1] == (
        f'Continue with: safetycli clear {run_id} --note "what was found and done", '
        f"then safetycli resume {run_id}"
    )
    # As it says: resume alone would only show the hold again.
    assert invoke(cli, ["resume", run_id, "--answers", str(tmp_path / "typo.yaml")]).exit_code == 3


def test_status_and_clear_say_roles_as_people_say_them(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id, _ = start(cli, write_answers(tmp_path / "p.yaml", drop=("meeting-covered",)), expect=4)
    # Who has signed in so far, in the order they did: the DP's first check (a take) has not
    # come up yet.
    assert status_text(cli).splitlines()[1] == (
        f"   signed in: {ARMORER[0]} (armorer), {FIRST_AD[0]} (1st AD), {ACTOR[0]} (actor)"
    )
    hold_run(cli, run_id, "smoke")
    typed = refused(cli, ["clear", run_id, "--note", "x", "--by", "dp=Jo Park", "--pin-stdin"])
    assert typed == "--by dp=...: a hold on this run is cleared by armorer and 1st AD, not by DP"
    cleared = invoke(cli, ["clear", run_id, "--note", "aired out", "--pin-stdin"], input=CLEAR_PINS)
    assert cleared.exit_code == 0, cleared.output
    assert f"Hold on run {run_id}: smoke (raised by {ACTOR[0]}, actor)" in cleared.stdout


def test_log_show_lists_each_signer_once_with_their_sittings_and_numbers_breaks(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    resume(cli, run_id, write_answers(tmp_path / "full.yaml"), expect=0)
    detail = log_show(cli, run_id)
    # Three people in the first sitting (the DP's checks had not come up), four in the second:
    # the JSON keeps every sign-in.
    assert len(detail["signed_in"]) == 7
    breaks = [s for s in detail["signoffs"] if s["phase"] == "after-break"]
    assert breaks and all(s["after_break"] and s["take"] == 1 for s in breaks)
    assert not any(s["after_break"] for s in detail["signoffs"] if s["phase"] != "after-break")

    shown = ok(cli, ["log", "show", run_id]).stdout
    assert "after-break break 1 · " in shown and "after-break take" not in shown
    (roll_call,) = [line for line in shown.splitlines() if line.startswith("Roll call: ")]
    assert roll_call == (
        f"Roll call: {ARMORER[0]} (armorer, 2 sittings); {FIRST_AD[0]} (1st AD, 2 sittings); "
        f"{ACTOR[0]} (actor, 2 sittings); {DP[0]} (DP)"
    )
    report = ok(cli, ["report", "--day", DAY]).stdout
    assert (
        f"Signed in: {ARMORER[0]} (armorer, 2 sittings); {FIRST_AD[0]} (1st AD, 2 sittings); "
        f"{ACTOR[0]} (actor, 2 sittings); {DP[0]} (DP)\n"
    ) in report


def test_log_show_tells_of_a_stop_work_on_the_runs_scene(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    hold_scene(cli, "12a", "smell of smoke", by="A Visitor")
    hold_scene(cli, "14", "not this scene", by="A Visitor")
    held = [r for r in log_list(cli) if r["id"] == run_id]
    assert held[0]["scene_held"] is True
    clear_scene(cli, "12A", "no fire found")
    resume(cli, run_id, write_answers(tmp_path / "full.yaml"), expect=0)

    detail = log_show(cli, run_id)
    ((stop,),) = [detail["scene_holds"]]
    assert (stop["scene"], stop["reason"]) == ("12A", "smell of smoke")
    assert (stop["note"], stop["authenticated"]) == ("no fire found", False)
    assert [e["kind"] for e in detail["timeline"]].count("scene.held") == 1
    shown = ok(cli, ["log", "show", run_id]).stdout
    raised = "STOP-WORK on scene 12A by A Visitor (no PIN): smell of smoke"
    cleared = (
        f"STOP-WORK on scene 12A cleared by {ARMORER[0]} (armorer), {FIRST_AD[0]} (1st AD): "
        "no fire found · work stopped "
    )
    assert raised in shown and cleared in shown and "not this scene" not in shown
    assert (
        shown.index("meeting-attendance")
        < shown.index(raised)
        < shown.index(cleared)
        < shown.index("resumed: a new sitting")
    )
