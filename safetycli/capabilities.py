"""What the rest of safetycli may ask of a log store, split by capability.

Two stores serve it: the workspace's SQLite file (`ledger.Ledger`) and the central PostgreSQL
store (`central.reader`). Code that reviews or verifies the log types its parameter as one of
these protocols, never as the SQLite class, so either store plugs in without touching it. Each
protocol is one capability (append, read a run, the review indexes, a consistent view, verify),
the way pyeventsourcing splits its recorders: a consumer names only what it uses, and a store that
cannot offer a capability (a read-only mirror cannot append) still serves the consumers that do
not.

A module of its own, imported for type checking only (`if TYPE_CHECKING:`): making these eight
Protocol classes cost about 1.5 ms, which `status` and every other command that opens the log
need not pay. The one check made at run time (is this store `Partitioned`?, review.py) imports it
where it is asked. The result and error types the protocols name live in `storage.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from safetycli.devicekey import DeviceKey
    from safetycli.events import Event, NewEvent
    from safetycli.storage import RunStart, VerifyResult


@runtime_checkable
class Appender(Protocol):
    """Adds events at the end of the one chain, durably; the only way anything is recorded."""

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest event; (0, GENESIS) for an empty log."""
        ...

    def append(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        run: str | None = None,
        person: str | None = None,
        credential: tuple[str, str] | None = None,
        guard: Callable[[], None] | None = None,
    ) -> Event: ...

    def append_many(
        self,
        new: Iterable[NewEvent],
        *,
        credential: tuple[str, str] | None = None,
        if_run_at: tuple[str, int] | None = None,
        if_no_stop_after: int | None = None,
        guard: Callable[[], None] | None = None,
    ) -> list[Event]:
        """All or none, in order. `guard()` runs under the write lock before anything is
        written; what it raises aborts the append. `if_run_at=(run, seq)` raises RunMoved unless
        the run's newest event is still `seq` when the write happens: an answer decided on a
        stale view of the run (a hold raised from another laptop meanwhile) is never recorded.
        `if_no_stop_after=seq`
        raises RunMoved if any stop-work (a hold on any run, a stop on any scene) was written
        after `seq`: a stop on the scene, or on another run of it, stops this run too."""
        ...


@runtime_checkable
class RunReader(Protocol):
    """Reads events in log order, streamed: a run is replayed from its events."""

    def events(
        self, *, run: str | None = None, kinds: Iterable[str] | None = None, after: int = 0
    ) -> Iterator[Event]:
        """Events with seq > `after`, of one run when `run` is given, of these `kinds` when
        given (through the kind index)."""
        ...


@runtime_checkable
class ReviewIndex(Protocol):
    """The questions review asks across a season. Each is answered from an index, so a day's
    list or report costs what that day holds, not what the whole log holds."""

    def run_starts(
        self,
        *,
        day_from: str | None = None,
        day_to: str | None = None,
        scene: str | None = None,
        protocol: str | None = None,
        newest_first: bool = True,
    ) -> Iterator[RunStart]:
        """Run starts of the shooting days `day_from`..`day_to` (inclusive; None: open), of that
        scene (case-insensitive) and protocol id, ordered by shooting day, then by start."""
        ...

    def lifecycle(self, run: str) -> Iterator[tuple[str, str]]:
        """(kind, at) of the run's `events.LIFECYCLE_KINDS` events, in order: its status
        without a replay."""
        ...

    def run_status(self, run: str) -> tuple[str, int, str | None] | None:
        """(status, holds, ended at) from the store's run-status projection (kept with every
        append, checked by verify); None when it has no row for the run. Listings only."""
        ...

    def unended_runs(self) -> set[str]:
        """Runs started and neither completed nor aborted, read from the log itself."""
        ...

    def open_runs(self) -> set[str]:
        """At least every run started and neither completed nor aborted, from the store's
        run-status projection where it keeps one: `status` replays each from the log, so a run
        listed here that has ended is ruled out there."""
        ...

    def hold_events(self) -> Iterator[tuple[int, str, str, str, dict[str, Any]]]:
        """(seq, at, kind, run, data) of every hold raised or cleared on a run and every run
        aborted, in log order, read from the log itself."""
        ...

    def hold_kinds(self) -> Iterator[tuple[int, str, str, str]]:
        """(seq, at, kind, run) of the events `hold_events` gives, without their data."""
        ...

    def runs_by(self, names: Iterable[str]) -> set[str]:
        """Runs with an event whose `person` is one of these names."""
        ...

    def signed_in_runs(self, role: str, names: Iterable[str] | None = None) -> set[str]:
        """Runs where someone (one of `names`, when given) signed in for `role`."""
        ...

    def starts_of(self, runs: Iterable[str]) -> list[RunStart]:
        """The starts of these runs, newest shooting day first (then newest start)."""
        ...

    def crew_names(self) -> Iterator[str]:
        """Every name `crew.added` recorded, once each: the spellings a person filter matches."""
        ...

    def people_events(self, run: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(kind, data) of the run's sign-ins, holds raised and holds cleared, in order: the
        events that name who took part in which role."""
        ...

    def has_events_by(self, run: str, names: Iterable[str]) -> bool:
        """Whether any event of the run is by one of these people (as its `person`)."""
        ...

    def outside_runs(
        self, kinds: Iterable[str], *, since: str | None = None, until: str | None = None
    ) -> Iterator[Event]:
        """Events of these kinds that belong to no run, recorded at `since <= at < until`
        (logged UTC times compared as text, `days.window` of a period's local days; None:
        open), in log order."""
        ...

    def run_span(self, run: str) -> tuple[int, int] | None:
        """(first, last) sequence number of the run's events; None for a run with none."""
        ...

    def events_between(self, kinds: Iterable[str], first: int, last: int) -> Iterator[Event]:
        """Events of these kinds numbered `first`..`last` (inclusive), in log order, each
        checked as `RunReader.events` checks it."""
        ...

    def outcomes_between(self, outcomes: Iterable[str], first: int, last: int) -> Iterator[Event]:
        """The `item.done` events numbered `first`..`last` whose outcome is one of these, in
        log order, checked."""
        ...

    def signature_tally(
        self, first: int, last: int
    ) -> Iterator[tuple[str, Any, Any, int, int, int]]:
        """(run, name, role, first seq, signatures, performed) for each name and role that
        signed in each run over the events numbered `first`..`last`: the signatures each
        sign-off stands for (`events.expand`) counted with the per-item ones of older logs."""
        ...


@runtime_checkable
class Snapshot(Protocol):
    """A consistent view for a report: everything read inside sees the same log."""

    def snapshot(self) -> AbstractContextManager[tuple[int, str]]:
        """Enter to get the head of the log the view sees: the head a report prints must be
        exactly the log it was made from, even while the crew keeps signing elsewhere."""
        ...


@runtime_checkable
class Verifier(Protocol):
    """Recomputes the hash chain: the proof that the log was not altered."""

    def verify(
        self,
        *,
        expect_head: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
        key: DeviceKey | None = None,
    ) -> VerifyResult:
        """`expect_head` (`[SEQ:]HASH` from a printed report) also proves nothing up to it was
        rewritten; `progress(done, total)` is called as it goes; `workers` changes the speed,
        never the answer; `key` checks the device MACs with a copy of the device key."""
        ...


@runtime_checkable
class ProductionReader(Protocol):
    """Facts about the production rather than one run (stop-work on a scene): what the
    production-wide state (`production.ProductionState`) is folded from."""

    def production_events(self) -> Iterator[Event]:
        """The events of `events.PRODUCTION_KINDS`, in log order."""
        ...


@runtime_checkable
class ReviewSource(RunReader, ReviewIndex, Snapshot, ProductionReader, Protocol):
    """Everything review reads: lists, one run in full, the set now, the report."""


@runtime_checkable
class Partitioned(Protocol):
    """A store of several chains (the central store: one per device), whose event numbers mean
    something only within one chain. A report summarises each chain's runs over that chain
    (`ReviewIndex.run_span` and the `*_between` questions), then merges them in order."""

    def partitions(self, runs: list[str]) -> list[tuple[ReviewSource, list[int]]]:
        """One view per chain the `runs` (in the report's order) were recorded in, each with
        the places of its runs in `runs`."""
        ...
