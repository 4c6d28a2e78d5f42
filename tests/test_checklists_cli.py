"""`safetycli checklists list | show | validate`, through Typer's CliRunner.

The shipped protocols are swapped for the fixtures, so these tests do not move when the real
checklists are edited. conftest.py fixes the console width (COLUMNS=120) and turns colour off.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from safetycli import protocache as catalog_mod
from safetycli.cli import app

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "protocols"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"
MINIMAL = (VALID / "minimal.yaml").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def shipped_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_mod, "shipped_dir", lambda: VALID)


def run(cli: CliRunner, *args: str) -> Result:
    result = cli.invoke(app, ["checklists", *args])
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


# --- validate: the "how we will know" list, one file each -----------------------------------------

HOW_WE_WILL_KNOW = {
    "misspelled-key.yaml": "16:9: unknown key `witnes`: did you mean `witness`?",
    "duplicate-item-id.yaml": "20:13: duplicate item id `meeting-held` (first at line 13): "
    "give each item its own id",
    "undeclared-role.yaml": "15:13: role `dp` is not in this protocol's `roles:`: "
    "add it there or use one of armorer, first_ad",
    "undeclared-fact.yaml": "19:15: `when` names `blank`, which is not in `context:`: "
    "did you mean `blanks`?",
    "duplicate-key.yaml": "16:9: duplicate key `by` (first at line 15): remove one",
    "tab-indented.yaml": "8:1: YAML syntax: a tab character here: indent with spaces only",
    "empty.yaml": "1:1: the file is empty: a protocol starts with `id:`, `title:` and `phases:`",
    "binary.yaml": "1:1: not a text file (binary data found): expected YAML text",
}


@pytest.mark.parametrize("name", sorted(HOW_WE_WILL_KNOW))
def test_validate_names_the_line_of_each_kind_of_mistake(cli: CliRunner, name: str) -> None:
    path = INVALID / name
    result = run(cli, "validate", str(path))
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first == f"{path}:{HOW_WE_WILL_KNOW[name]}"
    count = len(result.stdout.splitlines())
    assert result.stderr == f"checked 1 file(s): {count} problem(s) in 1 file(s)\n"


def test_validate_reports_every_problem_in_a_file(cli: CliRunner) -> None:
    path = INVALID / "every-problem.yaml"
    result = run(cli, "validate", str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 15
    assert all(line.startswith(f"{path}:") for line in lines)
    assert [int(line.split(":")[1]) for line in lines] == [
        1, 2, 3, 6, 9, 20, 27, 28, 30, 35, 37, 39, 42, 44, 47,
    ]  # fmt: skip
    assert result.stderr == "checked 1 file(s): 15 problem(s) in 1 file(s)\n"


def test_validate_a_folder_checks_every_protocol_file_in_it(cli: CliRunner) -> None:
    result = run(cli, "validate", str(INVALID))
    assert result.exit_code == 1
    files = sorted(INVALID.glob("*.yaml"))
    reported = {line.split(":")[0] for line in result.stdout.splitlines()}
    assert reported == {str(p) for p in files}
    assert result.stderr.startswith(f"checked {len(files)} file(s): ")


def test_validate_valid_files_exits_0_quietly(cli: CliRunner) -> None:
    result = run(cli, "validate", str(VALID), str(VALID / "minimal.yaml"))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "checked 2 file(s): all valid\n"  # minimal.yaml counted once


def test_validate_with_no_path_checks_shipped_and_workspace(cli: CliRunner, home: Path) -> None:
    own = home / "checklists"
    own.mkdir(exist_ok=True)
    (own / "ours.yaml").write_text(MINIMAL.replace("id: minimal", "id: ours"), encoding="utf-8")
    (own / "copy.yaml").write_text("# copied\n" + MINIMAL, encoding="utf-8")
    result = run(cli, "validate")
    assert result.exit_code == 1
    assert result.stdout == (
        f"{own / 'copy.yaml'}:2:5: protocol id `minimal` is already used by "
        f"{VALID / 'minimal.yaml'}: give this protocol its own id\n"
    )
    assert result.stderr == "checked 4 file(s): 1 problem(s) in 1 file(s)\n"


def test_validate_a_path_that_is_not_there_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = run(cli, "validate", str(missing), str(INVALID / "duplicate-key.yaml"))
    assert result.exit_code == 2
    dup = INVALID / "duplicate-key.yaml"
    assert result.stdout == f"{dup}:16:9: duplicate key `by` (first at line 15): remove one\n"
    assert result.stderr == (
        f"error: cannot read {missing}: no such file or folder\n"
        "checked 1 file(s): 1 problem(s) in 1 file(s); 1 path(s) could not be read\n"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_validate_refuses_a_pipe_instead_of_hanging(cli: CliRunner, tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    result = run(cli, "validate", str(pipe))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: cannot read {pipe}: not a regular file or folder\n"
        "checked 0 file(s): all valid; 1 path(s) could not be read\n"
    )


def test_validate_an_unreadable_folder_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0)
    try:
        if os.access(folder, os.R_OK):
            pytest.skip("running with privileges that read any folder")
        result = run(cli, "validate", str(folder))
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot read {folder}: Permission denied\n")


def test_validate_an_empty_folder_says_so(cli: CliRunner, tmp_path: Path) -> None:
    result = run(cli, "validate", str(tmp_path))
    assert result.exit_code == 0
    assert result.stderr == (
        f"note: no .yaml or .yml files in {tmp_path}\nchecked 0 file(s): all valid\n"
    )


def test_validate_a_huge_file_is_one_line(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"id: huge\n" + b"#" * 1_100_000)
    result = run(cli, "validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{path}:1:1: file too large (over 1,000,000 bytes): is this the right file?\n"
    )


def test_validate_never_prints_control_characters_from_a_file(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "esc.yaml"
    path.write_text(MINIMAL.replace("ask: Ready", 'ask: Ready\n        "\\e[2J": x\n  #'), "utf-8")
    result = run(cli, "validate", str(path))
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout
    # One line, at the key, the escape shown as text, and the keys an item may have.
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"{path}:15:9: unknown key `\\x1b[2J`: allowed here: id, ")
    assert "ask, by, witness" in result.stdout


# --- list -----------------------------------------------------------------------------------------


def test_list_when_piped_prints_plain_rows(cli: CliRunner) -> None:
    result = run(cli, "list")
    assert result.exit_code == 0
    assert result.stdout == (
        "id\tversion\ttitle\titems\torigin\n"
        "full-feature\t3\tFull feature: [PPE] and more\t6\tshipped\n"
        "minimal\t1\tSmallest valid protocol\t1\tshipped\n"
    )
    assert result.stderr == ""


def test_list_json(cli: CliRunner, home: Path) -> None:
    own = home / "checklists"
    own.mkdir(exist_ok=True)
    (own / "ours.yaml").write_text(MINIMAL.replace("id: minimal", "id: ours"), encoding="utf-8")
    result = run(cli, "list", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["id"], r["origin"], r["items"]) for r in rows] == [
        ("full-feature", "shipped", 6),
        ("minimal", "shipped", 1),
        ("ours", "workspace", 1),
    ]
    minimal = rows[1]
    assert minimal["sha256"] == hashlib.sha256((VALID / "minimal.yaml").read_bytes()).hexdigest()
    assert set(minimal) == {
        "id", "title", "version", "summary", "origin", "path", "sha256", "phases", "items",
    }  # fmt: skip


def test_list_still_lists_the_good_ones_and_warns_about_the_rest(
    cli: CliRunner, home: Path
) -> None:
    own = home / "checklists"
    own.mkdir(exist_ok=True)
    (own / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    result = run(cli, "list")
    assert result.exit_code == 0
    assert [row.split("\t")[0] for row in result.stdout.splitlines()[1:]] == [
        "full-feature",
        "minimal",
    ]
    assert result.stderr == (
        "warning: 7 problems in protocol files; run `safetycli checklists validate`\n"
    )


# --- show -----------------------------------------------------------------------------------------

FULL_SHOWN = """\
Full feature: [PPE] and more  (full-feature, version 3)
A protocol that uses every kind of item and condition.
Roles: 1st AD, armorer, actor and DP
STOPS WORK marks a check that stops all work if it fails, until armorer and 1st AD each clear \
the hold with their PIN.

Asked at the start
  blanks: Will blanks be fired?  (yes or no)
  mode: What is in the firearm?  (EMPTY / DUMMIES / BLANKS)

Phase 1 of 3: Safety meeting
   1. Safety meeting held where the scene is shot?  STOPS WORK IF IT FAILS
      signed by 1st AD; witnessed by armorer  [meeting-held]
      answer: yes or no
      source: Bulletin #1
   2. Who attended?
      signed by 1st AD  [attendance]
      answer: in writing
      why: A record of who was briefed.

Phase 2 of 3: Before each take  (repeated for every take)
   3. State of the firearm, announced aloud  STOPS WORK IF IT FAILS
      signed by armorer; read back by actor  [state]
      answer: one of EMPTY / DUMMIES / BLANKS / NOT VERIFIED; fails on NOT VERIFIED
      why: The actor says the state back.
   4. Rounds loaded  (only when blanks is yes)
      signed by armorer  [rounds]
      answer: a number (at least 0, at most 6)
      why: Counted in, counted out.
   5. Shields up for camera?  (only when mode is BLANKS)
      signed by DP  [shields]
      answer: yes or no; may be marked not applicable, with a reason
      why: Hot gas and debris.

Phase 3 of 3: Dry run without blanks  (only when blanks is no)
   6. Dry run walked through?
      signed by 1st AD  [dry-run-done]
      answer: yes or no
      why: Everyone knows the moves.

Sources: Bulletin #1; House rules
"""


def test_show_reads_as_the_crew_walks_it(cli: CliRunner) -> None:
    result = run(cli, "show", "full-feature")
    assert result.exit_code == 0
    assert result.stdout == FULL_SHOWN
    assert result.stderr == ""


def test_show_one_person_clears_a_hold(cli: CliRunner) -> None:
    result = run(cli, "show", "minimal")
    assert result.exit_code == 0
    assert "until 1st AD clears the hold with their PIN." in result.stdout.splitlines()[3]


def test_show_json_gives_phases_and_items_in_order(cli: CliRunner) -> None:
    result = run(cli, "show", "full-feature", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["id"] == "full-feature"
    assert data["origin"] == "shipped"
    assert data["sha256"] == hashlib.sha256((VALID / "full.yaml").read_bytes()).hexdigest()
    assert [p["id"] for p in data["phases"]] == ["meeting", "each-take", "dry-run"]
    state = data["phases"][1]["items"][0]
    assert (state["id"], state["critical"], state["readback"]) == ("state", True, ["actor"])
    assert data["phases"][1]["items"][1]["when"] == "blanks"


def test_show_unknown_id_is_one_line_and_exit_2(cli: CliRunner) -> None:
    result = run(cli, "show", "firearm-scen")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: unknown protocol `firearm-scen`: known protocols are full-feature, minimal "
        "(see `safetycli checklists list`)\n"
    )


def test_show_a_protocol_with_problems_points_to_validate(cli: CliRunner, home: Path) -> None:
    own = home / "checklists"
    own.mkdir(exist_ok=True)
    (own / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    result = run(cli, "show", "broken")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: protocol `broken` has problems: run `safetycli checklists validate`\n"
    )


def test_show_prints_yaml_text_as_text_never_as_markup_or_controls(
    cli: CliRunner, home: Path
) -> None:
    own = home / "checklists"
    own.mkdir(exist_ok=True)
    text = MINIMAL.replace("id: minimal", "id: tricky").replace(
        "ask: Ready to go?", 'ask: "[bold]Ready[/bold] \\e[31m[red]go?"'
    )
    (own / "tricky.yaml").write_text(text, encoding="utf-8")
    result = run(cli, "show", "tricky")
    assert result.exit_code == 0
    assert "   1. [bold]Ready[/bold] \\x1b[31m[red]go?  STOPS WORK IF IT FAILS" in result.stdout
    assert "\x1b" not in result.stdout


# --- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "summary"),
    [
        ("list", "The shipped protocols and the production's own, with their versions."),
        ("show", "The protocol as the crew will see it: phases, questions, who signs, what"),
        ("validate", "Check protocol files; print `path:line:col: message` for every problem."),
    ],
)
def test_every_command_has_help(cli: CliRunner, command: str, summary: str) -> None:
    result = run(cli, command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: safetycli checklists {command} [OPTIONS]")
    assert summary in " ".join(result.stdout.split())


def test_a_named_workspace_that_does_not_exist_is_an_error(cli: CliRunner, tmp_path: Path) -> None:
    """Listing only the shipped protocols would hide the production's own: say so instead."""
    missing = tmp_path / "no-such-workspace"
    for args in (["list"], ["show", "firearm-scene"], ["validate"]):
        result = cli.invoke(app, ["checklists", *args, "--home", str(missing)])
        assert result.exit_code == 2, args
        assert f"no workspace at {missing}" in result.output
