"""A progress bar for long work (verify, sync), shared by the commands that show one."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack


def bar_on_stderr(
    stack: ExitStack, label: str, *, elapsed: bool = True
) -> Callable[[int, int], None] | None:
    """A bar on stderr while a person watches; nothing in pipes, logs or CI. Gone when done
    (it closes with `stack`). Returns `update(done, total)`, or None when no bar is shown."""
    import sys

    if not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from safetycli.cli.common import console

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    if elapsed:
        columns.append(TimeElapsedColumn())
    bar = stack.enter_context(Progress(*columns, console=console(stderr=True), transient=True))
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update
