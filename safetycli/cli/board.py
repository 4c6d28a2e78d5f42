"""`status --watch`: the set board for the monitor at video village.

The same words as `status` (the stop-work on any scene first, then every open and held run with
its hold and who is signed in, and on a laptop that syncs whether it waits for a producer's
approval and what two laptops did apart), redrawn in place every few seconds so anyone walking
past sees whether work is stopped, or something needs a producer, without asking the 1st AD.

It reads what `status` reads and nothing more, and only when it may have moved: each tick asks
the log for its head (one indexed row) and foreign.db whether a sync wrote to it (no row at all),
and the set is read again only when one of them moved; what two laptops did apart is read again
only when one of its own inputs moved (central/laptopnow.py). A quiet set costs a few tiny
queries per tick however long the season's log grows; a busy one costs what one `status` costs.
Loaded only by `--watch`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from safetycli.i18n import _, ngettext

if TYPE_CHECKING:
    from rich.console import RenderableType

    from safetycli.central.laptopnow import Standing
    from safetycli.ledger import Ledger
    from safetycli.verdict import Verdict

Lines = list[tuple[bool, str, list[str]]]
# (mark, line): what `status` prints under the set of a laptop that syncs (WAITING, EXCEPTION).
Marked = list[tuple[str, str]]


def watch(
    ledger: Ledger,
    production: str,
    interval: float,
    lines_of: Any,
    zone: str = "UTC",
    standing_of: Callable[[Standing | None], Marked] | None = None,
    verdict_of: Callable[[], Verdict | None] | None = None,
) -> None:
    """Redraw until Ctrl-C, which ends the board quietly (exit 0): closing the board is the
    normal way to stop watching, not an error. `lines_of` turns `set_status` into the lines
    `status` prints, and `standing_of` the laptop's standing into its WAITING and EXCEPTION
    lines, so both say the same thing. `zone` is the production's: the board's clock reads as
    the set's clocks do, whatever zone the monitor's laptop is set to.

    A terminal that can move its cursor gets the board redrawn in place (Rich Live, on the
    alternate screen); a dumb one (TERM=dumb, a serial console) gets the board printed again
    below the last one, only when the set changed, so it never scrolls away for nothing."""
    from safetycli.cli.common import console

    out = console()
    board = Board(ledger, lines_of, standing_of, verdict_of)
    try:
        if out.is_dumb_terminal:
            for changed in _ticks(board, interval):
                if changed:
                    out.rule()
                    out.print(board.render(production, interval, zone))
        else:
            from rich.live import Live

            with Live(console=out, screen=True, auto_refresh=False) as live:
                for _changed in _ticks(board, interval):
                    live.update(board.render(production, interval, zone), refresh=True)
    except KeyboardInterrupt:
        out.print(_("Set board closed."))


def _ticks(board: Board, interval: float) -> Iterator[bool]:
    """Whether the board changed since the last tick, every `interval` seconds."""
    while True:
        yield board.tick()
        time.sleep(interval)


class Board:
    """What the board shows, kept between ticks and read again only where something moved."""

    def __init__(
        self,
        ledger: Ledger,
        lines_of: Any,
        standing_of: Callable[[Standing | None], Marked] | None = None,
        verdict_of: Callable[[], Verdict | None] | None = None,
    ) -> None:
        from safetycli.central.laptopnow import Watch

        self.ledger = ledger
        self.lines_of = lines_of
        self.standing_of = standing_of
        self.standing = Watch(ledger)
        self.lines: Lines = []
        self.warning: str | None = None
        self.marked: Marked = []
        self._seen: tuple[int, int | None] | None = None
        # verify's standing verdict on the log (verdict.py), read again every tick: a verify
        # run at another terminal shows here at once, and so does the one that clears it.
        self.verdict_of = verdict_of
        self.verdict: Verdict | None = None

    def tick(self) -> bool:
        """Look at what may have moved; read again what did. Whether anything shown changed."""
        from safetycli.central.laptopnow import pulled_mark
        from safetycli.crew import producer_warning
        from safetycli.errors import SafetyError
        from safetycli.review import set_status

        ledger = self.ledger
        # The log's head, and whether a sync wrote into foreign.db (another laptop's held run
        # pulled, or this one told to wait): either moves what the set shows.
        mark = (ledger.head()[0], pulled_mark(ledger))
        changed = mark != self._seen
        if changed:  # something happened on set: read it again, once
            with ledger.snapshot() as (seq, _hash):
                self.lines = self.lines_of(set_status(ledger))
                try:
                    self.warning = producer_warning(ledger)
                except SafetyError as err:  # a roster that does not verify: the board shows
                    self.warning = _("warning: {problem}").format(problem=err.message)
            self._seen = (seq, mark[1])
        moved, standing = self.standing.now()
        if moved:
            self.marked = self.standing_of(standing) if self.standing_of is not None else []
        verdict = self.verdict_of() if self.verdict_of is not None else None
        found = verdict != self.verdict
        self.verdict = verdict
        return changed or moved or found

    def render(self, production: str, interval: float, zone: str = "UTC") -> RenderableType:
        return _board(
            production,
            self.lines,
            self.warning,
            interval,
            zone,
            self.standing.standing,
            self.marked,
            self.verdict,
        )


def _board(
    production: str,
    lines: Lines,
    warning: str | None,
    interval: float,
    zone: str = "UTC",
    standing: Standing | None = None,
    marked: Marked | None = None,
    verdict: Verdict | None = None,
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
    if verdict is not None:  # above all: nothing below can be read as the record
        parts += _log_alarm(verdict)
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
    parts += _standing(standing, marked or [])
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


def _log_alarm(verdict: Verdict) -> list[RenderableType]:
    """verify's standing verdict (verdict.py), as loud as a hold: the board may be all a
    passer-by reads, and the stderr line of `status` never reaches it."""
    from rich.panel import Panel
    from rich.text import Text

    from safetycli.render.safe import one_line

    # Translators: the set board's banner while verify's verdict stands; short, capitals.
    banner = _("LOG ALTERED: DO NOT RELY ON IT UNTIL A VERIFY PASSES")
    return [
        Panel(Text(banner, style="bold white on red", justify="center"), style="red"),
        Text.assemble((" ALARM ", "bold white on red"), " ", one_line(verdict.line())),
        Text(""),
    ]


def _standing(standing: Standing | None, marked: Marked) -> list[RenderableType]:
    """What this laptop's standing among the production's laptops asks of people, shown as a
    hold is: a banner no one walks past, then each line `status` prints, marked."""
    from rich.panel import Panel
    from rich.text import Text

    from safetycli.render.safe import one_line

    if standing is None or not marked:
        return []
    loud = "bold black on yellow"
    said = []
    if standing.waiting is not None:
        said.append(_("THIS LAPTOP IS NOT SYNCING: IT WAITS FOR A PRODUCER'S APPROVAL"))
    if standing.exceptions:
        n = len(standing.exceptions)
        said.append(
            ngettext(
                "{n} EXCEPTION BETWEEN LAPTOPS: A PRODUCER LOOKS INTO IT",
                "{n} EXCEPTIONS BETWEEN LAPTOPS: A PRODUCER LOOKS INTO THEM",
                n,
            ).format(n=n)
        )
    parts: list[RenderableType] = [
        Panel(Text("\n".join(said), style=loud, justify="center"), style="yellow")
    ]
    for word, line in marked:
        parts.append(Text.assemble((f" {one_line(word)} ", loud), " ", one_line(line)))
    parts.append(Text(""))
    return parts
