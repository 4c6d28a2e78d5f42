"""`safetycli init`: create a production's workspace."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.common import Home, home_of

if TYPE_CHECKING:
    from safetycli.workspace import Workspace


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
    from_central: Annotated[
        str | None,
        typer.Option(
            "--from-central",
            metavar="URL",
            help="Join the production whose central server this is: the first run shows a join "
            "code for a producer to approve (`safetycli join approve CODE` on one of the "
            "production's laptops); the second sets this laptop up with the production's secret, "
            "roster and PINs.",
            show_default=False,
        ),
    ] = None,
    home: Home = None,
) -> None:
    """Create a workspace in ./.safetycli/ (or --home DIR) for this production, or join one with
    --from-central URL: 0 created or joined, or a join code shown (run it again once approved);
    2 refused (not yet approved, altered approval) or server unreachable."""
    if from_central is not None:
        _join(from_central, timezone, home)
        return
    from safetycli import recovery, zones
    from safetycli.cli.recovery_cmd import print_code
    from safetycli.events import WorkspaceCreated
    from safetycli.headmark import HeadMarks
    from safetycli.workspace import init_workspace, production_name

    production = production_name(production)
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


def _join(url: str, timezone: str | None, home: Home) -> None:
    """`init --from-central URL`: ask to join (a code to approve), then, once approved, set up."""
    from safetycli import recovery, zones
    from safetycli.central import approval, join
    from safetycli.central.store import CentralStore
    from safetycli.central.sync import alarm_error, sync
    from safetycli.cli.recovery_cmd import print_code
    from safetycli.errors import SafetyError
    from safetycli.events import WorkspaceCreated
    from safetycli.headmark import HeadMarks
    from safetycli.workspace import DIRNAME, Workspace, init_workspace

    root = home_of(home) or Path.cwd() / DIRNAME
    root = Path(root).expanduser()
    if (root / "config.toml").is_file():
        raise SafetyError(f"a workspace already exists at {root}: nothing was changed")
    zone = zones.check(timezone) if timezone is not None else zones.laptop_zone()
    waiting = join.pending(root)
    if waiting is None:
        with CentralStore.connect(url) as store, store.talking():
            store.migrate()
            made = join.start(root, url)
            try:
                store.join_request(join.request_id(made.code))
            except BaseException:
                made.path.unlink(missing_ok=True)
                raise
        typer.echo(f"Join code: {join.shown(made.code)}")
        typer.echo(
            "A producer types it on one of the production's laptops: safetycli join approve "
            f"{join.shown(made.code)} . Then run this command again here."
        )
        return
    with CentralStore.connect(waiting.url) as store, store.talking():
        known, wrapped = store.join_take(join.request_id(waiting.code))
    if not known:
        waiting.path.unlink(missing_ok=True)
        raise SafetyError(
            "the server has no open join for this laptop's code (spent, or the server was reset): "
            "run this command again for a new code"
        )
    if wrapped is None:
        raise SafetyError(
            "not approved yet: a producer runs `safetycli join approve "
            f"{join.shown(waiting.code)}` on one of the production's laptops, then run this "
            "command again"
        )
    secret, production = join.unwrap(waiting.code, wrapped)
    ws = Workspace(init_workspace(root, production, zone).root, production_secret=secret)
    HeadMarks(ws.root).reset()
    with ws.open_log(create=True) as ledger:
        ledger.append_many([WorkspaceCreated(production=production).new()])
        # Its own recovery code: a producer locked out on this laptop gets back in here (the
        # codes are each laptop's own, never pulled; recovery.py).
        code = recovery.issue(ledger, "join")
        print_code(code)  # now: a first sync that fails must not lose it
        key_file = ledger.key.path if ledger.key is not None else None
        write_central(ws, waiting.url)
        # The pending join is kept until a sync gets this laptop in: its token is what lets it
        # in, and a first sync cut by the network must not leave it waiting for a producer.
        try:
            result = sync(ledger, waiting.url, join_token=approval.join_token(waiting.code))
        except SafetyError as err:
            raise SafetyError(
                f"joined {production} at {ws.root}, but its first sync failed ({err.message}): "
                "run `safetycli sync` there",
                err.exit_code,
            ) from None
        if not result.alarms:
            waiting.path.unlink(missing_ok=True)  # spent: this laptop is in
    from safetycli.render.safe import one_line

    typer.echo(f"Joined {production}: workspace created at {ws.root}")
    for line in result.lines():  # they quote what other laptops wrote: data
        typer.echo(one_line(line))
    if key_file is not None:
        typer.echo(
            f"Device key: {key_file} (outside the workspace; it holds the production secret). "
            "Keep a copy off this laptop."
        )
    if result.alarms:
        raise alarm_error(result)


def write_central(ws: "Workspace", url: str) -> None:
    """Name the server in config.toml, so `sync` needs no --central here."""
    import json

    from safetycli.filemodes import write_private_text

    text = ws.config_path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    write_private_text(ws.config_path, f"{text}central = {json.dumps(url)}\n")
