"""The crew's own roles: a production declares the roles its own protocols need (config.toml's
`[roles]`), its protocols use them, the roster holds them, and a misspelling is still caught.

A pyrotechnic effect is the example throughout: the shipped roles know no pyrotechnician, so a
production shooting one declares the role, writes its own protocol, adds the person (or gives
someone already on the roster the role, a producer approving), and walks the protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetycli import crew
from safetycli.ledger import Ledger
from tests.walk_helpers import (
    DAY,
    FIRST_AD,
    PRODUCER,
    invoke,
    log_show,
    ok,
    refused,
)

PYRO = ("Rae Burns", "3574")
MEDIC = ("Mo Diaz", "6021")

ROLES_TABLE = """
[roles]
pyrotechnician = "Licensed pyrotechnician: rigs and fires every effect, clears the set after"
medic = "Set medic: stands by, with burn kit, for every effect"
"""

EFFECT = """\
id: pyro-effect
title: A pyrotechnic effect
version: 1
summary: The effect is rigged and checked, the 1st AD sees it, the medic stands by.
sources: ["The production's own effects plan"]
roles: [first_ad, {pyro}, medic]
hold:
  cleared_by: [{pyro}, first_ad]
phases:
  - id: before-the-effect
    title: Before the effect
    items:
      - id: effect-rigged
        ask: Effect rigged and checked by the pyrotechnician, shown to the 1st AD?
        by: {pyro}
        witness: [first_ad]
        critical: true
        why: Only the licensed pyrotechnician rigs an effect.
      - id: medic-standing-by
        ask: Medic in position with the burn kit?
        by: medic
        critical: true
        why: A burn is treated in its first minute.
"""


def declare_roles(home: Path, table: str = ROLES_TABLE) -> None:
    with (home / "config.toml").open("a", encoding="utf-8") as config:
        config.write(table)


def write_effect(home: Path, pyro: str = "pyrotechnician") -> Path:
    path = home / "checklists" / "pyro-effect.yaml"
    path.write_text(EFFECT.format(pyro=pyro), encoding="utf-8")
    return path


def add(cli: CliRunner, name: str, pin: str, *roles: str) -> None:
    role_args = [arg for role in roles for arg in ("--role", role)]
    ok(cli, ["crew", "add", name, *role_args, "--pin-stdin"], f"{pin}\n{PRODUCER[1]}\n")


@pytest.fixture
def production(crewed: Path) -> Path:
    """The crewed workspace with its own roles declared and its own protocol."""
    declare_roles(crewed)
    write_effect(crewed)
    return crewed


def test_a_production_role_used_by_its_own_protocol_validates_and_runs(
    cli: CliRunner, production: Path, tmp_path: Path
) -> None:
    validated = ok(cli, ["checklists", "validate"])
    assert "all valid" in validated.stderr
    assert "pyro-effect" in ok(cli, ["checklists", "list"]).stdout
    add(cli, *PYRO, "pyrotechnician")
    add(cli, *MEDIC, "medic")

    answers = tmp_path / "effect.yaml"
    answers.write_text(
        "signers:\n"
        f"  pyrotechnician: {{name: {PYRO[0]}, pin: '{PYRO[1]}'}}\n"
        f"  first_ad: {{name: {FIRST_AD[0]}, pin: '{FIRST_AD[1]}'}}\n"
        f"  medic: {{name: {MEDIC[0]}, pin: '{MEDIC[1]}'}}\n"
        "answers: {effect-rigged: yes, medic-standing-by: yes}\n",
        encoding="utf-8",
    )
    result = ok(
        cli, ["run", "pyro-effect", "--scene", "31", "--day", DAY, "--answers", str(answers)]
    )
    run_id = result.stdout.split()[1].rstrip(":")
    detail = log_show(cli, run_id)
    assert detail["status"] == "complete"
    rigged = next(s for s in detail["signoffs"] if s["item"] == "effect-rigged")
    assert rigged["by"] == {"name": PYRO[0], "role": "pyrotechnician"}
    assert [(w["name"], w["role"]) for w in rigged["witnesses"]] == [(FIRST_AD[0], "first_ad")]


def test_a_misspelt_production_role_in_a_protocol_is_refused_with_a_suggestion(
    cli: CliRunner, production: Path
) -> None:
    path = write_effect(production, pyro="pyrotecnician")
    result = invoke(cli, ["checklists", "validate", str(path)])
    assert result.exit_code == 1
    assert "unknown role `pyrotecnician`: did you mean `pyrotechnician`?" in result.stdout
    # The broken protocol cannot be run either.
    assert "has problems" in refused(cli, ["run", "pyro-effect", "--scene", "31"])


def test_without_the_declaration_the_role_is_unknown_and_the_message_says_where_to_declare(
    cli: CliRunner, crewed: Path
) -> None:
    path = write_effect(crewed)
    result = invoke(cli, ["checklists", "validate", str(path)])
    assert result.exit_code == 1
    assert "unknown role `pyrotechnician`" in result.stdout
    assert "config.toml" in result.stdout and "[roles]" in result.stdout


def test_crew_add_accepts_a_production_role_and_refuses_a_misspelling(
    cli: CliRunner, production: Path
) -> None:
    typo = ["crew", "add", PYRO[0], "--role", "pyrotecnician", "--pin-stdin"]
    message = refused(cli, typo, f"{PYRO[1]}\n{PRODUCER[1]}\n")
    assert "did you mean `pyrotechnician`?" in message
    add(cli, *PYRO, "pyrotechnician")
    roster = json.loads(ok(cli, ["crew", "list", "-f", "json"]).stdout)
    assert {"name": PYRO[0], "roles": ["pyrotechnician"]}.items() <= next(
        m for m in roster if m["name"] == PYRO[0]
    ).items()


def test_crew_roles_lists_the_production_roles_after_the_shipped_ones(
    cli: CliRunner, production: Path
) -> None:
    roles = json.loads(ok(cli, ["crew", "roles", "-f", "json"]).stdout)
    assert roles[0]["role"] == "producer" and roles[0]["from"] == "shipped"
    own = [(r["role"], r["from"]) for r in roles if r["from"] == "production"]
    assert own == [("pyrotechnician", "production"), ("medic", "production")]
    pyro = next(r for r in roles if r["role"] == "pyrotechnician")
    assert pyro["does"].startswith("Licensed pyrotechnician")


def test_add_role_gives_someone_on_the_roster_another_role_with_a_producers_pin(
    cli: CliRunner, production: Path
) -> None:
    add_role = ["crew", "add-role", FIRST_AD[0], "medic", "--pin-stdin"]
    assert refused(cli, add_role, "0000\n").startswith(f"wrong PIN for {PRODUCER[0]}")
    result = ok(cli, add_role, f"{PRODUCER[1]}\n")
    assert f"{FIRST_AD[0]} is now on the roster as first_ad, medic" in result.stdout
    roster = json.loads(ok(cli, ["crew", "list", "-f", "json"]).stdout)
    assert next(m for m in roster if m["name"] == FIRST_AD[0])["roles"] == ["first_ad", "medic"]
    # They sign as the new role with the PIN they already had.
    with Ledger.open(production / "log.db") as ledger:
        member = crew.authenticate(ledger, FIRST_AD[0], FIRST_AD[1], role="medic", purpose="t")
        assert member.roles == ("first_ad", "medic")
    # The day report's roster changes say who approved it.
    report = ok(cli, ["report", "--format", "md"]).stdout
    assert f"also medic, approved by {PRODUCER[0]}" in report


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["Nobody Here", "medic"], "nobody called Nobody Here on the roster"),
        ([FIRST_AD[0], "medik"], "did you mean `medic`?"),
        ([FIRST_AD[0], "first_ad"], "already on the roster as first_ad"),
    ],
)
def test_add_role_refuses_before_asking_for_a_pin(
    cli: CliRunner, production: Path, args: list[str], expected: str
) -> None:
    with Ledger.open(production / "log.db") as ledger:
        before = ledger.head()
    # No stdin at all: a refusal that asked for a PIN would say so instead.
    assert expected in refused(cli, ["crew", "add-role", *args, "--pin-stdin"], "")
    with Ledger.open(production / "log.db") as ledger:
        assert ledger.head() == before


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('[roles]\narmorer = "Ours"\n', "already a role"),
        ('[roles]\narmourer = "Keeps the guns"\n', "a spelling of the role `armorer`"),
        ('[roles]\nPyro-Tech = "Fires effects"\n', "lowercase letters, digits and `_`"),
        ('[roles]\nmedic = ""\n', "say what a `medic` does"),
        ('roles = ["medic"]\n', "must be a table"),
    ],
)
def test_a_wrong_roles_table_is_one_line_naming_the_config(
    cli: CliRunner, crewed: Path, table: str, expected: str
) -> None:
    declare_roles(crewed, table)
    message = refused(cli, ["crew", "roles"])
    assert "config.toml" in message and expected in message
    # The protocols are still checked, and the table's problem is counted among theirs.
    result = invoke(cli, ["checklists", "validate"])
    assert result.exit_code == 1 and expected in result.stdout


def test_a_shipped_protocol_never_depends_on_a_productions_roles(
    cli: CliRunner, production: Path
) -> None:
    listed = json.loads(ok(cli, ["checklists", "list", "-f", "json"]).stdout)
    shipped = [p for p in listed if p.get("origin") == "shipped"]
    assert shipped and all("pyrotechnician" not in json.dumps(p) for p in shipped)
    assert "all valid" in ok(cli, ["checklists", "validate"]).stderr


def test_the_readme_roles_example_is_a_valid_roles_table() -> None:
    """Productions copy the README's `[roles]` example: it must be accepted as printed."""
    import tomllib

    from safetycli.roles import production_roles
    from tests.conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("```toml\n[roles]") + len("```toml\n")
    table = tomllib.loads(text[start : text.index("```", start)])["roles"]
    assert set(production_roles(table, "README.md")) == {
        "pyrotechnician",
        "stunt_performer",
        "medic",
    }
