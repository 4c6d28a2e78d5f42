"""What every command shares: the workspace option, output formats, the console, and turning a
domain error into one line on stderr with its exit code. Heavy imports stay inside functions so
`safetycli --help` does not pay for them."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from safetycli.workspace import Workspace

Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="SAFETYCLI_HOME",
        help="The workspace folder (default: the nearest .safetycli/ from here upward).",
        show_default=False,
    ),
]


class TableOrJson(enum.StrEnum):
    table = "table"
    json = "json"


class ListFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def FormatOption() -> Any:  # noqa: N802 - reads like a type in signatures
    return typer.Option("--format", "-f", help="Output format.", case_sensitive=False)


def console(stderr: bool = False) -> Console:
    """Rich console that honours NO_COLOR; when piped, wide enough that nothing is cut."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    width = None
    if not is_tty:
        width = int(os.environ.get("COLUMNS", "0") or 0) or 200
    return Console(
        file=stream,
        width=width,
        highlight=False,
        emoji=False,
        no_color=bool(os.environ.get("NO_COLOR")) or None,
    )


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line on stderr; return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def workspace(home: Path | None) -> Workspace:
    from safetycli.workspace import find_workspace

    return find_workspace(home)


def print_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_csv(header: list[str], rows: list[list[Any]]) -> None:
    import csv

    from safetycli.render.safe import csv_cell

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])


def print_table(title: str | None, header: list[str], rows: list[list[Any]]) -> None:
    """A Rich table on a terminal; plain tab-separated lines when piped (never cut at 80)."""
    from safetycli.render.safe import markup, one_line

    if not sys.stdout.isatty():
        typer.echo("\t".join(header))
        for row in rows:
            typer.echo("\t".join(one_line("" if v is None else v) for v in row))
        return
    from rich.table import Table

    table = Table(title=markup(title) if title else None, show_lines=False)
    for name in header:
        table.add_column(name)
    for row in rows:
        table.add_row(*(markup("" if v is None else v) for v in row))
    console().print(table)
