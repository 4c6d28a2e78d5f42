"""`safetycli init`: create a production's workspace."""

from typing import Annotated

import typer

from safetycli.cli.common import Home


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(
    production: Annotated[
        str, typer.Option("--production", "-p", help="The production's name, shown on reports.")
    ] = "Untitled production",
    home: Home = None,
) -> None:
    """Create a workspace in ./.safetycli/ (or --home DIR) for this production."""
    from safetycli import recovery
    from safetycli.cli.recovery_cmd import print_code
    from safetycli.events import WorkspaceCreated
    from safetycli.ledger import Ledger
    from safetycli.workspace import init_workspace

    ws = init_workspace(home, production)
    with Ledger.open(ws.db_path) as ledger:
        ledger.append_many([WorkspaceCreated(production=production).new()])
        code = recovery.issue(ledger, "init")
    typer.echo(f"Workspace created at {ws.root}")
    print_code(code)
    typer.echo(
        "Next: add two producers (one can unlock the other): "
        "safetycli crew add NAME --role producer"
    )
