"""`status`: the set now, for the 1st AD and the monitor at video village. A stop-work on a scene
comes first, then every open or held run; a run whose scene is held says so.

No `from __future__ import annotations` here (as checklists.py): Typer reads the command's
signature on every start, and string annotations make it evaluate each one again (building
`status` 1.4 -> 0.6 ms).
"""

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer

from safetycli.cli.common import CentralOption, FormatOption, Home, TableOrJson, home_of
from safetycli.i18n import N_, _

# What an incident involves, as the status line names it (translated where shown).
INVOLVES = {"scene": N_("scene"), "run": N_("run"), "firearm": N_("firearm"), "lot": N_("lot")}


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def _lines(now: dict[str, Any], zone: str = "UTC") -> list[tuple[bool, str, list[str]]]:
    """(held?, headline, detail lines): the same words on a terminal and in a pipe; times in
    the production's `zone`, named where they are shown."""
    out: list[tuple[bool, str, list[str]]] = []
    if not any(now.values()):  # a quiet set, every section empty: nothing to put in words
        return out
    from safetycli.render import fmt  # times and roles in words (0.3 ms to load)

    for incident in now.get("incidents", []):
        where = [
            f"{_(INVOLVES[k])} {', '.join(v) if isinstance(v, list) else v}"
            for k, v in (
                ("scene", incident["scene"]),
                ("run", incident["run"]),
                ("firearm", incident["firearms"]),
                ("lot", incident["lots"]),
            )
            if v
        ]
        stops = _("stops all firearm work") if incident["stops_firearm_work"] else _("open")
        details = [_("what: {text}").format(text=incident["text"])]
        frozen = incident["frozen"] and (incident["firearms"] or incident["lots"])
        if where:
            line = _("FROZEN: {what}") if frozen else _("involves: {what}")
            details.append(line.format(what="; ".join(where)))
        details.append(
            _("close: {command} ({who})").format(
                command=incident["close"], who=fmt.closers(incident)
            )
        )
        head = _("INCIDENT {id}  {kind}  open {age}  {stops}").format(
            id=incident["id"], kind=incident["kind"], age=fmt.age(incident["age"]), stops=stops
        )
        out.append((bool(incident["stops_firearm_work"]), head, details))
    for warning in now.get("warnings", []):
        out.append((True, _("WARNING  {text}").format(text=warning), []))
    for hold in now["scene_holds"]:
        who = hold["raised_by"] or {}
        role = f" ({fmt.role(who['role'])})" if who.get("role") else ""
        said = {"reason": hold["reason"], "name": who.get("name"), "role": role}
        if hold["authenticated"]:
            by = _("hold: {reason} (by {name}{role})").format(**said)
        else:
            by = _("hold: {reason} (by {name}{role}, no PIN)").format(**said)
        head = _("scene {scene}  stop-work since {at} {zone}").format(
            scene=hold["scene"], at=fmt.stamp(hold["raised_at"], zone), zone=zone
        )
        clear = _('clear: safetycli clear --scene "{scene}" --note "..." ({roles})').format(
            scene=hold["scene"],
            roles=_("{one} and {other}").format(
                one=fmt.role("armorer"), other=fmt.role("first_ad")
            ),
        )
        out.append((True, head, [by, clear]))
    for other in now.get("held_on_other_laptops", []):
        head = _("{run}  scene {scene}  {day}  on laptop {device}").format(
            run=other["run"], scene=other["scene"], day=other["day"], device=other["device"]
        )
        since = fmt.stamp(other["raised_at"], zone)
        details = [
            _("hold: {reason} (since {at} {zone})").format(
                reason=other["reason"], at=since, zone=zone
            ),
            _("clear: {command}").format(command=other["clear"]),
        ]
        out.append((True, head, details))
    for u in now.get("unverified_stop_work", []):
        out.append((True, *_unverified(u, zone)))
    for entry in now["runs"]:
        signed = ", ".join(f"{n} ({fmt.role(r)})" for r, n in entry["signed_in"].items())
        signed = signed or _("nobody yet")
        details = []
        if entry["hold"]:
            since = fmt.stamp(entry["hold"]["raised_at"], zone)
            details.append(
                _("hold: {reason} (since {at} {zone})").format(
                    reason=entry["hold"]["reason"], at=since, zone=zone
                )
            )
        elif entry["scene_stop"]:
            details.append(entry["scene_stop"])
        details.append(_("signed in: {names}").format(names=signed))
        head = _("{run}  {protocol}  scene {scene}  {day}").format(
            run=entry["id"], protocol=entry["protocol"], scene=entry["scene"], day=entry["day"]
        )
        out.append((bool(entry["scene_held"]), head, details))
    return out


def _unverified(u: dict[str, Any], zone: str) -> tuple[str, list[str]]:
    """A refused laptop's stop-work (unverified.py), from its JSON: what it stops, that nothing
    vouches for it, and the command that lifts it with the roles in the reader's words (from the
    stop itself when the JSON came with it, `unverified.Shown`)."""
    from safetycli.render import fmt

    kind = str(u["kind"])  # unverified.WHAT's words, translated as shown
    said = {
        "scene": u["scene"],
        "what": _(kind),
        "at": fmt.stamp(u["raised_at"], zone),
        "zone": zone,
        "device": u["device"],
    }
    if u["kind"] == "incident":
        head = _(
            "firearm work, every scene  UNVERIFIED {what} since {at} {zone}  from refused "
            "laptop {device}"
        )
    else:
        head = _("scene {scene}  UNVERIFIED {what} since {at} {zone}  from refused laptop {device}")
    who = (u["raised_by"] or {}).get("name") or _("someone")
    stop = getattr(u, "stop", None)
    return head.format(**said), [
        _("hold: {reason} (by {name})").format(reason=u["reason"], name=who),
        _(
            "not verified: the server refused this laptop's sync ({alarm}); it stops work all "
            "the same"
        ).format(alarm=u["alarm"]),
        _("clear: {command}").format(command=stop.clear_said() if stop else u["clear"]),
    ]


def status(
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            "-w",
            help="Keep the board on screen, redrawn as the set changes (a monitor at video "
            "village); Ctrl-C closes it.",
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            metavar="SECONDS",
            min=0.2,
            max=3600,
            help="With --watch: seconds between redraws.",
        ),
    ] = 2.0,
    central: CentralOption = None,
    home: Home = None,
) -> None:
    """The set now: stop-work on any scene, open and held runs, outstanding holds, who is signed
    in where. With --watch, a board that keeps itself up to date; with --central, every unit's,
    from the production's server."""
    from safetycli.cli.common import stdout_is_terminal, workspace
    from safetycli.errors import SafetyError
    from safetycli.setnow import set_status

    if central is not None:
        if watch:
            raise SafetyError("--watch is this laptop's set board; with --central, run status")
        return _central_status(central, home, fmt)
    if watch and fmt is TableOrJson.json:
        raise SafetyError("--watch draws a board for people; --format json prints the set once")
    if watch and not stdout_is_terminal():
        raise SafetyError(
            "--watch needs a terminal to draw on: without it, run `status` when needed"
        )
    ws = workspace(home)
    zone = ws.zone_or_utc()  # the set's view never fails on config.toml: UTC at worst
    from safetycli.roster import producer_warning

    if watch:
        import functools

        from safetycli.cli.board import watch as board

        with ws.open_log() as ledger:
            lines_of = functools.partial(_lines, zone=zone)
            standing_of = functools.partial(standing_lines, zone=zone)
            verdict_of = functools.partial(ws.verdict, ledger)
            board(ledger, ws.production, interval, lines_of, zone, standing_of, verdict_of)
        return
    with ws.open_log() as ledger:
        with _for_programs(fmt):
            now = set_status(ledger)
            if ledger.verdict is not None and fmt is TableOrJson.json:
                # A program reads the alarm here; a person read it on stderr (`ALARM:`).
                now["warnings"].insert(0, f"ALARM: {ledger.verdict.line()}")
        try:
            warning = producer_warning(ledger)
        except SafetyError as err:  # a roster that does not verify: the board still shows
            warning = f"warning: {err.message}"
        standing = None
        if ledger.foreign() is not None:  # a laptop that syncs: waiting, and what two did apart
            from safetycli.central import laptopnow

            with _for_programs(fmt):
                standing = laptopnow.read(ledger)
    if standing is not None and fmt is TableOrJson.json:
        now["exceptions"] = standing.exceptions
        now["waiting_for_approval"] = standing.waiting
    _show(now, fmt, zone, warning)
    if fmt is not TableOrJson.json:
        from safetycli.render.safe import one_line

        for word, line in standing_lines(standing, zone):
            typer.echo(one_line(f"{word}: {line}"))


def _for_programs(fmt: TableOrJson) -> AbstractContextManager[None]:
    """English while the set is read for `--format json`: the lines it carries (a run's
    `scene_stop`, the conflicts between laptops) are made as it is read, and JSON is the same
    in every language, for the programs that read it."""
    from contextlib import nullcontext

    from safetycli.i18n import SOURCE, speaking

    return speaking(SOURCE) if fmt is TableOrJson.json else nullcontext()


def waiting_word() -> str:
    # Translators: the mark of a line saying a laptop is not let into the production's server
    # yet; short, capitals (status prints "WAITING: ...").
    return _("WAITING")


def exception_word() -> str:
    # Translators: the mark of a line saying what two laptops recorded apart that cannot both
    # be true; short, capitals (status prints "EXCEPTION: ...").
    return _("EXCEPTION")


def standing_lines(standing: Any, zone: str) -> list[tuple[str, str]]:
    """(mark, line) for what `status` prints under the set of a laptop that syncs (a
    `laptopnow.Standing`, or None for one that never did): the same on the set board."""
    if standing is None:
        return []
    out: list[tuple[str, str]] = []
    if standing.waiting is not None:
        from safetycli.central.approval import waiting_status

        since = _at(standing.waiting["since"], zone)
        out.append((waiting_word(), waiting_status(standing.waiting["device"], since)))
    from safetycli.render.fmt import local_times

    out += [(exception_word(), local_times(line, zone)) for line in standing.exceptions]
    return out


def _central_status(central: str, home: Path | None, fmt: TableOrJson) -> None:
    """The whole production now, from the server (runs of every unit, stop-work raised on any)."""
    from safetycli.cli.central_opt import review_source
    from safetycli.render.safe import one_line
    from safetycli.review import set_status
    from safetycli.workspace import optional_workspace

    ws = optional_workspace(home_of(home))
    with review_source(ws, central) as source, _for_programs(fmt):
        now = set_status(source)
        # The set now: continuations of the runs not yet ended (a report covers its days').
        conflicts = source.conflicts(source.unended_runs())
        waiting = source.waiting_laptops()
        joins = source.waiting_joins()
    zone = ws.zone_or_utc() if ws is not None else "UTC"
    if fmt is TableOrJson.json:
        now["exceptions"] = conflicts  # conflicts between laptops, shown and never resolved
        now["waiting_laptops"] = waiting  # devices that asked to sync, not yet let in
        now["waiting_joins"] = joins  # new laptops that asked to join, their code not approved
    _show(now, fmt, zone, None)
    if fmt is not TableOrJson.json:
        for laptop in waiting:
            typer.echo(one_line(f"{waiting_word()}: {_waiting_laptop(laptop, zone)}"))
        for asked in joins:
            line = _(
                "a new laptop asked to join at {at}: a producer types the join code its screen "
                "shows, `safetycli join approve CODE`, on an approved laptop"
            ).format(at=_at(asked["asked_at"], zone))
            typer.echo(one_line(f"{waiting_word()}: {line}"))
        from safetycli.render.fmt import local_times

        for line in conflicts:
            typer.echo(one_line(f"{exception_word()}: {local_times(line, zone)}"))


def _waiting_laptop(laptop: dict[str, Any], zone: str) -> str:
    """One laptop that asked to sync and is not let in, in plain words, with what lets it in."""
    said = {
        "device": laptop["device"],
        "key": laptop["key"],
        "at": _at(laptop["asked_at"], zone),
        "approve": laptop["approve"],
    }
    if laptop["production"]:
        return _(
            'device {device} ("{production}", key {key}) asked to sync with the production at '
            "{at} and is not let in: if it is one of the production's laptops, a producer runs "
            "`{approve}` on an approved laptop"
        ).format(production=laptop["production"], **said)
    return _(
        "device {device} (key {key}) asked to sync with the production at {at} and is not let "
        "in: if it is one of the production's laptops, a producer runs `{approve}` on an "
        "approved laptop"
    ).format(**said)


def _at(at: str, zone: str) -> str:
    """A time in the production's zone, named; in UTC when the zone is not known."""
    from safetycli.errors import SafetyError
    from safetycli.render import fmt

    try:
        return f"{fmt.stamp(at, zone)} {zone}"
    except SafetyError:
        return f"{fmt.stamp(at)} UTC"


def held_word() -> str:
    """The mark of a stopped scene or run on the status lines and the board."""
    # Translators: the loud mark on a run or scene where work is stopped; short, capitals.
    return _("HELD")


def _show(now: dict[str, Any], fmt: TableOrJson, zone: str, warning: str | None) -> None:
    from safetycli.cli.common import print_json, stdout_is_terminal
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    if fmt is TableOrJson.json:
        print_json(now)
        return
    try:
        lines = _lines(now, zone)
    except SafetyError as err:  # a zone the tz database does not know: still show the set
        lines = _lines(now)
        typer.echo(
            _("warning: {problem}; times below are UTC").format(problem=err.message), err=True
        )
    if warning:
        typer.echo(warning, err=True)
    if not lines:
        typer.echo(_("No open or held runs, and no scene held."))
        return
    if not stdout_is_terminal():  # plain text for pipes and scripts; Rich only for people
        for held, head, details in lines:
            typer.echo(one_line(f"{held_word() if held else _('open')}  {head}"))
            for detail in details:
                typer.echo(one_line(f"   {detail}"))
        return
    from safetycli.cli.common import console
    from safetycli.render.safe import markup

    out = console()
    for held, head, details in lines:
        label = (
            f"[bold white on red] {held_word()} [/bold white on red]"
            if held
            else f"[bold]{_('open')}[/bold]"
        )
        out.print(f"{label} {markup(head)}")
        for detail in details:
            out.print(f"   {markup(detail)}")
