"""Where protocols come from: the shipped ones, and the production's own in its workspace.

An id names exactly one protocol: a workspace protocol that reuses a shipped id is a problem, not
a silent override, so nobody runs a different checklist than the one they think they run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from safetycli import protocache
from safetycli.errors import SafetyError
from safetycli.protocol import Protocol, check_file
from safetycli.yamlsource import Problem


@dataclass
class Catalog:
    protocols: dict[str, Protocol] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def get(self, protocol_id: str) -> Protocol:
        """The protocol, with its translations read and checked (a broken one refuses it)."""
        if protocol_id in self.protocols:
            protocol = self.protocols[protocol_id]
            if protocol.with_translations():
                raise SafetyError(
                    f"protocol `{protocol_id}` has problems in its translations: run "
                    "`safetycli checklists validate`"
                )
            return protocol
        for problem in self.problems:
            if Path(problem.path).name.split(".")[0] == protocol_id:  # or its translation
                raise SafetyError(
                    f"protocol `{protocol_id}` has problems: run `safetycli checklists validate`"
                )
        known = ", ".join(sorted(self.protocols)) or "none"
        broken = len({problem.path for problem in self.problems})
        where = "see `safetycli checklists list`"
        if broken:  # it may be one of them, under another file name
            where += f"; {broken} file(s) with problems: run `safetycli checklists validate`"
        raise SafetyError(
            f"unknown protocol `{protocol_id}`: known protocols are {known} ({where})"
        )


def load_catalog(
    workspace_checklists: Path | None = None, *, translations: bool = False
) -> Catalog:
    """Every protocol the tool would load. Files with problems are left out (their problems are
    in `problems`); nothing here raises for a bad or unreadable file. Translations are read
    for the one protocol `get` returns, or with `translations`, for all (the listing).

    The workspace's own protocols may use the production's own roles, read from the
    config.toml beside their folder: every caller gets them without having to pass them."""
    catalog = Catalog()
    sources = [(protocache.shipped_dir(), True)]
    roles: dict[str, str] = {}
    if workspace_checklists is not None:
        sources.append((workspace_checklists, False))
        roles = _own_roles(workspace_checklists.parent, catalog)
    for folder, shipped in sources:
        try:
            paths = protocache.protocol_files(folder)
        except OSError as err:
            catalog.problems.append(Problem(str(folder), 1, 1, f"cannot read: {err.strerror}"))
            continue
        for path in paths:
            catalog.files.append(path)
            try:
                protocol, problems = check_file(path, shipped=shipped, roles=roles)
            except OSError as err:
                catalog.problems.append(Problem(str(path), 1, 1, f"cannot read: {err.strerror}"))
                continue
            catalog.problems.extend(problems)
            if protocol is None:
                continue
            if protocol.id in catalog.protocols:
                catalog.problems.append(
                    id_clash(path, protocol, catalog.protocols[protocol.id].origin.path)
                )
                continue
            if translations:  # every translation too (the listing); else each one on `get`
                try:
                    found = protocol.with_translations()
                except OSError as err:
                    found = [Problem(str(path), 1, 1, f"cannot read: {err.strerror}")]
                if found:
                    catalog.problems.extend(found)
                    continue
            catalog.protocols[protocol.id] = protocol
    return catalog


def _own_roles(root: Path, catalog: Catalog) -> dict[str, str]:
    """The production's own roles, or none (with the reason among the problems) when its
    config.toml declares them wrongly; a folder that is not a workspace declares none."""
    from safetycli.workspace import Workspace

    workspace = Workspace(root)
    if not workspace.config_path.is_file():
        return {}
    try:
        return workspace.roles()
    except SafetyError as err:
        where = getattr(err, "path", workspace.config_path)  # or received-roles.toml
        catalog.problems.append(Problem(str(where), 1, 1, err.message))
        return {}


def id_clash(path: Path, protocol: Protocol, other: Path) -> Problem:
    """Two files claim one id: the later one is refused, pointing at its `id:` line."""
    line, col = protocol.origin.id_pos
    return Problem(
        str(path),
        line,
        col,
        f"protocol id `{protocol.id}` is already used by {other}: give this protocol its own id",
    )
