"""`status --watch`: the set board for the monitor at video village.

The same words as `status` (the stop-work on any scene first, then every open and held run with
its hold and who is signed in), redrawn in place every few seconds so anyone walking past sees
whether work is stopped without asking the 1st AD.

It reads what `status` reads and nothing more, and only when the log has moved: each tick asks
the log for its head (one indexed row), and the set is read again only when a new event has
landed. A quiet set costs one tiny query per tick however long the season's log grows; a busy
one costs what one `status` costs. Loaded only by `--watch`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from safetycli.i18n import _, ngettext

if TYPE_CHECKING:
    from rich.console import RenderableType

    from safetycli.ledger import Ledger

Lines = list[tuple[bool, str, list[str]]]


def watch(
    ledger: Ledger, production: str, interval: float, lines_of: Any, zone: str = "UTC"
) -> None:
    """Redraw until Ctrl-C, which ends the board quietly (exit 0): closing the board is the
    normal way to stop watching, not an error. `lines_of` turns `set_status` into the lines
    `status` prints, so both say the same thing. `zone` is the production's: the board's clock
    reads as the set's clocks do, whatever zone the monitor's laptop is set to.

    A terminal that can move its cursor gets the board redrawn in place (Rich Live, on the
    alternate screen); a dumb one (TERM=dumb, a serial console) gets the board printed again
    below the last one, only when the set changed, so it never scrolls away for nothing."""
    from safetycli.cli.common import console

    out = console()
    try:
        if out.is_dumb_terminal:
            for changed, lines, warning in _ticks(ledger, interval, lines_of):
                if changed:
                    out.rule()
                    out.print(_board(production, lines, warning, interval, zone))
        else:
            from rich.live import Live

            with Live(console=out, screen=True, auto_refresh=False) as live:
                for _changed, lines, warning in _ticks(ledger, interval, lines_of):
                    live.update(_board(production, lines, warning, interval, zone), refresh=True)
    except KeyboardInterrupt:
        out.print(_("Set board closed."))


def _ticks(
    ledger: Ledger, interval: float, lines_of: Any
) -> Iterator[tuple[bool, Lines, str | None]]:
    """(changed since the last tick?, the set's lines, the roster warning), every `interval`
    seconds. The set is read again only when the log's head has moved."""
    from safetycli.crew import producer_warning
    from safetycli.review import set_status

    seen: int | None = None
    lines: Lines = []
    warning: str | None = None
    while True:
        head = ledger.head()[0]
        changed = head != seen
        if changed:  # something happened on set: read it again, once
            with ledger.snapshot() as (seen, _hash):
                lines = lines_of(set_status(ledger))
                warning = producer_warning(ledger)
        yield changed, lines, warning
        time.sleep(interval)


def _board(
    production: str, lines: Lines, warning: str | None, interval: float, zone: str = "UTC"
) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    from safetycli.cli.status_cmd import held_word
    from safetycli.render.safe import one_line

    held = sum(1 for line in lines if line[0])
    from safetycli.render.fmt import clock

    now = clock(datetime.now(UTC).isoformat(), zone=zone)[-8:]
    every = f"{interval:g} s"
    title = Text.assemble(
        (_("SET BOARD"), "bold"),
        f"  {one_line(production)}" if production else "",
        (
            "  "
            + _("updated {time} {zone}, every {every} · Ctrl-C closes").format(
                time=now, zone=zone, every=every
            ),
            "dim",
        ),
    )
    parts: list[RenderableType] = [title, Text("")]
    if held:
        if held > 1:
            stopped = _("WORK IS STOPPED ({n} held)").format(n=held)
        else:
            stopped = _("WORK IS STOPPED")
        parts.append(Panel(Text(stopped, style="bold white on red", justify="center"), style="red"))
    elif lines:
        runs = ngettext("{n} run open", "{n} runs open", len(lines)).format(n=len(lines))
        parts.append(Text(_("Nothing held · {runs}").format(runs=runs), style="bold green"))
    else:
        parts.append(Text(_("No open or held runs, and no scene held."), style="bold green"))
    for is_held, head, details in lines:
        label = (
            Text(f" {held_word()} ", style="bold white on red")
            if is_held
            else Text(_("open"), "bold")
        )
        parts.append(Text.assemble(label, " ", one_line(head)))
        parts.extend(Text(f"   {one_line(detail)}") for detail in details)
    if warning:
        parts.extend([Text(""), Text(one_line(warning), style="yellow")])
    return Group(*parts)
