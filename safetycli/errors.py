"""One domain exception, turned into an exit code only at the CLI edge.

Core modules raise `SafetyError` with a message a crew member can act on; the CLI prints that one
line and exits with the code. Nothing below the CLI knows about terminals or exit().
"""

from __future__ import annotations

# Exit codes are part of the command contract (DESIGN.md).
EXIT_OK = 0
EXIT_PROBLEMS = 1  # validate found problems; verify found the log altered
EXIT_BAD_INPUT = 2
EXIT_HELD = 3
EXIT_OPEN = 4


class SafetyError(Exception):
    """A failure the user can fix: one line saying what is wrong and what to do."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message
