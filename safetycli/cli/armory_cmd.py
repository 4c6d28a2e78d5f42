"""`safetycli armory`: the armorer's inventory and custody of every firearm and round.

Thin over `safetycli.armory` (the fold and its rules) and `safetycli.qualifications`: this asks
who acts and for their PINs, and prints. Every refusal that needs no PIN comes before the first
PIN is asked (an impossible hand-over, an expired permit, a lot without enough rounds), so a
refused command never costs a PIN try. Each custody event is written in one transaction with the
`auth.ok` of everyone whose PIN approved it, and the rule is checked again under the write lock:
another laptop may have moved the firearm while the PINs were typed.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from safetycli.cli.common import FormatOption, Home, ListFormat, PinStdin, TableOrJson
from safetycli.i18n import N_, _

if TYPE_CHECKING:
    from safetycli.armory import ArmoryState
    from safetycli.events import Declared, Event, NewEvent
    from safetycli.ledger import Ledger
    from safetycli.workspace import Workspace

# Loaded only when `safetycli armory` runs (cli/__init__.py registers it lazily): its commands
# cost `--help` and every other command nothing.
HELP = "The armory: every firearm and every round, who had it when."
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)
add_app = typer.Typer(
    help="Take a firearm or a lot of rounds into the inventory (the armorer's PIN).",
    no_args_is_help=True,
)
rounds_app = typer.Typer(
    help="Rounds out of storage and back, per lot: issue, fire, return, spoil (the armorer's PIN).",
    no_args_is_help=True,
)
app.add_typer(add_app, name="add")
app.add_typer(rounds_app, name="rounds")

By = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="ARMORER",
        help="The armorer acting (default: the only armorer on the roster).",
        show_default=False,
    ),
]
Run = Annotated[
    str | None,
    typer.Option(
        "--run",
        metavar="RUN_ID",
        help="The run this is for (see `safetycli log list`).",
        show_default=False,
    ),
]
Day = Annotated[
    str | None,
    typer.Option(
        "--day",
        metavar="YYYY-MM-DD",
        help="The shooting day (default today in the production's time zone; yesterday for a "
        "night shoot past midnight).",
        show_default=False,
    ),
]
Serials = Annotated[list[str], typer.Argument(metavar="SERIAL...", help="Firearm serials.")]
Serial = Annotated[str, typer.Argument(metavar="SERIAL", help="The firearm's serial.")]
LotOpt = Annotated[str, typer.Option("--lot", metavar="LOT", help="The lot, as on its box.")]
CountOpt = Annotated[int, typer.Option("--count", metavar="N", help="How many rounds.")]
KeyHolders = Annotated[
    list[str] | None,
    typer.Option(
        "--key-holder",
        metavar="NAME",
        help="Who holds a key to the storage from now (repeat; default: the armorer).",
        show_default=False,
    ),
]


class _Moved(Exception):
    """Raised under the write lock: the armory is no longer what the command checked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- who acts, and their PINs -------------------------------------------------------------------


# The production's time zone for the times these commands print (read where the workspace is
# opened, `_in_zone`); JSON and CSV keep the log's UTC, as everywhere else.
_zone = "UTC"


def _in_zone(ws: "Workspace") -> "Workspace":
    global _zone
    _zone = ws.zone_or_utc()
    return ws


def _t(at: str | None) -> str:
    """A log time as the crew reads it: in the production's zone, with its offset then (a
    night shoot's hand-over at 01:10 is read on the set's clock, not Greenwich's)."""
    from safetycli.armory import plain_time

    if not at:
        return ""
    if _zone == "UTC":
        return plain_time(at)
    from safetycli.render.fmt import clock, offset

    return f"{clock(at, zone=_zone)} {offset(at, _zone)}"


def _open(home: Path | None) -> "Ledger":
    from safetycli.cli.common import workspace

    return _in_zone(workspace(home)).open_log()


def _armorer(ledger: "Ledger", by: str | None, pin_stdin: bool, doing: str) -> str:
    """The armorer's roster name, checked before any PIN: on the roster as armorer, with an
    armorer's permit in force. Named with --by, else the only armorer, else asked."""
    from safetycli import crew, qualifications
    from safetycli.errors import SafetyError

    name = by
    if name is None:
        able = [m.name for m in crew.roster(ledger) if m.has_role("armorer")]
        if not able:
            raise SafetyError(
                "nobody is on the roster as armorer: a producer adds one "
                "(safetycli crew add NAME --role armorer)"
            )
        if len(able) == 1:
            name = able[0]
        elif pin_stdin:
            raise SafetyError("with --pin-stdin, name the armorer acting: --by NAME")
        else:
            name = str(typer.prompt("Armorer: your name"))
    member = crew.find(ledger, name)
    if not member.has_role("armorer"):
        raise SafetyError(
            f"{member.name} is not on the roster as armorer: only the armorer {doing}"
        )
    qualifications.require_armorer(ledger, member.name)
    return member.name


def _proof(
    ledger: "Ledger",
    name: str,
    role: str | None,
    purpose: str,
    pin_stdin: bool,
    said: str | None = None,
) -> "NewEvent":
    """One person's PIN, proven but not written: its `auth.ok` goes into the same transaction as
    the custody event it approves. At the keyboard a typo is asked again (each try recorded)."""
    from safetycli import crew
    from safetycli.cli.signers import read_pin
    from safetycli.roles import role_name

    title = f"{name} ({role_name(role)})" if role else name
    while True:
        pin = read_pin(pin_stdin, said or f"{title}, your PIN to {purpose}")
        try:
            ok = crew.prove(ledger, name, pin, role=role, purpose=f"armory: {purpose}")[1]
            return ok
        except crew.AuthError as err:
            if pin_stdin or err.final:
                raise
            typer.echo(_("Refused: {why}").format(why=err.message), err=True)


def _proofs(
    ledger: "Ledger", people: Sequence[tuple[str, str | None, str, str | None]], pin_stdin: bool
) -> "list[NewEvent]":
    """Each (name, role, purpose) in turn. When a later PIN is refused, the earlier ones were
    right: their tries are settled (written) so they do not count towards a lock-out."""
    done: list[NewEvent] = []
    for name, role, purpose, said in people:
        try:
            done.append(_proof(ledger, name, role, purpose, pin_stdin, said))
        except BaseException:
            if done:
                ledger.append_many(done)
            raise
    return done


def _record(
    ledger: "Ledger",
    proofs: "list[NewEvent]",
    events: "Sequence[Declared]",
    recheck: "Callable[[ArmoryState], object]",
) -> "list[Event]":
    """The approvals and the custody events, in one transaction, if the rule still holds under
    the write lock; otherwise only the approvals (the PINs were right), and one line."""
    from safetycli import armory
    from safetycli.errors import SafetyError

    def guard() -> None:
        try:
            recheck(armory.current(ledger))
        except SafetyError as err:
            raise _Moved(err.message) from None

    try:
        written = ledger.append_many([*proofs, *(e.new() for e in events)], guard=guard)
    except _Moved as moved:
        if proofs:
            ledger.append_many(proofs)
        raise SafetyError(
            f"nothing was recorded: the armory changed while the PINs were typed: {moved.message}"
        ) from None
    return written[len(proofs) :]


def _act(
    ledger: "Ledger",
    by: str | None,
    pin_stdin: bool,
    doing: str,
    rule: "Callable[[ArmoryState, str], Any]",
    purpose: "Callable[[Any], str]",
    receiver: str | None = None,
    state: "ArmoryState | None" = None,
    said: "Callable[[Any, str, str], str] | None" = None,
) -> tuple[str, list[Any], list["Event"]]:
    """One custody command, the same way every time: the rule checked against the armory as it
    is (with no armorer yet: bad input and impossible custody are refused before anyone is
    asked anything), the armorer named and their permit checked, the receiver's card checked,
    each PIN proven, then the events written with those proofs if the rule still holds under
    the write lock. `rule(state, armorer)` returns the event or events to write; `purpose` is
    what the log records the armorer's PIN was for (English), `said(event, name, role)` the
    armorer's prompt in the reader's language. Returns the armorer, the declared events and
    the events as written."""
    from safetycli import armory, custodycheck, qualifications

    state = armory.current(ledger) if state is None else state
    rule(state, "-")
    armorer = _armorer(ledger, by, pin_stdin, doing)
    if receiver is not None:
        qualifications.require_receiver(ledger, receiver)
    made = rule(state, armorer)
    events = made if isinstance(made, list) else [made]
    prompt = None
    if said is not None:
        from safetycli.roles import spoken

        prompt = said(events[0], armorer, spoken("armorer"))
    # Whose PINs: the rule `verify` checks them against (custodycheck.needed), asked in order.
    first = events[0].new()
    people: list[tuple[str, str | None, str, str | None]] = []
    for who in custodycheck.needed(first.kind, first.data):
        if not who.receives:
            people.append((who.name, who.role, purpose(events[0]), prompt))
            continue
        # The receiver reads the prompt; the log keeps the English purpose.
        serial = events[0].serial
        said = _("{name}, your PIN to confirm you receive {serial} from {armorer}").format(
            name=who.name, serial=serial, armorer=armorer
        )
        people.append((who.name, None, f"confirm you receive {serial} from {armorer}", said))
    proofs = _proofs(ledger, people, pin_stdin)
    written = _record(ledger, proofs, events, lambda state: rule(state, armorer))
    return armorer, events, written


def _when(written: "Sequence[Event]") -> str:
    return _t(written[-1].at) if written else ""


def _check_run(ledger: "Ledger", run: str | None, *, going_out: bool) -> str | None:
    """A run named with --run exists; firearms and rounds go out only for an open one."""
    if run is None:
        return None
    from safetycli import production
    from safetycli.errors import SafetyError
    from safetycli.events import RUN_STARTED
    from safetycli.lifecycle import OPEN
    from safetycli.render.safe import one_line

    run = run.strip()
    if next(iter(ledger.events(run=run, kinds=[RUN_STARTED])), None) is None:
        raise SafetyError(f"no run {one_line(run)} in the log: see `safetycli log list`")
    status = production.status_of(ledger, run)
    if going_out and status != OPEN:
        raise SafetyError(f"run {run} is {status}: nothing goes out for it")
    return run


def _day(day: str | None) -> str:
    """The shooting day: today in the production's zone, or yesterday on a night shoot past
    midnight. Custody is recorded as it happens, so no other day is accepted (a dummy check
    cannot be dated into the past)."""
    from datetime import date, timedelta

    from safetycli.days import parse_day
    from safetycli.days import today as local_today
    from safetycli.errors import SafetyError

    now = local_today(_zone)  # set when the workspace was opened (`_in_zone`)
    if day is None:
        return now
    text = parse_day(day)
    today = date.fromisoformat(now)
    if text not in (now, (today - timedelta(days=1)).isoformat()):
        raise SafetyError(
            f"--day {text}: custody is recorded as it happens; the shooting day is today or, "
            "on a night shoot past midnight, yesterday"
        )
    return text


def _keys(ledger: "Ledger", names: list[str] | None, armorer: str) -> list[str]:
    """Key holders as the roster spells them; someone not on it (a location's keyholder) as
    typed, cleaned."""
    from safetycli import crew
    from safetycli.errors import SafetyError

    out: list[str] = []
    for typed in names or [armorer]:
        try:
            name = crew.find(ledger, typed).name
        except crew.RosterUnverified:
            raise
        except SafetyError:
            name = crew.clean_name(typed)
        if name not in out:
            out.append(name)
    return out


def _say(text: str) -> None:
    from safetycli.render.safe import one_line

    typer.echo(one_line(text))


# --- inventory ------------------------------------------------------------------------------------


@add_app.command("firearm")
def add_firearm(
    serial: Annotated[str, typer.Option("--serial", metavar="S", help="The serial number.")],
    make: Annotated[str, typer.Option("--make", metavar="M", help="The maker.")],
    model: Annotated[str, typer.Option("--model", metavar="M", help="The model.")],
    kind: Annotated[
        str,
        typer.Option("--kind", metavar="real|blank-firing|replica|non-firing", help="What it is."),
    ],
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Take a firearm into the inventory; it starts in locked storage. With --pin-stdin: line 1
    the armorer's PIN."""
    from safetycli import armory

    with _open(home) as ledger:
        armorer, (event,), written = _act(
            ledger,
            by,
            pin_stdin,
            "changes the inventory",
            lambda state, who: armory.add_firearm(state, serial, make, model, kind, who),
            lambda e: f"add firearm {e.serial}",
            said=lambda e, name, role: _(
                "{name} ({role}), your PIN to add firearm {serial}"
            ).format(name=name, role=role, serial=e.serial),
        )
    _say(
        _(
            "Added firearm {serial} ({make} {model}, {kind}) to the inventory, in locked "
            "storage ({armorer}, {at})."
        ).format(
            serial=event.serial,
            make=event.make,
            model=event.model,
            kind=event.kind,
            armorer=armorer,
            at=_when(written),
        )
    )


@add_app.command("rounds")
def add_rounds(
    lot: LotOpt,
    round_type: Annotated[
        str, typer.Option("--type", metavar="dummy|blank", help="Dummies or blanks; never live.")
    ],
    count: CountOpt,
    load: Annotated[
        str | None,
        typer.Option(
            "--load", metavar="quarter|half|full", help="A blank's load.", show_default=False
        ),
    ] = None,
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Take a lot of dummies or blanks into storage; live ammunition is refused. With
    --pin-stdin: line 1 the armorer's PIN."""
    from safetycli import armory

    with _open(home) as ledger:
        armorer, (event,), written = _act(
            ledger,
            by,
            pin_stdin,
            "changes the inventory",
            lambda state, who: armory.add_rounds(state, lot, round_type, load, count, who),
            lambda e: f"add lot {e.lot}",
            said=lambda e, name, role: _("{name} ({role}), your PIN to add lot {lot}").format(
                name=name, role=role, lot=e.lot
            ),
        )
    if event.load:
        said = _(
            "Added lot {lot}: {count} rounds ({type}, {load} load) into storage ({armorer}, {at})."
        )
    else:
        said = _("Added lot {lot}: {count} rounds ({type}) into storage ({armorer}, {at}).")
    _say(
        said.format(
            lot=event.lot,
            count=event.count,
            type=event.type,
            load=event.load,
            armorer=armorer,
            at=_when(written),
        )
    )


# --- reading ------------------------------------------------------------------------------------


@app.command("list")
def list_(
    fmt: Annotated[ListFormat, FormatOption()] = ListFormat.table,
    home: Home = None,
) -> None:
    """Where each firearm is (locked, with the armorer, issued to someone) and what each lot
    holds (in storage, out)."""
    from safetycli import armory
    from safetycli.cli.common import emit_listing, open_log, print_json, workspace

    with open_log(_in_zone(workspace(home)), reading=True) as ledger:
        state = armory.current(ledger)
    if fmt is ListFormat.json:
        print_json(state.as_json())
        return
    shown = armory.plain_time if fmt is ListFormat.csv else _t
    firearms = [
        {**f.as_json(), "since": shown(f.as_json()["since"])} for f in state.firearms.values()
    ]
    # Custody pulled from the production's other laptops: which unit recorded each last move.
    units = ["device"] if any(f.device is not None for f in state.firearms.values()) else []
    for record in firearms:
        record.setdefault("device", "this laptop")
    lots = []
    for lot in state.lots.values():
        record = lot.as_json()
        record["checked"] = record["checked"]["day"] if record["checked"] else ""
        lots.append(record)
    if fmt is ListFormat.csv:
        rows = [{"what": "firearm", "id": f["serial"], **f} for f in firearms]
        rows += [
            {"what": "lot", "id": r["lot"], "kind": r["type"], "device": "", **r} for r in lots
        ]
        header = ["what", "id", "kind", "where", "holder", "run", *units, "on_hand", "out"]
        emit_listing(fmt, "Armory", header, rows)
        return
    emit_listing(
        fmt,
        "Firearms",
        ["serial", "make", "model", "kind", "where", "holder", "run", *units, "since"],
        firearms,
    )
    emit_listing(
        fmt, "Lots", ["lot", "type", "load", "on_hand", "out", "fired", "spoiled", "checked"], lots
    )
    store = state.storage
    if store.at is None:
        _say(_("Storage: locked (never opened)."))
    else:
        if store.locked:
            said = _("Storage: locked since {at} by {by}; keys: {keys}.")
        else:
            said = _("Storage: UNLOCKED since {at} by {by}; keys: {keys}.")
        keys = ", ".join(store.keys) or _("nobody named")
        _say(said.format(at=_t(store.at), by=store.by, keys=keys))
    for line in state.conflicts:
        _say(_("EXCEPTION: {text}").format(text=line))


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(metavar="SERIAL|LOT", help="A firearm's serial or a lot.")],
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    home: Home = None,
) -> None:
    """Who had it when: a firearm's custody (every holder, from when until when, and every
    hand-over), or a lot's counts, runs and dummy checks. Times are the log's, in UTC."""
    from safetycli import armory
    from safetycli.cli.common import emit_listing, open_log, print_json, workspace
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    with open_log(_in_zone(workspace(home)), reading=True) as ledger:
        state = armory.load(ledger)
    firearm, lot = state.firearm(name), state.lot(name)
    if firearm is None and lot is None:
        raise SafetyError(
            f"no firearm or lot called {one_line(name)} in the armory: see `safetycli armory list`"
        )
    table = ListFormat.table
    t = armory.plain_time if fmt is TableOrJson.json else _t  # JSON keeps the log's UTC
    if firearm is not None:
        if fmt is TableOrJson.json:
            print_json(
                {
                    "firearm": firearm.as_json(),
                    "custody": [s.as_json() for s in firearm.spans],
                    "events": [m.as_json() for m in firearm.moves],
                }
            )
            return
        _say(
            _("Firearm {serial}: {make} {model} ({kind})").format(
                serial=firearm.serial, make=firearm.make, model=firearm.model, kind=firearm.kind
            )
        )
        _say(
            _("Now: {where}, since {at}").format(
                where=armory.where_text(firearm), at=t(firearm.spans[-1].since)
            )
        )
        spans = [
            {
                "from": t(s.since),
                "until": t(s.until) if s.until else "now",
                "where": s.where,
                "who": s.holder or "storage",
                "run": s.run,
            }
            for s in firearm.spans
        ]
        emit_listing(
            table, f"Who had it when ({_zone})", ["from", "until", "where", "who", "run"], spans
        )
        moves = [{**m.as_json(), "at": t(m.at)} for m in firearm.moves]
        emit_listing(table, "Custody events", ["seq", "at", "what", "by", "detail", "run"], moves)
        return
    assert lot is not None
    runs = [{"run": run or "(the day)", **c.as_json()} for run, c in lot.by_run.items()]
    checks = [
        {"day": c.day, "at": t(c.at), "by": c.by, "methods": list(c.methods), "rounds": c.rounds}
        for c in lot.checks
    ]
    if fmt is TableOrJson.json:
        print_json(
            {
                "lot": lot.as_json(),
                "runs": runs,
                "checks": checks,
                "events": [m.as_json() for m in lot.moves],
            }
        )
        return
    total = lot.total()
    _say(_("Lot {lot}: {what}").format(lot=lot.lot, what=lot.describe()))
    _say(
        _(
            "Received {received}; in storage {on_hand}; out {out} (issued {issued}, fired "
            "{fired}, returned {returned}, spoiled {spoiled})"
        ).format(
            received=lot.received,
            on_hand=lot.on_hand,
            out=total.out,
            issued=total.issued,
            fired=total.fired,
            returned=total.returned,
            spoiled=total.spoiled,
        )
    )
    for gap in armory.lot_gaps(lot):
        _say(_("Not accounted for: {what}").format(what=gap.text))
    header = ["run", "issued", "fired", "returned", "spoiled", "out"]
    emit_listing(table, "Per run", header, runs)
    if lot.type == "dummy":
        emit_listing(table, "Dummy checks", ["day", "at", "by", "methods", "rounds"], checks)
    moves = [
        {**m.as_json(), "at": t(m.at), "count": m.detail} for m in lot.moves if m.what != "checked"
    ]
    emit_listing(table, f"Counts ({_zone})", ["seq", "at", "what", "count", "by", "run"], moves)


@app.command("reconcile")
def reconcile(
    run: Run = None,
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    home: Home = None,
) -> None:
    """What does not add up now: each firearm not back in storage, each lot whose issued is not
    fired + returned + spoiled, storage left open; with --run, that run's own. Exit 1 when
    anything is unaccounted for."""
    from safetycli import armory
    from safetycli.cli.common import open_log, print_json, workspace

    with open_log(_in_zone(workspace(home)), reading=True) as ledger:
        run = _check_run(ledger, run, going_out=False)
        state = armory.current(ledger)
    gaps = armory.reconcile(state, run)
    if fmt is TableOrJson.json:
        print_json({"ok": not gaps, "run": run, "gaps": [g.as_json() for g in gaps]})
    elif not gaps:
        if run:
            said = _(
                "Everything is accounted for in run {run}: every firearm in storage, every "
                "round counted."
            )
        else:
            said = _(
                "Everything is accounted for in the armory: every firearm in storage, every "
                "round counted."
            )
        _say(said.format(run=run))
    else:
        for gap in gaps:
            _say(gap.text)
    if gaps:
        raise typer.Exit(1)


# --- custody --------------------------------------------------------------------------------------


@app.command("unlock")
def unlock(
    key_holder: KeyHolders = None,
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Open the locked storage, naming who holds its keys. With --pin-stdin: line 1 the
    armorer's PIN."""
    _storage(False, key_holder, by, pin_stdin, home)


@app.command("lock")
def lock(
    key_holder: KeyHolders = None,
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Lock the storage, naming who holds its keys; says what is still out. With --pin-stdin:
    line 1 the armorer's PIN."""
    _storage(True, key_holder, by, pin_stdin, home)


def _storage(
    locking: bool, key_holder: list[str] | None, by: str | None, pin_stdin: bool, home: Path | None
) -> None:
    from safetycli import armory

    rule = armory.lock if locking else armory.unlock
    verb = "lock" if locking else "unlock"
    with _open(home) as ledger:
        state = armory.current(ledger)
        rule(state, "-", [])  # nothing to do: said before anyone is asked
        armorer = _armorer(ledger, by, pin_stdin, f"{verb}s the storage")
        keys = _keys(ledger, key_holder, armorer)
        armorer, _events, written = _act(
            ledger,
            armorer,
            pin_stdin,
            f"{verb}s the storage",
            lambda state, who: rule(state, who, keys),
            lambda _e: f"{verb} the storage",
            state=state,
            said=lambda _e, name, role: (
                _("{name} ({role}), your PIN to lock the storage")
                if locking
                else _("{name} ({role}), your PIN to unlock the storage")
            ).format(name=name, role=role),
        )
        after = armory.current(ledger)
    if locking:
        said = _("Storage locked by {armorer} at {at}; keys: {keys}.")
    else:
        said = _("Storage unlocked by {armorer} at {at}; keys: {keys}.")
    _say(said.format(armorer=armorer, at=_when(written), keys=", ".join(keys)))
    if locking:
        for gap in armory.reconcile(after):
            _say(_("Still out: {what}").format(what=gap.text))


@app.command("issue")
def issue(
    serials: Serials,
    run: Run = None,
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Take firearms out of storage onto the armorer's cart (for a run with --run). A firearm
    already out is refused. With --pin-stdin: line 1 the armorer's PIN."""
    from safetycli import armory

    with _open(home) as ledger:
        run = _check_run(ledger, run, going_out=True)
        armorer, events, written = _act(
            ledger,
            by,
            pin_stdin,
            "issues firearms",
            lambda state, who: armory.issue(state, serials, who, run),
            lambda _e: f"issue {', '.join(serials)}",
            said=lambda _e, name, role: _("{name} ({role}), your PIN to issue {serials}").format(
                name=name, role=role, serials=", ".join(serials)
            ),
        )
    names = ", ".join(e.serial for e in events)
    if run:
        said = _("Issued {names} to the armorer {armorer} for run {run} at {at}.")
    else:
        said = _("Issued {names} to the armorer {armorer} at {at}.")
    _say(said.format(names=names, armorer=armorer, run=run, at=_when(written)))


@app.command("hand-over")
def hand_over(
    serial: Serial,
    to: Annotated[
        str, typer.Option("--to", metavar="NAME", help="Who receives it (they confirm by PIN).")
    ],
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """The armorer hands a firearm to a named person, who confirms with their PIN; only the
    armorer hands over, and only to someone whose safety course card is in force. With
    --pin-stdin: line 1 the armorer's PIN, line 2 the receiver's."""
    from safetycli import armory, crew

    with _open(home) as ledger:
        state = armory.current(ledger)
        armory.hand_over(state, serial, "-", "--")  # where it is, before who receives it
        receiver = crew.find(ledger, to).name
        armorer, (event,), written = _act(
            ledger,
            by,
            pin_stdin,
            "hands a firearm over",
            lambda state, who: armory.hand_over(state, serial, who, receiver),
            lambda e: f"hand {e.serial} to {receiver}",
            said=lambda e, name, role: _(
                "{name} ({role}), your PIN to hand {serial} to {receiver}"
            ).format(name=name, role=role, serial=e.serial, receiver=receiver),
            receiver=receiver,
            state=state,
        )
    _say(
        _("Firearm {serial} handed to {receiver} by {armorer} at {at}.").format(
            serial=event.serial, receiver=receiver, armorer=armorer, at=_when(written)
        )
    )


@app.command("take-back")
def take_back(
    serial: Serial,
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """The armorer takes a firearm back from whoever holds it (on "cut"). With --pin-stdin:
    line 1 the armorer's PIN."""
    from safetycli import armory

    with _open(home) as ledger:
        armorer, (event,), written = _act(
            ledger,
            by,
            pin_stdin,
            "takes a firearm back",
            lambda state, who: armory.take_back(state, serial, who),
            lambda e: f"take {e.serial} back from {e.holder}",
            said=lambda e, name, role: _(
                "{name} ({role}), your PIN to take {serial} back from {holder}"
            ).format(name=name, role=role, serial=e.serial, holder=e.holder),
        )
    _say(
        _("Firearm {serial} back with the armorer {armorer} at {at}.").format(
            serial=event.serial, armorer=armorer, at=_when(written)
        )
    )


@app.command("return")
def return_(
    serials: Serials,
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Put firearms from the cart back into storage. With --pin-stdin: line 1 the armorer's
    PIN."""
    from safetycli import armory

    with _open(home) as ledger:
        armorer, events, written = _act(
            ledger,
            by,
            pin_stdin,
            "returns firearms",
            lambda state, who: armory.return_(state, serials, who),
            lambda _e: f"return {', '.join(serials)} to storage",
            said=lambda _e, name, role: _(
                "{name} ({role}), your PIN to return {serials} to storage"
            ).format(name=name, role=role, serials=", ".join(serials)),
        )
    names = ", ".join(e.serial for e in events)
    _say(
        _("Returned {names} to storage ({armorer}, {at}).").format(
            names=names, armorer=armorer, at=_when(written)
        )
    )


@app.command("check-dummies")
def check_dummies(
    lot: LotOpt,
    method: Annotated[
        list[str],
        typer.Option(
            "--method", metavar="rattle|side-hole|primer|xray", help="How (repeat for more)."
        ),
    ],
    day: Day = None,
    by: By = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Record that every dummy of a lot was checked today, and how; a dummy lot not checked on
    the shooting day is not issued. With --pin-stdin: line 1 the armorer's PIN."""
    from safetycli import armory

    with _open(home) as ledger:
        shooting_day = _day(day)
        armorer, (event,), written = _act(
            ledger,
            by,
            pin_stdin,
            "checks dummies",
            lambda state, who: armory.check_dummies(state, lot, method, who, shooting_day),
            lambda e: f"record the check of dummy lot {e.lot}",
            said=lambda e, name, role: _(
                "{name} ({role}), your PIN to record the check of dummy lot {lot}"
            ).format(name=name, role=role, lot=e.lot),
        )
    _say(
        _(
            "Dummy lot {lot}: {rounds} rounds checked ({methods}) by {armorer} at {at}, for {day}."
        ).format(
            lot=event.lot,
            rounds=event.rounds,
            methods=", ".join(event.methods),
            armorer=armorer,
            at=_when(written),
            day=shooting_day,
        )
    )


# What a rounds command recorded, without and with a run: whole sentences for translators.
ROUNDS_SAID = {
    "issue": (
        N_("Lot {lot}: {count} issued ({armorer}, {at}); now {on_hand} in storage, {out} out."),
        N_(
            "Lot {lot}: {count} issued for run {run} ({armorer}, {at}); now {on_hand} in "
            "storage, {out} out for run {run}."
        ),
    ),
    "fire": (
        N_("Lot {lot}: {count} fired ({armorer}, {at}); now {on_hand} in storage, {out} out."),
        N_(
            "Lot {lot}: {count} fired for run {run} ({armorer}, {at}); now {on_hand} in "
            "storage, {out} out for run {run}."
        ),
    ),
    "return": (
        N_("Lot {lot}: {count} returned ({armorer}, {at}); now {on_hand} in storage, {out} out."),
        N_(
            "Lot {lot}: {count} returned for run {run} ({armorer}, {at}); now {on_hand} in "
            "storage, {out} out for run {run}."
        ),
    ),
    "spoil": (
        N_("Lot {lot}: {count} spoiled ({armorer}, {at}); now {on_hand} in storage, {out} out."),
        N_(
            "Lot {lot}: {count} spoiled for run {run} ({armorer}, {at}); now {on_hand} in "
            "storage, {out} out for run {run}."
        ),
    ),
}


# The armorer's PIN prompt for each rounds action.
ROUNDS_PIN = {
    "issue": N_("{name} ({role}), your PIN to issue {count} rounds of lot {lot}"),
    "fire": N_("{name} ({role}), your PIN to record {count} rounds of lot {lot} fired"),
    "return": N_("{name} ({role}), your PIN to return {count} rounds of lot {lot}"),
    "spoil": N_("{name} ({role}), your PIN to record {count} rounds of lot {lot} spoiled"),
}


def _rounds_command(action: str, doc: str) -> None:
    def command(
        lot: LotOpt,
        count: CountOpt,
        run: Run = None,
        day: Day = None,
        by: By = None,
        pin_stdin: PinStdin = False,
        home: Home = None,
    ) -> None:
        from safetycli import armory

        with _open(home) as ledger:
            shooting_day = _day(day)
            checked_run = _check_run(ledger, run, going_out=action == "issue")
            armorer, _events, written = _act(
                ledger,
                by,
                pin_stdin,
                f"records rounds ({action})",
                lambda state, who: armory.move_rounds(
                    state, action, lot, count, who, checked_run, shooting_day
                ),
                lambda e: f"{action} {count} rounds of lot {e.lot}",
                said=lambda e, name, role: _(ROUNDS_PIN[action]).format(
                    name=name, role=role, count=count, lot=e.lot
                ),
            )
            found = armory.current(ledger).lot(lot)
        assert found is not None
        said = ROUNDS_SAID[action][checked_run is not None]
        _say(
            _(said).format(
                lot=found.lot,
                count=count,
                run=checked_run,
                armorer=armorer,
                at=_when(written),
                on_hand=found.on_hand,
                out=found.counts(checked_run).out,
            )
        )

    command.__doc__ = doc
    rounds_app.command(action)(command)


_rounds_command(
    "issue",
    "Rounds of a lot out of storage (a dummy lot only once checked today). With --pin-stdin: "
    "line 1 the armorer's PIN.",
)
_rounds_command("fire", "Rounds of a lot fired. With --pin-stdin: line 1 the armorer's PIN.")
_rounds_command(
    "return",
    "Unfired rounds of a lot back into storage. With --pin-stdin: line 1 the armorer's PIN.",
)
_rounds_command(
    "spoil",
    "Rounds of a lot damaged or unusable (kept for the count, never reissued). With "
    "--pin-stdin: line 1 the armorer's PIN.",
)
