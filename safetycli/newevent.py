"""An event not yet in the log, and who signs it: what the commands that write make.

Kept apart from events.py (and reached through it as before: `from safetycli.events import
NewEvent`) because `status` and the other commands that only read never build one, and making
a frozen dataclass costs about 0.4 to 0.8 ms of each start-up (bench/README.md, start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safetycli.events import KINDS, UndeclaredKind


@dataclass(frozen=True)
class NewEvent:
    """An event not yet in the log (what the runner and crew modules produce)."""

    kind: str
    data: dict[str, Any]
    run: str | None = None
    person: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UndeclaredKind(f"event kind {self.kind!r} is not declared in safetycli.events")


@dataclass(frozen=True)
class Signer:
    """Who signs, as every payload names them: `{name, role}`."""

    name: str
    role: str | None  # None only for someone off the roster who stopped work

    def as_json(self) -> dict[str, str | None]:
        return {"name": self.name, "role": self.role}
