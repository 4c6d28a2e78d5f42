"""`safetycli checklists`: list, show and validate protocols."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.common import FormatOption, Home, TableOrJson

if TYPE_CHECKING:
    from safetycli.catalog import Catalog

app = typer.Typer(help="The protocols: list, show as the crew sees them, validate.", no_args_is_help=True)


def _catalog(home: Path | None) -> Catalog:
    from safetycli.catalog import load_catalog
    from safetycli.workspace import optional_workspace

    ws = optional_workspace(home)
    return load_catalog(ws.checklists if ws else None)


@app.command("list")
def list_(fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table, home: Home = None) -> None:
    """The shipped protocols and the production's own, with their versions."""
    from safetycli.cli.common import print_json, print_table

    catalog = _catalog(home)
    rows = []
    for protocol in sorted(catalog.protocols.values(), key=lambda p: p.id):
        origin = protocol.origin
        rows.append(
            {
                "id": protocol.id,
                "title": protocol.title,
                "version": protocol.version,
                "summary": protocol.summary,
                "origin": "shipped" if origin.shipped else "workspace",
                "path": str(origin.path),
                "sha256": origin.sha256,
                "phases": len(protocol.phases),
                "items": len(protocol.items()),
            }
        )
    if fmt is TableOrJson.json:
        print_json(rows)
    else:
        print_table(
            "Protocols",
            ["id", "version", "title", "items", "from"],
            [[r["id"], r["version"], r["title"], r["items"], r["origin"]] for r in rows],
        )
    if catalog.problems:
        typer.echo(
            f"warning: {len(catalog.problems)} problem(s) in protocol files; "
            "run `safetycli checklists validate`",
            err=True,
        )


@app.command("show")
def show(
    protocol_id: Annotated[str, typer.Argument(metavar="ID", help="Protocol id, e.g. firearm-scene.")],
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
    """Check protocol files; print `path:line:col: message` for every problem."""
    from safetycli.catalog import protocol_files, shipped_dir
    from safetycli.protocol import check_file
    from safetycli.workspace import optional_workspace

    files: list[Path] = []
    unreadable = 0
    if not paths:
        files = protocol_files(shipped_dir())
        ws = optional_workspace(home)
        if ws:
            files += protocol_files(ws.checklists)
    for path in paths or []:
        if path.is_dir():
            files += protocol_files(path)
        elif path.is_file():
            files.append(path)
        else:
            typer.echo(f"error: cannot read {path}: no such file or folder", err=True)
            unreadable += 1
    problems = 0
    ids: dict[str, Path] = {}
    for path in files:
        try:
            protocol, found = check_file(path)
        except OSError as err:
            typer.echo(f"error: cannot read {path}: {err.strerror}", err=True)
            unreadable += 1
            continue
        for problem in found:
            typer.echo(str(problem))
        problems += len(found)
        if protocol is not None:
            if protocol.id in ids:
                typer.echo(f"{path}:1:1: protocol id `{protocol.id}` is already used by {ids[protocol.id]}")
                problems += 1
            ids.setdefault(protocol.id, path)
    verdict = "all valid" if not problems else f"{problems} problem(s)"
    typer.echo(f"checked {len(files)} file(s): {verdict}", err=True)
    if unreadable:
        raise typer.Exit(2)
    if problems:
        raise typer.Exit(1)
