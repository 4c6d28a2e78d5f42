"""The central store, issue 15's last items: a production's own roles travel with its published
protocols, and laptops waiting for approval are shown where a producer looks.

Against the real throwaway PostgreSQL (tests/pgserver.py), with real workspaces made by the CLI,
as tests/test_central.py does; its helpers let laptops in and join them.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from safetycli.protoshare import Publication
from tests.test_central import (
    PRODUCER_PIN,
    Laptop,
    approve_device,
    device_of,
    joined,
    publish,
    sync,
)
from tests.test_production_roles import EFFECT, MEDIC, PYRO, ROLES_TABLE
from tests.walk_helpers import DAY, FIRST_AD, invoke, ok, one_line_error

# A control character in a role's line (a CSI that would clear the screen): shown as text.
OTHER_MEDIC = '[roles]\nmedic = "Paramedic on call by radio, at the unit base\\u009b2J"\n'


def roles_on(cli: CliRunner, ws: Path) -> dict[str, str]:
    """The production's own roles as `crew roles` shows them on that laptop."""
    listed = json.loads(ok(cli, ["crew", "roles", "--home", str(ws), "--format", "json"]).stdout)
    return {r["role"]: r["does"] for r in listed if r["from"] == "production"}


def add_with_role(cli: CliRunner, ws: Path, person: tuple[str, str], role: str) -> None:
    args = ["crew", "add", person[0], "--role", role, "--home", str(ws), "--pin-stdin"]
    ok(cli, args, f"{person[1]}\n{PRODUCER_PIN}\n")


def run_effect(cli: CliRunner, ws: Path, tmp_path: Path) -> dict[str, object]:
    """The pyrotechnic effect walked on that laptop by its pyrotechnician, medic and 1st AD."""
    answers = tmp_path / "effect-answers.yaml"
    answers.write_text(
        "signers:\n"
        f"  pyrotechnician: {{name: {PYRO[0]}, pin: '{PYRO[1]}'}}\n"
        f"  first_ad: {{name: {FIRST_AD[0]}, pin: '{FIRST_AD[1]}'}}\n"
        f"  medic: {{name: {MEDIC[0]}, pin: '{MEDIC[1]}'}}\n"
        "answers: {effect-rigged: yes, medic-standing-by: yes}\n",
        encoding="utf-8",
    )
    answers.chmod(0o600)
    args = ["run", "pyro-effect", "--scene", "31", "--day", DAY, "--home", str(ws)]
    result = ok(cli, [*args, "--answers", str(answers)])
    run_id = result.stdout.split()[1].rstrip(":")
    shown = ok(cli, ["log", "show", run_id, "--home", str(ws), "--format", "json"]).stdout
    return json.loads(shown)  # type: ignore[no-any-return]


def test_a_role_defined_on_a_travels_with_its_protocol_and_b_adds_crew_with_it_and_runs_it(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    a = laptop("a")
    sync(cli, a, central)
    c = joined(cli, tmp_path / "c", central, a)  # joined before the role existed
    with (a / "config.toml").open("a", encoding="utf-8") as config:
        config.write(ROLES_TABLE)
    (a / "checklists" / "pyro-effect.yaml").write_text(EFFECT.format(pyro="pyrotechnician"))
    sent = publish(cli, a)
    assert sent.exit_code == 0, sent.output
    assert "roles it names (medic, pyrotechnician)" in sent.stdout
    sync(cli, a, central)

    # A laptop joining now gets the roles with the protocol; its config.toml stays its own.
    b = joined(cli, tmp_path / "b", central, a)
    assert "[roles]" not in (b / "config.toml").read_text()
    assert roles_on(cli, b) == roles_on(cli, a)
    assert "all valid" in ok(cli, ["checklists", "validate", "--home", str(b)]).stderr
    add_with_role(cli, b, PYRO, "pyrotechnician")
    add_with_role(cli, b, MEDIC, "medic")
    shown = run_effect(cli, b, tmp_path)
    assert shown["status"] == "complete"
    signed = {s["item"]: s["by"] for s in shown["signoffs"]}  # type: ignore[attr-defined]
    assert signed["effect-rigged"] == {"name": PYRO[0], "role": "pyrotechnician"}

    # C, which synced before, takes them at its next sync, and its crew too.
    said = sync(cli, c, central).stdout
    assert "Protocol pyro-effect v1" in said and "EXCEPTION" not in said
    assert set(roles_on(cli, c)) == {"pyrotechnician", "medic"}
    sync(cli, b, central)
    sync(cli, c, central)
    listed = json.loads(ok(cli, ["crew", "list", "--home", str(c), "--format", "json"]).stdout)
    assert {m["name"]: m["roles"] for m in listed}[PYRO[0]] == ["pyrotechnician"]
    for ws in (a, b, c):
        ok(cli, ["verify", "--home", str(ws)])


def test_a_laptops_own_different_role_is_kept_and_shown_as_an_exception(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    a = laptop("a")
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)
    c = joined(cli, tmp_path / "c", central, a)
    with (c / "config.toml").open("a", encoding="utf-8") as config:
        config.write(OTHER_MEDIC)
    mine = (c / "config.toml").read_text()
    with (a / "config.toml").open("a", encoding="utf-8") as config:
        config.write(ROLES_TABLE)
    (a / "checklists" / "pyro-effect.yaml").write_text(EFFECT.format(pyro="pyrotechnician"))
    assert publish(cli, a).exit_code == 0
    sync(cli, a, central)

    # C keeps its own medic (config.toml is the user's), takes the pyrotechnician, and says so.
    said = sync(cli, c, central).stdout
    conflict = [x for x in said.splitlines() if x.startswith("EXCEPTION: role medic")]
    assert len(conflict) == 1 and "Paramedic on call" in conflict[0]
    assert "\x9b" not in said
    assert "Set medic" in conflict[0] and f"device {device_of(a)}" in conflict[0]
    assert (c / "config.toml").read_text() == mine
    roles = roles_on(cli, c)
    assert roles["medic"].startswith("Paramedic") and roles["pyrotechnician"].startswith("Licensed")
    assert "all valid" in ok(cli, ["checklists", "validate", "--home", str(c)]).stderr
    board = ok(cli, ["status", "--home", str(c)]).stdout
    assert "EXCEPTION: role medic" in board and "\x9b" not in board
    status = json.loads(ok(cli, ["status", "--home", str(c), "--format", "json"]).stdout)
    assert any(line.startswith("role medic") for line in status["exceptions"])

    # C publishes a protocol of its own that names its medic: two laptops defined one role
    # apart. The later one stands on B (which declares none), and everyone is told.
    other = EFFECT.format(pyro="pyrotechnician").replace("id: pyro-effect", "id: pyro-night")
    (c / "checklists" / "pyro-night.yaml").write_text(other)
    sent = publish(cli, c, "pyro-night")
    assert sent.exit_code == 0, sent.output
    sync(cli, c, central)
    said = sync(cli, b, central).stdout
    assert "EXCEPTION: role medic was defined apart" in said
    assert roles_on(cli, b)["medic"].startswith("Paramedic")
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    assert any(line.startswith("role medic was defined apart") for line in office["exceptions"])
    board = ok(cli, ["status", "--central", central]).stdout
    assert "EXCEPTION: role medic was defined apart" in board


def test_a_received_role_is_never_written_into_config_toml_and_an_edit_of_the_derived_file_lasts_only_to_the_next_sync(  # noqa: E501
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    a = laptop("a")
    with (a / "config.toml").open("a", encoding="utf-8") as config:
        config.write(ROLES_TABLE)
    (a / "checklists" / "pyro-effect.yaml").write_text(EFFECT.format(pyro="pyrotechnician"))
    sync(cli, a, central)
    assert publish(cli, a).exit_code == 0
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)
    derived = b / "received-roles.toml"
    assert derived.stat().st_mode & 0o777 == 0o600
    assert set(tomllib.loads(derived.read_text())["roles"]) == {"medic", "pyrotechnician"}
    derived.write_text('[roles]\nmedic = "Someone else"\n')
    assert roles_on(cli, b)["medic"] == "Someone else"
    sync(cli, b, central)
    assert roles_on(cli, b) == roles_on(cli, a)


def test_a_broken_received_roles_file_is_one_line_naming_it_and_the_protocols_are_still_checked(
    cli: CliRunner, laptop: Laptop
) -> None:
    a = laptop("a")
    (a / "received-roles.toml").write_text('[roles]\narmourer = "Keeps the guns"\n')
    message = one_line_error(invoke(cli, ["crew", "roles", "--home", str(a)]))
    assert "received-roles.toml" in message and "sync" in message
    checked = invoke(cli, ["checklists", "validate", "--home", str(a)])
    assert checked.exit_code == 1
    (problem,) = [x for x in checked.stdout.splitlines() if "armourer" in x]
    assert problem.startswith(f"{a / 'received-roles.toml'}:1:1:")


def test_a_protocol_published_before_roles_travelled_is_named_until_it_is_sent_again(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    """A protocol an older safetycli published went without its roles: the receiving laptop
    cannot load it, and sync on the sending laptop says what to do until a producer does it."""
    from dataclasses import replace

    from safetycli import protoshare
    from safetycli.ledger import Ledger
    from tests.test_central import PRODUCER_NAME

    a = laptop("a")
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)
    with (a / "config.toml").open("a", encoding="utf-8") as config:
        config.write(ROLES_TABLE)
    (a / "checklists" / "pyro-effect.yaml").write_text(EFFECT.format(pyro="pyrotechnician"))
    with Ledger.open(a / "log.db", create=False) as ledger:
        sent = protoshare.to_send(ledger, a / "checklists", [])
        bare = [replace(e, data={k: v for k, v in e.data.items() if k != "roles"}) for e in sent]
        protoshare.publish(ledger, bare, (PRODUCER_NAME, PRODUCER_PIN))
    said = sync(cli, a, central).stdout
    assert "without the roles medic, pyrotechnician" in said
    assert "checklists publish pyro-effect" in said
    said = sync(cli, b, central).stdout
    assert "pyro-effect" in said and not (b / "checklists" / "pyro-effect.yaml").exists()

    again = publish(cli, a)
    assert again.exit_code == 0, again.output
    assert "without the role" not in sync(cli, a, central).stdout
    assert "Protocol pyro-effect v1" in sync(cli, b, central).stdout
    assert set(roles_on(cli, b)) == {"medic", "pyrotechnician"}


# --- laptops waiting for approval ----------------------------------------------------------------


def test_status_central_lists_a_laptop_waiting_for_approval_until_it_is_let_in(
    cli: CliRunner, central: str, laptop: Laptop
) -> None:
    a = laptop("a")
    sync(cli, a, central)
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    assert office["waiting_laptops"] == []

    b = laptop("b")
    waiting = invoke(cli, ["sync", "--home", str(b), "--central", central])
    assert device_of(b) in one_line_error(waiting)
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    (entry,) = office["waiting_laptops"]
    assert entry["device"] == device_of(b) and entry["production"] == "Night Unit"
    assert entry["approve"] == f"safetycli join approve-device {device_of(b)}"
    assert entry["asked_at"].endswith("Z")
    board = ok(cli, ["status", "--central", central]).stdout
    line = next(x for x in board.splitlines() if x.startswith("WAITING:"))
    assert device_of(b) in line and f"safetycli join approve-device {device_of(b)}" in line

    # The laptop itself says so on its own board, without the server.
    own = ok(cli, ["status", "--home", str(b)]).stdout
    (said,) = [x for x in own.splitlines() if x.startswith("WAITING:")]
    assert f"safetycli join approve-device {device_of(b)}" in said
    mine = json.loads(ok(cli, ["status", "--home", str(b), "--format", "json"]).stdout)
    assert mine["waiting_for_approval"]["device"] == device_of(b)
    assert "WAITING" not in ok(cli, ["status", "--home", str(a)]).stdout

    assert approve_device(cli, a, device_of(b), central).exit_code == 0
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    assert office["waiting_laptops"] == []
    assert "WAITING" not in ok(cli, ["status", "--central", central]).stdout
    sync(cli, b, central)
    assert "WAITING" not in ok(cli, ["status", "--home", str(b)]).stdout
    mine = json.loads(ok(cli, ["status", "--home", str(b), "--format", "json"]).stdout)
    assert mine["waiting_for_approval"] is None


def test_status_central_lists_a_laptop_asking_to_join_until_its_code_is_approved(
    cli: CliRunner, central: str, laptop: Laptop, tmp_path: Path
) -> None:
    from tests.test_central import approve, ask_to_join

    a = laptop("a")
    sync(cli, a, central)
    code = ask_to_join(cli, tmp_path / "c", central)
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    (entry,) = office["waiting_joins"]
    assert entry["asked_at"].endswith("Z") and entry["approve"] == "safetycli join approve CODE"
    assert office["waiting_laptops"] == []  # it has no device yet
    board = ok(cli, ["status", "--central", central]).stdout
    (line,) = [x for x in board.splitlines() if x.startswith("WAITING:")]
    assert "asked to join" in line and "safetycli join approve CODE" in line
    assert code.replace("-", "") not in board.replace("-", "")  # the server never knew it
    assert approve(cli, code, a, central).exit_code == 0
    office = json.loads(ok(cli, ["status", "--central", central, "--format", "json"]).stdout)
    assert office["waiting_joins"] == []


# --- the derived file and the fold, without a server ---------------------------------------------


def _pub(protocol: str, device: str, at: str, **roles: str) -> Publication:
    return Publication(protocol, 1, "0" * 64, f"{protocol}.yaml", "", at, device, "P", {}, roles)


def test_awkward_role_lines_are_written_and_read_back_exactly(tmp_path: Path) -> None:
    from safetycli import sharedroles

    does = 'Fires the "big" one \\ checks it after: 🎆 ñ\x7f done'
    sent = _pub("fx", "d1", "2026-11-25T10:00Z", fx=does)
    received, conflicts, refused = sharedroles.fold([sent])
    assert not conflicts and not refused
    assert sharedroles.write(tmp_path, received)
    assert sharedroles.read(tmp_path) == {"fx": does}
    assert not sharedroles.write(tmp_path, received)  # unchanged: not written again
    assert sharedroles.write(tmp_path, {}) and not (tmp_path / sharedroles.FILENAME).exists()


def test_the_later_definition_stands_and_only_two_laptops_apart_is_a_conflict() -> None:
    from safetycli import sharedroles

    first = _pub("a", "d1", "2026-11-25T10:00Z", medic="One")
    own_change = _pub("b", "d1", "2026-11-25T11:00Z", medic="Two")
    other = _pub("c", "d2", "2026-11-25T12:00Z", medic="Three")
    shipped = _pub("d", "d2", "2026-11-25T13:00Z", armourer="Keeps the guns")
    received, conflicts, refused = sharedroles.fold([other, own_change, first, shipped])
    assert received["medic"].does == "Three" and received["medic"].device == "d2"
    (line,) = conflicts  # d1 changing its own line is not a conflict; d2's differing is
    assert '"Two"' in line and '"Three"' in line
    assert "armourer" not in received and "armorer" in refused[0]
