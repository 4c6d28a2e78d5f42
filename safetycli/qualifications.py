"""Permits and training cards on the roster, with their expiry: who may act as armorer, and who
may receive a firearm.

California's Labor Code has the armorer hold an entertainment firearms permit (9153(b)) and
everyone who handles a firearm or works near one take the industry's safety course (9156).
A police armory's custody software refuses a transfer ("do not transfer") to someone whose card
has lapsed; so does this. A qualification is a roster change (`crew.qualified`, written by
`crew.qualify` with a producer's PIN in the same transaction; rostercheck.py checks that), so
the newest one of each kind for a person is the one in force: a renewal is simply recorded again.

Dates are compared with the calendar date when the command runs, not the shooting day a command
names with `--day`: a permit cannot be made valid by naming another day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from typing import Protocol as Interface

from safetycli.errors import SafetyError
from safetycli.events import CREW_QUALIFIED, Event
from safetycli.i18n import N_, _
from safetycli.names import fold_name
from safetycli.render.safe import one_line

ARMORER_PERMIT = "armorer-permit"
SAFETY_COURSE = "safety-course"
# What each is, in the words a refusal uses.
KINDS = {
    ARMORER_PERMIT: N_("armorer's permit"),
    SAFETY_COURSE: N_("firearms safety course card"),
}
NUMBER_MAX = 40


@dataclass(frozen=True)
class Qualification:
    name: str
    kind: str
    number: str
    expires: str
    by: str
    at: str

    def valid_on(self, day: str) -> bool:
        return self.expires >= day

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "id": self.number,
            "expires": self.expires,
            "approved_by": self.by,
            "recorded_at": self.at,
        }


class Source(Interface):
    def events(
        self, *, run: str | None = None, kinds: Iterable[str] | None = None, after: int = 0
    ) -> Iterator[Event]: ...


def held(source: Source) -> dict[tuple[str, str], Qualification]:
    """The qualification in force for each (person, kind): the newest recorded, through the
    kind index (a few events a production)."""
    out: dict[tuple[str, str], Qualification] = {}
    for event in _recorded(source):
        data = event.data
        q = Qualification(
            name=str(data["name"]),
            kind=str(data["qualification"]),
            number=str(data["number"]),
            expires=str(data["expires"]),
            by=str(data["by"]),
            at=event.at,
        )
        out[(fold_name(q.name), q.kind)] = q
    return out


def _recorded(source: Source) -> Iterable[Event]:
    """The qualifications recorded: on a laptop that pulled the production's other laptops'
    roster (central/foreign.py), those of the merged roster, in its order and checked as it is
    (a permit recorded on A lets the armorer sign on B); else the log's own."""
    foreign = getattr(source, "foreign", None)
    if callable(foreign) and foreign() is not None:
        from safetycli import crew

        return [e for e in crew.roster_events(source) if e.kind == CREW_QUALIFIED]  # type: ignore[arg-type]
    return source.events(kinds=[CREW_QUALIFIED])


def today() -> str:
    return date.today().isoformat()


def check_new(kind: str, number: str, expires: str, on: str | None = None) -> tuple[str, str, str]:
    """A qualification as it will be recorded, refused before anyone types a PIN: a known kind,
    an id, and an expiry date that has not passed."""
    if kind not in KINDS:
        raise SafetyError(f"--kind {one_line(kind)!r}: one of {', '.join(KINDS)}")
    text = " ".join(number.split())
    if not text or len(text) > NUMBER_MAX or not text.isprintable():
        raise SafetyError(
            f"--id: the permit or card number as printed on it, 1 to {NUMBER_MAX} characters"
        )
    try:
        day = date.fromisoformat(expires.strip()).isoformat()
    except ValueError:
        raise SafetyError(
            f"--expires {one_line(expires)!r} is not a date: use YYYY-MM-DD, e.g. 2027-06-30"
        ) from None
    if day < (on or today()):
        raise SafetyError(f"that {KINDS[kind]} expired on {day}: record a valid one")
    return kind, text, day


def problem(
    quals: dict[tuple[str, str], Qualification], name: str, kind: str, on: str | None = None
) -> str | None:
    """Why `name` may not act on `kind` today, or None."""
    q = quals.get((fold_name(name), kind))
    what = _(KINDS[kind])  # said at a run's start too, to a crew reading Spanish
    if q is None:
        return _(
            "{name} has no {what} on the roster (a producer records it: safetycli crew "
            "qualify '{name}' --kind {kind} --id ID --expires YYYY-MM-DD)"
        ).format(name=name, what=what, kind=kind)
    if not q.valid_on(on or today()):
        return _("{name}'s {what} {number} expired on {expires}").format(
            name=name, what=what, number=q.number, expires=q.expires
        )
    return None


def require_armorer(source: Source, name: str, on: str | None = None) -> None:
    """Signing as armorer in an armory command needs a valid armorer's permit. This is also the
    hook for the walk-through's armorer sign-in (session.py): `armorer_problem` below."""
    why = problem(held(source), name, ARMORER_PERMIT, on)
    if why is not None:
        raise SafetyError(_("{name} cannot sign as the armorer: {why}").format(name=name, why=why))


def require_receiver(source: Source, name: str, on: str | None = None) -> None:
    """Receiving a firearm needs a valid safety course card: do not transfer otherwise."""
    why = problem(held(source), name, SAFETY_COURSE, on)
    if why is not None:
        raise SafetyError(_("do not transfer: {why}").format(why=why))


def receiver_problem(source: Source, name: str, on: str | None = None) -> str | None:
    """For the walk-through's sign-in of someone its hand-overs give a firearm to: one line
    saying why not, or None; only once the production records qualifications at all (as
    `armorer_problem`)."""
    quals = held(source)
    if not quals:
        return None
    why = problem(quals, name, SAFETY_COURSE, on)
    return None if why is None else _("do not transfer: {why}").format(why=why)


def armorer_problem(source: Source, name: str, on: str | None = None) -> str | None:
    """For the walk-through's armorer sign-in (session.py): one line saying why `name` cannot
    sign in as the armorer, or None. Only once the production records qualifications at all: a
    production that has never recorded a permit walks its protocols as before, rather than
    finding every armorer refused the day this check shipped."""
    quals = held(source)
    if not quals:
        return None
    return problem(quals, name, ARMORER_PERMIT, on)


def cards_needed(roles: Iterable[str], receiving: Iterable[str]) -> dict[str, str]:
    """The card each of a run's roles needs of whoever signs for it: the armorer a permit,
    whoever the run's hand-overs give a firearm to a safety course card. Every other role
    signs without one."""
    given = set(receiving)
    out: dict[str, str] = {}
    for role in roles:
        if role == "armorer":
            out[role] = ARMORER_PERMIT
        elif role in given:
            out[role] = SAFETY_COURSE
    return out


@dataclass(frozen=True)
class Shortfall:
    """A role of a run that someone who would sign for it lacks the card for. `named`: the
    person an answers file names for the role (they sign, nobody else); otherwise whoever is on
    the roster in it, `able` being those who may."""

    role: str
    kind: str
    named: str | None
    lacking: tuple[str, ...]  # why not, one line each (who lacks what, and the command)
    able: tuple[str, ...]


def shortfalls(
    source: Source,
    cards: dict[str, str],
    candidates: dict[str, list[str]],
    named: dict[str, str],
    on: str | None = None,
) -> list[Shortfall]:
    """Who among a run's signers lacks the card their role needs (`cards_needed`), checked at the
    run's start, before anything is taken out of the armory or signed: the trial's actor was
    refused at their sign-in with the firearm already out and five checks signed. The people an
    answers file names (`named`) are the ones who will sign; for a role it does not name, every
    roster member in the role (`candidates`) is one who might. Nothing, once the production
    records no qualifications at all (`armorer_problem`)."""
    quals = held(source)
    if not quals:
        return []
    out = []
    for role, kind in cards.items():
        people = [named[role]] if role in named else candidates.get(role, [])
        why = {name: problem(quals, name, kind, on) for name in people}
        lacking = tuple(line for line in why.values() if line is not None)
        if lacking:
            able = tuple(name for name, line in why.items() if line is None)
            out.append(Shortfall(role, kind, named.get(role), lacking, able))
    return out
