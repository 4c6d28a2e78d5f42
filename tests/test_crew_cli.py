"""`safetycli crew` from the outside: exit codes, one-line errors, and PINs that never show up in
any output or in the database file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetycli import crew
from safetycli.cli import app
from safetycli.ledger import Ledger

PAT_PIN = "739164"  # distinctive: searched for in every output and in the database bytes
SAM_PIN = "582047"
SECRETS = (PAT_PIN, SAM_PIN)


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crew, "SCRYPT_N", 2**8)


def invoke(cli: CliRunner, args: list[str], input: str | None = None) -> object:
    result = cli.invoke(app, args, input=input)
    for secret in SECRETS:
        assert secret not in result.output, (args, result.output)
    assert "Traceback" not in result.output
    return result


def ok(cli: CliRunner, args: list[str], input: str | None = None) -> str:
    result = invoke(cli, args, input)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return result.stdout  # type: ignore[attr-defined,no-any-return]


def refused(cli: CliRunner, args: list[str], input: str | None = None) -> str:
    """Exit 2 and exactly one line on stderr; returns that line without `error: `."""
    result = invoke(cli, args, input)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    lines = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output  # type: ignore[attr-defined]
    return lines[0].removeprefix("error: ")


@pytest.fixture
def crewed(cli: CliRunner, home: Path) -> Path:
    ok(cli, ["crew", "add", "Pat Producer", "--role", "producer", "--pin-stdin"], f"{PAT_PIN}\n")
    ok(
        cli,
        ["crew", "add", "Sam Ortiz", "--role", "armorer", "--pin-stdin"],
        f"{SAM_PIN}\n{PAT_PIN}\n",
    )
    return home


def roster_json(cli: CliRunner) -> list[dict[str, object]]:
    return json.loads(ok(cli, ["crew", "list", "--format", "json"]))  # type: ignore[no-any-return]


def test_first_member_then_approved_members(cli: CliRunner, home: Path) -> None:
    out = ok(
        cli, ["crew", "add", "Pat Producer", "--role", "producer", "--pin-stdin"], f"{PAT_PIN}\n"
    )
    assert out.splitlines()[0] == "Added Pat Producer to the roster as producer."
    out = ok(
        cli,
        ["crew", "add", "Sam Ortiz", "-r", "armorer", "-r", "actor", "--pin-stdin"],
        f"{SAM_PIN}\n{PAT_PIN}\n",
    )
    assert out == "Added Sam Ortiz to the roster as armorer, actor.\n"
    assert roster_json(cli) == [
        {
            "name": "Pat Producer",
            "roles": ["producer"],
            "locked": False,
            "status": "active",
            "lang": None,
        },
        {
            "name": "Sam Ortiz",
            "roles": ["armorer", "actor"],
            "locked": False,
            "status": "active",
            "lang": None,
        },
    ]


def test_first_member_must_be_a_producer(cli: CliRunner, home: Path) -> None:
    message = refused(cli, ["crew", "add", "Sam", "--role", "armorer", "--pin-stdin"], "2468\n")
    assert message.startswith("the first crew member must be a producer")
    assert roster_json(cli) == []


def test_later_changes_need_the_producers_pin(cli: CliRunner, crewed: Path) -> None:
    args = ["crew", "add", "Dana Reyes", "--role", "first_ad", "--pin-stdin"]
    assert refused(cli, args, "1170\n739165\n") == (
        "wrong PIN for Pat Producer (4 tries left before lock-out)"
    )
    assert refused(cli, args, "1170\n") == (
        "--pin-stdin: expected producer's PIN (Pat Producer) on line 2 of stdin"
    )
    assert refused(cli, [*args, "--approve-by", "Sam Ortiz"], "1170\n582047\n") == (
        "Sam Ortiz is not on the roster as producer: only a producer approves"
    )
    assert [m["name"] for m in roster_json(cli)] == ["Pat Producer", "Sam Ortiz"]
    ok(cli, [*args, "--approve-by", "pat producer"], f"1170\n{PAT_PIN}\n")
    assert [m["name"] for m in roster_json(cli)] == ["Pat Producer", "Sam Ortiz", "Dana Reyes"]


def test_two_producers_means_naming_the_approver(cli: CliRunner, crewed: Path) -> None:
    ok(cli, ["crew", "add", "Lee Kim", "--role", "producer", "--pin-stdin"], f"3690\n{PAT_PIN}\n")
    args = ["crew", "add", "Ana Lima", "--role", "actor", "--pin-stdin"]
    assert refused(cli, args, f"2468\n{PAT_PIN}\n") == (
        "there are 2 producers on the roster: name the one approving with --approve-by PRODUCER"
    )
    ok(cli, [*args, "--approve-by", "Lee Kim"], "2468\n3690\n")


def test_bad_input_is_one_line_before_any_pin(cli: CliRunner, crewed: Path) -> None:
    add = ["crew", "add", "--pin-stdin"]
    assert refused(cli, [*add, "Ana", "--role", "armourer"]).startswith(
        "unknown role `armourer` (did you mean `armorer`?)"
    )
    assert refused(cli, [*add, "sam ortiz", "--role", "actor"]) == (
        "Sam Ortiz is already on the roster: see `safetycli crew list`"
    )
    assert refused(cli, [*add, "Ana", "--role", "actor"], "1111\n") == (
        "a PIN cannot be one digit repeated: choose another"
    )
    assert refused(cli, [*add, "Ana", "--role", "actor"], "") == (
        "--pin-stdin: expected the new PIN for Ana on line 1 of stdin"
    )
    assert refused(cli, ["crew", "unlock", "Nobody", "--pin-stdin"]) == (
        "nobody called Nobody on the roster: see `safetycli crew list`"
    )


def test_hidden_prompts_without_pin_stdin(cli: CliRunner, home: Path) -> None:
    result = invoke(
        cli, ["crew", "add", "Pat Producer", "--role", "producer"], f"{PAT_PIN}\n{PAT_PIN}\n"
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "New PIN for Pat Producer (4-12 digits):" in result.output  # type: ignore[attr-defined]
    result = invoke(
        cli,
        ["crew", "add", "Sam Ortiz", "--role", "armorer"],
        f"{SAM_PIN}\n{SAM_PIN}\n{PAT_PIN}\n",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "PIN for Pat Producer (producer):" in result.output  # type: ignore[attr-defined]


def test_list_formats_show_no_hashes(cli: CliRunner, crewed: Path) -> None:
    for fmt in ("table", "json", "csv"):
        out = ok(cli, ["crew", "list", "--format", fmt])
        assert "Sam Ortiz" in out and "armorer" in out
        assert "scrypt" not in out and "$" not in out and "fingerprint" not in out
    assert ok(cli, ["crew", "list"]).splitlines() == [
        "name\troles\tstatus\tlang",
        "Pat Producer\tproducer\tactive\t",
        "Sam Ortiz\tarmorer\tactive\t",
    ]
    assert ok(cli, ["crew", "list", "-f", "csv"]).splitlines()[0] == "name,roles,status,lang"


def test_csv_and_table_output_keep_names_as_data(cli: CliRunner, crewed: Path) -> None:
    ok(
        cli,
        ["crew", "add", "=HYPERLINK(1)", "--role", "actor", "--pin-stdin"],
        f"2468\n{PAT_PIN}\n",
    )
    assert "'=HYPERLINK(1)" in ok(cli, ["crew", "list", "-f", "csv"])


def test_roles_lists_the_vocabulary(cli: CliRunner) -> None:
    out = ok(cli, ["crew", "roles"])
    for role in ("producer", "armorer", "first_ad", "actor"):
        assert role in out
    roles = json.loads(ok(cli, ["crew", "roles", "-f", "json"]))
    assert roles[0]["role"] == "producer" and "approves roster changes" in roles[0]["does"]


def test_lockout_and_only_a_producer_unlocks(cli: CliRunner, crewed: Path) -> None:
    set_pin = ["crew", "set-pin", "Sam Ortiz", "--pin-stdin"]
    for left in (4, 3, 2):
        assert refused(cli, set_pin, "2581\n0000\n") == (
            f"wrong PIN for Sam Ortiz ({left} tries left before lock-out)"
        )
    assert refused(cli, set_pin, "2581\n0000\n").endswith("(1 try left before lock-out)")
    assert "Sam Ortiz is locked after 5 wrong PINs" in refused(cli, set_pin, "2581\n0000\n")
    assert refused(cli, set_pin, f"2581\n{SAM_PIN}\n") == (
        "Sam Ortiz is locked after 5 wrong PINs: a producer must run "
        "`safetycli crew unlock Sam Ortiz`"
    )
    assert roster_json(cli)[1] == {
        "name": "Sam Ortiz",
        "roles": ["armorer"],
        "locked": True,
        "status": "locked",
        "lang": None,
    }
    assert "Sam Ortiz\tarmorer\tlocked" in ok(cli, ["crew", "list"])
    assert (
        refused(
            cli,
            ["crew", "unlock", "Sam Ortiz", "--approve-by", "Sam Ortiz", "--pin-stdin"],
            f"{SAM_PIN}\n",
        )
        == "Sam Ortiz is not on the roster as producer: only a producer approves"
    )
    out = ok(cli, ["crew", "unlock", "sam ortiz", "--pin-stdin"], f"{PAT_PIN}\n")
    assert out == "Unlocked Sam Ortiz: they can sign again.\n"
    assert refused(cli, ["crew", "unlock", "Sam Ortiz", "--pin-stdin"], f"{PAT_PIN}\n") == (
        "Sam Ortiz is not locked: nothing to unlock"
    )
    assert ok(cli, set_pin, f"2581\n{SAM_PIN}\n") == "New PIN set for Sam Ortiz.\n"


def test_set_pin_approved_by_a_producer(cli: CliRunner, crewed: Path) -> None:
    args = ["crew", "set-pin", "Sam Ortiz", "--approve-by", "Pat Producer", "--pin-stdin"]
    # Issue 10: the producer's reset is confirmed by Sam's current PIN (or a second producer).
    ok(cli, args, f"2581\n{PAT_PIN}\n{SAM_PIN}\n")
    ok(cli, ["crew", "set-pin", "Sam Ortiz", "--pin-stdin"], "3692\n2581\n")  # the new one works


def test_remove(cli: CliRunner, crewed: Path) -> None:
    assert refused(cli, ["crew", "remove", "Pat Producer", "--pin-stdin"], f"{PAT_PIN}\n") == (
        "Pat Producer is the last producer on the roster: add another producer first"
    )
    out = ok(cli, ["crew", "remove", "Sam Ortiz", "--pin-stdin"], f"{PAT_PIN}\n")
    assert out == "Removed Sam Ortiz from the roster: their past signatures stay in the log.\n"
    assert [m["name"] for m in roster_json(cli)] == ["Pat Producer"]


def test_no_workspace(cli: CliRunner) -> None:
    assert refused(cli, ["crew", "list"]).startswith("no workspace here: run `safetycli init`")


def test_pin_digits_are_nowhere_in_the_database_or_output(cli: CliRunner, crewed: Path) -> None:
    """Every output is already checked by `invoke`; here the database file and its WAL, after
    successes, wrong PINs, a PIN typed as a name, and a PIN change."""
    refused(cli, ["crew", "set-pin", "Sam Ortiz", "--pin-stdin"], f"{PAT_PIN}\n{PAT_PIN}\n")
    refused(cli, ["crew", "unlock", PAT_PIN, "--pin-stdin"], f"{PAT_PIN}\n")
    ok(cli, ["crew", "set-pin", "Sam Ortiz", "--pin-stdin"], f"{PAT_PIN[::-1]}\n{SAM_PIN}\n")
    with Ledger.open(crewed / "log.db") as ledger:
        with pytest.raises(crew.AuthError):
            crew.authenticate(ledger, PAT_PIN, PAT_PIN, role=None, purpose="typed as a name")
        # Read while the connection is open, so the WAL has not been folded in yet.
        assert (crewed / "log.db-wal").stat().st_size > 0
        raw = b"".join((crewed / name).read_bytes() for name in ("log.db", "log.db-wal"))
    assert b"Sam Ortiz" in raw and b"auth.failed" in raw  # the search does see the data
    for secret in (*SECRETS, PAT_PIN[::-1]):
        assert secret.encode() not in raw
        assert secret.encode("utf-16-le") not in raw


def test_two_processes_adding_at_once_both_land(home: Path) -> None:
    """Real processes, real scrypt: appends serialise through BEGIN IMMEDIATE into one chain."""
    env = {**os.environ, "SAFETYCLI_HOME": str(home)}
    first = subprocess.run(
        [
            sys.executable,
            "-m",
            "safetycli",
            "crew",
            "add",
            "Pat Producer",
            "-r",
            "producer",
            "--pin-stdin",
        ],
        input=f"{PAT_PIN}\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    names = [f"Extra {n}" for n in range(4)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "safetycli", "crew", "add", name, "-r", "actor", "--pin-stdin"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in names
    ]
    for proc in procs:
        out, err = proc.communicate(f"2468\n{PAT_PIN}\n", timeout=60)
        assert proc.returncode == 0, err
    with Ledger.open(home / "log.db") as ledger:
        assert sorted(m.name for m in crew.roster(ledger)) == sorted(["Pat Producer", *names])
        result = ledger.verify()
        assert result.ok, result.reason
        assert [e.kind for e in ledger.events()].count("crew.added") == 5


def test_input_ending_at_a_pin_question_is_a_clear_refusal(cli: CliRunner, home: Path) -> None:
    """Ctrl-C or end of input at a hidden prompt: exit 2 with one line, never click's "Aborted!"
    and exit 1 (which means "problems found"), and nobody half-added to the roster."""
    result = invoke(cli, ["crew", "add", "Pat Producer", "--role", "producer"], input="")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "Aborted" not in result.output  # type: ignore[attr-defined]
    assert "stopped at a question" in result.stderr  # type: ignore[attr-defined]
    assert json.loads(ok(cli, ["crew", "list", "--format", "json"])) == []
