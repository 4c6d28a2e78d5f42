"""Issue 10, items 4, 6, 7 (PIN resets) and 8: each attack reproduced, and now refused, caught or
shown. The parallel guessing attack is in test_lockout_parallel.py."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetycli import crew
from safetycli.ledger import Ledger
from safetycli.render import safe
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    FIRST_AD,
    PRODUCER,
    invoke,
    log_show,
    refused,
    start,
    write_answers,
)

RLO = "\u202e"  # right-to-left override: turns the rest of the line around
CODE = re.compile(r"Recovery code \(shown once[^)]*\): ([A-Z0-9-]+)")


def events_of(home: Path, kind: str) -> list[dict[str, object]]:
    with Ledger.open(home / "log.db") as ledger:
        return [e.data for e in ledger.events(kinds=[kind])]


def clear(cli: CliRunner, run_id: str) -> None:
    """The armorer and the 1st AD clear the run's hold, each with their PIN."""
    args = ["clear", run_id, "--note", "aired out", "--pin-stdin"]
    result = invoke(cli, args, f"{ARMORER[1]}\n{FIRST_AD[1]}\n")
    assert result.exit_code == 0, result.output


def open_run(cli: CliRunner, tmp_path: Path) -> str:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4)
    return run_id


# --- item 4: the last producer locked out or lost -------------------------------------------------


def test_init_prints_a_recovery_code_that_re_pins_a_locked_only_producer(
    cli: CliRunner, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    out = invoke(cli, ["init", "--home", str(ws)]).stdout
    (code,) = CODE.findall(out)
    home = ["--home", str(ws)]
    first = invoke(
        cli, ["crew", "add", "Pat Morgan", "--role", "producer", "--pin-stdin", *home], "4821\n"
    )
    assert "is the only producer" in first.stderr
    # Anyone types five wrong PINs for the only producer: nobody could approve anything again.
    for _ in range(5):
        invoke(cli, ["crew", "unlock", "Pat Morgan", "--pin-stdin", *home], "0000\n")
        invoke(cli, ["crew", "add", "X Y", "--role", "actor", "--pin-stdin", *home], "2468\n0000\n")
    with Ledger.open(ws / "log.db") as ledger:
        assert crew.find(ledger, "Pat Morgan").locked
    assert (
        refused(
            cli,
            [
                "crew",
                "recover",
                "Pat Morgan",
                "--code",
                "AAAA-BBBB-CCCC-DDDD",
                "--pin-stdin",
                *home,
            ],
            "2580\n",
        )
        == "wrong recovery code: nothing was changed (the attempt is recorded)"
    )
    done = invoke(
        cli,
        ["crew", "recover", "pat morgan", "--code", code.lower(), "--pin-stdin", *home],
        "2580\n",
    )
    assert done.exit_code == 0, done.output
    (next_code,) = CODE.findall(done.stdout)
    assert next_code != code
    with Ledger.open(ws / "log.db") as ledger:
        assert not crew.find(ledger, "Pat Morgan").locked
        crew.authenticate(ledger, "Pat Morgan", "2580", role="producer", purpose="test")
        (used,) = list(ledger.events(kinds=["crew.recovered"]))
        assert used.data["name"] == "Pat Morgan"
        assert [e.data["why"] for e in ledger.events(kinds=["recovery.set"])] == ["init", "used"]
        assert ledger.verify().ok
    # A code works once.
    assert (
        refused(
            cli, ["crew", "recover", "Pat Morgan", "--code", code, "--pin-stdin", *home], "3690\n"
        )
        == "wrong recovery code: nothing was changed (the attempt is recorded)"
    )
    assert "wrong-recovery-code" in {e["reason"] for e in events_of(ws, "auth.failed")}


def test_the_recovery_code_is_for_producers_and_a_producer_can_replace_it(
    cli: CliRunner, crewed: Path
) -> None:
    assert refused(
        cli, ["crew", "recover", ARMORER[0], "--code", "x", "--pin-stdin"], "2580\n"
    ).startswith(f"{ARMORER[0]} is not a producer")
    out = invoke(cli, ["crew", "recovery-code", "--pin-stdin"], f"{PRODUCER[1]}\n")
    assert out.exit_code == 0, out.output
    (code,) = CODE.findall(out.stdout)
    done = invoke(cli, ["crew", "recover", PRODUCER[0], "--code", code, "--pin-stdin"], "2580\n")
    assert done.exit_code == 0, done.output


def test_one_producer_is_warned_about_until_there_are_two(cli: CliRunner, crewed: Path) -> None:
    warning = f"warning: {PRODUCER[0]} is the only producer: add a second one"
    assert invoke(cli, ["crew", "list"]).stderr.startswith(warning)
    assert invoke(cli, ["status"]).stderr.startswith(warning)
    added = invoke(
        cli,
        ["crew", "add", "Lee Kim", "--role", "producer", "--pin-stdin"],
        f"3690\n{PRODUCER[1]}\n",
    )
    assert added.exit_code == 0, added.output
    assert "only producer" not in added.stderr
    assert invoke(cli, ["crew", "list"]).stderr == ""
    assert invoke(cli, ["status"]).stderr == ""


# --- item 6: stop-work never needs a PIN ----------------------------------------------------------


def test_someone_off_the_roster_stops_work_without_a_pin(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = open_run(cli, tmp_path)
    result = invoke(cli, ["hold", run_id, "--reason", "smell of smoke", "--by", "A Visitor"])
    assert result.exit_code == 0, result.output
    assert "Raised by: A Visitor (not on the roster), without a PIN" in result.stdout
    detail = log_show(cli, run_id)
    assert detail["status"] == "held"
    (hold,) = detail["holds"]
    assert hold["raised_by"] == {"name": "A Visitor", "role": None}
    assert hold["authenticated"] is False
    (raised,) = events_of(crewed, "hold.raised")
    assert raised["authenticated"] is False
    # The producer's report says the hold was raised without a PIN (md and html).
    day = detail["day"]
    md = invoke(cli, ["report", "--day", day]).stdout
    assert "A Visitor (no PIN)" in md
    html = invoke(cli, ["report", "--day", day, "--format", "html"]).stdout
    assert "A Visitor (no PIN)" in html
    # Clearing still needs the protocol's roles, each with a PIN.
    assert refused(
        cli, ["clear", run_id, "--note", "aired out", "--pin-stdin"], f"{ARMORER[1]}\n0000\n"
    ).startswith(f"wrong PIN for {FIRST_AD[0]}")
    clear(cli, run_id)


def test_a_locked_out_member_and_a_wrong_pin_still_stop_work(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = open_run(cli, tmp_path)
    wrong = invoke(
        cli, ["hold", run_id, "--reason", "smoke", "--by", ACTOR[0], "--pin-stdin"], "0000\n"
    )
    assert wrong.exit_code == 0, wrong.output
    assert "the hold is recorded as not PIN-checked" in wrong.stderr
    assert log_show(cli, run_id)["holds"][0]["authenticated"] is False
    clear(cli, run_id)

    with Ledger.open(crewed / "log.db") as ledger:
        for _ in range(5):
            with pytest.raises(crew.AuthError):
                crew.authenticate(ledger, ACTOR[0], "0000", role=None, purpose="test")
    locked = invoke(cli, ["hold", run_id, "--reason", "again", "--by", ACTOR[0], "--pin-stdin"], "")
    assert locked.exit_code == 0, locked.output
    assert f"{ACTOR[0]} is locked out" in locked.stderr
    holds = log_show(cli, run_id)["holds"]
    assert [h["authenticated"] for h in holds] == [False, False]


def test_a_pin_given_with_a_hold_proves_who_stopped_work(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = open_run(cli, tmp_path)
    proven = invoke(
        cli, ["hold", run_id, "--reason", "smoke", "--by", ACTOR[0], "--pin-stdin"], f"{ACTOR[1]}\n"
    )
    assert proven.exit_code == 0, proven.output
    assert log_show(cli, run_id)["holds"][0]["authenticated"] is True
    clear(cli, run_id)
    # At the keyboard, Enter skips the PIN.
    skipped = invoke(cli, ["hold", run_id, "--reason", "again"], f"{ACTOR[0]}\n\n")
    assert skipped.exit_code == 0, skipped.output
    assert "(Enter to skip)" in skipped.output
    assert log_show(cli, run_id)["holds"][1]["authenticated"] is False


# --- item 7 (part): one producer alone cannot reset someone's PIN ---------------------------------


def test_a_producer_reset_needs_the_old_pin_or_a_second_producer(
    cli: CliRunner, crewed: Path
) -> None:
    args = ["crew", "set-pin", ARMORER[0], "--approve-by", PRODUCER[0], "--pin-stdin"]
    # The attack: the producer types a new PIN and their own, nothing else: refused now.
    assert refused(cli, args, f"2580\n{PRODUCER[1]}\n") == (
        f"--pin-stdin: expected the current PIN ({ARMORER[0]}) on line 3 of stdin"
    )
    assert events_of(crewed, "crew.pin-set") == []
    assert invoke(cli, args, f"2580\n{PRODUCER[1]}\n{ARMORER[1]}\n").exit_code == 0
    (reset,) = events_of(crewed, "crew.pin-set")
    assert (reset["name"], reset["by"], reset["confirmed_by"]) == (
        ARMORER[0],
        PRODUCER[0],
        ARMORER[0],
    )

    invoke(
        cli,
        ["crew", "add", "Lee Kim", "--role", "producer", "--pin-stdin"],
        f"3690\n{PRODUCER[1]}\n",
    )
    two = [*args, "--second-producer", "Lee Kim"]
    assert invoke(cli, two, f"1357\n{PRODUCER[1]}\n3690\n").exit_code == 0
    reset = events_of(crewed, "crew.pin-set")[-1]
    assert (reset["by"], reset["confirmed_by"]) == (PRODUCER[0], "Lee Kim")
    same = [*args, "--second-producer", PRODUCER[0]]
    assert (
        refused(cli, same, "1357\n")
        == "the second producer must be someone other than the approving one"
    )
    with Ledger.open(crewed / "log.db") as ledger:
        with pytest.raises(crew.SafetyError, match="a second producer"):
            crew.set_pin(ledger, ARMORER[0], "9753", approver=PRODUCER)


# --- item 8: text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\u200b", "\u200f", "\u202a", RLO, "\u2066", "\u2069"])
def test_every_output_helper_shows_invisible_format_characters(char: str) -> None:
    code = f"\\u{ord(char):04x}"
    text = f"ok{char}done"
    for shown in (safe.visible(text), safe.one_line(text), safe.markup(text), safe.md(text)):
        assert char not in shown and code in shown
    assert code in str(safe.csv_cell(text))
    assert json.loads(safe.json_text(json.dumps(text, ensure_ascii=False))) == text
    assert char not in safe.json_text(json.dumps(text, ensure_ascii=False))


def test_a_right_to_left_override_is_shown_in_every_format(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    reason = f"smoke {RLO}tes no"
    run_id = open_run(cli, tmp_path)
    held = invoke(
        cli, ["hold", run_id, "--reason", reason, "--by", ACTOR[0], "--pin-stdin"], f"{ACTOR[1]}\n"
    )
    assert "\\u202e" in held.stdout and RLO not in held.stdout  # the HOLD panel
    for args in (
        ["log", "show", run_id],
        ["log", "show", run_id, "--format", "json"],
        ["report", "--day", "2026-11-23", "--format", "md"],
        ["report", "--day", "2026-11-23", "--format", "html"],
        ["report", "--day", "2026-11-23", "--format", "csv"],
        ["report", "--day", "2026-11-23", "--format", "json"],
        ["status"],
        ["status", "--format", "json"],
    ):
        out = invoke(cli, args).stdout
        assert RLO not in out, args
        assert "\\u202e" in out, args
    report = json.loads(invoke(cli, ["report", "--day", "2026-11-23", "--format", "json"]).stdout)
    assert reason in json.dumps(report, ensure_ascii=False)  # the data itself is kept as typed
    rows = list(
        csv.reader(
            io.StringIO(invoke(cli, ["report", "--day", "2026-11-23", "--format", "csv"]).stdout)
        )
    )
    assert any("\\u202e" in cell for row in rows for cell in row)


@pytest.mark.parametrize(
    "look_alike",
    [
        "\u0405am Ortiz",
        "Sam \u041ertiz",
        "S\u0430m Ortiz",
        "Sam Ort\u0456z",
        "S\u03b1m Ortiz",
        "Sàm Ortiz",
        "Sam 0rtiz",
    ],
)
def test_a_look_alike_of_a_member_is_refused(cli: CliRunner, crewed: Path, look_alike: str) -> None:
    message = refused(
        cli, ["crew", "add", look_alike, "--role", "actor", "--pin-stdin"], f"2468\n{PRODUCER[1]}\n"
    )
    assert message.startswith(f"`{look_alike}` looks like {ARMORER[0]}, already on the roster")
    assert "tell the two apart" in message


def test_a_different_name_is_not_a_look_alike(cli: CliRunner, crewed: Path) -> None:
    result = invoke(
        cli,
        ["crew", "add", "Sam Ortega", "--role", "actor", "--pin-stdin"],
        f"2468\n{PRODUCER[1]}\n",
    )
    assert result.exit_code == 0, result.output


def test_reasons_notes_and_written_answers_are_capped(
    cli: CliRunner, crewed: Path, tmp_path: Path
) -> None:
    run_id = open_run(cli, tmp_path)
    long_reason = "x" * 700
    held = invoke(cli, ["hold", run_id, "--reason", long_reason, "--by", "A Visitor"])
    assert held.exit_code == 0, held.output  # stop-work is never refused for its wording
    assert "The reason was cut to 500 characters." in held.stderr
    (hold,) = log_show(cli, run_id)["holds"]
    assert len(hold["reason"]) == 500
    assert (
        refused(
            cli,
            ["clear", run_id, "--note", "n" * 501, "--pin-stdin"],
            f"{ARMORER[1]}\n{FIRST_AD[1]}\n",
        )
        == "a note can be at most 500 characters (this one has 501): say it shorter"
    )
    from safetycli.protocol import Item
    from safetycli.runner import check_answer

    item = Item(id="notes", ask="Notes?", kind="text", by="armorer", why="test")
    assert check_answer(item, "y" * 2000) == "y" * 2000
    with pytest.raises(crew.SafetyError) as err:
        check_answer(item, "y" * 2001)
    assert err.value.message == (
        "the answer to `notes` can be at most 2000 characters (this one has 2001): say it shorter"
    )
