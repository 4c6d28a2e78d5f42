"""The armory (issue 12): inventory, custody of every firearm and round, dummy checks by lot,
permits and training cards. Driven through the CLI as an armorer would, with `--pin-stdin`; the
fold is checked against a full replay of the log."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli import armory, crew, qualifications
from safetycli.events import ARMORY_KINDS, AUTH_ATTEMPT, AUTH_OK, CREW_QUALIFIED
from safetycli.ledger import Ledger
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    DP,
    FIRST_AD,
    PRODUCER,
    invoke,
    ok,
    refused,
    start,
    write_answers,
)

VALID = "2030-12-31"
PIN = f"{ARMORER[1]}\n"


def _qualify(home: Path, name: str, kind: str, expires: str = VALID) -> None:
    with Ledger.open(home / "log.db") as ledger:
        crew.qualify(ledger, name, kind, f"{kind[:3].upper()}-{len(name)}", expires, PRODUCER)


def _listing(cli: CliRunner) -> dict[str, Any]:
    return json.loads(ok(cli, ["armory", "list", "--format", "json"]).stdout)  # type: ignore[no-any-return]


def _firearm(cli: CliRunner, serial: str) -> dict[str, Any]:
    return next(f for f in _listing(cli)["firearms"] if f["serial"] == serial)


def _lot(cli: CliRunner, lot: str) -> dict[str, Any]:
    return next(x for x in _listing(cli)["lots"] if x["lot"] == lot)


def _events(home: Path) -> list[Any]:
    with Ledger.open(home / "log.db") as ledger:
        return list(ledger.events())


def armorer(cli: CliRunner, *args: str) -> None:
    """An armory command signed by the armorer, PIN on stdin."""
    ok(cli, ["armory", *args, "--pin-stdin"], input=PIN)


def hand_over(cli: CliRunner, serial: str, to: tuple[str, str]) -> None:
    ok(
        cli,
        ["armory", "hand-over", serial, "--to", to[0], "--pin-stdin"],
        input=f"{ARMORER[1]}\n{to[1]}\n",
    )


@pytest.fixture
def stocked(crewed: Path, cli: CliRunner) -> Path:
    """Permits and cards in force, two firearms and two lots in the inventory, storage open."""
    _qualify(crewed, ARMORER[0], "armorer-permit")
    for person in (ACTOR, DP):
        _qualify(crewed, person[0], "safety-course")
    armorer(cli, *"add firearm --serial 4471 --make Colt --model SAA --kind real".split())
    armorer(cli, *"add firearm --serial B88120 --make Beretta --model 92 --kind".split(), "replica")
    armorer(cli, *"add rounds --lot B-7 --type blank --load half --count 50".split())
    armorer(cli, "add", "rounds", "--lot", "D-1", "--type", "dummy", "--count", "30")
    armorer(cli, "unlock", "--key-holder", ARMORER[0], "--key-holder", PRODUCER[0])
    return crewed


def _open_run(cli: CliRunner, tmp_path: Path, scene: str) -> str:
    partial = write_answers(tmp_path / f"partial-{scene}.yaml", drop=("meeting-covered",))
    run_id, _ = start(cli, partial, expect=4, scene=scene)
    return run_id


# --- the issue's "how we will know" ------------------------------------------------------------


def test_a_firearm_issued_to_two_open_runs_at_once_is_refused(
    cli: CliRunner, stocked: Path, tmp_path: Path
) -> None:
    first, second = _open_run(cli, tmp_path, "12A"), _open_run(cli, tmp_path, "14B")
    armorer(cli, "issue", "4471", "--run", first)
    message = refused(cli, ["armory", "issue", "4471", "--run", second, "--pin-stdin"], PIN)
    assert "4471" in message and "already out" in message and first in message
    assert _firearm(cli, "4471") == {
        **_firearm(cli, "4471"),
        "where": "armorer",
        "holder": ARMORER[0],
        "run": first,
    }


def test_a_hand_over_and_take_back_are_said_in_the_readers_language(
    cli: CliRunner, stocked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a Spanish laptop the actor confirms receipt and everyone reads the hand-over in
    Spanish; the custody recorded is the same as in English."""
    from safetycli import i18n

    armorer(cli, "issue", "4471")
    monkeypatch.setenv(i18n.ENV, "es")
    args = ["armory", "hand-over", "4471", "--to", ACTOR[0], "--pin-stdin"]
    handed = ok(cli, args, input=f"{ARMORER[1]}\n{ACTOR[1]}\n").stdout
    back = ok(cli, ["armory", "take-back", "4471", "--pin-stdin"], input=PIN).stdout
    with i18n.speaking("es"):
        handed_words = i18n._("Firearm {serial} handed to {receiver} by {armorer} at {at}.")
        back_words = i18n._("Firearm {serial} back with the armorer {armorer} at {at}.")
    assert handed_words.startswith("Arma") and back_words.startswith("Arma")
    assert handed_words.split("{receiver}")[0].format(serial="4471") + ACTOR[0] in handed
    assert back_words.split("{armorer}")[0].format(serial="4471") + ARMORER[0] in back
    assert "handed to" not in handed and "back with" not in back
    assert _firearm(cli, "4471")["holder"] == ARMORER[0]  # the custody is the same as in English


def test_a_firearm_handed_to_someone_cannot_be_handed_to_another(
    cli: CliRunner, stocked: Path
) -> None:
    armorer(cli, "issue", "4471")
    hand_over(cli, "4471", ACTOR)
    args = ["armory", "hand-over", "4471", "--to", DP[0], "--pin-stdin"]
    message = refused(cli, args, f"{ARMORER[1]}\n{DP[1]}\n")
    assert f"with {ACTOR[0]}" in message and "take-back" in message
    assert _firearm(cli, "4471")["holder"] == ACTOR[0]
    # Back from the actor first; then it may go to the DP.
    armorer(cli, "take-back", "4471")
    hand_over(cli, "4471", DP)
    assert _firearm(cli, "4471")["holder"] == DP[0]


def test_a_hand_over_signed_by_anyone_but_the_armorer_is_refused_before_any_pin(
    cli: CliRunner, stocked: Path
) -> None:
    armorer(cli, "issue", "4471")
    before = len(_events(stocked))
    args = ["armory", "hand-over", "4471", "--to", ACTOR[0], "--by", FIRST_AD[0], "--pin-stdin"]
    message = refused(cli, args, f"{FIRST_AD[1]}\n{ACTOR[1]}\n")
    assert FIRST_AD[0] in message and "armorer" in message
    assert len(_events(stocked)) == before  # not even a PIN try was recorded
    assert _firearm(cli, "4471")["where"] == "armorer"


def test_an_expired_armorer_permit_is_refused(
    cli: CliRunner, stocked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(qualifications, "today", lambda: "2031-01-05")
    message = refused(cli, ["armory", "issue", "4471", "--pin-stdin"], PIN)
    assert "expired on 2030-12-31" in message and ARMORER[0] in message
    assert _firearm(cli, "4471")["where"] == "locked"
    # A renewal, approved by a producer, lets the armorer sign again.
    with Ledger.open(stocked / "log.db") as ledger:
        crew.qualify(ledger, ARMORER[0], "armorer-permit", "P-2", "2032-06-30", PRODUCER)
    armorer(cli, "issue", "4471")


def test_an_armorer_without_a_permit_cannot_sign(cli: CliRunner, crewed: Path) -> None:
    args = ["armory", "add", "firearm", "--serial", "1", "--make", "Colt", "--model", "SAA"]
    message = refused(cli, [*args, "--kind", "real", "--pin-stdin"], PIN)
    assert "no armorer's permit" in message and "crew qualify" in message


def test_do_not_transfer_to_someone_whose_safety_course_expired_or_is_missing(
    cli: CliRunner, stocked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    armorer(cli, "issue", "4471")
    args = ["armory", "hand-over", "4471", "--to", FIRST_AD[0], "--pin-stdin"]
    message = refused(cli, args, f"{ARMORER[1]}\n{FIRST_AD[1]}\n")
    assert message.startswith("do not transfer") and FIRST_AD[0] in message
    with Ledger.open(stocked / "log.db") as ledger:
        crew.qualify(ledger, ARMORER[0], "armorer-permit", "P-2", "2032-06-30", PRODUCER)
        crew.qualify(ledger, ACTOR[0], "safety-course", "C-1", "2031-01-31", PRODUCER)
    monkeypatch.setattr(qualifications, "today", lambda: "2031-02-01")
    args = ["armory", "hand-over", "4471", "--to", ACTOR[0], "--pin-stdin"]
    message = refused(cli, args, f"{ARMORER[1]}\n{ACTOR[1]}\n")
    assert message.startswith("do not transfer") and "expired on 2031-01-31" in message
    assert _firearm(cli, "4471")["where"] == "armorer"


def test_issued_12_fired_6_and_5_returned_0_is_one_round_unaccounted_for(
    cli: CliRunner, stocked: Path
) -> None:
    armorer(cli, "rounds", "issue", "--lot", "B-7", "--count", "12")
    armorer(cli, "rounds", "fire", "--lot", "B-7", "--count", "6")
    armorer(cli, "rounds", "fire", "--lot", "B-7", "--count", "5")
    assert _lot(cli, "B-7") | {"on_hand": 38, "out": 1} == _lot(cli, "B-7")
    result = invoke(cli, ["armory", "reconcile", "--format", "json"])
    assert result.exit_code == 1
    gaps = [g for g in json.loads(result.stdout)["gaps"] if g["what"] == "lot"]
    assert [(g["subject"], g["text"].endswith("1 round unaccounted for")) for g in gaps] == [
        ("B-7", True)
    ]
    shown = ok(cli, ["armory", "show", "B-7"]).stdout
    assert "1 round unaccounted for" in shown
    # Found in the armorer's case and returned: everything adds up.
    armorer(cli, "rounds", "return", "--lot", "B-7", "--count", "1")
    armorer(cli, "lock")
    assert ok(cli, ["armory", "reconcile"]).stdout.startswith("Everything is accounted for")


def test_a_run_counts_its_own_rounds(cli: CliRunner, stocked: Path, tmp_path: Path) -> None:
    run_id = _open_run(cli, tmp_path, "12A")
    armorer(cli, "rounds", "issue", "--lot", "B-7", "--count", "12", "--run", run_id)
    armorer(cli, "rounds", "issue", "--lot", "B-7", "--count", "4")
    armorer(cli, "rounds", "fire", "--lot", "B-7", "--count", "12", "--run", run_id)
    # The run's rounds are all fired; the four for the day are still out.
    assert ok(cli, ["armory", "reconcile", "--run", run_id]).stdout.startswith("Everything")
    fire = [*"armory rounds fire --lot B-7 --count 1 --pin-stdin --run".split(), run_id]
    message = refused(cli, fire, PIN)
    assert "0 rounds out for run" in message


# --- impossible custody, refused in one line before any PIN ------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["rounds", "return", "--lot", "B-7", "--count", "1"], "0 rounds out"),
        (["rounds", "issue", "--lot", "B-7", "--count", "0"], "1 or more"),
        (["rounds", "issue", "--lot", "B-7", "--count", "-3"], "1 or more"),
        (["rounds", "issue", "--lot", "B-7", "--count", "51"], "50 rounds in storage"),
        (["rounds", "spoil", "--lot", "nope", "--count", "1"], "no lot nope"),
        (["hand-over", "4471", "--to", ACTOR[0]], "locked in storage"),
        (["take-back", "4471"], "not in anyone's hands"),
        (["return", "4471"], "already in storage"),
        (["issue", "9999"], "no firearm with serial 9999"),
        (["unlock"], "already unlocked"),
        (["check-dummies", "--lot", "B-7", "--method", "rattle"], "only dummies"),
        (["check-dummies", "--lot", "D-1", "--method", "sniff"], "--method"),
        (["add", "rounds", "--lot", "B-9", "--type", "blank", "--count", "5"], "--load"),
        (["add", "rounds", "--lot", "D-1", "--type", "dummy", "--count", "5"], "already"),
        ([*"add firearm --make X --model Y --kind real --serial".split(), "4 471"], "already in"),
    ],
)
def test_impossible_custody_is_one_line_and_asks_no_pin(
    cli: CliRunner, stocked: Path, args: list[str], words: str
) -> None:
    before = len(_events(stocked))
    message = refused(cli, ["armory", *args, "--pin-stdin"], "")  # no PIN on stdin at all
    assert words in message
    assert len(_events(stocked)) == before


def test_the_storage_must_be_open_to_take_anything_out(cli: CliRunner, stocked: Path) -> None:
    armorer(cli, "issue", "4471")
    result = ok(cli, ["armory", "lock", "--pin-stdin"], PIN)
    assert "Still out: firearm 4471 is not back in storage" in result.stdout
    message = refused(cli, ["armory", "issue", "B88120", "--pin-stdin"], PIN)
    assert "storage is locked" in message


def test_live_ammunition_is_refused(cli: CliRunner, stocked: Path) -> None:
    for word in ("live", "LIVE", "ball"):
        args = ["armory", "add", "rounds", "--lot", "L-1", "--type", word, "--count", "5"]
        message = refused(cli, [*args, "--pin-stdin"], PIN)
        assert "live ammunition" in message and "incident" in message
    assert "L-1" not in [x["lot"] for x in _listing(cli)["lots"]]


def test_a_dummy_lot_not_checked_today_is_not_issued(cli: CliRunner, stocked: Path) -> None:
    issue = ["armory", "rounds", "issue", "--lot", "D-1", "--count", "6", "--pin-stdin"]
    message = refused(cli, issue, PIN)
    assert "not been checked today" in message and "check-dummies" in message
    # Checked for yesterday's (night) shoot: still not today's check.
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    armorer(cli, "check-dummies", "--lot", "D-1", "--method", "rattle", "--day", yesterday)
    assert "not been checked today" in refused(cli, issue, PIN)
    armorer(cli, "check-dummies", "--lot", "D-1", "--method", "rattle", "--method", "primer")
    ok(cli, issue, PIN)
    shown = json.loads(ok(cli, ["armory", "show", "D-1", "--format", "json"]).stdout)
    assert [(c["day"], c["methods"], c["by"]) for c in shown["checks"]] == [
        (yesterday, ["rattle"], ARMORER[0]),
        (date.today().isoformat(), ["rattle", "primer"], ARMORER[0]),
    ]
    # A check cannot be dated into the past.
    old = ["check-dummies", "--lot", "D-1", "--method", "rattle", "--day", "2020-01-01"]
    assert "--day 2020-01-01" in refused(cli, ["armory", *old, "--pin-stdin"], PIN)


# --- what the outside relies on -----------------------------------------------------------------


def test_armory_list_json_keys(cli: CliRunner, stocked: Path) -> None:
    armorer(cli, "issue", "4471")
    hand_over(cli, "4471", ACTOR)
    listing = _listing(cli)
    assert set(listing) >= {"firearms", "lots"}
    by_serial = {f["serial"]: f for f in listing["firearms"]}
    for firearm in by_serial.values():
        assert {"serial", "kind", "where", "holder", "run"} <= set(firearm)
        assert firearm["where"] in ("locked", "armorer", "issued")
    assert {k: by_serial["4471"][k] for k in ("kind", "where", "holder", "run")} == {
        "kind": "real",
        "where": "issued",
        "holder": ACTOR[0],
        "run": None,
    }
    assert {k: by_serial["B88120"][k] for k in ("where", "holder")} == {
        "where": "locked",
        "holder": None,
    }
    for lot in listing["lots"]:
        assert {"lot", "type", "on_hand", "out"} <= set(lot)
    assert {(x["lot"], x["type"], x["on_hand"], x["out"]) for x in listing["lots"]} == {
        ("B-7", "blank", 50, 0),
        ("D-1", "dummy", 30, 0),
    }
    csv_text = ok(cli, ["armory", "list", "--format", "csv"]).stdout
    assert csv_text.splitlines()[0] == "what,id,kind,where,holder,run,on_hand,out"


def test_show_says_who_had_a_firearm_when(cli: CliRunner, stocked: Path) -> None:
    armorer(cli, "issue", "4471")
    hand_over(cli, "4471", ACTOR)
    armorer(cli, "take-back", "4471")
    armorer(cli, "return", "4471")
    shown = json.loads(ok(cli, ["armory", "show", "4471", "--format", "json"]).stdout)
    spans = shown["custody"]
    assert [(s["where"], s["holder"]) for s in spans] == [
        ("locked", None),
        ("armorer", ARMORER[0]),
        ("issued", ACTOR[0]),
        ("armorer", ARMORER[0]),
        ("locked", None),
    ]
    assert all(a["until"] == b["from"] for a, b in zip(spans, spans[1:], strict=False))
    assert spans[-1]["until"] is None
    text = ok(cli, ["armory", "show", "4471"]).stdout
    assert f"issued\t{ACTOR[0]}" in text and " UTC" in text  # times shown plainly, in UTC
    assert "no firearm or lot called" in refused(cli, ["armory", "show", "nope"])


def test_each_custody_event_is_written_with_the_pins_that_approved_it(
    cli: CliRunner, stocked: Path
) -> None:
    armorer(cli, "issue", "4471")
    hand_over(cli, "4471", ACTOR)
    events = _events(stocked)
    for n, event in enumerate(events):
        if event.kind not in ARMORY_KINDS:
            continue
        before = events[n - 1]
        assert before.kind == AUTH_OK, event.kind
        if event.kind == "armory.handed-over":
            assert [e.data["name"] for e in events[n - 2 : n]] == [ARMORER[0], ACTOR[0]]
        else:
            assert before.data["name"] == ARMORER[0]
    # No PIN try is left pending (it would count as a wrong PIN towards a lock-out).
    tries = [e.seq for e in events if e.kind == AUTH_ATTEMPT]
    settled = {e.data.get("attempt") for e in events if e.kind == AUTH_OK}
    assert set(tries) <= settled
    assert invoke(cli, ["verify"]).exit_code == 0


def test_a_change_made_meanwhile_on_another_laptop_wins_and_the_pins_are_settled(
    cli: CliRunner, stocked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the check and the write (while the PINs were typed), the same firearm was issued
    elsewhere: nothing is recorded twice, and the armorer's PIN try is settled, not pending."""
    from safetycli.cli import armory_cmd

    real = armory_cmd._proofs

    def slow_typist(ledger: Ledger, people: Any, pin_stdin: bool) -> Any:
        proofs = real(ledger, people, pin_stdin)
        with Ledger.open(stocked / "log.db") as other:
            state = armory.load(other)
            other.append_many([e.new() for e in armory.issue(state, ["4471"], ARMORER[0], None)])
        return proofs

    monkeypatch.setattr(armory_cmd, "_proofs", slow_typist)
    message = refused(cli, ["armory", "issue", "4471", "--pin-stdin"], PIN)
    assert message.startswith("nothing was recorded") and "already out" in message
    events = _events(stocked)
    assert [e.kind for e in events].count("armory.issued") == 1
    tries = [e.seq for e in events if e.kind == AUTH_ATTEMPT]
    assert set(tries) <= {e.data.get("attempt") for e in events if e.kind == AUTH_OK}


def test_a_qualification_nobody_approved_does_not_verify(cli: CliRunner, crewed: Path) -> None:
    """Written straight into the log (no producer's PIN in its transaction): verify names it,
    and the roster it belongs to is refused."""
    with Ledger.open(crewed / "log.db") as ledger:
        ledger.append(
            CREW_QUALIFIED,
            {
                "name": ARMORER[0],
                "by": PRODUCER[0],
                "qualification": "armorer-permit",
                "number": "FORGED",
                "expires": VALID,
            },
            person=ARMORER[0],
        )
    result = invoke(cli, ["verify"])
    assert result.exit_code == 1 and "crew.qualified" in result.output
    # verify's verdict stands (its ALARM line first), and the roster is refused all the same.
    result = invoke(cli, ["armory", "unlock", "--pin-stdin"], PIN)
    alarm, refusal = result.stderr.splitlines()
    assert result.exit_code == 2 and alarm.startswith("ALARM: ")
    assert refusal.startswith("error: ") and "does not verify" in refusal


@pytest.mark.slow
def test_the_armorer_is_asked_for_their_pin_in_their_language_at_a_terminal(
    cli: CliRunner, stocked: Path
) -> None:
    """At a real terminal on a Spanish laptop the armorer reads what their PIN signs in
    Spanish, and the firearm is issued as in English."""
    import pexpect

    from safetycli import i18n
    from safetycli.roles import spoken
    from tests.walk_helpers import safetycli_argv, subprocess_env

    with i18n.speaking("es"):
        prompt = i18n._("{name} ({role}), your PIN to issue {serials}").format(
            name=ARMORER[0], role=spoken("armorer"), serials="4471"
        )
    assert "su PIN" in prompt
    argv = safetycli_argv()
    child = pexpect.spawn(
        argv[0],
        [*argv[1:], "armory", "issue", "4471"],
        env={**subprocess_env(stocked), i18n.ENV: "es"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
    )
    child.expect_exact(prompt)
    child.waitnoecho(timeout=5)
    child.sendline(ARMORER[1])
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert _firearm(cli, "4471")["where"] == "armorer"  # issued, as in English


def test_crew_qualify_says_what_it_recorded_in_the_readers_language(
    cli: CliRunner, crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetycli import i18n

    monkeypatch.setenv(i18n.ENV, "es")
    args = ["crew", "qualify", ACTOR[0], "--kind", "safety-course", "--id", "C-77"]
    said = ok(cli, [*args, "--expires", VALID, "--pin-stdin"], f"{PRODUCER[1]}\n").stdout
    with i18n.speaking("es"):
        expected = i18n._(
            "Recorded the firearms safety course card {number} of {name}, valid through {expires}."
        ).format(number="C-77", name=ACTOR[0], expires=VALID)
    assert expected.startswith("Registrada") and expected in said


def test_crew_qualify_needs_a_producer_and_a_date_ahead(cli: CliRunner, crewed: Path) -> None:
    args = ["crew", "qualify", ACTOR[0], "--kind", "safety-course", "--id", "C-77"]
    past = refused(cli, [*args, "--expires", "2020-01-01", "--pin-stdin"], f"{PRODUCER[1]}\n")
    assert "expired on 2020-01-01" in past
    assert "not a date" in refused(cli, [*args, "--expires", "soon", "--pin-stdin"], "")
    assert "--kind" in refused(
        cli, ["crew", "qualify", ACTOR[0], "--kind", "juggling", "--id", "1", "--expires", VALID]
    )
    wrong = refused(cli, [*args, "--expires", VALID, "--pin-stdin"], "0000\n")
    assert "wrong PIN" in wrong
    ok(cli, [*args, "--expires", VALID, "--pin-stdin"], f"{PRODUCER[1]}\n")
    listed = json.loads(ok(cli, ["crew", "qualifications", "--format", "json"]).stdout)
    assert [(q["name"], q["kind"], q["id"], q["expires"]) for q in listed] == [
        (ACTOR[0], "safety-course", "C-77", VALID)
    ]


# --- the fold is a replay ------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_a_custody_event_is_in_the_period_it_happened_in_locally(zone: str) -> None:
    """`in_period`'s shortcut (a UTC date more than a day outside the period) never decides
    otherwise than the zone's own date, at +14 h and -11 h as at UTC."""
    from zoneinfo import ZoneInfo

    start = datetime(2026, 6, 28, tzinfo=UTC)
    for low, high in (("2026-07-01", "2026-07-01"), ("2026-06-30", "2026-07-02"), (None, None)):
        within = armory.in_period({"r1"}, low, high, zone)
        for hours in range(0, 24 * 7, 1):
            at = (start + timedelta(hours=hours, minutes=59, seconds=59)).strftime(
                "%Y-%m-%dT%H:%M:%S.000000Z"
            )
            day = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
            local = day.date().isoformat()
            inside = (low is None or local >= low) and (high is None or local <= high)
            assert within(None, at) == inside, (at, low, high)
            assert within("r1", at)


def test_the_fold_through_the_kind_index_equals_a_full_replay_at_every_moment(
    cli: CliRunner, stocked: Path, tmp_path: Path
) -> None:
    """Custody events interleaved with a run's and the roster's: the state read through the
    kind index equals a replay of every event in the log, after every event."""
    run_id = _open_run(cli, tmp_path, "12A")
    armorer(cli, "issue", "4471", "B88120", "--run", run_id)
    hand_over(cli, "4471", ACTOR)
    armorer(cli, "check-dummies", "--lot", "D-1", "--method", "rattle")
    armorer(cli, "rounds", "issue", "--lot", "D-1", "--count", "6", "--run", run_id)
    armorer(cli, "rounds", "issue", "--lot", "B-7", "--count", "12")
    armorer(cli, "rounds", "fire", "--lot", "B-7", "--count", "7")
    armorer(cli, "rounds", "spoil", "--lot", "B-7", "--count", "1")
    armorer(cli, "rounds", "return", "--lot", "D-1", "--count", "6", "--run", run_id)
    armorer(cli, "take-back", "4471")
    hand_over(cli, "4471", DP)
    armorer(cli, "take-back", "4471")
    armorer(cli, "return", "4471")
    armorer(cli, "lock", "--key-holder", PRODUCER[0])
    with Ledger.open(stocked / "log.db") as ledger:
        everything = list(ledger.events())
        kinds = {e.kind for e in everything}
        assert kinds - set(ARMORY_KINDS), "the log holds more than custody events"
        assert armory.load(ledger) == armory.fold(everything)
        for event in everything:
            if event.kind in ARMORY_KINDS:
                upto = [e for e in everything if e.seq <= event.seq]
                assert armory.load(ledger, upto=event.seq) == armory.fold(upto)
        state = armory.load(ledger)
        # A report folds every custody event but keeps only its period's moves: the same
        # custody section as keeping all of them, for any period, runs and zone.
        today = everything[-1].at[:10]
        days = [None, today, (date.fromisoformat(today) - timedelta(days=1)).isoformat()]
        for zone in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
            for runs in ([], [run_id]):
                for low, high in itertools.product(days, days):
                    keep = armory.in_period(set(runs), low, high, zone)
                    assert armory.custody_report(
                        armory.load(ledger, keep=keep), runs, low, high, zone
                    ) == armory.custody_report(state, runs, low, high, zone)
    # And what the crew would count by hand.
    b7, d1 = state.lot("B-7"), state.lot("d-1")
    assert b7 is not None and d1 is not None
    assert (b7.on_hand, b7.out, b7.total().fired, b7.total().spoiled) == (38, 4, 7, 1)
    assert (d1.on_hand, d1.out, d1.counts(run_id).returned) == (30, 0, 6)
    f4471, f88 = state.firearm("4471"), state.firearm("b88120")
    assert f4471 is not None and f88 is not None
    assert (f4471.where, f4471.holder, f4471.run) == ("locked", None, None)
    assert (f88.where, f88.holder, f88.run) == ("armorer", ARMORER[0], run_id)
    assert [s.holder for s in f4471.spans] == [
        None,
        ARMORER[0],
        ACTOR[0],
        ARMORER[0],
        DP[0],
        ARMORER[0],
        None,
    ]
    assert state.storage.locked and state.storage.keys == (PRODUCER[0],)


def test_the_armory_commands_cost_other_commands_nothing() -> None:
    """Registered lazily: `safetycli --help` lists the group from its help text alone, without
    importing the module or building its commands."""
    import subprocess
    import sys

    from safetycli.cli import _LAZY, armory_cmd

    assert _LAZY["armory"][1] == armory_cmd.HELP
    code = (
        "import sys\n"
        "from safetycli.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('armory_cmd' in str(sorted(sys.modules)), 'armory' in str(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "armory      The armory" in done.stdout
    assert done.stdout.splitlines()[-1] == "False False"


def test_a_receiver_who_mistypes_their_pin_gets_nothing_and_costs_the_armorer_no_try(
    cli: CliRunner, stocked: Path
) -> None:
    armorer(cli, "issue", "4471")
    args = ["armory", "hand-over", "4471", "--to", ACTOR[0], "--pin-stdin"]
    message = refused(cli, args, f"{ARMORER[1]}\n0000\n")
    assert "wrong PIN" in message and ACTOR[0] in message
    assert _firearm(cli, "4471")["where"] == "armorer"
    events = _events(stocked)
    armorer_tries = [e.seq for e in events if e.kind == AUTH_ATTEMPT and e.person == ARMORER[0]]
    assert set(armorer_tries) <= {e.data.get("attempt") for e in events if e.kind == AUTH_OK}
