"""`safetycli sync`: push this laptop's events to the production's central server and pull what
it needs from the other laptops (central/sync.py). Exit 0 synced; 1 alarm (the server refused a
forked or altered chain, this laptop's or one it pulled); 2 unreachable or bad input."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.central_opt import CentralOption
from safetycli.cli.common import Home, PinStdin
from safetycli.cli.crew import ApproveBy
from safetycli.i18n import _

if TYPE_CHECKING:
    from safetycli.ledger import Ledger


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    register_join(app)


SyncApproveBy = Annotated[
    str | None,
    typer.Option(
        "--approve-by",
        metavar="PRODUCER",
        help="The production's first laptop only: the producer whose PIN lets it into the "
        "server (later laptops join, or are approved with `join approve-device`).",
        show_default=False,
    ),
]


def sync(
    central: CentralOption = None,
    approve_by: SyncApproveBy = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Push this laptop's events to the central server and pull the other laptops' stop-work
    holds (server: --central URL, else SAFETYCLI_CENTRAL, else `central` in config.toml): 0
    synced; 1 alarm (a forked or altered chain refused); 2 server unreachable, or this laptop
    not yet approved. With --pin-stdin: line 1 the producer's PIN."""
    from safetycli.central import approval, central_url, join, redact
    from safetycli.central.sync import alarm_error
    from safetycli.central.sync import sync as run_sync
    from safetycli.cli.common import workspace
    from safetycli.cli.progress import bar_on_stderr
    from safetycli.render.safe import one_line

    ws = workspace(home)
    url = central_url(central, ws.config())
    # A joined laptop whose first sync failed still holds its join: its token lets it in now.
    joining = join.pending(ws.root)
    with ExitStack() as stack:
        ledger = stack.enter_context(ws.open_log())
        producer = None
        if approve_by is not None:
            producer = _producer_checked(ledger, approve_by, pin_stdin, "approve this laptop")
        result = run_sync(
            ledger,
            url,
            progress=bar_on_stderr(stack, "Pushing events"),
            approved_by=producer,
            join_token=None if joining is None else approval.join_token(joining.code),
        )
    if joining is not None and not result.alarms:
        joining.path.unlink(missing_ok=True)  # this laptop is in: the join is spent
    # They quote what laptops wrote (role lines, ids): data.
    for line in result.lines(ws.zone_or_utc()):
        typer.echo(one_line(line))
    for alarm in result.alarms[1:]:
        typer.echo(f"alarm: {alarm.line()}", err=True)
    if result.alarms:
        raise alarm_error(result)
    typer.echo(_("Synced with {url}.").format(url=redact(url)))


join_app = typer.Typer(
    help="Let a new laptop join this production (`safetycli init --from-central URL` there).",
    no_args_is_help=True,
)


@join_app.command("approve")
def join_approve(
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="The join code the new laptop shows.")
    ],
    approve_by: ApproveBy = None,
    central: CentralOption = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Approve a new laptop's join with a producer's PIN: its production secret is wrapped under
    the code the new laptop shows and posted to the server (never readable there): 0 approved;
    2 wrong code, wrong PIN, or server unreachable. With --pin-stdin: line 1 the producer's PIN."""
    from safetycli.central import approval, central_url, join
    from safetycli.central.store import CentralStore
    from safetycli.cli.common import workspace
    from safetycli.errors import SafetyError

    typed = join.normal(code)
    ws = workspace(home)
    url = central_url(central, ws.config())
    with ws.open_log() as ledger:
        if ledger.key is None or ledger.device is None:
            raise SafetyError(ledger.keyless or "this log has no device key yet: sync it first")
        producer = _producer_checked(ledger, approve_by, pin_stdin, "let a laptop join")
        production = str(ws.config().get("production", ""))
        wrapped = join.wrap(typed, ledger.key.pepper, production)
        request = join.request_id(typed)
        hashed = approval.token_hash(approval.join_token(typed))
        registration = (
            hashed,
            ledger.device,
            producer,
            approval.join_mac(ledger.key.central_key, request, hashed),
        )
    with CentralStore.connect(url) as store, store.talking():
        store.migrate()
        refused = store.join_approve(request, wrapped, registration)
    if refused is not None:
        raise SafetyError(_("not approved: {why}").format(why=refused))
    typer.echo(
        _(
            "Approved by {producer}: the new laptop now runs `safetycli init --from-central URL` "
            "again to finish joining."
        ).format(producer=producer)
    )


@join_app.command("approve-device")
def join_approve_device(
    device: Annotated[
        str,
        typer.Argument(
            metavar="DEVICE", help="The waiting laptop's device id (its `sync` names it)."
        ),
    ],
    approve_by: ApproveBy = None,
    central: CentralOption = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Let a laptop that was set up on its own (plain `init`) into the production's server, with
    a producer's PIN on this approved laptop: 0 approved; 2 wrong PIN, unknown device, this
    laptop not approved itself, or server unreachable. With --pin-stdin: line 1 the PIN."""
    from safetycli.central import approval, central_url
    from safetycli.central.store import CentralStore
    from safetycli.cli.common import workspace
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    shown = one_line(device)  # typed text: never a second line or a control character
    ws = workspace(home)
    url = central_url(central, ws.config())
    with ws.open_log() as ledger:
        if ledger.key is None or ledger.device is None:
            raise SafetyError(ledger.keyless or "this log has no device key yet: sync it first")
        producer = _producer_checked(ledger, approve_by, pin_stdin, "approve a laptop")
        key, me = ledger.key, ledger.device
    with CentralStore.connect(url) as store, store.talking():
        store.migrate()
        key_id = store.key_id_of(device)
        if key_id is None:
            raise SafetyError(
                _(
                    "the server knows no device {device}: check the id its `sync` printed, or "
                    "sync it once first"
                ).format(device=shown)
            )
        mac = approval.device_mac(key.central_key, device, key_id)
        refused = store.approve(device, key_id, me, producer, mac)
    if refused is not None:
        raise SafetyError(
            _("device {device} not approved: {why}").format(device=shown, why=one_line(refused))
        )
    typer.echo(
        one_line(
            _(
                "Approved device {device} (key {key}) by {producer}: it now syncs with the "
                "production."
            ).format(device=device, key=key_id, producer=producer)
        )
    )


def _producer_checked(ledger: Ledger, approve_by: str | None, pin_stdin: bool, purpose: str) -> str:
    """The approving producer, their PIN checked (an `auth.ok` in this laptop's log)."""
    from safetycli import crew
    from safetycli.cli.crew import _Pins, _producer

    producer = _producer(ledger, approve_by)
    pin = _Pins(pin_stdin).existing(producer, "producer")
    crew.authenticate(ledger, producer, pin, role="producer", purpose=purpose)
    return producer


def register_join(app: typer.Typer) -> None:
    app.add_typer(join_app, name="join")
