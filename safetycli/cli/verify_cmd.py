"""`safetycli verify`: recompute the log's hash chain and say plainly whether it still holds.

Exit 0 intact, 1 altered (the log is evidence: a missing, replaced or damaged file counts as
altered), 2 bad input. The verdict goes to stdout in either format, so a script can read it.
"""

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.common import FormatOption, Home, TableOrJson

if TYPE_CHECKING:
    from safetycli.headmark import Mark
    from safetycli.ledger import Ledger
    from safetycli.storage import Verifier, VerifyResult


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)


def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            metavar="[SEQ:]HASH",
            help="The log head printed on an earlier report (SEQ:HASH, or at least 12 hex digits"
            " of the hash): also proves nothing up to it was rewritten since.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    home: Home = None,
) -> None:
    """Recompute the log's hash chain: 0 if intact; 1 if altered, naming the first bad event."""
    from safetycli.cli.common import print_json, workspace
    from safetycli.headmark import HeadMarks, vanished
    from safetycli.storage import GENESIS, LogDamaged, LogEmpty, VerifyResult, parse_head

    if expect_head is not None:
        parse_head(expect_head)  # a mistyped head is bad input (exit 2), before any work
    ws = workspace(home)
    path = ws.db_path
    # Read before the log: the mark never leads the log when read in this order (headmark.py).
    mark = HeadMarks(ws.root).read()
    if not path.is_file():
        why = f"the log file {path} is missing"
        if mark is not None and mark.seq > 0:
            why = vanished(mark, path, "missing")
        result = VerifyResult(False, 0, 0, GENESIS, 1, why)
    else:
        from safetycli.ledger import Ledger  # the workspace's store; the rest is the interface

        try:
            with Ledger.open(path, create=False) as ledger:
                result = _check(ledger, expect_head)
                if result.ok and mark is not None:
                    result = _against_mark(ledger, result, mark)
        except LogDamaged as err:
            why = err.message
            if isinstance(err, LogEmpty) and mark is not None and mark.seq > 0:
                why = vanished(mark, path, "empty")
            result = VerifyResult(False, 0, 0, GENESIS, 1, why)
    if fmt is TableOrJson.json:
        print_json(result.as_json())
    else:
        from safetycli.render.safe import visible

        for line in _summary(result, expect_head, path):
            typer.echo(visible(line))
    raise typer.Exit(0 if result.ok else 1)


def _check(log: "Verifier", expect_head: str | None) -> "VerifyResult":
    """Verify any store that offers `storage.Verifier` (the central one, too), with a bar."""
    with ExitStack() as stack:
        return log.verify(expect_head=expect_head, progress=_progress(stack))


def _against_mark(ledger: "Ledger", result: "VerifyResult", mark: "Mark") -> "VerifyResult":
    """A chain that holds can still be shorter than the log was: the high-water mark says how
    far it reached (headmark.py). A log that went backwards is altered, naming where."""
    from safetycli.headmark import went_back
    from safetycli.storage import VerifyResult

    alarm = went_back(mark, result.head_seq, ledger.hash_at(mark.seq))
    if alarm is None:
        return result
    bad = mark.seq if result.head_seq >= mark.seq else result.head_seq + 1
    return VerifyResult(False, result.events, result.head_seq, result.head, bad, alarm)


def _progress(stack: ExitStack) -> Callable[[int, int], None] | None:
    """A bar on stderr while a person watches; nothing in pipes, logs or CI. Gone when done."""
    import sys

    if not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from safetycli.cli.common import console

    bar = stack.enter_context(
        Progress(
            TextColumn("Verifying the log"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=True,
        )
    )
    task = bar.add_task("verify", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update


def _summary(result: "VerifyResult", expect_head: str | None, path: Path) -> list[str]:
    head = f"{result.head_seq}:{result.head}"
    if result.ok:
        noun = "event" if result.events == 1 else "events"
        lines = [f"Log intact: {result.events} {noun}, head {head}"]
        if expect_head:
            lines.append(
                f"It contains the head you gave ({expect_head}): nothing up to it changed."
            )
        return lines
    bad = result.first_bad_seq
    lines = [f"LOG ALTERED at event {bad}: {result.reason}"]
    if bad is not None and bad > result.events:
        if result.events:
            held = "Event 1 checks" if result.events == 1 else f"Events 1-{result.events} check"
            lines.append(f"{held} out; from event {bad} on, this log cannot be trusted.")
    else:
        since = (
            "the head you gave was printed: that report is the true record"
            if expect_head
            else "its high-water mark was written"
        )
        lines.append(
            f"The chain holds on its own (head {head}), so it was rewritten with fresh hashes"
            f" after {since}."
        )
    lines.append(
        f"What to do: copy {path} somewhere safe exactly as it is now (it is evidence), and tell"
        " the producer and the safety rep before anyone relies on this log."
    )
    return lines
