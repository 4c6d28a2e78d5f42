"""The user's private state folder, outside every workspace: the log's high-water marks
(headmark.py), the protocol caches (protocache.py), the central custody starting points.

Its own module, stdlib `os` and `pathlib` only: `checklists list` needs the folder's name for
its cache, and importing headmark for it loaded hashlib (OpenSSL), json and dataclasses, about
3 ms of a start-up the listing otherwise does not pay.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_STATE = "SAFETYCLI_STATE_DIR"


def state_dir() -> Path:
    """`$SAFETYCLI_STATE_DIR`, else `$XDG_STATE_HOME/safetycli`, else
    `~/.local/state/safetycli` (tests point it at a temporary folder)."""
    named = os.environ.get(ENV_STATE)
    if named:
        return Path(named).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "safetycli"
