"""`safetycli checklists`: list, show and validate protocols.

No `from __future__ import annotations` here: Typer reads every command's signature on every
start, `--help` included, and string annotations make it evaluate each one again (about 1 ms
per three commands; bench/startup.py).
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.common import (
    FormatOption,
    Home,
    ListFormat,
    ListFormatOpt,
    TableOrJson,
    home_of,
)

if TYPE_CHECKING:
    from safetycli.catalog import Catalog

app = typer.Typer(
    help="The protocols: list, show as the crew sees them, validate.", no_args_is_help=True
)


def _catalog(home: Path | None) -> "Catalog":
    from safetycli.catalog import load_catalog
    from safetycli.workspace import optional_workspace

    ws = optional_workspace(home_of(home))
    return load_catalog(ws.checklists if ws else None)


@app.command("list")
def list_(fmt: ListFormatOpt = ListFormat.table, home: Home = None) -> None:
    """The shipped protocols and the production's own, with their versions."""
    from safetycli.cli.common import emit_listing
    from safetycli.protocache import listing
    from safetycli.workspace import optional_workspace

    # From the cache of the last listing when no protocol file (nor config.toml) changed.
    ws = optional_workspace(home_of(home))
    rows, problems = listing(ws.checklists if ws else None)
    emit_listing(fmt, "Protocols", ["id", "version", "title", "items", "origin"], rows)
    if problems:
        typer.echo(
            f"warning: {problems} problem(s) in protocol files; "
            "run `safetycli checklists validate`",
            err=True,
        )


@app.command("show")
def show(
    protocol_id: Annotated[
        str, typer.Argument(metavar="ID", help="Protocol id, e.g. firearm-scene.")
    ],
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    home: Home = None,
) -> None:
    """The protocol as the crew will see it: phases, questions, who signs, what stops work."""
    from safetycli.cli.common import console, print_json
    from safetycli.render.protocol_view import protocol_json, protocol_lines

    protocol = _catalog(home).get(protocol_id)
    if fmt is TableOrJson.json:
        print_json(protocol_json(protocol))
        return
    out = console()
    for line in protocol_lines(protocol):
        out.print(line)


@app.command("validate")
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (default: every protocol the tool would load)."),
    ] = None,
    home: Home = None,
) -> None:
    """Check protocol files; print `path:line:col: message` for every problem.

    Exit 0 when all are valid, 1 when problems were found, 2 when a path cannot be read."""
    from safetycli.catalog import id_clash
    from safetycli.errors import SafetyError
    from safetycli.protocache import protocol_files, shipped_dir
    from safetycli.protocol import check_file
    from safetycli.render.safe import one_line
    from safetycli.workspace import optional_workspace

    unreadable = 0

    def cannot_read(path: Path, why: str | None) -> None:
        nonlocal unreadable
        unreadable += 1
        typer.echo(f"error: cannot read {one_line(path)}: {why or 'unknown reason'}", err=True)

    targets = list(paths or [])
    if not targets:
        targets.append(shipped_dir())
        ws = optional_workspace(home_of(home))
        if ws and ws.checklists.is_dir():
            targets.append(ws.checklists)
    else:  # files named one by one may use this production's roles, if there is one here
        try:
            ws = optional_workspace(home_of(home))
        except SafetyError:
            ws = None
    problems = 0
    bad_files = 0
    roles: dict[str, str] = {}
    if ws is not None:
        try:
            roles = ws.roles()
        except SafetyError as err:  # the protocols are still checked, against the shipped roles
            typer.echo(f"{one_line(ws.config_path)}:1:1: {err.message.split(': ', 1)[-1]}")
            problems += 1
            bad_files += 1
    shipped = shipped_dir().resolve()
    files: list[Path] = []
    for target in targets:
        try:
            if target.is_dir():
                found = protocol_files(target)
                if paths and not found:
                    typer.echo(f"note: no .yaml or .yml files in {one_line(target)}", err=True)
                files += found
            elif target.is_file():
                files.append(target)
            elif target.exists():
                cannot_read(target, "not a regular file or folder")
            else:
                cannot_read(target, "no such file or folder")
        except OSError as err:
            cannot_read(target, err.strerror)

    seen: set[Path] = set()
    ids: dict[str, Path] = {}
    for path in files:
        key = path.resolve()
        if key in seen:  # named twice (a file and its folder): check it once
            continue
        seen.add(key)
        try:
            protocol, found = check_file(path, shipped=shipped in key.parents, roles=roles)
        except OSError as err:
            cannot_read(path, err.strerror)
            continue
        if protocol is not None and protocol.id in ids:
            found = [id_clash(path, protocol, ids[protocol.id])]
        elif protocol is not None:
            ids[protocol.id] = path
        for problem in found:
            typer.echo(str(problem))
        problems += len(found)
        bad_files += bool(found)

    checked = f"checked {len(seen)} file(s)"
    verdict = f"{problems} problem(s) in {bad_files} file(s)" if problems else "all valid"
    if unreadable:
        verdict += f"; {unreadable} path(s) could not be read"
    typer.echo(f"{checked}: {verdict}", err=True)
    if unreadable:
        raise typer.Exit(2)
    if problems:
        raise typer.Exit(1)


@app.command("publish")
def publish(
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID]...",
            help="The production's own protocols to send (default: every one not yet sent).",
            show_default=False,
        ),
    ] = None,
    approve_by: Annotated[
        str | None,
        typer.Option(
            "--approve-by",
            metavar="PRODUCER",
            help="The producer approving (default: the only producer on the roster).",
            show_default=False,
        ),
    ] = None,
    pin_stdin: Annotated[
        bool, typer.Option("--pin-stdin", help="Read the producer's PIN from stdin.")
    ] = False,
    home: Home = None,
) -> None:
    """A producer sends this laptop's own protocols to the production's other laptops, with
    their PIN: each laptop installs the text at its next `safetycli sync`, so every laptop runs
    the same bytes (raise `version` when changing one). 0 sent; 2 nothing to send or refused."""
    from safetycli import protoshare
    from safetycli.cli.common import workspace
    from safetycli.cli.crew import _Pins, _producer
    from safetycli.render.safe import one_line

    ws = workspace(home)
    with ws.open_log() as ledger:
        sent = protoshare.to_send(ledger, ws.checklists, list(ids or ()))  # before any PIN
        producer = _producer(ledger, approve_by)
        pin = _Pins(pin_stdin).existing(producer, "producer")
        protoshare.publish(ledger, sent, (producer, pin))
    for event in sent:
        d = event.data
        typer.echo(
            one_line(
                f"Published {d['protocol']} v{d['version']} ({d['sha256'][:12]}), approved by "
                f"{producer}: the other laptops take it at their next sync."
            )
        )
