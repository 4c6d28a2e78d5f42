"""`safetycli report`: the producer's report for a shooting day or a period, exceptions first."""

import contextlib
import enum
from collections.abc import Callable, Iterator
from typing import Annotated

import typer

from safetycli.cli.central_opt import CentralOption
from safetycli.cli.common import FormatOption, Home, OutputFile


class ReportFormat(enum.StrEnum):
    """The report's formats. Here, not in common.py: only the report has them, and making an
    enum costs every other command's start-up about 0.1 ms."""

    md = "md"
    html = "html"
    json = "json"
    csv = "csv"


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    day: Annotated[
        str | None,
        typer.Option(
            "--day",
            metavar="YYYY-MM-DD",
            help="The shooting day (default: today in the production's time zone).",
            show_default=False,
        ),
    ] = None,
    from_day: Annotated[
        str | None,
        typer.Option("--from", metavar="YYYY-MM-DD", help="First shooting day of a period."),
    ] = None,
    to_day: Annotated[
        str | None,
        typer.Option("--to", metavar="YYYY-MM-DD", help="Last shooting day of a period."),
    ] = None,
    fmt: Annotated[ReportFormat, FormatOption()] = ReportFormat.md,
    output: OutputFile = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="LANG",
            help="The report's language for md and html: en or es (default: SAFETYCLI_LANG, "
            "the workspace's language, else your locale). JSON and CSV stay English.",
            show_default=False,
        ),
    ] = None,
    central: CentralOption = None,
    home: Home = None,
) -> None:
    """The producer's report: exceptions first (holds and how they were cleared, refused and
    not-applicable items, runs left open or aborted, failed PINs and lock-outs, signatures by
    anyone not signed in), then every run with its signers, then the log's head to check later
    with `safetycli verify --expect-head SEQ:HASH`. With --central, every unit's runs from the
    production's server."""
    import sys

    from safetycli import i18n
    from safetycli.cli.central_opt import review_source
    from safetycli.cli.common import workspace, write_output
    from safetycli.review import RunFilter, build_report
    from safetycli.workspace import optional_workspace

    # The production office reads the server without a laptop's workspace of its own.
    if lang is not None and i18n.shipped(lang) is None:
        from safetycli.errors import SafetyError

        raise SafetyError(
            i18n._("--lang {lang}: the report is written in {languages}").format(
                lang=lang, languages=", ".join(i18n.SHIPPED)
            )
        )
    ws = workspace(home) if central is None else optional_workspace(home)
    # JSON keys and CSV columns and codes are read by programs: the same in every language.
    machine = fmt in (ReportFormat.json, ReportFormat.csv)
    said = i18n.SOURCE if machine else i18n.resolve(lang, ws.language if ws else None)
    zone = ws.timezone if ws is not None else "UTC"
    if day is None and from_day is None and to_day is None:
        from safetycli.days import today

        day = today(zone)  # where the production shoots, as `run` files its runs
    filters = RunFilter.build(day=day, from_day=from_day, to_day=to_day)
    with review_source(ws, central) as ledger, contextlib.ExitStack() as stack:
        progress = None
        if sys.stderr.isatty():
            progress = stack.enter_context(_progress_bar())
        production = ws.production if ws is not None else ledger.production()
        # The runs wait on disk (runspool.py) and are written out one at a time: a season's
        # report holds one run, not thousands.
        data = build_report(
            ledger, filters, production=production, timezone=zone, progress=progress, spool=True
        )
    from safetycli.render import report as render

    try:
        with i18n.speaking(said):  # the chunks are made as they are written: both inside
            if fmt is ReportFormat.json:
                chunks = render.json_chunks(data)
            elif fmt is ReportFormat.html:
                chunks = render.html_chunks(data, zone)
            elif fmt is ReportFormat.csv:
                chunks = render.csv_chunks(data)
            else:
                chunks = render.markdown_chunks(data, zone)
            write_output(chunks, output)
    finally:
        data["runs"].close()
    if output is not None:
        typer.echo(i18n._("Report written to {path}").format(path=output), err=True)


@contextlib.contextmanager
def _progress_bar() -> Iterator[Callable[[int, int], None]]:
    """A transient bar on stderr while the runs are read. It appears only once the work has
    taken half a second, so a day's report (a fraction of that) never flickers one."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from safetycli.cli.common import console

    bar = Progress(
        TextColumn("reading runs"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console(stderr=True),
        transient=True,
    )
    task = bar.add_task("runs", total=None)
    begun = time.monotonic()
    shown = False

    def tick(done: int, total: int) -> None:
        nonlocal shown
        bar.update(task, completed=done, total=total)
        if not shown and time.monotonic() - begun > 0.5 and done < total:
            bar.start()
            shown = True

    try:
        yield tick
    finally:
        if shown:
            bar.stop()
