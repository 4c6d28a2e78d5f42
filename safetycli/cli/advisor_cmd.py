"""`safetycli advisor`: the independent safety advisor (California's pilot, 2025-2030): a halt of
all firearm work that only they and a producer lift, and each scene's written risk assessment,
which firearm protocols then require. Thin over `safetycli.incidents`."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.common import Home, PinStdin
from safetycli.i18n import N_, _

if TYPE_CHECKING:
    from safetycli.ledger import Ledger

HELP = "The safety advisor: halt firearm work, record a scene's risk assessment."
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)

By = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="NAME",
        help="The safety advisor acting (default: the only one on the roster).",
        show_default=False,
    ),
]


PROMPTS = {
    "halt firearm work": N_("{name} (safety advisor), your PIN to halt firearm work"),
    "record a risk assessment": N_("{name} (safety advisor), your PIN to record a risk assessment"),
}


def _advisor(ledger: "Ledger", by: str | None, pin_stdin: bool, doing: str) -> str:
    """The advisor's roster name, proven by their PIN."""
    from safetycli import crew
    from safetycli.cli.signers import prove, who_acts

    if by is None:  # the only advisor on the roster, as the armory names its only armorer
        able = [m.name for m in crew.roster(ledger) if m.has_role("safety_advisor")]
        by = able[0] if len(able) == 1 else None
    named = {"safety_advisor": by} if by else {}
    (signer,) = who_acts(
        ledger, ["safety_advisor"], named, pin_stdin=pin_stdin, what=f"{doing} is done"
    )
    said = PROMPTS.get(doing)  # the log keeps `doing` in English; the advisor reads theirs
    prompt = (
        _(said).format(name=signer.name)
        if said
        else f"{signer.name} (safety advisor), your PIN to {doing}"
    )
    prove(ledger, signer.name, "safety_advisor", f"advisor: {doing}", None, pin_stdin, prompt)
    return signer.name


@app.command("halt")
def halt(
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why work stops.")],
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Halt all firearm work in the production, as a last resort: no firearm protocol starts or
    goes on until the safety advisor and a producer close it (`safetycli incident close`). With
    --pin-stdin: line 1 the advisor's PIN."""
    from safetycli import incidents, production
    from safetycli.cli.common import stdout_is_terminal, workspace
    from safetycli.render.safe import one_line

    incidents.halt("i-000000", reason, "-")  # bad input refused before the PIN
    ws = workspace(home)
    with ws.open_log() as ledger:
        advisor = _advisor(ledger, by, pin_stdin, "halt firearm work")
        incident_id = incidents.fresh_id(production.load(ledger).incidents)
        ledger.append_many([incidents.halt(incident_id, reason, advisor)])
        found = production.load(ledger).incidents.find(incident_id)
    if stdout_is_terminal():  # it stops all firearm work: as loud as an incident that does
        from safetycli.cli.common import console
        from safetycli.cli.terminal import incident_panel

        incident_panel(console(), found, zone=ws.zone_or_utc())
        return
    said = _("HALT {id} recorded by {advisor}: {text}")
    typer.echo(one_line(said.format(id=found.id, advisor=advisor, text=found.text)))
    said = _("No firearm protocol starts or goes on until: {command}")
    typer.echo(one_line(said.format(command=found.close_command())))


@app.command("assess")
def assess(
    scene: Annotated[str, typer.Option("--scene", metavar="S", help="The scene assessed.")],
    text: Annotated[
        str | None,
        typer.Option("--text", metavar="TEXT", help="The assessment itself.", show_default=False),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            metavar="PATH",
            help="The assessment's file: its sha256 is recorded, not the file.",
            show_default=False,
        ),
    ] = None,
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Record the safety advisor's written risk assessment for a scene (its text, or the sha256
    of its file); revised by recording it again. Where the production has a safety advisor,
    firearm protocols refuse a scene without one. With --pin-stdin: line 1 the advisor's PIN."""
    import hashlib

    from safetycli import incidents
    from safetycli.cli.common import workspace
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    digest = None
    if file is not None:
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError as err:
            raise SafetyError(f"cannot read {one_line(str(file))}: {err.strerror}") from None
    name = file.name if file is not None else None
    incidents.assess(scene, "-", text, digest, name)  # bad input refused before the PIN
    with workspace(home).open_log() as ledger:
        advisor = _advisor(ledger, by, pin_stdin, "record a risk assessment")
        ledger.append_many([incidents.assess(scene, advisor, text, digest, name)])
    if digest:
        said = _("Risk assessment for scene {scene} recorded: file {name} (sha256 {digest}).")
    else:
        said = _("Risk assessment for scene {scene} recorded: text.")
    scene_said = " ".join(scene.split())
    typer.echo(one_line(said.format(scene=scene_said, name=name, digest=digest)))
