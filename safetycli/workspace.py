"""The workspace: one production's folder of state (config, roster and log, own protocols).

Found through `--home`, `SAFETYCLI_HOME`, or the nearest `.safetycli/` from the current folder up,
the way git finds `.git/`, so every crew laptop command works from anywhere inside the production.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from safetycli.errors import SafetyError

DIRNAME = ".safetycli"
ENV_HOME = "SAFETYCLI_HOME"
NO_WORKSPACE = "no workspace here: run `safetycli init` (or pass --home DIR)"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "log.db"

    @property
    def checklists(self) -> Path:
        return self.root / "checklists"

    def config(self) -> dict[str, object]:
        try:
            return tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise SafetyError(f"cannot read {self.config_path}: {err}") from None

    @property
    def production(self) -> str:
        return str(self.config().get("production", ""))


def _is_workspace(path: Path) -> bool:
    return (path / "config.toml").is_file()


def find_workspace(home: Path | str | None = None) -> Workspace:
    """The workspace to use, or a SafetyError that tells the user what to do."""
    named = home if home is not None else os.environ.get(ENV_HOME) or None
    if named is not None:
        path = Path(named).expanduser()
        if _is_workspace(path):
            return Workspace(path.resolve())
        if _is_workspace(path / DIRNAME):
            return Workspace((path / DIRNAME).resolve())
        raise SafetyError(f"no workspace at {path}: run `safetycli init --home {path}`")
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _is_workspace(folder / DIRNAME):
            return Workspace(folder / DIRNAME)
    raise SafetyError(NO_WORKSPACE)


def optional_workspace(home: Path | str | None = None) -> Workspace | None:
    """For commands that work without a workspace (listing shipped protocols). A workspace the
    user named (--home, SAFETYCLI_HOME) must exist: silently listing only the shipped protocols
    would hide the production's own."""
    if home is not None or os.environ.get(ENV_HOME):
        return find_workspace(home)
    try:
        return find_workspace(None)
    except SafetyError:
        return None


def init_workspace(home: Path | str | None, production: str) -> Workspace:
    named = home if home is not None else os.environ.get(ENV_HOME) or None
    root = Path(named).expanduser() if named is not None else Path.cwd() / DIRNAME
    if _is_workspace(root):
        raise SafetyError(f"a workspace already exists at {root}: nothing was changed")
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / "checklists").mkdir(exist_ok=True)
        text = f"# safetycli workspace\nproduction = {json.dumps(production, ensure_ascii=False)}\n"
        tmp = root / "config.toml.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, root / "config.toml")
    except OSError as err:
        raise SafetyError(f"cannot create a workspace at {root}: {err.strerror}") from None
    return Workspace(root.resolve())
