"""`safetycli init`: create a production's workspace."""

from typing import Annotated

import typer

from safetycli.cli.common import Home, home_of


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(
    production: Annotated[
        str, typer.Option("--production", "-p", help="The production's name, shown on reports.")
    ] = "Untitled production",
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            metavar="ZONE",
            help="The production's time zone, an IANA name such as America/Denver: times on "
            "screen and in reports are shown in it (the log keeps UTC). Default: this laptop's "
            "zone, or UTC when it has no name.",
            show_default=False,
        ),
    ] = None,
    home: Home = None,
) -> None:
    """Create a workspace in ./.safetycli/ (or --home DIR) for this production."""
    from safetycli import recovery, zones
    from safetycli.cli.recovery_cmd import print_code
    from safetycli.events import WorkspaceCreated
    from safetycli.headmark import HeadMarks
    from safetycli.workspace import init_workspace

    zone = zones.check(timezone) if timezone is not None else zones.laptop_zone()
    ws = init_workspace(home_of(home), production, zone)
    # The one command that starts a log: a mark an earlier workspace here left behind is kept
    # aside and said out loud (a whole workspace deleted and made again is worth a question).
    old = HeadMarks(ws.root).reset()
    with ws.open_log(create=True) as ledger:
        ledger.append_many([WorkspaceCreated(production=production).new()])
        code = recovery.issue(ledger, "init")
        key_file = ledger.key.path if ledger.key is not None else None
    if old is not None and old.seq > 0:
        typer.echo(
            f"warning: a workspace here held {old.seq} events before (head {old.line()}); its "
            f"mark is kept as {old.where}.replaced-*. If nobody deleted it on purpose, tell the "
            "producer",
            err=True,
        )
    typer.echo(f"Workspace created at {ws.root}")
    laptop = "" if timezone is not None else ", this laptop's zone"
    typer.echo(f"Times are shown in {zone}{laptop} (`timezone` in {ws.config_path} changes it)")
    print_code(code)
    if key_file is not None:
        typer.echo(
            f"Device key: {key_file} (outside the workspace). Keep a copy off this laptop with "
            "the recovery code: without it this log can be read but not written."
        )
    typer.echo(
        "Next: add two producers (one can unlock the other): "
        "safetycli crew add NAME --role producer"
    )
