"""`safetycli log list` and `log show`: find runs, read one run's whole record."""

from typing import Annotated

import typer

from safetycli.cli.central_opt import CentralOption
from safetycli.cli.common import FormatOption, Home, ListFormat, ListFormatOpt, TableOrJson

app = typer.Typer(
    help="Review the log: list runs, show one run's full record.", no_args_is_help=True
)

LIST_COLUMNS = [
    "id",
    "day",
    "scene",
    "protocol",
    "status",
    "holds",
    "started_at",
    "ended_at",
    "scene_held",
]


def _opt(flag: str, help_text: str, metavar: str) -> typer.models.OptionInfo:
    return typer.Option(flag, help=help_text, metavar=metavar, show_default=False)


@app.command("list")
def list_(
    day: Annotated[str | None, _opt("--day", "Runs of this shooting day.", "YYYY-MM-DD")] = None,
    from_day: Annotated[
        str | None, _opt("--from", "Runs from this shooting day on.", "YYYY-MM-DD")
    ] = None,
    to_day: Annotated[
        str | None, _opt("--to", "Runs up to this shooting day.", "YYYY-MM-DD")
    ] = None,
    scene: Annotated[str | None, _opt("--scene", "Runs of this scene.", "SCENE")] = None,
    status: Annotated[
        str | None, _opt("--status", "open, held, complete or aborted.", "STATUS")
    ] = None,
    protocol: Annotated[str | None, _opt("--protocol", "Runs of this protocol.", "ID")] = None,
    person: Annotated[
        str | None,
        _opt(
            "--person",
            "Runs this person took part in (signed in, signed, held, cleared, tried a PIN).",
            "NAME",
        ),
    ] = None,
    role: Annotated[
        str | None,
        _opt("--role", "Runs where someone (with --person: that person) signed as ROLE.", "ROLE"),
    ] = None,
    fmt: ListFormatOpt = ListFormat.table,
    central: CentralOption = None,
    home: Home = None,
) -> None:
    """Runs, newest shooting day first. Filters combine: every one given must match. With
    --central, every laptop's runs, each with the device it was recorded on."""
    from safetycli.cli.central_opt import review_source
    from safetycli.cli.common import emit_listing, workspace
    from safetycli.review import RunFilter, run_summaries
    from safetycli.workspace import optional_workspace

    # The production office reads the server without a laptop's workspace of its own.
    ws = workspace(home) if central is None else optional_workspace(home)
    filters = RunFilter.build(
        day=day,
        from_day=from_day,
        to_day=to_day,
        scene=scene,
        status=status,
        protocol=protocol,
        person=person,
        role=role,
        own_roles=ws.roles() if role is not None and ws is not None else None,
    )
    columns = LIST_COLUMNS if central is None else [*LIST_COLUMNS, "device"]
    with review_source(ws, central) as ledger:
        runs = run_summaries(ledger, filters)
        if central is not None:
            runs = ({**r, "device": ledger.device_of(r["id"])} for r in runs)
        if fmt is not ListFormat.json:  # a person reads "held"; JSON keeps the boolean
            runs = ({**r, "scene_held": "held" if r["scene_held"] else ""} for r in runs)
        emit_listing(fmt, "Runs", columns, runs)


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID")],
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    central: CentralOption = None,
    home: Home = None,
) -> None:
    """One run in order: every sign-off with who, as which role, what it means and when;
    witnesses and read-backs; holds and how long work stopped; not-applicable items; failed
    PINs. With --central, a run of any laptop (RUN@DEVICE when two laptops made that id)."""
    from safetycli.cli.central_opt import review_source
    from safetycli.cli.common import print_json, print_segments, workspace
    from safetycli.review import run_detail
    from safetycli.workspace import optional_workspace

    ws = workspace(home) if central is None else optional_workspace(home)
    from safetycli.runner import UnknownRun

    with review_source(ws, central) as ledger:
        try:
            detail = run_detail(ledger, run_id.strip())
        except UnknownRun as err:
            if central is None:
                raise
            raise UnknownRun(err.run_id, "safetycli log list --central URL") from None
        if central is not None:
            detail["device"] = ledger.device_of(run_id.strip())
    if fmt is TableOrJson.json:
        print_json(detail)
        return
    from safetycli.render.timeline import timeline

    print_segments(timeline(detail, ws.timezone if ws is not None else "UTC"))
