"""The incident register: misfires, unplanned discharges, injuries, near misses, rounds nobody can
identify, live rounds found, complaints; what each stops, what it freezes, and who closes it.

On the set of "Rust" two earlier misfires and the camera crew's complaints were not acted on, and
after the shooting firearms were unloaded and rounds thrown away before anyone examined them. So:

- anyone reports an incident, on the roster or not, with no PIN (a complaint may be anonymous:
  no name is recorded, and nothing else about who typed it);
- an open incident of a stopping kind holds the whole production's firearm work: firearm
  protocols refuse to start and open runs stop at their next step (`production.py` turns each
  into a stop, handed to the runner as data), until the roles its kind names close it, each with
  their PIN, with the corrective action written down;
- an unplanned discharge or an injury freezes the firearms and lots involved: the armory
  (`armory.py`) refuses every custody event on them until the incident is closed.

Pure: a fold over `incident.*` events and the rules that build them. No terminal, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from safetycli import events as ev
from safetycli.digests import sha256
from safetycli.events import Event
from safetycli.i18n import N_  # labels are shown translated (cli/terminal.py)
from safetycli.records import Frozen, Record

if TYPE_CHECKING:  # built only by the commands that write (newevent.py)
    from safetycli.events import NewEvent, Signer


class Kind(Frozen):
    """One kind of incident: whether it stops firearm work, whether it freezes what it involves,
    and who closes it (each in person with their PIN). A plain record (records.py): the
    dataclass cost every command that reads the production's state about 0.5 ms at start."""

    __slots__ = ("id", "label", "stops", "freezes", "closed_by")
    id: str
    label: str
    stops: bool
    freezes: bool
    closed_by: tuple[str, ...]

    def __init__(
        self, id: str, label: str, stops: bool, freezes: bool, closed_by: tuple[str, ...]
    ) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "stops", stops)
        object.__setattr__(self, "freezes", freezes)
        object.__setattr__(self, "closed_by", closed_by)


# Who closes what. An injury or an unplanned discharge is never closed by the armorer and the
# 1st AD alone: a producer (the employer, who must act on it) closes it with the armorer. Where
# the production has a safety advisor, every stopping kind needs them too (`closing_roles`).
KINDS: dict[str, Kind] = {
    k.id: k
    for k in (
        Kind("misfire", N_("misfire"), True, False, ("armorer", "producer")),
        Kind("unplanned-discharge", N_("unplanned discharge"), True, True, ("producer", "armorer")),
        Kind("injury", N_("injury"), True, True, ("producer", "armorer")),
        Kind("near-miss", N_("near miss"), False, False, ("producer", "first_ad")),
        Kind("unidentified-round", N_("unidentified round"), True, False, ("armorer", "producer")),
        Kind("live-round-found", N_("live round found"), True, False, ("producer", "armorer")),
        Kind("complaint", N_("safety complaint"), True, False, ("producer", "armorer")),
        # Raised only by the safety advisor (`advisor halt`), never by `incident report`.
        Kind(
            "advisor-halt", N_("safety advisor's halt"), True, False, ("safety_advisor", "producer")
        ),
    )
}
REPORTABLE = tuple(k for k in KINDS if k != "advisor-halt")
ANONYMOUS = "anonymous"
MISFIRE_WINDOW = timedelta(days=7)


def kind_of(text: str) -> Kind:
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    word = text.strip().lower()
    if word not in REPORTABLE:
        raise SafetyError(f"--kind {one_line(text)!r}: one of {', '.join(REPORTABLE)}")
    return KINDS[word]


def closing_roles(kind: str, has_advisor: bool) -> tuple[str, ...]:
    """Who must close an incident of `kind`: the kind's roles, and the safety advisor where the
    production has one and the kind stops work. Fixed when the incident is reported."""
    found = KINDS[kind]
    roles = found.closed_by
    if has_advisor and found.stops and "safety_advisor" not in roles:
        roles = (*roles, "safety_advisor")
    return roles


class Incident(Record):
    """One incident as reported, released and closed. A plain record (records.py) with a
    dataclass's equality and repr: `status` imports this module on every call (the production's
    state), and the dataclass cost about 0.8 ms of its start-up."""

    __slots__ = (
        "id",
        "seq",
        "at",
        "kind",
        "text",
        "scene",
        "run",
        "firearms",
        "lots",
        "reported_by",
        "role",
        "authenticated",
        "closers",
        "item",
        "released_at",
        "released_by",
        "release_note",
        "closed_seq",
        "closed_at",
        "closed_by",
        "action",
        "device",
    )
    id: str
    seq: int
    at: str
    kind: str
    text: str
    scene: str | None
    run: str | None
    firearms: tuple[str, ...]
    lots: tuple[str, ...]
    reported_by: str | None  # None: anonymous
    role: str | None
    authenticated: bool
    closers: tuple[str, ...]
    item: tuple[str, int | None, str] | None  # the walk-through's check that raised it
    released_at: str | None
    released_by: list[dict[str, Any]] | None
    release_note: str | None
    closed_seq: int | None
    closed_at: str | None
    closed_by: list[dict[str, Any]] | None
    action: str | None
    # The laptop it was reported on, when another one (pulled through the central store); None
    # for this laptop's own: its `run` and `item` are then that laptop's.
    device: str | None

    def __init__(
        self,
        id: str,
        seq: int,
        at: str,
        kind: str,
        text: str,
        scene: str | None,
        run: str | None,
        firearms: tuple[str, ...],
        lots: tuple[str, ...],
        reported_by: str | None,
        role: str | None,
        authenticated: bool,
        closers: tuple[str, ...],
        item: tuple[str, int | None, str] | None = None,
        released_at: str | None = None,
        released_by: list[dict[str, Any]] | None = None,
        release_note: str | None = None,
        closed_seq: int | None = None,
        closed_at: str | None = None,
        closed_by: list[dict[str, Any]] | None = None,
        action: str | None = None,
        device: str | None = None,
    ) -> None:
        self.id = id
        self.seq = seq
        self.at = at
        self.kind = kind
        self.text = text
        self.scene = scene
        self.run = run
        self.firearms = firearms
        self.lots = lots
        self.reported_by = reported_by
        self.role = role
        self.authenticated = authenticated
        self.closers = closers
        self.item = item
        self.released_at = released_at
        self.released_by = released_by
        self.release_note = release_note
        self.closed_seq = closed_seq
        self.closed_at = closed_at
        self.closed_by = closed_by
        self.action = action
        self.device = device

    @property
    def is_open(self) -> bool:
        return self.closed_seq is None

    @property
    def spec(self) -> Kind:
        return KINDS.get(self.kind) or Kind(self.kind, self.kind, True, False, self.closers)

    @property
    def stops(self) -> bool:
        return self.spec.stops

    @property
    def freezes(self) -> bool:
        return self.spec.freezes

    @property
    def frozen_now(self) -> bool:
        """Whether what it involves is frozen now: open, of a freezing kind, not yet released."""
        return self.is_open and self.freezes and self.released_at is None

    @property
    def who(self) -> str:
        """Who reported it, as the record can say it."""
        if self.reported_by is None:
            return ANONYMOUS
        from safetycli.roles import role_name

        tail = f" ({role_name(self.role)})" if self.role else ""
        return f"{self.reported_by}{tail}" + ("" if self.authenticated else ", no PIN")

    def closers_text(self) -> str:
        from safetycli.roles import role_name

        return " and ".join(role_name(r) for r in self.closers)

    def involved(self) -> str:
        """In English: the listing's column and JSON, which scripts read."""
        parts = []
        if self.scene:
            parts.append(f"scene {self.scene}")
        if self.run:
            parts.append(f"run {self.run}")
        if self.firearms:
            parts.append("firearm " + ", ".join(self.firearms))
        if self.lots:
            parts.append("lot " + ", ".join(self.lots))
        return "; ".join(parts)

    def involved_said(self) -> str:
        """`involved` in the reader's language, for the screens a crew reads: a Spanish
        sentence with "firearm 4471" in it was read past on the trial set."""
        from safetycli.i18n import _, ngettext

        parts = []
        if self.scene:
            parts.append(_("scene {scene}").format(scene=self.scene))
        if self.run:
            parts.append(_("run {run}").format(run=self.run))
        # The English is `involved`'s, one word for one or several (status JSON carries the
        # refusal line these go into); a translation says the plural where its language does.
        if self.firearms:
            parts.append(
                # Translators: the firearms an incident involves: "firearm 4471, 4472".
                ngettext("firearm {serials}", "firearm {serials}", len(self.firearms)).format(
                    serials=", ".join(self.firearms)
                )
            )
        if self.lots:
            parts.append(
                # Translators: the lots of rounds an incident involves: "lot B-7, B-8".
                ngettext("lot {lots}", "lot {lots}", len(self.lots)).format(
                    lots=", ".join(self.lots)
                )
            )
        return "; ".join(parts)

    def close_command(self) -> str:
        return f'safetycli incident close {self.id} --action "what was done"'

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "status": "open" if self.is_open else "closed",
            "stops_firearm_work": self.stops,
            "freezes": self.freezes,
            "frozen": self.frozen_now,
            "scene": self.scene,
            "run": self.run,
            "firearms": list(self.firearms),
            "lots": list(self.lots),
            "reported_at": self.at,
            "reported_by": None
            if self.reported_by is None
            else {"name": self.reported_by, "role": self.role},
            "authenticated": self.authenticated,
            "closed_by_roles": list(self.closers),
            "released_at": self.released_at,
            "released_by": self.released_by,
            "release_note": self.release_note,
            "closed_at": self.closed_at,
            "closed_by": self.closed_by,
            "action": self.action,
        } | ({} if self.device is None else {"device": self.device})


class Register(Record):
    """Every incident, in the order reported: a fold over `incident.*` events. A plain record
    (records.py) with a dataclass's equality and repr: `status` makes one on every call."""

    __slots__ = ("incidents", "_waiting")
    _unshown = _uncompared = ("_waiting",)
    incidents: dict[str, Incident]
    # A release or close read before the report it names: another laptop's events come in no
    # common order with this one's (an incident reported on A and closed on B is read on B as its
    # own close, then A's report), so it waits for its report rather than being lost.
    _waiting: dict[str, list[Event]]

    def __init__(
        self,
        incidents: dict[str, Incident] | None = None,
        _waiting: dict[str, list[Event]] | None = None,
    ) -> None:
        self.incidents = {} if incidents is None else incidents
        self._waiting = {} if _waiting is None else _waiting

    def apply(self, event: Event) -> None:
        data = event.data
        later = event.kind in (ev.INCIDENT_RELEASED, ev.INCIDENT_CLOSED)
        if later and data.get("incident") not in self.incidents:
            self._waiting.setdefault(str(data.get("incident")), []).append(event)
            return
        if event.kind == ev.INCIDENT_REPORTED:
            item = data.get("item")
            self.incidents[data["id"]] = Incident(
                id=data["id"],
                seq=event.seq,
                at=event.at,
                kind=data["kind"],
                text=data["text"],
                scene=data.get("scene"),
                run=data.get("run_id"),
                firearms=tuple(data.get("firearms", ())),
                lots=tuple(data.get("lots", ())),
                reported_by=data.get("name"),
                role=data.get("role"),
                authenticated=bool(data.get("authenticated")),
                closers=tuple(data.get("closers", ())),
                item=(item[0], item[1], item[2]) if item else None,
                device=event.device,
            )
            for later in self._waiting.pop(data["id"], []):
                self.apply(later)
        elif event.kind == ev.INCIDENT_RELEASED:
            found = self.incidents.get(data["incident"])
            if found is not None and found.is_open and found.released_at is None:
                found.released_at = event.at
                found.released_by = data["released_by"]
                found.release_note = data["note"]
        elif event.kind == ev.INCIDENT_CLOSED:
            found = self.incidents.get(data["incident"])
            if found is not None and found.is_open:
                found.closed_seq = event.seq
                found.closed_at = event.at
                found.closed_by = data["closed_by"]
                found.action = data["action"]

    def open(self) -> list[Incident]:
        return [i for i in self.incidents.values() if i.is_open]

    def stopping(self) -> list[Incident]:
        """Open incidents that hold every firearm protocol."""
        return [i for i in self.open() if i.stops]

    def find(self, text: str) -> Incident:
        from safetycli.errors import SafetyError
        from safetycli.render.safe import one_line

        found = self.incidents.get(text.strip().lower())
        if found is None:
            raise SafetyError(
                f"no incident {one_line(text)} in the register: see `safetycli incident list`"
            )
        return found

    def frozen(self) -> dict[str, Incident]:
        """Each frozen serial and lot (as the armory compares them) -> the incident freezing it."""
        from safetycli.names import ident

        out: dict[str, Incident] = {}
        for incident in self.open():
            if incident.frozen_now:
                for name in (*incident.firearms, *incident.lots):
                    out.setdefault(ident(name), incident)
        return out

    def misfires_of(self, serial: str, at: str) -> list[Incident]:
        """Misfires reported for this firearm in the week up to `at` (open or closed)."""
        from safetycli.names import ident

        end = _when(at)
        return [
            i
            for i in self.incidents.values()
            if i.kind == "misfire"
            and ident(serial) in {ident(f) for f in i.firearms}
            and end - MISFIRE_WINDOW <= _when(i.at) <= end
        ]

    def repeated_misfires(self) -> list[str]:
        """One line per firearm with two or more misfires reported within a week of each other,
        in English: status and report JSON carry them."""
        return [
            f"firearm {serial}: {count} misfires reported within a week ({ids}): "
            "take it out of service until the armorer has found why"
            for serial, count, ids in self._repeated()
        ]

    def repeated_misfires_said(self, serials: Sequence[str] | None = None) -> list[str]:
        """`repeated_misfires` in the reader's language (the STOP FIREARM WORK panel, the
        listing's warnings); only those of `serials` when given."""
        from safetycli.i18n import ngettext
        from safetycli.names import ident

        wanted = None if serials is None else {ident(s) for s in serials}
        return [
            ngettext(
                "firearm {serial}: {count} misfire reported within a week ({ids}): take it out "
                "of service until the armorer has found why",
                "firearm {serial}: {count} misfires reported within a week ({ids}): take it out "
                "of service until the armorer has found why",
                count,
            ).format(serial=serial, count=count, ids=ids)
            for serial, count, ids in self._repeated()
            if wanted is None or ident(serial) in wanted
        ]

    def _repeated(self) -> list[tuple[str, int, str]]:
        """(serial, misfires in its week, their ids) per firearm misfiring twice in a week."""
        from safetycli.names import ident

        found: dict[str, tuple[str, int, str]] = {}
        for incident in self.incidents.values():
            if incident.kind != "misfire":
                continue
            for serial in incident.firearms:
                week = self.misfires_of(serial, incident.at)
                if len(week) >= 2:
                    found[ident(serial)] = (serial, len(week), ", ".join(i.id for i in week))
        return list(found.values())


def _when(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def fold(events: Iterable[Event]) -> Register:
    register = Register()
    for event in events:
        register.apply(event)
    return register


def new_id(seed: str) -> str:
    """`i-` and six hex digits, from what makes this report unique (the caller's random bytes, or
    the run, the check and the place in the log for one raised by the walk-through)."""
    return "i-" + sha256(seed.encode("utf-8")).hexdigest()[:6]


def fresh_id(register: Register) -> str:
    """A new incident's id, random and not yet in the register."""
    import secrets

    while (incident_id := new_id(secrets.token_hex(8))) in register.incidents:
        pass
    return incident_id


def report(
    *,
    incident_id: str,
    kind: str,
    text: str,
    name: str | None,
    role: str | None,
    authenticated: bool,
    closers: Sequence[str],
    scene: str | None = None,
    run: str | None = None,
    firearms: Sequence[str] = (),
    lots: Sequence[str] = (),
    item: tuple[str, int | None, str] | None = None,
) -> NewEvent:
    """The report, as the log keeps it. Never refused for who reports it: anyone may (stop-work
    authority), with or without a name. Refused only for an empty or overlong text."""
    from safetycli.errors import SafetyError
    from safetycli.limits import check_length

    if kind not in KINDS:
        raise SafetyError(f"--kind {kind!r}: one of {', '.join(REPORTABLE)}")
    if not text.strip():
        raise SafetyError('an incident needs a description: --text "what happened"')
    check_length(text, "an incident's description")
    return ev.IncidentReported(
        id=incident_id,
        kind=kind,
        text=text.strip(),
        scene=scene,
        run_id=run,
        firearms=tuple(dict.fromkeys(firearms)),
        lots=tuple(dict.fromkeys(lots)),
        name=name,
        role=role,
        authenticated=authenticated,
        closers=tuple(closers),
        item=item,
    ).new()


def check_closable(incident: Incident, action: str) -> None:
    """Before anyone is asked for a PIN: the incident is open and the action is written."""
    from safetycli.errors import SafetyError
    from safetycli.limits import check_length

    if not incident.is_open:
        raise SafetyError(f"incident {incident.id} was closed at {incident.closed_at}")
    if not action.strip():
        raise SafetyError(
            'closing an incident needs the corrective action: --action "what was done"'
        )
    check_length(action, "a corrective action")


def check_closers(incident: Incident, closers: Sequence[Signer]) -> None:
    """Every role the incident names, each a different person: nobody else closes it."""
    from safetycli.errors import SafetyError
    from safetycli.names import fold_name
    from safetycli.roles import role_name

    roles = [c.role for c in closers]
    missing = [r for r in incident.closers if r not in roles]
    if missing:
        said = " and ".join(role_name(r) for r in missing)
        raise SafetyError(
            f"incident {incident.id} ({incident.spec.label}) is closed by "
            f"{incident.closers_text()}: {said} missing"
        )
    extra = [r for r in roles if r not in incident.closers]
    if extra:
        raise SafetyError(
            f"incident {incident.id} is closed by {incident.closers_text()} only, not by "
            f"{role_name(str(extra[0]))}"
        )
    names = [fold_name(c.name) for c in closers]
    if len(set(names)) != len(names):
        raise SafetyError("each closing role must be a different person: --by ROLE=NAME")


def close(incident: Incident, action: str, closers: Sequence[Signer]) -> NewEvent:
    check_closable(incident, action)
    check_closers(incident, closers)
    return ev.IncidentClosed(
        incident=incident.id, action=action.strip(), closed_by=tuple(closers)
    ).new()


def check_releasable(incident: Incident, note: str) -> None:
    from safetycli.errors import SafetyError
    from safetycli.limits import check_length

    if not incident.frozen_now:
        raise SafetyError(f"incident {incident.id} freezes nothing now: nothing to release")
    if not note.strip():
        raise SafetyError('releasing a freeze needs a note: --note "who examined what"')
    check_length(note, "a note")


def release(incident: Incident, note: str, people: Sequence[Signer]) -> NewEvent:
    """Lift the freeze (the firearms and rounds were examined): the same roles as closing."""
    check_releasable(incident, note)
    check_closers(incident, people)
    return ev.IncidentReleased(
        incident=incident.id, note=note.strip(), released_by=tuple(people)
    ).new()


def stop_line(incident: Incident) -> str:
    """One line for a refusal: firearm work is held by this incident, and how to lift it; in
    the reader's language (`closers_text` stays English: JSON carries it)."""
    from safetycli.i18n import _
    from safetycli.roles import spoken

    said = {
        "kind": _(incident.spec.label),
        "id": incident.id,
        "involved": incident.involved_said(),
        "text": incident.text,
        "closers": _(" and ").join(spoken(r) for r in incident.closers),
        "command": incident.close_command(),
    }
    if incident.involved():
        return _(
            "firearm work is held: open {kind} {id} ({involved}): {text}; no firearm protocol "
            "starts or goes on until the {closers} close it: {command}"
        ).format(**said)
    return _(
        "firearm work is held: open {kind} {id}: {text}; no firearm protocol starts or goes on "
        "until the {closers} close it: {command}"
    ).format(**said)


def frozen_line(name: str, incident: Incident) -> str:
    """One line for a custody event refused on a frozen firearm or lot."""
    return (
        f"{name} is frozen by {incident.spec.label} {incident.id}: leave it exactly as it is "
        f"(no unloading, hand-over, return or count) until the {incident.closers_text()} "
        f"release it once examined: safetycli incident release {incident.id} "
        '--note "who examined what"'
    )


def check_not_frozen(frozen: dict[str, Incident], names: Iterable[str], what: str) -> None:
    """Refuse a custody event on anything an open incident freezes."""
    from safetycli.errors import SafetyError
    from safetycli.names import ident

    for name in names:
        incident = frozen.get(ident(name))
        if incident is not None:
            raise SafetyError(frozen_line(f"{what} {name}", incident))


def age(at: str, now: datetime) -> str:
    """`3h`, `2d`, `12m`: how long an incident has been open."""
    seconds = max(0, int((now - _when(at)).total_seconds()))
    if seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    if seconds >= 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def open_list(register: Register, now: datetime) -> list[dict[str, Any]]:
    """Every open incident, oldest first, with its age and who must close it: what `status`
    and the day report open with (review.open_incidents). Here, so that `status` on a set with
    an incident open does not load review.py (about 2 ms of its start-up)."""
    return [
        {
            **incident.as_json(),
            "age": age(incident.at, now),
            "must_close": incident.closers_text(),
            "close": incident.close_command(),
        }
        for incident in register.open()
    ]


def handles_firearms(roles: Iterable[str]) -> bool:
    """Firearm work, for a stopping incident: a protocol the armorer signs."""
    return "armorer" in roles


# --- the safety advisor (California's pilot, 2025-2030) ------------------------------------------


def halt(incident_id: str, reason: str, advisor: str) -> NewEvent:
    """The safety advisor halts the production's firearm work, as a last resort: an incident of
    its own kind, cleared only by the advisor and a producer together."""
    return report(
        incident_id=incident_id,
        kind="advisor-halt",
        text=reason,
        name=advisor,
        role="safety_advisor",
        authenticated=True,
        closers=KINDS["advisor-halt"].closed_by,
    )


def assess(scene: str, by: str, text: str | None, sha256: str | None, file: str | None) -> NewEvent:
    """The advisor's written risk assessment for a scene: its text, or a file's sha256."""
    from safetycli.errors import SafetyError
    from safetycli.limits import check_length

    scene = " ".join(scene.split())
    if not scene:
        raise SafetyError("--scene needs the scene's name or number, e.g. --scene 12A")
    if (text is None) == (sha256 is None):
        raise SafetyError("give the risk assessment as --text TEXT or --file PATH, one of the two")
    if text is not None:
        if not text.strip():
            raise SafetyError("--text is empty: write the assessment, or give it as --file PATH")
        text = check_length(text, "a risk assessment's text", limit=20_000)
    return ev.RiskAssessed(scene=scene, by=by, text=text, sha256=sha256, file=file).new()


def assessment_missing(scene: str) -> str:
    """One line: a firearm protocol refused on a scene the advisor has not assessed."""
    return (
        f"scene {scene} has no risk assessment from the safety advisor, and this production has "
        f'one: the advisor records it first: safetycli advisor assess --scene "{scene}" '
        "--file ASSESSMENT.pdf"
    )
