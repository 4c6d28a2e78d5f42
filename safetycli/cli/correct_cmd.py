"""`correct`: put right an earlier answer (a typo in a count at wrap), the original kept.

Without it, one mistyped number could leave a run with abort as its only way out. The person who
gave the answer and the 1st AD agree, each with their PIN and a note; the checks whose sums used
the old answer are asked again when the run is resumed."""

from __future__ import annotations

from typing import Annotated

import typer

from safetycli.cli.common import Home, PinStdin
from safetycli.i18n import N_


def register(app: typer.Typer) -> None:
    app.command("correct")(correct)


def correct(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID")],
    item_id: Annotated[
        str, typer.Argument(metavar="ITEM", help="The check's id, e.g. blanks-returned.")
    ],
    answer: Annotated[str, typer.Option("--answer", help="The right answer.")],
    note: Annotated[str, typer.Option("--note", help="What was wrong and how it was found.")] = "",
    take: Annotated[
        int | None, typer.Option("--take", help="For a check asked every take: which take.")
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            metavar="ROLE=NAME",
            help="Who agrees for a role (default: who gave the answer, and the 1st AD signed in).",
        ),
    ] = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Correct an earlier answer of an open or held run: who gave it and the 1st AD (a producer,
    when the 1st AD gave it) agree, each with their PIN. The original stays in the log; sums
    that used it are asked again on `safetycli resume RUN_ID`."""
    from safetycli import runner
    from safetycli.catalog import load_catalog
    from safetycli.cli.common import workspace
    from safetycli.cli.signers import parse_by, prove_all, who_acts
    from safetycli.errors import SafetyError
    from safetycli.ledger import RunMoved
    from safetycli.names import fold_name
    from safetycli.render.safe import one_line
    from safetycli.roles import role_name
    from safetycli.session import load_state, look_outside

    named = parse_by(by)
    ws = workspace(home)
    with ws.open_log() as ledger:
        state = load_state(ledger, run_id)
        protocol = load_catalog(ws.checklists).get(state.protocol["id"])
        if state.protocol.get("sha256") != protocol.origin.sha256:
            raise SafetyError(
                f"run {run_id} used {protocol.id} with different text than the protocol file has "
                "now: it cannot be corrected against this file"
            )
        protocol = runner.walked(protocol, state)
        target = runner.correction_target(protocol, state, item_id, take)
        outside, _ = look_outside(ledger, protocol, state)
        value = runner.check_correction(protocol, state, target, answer, note, outside)
        where = f" (take {target.take})" if target.take is not None else ""
        typer.echo(
            one_line(
                f"{target.item.question}{where}: {target.was}, given by {target.signer.name} "
                f"({role_name(target.signer.role)}); corrected to {value}"
            )
        )
        given = named.get(target.signer.role)
        if given is not None and fold_name(given) != fold_name(target.signer.name):
            raise SafetyError(
                f"a correction is agreed by whoever gave the answer: {target.signer.name} "
                f"({role_name(target.signer.role)}), not {given}"
            )
        signers = who_acts(
            ledger,
            [target.signer.role, target.second_role],
            {**named, target.signer.role: target.signer.name},
            pin_stdin=pin_stdin,
            what="a correction is agreed",
            defaults={**state.signers, **state.signed_in},
        )
        prove_all(ledger, signers, "correct an answer", run_id, pin_stdin, doing=N_("correct it"))
        state = load_state(ledger, run_id)  # as it is now, after the time it took to type PINs
        target = runner.correction_target(protocol, state, item_id, take)
        outside, seen = look_outside(ledger, protocol, state)
        events = runner.correct(protocol, state, target, answer, note, signers, outside)
        try:
            ledger.append_many(events, if_run_at=(run_id, state.last_seq))
        except RunMoved:
            raise SafetyError(
                f"run {run_id} changed while the PINs were typed: nothing was corrected; "
                "look at it again (safetycli log show) and correct again"
            ) from None
    sent_back = [key[2] for key in events[0].data["recheck"]]
    typer.echo(f"Corrected `{item_id}`; the original answer stays in the log.")
    if sent_back:
        typer.echo(f"Asked again because their sums used it: {', '.join(sent_back)}.")
    if state.status == "held":  # resume would only show the hold: it is cleared first
        typer.echo(
            f'Continue with: safetycli clear {run_id} --note "what was found and done", '
            f"then safetycli resume {run_id}"
        )
    else:
        typer.echo(f"Continue with: safetycli resume {run_id}")
