"""What every command shares: the workspace option, output formats, the console, and turning a
domain error into one line on stderr with its exit code. Heavy imports stay inside functions so
`safetycli --help` does not pay for them."""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from safetycli.ledger import Ledger
    from safetycli.workspace import Workspace


# Each command's own `--home`. SAFETYCLI_HOME is read by workspace.py, not here, so that a
# `--home` typed before the command (`safetycli --home X status`) can rank above it: see `home_of`.
# (A callback on this option could do it too, but Typer inspects a callback for every command
# that has the option, about 4 ms of every start-up, `--help` included.)
Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="The workspace folder (default: SAFETYCLI_HOME, else the nearest .safetycli/ from "
        "here upward).",
        show_default=False,
    ),
]
# Every command that asks for PINs takes them from stdin with this flag; each command's help says
# whose PIN comes on which line.
PinStdin = Annotated[
    bool,
    typer.Option(
        "--pin-stdin",
        help="Read PINs from standard input, one a line, instead of asking.",
    ),
]

# `--central URL` on the review commands and sync (what they do with it: central_opt.py).
CentralOption = Annotated[
    str | None,
    typer.Option(
        "--central",
        metavar="URL",
        help="The production's central PostgreSQL (postgresql://user@host/db): read or sync "
        "every laptop's events there.",
        show_default=False,
    ),
]

# `--home` given before the command: set by the root callback (cli/__init__.py) on every
# invocation, so it never outlives the command line that gave it.
_home_before: list[Path | None] = [None]


def set_home_before(home: Path | None) -> None:
    _home_before[0] = home


def home_of(home: Path | None) -> Path | None:
    """The workspace folder the user named: `--home` after the command wins, then `--home`
    before it; None leaves it to SAFETYCLI_HOME, then the search upward (workspace.py). People
    type it in either place, and the one nearest the command is the one they meant."""
    return home if home is not None else _home_before[0]


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


def workspace(home: Path | None) -> Workspace:
    """The workspace, and from here on its language (`language` in config.toml) when neither
    SAFETYCLI_LANG nor a command's `--lang` said otherwise (i18n.resolve)."""
    from safetycli import i18n
    from safetycli.workspace import find_workspace

    found = find_workspace(home_of(home))
    i18n.use(i18n.resolve(configured=found.language))
    return found.telling(say_alarm)


def say_alarm(line: str) -> None:
    """An alarm about the log, as every command says it when it opens the log (the workspace
    calls this, `Workspace.notice`): one line on stderr, `ALARM: ` and what was found."""
    from safetycli.render.safe import visible

    typer.echo(visible(f"ALARM: {line}"), err=True)


def open_log(ws: Workspace, *, reading: bool = False) -> Ledger:
    """The workspace's log for a command. A log that went backwards or vanished (headmark.py)
    is refused by every command that writes; a command that only reads (`log`, `report`) opens
    what is left, after saying so on stderr (`say_alarm`): an investigator needs to read it."""
    return ws.open_log(strict=not reading)


def print_json(data: Any) -> None:
    import json

    from safetycli.render.safe import json_text

    typer.echo(json_text(json.dumps(data, indent=2, ensure_ascii=False)))


# --- shared output options for listing and report commands (one definition, every command) -------


ListFormatOpt = Annotated[ListFormat, FormatOption()]
OutputFile = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file instead of standard output.",
        dir_okay=False,
        show_default=False,
    ),
]


def stdout_is_terminal() -> bool:
    """One place to ask, so tests can see what a person at a terminal sees."""
    return sys.stdout.isatty()


def stream_json_list(items: Iterable[Any]) -> None:
    """A JSON array printed item by item, byte for byte what `print_json(list(items))` prints,
    without holding the list."""
    import json

    from safetycli.render.safe import json_text

    out = sys.stdout
    first = True
    for item in items:
        text = json_text(json.dumps(item, indent=2, ensure_ascii=False)).replace("\n", "\n  ")
        out.write(("[\n  " if first else ",\n  ") + text)
        first = False
    out.write("[]\n" if first else "\n]\n")
    out.flush()


def emit_listing(
    fmt: ListFormat, title: str, header: list[str], records: Iterable[dict[str, Any]]
) -> None:
    """Print records the way every listing command does: JSON (all keys), CSV (header columns,
    formulas neutralised) or a table (Rich on a terminal; tab-separated lines when piped, never
    cut at 80 columns). JSON and CSV stream: nothing holds the whole listing."""
    if fmt is ListFormat.json:
        stream_json_list(records)
        return
    if fmt is ListFormat.csv:
        import csv

        from safetycli.render.safe import csv_cell

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        for record in records:
            writer.writerow([csv_cell(_flat(record.get(k))) for k in header])
        return
    if not stdout_is_terminal():
        from safetycli.render.safe import one_line

        out = sys.stdout
        out.write("\t".join(header) + "\n")
        for record in records:
            cells = (one_line(_flat(record.get(k))) for k in header)
            out.write("\t".join(cells) + "\n")
        out.flush()
        return
    rows = [[_flat(record.get(k)) for k in header] for record in records]
    if not rows:
        typer.echo(f"No {title.lower()}.")
        return
    _rich_table(title, header, rows)


def _flat(value: Any) -> Any:
    """A list (a person's roles) as one cell: `armorer, first_ad`; JSON keeps the list."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def _rich_table(title: str | None, header: list[str], rows: list[list[Any]]) -> None:
    from rich.table import Table

    from safetycli.render.safe import markup

    table = Table(title=markup(title) if title else None, show_lines=False)
    for name in header:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(markup("" if v is None else v) for v in row))
    console().print(table)


def print_segments(lines: Iterable[list[tuple[str, str]]]) -> None:
    """Lines of (text, style) segments: styled with Rich on a terminal (no markup is parsed),
    plain text when piped."""
    if not stdout_is_terminal():
        out = sys.stdout
        for line in lines:
            out.write("".join(text for text, _ in line) + "\n")
        out.flush()
        return
    from rich.text import Text

    con = console()
    for line in lines:
        con.print(Text.assemble(*line), soft_wrap=False)


def write_output(text: str | Iterable[str], path: Path | None) -> None:
    """To the file named by -o (written whole, then moved into place, so a half-written report
    never exists), or to standard output. Pieces (a report made a run at a time) are written
    as they come."""
    chunks = [text] if isinstance(text, str) else text
    if path is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    from safetycli.errors import SafetyError

    path = path.expanduser()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            out.writelines(chunks)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise SafetyError(f"cannot write {path}: {err.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- PINs typed unseen ----------------------------------------------------------------------------


def hidden_prompt(
    text: str, *, instead: str = "--pin-stdin", what: str = "a PIN", **kw: Any
) -> str:
    """A hidden prompt that refuses rather than echoes. Without a terminal (cron, CI, a service),
    getpass warns (`GetPassWarning`) and reads the PIN with echo on; here that is one line naming
    the option that reads it from a script instead. CliRunner's own prompts never warn."""
    import getpass
    import warnings

    from safetycli.errors import SafetyError

    with warnings.catch_warnings():
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            return str(typer.prompt(text, hide_input=True, **kw))
        except getpass.GetPassWarning:
            typer.echo("")  # end the prompt's line
            raise SafetyError(f"no terminal here to type {what} unseen: use {instead}") from None


def terminal_for_pins() -> bool:
    """Whether a PIN can be typed unseen, asked before a walk-through starts: getpass hides
    input on the controlling terminal, or on stdin when stdin is one. When something other than
    getpass reads hidden input (Click's test runner swaps its own in), that decides instead."""
    import getpass

    where = getattr(typer.prompt, "__module__", "")  # Click's termui, or Typer's copy of it
    reader = getattr(sys.modules.get(where), "hidden_prompt_func", getpass.getpass)
    if reader is not getpass.getpass and getattr(reader, "__module__", "") != where:
        return True
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return sys.stdin.isatty()
    os.close(fd)
    return True
