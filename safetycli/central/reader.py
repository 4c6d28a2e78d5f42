"""The merged production, read from the central store: what `--central URL` review reads.

It offers the same capabilities as the laptop's log (`capabilities.ReviewSource`), over every
device's events, so review code runs unchanged. Each event read from here carries its `device`.

Run ids are made on each laptop (`r-` and six hex digits), so two laptops can make the same one.
A run id only one device used is shown as it is; one that two devices used is shown as
`RUN@DEVICE`, and every question about that run is asked of that device's events only: two runs
are never merged because their ids collide.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import TYPE_CHECKING, Any

from safetycli.central.store import CentralStore
from safetycli.events import (
    AUTH_OK,
    CREW_ADDED,
    CREW_REMOVED,
    DEVICE_KEYED,
    HOLD_CLEARED,
    HOLD_RAISED,
    ITEM_DONE,
    LIFECYCLE_KINDS,
    PRODUCTION_KINDS,
    RUN_ABORTED,
    RUN_COMPLETED,
    RUN_SIGNED_IN,
    RUN_STARTED,
    Event,
)
from safetycli.ledger import canonical_json
from safetycli.storage import RunStart

if TYPE_CHECKING:
    from safetycli.armory import ArmoryState

_EVENT = "device, seq, at, kind, run, person, data, prev_hash, hash"
_DAY = "((data::jsonb) ->> 'day')"  # the expression migration 2 indexes
# A list or report of shooting days fetches its runs' events with their starts, up to this many
# runs (a few days of twenty units); a longer period asks run by run, its memory flat.
PREFETCH_RUNS = 3_000
JOIN_SHOWN_DAYS = 7  # `status --central` lists join requests this recent


class CentralReader:
    """Read-only view of the central store for review commands."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store
        self.conn = store.conn
        self._devices: dict[str, str | None] = {}  # shown run id -> its device
        # A day's runs' lifecycle events, fetched with their starts in one query (`run_starts`
        # with days): a listing asks each run's status in turn, each a round trip otherwise.
        self._lifecycles: dict[str, list[tuple[str, str]]] = {}
        self._listed: list[RunStart] = []
        self._production: list[Event] | None = None

    def production(self) -> str:
        """The production's name, as the laptops that synced recorded it."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT production FROM devices WHERE production IS NOT NULL LIMIT 1")
            row = cur.fetchone()
        return str(row[0]) if row else ""

    def waiting_laptops(self) -> list[dict[str, Any]]:
        """The devices that registered and are not let in yet (schema.py, migration 8), the
        longest waiting first, each with the command that lets it in."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT device, production, key_id, registered_at FROM devices"
                " WHERE approved_at IS NULL ORDER BY registered_at, device"
            )
            rows = cur.fetchall()
        return [
            {
                "device": str(device),
                "production": production,
                "key": key_id,
                "asked_at": asked.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "approve": f"safetycli join approve-device {device}",
            }
            for device, production, key_id, asked in rows
        ]

    def waiting_joins(self) -> list[dict[str, Any]]:
        """New laptops that asked to join (`init --from-central`) in the last `JOIN_SHOWN_DAYS`
        and whose code no producer approved yet. The server never sees a code (join.py), so
        each is only a time: the producer reads the code off that laptop's screen. Older
        requests are left out: a code nobody typed in a week was given up, and the server keeps
        every request."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT requested_at FROM joins WHERE approved_at IS NULL AND taken_at IS NULL"
                " AND requested_at > now() - make_interval(days => %s) ORDER BY requested_at",
                (JOIN_SHOWN_DAYS,),
            )
            rows = cur.fetchall()
        return [
            {
                "asked_at": asked.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "approve": "safetycli join approve CODE",
            }
            for (asked,) in rows
        ]

    def removal_conflicts(self) -> list[str]:
        """A person removed on one laptop who signed on another laptop of the same production
        (the same production secret) after the removal: rostermerge.removal_conflicts."""
        from safetycli.rostermerge import removal_conflicts

        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT device, (data::jsonb) ->> 'pepper_id' FROM events WHERE kind = %s",
                (DEVICE_KEYED,),
            )
            production = {str(d): p for d, p in cur}
            cur.execute(
                "SELECT device, at, (data::jsonb) ->> 'name' FROM events WHERE kind = %s",
                (CREW_REMOVED,),
            )
            removals = [(str(d), str(at), str(n)) for d, at, n in cur]
            if not removals:
                return []
            cur.execute(
                "SELECT device, at, person FROM events WHERE kind = %s AND person = ANY(%s)",
                (AUTH_OK, sorted({n for _, _, n in removals})),
            )
            signed = [(str(d), str(at), str(n)) for d, at, n in cur]
        lines: list[str] = []
        for secret in {production.get(d) for d, _, _ in removals}:
            mine = [(at, d, n) for d, at, n in removals if production.get(d) == secret]
            theirs = [(at, d, n) for d, at, n in signed if production.get(d) == secret]
            lines += removal_conflicts(mine, theirs)
        return lines

    def conflicts(
        self, runs: Iterable[str] | None = None, custody: list[str] | None = None
    ) -> list[str]:
        """Every conflict between laptops the server's events show (central/conflicts.py)."""
        from safetycli.central.conflicts import between_laptops

        return between_laptops(self, runs, custody)

    def custody_for_period(
        self, keep: Callable[[str | None, str], bool], day_from: str | None, zone: str
    ) -> ArmoryState:
        """A report's custody (`armory.for_period`) from the reading machine's own sealed
        starting point when one holds: central/custodypoint.py."""
        from safetycli.central import custodypoint

        return custodypoint.for_period(self, keep, day_from, zone)

    # --- runs --------------------------------------------------------------------------------

    def _run(self, run: str) -> tuple[str, str | None]:
        """(run id, device) of a shown run id: `RUN@DEVICE`, or a run id one device used (two
        devices that used it: which one must be said)."""
        if run in self._devices:
            plain, _, _ = run.partition("@")
            return plain, self._devices[run]
        plain, _, device = run.partition("@")
        if not device:
            with self.conn.cursor() as cur:
                cur.execute(
                    "SELECT DISTINCT device FROM events WHERE run = %s AND kind = %s"
                    " ORDER BY device",
                    (plain, RUN_STARTED),
                )
                found = [str(d) for (d,) in cur.fetchall()]
            if len(found) > 1:
                from safetycli.errors import SafetyError

                named = " or ".join(f"{plain}@{d}" for d in found)
                raise SafetyError(
                    f"run {plain} was made on {len(found)} laptops: say which, {named}"
                )
            device = found[0] if found else ""
        self._devices[run] = device or None
        return plain, device or None

    def device_of(self, run: str) -> str | None:
        """The device a listed run was recorded on."""
        return self._run(run)[1]

    def _where_run(self, run: str) -> tuple[str, list[Any]]:
        plain, device = self._run(run)
        if device is None:
            return "run = %s", [plain]
        return "run = %s AND device = %s", [plain, device]

    def _rows(self, sql: str, params: Iterable[Any]) -> Iterator[Event]:
        with self.conn.cursor() as cur:
            cur.execute(sql, list(params))
            for device, seq, at, kind, run, person, data, prev, digest in cur:
                yield Event(
                    int(seq), at, kind, run, person, json.loads(data), prev, digest, device=device
                )

    def events(
        self,
        *,
        run: str | None = None,
        person: str | None = None,
        kinds: Iterable[str] | None = None,
        after: int = 0,
    ) -> Iterator[Event]:
        """Events in each device's order, devices one after another. `after` is a number in
        one device's chain: it means something only with a run, whose events are one device's."""
        where, params = ["seq > %s"], [after]
        if run is not None:
            clause, values = self._where_run(run)
            where.append(clause)
            params += values
        if person is not None:
            where.append("person = %s")
            params.append(person)
        if kinds is not None:
            where.append("kind = ANY(%s)")
            params.append(list(kinds))
        return self._rows(
            f"SELECT {_EVENT} FROM events WHERE {' AND '.join(where)} ORDER BY device, seq", params
        )

    def unverified_stops(self) -> list[tuple[Event, str, str]]:
        """Stop-work of refused laptops the server keeps beside their alarms (unverified.py),
        as (event, the alarm's words, when it was received)."""
        out = []
        for row in self.store.unverified():
            device, seq, at, kind, run, person, data, prev, digest, alarm, received = row
            event = Event(seq, at, kind, run, person, json.loads(data), prev, digest, device)
            out.append((event, alarm, received))
        return out

    def production_events(self) -> Iterator[Event]:
        """Read once per command: review folds them again for every run it reports on."""
        if self._production is None:
            self._production = list(self.events(kinds=PRODUCTION_KINDS))
        return iter(self._production)

    def run_starts(
        self,
        *,
        day_from: str | None = None,
        day_to: str | None = None,
        scene: str | None = None,
        protocol: str | None = None,
        newest_first: bool = True,
    ) -> Iterator[RunStart]:
        """Every unit's run starts, through the shooting-day index; ordered by day, then by
        when they started (one clock per laptop: the order between units is as good as their
        clocks)."""
        where, params = ["kind = %s"], [RUN_STARTED]
        if day_from is not None and day_from == day_to:
            where.append(f"{_DAY} = %s")
            params.append(day_from)
        else:
            for op, value in ((">=", day_from), ("<=", day_to)):
                if value is not None:
                    where.append(f"{_DAY} {op} %s")
                    params.append(value)
        if scene is not None:
            where.append("lower((data::jsonb) ->> 'scene') = lower(%s)")
            params.append(scene)
        if protocol is not None:
            where.append("((data::jsonb) -> 'protocol' ->> 'id') = %s")
            params.append(protocol)
        starts = self._starts(" AND ".join(where), params, newest_first)
        if (day_from is not None or day_to is not None) and len(starts) <= PREFETCH_RUNS:
            self._listed = starts  # their lifecycles are fetched together when one is asked
        return iter(starts)

    def _starts(self, where: str, params: list[Any], newest_first: bool) -> list[RunStart]:
        """The run starts `where` selects, each under the id it is shown by (`RUN@DEVICE` for
        an id two devices made: the run-start index says which, one seek each)."""
        order = "DESC" if newest_first else "ASC"
        shared = (
            "(SELECT count(DISTINCT o.device) FROM events o WHERE o.run = e.run"
            f" AND o.kind = '{RUN_STARTED}') > 1"
        )
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT run, device, seq, at, data, {shared} FROM events e"
                f" WHERE {where} ORDER BY {_DAY} {order}, at {order}, device",
                params,
            )
            rows = cur.fetchall()
        out = []
        for run, device, seq, at, data, collides in rows:
            shown = f"{run}@{device}" if collides else run
            self._devices[shown] = device
            out.append(RunStart(shown, int(seq), at, json.loads(data)))
        return out

    def _prefetch_lifecycles(self, starts: list[RunStart]) -> None:
        """The lifecycle events of these runs, in one query (a day's: memory stays a day's)."""
        shown_as = {(s.run.partition("@")[0], self._devices[s.run]): s.run for s in starts}
        found: dict[str, list[tuple[str, str]]] = {shown: [] for shown in shown_as.values()}
        runs = [run for run, _ in shown_as]
        devices = [device for _, device in shown_as]
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT e.run, e.device, e.kind, e.at FROM events e"
                " JOIN unnest(%s::text[], %s::text[]) AS w(run, device)"
                " ON e.run = w.run AND e.device = w.device"
                " WHERE e.kind = ANY(%s) ORDER BY e.device, e.seq",
                (runs, devices, list(LIFECYCLE_KINDS)),
            )
            for run, device, kind, at in cur:
                found[shown_as[(run, device)]].append((kind, at))
        self._lifecycles.update(found)

    def partitions(self, runs: list[str]) -> list[tuple[DeviceView, list[int]]]:
        """The runs of a report (shown ids, in the report's order) by the device that recorded
        each, with their places in that order: review summarises each device's runs over that
        device's own chain (`run_span` and the `*_between` questions number events per chain),
        as it does a laptop's log, instead of replaying every run."""
        places: dict[str, list[int]] = {}
        plain_of: dict[str, dict[str, str]] = {}
        for i, run in enumerate(runs):
            plain, device = self._run(run)
            places.setdefault(device or "", []).append(i)
            plain_of.setdefault(device or "", {})[plain] = run
        spans: dict[str, dict[str, tuple[int, int]]] = {device: {} for device in places}
        pairs = [(plain, device) for device, named in plain_of.items() for plain in named]
        with self.conn.cursor() as cur:
            # Two seeks of the run index a run (min and max of its numbers), not its every event.
            cur.execute(
                "SELECT w.device, w.run,"
                " (SELECT min(e.seq) FROM events e WHERE e.run = w.run AND e.device = w.device),"
                " (SELECT max(e.seq) FROM events e WHERE e.run = w.run AND e.device = w.device)"
                " FROM unnest(%s::text[], %s::text[]) AS w(run, device)",
                ([p for p, _ in pairs], [d for _, d in pairs]),
            )
            for device, run, first, last in cur:
                if first is not None:
                    spans[device][plain_of[device][run]] = (int(first), int(last))
        return [
            (DeviceView(self, device, spans[device], plain_of[device]), places[device])
            for device in sorted(places)
        ]

    # -- what the listings and the stop board ask of a log since issue 14 (ledger.py has the
    # SQLite side); the server keeps no run-status table, so `run_status` folds the log.

    def run_status(self, run: str) -> tuple[str, int, str | None] | None:
        return None  # review folds the run's lifecycle events instead

    def run_span(self, run: str) -> tuple[int, int] | None:
        """None: numbers are per device here, so no one range covers a period's runs; the
        report replays each run (its prefetched events) instead of summarising ranges."""
        return None

    def _run_ids(self, sql: str, params: list[Any]) -> set[str]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return {run for (run,) in cur.fetchall() if run is not None}

    def unended_runs(self) -> set[str]:
        """Runs started and neither completed nor aborted, on any unit."""
        return self._run_ids(
            "SELECT run FROM events WHERE kind = %s AND run IS NOT NULL EXCEPT"
            " SELECT run FROM events WHERE kind = ANY(%s)",
            [RUN_STARTED, [RUN_COMPLETED, RUN_ABORTED]],
        )

    def open_runs(self) -> set[str]:
        """The server keeps no run-status table: the runs not yet ended, from the events."""
        return self.unended_runs()

    def hold_events(self) -> Iterator[tuple[int, str, str, str, dict[str, Any]]]:
        """(seq, at, kind, run, data) of every hold raised or cleared and every abort, each
        unit's in its own order."""
        kinds = [HOLD_RAISED, HOLD_CLEARED, RUN_ABORTED]
        sql = (
            f"SELECT {_EVENT} FROM events WHERE kind = ANY(%s) AND run IS NOT NULL"
            " ORDER BY device, seq"
        )
        for e in self._rows(sql, [kinds]):
            yield e.seq, e.at, e.kind, str(e.run), e.data

    def hold_kinds(self) -> Iterator[tuple[int, str, str, str]]:
        return ((seq, at, kind, run) for seq, at, kind, run, _ in self.hold_events())

    def runs_by(self, names: Iterable[str]) -> set[str]:
        return self._run_ids(
            "SELECT DISTINCT run FROM events WHERE person = ANY(%s)", [list(names)]
        )

    def signed_in_runs(self, role: str, names: Iterable[str] | None = None) -> set[str]:
        sql = "SELECT DISTINCT run FROM events WHERE kind = %s AND (data::jsonb) ->> 'role' = %s"
        params: list[Any] = [RUN_SIGNED_IN, role]
        if names is not None:
            sql += " AND (data::jsonb) ->> 'name' = ANY(%s)"
            params.append(list(names))
        return self._run_ids(sql, params)

    def starts_of(self, runs: Iterable[str]) -> list[RunStart]:
        """The run starts of these runs, newest shooting day first."""
        wanted = set(runs)
        if not wanted:
            return []
        plain = sorted({run.partition("@")[0] for run in wanted})
        starts = self._starts("kind = %s AND run = ANY(%s)", [RUN_STARTED, plain], True)
        return [s for s in starts if s.run in wanted or s.run.partition("@")[0] in wanted]

    def lifecycle(self, run: str) -> Iterator[tuple[str, str]]:
        if run not in self._lifecycles and any(s.run == run for s in self._listed):
            self._prefetch_lifecycles(self._listed)
            self._listed = []
        if run in self._lifecycles:
            return iter(self._lifecycles[run])
        return ((e.kind, e.at) for e in self.events(run=run, kinds=LIFECYCLE_KINDS))

    def crew_names(self) -> Iterator[str]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT (data::jsonb) ->> 'name' FROM events WHERE kind = %s",
                (CREW_ADDED,),
            )
            yield from (name for (name,) in cur.fetchall() if isinstance(name, str))

    def people_events(self, run: str) -> Iterator[tuple[str, dict[str, Any]]]:
        kinds = (RUN_SIGNED_IN, HOLD_RAISED, HOLD_CLEARED)
        return ((e.kind, e.data) for e in self.events(run=run, kinds=kinds))

    def has_events_by(self, run: str, names: Iterable[str]) -> bool:
        clause, params = self._where_run(run)
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT 1 FROM events WHERE {clause} AND person = ANY(%s) LIMIT 1",
                [*params, list(names)],
            )
            return cur.fetchone() is not None

    def outside_runs(
        self, kinds: Iterable[str], *, since: str | None = None, until: str | None = None
    ) -> Iterator[Event]:
        where, params = ["kind = ANY(%s)", "run IS NULL"], [list(kinds)]
        for op, value in ((">=", since), ("<", until)):
            if value is not None:
                where.append(f"at {op} %s")
                params.append(value)
        return self._rows(
            f"SELECT {_EVENT} FROM events WHERE {' AND '.join(where)} ORDER BY at, device, seq",
            params,
        )

    @contextmanager
    def snapshot(self) -> Iterator[tuple[int, str]]:
        """One consistent view of every device's chain. Its head: how many events the server
        holds, and a hash over each device's head (`device:seq:hash`, by device), so a printed
        report names exactly the merged store it was made from."""
        with self.conn.transaction():
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            heads = self.conn.execute(
                "SELECT device, head_seq, head_hash FROM devices ORDER BY device"
            ).fetchall()
            text = "\n".join(f"{d}:{s}:{h}" for d, s, h in heads)
            total = sum(int(s) for _, s, _ in heads)
            yield total, hashlib.sha256(text.encode()).hexdigest()


class DeviceView:
    """One device's chain inside the central store, as review's per-chain summary of a report
    reads a laptop's log: `run_span` and the `*_between` questions in that device's numbers,
    answered through the kind index for that device alone; every other question is the whole
    store's (`CentralReader`). Runs are named as the store shows them (`RUN@DEVICE` for an id
    two devices made)."""

    def __init__(
        self,
        reader: CentralReader,
        device: str,
        spans: dict[str, tuple[int, int]],
        shown: dict[str, str],
    ) -> None:
        self.reader = reader
        self.device = device
        self.spans = spans
        self.shown = shown  # run id in this device's chain -> the id the store shows

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def run_span(self, run: str) -> tuple[int, int] | None:
        return self.spans.get(run)

    def _between(self, where: str, params: list[Any]) -> Iterator[Event]:
        with self.reader.conn.cursor() as cur:
            cur.execute(
                f"SELECT {_EVENT} FROM events WHERE device = %s AND {where} ORDER BY seq",
                [self.device, *params],
            )
            for device, seq, at, kind, run, person, data, prev, digest in cur:
                shown = self.shown.get(run, run) if run is not None else None
                yield Event(
                    int(seq), at, kind, shown, person, json.loads(data), prev, digest, device=device
                )

    def events_between(self, kinds: Iterable[str], first: int, last: int) -> Iterator[Event]:
        return self._between("kind = ANY(%s) AND seq BETWEEN %s AND %s", [list(kinds), first, last])

    def outcomes_between(self, outcomes: Iterable[str], first: int, last: int) -> Iterator[Event]:
        outcomes = list(outcomes)
        # The canonical text holds `"outcome":"refused"` as it is whenever the outcome is
        # refused: a cheap search first, the parse only for the few it finds.
        found = " OR ".join(["strpos(data, %s) > 0"] * len(outcomes)) or "false"
        return self._between(
            f"kind = %s AND seq BETWEEN %s AND %s AND ({found})"
            " AND (data::jsonb) ->> 'outcome' = ANY(%s)",
            [
                ITEM_DONE,
                first,
                last,
                *(f'"outcome":{canonical_json(o)}' for o in outcomes),
                outcomes,
            ],
        )

    def signature_tally(
        self, first: int, last: int
    ) -> Iterator[tuple[str, Any, Any, int, int, int]]:
        """As `Ledger.signature_tally`, for this device's runs of the report, from the server's
        signature table (rows added by the ingest function with each batch it counts: schema.py,
        summed here). A
        report's numbers `first`..`last` span each of its runs whole, so a run's tally over them
        is its tally."""
        with self.reader.conn.cursor() as cur:
            cur.execute(
                "SELECT run, name, role, min(first_seq), sum(signatures), sum(performed)"
                " FROM signatures WHERE device = %s AND run = ANY(%s)"
                " GROUP BY run, name, role HAVING min(first_seq) BETWEEN %s AND %s",
                (self.device, list(self.shown), first, last),
            )
            rows = cur.fetchall()
        for run, name, role, seq, count, performed in rows:
            yield self.shown.get(run, run), name, role, int(seq), int(count), int(performed)


@contextmanager
def open_central(url: str) -> Iterator[CentralReader]:
    """The merged store at `url`, for reading (its schema brought up to date first)."""
    # The connection lost halfway through a listing is one line too, as at the start.
    with CentralStore.connect(url) as store, store.talking():
        store.migrate()
        yield CentralReader(store)
