"""`run`, `resume`, `hold`, `clear`, `abort`: the walk-through and stop-work commands."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from safetycli.cli.common import Home, PinStdin
from safetycli.i18n import N_, _

if TYPE_CHECKING:
    from safetycli.armory import Outgoing
    from safetycli.ledger import Ledger
    from safetycli.protocol import Protocol
    from safetycli.runner import RunState
    from safetycli.session import Frontend
    from safetycli.workspace import Workspace

AnswersOpt = Annotated[
    Path | None,
    typer.Option(
        "--answers",
        help="Answer from a YAML file instead of the keyboard (training, demos, tests).",
    ),
]
ByName = Annotated[
    str | None, typer.Option("--by", help="Your name on the roster (asked if not given).")
]


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("resume")(resume)
    app.command("hold")(hold)
    app.command("clear")(clear)
    app.command("abort")(abort)


@contextmanager
def _open_run(home: Path | None, run_id: str) -> Iterator[tuple["Workspace", "Ledger", "RunState"]]:
    """The workspace, its open log, and the run as replayed from it: what every command that
    acts on an existing run starts from."""
    from safetycli.cli.common import workspace
    from safetycli.session import load_state

    ws = workspace(home)
    with ws.open_log() as ledger:
        yield ws, ledger, load_state(ledger, run_id)


def _protocol(ws: "Workspace", protocol_id: str) -> "Protocol":
    from safetycli.catalog import load_catalog

    return load_catalog(ws.checklists).get(protocol_id)


def _frontend(
    protocol: "Protocol", answers: Path | None, context: dict[str, Any], zone: str = "UTC"
) -> "Frontend":
    from safetycli.cli.common import console
    from safetycli.cli.terminal import TerminalFrontend

    if answers is None:
        from safetycli.cli.common import terminal_for_pins
        from safetycli.errors import SafetyError

        if not terminal_for_pins():  # asked before a run starts, not at the first PIN
            raise SafetyError(
                _(
                    "no terminal here to type PINs unseen: walk through at a terminal, or answer "
                    "from a file with --answers FILE"
                )
            )
        return TerminalFrontend(console(), protocol, zone)
    from safetycli.answers import check_against, load_answers
    from safetycli.errors import SafetyError
    from safetycli.session import FileFrontend, parse_fact

    answers_file = load_answers(answers)
    check_against(answers_file, protocol)
    for name, value in answers_file.context.items():
        if name not in protocol.context:
            raise answers_file.fail(("context", name), f"`{protocol.id}` asks no fact `{name}`")
        if name not in context:
            try:
                context[name] = parse_fact(name, protocol.context[name], value)
            except SafetyError as err:
                raise answers_file.fail(("context", name), err.message) from None
    return FileFrontend(answers_file, "")


def _walk(
    ledger: "Ledger",
    protocol: "Protocol",
    run_id: str,
    frontend: "Frontend",
    answers: Path | None,
    zone: str = "UTC",
) -> None:
    """Drive the run and turn where it stopped into the documented exit code."""
    import sqlite3

    from safetycli.cli.common import console
    from safetycli.cli.terminal import TerminalFrontend, scene_panel, set_langs
    from safetycli.errors import EXIT_HELD, EXIT_OPEN, SafetyError
    from safetycli.session import FileFrontend, drive, incident_of

    again = f"safetycli resume {run_id}" + (f" --answers {answers}" if answers else "")
    if isinstance(frontend, FileFrontend):
        frontend.resume_hint = _("resume with: {command}").format(command=again)
    try:
        state = drive(ledger, protocol, run_id, frontend)
    except (KeyboardInterrupt, EOFError, typer.Abort):
        typer.echo(
            "\n"
            + _(
                "Paused: run {run} is left open and nothing confirmed is lost. "
                "Continue with: {command}"
            ).format(run=run_id, command=again),
            err=True,
        )
        raise typer.Exit(EXIT_OPEN) from None
    except SafetyError as err:
        if err.exit_code == EXIT_OPEN:
            typer.echo(_("Left open: {why}").format(why=err.message), err=True)
            raise typer.Exit(EXIT_OPEN) from None
        raise SafetyError(_left_open(err.message, run_id, again)) from None
    except sqlite3.DatabaseError as err:  # a read that failed (a damaged page, a disk error)
        from safetycli.logfailures import describe

        message = describe(err, writing=False)
        raise SafetyError(_left_open(message, run_id, again)) from None
    if isinstance(frontend, FileFrontend):
        if state.scene_stop is not None:
            scene_panel(
                console(), state.scene_stop, resume=run_id, zone=zone, langs=set_langs(state)
            )
        elif state.status == "held":
            found = incident_of(ledger, state)
            TerminalFrontend(console(), protocol, zone).hold_panel(state, state.open_hold, found)
        else:
            from safetycli.cli.terminal import _status_word

            typer.echo(
                _("Run {run}: {status}").format(run=run_id, status=_status_word(state.status))
            )
    if state.status == "held" or state.scene_stop is not None:
        raise typer.Exit(EXIT_HELD)
    if state.status != "complete":
        raise typer.Exit(EXIT_OPEN)


def _left_open(message: str, run_id: str, again: str) -> str:
    return _("{problem} (run {run} is left open: {command})").format(
        problem=message, run=run_id, command=again
    )


def run(
    protocol_id: Annotated[
        str, typer.Argument(metavar="PROTOCOL", help="Protocol id, e.g. firearm-scene.")
    ],
    scene: Annotated[str, typer.Option("--scene", help="The scene, e.g. 12A.")],
    day: Annotated[
        str | None,
        typer.Option(
            "--day", help="Shooting day, YYYY-MM-DD (default: today in the production's time zone)."
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="A fact the protocol asks at start."),
    ] = None,
    answers: AnswersOpt = None,
    firearms: Annotated[
        list[str] | None,
        typer.Option(
            "--firearm", metavar="SERIAL", help="A firearm the run takes out of the armory."
        ),
    ] = None,
    rounds: Annotated[
        list[str] | None,
        typer.Option("--rounds", metavar="LOT=COUNT", help="Rounds the run takes out, by lot."),
    ] = None,
    home: Home = None,
) -> None:
    """Walk the crew through a protocol for a scene: roll call, then every check in order.

    Exit 0 complete, 3 stopped on a hold, 4 left open (resumable), 2 bad input."""
    from safetycli.cli.common import console, workspace
    from safetycli.errors import SafetyError
    from safetycli.render.safe import markup
    from safetycli.session import check_start, parse_day, parse_sets, start_run

    ws = workspace(home)
    protocol = _protocol(ws, protocol_id)
    zone = ws.zone_or_utc()
    day_text = parse_day(day, zone)
    context = parse_sets(protocol, sets or [])
    frontend = _frontend(protocol, answers, context, zone)
    with ws.open_log() as ledger:
        try:
            # A held scene or a forgotten open run is said before anything else is printed.
            scene = check_start(ledger, protocol, frontend, scene, day_text)
            outgoing = _outgoing(ledger, protocol, frontend, firearms, rounds, day_text)
            if answers is None:
                console().rule(
                    _("[bold]{title}[/bold] · scene {scene} · {day}").format(
                        title=markup(protocol.title), scene=markup(scene), day=day_text
                    )
                )
            run_id = start_run(
                ledger,
                protocol,
                frontend,
                scene=scene,
                day=day_text,
                context=context,
                checked=True,
                outgoing=outgoing,
            )
        except (KeyboardInterrupt, EOFError, typer.Abort):
            # Stopped at a starting question: there is no run to resume, so this is not exit 4;
            # and click's own "Aborted!" would exit 1, which means "problems found".
            typer.echo("")  # end the prompt's line
            raise SafetyError(
                _(
                    "stopped before the run started: nothing was recorded (facts can be given "
                    "with --set KEY=VALUE)"
                )
            ) from None
        if answers is None:
            console().print(
                _("Run [bold]{run}[/bold] started. Ctrl-C pauses it safely.").format(run=run_id)
            )
        _walk(ledger, protocol, run_id, frontend, answers, zone)


def _outgoing(
    ledger: "Ledger",
    protocol: "Protocol",
    frontend: "Frontend",
    firearms: list[str] | None,
    rounds: list[str] | None,
    day: str,
) -> "Outgoing | None":
    """The firearms and lots the run takes out: from the command line, the answers file, or
    asked at the keyboard when the production keeps an armory; checked before anything is
    recorded (session.check_outgoing)."""
    from safetycli import armory
    from safetycli.session import FileFrontend, check_outgoing, takes_firearms_out

    serials = list(firearms or [])
    lots = [armory.parse_rounds(text) for text in rounds or []]
    if isinstance(frontend, FileFrontend):
        serials += frontend.file.firearms
        lots += frontend.file.rounds
    elif not serials and not lots and takes_firearms_out(protocol):
        if armory.has_inventory(armory.current(ledger)):
            said = str(typer.prompt(_("Firearms going out, by serial (space between)"), default=""))
            serials = said.split()
            said = str(typer.prompt(_("Rounds going out, LOT=COUNT (space between)"), default=""))
            lots = [armory.parse_rounds(text) for text in said.split()]
    outgoing = armory.Outgoing(tuple(serials), tuple(lots))
    return check_outgoing(ledger, protocol, outgoing, day)


def resume(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID")],
    answers: AnswersOpt = None,
    home: Home = None,
) -> None:
    """Continue an open run at the first check not yet done (after Ctrl-C, a crash, or a
    cleared hold, whose failed check is asked again). Everyone signs in again first, and the
    checks after a break come first. Refused while its scene is held."""
    from safetycli import production
    from safetycli.errors import SafetyError
    from safetycli.runner import roles_still_needed, walked
    from safetycli.session import (
        CardsNotice,
        check_roster,
        firearm_work,
        resume_run,
        signers_named,
    )
    from safetycli.storage import LogUnwritable

    with _open_run(home, run_id) as (ws, ledger, state):
        if state.status == "aborted":
            reason = (state.aborted or {}).get("reason", "")
            raise SafetyError(
                _("run {run} was aborted ({reason}): it cannot be resumed; start a new run").format(
                    run=run_id, reason=reason
                )
            )
        protocol = _protocol(ws, state.protocol["id"])
        others = production.scene_stops(
            ledger, state.scene, state.day, except_run=run_id, firearms=firearm_work(protocol)
        )
        if others and state.status != "held":
            raise SafetyError(others[0].line())
        zone = ws.zone_or_utc()
        frontend = _frontend(protocol, answers, dict(state.context), zone)
        if state.status == "open":
            walking = walked(protocol, state)
            still = roles_still_needed(walking, state)
            named = signers_named(frontend)
            notes = check_roster(ledger, walking, state.context, still, named, resuming=True)
            if notes:
                frontend.show(CardsNotice(tuple(notes)))
        try:
            resume_run(ledger, run_id)
        except LogUnwritable as err:  # a lock held too long, a full disk: try again later
            again = f"safetycli resume {run_id}" + (f" --answers {answers}" if answers else "")
            raise SafetyError(_left_open(err.message, run_id, again)) from None
        _walk(ledger, protocol, run_id, frontend, answers, zone)


SceneOpt = Annotated[
    str | None,
    typer.Option("--scene", help="Stop work on every run of this scene (no run id needed)."),
]


def hold(
    run_id: Annotated[str | None, typer.Argument(metavar="[RUN_ID]")] = None,
    reason: Annotated[str, typer.Option("--reason", help="What is wrong, in plain words.")] = "",
    scene: SceneOpt = None,
    day: Annotated[
        str | None, typer.Option("--day", help="With --scene: the shooting day, YYYY-MM-DD.")
    ] = None,
    by: ByName = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Stop work: on an open run (anyone on the roster, with their PIN, without question), or
    on a whole scene with --scene (anyone at all, no PIN: the record says it was not checked)."""
    from safetycli.errors import SafetyError

    if (run_id is None) == (scene is None):
        raise SafetyError(
            _(
                "name the run (safetycli hold RUN_ID --reason ...) or the scene "
                "(safetycli hold --scene 12A --reason ...), one of the two"
            )
        )
    from safetycli.limits import REASON_MAX, cut
    from safetycli.logfailures import loud_if_stop

    reason, was_cut = cut(reason)
    if was_cut:  # stopping work is never refused for its wording: the reason is cut, not lost
        typer.echo(_("The reason was cut to {n} characters.").format(n=REASON_MAX), err=True)

    with loud_if_stop(True):
        if scene is not None:
            from safetycli.cli.scene_cmd import hold_scene

            hold_scene(home, scene, day, reason, by)
            return
        assert run_id is not None
        _hold_run(run_id, reason, by, pin_stdin, home)


def _hold_run(run_id: str, reason: str, by: str | None, pin_stdin: bool, home: Path | None) -> None:
    from safetycli import runner
    from safetycli.cli.common import console, stdout_is_terminal
    from safetycli.cli.signers import maybe_prove, stopper
    from safetycli.cli.terminal import hold_panel
    from safetycli.errors import SafetyError
    from safetycli.session import load_state

    # No protocol file is read: stopping work must not depend on a file someone can break. Nor
    # on the roster or a PIN: anyone may stop work; a PIN, when given, proves who it was.
    with _open_run(home, run_id) as (ws, ledger, state):
        runner.check_holdable(state, reason)  # before any PIN: a refusal must not cost a try
        if pin_stdin and not by:
            raise SafetyError(_("with --pin-stdin, say who you are with --by NAME"))
        signer, member = stopper(ledger, by, state.signed_in)
        authenticated = member is not None and maybe_prove(
            ledger, member, signer.role, run_id, pin_stdin
        )
        state = load_state(ledger, run_id)  # as it is now, after the time it took to type a PIN
        try:  # only to look past the after-break checks; never a reason not to stop work
            protocol: Protocol | None = runner.walked(_protocol(ws, state.protocol["id"]), state)
        except Exception:  # noqa: BLE001 - a broken or missing file must not block a hold
            protocol = None
        events = runner.raise_hold(state, signer, reason, protocol, authenticated=authenticated)
        for event in ledger.append_many(events):
            state.apply(event)
        hold_panel(
            console(),
            state,
            state.open_hold,
            runner.clearing_roles(None, state),
            zone=ws.zone_or_utc(),
            plain=not stdout_is_terminal(),  # the panel is for people; a pipe gets the lines
        )


def clear(
    run_id: Annotated[str | None, typer.Argument(metavar="[RUN_ID]")] = None,
    note: Annotated[str, typer.Option("--note", help="What was found and what was done.")] = "",
    scene: Annotated[
        str | None, typer.Option("--scene", help="Lift the stop-work on this scene.")
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            metavar="ROLE=NAME",
            help="Who clears for a role (default: who is signed in for it in this run).",
        ),
    ] = None,
    unverified: Annotated[
        str | None,
        typer.Option(
            "--unverified",
            metavar="DEVICE:SEQ",
            help="Lift a stop-work of a laptop whose sync the server refused, as `status` "
            "names it (a producer among those who clear it).",
        ),
    ] = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Clear a hold: each role the protocol names confirms in person with their PIN. Then
    `safetycli resume RUN_ID` asks the failed check again. With --scene: the armorer and the
    1st AD lift a stop-work on the scene (with a producer when a refused laptop's is among it).
    With --unverified: a refused laptop's stop-work, by its clearing roles and a producer."""
    from safetycli.errors import SafetyError

    if sum(x is not None for x in (run_id, scene, unverified)) != 1:
        raise SafetyError(
            _(
                "name the run (safetycli clear RUN_ID --note ...) or the scene "
                "(safetycli clear --scene 12A --note ...), one of the two"
            )
        )
    if unverified is not None:
        from safetycli.cli.scene_cmd import clear_unverified

        clear_unverified(home, unverified, note, by, pin_stdin)
        return
    if scene is not None:
        from safetycli.cli.scene_cmd import clear_scene

        clear_scene(home, scene, note, by, pin_stdin)
        return
    assert run_id is not None
    _clear_run(run_id, note, by, pin_stdin, home)


def _no_open_incident(ledger: "Ledger", run_id: str) -> None:
    """A hold on a run with an open incident is lifted by closing the incident (which clears
    the run's hold with it), never by the run's own clearers."""
    from safetycli import production
    from safetycli.errors import SafetyError

    for incident in production.load(ledger).incidents.open():
        if incident.run == run_id:
            raise SafetyError(
                f"run {run_id} has open {incident.spec.label} {incident.id}: the "
                f"{incident.closers_text()} close it, which clears this hold too: "
                f"{incident.close_command()}"
            )


def _clear_run(
    run_id: str, note: str, by: list[str] | None, pin_stdin: bool, home: Path | None
) -> None:
    from safetycli import runner
    from safetycli.cli.signers import parse_by, prove_all, who_acts
    from safetycli.errors import SafetyError
    from safetycli.ledger import RunMoved
    from safetycli.render import fmt
    from safetycli.render.safe import one_line
    from safetycli.session import load_state

    named = parse_by(by)
    # The roles the run recorded when it started: editing the protocol file cannot change them.
    with _open_run(home, run_id) as (_ws, ledger, state):
        shown = runner.check_clearable(state, note)
        _no_open_incident(ledger, run_id)
        raiser = shown.raised_by or {}
        if raiser:
            line = _("Hold on run {run}: {reason} (raised by {name}, {role})")
        else:
            line = _("Hold on run {run}: {reason}")
        typer.echo(
            one_line(
                line.format(
                    run=run_id,
                    reason=shown.reason,
                    name=raiser.get("name"),
                    role=fmt.role(raiser.get("role")),
                )
            )
        )
        # Who clears for each role (named, else signed in, else asked), all checked before
        # anyone types a PIN: a refusal after the first PIN would cost that person a try.
        clearers = who_acts(
            ledger,
            runner.clearing_roles(None, state),
            named,
            pin_stdin=pin_stdin,
            what="a hold on this run is cleared",
            defaults={**state.signers, **state.signed_in},
        )
        runner.check_clearers(None, state, clearers)
        prove_all(ledger, clearers, "clear hold", run_id, pin_stdin, doing=N_("clear the hold"))
        state = load_state(ledger, run_id)  # as it is now, after the time it took to type PINs
        moved = SafetyError(
            _(
                "run {run} changed while the PINs were typed: nothing was cleared; "
                "look at it again (safetycli status) and clear again"
            ).format(run=run_id)
        )
        if state.open_hold is None or state.open_hold.seq != shown.seq:
            raise moved
        try:
            ledger.append_many(
                runner.clear_hold(None, state, clearers, note),
                if_run_at=(run_id, state.last_seq),
            )
        except RunMoved:
            raise moved from None
    typer.echo(
        _("Hold cleared on run {run}. Continue with: safetycli resume {run}").format(run=run_id)
    )


ABORT_ROLES = ("first_ad", "producer")


def abort(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why the run will not be finished, in plain words.")
    ],
    by: ByName = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """End a run that will not be finished (scene cut, moved to another day): the 1st AD or a
    producer, with their PIN. Its record stays in the log and reports show it as aborted; an
    uncleared hold on it stays uncleared."""
    from safetycli import crew, runner
    from safetycli.cli.signers import prove
    from safetycli.errors import SafetyError
    from safetycli.limits import check_length
    from safetycli.session import load_state

    with _open_run(home, run_id) as (ws, ledger, state):
        runner.check_abortable(state)  # before any PIN: a refusal must not cost a try
        if not reason.strip():
            raise SafetyError(_("aborting a run needs a reason: --reason TEXT"))
        check_length(reason, "a reason")
        member = crew.find(ledger, by or typer.prompt(_("Your name")))
        role = next((r for r in ABORT_ROLES if r in member.roles), None)
        if role is None:
            raise SafetyError(
                _(
                    "{name} cannot abort a run: only a 1st AD or a producer can "
                    "(anyone can stop work with `safetycli hold`)"
                ).format(name=member.name)
            )
        prompt = _("{name}, your PIN").format(name=member.name)
        prove(ledger, member.name, role, "abort", run_id, pin_stdin, prompt)
        state = load_state(ledger, run_id)
        ledger.append_many(runner.abort(state, runner.Signer(member.name, role), reason.strip()))
    typer.echo(
        _("Run {run} aborted by {name} ({role}). Its record stays in the log.").format(
            run=run_id, name=member.name, role=role
        )
    )
