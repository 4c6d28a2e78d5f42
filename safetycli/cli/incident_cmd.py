"""`safetycli incident`: the register of misfires, discharges, injuries, near misses, rounds nobody
can identify, live rounds found and complaints; and closing each with what was done.

Thin over `safetycli.incidents` (the fold and its rules): this asks who acts and prints. Reporting
never needs a PIN or a roster name (stop-work authority; a complaint may be anonymous); closing
needs the PIN of every role the incident's kind names.
"""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from safetycli.cli.common import FormatOption, Home, ListFormat, PinStdin, TableOrJson
from safetycli.i18n import _

if TYPE_CHECKING:
    from safetycli.events import Signer
    from safetycli.incidents import Incident
    from safetycli.ledger import Ledger
    from safetycli.unverified import UnverifiedStop

HELP = "Incidents and complaints: report (no PIN needed), list, show, close with what was done."
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)


IncidentId = Annotated[str, typer.Argument(metavar="ID", help="The incident, e.g. i-3f2a1c.")]


def _say(text: str) -> None:
    from safetycli.render.safe import one_line

    typer.echo(one_line(text))


def _closed_by(found: "Incident") -> str:
    """The roles that close an incident, as the reader says them (`productor y armero`)."""
    from safetycli.roles import spoken

    # Translators: the word joining the last two of a list ("armorer and 1st AD").
    return _(" and ").join(spoken(r) for r in found.closers)


def _kind(found: "Incident") -> str:
    return _(found.spec.label)


def _who(ledger: "Ledger", by: str | None, anonymous: bool) -> tuple[str | None, str | None]:
    """The reporter as they chose to be named: nobody (anonymous), a roster member in their
    first role, or a name as typed (not on the roster). Never refused, never a PIN."""
    from safetycli import crew
    from safetycli.cli.common import stdout_is_terminal
    from safetycli.errors import SafetyError

    if anonymous:
        return None, None
    typed = by
    if typed is None and stdout_is_terminal():
        typed = str(
            typer.prompt(
                _("Your name (Enter to report anonymously)"), default="", show_default=False
            )
        )
    if not typed or not typed.strip():
        return None, None
    try:
        member = crew.find(ledger, typed)
    except SafetyError:  # not on the roster (or a roster nobody can trust): as typed
        return crew.clean_name(typed), None
    return member.name, member.roles[0]


@app.command("report")
def report(
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            metavar="misfire|unplanned-discharge|injury|near-miss|unidentified-round|"
            "live-round-found|complaint",
            help="What happened.",
        ),
    ],
    text: Annotated[str, typer.Option("--text", metavar="TEXT", help="What happened, in words.")],
    scene: Annotated[
        str | None, typer.Option("--scene", metavar="S", help="The scene.", show_default=False)
    ] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", metavar="RUN_ID", help="The run it happened in.", show_default=False),
    ] = None,
    firearm: Annotated[
        list[str] | None,
        typer.Option("--firearm", metavar="SERIAL", help="A firearm involved (repeat)."),
    ] = None,
    lot: Annotated[
        list[str] | None,
        typer.Option("--lot", metavar="LOT", help="A lot of rounds involved (repeat)."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="NAME",
            help="Your name (optional; asked at a terminal).",
            show_default=False,
        ),
    ] = None,
    anonymous: Annotated[bool, typer.Option("--anonymous", help="Record no name at all.")] = False,
    home: Home = None,
) -> None:
    """Report an incident or a complaint. Anyone may, on the roster or not, with no PIN; a
    complaint may be anonymous. A stopping kind holds all firearm work until it is closed; an
    unplanned discharge or an injury also freezes the firearms and lots involved (with none
    named, every firearm and lot out of storage now)."""
    from safetycli import incidents, production
    from safetycli.cli.common import stdout_is_terminal, workspace
    from safetycli.errors import SafetyError
    from safetycli.logfailures import loud_if_stop
    from safetycli.render.safe import one_line
    from safetycli.session import has_advisor, out_for_run

    spec = incidents.kind_of(kind)
    incidents.report(  # bad input refused before anything is asked
        incident_id="i-000000",
        kind=spec.id,
        text=text,
        name=None,
        role=None,
        authenticated=False,
        closers=(),
    )
    ws = workspace(home)
    with loud_if_stop(spec.stops), ws.open_log() as ledger:
        scene_name = " ".join(scene.split()) if scene else None
        firearms = [s.strip() for s in firearm or [] if s.strip()]
        lots = [s.strip() for s in lot or [] if s.strip()]
        if run is not None:
            run = run.strip()
            start = next(iter(ledger.events(run=run, kinds=["run.started"])), None)
            if start is None:
                raise SafetyError(f"no run {one_line(run)} in the log: see `safetycli log list`")
            scene_name = scene_name or start.data["scene"]
            out_firearms, out_lots = out_for_run(ledger, run)
            firearms += out_firearms
            lots += out_lots
        firearms, lots = _spelled(ledger, firearms, lots)
        if spec.freezes and not (firearms or lots):
            firearms, lots = out_for_run(ledger, None)  # freeze the scene: everything out
        name, role = _who(ledger, by, anonymous)
        incident_id = incidents.fresh_id(production.load(ledger).incidents)
        event = incidents.report(
            incident_id=incident_id,
            kind=spec.id,
            text=text,
            name=name,
            role=role,
            authenticated=False,
            closers=incidents.closing_roles(spec.id, has_advisor(ledger)),
            scene=scene_name,
            run=run,
            firearms=firearms,
            lots=lots,
        )
        ledger.append_many([event])
        after = production.load(ledger).incidents
    found = after.find(incident_id)
    repeated = after.repeated_misfires_said(found.firearms)
    if found.stops and stdout_is_terminal():
        # Someone at the keyboard: as loud as a HOLD. Scripts and pipes keep the lines below.
        from safetycli.cli.common import console
        from safetycli.cli.terminal import incident_panel

        incident_panel(
            console(),
            found,
            zone=ws.zone_or_utc(),
            warnings=lambda: after.repeated_misfires_said(found.firearms),
        )
        return
    if found.reported_by is None:
        said = _("Incident {id} recorded: {kind}, reported anonymously.")
    else:
        said = _("Incident {id} recorded: {kind}, reported by {who}.")
    _say(said.format(id=found.id, kind=_kind(found), who=found.who))
    if found.stops:
        _say(
            _(
                "STOP: no firearm protocol starts or goes on until the {roles} close it: {command}"
            ).format(roles=_closed_by(found), command=found.close_command())
        )
    else:
        _say(
            _("To close it: the {roles}: {command}").format(
                roles=_closed_by(found), command=found.close_command()
            )
        )
    if found.freezes and (found.firearms or found.lots):
        what = ", ".join([*found.firearms, *found.lots])
        _say(
            _(
                "FROZEN: {what}: leave everything exactly as it is: no unloading, hand-over, "
                "return or count until the incident is closed."
            ).format(what=what)
        )
    for line in repeated:
        _say(_("WARNING: {text}").format(text=line))


def _spelled(ledger: "Ledger", firearms: list[str], lots: list[str]) -> tuple[list[str], list[str]]:
    """Serials and lots as the armory spells them, where it knows them; as typed otherwise."""
    from safetycli import armory

    state = armory.current(ledger)
    named_firearms = []
    for serial in firearms:
        found = state.firearm(serial)
        named_firearms.append(found.serial if found else armory.clean(serial, "serial"))
    named_lots = []
    for name in lots:
        found_lot = state.lot(name)
        named_lots.append(found_lot.lot if found_lot else armory.clean(name, "lot"))
    return list(dict.fromkeys(named_firearms)), list(dict.fromkeys(named_lots))


def _row(
    incident: "Incident", now: Any, unverified: "UnverifiedStop | None" = None, words: str = ""
) -> dict[str, Any]:
    """`unverified`: the refused laptop's stop-work the incident came as (unverified.py): marked
    so (`words`: how the status a table or CSV shows says it: the reader's word on a table,
    English in CSV), with the command that clears it (on a table, in the reader's words)."""
    from safetycli.incidents import age

    row = {
        **incident.as_json(),
        "age": age(incident.at, now) if incident.is_open else "",
        "involved": incident.involved(),
        "by": incident.who,
        "must_close": incident.closers_text() if incident.is_open else "",
    }
    if unverified is not None:
        row |= _unverified_keys(incident, unverified)
        if words:
            row["status"] += f", {words}"
        if words and words != _UNVERIFIED and incident.is_open:
            row["must_close"] = unverified.clear_said()
    return row


_UNVERIFIED = "UNVERIFIED"  # the mark CSV keeps, English as its codes


def _unverified_keys(incident: "Incident", u: "UnverifiedStop") -> dict[str, Any]:
    """What marks a refused laptop's incident: the alarm, and how it is cleared (a producer
    among the roles), instead of `incident close`."""
    return {
        "unverified": True,
        "frozen": False,  # custody never waits on an unverified incident: it only stops work
        "device": u.device,
        "alarm": u.alarm,
        "ref": u.ref,
        "must_close": u.clear_command if incident.is_open else "",
        "clear": u.clear_command if incident.is_open else None,
    }


@app.command("list")
def list_(
    fmt: Annotated[ListFormat, FormatOption()] = ListFormat.table,
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    home: Home = None,
) -> None:
    """Every incident, open ones first: kind, age, what is involved, who must close it."""
    from datetime import UTC, datetime

    from safetycli import production
    from safetycli.cli.common import emit_listing, open_log, workspace
    from safetycli.unverified import incidents

    with open_log(workspace(home), reading=True) as ledger:
        state = production.load(ledger)
        pairs = incidents(ledger, state)
    unverified = {id(i): u for u, i in pairs}  # marked unverified, by the entry itself
    register = state.incidents
    now = datetime.now(UTC)
    # Newest first by time: numbers are per laptop once other laptops' incidents are pulled.
    every = [*register.incidents.values(), *(i for _u, i in pairs)]
    newest = sorted(every, key=lambda i: (i.at, i.seq), reverse=True)
    shown = sorted(newest, key=lambda i: not i.is_open)
    if open_only:
        shown = [i for i in shown if i.is_open]
    # Translators: the mark on a refused laptop's incident in `incident list` ("open, UNVERIFIED").
    words = {ListFormat.json: "", ListFormat.csv: _UNVERIFIED}.get(fmt, _("UNVERIFIED"))
    rows = [_row(i, now, unverified.get(id(i)), words) for i in shown]
    for row, incident in zip(rows, shown, strict=True) if fmt is ListFormat.table else ():
        row["involved"] = incident.involved_said()  # the reader's words; CSV and JSON English
    # Reported on another laptop of the production (pulled by sync): which one.
    units = ["device"] if any(i.device is not None for i in shown) else []
    for row in rows if units and fmt is not ListFormat.json else ():
        row.setdefault("device", "this laptop")
    header = ["id", "kind", "status", "age", "involved", "by", *units, "must_close", "text"]
    emit_listing(fmt, "Incidents", header, rows)
    if fmt is ListFormat.table:
        for line in register.repeated_misfires_said():
            _say(_("WARNING: {text}").format(text=line))


@app.command("show")
def show(
    incident_id: IncidentId,
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    home: Home = None,
) -> None:
    """One incident: what happened, what it involves, who reported it, who must close it, and
    once closed, who closed it and what was done."""
    from safetycli import production
    from safetycli.cli.common import open_log, print_json, workspace
    from safetycli.errors import SafetyError
    from safetycli.roles import spoken
    from safetycli.unverified import incidents

    unverified = None
    ws = workspace(home)
    with open_log(ws, reading=True) as ledger:
        state = production.load(ledger)
        try:
            found = state.incidents.find(incident_id)
        except SafetyError:
            # A refused laptop's incident (unverified.py), named by its id or `DEVICE:SEQ`.
            typed = incident_id.strip()
            named = [(u, i) for u, i in incidents(ledger, state) if typed in (i.id, u.ref)]
            if not named:
                raise
            unverified, found = named[0]
    if fmt is TableOrJson.json:
        extra = {} if unverified is None else _unverified_keys(found, unverified)
        print_json(found.as_json() | extra)
        return
    zone = ws.timezone  # every time as people read them: in the production's zone, named
    if found.is_open:
        head = _("Incident {id}: {kind} (OPEN)")
    else:
        head = _("Incident {id}: {kind} (closed)")
    _say(head.format(id=found.id, kind=_kind(found)))
    if unverified is not None:
        _say(
            _(
                "UNVERIFIED: reported on laptop {device}, whose sync the server refused "
                "({alarm}); not part of the production's record, and it stops firearm work all "
                "the same"
            ).format(device=unverified.device, alarm=unverified.alarm)
        )
    _say(_("What happened: {text}").format(text=found.text))
    if found.involved():
        _say(_("Involved: {what}").format(what=found.involved_said()))
    _say(_("Reported by: {name}, at {at}").format(name=found.who, at=_at(found.at, zone)))
    if found.stops:
        _say(_("Stops firearm work while open: yes"))
    if found.frozen_now and unverified is None:  # only a verified incident freezes custody
        _say(_("Freezes what it involves: yes, until released or closed"))
    elif found.released_at:
        _say(
            _("Freeze released at {at}: {note}").format(
                at=_at(found.released_at, zone), note=found.release_note
            )
        )
    if found.is_open and unverified is not None:
        _say(_("Must clear it: {command}").format(command=unverified.clear_said()))
    elif found.is_open:
        _say(
            _("Must close it: {roles}: {command}").format(
                roles=_closed_by(found), command=found.close_command()
            )
        )
    elif unverified is not None:
        names = ", ".join(f"{c['name']} ({spoken(str(c['role']))})" for c in found.closed_by or [])
        _say(
            _("Cleared at {at} by {names}: {note}").format(
                at=_at(found.closed_at, zone), names=names, note=found.action
            )
        )
    else:
        names = ", ".join(f"{c['name']} ({spoken(str(c['role']))})" for c in found.closed_by or [])
        _say(_("Closed at {at} by {names}").format(at=_at(found.closed_at, zone), names=names))
        _say(_("Action: {action}").format(action=found.action))


def _at(at: str | None, zone: str) -> str:
    """A logged time as `status` shows it: in the production's zone, named (UTC when the zone
    is not in the time zone database)."""
    from safetycli.render.fmt import local_times

    return local_times(at, zone) if at else ""


def _closers(
    ledger: "Ledger", found: "Incident", by: list[str] | None, pin_stdin: bool, doing: str
) -> "list[Signer]":
    """Every role the incident names, each a different person, each PIN proven: in the order
    the --by options name them, then the rest in the kind's order."""
    from safetycli import incidents
    from safetycli.cli.signers import parse_by, prove_all, who_acts

    named = parse_by(by)
    order = [r for r in named if r in found.closers]
    order += [r for r in found.closers if r not in order]
    people = who_acts(
        ledger, order, named, pin_stdin=pin_stdin, what=f"incident {found.id}: {doing} is done"
    )
    incidents.check_closers(found, people)
    prove_all(ledger, people, doing, None, pin_stdin, doing=doing)
    return people


ByRoles = Annotated[
    list[str] | None,
    typer.Option(
        "--by",
        metavar="ROLE=NAME",
        help="Who acts for a role (repeat; asked at a terminal otherwise).",
    ),
]


@app.command("release")
def release(
    incident_id: IncidentId,
    note: Annotated[
        str, typer.Option("--note", metavar="TEXT", help="Who examined what, and what was found.")
    ],
    by: ByRoles = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Lift an incident's freeze once the firearms and rounds were examined, so they can be made
    safe and locked up: the roles that close it, each with their PIN. The incident stays open,
    and firearm work stays stopped, until it is closed with its corrective action."""
    from safetycli import incidents, production
    from safetycli.cli.common import workspace
    from safetycli.errors import SafetyError

    with workspace(home).open_log() as ledger:
        found = production.load(ledger).incidents.find(incident_id)
        incidents.check_releasable(found, note)  # before anyone types a PIN
        people = _closers(ledger, found, by, pin_stdin, "release the freeze")

        def still_frozen() -> None:
            if not production.load(ledger).incidents.find(found.id).frozen_now:
                raise SafetyError(f"incident {found.id} changed meanwhile: nothing recorded")

        ledger.append_many([incidents.release(found, note, people)], guard=still_frozen)
    _say(
        _(
            "Freeze of incident {id} released: its firearms and rounds may be made safe and "
            "locked up. Firearm work stays stopped until it is closed: {command}"
        ).format(id=found.id, command=found.close_command())
    )


@app.command("close")
def close(
    incident_id: IncidentId,
    action: Annotated[
        str, typer.Option("--action", metavar="TEXT", help="The corrective action: what was done.")
    ],
    by: ByRoles = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Close an incident with the corrective action: every role its kind names, each in person
    with their PIN (an injury or an unplanned discharge: a producer and the armorer, never the
    armorer and the 1st AD alone; the safety advisor too where the production has one). Lifts
    its stop and its freeze; a run it held is cleared with it. With --pin-stdin: one PIN per
    line, in the order of the --by options."""
    from safetycli import incidents, production, runner
    from safetycli.cli.common import workspace
    from safetycli.errors import SafetyError
    from safetycli.session import load_state

    with workspace(home).open_log() as ledger:
        found = production.load(ledger).incidents.find(incident_id)
        incidents.check_closable(found, action)
        _say(
            _("Incident {id}: {kind}: {text}").format(
                id=found.id, kind=_kind(found), text=found.text
            )
        )
        closers = _closers(ledger, found, by, pin_stdin, "close the incident")
        now = production.load(ledger).incidents.find(found.id)
        if not now.is_open:
            raise SafetyError(f"incident {found.id} was closed meanwhile: nothing was recorded")
        events = [incidents.close(now, action, closers)]
        cleared_run = None
        # A run of this laptop's own: another laptop's run is cleared there, once it syncs.
        if now.run is not None and now.item is not None and now.device is None:
            state = load_state(ledger, now.run)
            hold = state.open_hold
            if hold is not None and hold.key == now.item:
                try:
                    events += runner.clear_hold(None, state, closers, action)
                    cleared_run = now.run
                except SafetyError as err:
                    _say(
                        _("Run {run} stays on hold ({why}): safetycli clear {run}").format(
                            run=now.run, why=err.message
                        )
                    )

        def still_open() -> None:  # under the write lock: two closes never both land
            if not production.load(ledger).incidents.find(found.id).is_open:
                raise SafetyError(f"incident {found.id} was closed meanwhile: nothing recorded")

        ledger.append_many(events, guard=still_open)
    _say(_("Incident {id} closed. Its stop and freeze are lifted.").format(id=found.id))
    if cleared_run is not None:
        _say(
            _("Hold cleared on run {run}. Continue with: safetycli resume {run}").format(
                run=cleared_run
            )
        )
