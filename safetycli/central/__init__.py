"""The central store: one PostgreSQL server that several laptops of a production sync with.

Each laptop keeps its own hash chain in its own SQLite log and works offline; `safetycli sync`
pushes the events the server lacks and pulls the few events of other laptops this one needs (stop-
work on a scene; the roster, its approvals and PIN hashes of the laptops that joined the same
production: join.py, rostermerge.py). The server keeps every device's chain as the device wrote
it, keyed by (device, seq), and checks each event on arrival: its hash recomputed from its content
with the same canonical text as `ledger.py`, its link to the event before it, and its device MAC
once the server knows the device's MAC key. What does not hold is refused, recorded as an alarm
and never merged; other devices go on.

  schema.py  the server's tables and their migrations
  store.py   the server side: connect, migrate, ingest (with the checks), pull, alarms
  sync.py    the laptop side: what to push, what to pull, into the laptop's log
  join.py    a new laptop joining: the production secret wrapped under a one-time code

Core code: no Typer, no Rich; psycopg is imported only here, so a laptop that works alone never
loads it (the `central` extra installs it).
"""

from __future__ import annotations

import os
import re

from safetycli.errors import EXIT_PROBLEMS, SafetyError

ENV_CENTRAL = "SAFETYCLI_CENTRAL"
CONFIG_KEY = "central"
EXIT_ALARM = EXIT_PROBLEMS  # DESIGN.md: sync exits 1 on an alarm (fork, equivocation)
EXIT_UNREACHABLE = 2


class CentralUnreachable(SafetyError):
    """The server could not be reached or refused the connection (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_UNREACHABLE)


class CentralAlarm(SafetyError):
    """The server refused events of this device: a chain that does not link, content that does not
    match its hash or MAC, or a different event for a number it already holds (exit 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_ALARM)


_PASSWORD = re.compile(r"(?P<head>://[^:/@?#]*):[^@/?#]*@")
_PARAM_PASSWORD = re.compile(r"(?i)(password=)[^&\s]*")


def redact(url: str) -> str:
    """The URL as it may be shown: without its password (in the userinfo or as a parameter)."""
    url = _PASSWORD.sub(r"\g<head>:***@", url)
    return _PARAM_PASSWORD.sub(r"\1***", url)


def central_url(given: str | None, config: dict[str, object] | None = None) -> str:
    """The server to use: `--central URL`, else `SAFETYCLI_CENTRAL`, else config.toml's
    `central`; one line says how to name one when there is none."""
    if given:
        return given
    named = os.environ.get(ENV_CENTRAL)
    if named:
        return named
    value = (config or {}).get(CONFIG_KEY)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise SafetyError(
        "no central server named: give --central URL (postgresql://user@host/db), set "
        f'{ENV_CENTRAL}, or put `{CONFIG_KEY} = "URL"` in the workspace\'s config.toml'
    )
