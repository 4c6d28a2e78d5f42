"""The production's own roles on the laptops that did not declare them: they travel with the
protocols that name them, and land in a file derived from those publications.

A producer declares a role (`pyrotechnician`) in one laptop's config.toml and publishes a protocol
that names it (protoshare.py). The publication carries the role's line with it, in the same event,
approved by the same producer's PIN: a role is part of what the protocol means. At each sync the
roles of the production's protocols (the newest approved publication of each id) are folded in
the order of their times, then devices, and written to `received-roles.toml` beside config.toml,
which `Workspace.roles()` reads under config.toml's own `[roles]`.

Why a file derived at sync, in the workspace, and not config.toml, the state folder or a fold of
the log at each read:
- config.toml is the user's file: sync never writes it. A role this laptop defines there is its
  own and always wins here; one defined differently from the production's is shown as a conflict
  (an `EXCEPTION:` line, as the others: central/conflicts.py), never overwritten.
- The protocols that need the roles are installed as files in the workspace's `checklists/`:
  the roles beside them go wherever the workspace goes (a copy, a backup, a moved folder), which
  a file in the state folder, keyed by the workspace's path, would not.
- `checklists validate`, `crew add` and every command that loads a protocol read the roles
  without opening the log (as config.toml's): folding the publications means reading the roster
  to check each approval, far too much for `checklists show`.
The file is derived only: each sync writes it again from the approved publications, so an edit
lasts until then, and it gives no more than editing config.toml would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safetycli.errors import SafetyError
from safetycli.workspace import toml_string

if TYPE_CHECKING:
    from safetycli.protoshare import Publication

FILENAME = "received-roles.toml"


class ReceivedRolesError(SafetyError):
    """The derived file cannot be read or does not check: `path` names it, so a listing of
    problems points at it rather than at config.toml."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


_SHOWN = 80  # what a role does, as a conflict line quotes it


@dataclass(frozen=True)
class Received:
    """One role as the production's protocols define it, and the publication that says so."""

    role: str
    does: str
    protocol: str
    version: int
    device: str
    at: str

    def source(self) -> str:
        """Where the definition came from, as received-roles.toml's comment keeps it."""
        return f"protocol {self.protocol} v{self.version} from device {self.device}"

    def shown_source(self) -> str:
        """Where it came from, in the crew's language (a conflict line)."""
        from safetycli.i18n import _

        return _("protocol {protocol} v{version} from device {device}").format(
            protocol=self.protocol, version=self.version, device=self.device
        )


def path_of(root: Path) -> Path:
    return root / FILENAME


def fold(
    publications: Iterable[Publication],
) -> tuple[dict[str, Received], list[str], list[str]]:
    """The roles the production's protocols carry: (each role's standing definition, one line
    for each role two laptops defined differently, one line for each role refused). The later
    definition (time, then device) stands, as for the roster."""
    from safetycli.roles import production_roles

    standing: dict[str, Received] = {}
    conflicts: list[str] = []
    refused: list[str] = []
    for pub in sorted(publications, key=lambda p: (p.at, p.device)):
        for role, does in sorted(pub.roles.items()):
            where = f"protocol {pub.protocol} v{pub.version} from device {pub.device}"
            try:
                checked = production_roles({role: does}, where)[role]
            except SafetyError as err:
                from safetycli.i18n import _

                refused.append(_("role not taken: {problem}").format(problem=err.message))
                continue
            new = Received(role, checked, pub.protocol, pub.version, pub.device, pub.at)
            old = standing.get(role)
            if old is not None and old.does != checked and old.device != pub.device:
                from safetycli.i18n import _

                conflicts.append(
                    _(
                        "role {role} was defined apart: {old} ({old_source} at {old_at}) and "
                        "{new} ({new_source} at {new_at}): the later stands; a producer makes "
                        "them one in config.toml and publishes again"
                    ).format(
                        role=role,
                        old=_quoted(old.does),
                        old_source=old.shown_source(),
                        old_at=old.at,
                        new=_quoted(checked),
                        new_source=new.shown_source(),
                        new_at=new.at,
                    )
                )
            standing[role] = new
    return standing, conflicts, refused


def against_config(received: Mapping[str, Received], own: Mapping[str, str]) -> list[str]:
    """A role this laptop's config.toml defines otherwise than the production: its own stands
    here, never overwritten, and the difference is shown."""
    lines = []
    for role, got in sorted(received.items()):
        mine = own.get(role)
        if mine is not None and mine != got.does:
            from safetycli.i18n import _

            lines.append(
                _(
                    "role {role}: this laptop's config.toml says {mine}, the production's "
                    "({source}) says {theirs}: this laptop's stands here; make them the same, or "
                    "delete its line in config.toml to take the production's"
                ).format(
                    role=role,
                    mine=_quoted(mine),
                    source=got.shown_source(),
                    theirs=_quoted(got.does),
                )
            )
    return lines


def _quoted(text: str) -> str:
    return json.dumps(text if len(text) <= _SHOWN else f"{text[: _SHOWN - 1]}…", ensure_ascii=False)


def read(root: Path) -> dict[str, str]:
    """The roles this workspace received (none when it never did), checked as config.toml's."""
    import tomllib

    from safetycli.roles import production_roles

    path = path_of(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ReceivedRolesError(path, f"cannot read {path}: {err.strerror}") from None
    again = "`safetycli sync` writes it again"
    try:
        table = tomllib.loads(text).get("roles")
    except tomllib.TOMLDecodeError as err:
        raise ReceivedRolesError(path, f"cannot read {path}: {err}; {again}") from None
    try:
        return production_roles(table, str(path))
    except SafetyError as err:
        raise ReceivedRolesError(path, f"{err.message}; {again}") from None


def write(root: Path, received: Mapping[str, Received]) -> bool:
    """Write the derived file (removed when the production's protocols name no role of their
    own); whether it changed."""
    from safetycli.filemodes import write_private_text

    path = path_of(root)
    if not received:
        if not path.exists():
            return False
        path.unlink()
        return True
    lines = [
        "# Written by `safetycli sync`: the production's own roles, received with its published",
        "# protocols. Do not edit: each sync writes it again. A role in config.toml's [roles]",
        "# wins over the one here.",
        "[roles]",
    ]
    for role, got in sorted(received.items()):
        lines.append(f"# {''.join(c for c in got.source() if c.isprintable())}")
        lines.append(f"{role} = {toml_string(got.does)}")
    text = "\n".join(lines) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    write_private_text(path, text)
    return True
