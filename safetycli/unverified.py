"""Stop-work from a laptop whose sync the server refused: not trusted as a record, stopped on
all the same.

A laptop whose chain forked (restored from an older copy and written on), was rewritten or
altered is refused by the server: none of its events enter the production's log. A crew member
on it may still have stopped work (a scene held, a run's HOLD, an incident), and a HOLD must be
impossible to miss, so its sync sends its stop-work still open anyway; the server keeps it beside
the alarm (central/schema.py, migration 9), every other laptop pulls it (central/foreign.py) and
stops the scene it names (an incident: firearm work in every scene), marked unverified, until a
producer clears it on one of them with the roles that clear such a stop (a `scene.cleared`
naming its device, number and hash). Stopping work on
unverified input is the safe direction; lifting it needs the PINs clearing any hold needs, and
the producer's, whose alarm it is.

Core code: a fold over the pulled rows, no I/O of its own, no Typer or Rich.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safetycli import storage
from safetycli.events import HOLD_RAISED, INCIDENT_REPORTED, RUN_STARTED, SCENE_HELD, Event
from safetycli.i18n import N_, _

if TYPE_CHECKING:
    from safetycli.incidents import Incident

# Who lifts an unverified stop-work on a scene: the scene's clearing roles, and a producer (the
# alarm is theirs to look into: the laptop it came from is not trusted as a record). An
# unverified incident: the roles its kind closes it with, and a producer.
CLEAR_ROLES = ("armorer", "first_ad", "producer")
SCENE_ROLES = CLEAR_ROLES[:2]

# What each kind is, as JSON gives it (`kind`) and as a person reads it (translated where shown).
# Translators: the kinds of stop-work a refused laptop sends ("UNVERIFIED run hold").
WHAT = {SCENE_HELD: N_("stop-work"), HOLD_RAISED: N_("run hold"), INCIDENT_REPORTED: N_("incident")}


@dataclass(frozen=True)
class UnverifiedStop:
    """One stop-work of a refused laptop: the event `seq` (with `hash`: a forked chain reuses
    numbers) of `device`, the scene it stops, and the alarm the server raised on that device."""

    device: str
    seq: int
    hash: str
    kind: str  # scene.held | hold.raised | incident.reported
    scene: str | None  # an incident's may be None: it stops firearm work in every scene anyway
    day: str | None
    run: str | None
    reason: str
    raised_by: dict[str, Any] | None
    authenticated: bool
    raised_at: str
    alarm: str
    received_at: str
    clear_roles: tuple[str, ...] = CLEAR_ROLES
    # The refused laptop's event itself: an incident's register entry is folded from it
    # (`incident list`), as a pulled verified one is.
    event: Event | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.device, self.seq, self.hash)

    @property
    def ref(self) -> str:
        """How the crew names it to clear it: `clear --unverified DEVICE:SEQ`."""
        return f"{self.device}:{self.seq}"

    @property
    def is_incident(self) -> bool:
        """An incident stops firearm work in every scene, as a verified one of its kind does;
        the others stop their scene."""
        return self.kind == INCIDENT_REPORTED

    @property
    def clear_command(self) -> str:
        """The command that lifts it, as JSON gives it: English in every language."""
        from safetycli.roles import role_name

        roles = ", ".join(role_name(r) for r in self.clear_roles)
        if self.is_incident or self.scene is None:
            return (
                f'safetycli clear --unverified {self.ref} --note "what was found and done" '
                f"({roles})"
            )
        return f'safetycli clear --scene "{self.scene}" --note "what was found and done" ({roles})'

    def clear_said(self) -> str:
        """`clear_command` for a person to read and type: the command and its options as typed,
        the note's hint and the roles in the reader's language (`clear_command` is the English
        that JSON keeps)."""
        from safetycli.roles import spoken

        said = {
            "ref": self.ref,
            "scene": self.scene,
            "roles": ", ".join(spoken(r) for r in self.clear_roles),
        }
        if self.is_incident or self.scene is None:
            return _(
                'safetycli clear --unverified {ref} --note "what was found and done" ({roles})'
            ).format(**said)
        return _(
            'safetycli clear --scene "{scene}" --note "what was found and done" ({roles})'
        ).format(**said)

    @property
    def what(self) -> str:
        return WHAT[self.kind]

    @property
    def what_said(self) -> str:
        """`what` in the reader's words."""
        return _(self.what)

    def as_json(self) -> dict[str, Any]:
        return Shown(
            self,
            {
                "device": self.device,
                "seq": self.seq,
                "hash": self.hash,
                "kind": self.what,
                "scene": self.scene,
                "day": self.day,
                "run": self.run,
                "reason": self.reason,
                "raised_at": self.raised_at,
                "raised_by": self.raised_by,
                "authenticated": self.authenticated,
                "alarm": self.alarm,
                "received_at": self.received_at,
                "ref": self.ref,
                "clear": self.clear_command,
            },
        )


class Shown(dict[str, Any]):
    """A stop's JSON (English, the contract: `json.dumps` writes it as a plain dict) that keeps
    the stop it was made from, so `status` and the set board say it in the reader's words
    (`stop.clear_said()`, its roles) without a key the JSON does not have."""

    def __init__(self, stop: UnverifiedStop, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.stop = stop


def fold(rows: Iterable[tuple[Event, str, str]]) -> list[UnverifiedStop]:
    """The stop-work in the pulled rows (event, alarm words, received at): a held run's hold
    with its start (its scene and day), a stop-work on a scene, an incident naming a scene."""
    rows = list(rows)
    starts = {(e.device, e.run): e for e, _, _ in rows if e.kind == RUN_STARTED}
    out = []
    for e, alarm, received in rows:
        data = e.data
        said: dict[str, Any]  # what each kind says of itself
        if e.kind == SCENE_HELD:
            said = {
                "scene": str(data["scene"]),
                "day": data.get("day"),
                "run": None,
                "reason": str(data["reason"]),
                "raised_by": {"name": data.get("name"), "role": data.get("role")},
                "authenticated": bool(data.get("authenticated")),
            }
        elif e.kind == HOLD_RAISED:
            start = starts.get((e.device, e.run))
            if start is None:
                continue  # the server takes a run's hold only with its start
            said = {
                "scene": str(start.data["scene"]),
                "day": start.data.get("day"),
                "run": e.run,
                "reason": str(data.get("reason", "")),
                "raised_by": data.get("raised_by"),
                "authenticated": bool(data.get("authenticated", True)),
            }
        elif e.kind == INCIDENT_REPORTED and _stops(data.get("kind")):
            closers = tuple(str(r) for r in data.get("closers") or _closed_by(data.get("kind")))
            said = {
                "scene": None if data.get("scene") is None else str(data["scene"]),
                "day": None,
                "run": data.get("run_id"),
                "reason": f"incident {data.get('id')} ({data.get('kind')}): {data.get('text')}",
                "raised_by": None
                if data.get("name") is None
                else {"name": data.get("name"), "role": data.get("role")},
                "authenticated": bool(data.get("authenticated")),
                "clear_roles": tuple(dict.fromkeys((*closers, "producer"))),
            }
        else:
            continue
        out.append(
            UnverifiedStop(
                str(e.device),
                e.seq,
                e.hash,
                e.kind,
                alarm=alarm,
                received_at=received,
                raised_at=e.at,
                event=e,
                **said,
            )
        )
    return out


def _closed_by(kind: Any) -> tuple[str, ...]:
    """The roles that close an incident of this kind, when its event names none."""
    from safetycli.incidents import KINDS

    spec = KINDS.get(str(kind))
    return SCENE_ROLES if spec is None else spec.closed_by


def _stops(kind: Any) -> bool:
    """Whether an incident of this kind stops firearm work (one of a kind this safetycli does not
    know stops it: the safe way)."""
    from safetycli.incidents import KINDS

    spec = KINDS.get(str(kind))
    return spec is None or spec.stops


def pulled(source: Any) -> list[UnverifiedStop]:
    """Every unverified stop-work the source holds, cleared or not: the central store's own
    table (`status --central`), or what this laptop pulled into `foreign.db`; none for a laptop
    that never synced."""
    central = getattr(source, "unverified_stops", None)
    if callable(central):
        return fold(central())
    found = storage.pulled(source)
    if found is None:
        return []
    local, seal = found
    return fold(local.unverified(seal))


def incidents(source: Any, state: Any) -> list[tuple[UnverifiedStop, Incident]]:
    """The refused laptops' incidents, each with its register entry folded from its event as a
    pulled verified one is, closed (by the clearance's note) once `clear --unverified` lifted
    it here: what `incident list` and `incident show` add to the register, marked unverified.
    One already in the register (reported before the laptop's chain was refused, and synced
    then) is the record's, and left to it. `state`: `production.load(source)`."""
    from safetycli.incidents import Register

    out = []
    for u in pulled(source):
        if not u.is_incident or u.event is None:
            continue
        register = Register()
        register.apply(u.event)
        found = next(iter(register.incidents.values()), None)
        if found is None or found.id in state.incidents.incidents:
            continue
        cleared = state.cleared_unverified.get(u.key)
        if cleared is not None:
            found.closed_seq = cleared.seq
            found.closed_at = cleared.at
            found.closed_by = list(cleared.data.get("cleared_by") or [])
            found.action = cleared.data.get("note")
        found.device = u.device
        out.append((u, found))
    return out
