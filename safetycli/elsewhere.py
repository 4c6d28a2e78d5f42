"""What stopped work on this laptop from the production's other laptops, for review.

A run held on another laptop holds its scene here once both have synced, and a refused laptop's
unverified stop-work stops its scene here (unverified.py). Neither is an event of this laptop's
log, so a producer reviewing this laptop's day (`report`, `log show`) would not see why work
stopped, nor who lifted it. This module gathers both, cleared or not, as one kind of entry with
one line of words (the words `report --central` uses for the unverified ones), for the report's
exceptions and a run's record.

Read through `foreign.db`'s kind index and its small unverified table, never by folding this
laptop's log: a day's report stays flat in the length of the season. Core code: no Typer, no Rich.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safetycli import storage
from safetycli.i18n import _

if TYPE_CHECKING:
    from safetycli.lifecycle import Lifecycle
    from safetycli.production import ProductionState, Source
    from safetycli.unverified import UnverifiedStop

UNVERIFIED = "unverified"
HELD_RUN = "held-run"


@dataclass(frozen=True)
class Stopped:
    """One stop that came from another laptop: a refused laptop's unverified stop-work
    (`source` "unverified": `ref` is how `clear --unverified` names it, `alarm` the server's
    words) or a run held on another laptop (`source` "held-run": cleared there, `run` its id).
    An incident stops firearm work in every scene (`stops_all`), whatever scene it names."""

    source: str
    device: str
    what: str  # stop-work | run hold | incident
    scene: str | None
    day: str | None
    run: str | None
    reason: str
    raised_at: str
    raised_by: dict[str, Any] | None
    authenticated: bool
    alarm: str | None = None
    ref: str | None = None
    cleared_at: str | None = None
    cleared_by: list[dict[str, Any]] | None = None
    note: str | None = None
    ended: str | None = None  # a held run aborted on its laptop: when its hold stopped holding
    day_wide: bool = False  # a day-wide run (the armory's): it held every scene of its day

    @property
    def is_on(self) -> bool:
        return self.cleared_at is None and self.ended is None

    @property
    def stops_all(self) -> bool:
        return self.what == "incident" or self.scene is None

    @property
    def shooting_day(self) -> str:
        """The day it belongs to in a report: its shooting day, else the day it was raised."""
        return self.day or self.raised_at[:10]

    @property
    def line(self) -> str:
        """One line: what stopped work, from which laptop, and how it ended, in English with the
        log's UTC times: what JSON and CSV keep (the same in every language); people read
        `said`."""
        who = (self.raised_by or {}).get("name") or "someone"
        end = "still on"
        if self.cleared_at is not None:
            names = ", ".join(str(c.get("name")) for c in self.cleared_by or [])
            end = f"cleared at {self.cleared_at} by {names}: {self.note}"
        elif self.ended is not None:
            end = f"its run aborted at {self.ended}"
        if self.source == UNVERIFIED:
            where = "firearm work in every scene" if self.stops_all else f"scene {self.scene}"
            return (
                f"UNVERIFIED {self.what} from laptop {self.device}, whose sync the server "
                f"refused ({self.alarm}): {where}, raised at {self.raised_at} by {who}: "
                f"{self.reason}; {end}"
            )
        where = f"every scene of {self.day}" if self.day_wide else f"scene {self.scene}"
        if self.is_on:
            end += f": it is cleared on laptop {self.device}, then both laptops sync"
        return (
            f"run {self.run} held on laptop {self.device}: {where} held here too, raised at "
            f"{self.raised_at} by {who}: {self.reason}; {end}"
        )

    def said(self, when: Callable[[str], str]) -> str:
        """`line` for a person: in the reader's language, each time as `when` writes it (the
        production's zone: the caller's format). `line` stays the English, UTC words that JSON
        and CSV keep. What people and the server wrote (names, reasons, notes, the alarm) is data,
        shown as written: each output escapes the result its own way."""
        said: dict[str, Any] = {
            "device": self.device,
            "at": when(self.raised_at),
            "who": (self.raised_by or {}).get("name") or _("someone"),
            "reason": self.reason,
            "scene": self.scene,
            "day": self.day,
            "run": self.run,
        }
        if self.source == UNVERIFIED:
            said |= {"what": _(self.what), "alarm": self.alarm}
            if self.stops_all:
                stop = _(
                    "UNVERIFIED {what} from laptop {device}, whose sync the server refused "
                    "({alarm}): firearm work in every scene, raised at {at} by {who}: {reason}"
                )
            else:
                stop = _(
                    "UNVERIFIED {what} from laptop {device}, whose sync the server refused "
                    "({alarm}): scene {scene}, raised at {at} by {who}: {reason}"
                )
        elif self.day_wide:
            stop = _(
                "run {run} held on laptop {device}: every scene of {day} held here too, raised at "
                "{at} by {who}: {reason}"
            )
        else:
            stop = _(
                "run {run} held on laptop {device}: scene {scene} held here too, raised at {at} "
                "by {who}: {reason}"
            )
        if self.cleared_at is not None:
            end = _("cleared at {at} by {names}: {note}").format(
                at=when(self.cleared_at),
                names=", ".join(str(c.get("name")) for c in self.cleared_by or []),
                note=self.note,
            )
        elif self.ended is not None:
            end = _("its run aborted at {at}").format(at=when(self.ended))
        elif self.source == UNVERIFIED:
            end = _("still on")
        else:
            end = _("still on: it is cleared on laptop {device}, then both laptops sync").format(
                device=self.device
            )
        # Translators: a stop from another laptop, then how it ended ("...: reason; still on").
        return _("{stop}; {end}").format(stop=stop.format(**said), end=end)

    def as_json(self) -> Entry:
        """The entry JSON gives (English, UTC: the contract), carrying the stop itself so a
        person's output can say it in their words (`said`) without a key JSON does not have."""
        return Entry(self, self._json())

    def _json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "device": self.device,
            "kind": self.what,
            "scene": self.scene,
            "day": self.shooting_day,
            "run": self.run,
            "reason": self.reason,
            "raised_at": self.raised_at,
            "raised_by": self.raised_by,
            "authenticated": self.authenticated,
            "alarm": self.alarm,
            "ref": self.ref,
            "cleared_at": self.cleared_at,
            "cleared_by": self.cleared_by,
            "note": self.note,
            "line": self.line,
        }


class Entry(dict[str, Any]):
    """A stop's JSON (`json.dumps` writes it as a plain dict) that keeps the stop it was made
    from, as `unverified.Shown` does: the report and `log show` say it through `stop.said`."""

    def __init__(self, stop: Stopped, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.stop = stop


class Line(str):
    """A stop's English `line` (a plain string in JSON) that keeps the stop it was made from:
    `report --central`'s conflicts between laptops list the unverified ones as lines."""

    stop: Stopped

    def __new__(cls, stop: Stopped) -> Line:
        made = super().__new__(cls, stop.line)
        made.stop = stop
        return made


def unverified(source: Source, state: ProductionState) -> list[Stopped]:
    """Every unverified stop-work the source holds (a laptop's `foreign.db`, or the central
    store), each with the clearance that lifted it here, if one did."""
    from safetycli.unverified import pulled

    return [_unverified(u, state) for u in pulled(source)]


def _unverified(u: UnverifiedStop, state: ProductionState) -> Stopped:
    cleared = state.cleared_unverified.get(u.key)
    return Stopped(
        UNVERIFIED,
        u.device,
        u.what,
        u.scene,
        u.day,
        u.run,
        u.reason,
        u.raised_at,
        u.raised_by,
        u.authenticated,
        alarm=u.alarm,
        ref=u.ref,
        cleared_at=None if cleared is None else cleared.at,
        cleared_by=None if cleared is None else list(cleared.data.get("cleared_by") or []),
        note=None if cleared is None else cleared.data.get("note"),
    )


def held_runs(source: Source, since: str | None = None, until: str | None = None) -> list[Stopped]:
    """The holds of the other laptops' runs this laptop pulled, on or cleared: each held its
    run's scene here (its day, for a day-wide run) while it was on. None for a laptop that
    never synced, or a source that pulls nothing (the central store: those runs are its own).
    `since`/`until` (UTC, a date or a time): only runs with a hold still on, or one on at some
    moment between them, are looked at further (their starts read): a day's review reads the
    starts of its days' holds, not of every hold of the season."""
    from safetycli.production import DAY

    found = storage.pulled(source)
    if found is None:
        return []
    pulled, seal = found

    def near(fold: Lifecycle) -> bool:
        for h in fold.holds:
            lifted = h.cleared_at or (fold.ended_at if fold.aborted is not None else None)
            if lifted is None and fold.aborted is None:
                return True  # still on
            if (until is None or h.raised_at <= until) and (
                since is None or lifted is None or lifted >= since
            ):
                return True
        return False

    out = []
    for device, start, fold in pulled.run_holds(seal, near):
        for hold in fold.holds:
            ended = None
            if hold.cleared_at is None and fold.aborted is not None:
                ended = fold.ended_at or hold.raised_at
            out.append(
                Stopped(
                    HELD_RUN,
                    device,
                    "run hold",
                    str(start.data["scene"]),
                    start.data.get("day"),
                    start.run,
                    hold.reason,
                    hold.raised_at,
                    hold.raised_by,
                    hold.authenticated,
                    cleared_at=hold.cleared_at,
                    cleared_by=hold.cleared_by,
                    note=hold.note,
                    ended=ended,
                    day_wide=start.data.get("scope") == DAY,
                )
            )
    return out


def stopped_here(
    source: Source, state: ProductionState, since: str | None = None, until: str | None = None
) -> list[Stopped]:
    """Both kinds, in the order they were raised (`since`/`until`: as `held_runs`)."""
    found = unverified(source, state) + held_runs(source, since, until)
    return sorted(found, key=lambda s: (s.raised_at, s.device, s.run or ""))


def around(day_from: str | None, day_to: str | None) -> tuple[str | None, str | None]:
    """The UTC window a period's holds were on in, with room for the production's zone and a
    night shoot past midnight: `held_runs`' `since` and `until` for a report of the period."""
    from datetime import date, timedelta

    def shift(day: str | None, days: int) -> str | None:
        return None if day is None else (date.fromisoformat(day) + timedelta(days)).isoformat()

    return shift(day_from, -2), shift(day_to, 3)


def in_period(
    found: Iterable[Stopped], day_from: str | None, day_to: str | None, zone: str = "UTC"
) -> list[Stopped]:
    """Those of the period (by shooting day, or the day raised in the production's zone: a run
    recorded for an earlier day is held when it is held), and any still on, whenever raised: as
    the report lists stop-work called on a scene."""
    from safetycli.days import local_day, within

    out = []
    for s in found:
        days = (s.day, local_day(s.raised_at, zone))
        inside = any(within(d, day_from, day_to) for d in days)
        if inside or s.is_on:
            out.append(s)
    return out


def during(
    found: Iterable[Stopped], scene: str, day: str, started_at: str | None, ended_at: str | None
) -> list[Stopped]:
    """Those that stopped a run of `scene` on shooting `day` while it was under way: on its
    scene (or every scene: an incident; its day: a day-wide run), raised before its end (or
    now) and not lifted before it started."""
    from safetycli.production import scene_key

    key = scene_key(scene)
    out = []
    for s in found:
        if s.day_wide:
            hits = s.day == day
        else:
            hits = s.stops_all or scene_key(str(s.scene)) == key
        if not hits:
            continue
        if ended_at is not None and s.raised_at > ended_at:
            continue
        lifted = s.cleared_at or s.ended
        if started_at and lifted is not None and lifted < started_at:
            continue
        out.append(s)
    return out
