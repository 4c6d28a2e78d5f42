"""`safetycli sync`: push this laptop's events to the production's central server and pull what
it needs from the other laptops (central/sync.py). Exit 0 synced; 1 alarm (the server refused a
forked or altered chain, this laptop's or one it pulled); 2 unreachable or bad input."""

from __future__ import annotations

from contextlib import ExitStack

import typer

from safetycli.cli.central_opt import CentralOption
from safetycli.cli.common import Home


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)


def sync(central: CentralOption = None, home: Home = None) -> None:
    """Push this laptop's events to the central server and pull the other laptops' stop-work
    holds (server: --central URL, else SAFETYCLI_CENTRAL, else `central` in config.toml): 0
    synced; 1 alarm (a forked or altered chain refused); 2 server unreachable."""
    from safetycli.central import central_url, redact
    from safetycli.central.sync import alarm_error
    from safetycli.central.sync import sync as run_sync
    from safetycli.cli.common import workspace
    from safetycli.cli.progress import bar_on_stderr

    ws = workspace(home)
    url = central_url(central, ws.config())
    with ExitStack() as stack:
        ledger = stack.enter_context(ws.open_log())
        result = run_sync(ledger, url, progress=bar_on_stderr(stack, "Pushing events"))
    for line in result.lines():
        typer.echo(line)
    for alarm in result.alarms[1:]:
        typer.echo(f"alarm: {alarm.line()}", err=True)
    if result.alarms:
        raise alarm_error(result)
    typer.echo(f"Synced with {redact(url)}.")
