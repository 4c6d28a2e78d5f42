"""The result and error types of the log store's interface, and the chain's genesis hash.

What the rest of safetycli may ask of a store (append, read a run, the review indexes, a
consistent view, verify) is declared in `capabilities.py`, split by capability; its consumers
import it for type checking only. What a consumer handles at run time (the errors a store
raises, what verify returns, a run's start as lists show it) lives here, so a consumer imports
nothing of SQLite. Kept light: every command that opens the log imports it, `status` included.
"""

from __future__ import annotations

from typing import Any

from safetycli.errors import SafetyError
from safetycli.records import Frozen

# The hash an empty log's head has, and the first event's prev_hash: part of the chain's
# definition, so every store and every verifier agree on it.
GENESIS = "0" * 64


class LogDamaged(SafetyError):
    """The store is not a readable log. Other commands report it as an error (exit 2);
    `verify` reports the log as altered (exit 1), because that is what a replaced file means."""


class LogEmpty(LogDamaged):
    """The file exists but holds no log at all: emptied, or replaced by a blank database. Only
    `init` starts a log, so no other command ever builds a new one in its place."""


class LogWentBack(SafetyError):
    """The log does not reach its high-water mark (`headmark`): it lost events from its end or
    was replaced. Every command that writes refuses; `verify` reports it as altered (exit 1)."""


class LogUnwritable(SafetyError):
    """An append failed or was refused (lock held too long, disk full, a damaged file, a log
    that went backwards): the message says what happened and what to do, and nothing of the
    append was kept. `stop`: what failed was a hold or a stop-work, which the crew must hear."""

    def __init__(self, message: str, *, stop: bool = False) -> None:
        super().__init__(message)
        self.stop = stop


class RunMoved(Exception):
    """`append_many(if_run_at=...)` found the run changed since the caller last read it."""


class VerifyResult(Frozen):
    """What verify found. `events` and `head` say how far the chain holds together (all of it
    when ok; the events before `first_bad_seq` when an event breaks it). When only an expected
    head is wrong, the chain itself holds: they describe the log as it is now, so the two heads
    can be compared. A plain record (records.py): every command that opens the log imports this
    module, and a dataclass here cost each of them the `dataclasses` import."""

    __slots__ = (
        "ok",
        "events",
        "head_seq",
        "head",
        "first_bad_seq",
        "reason",
        "device",
        "macs_from",
        "unchecked",
        "problems",
    )
    ok: bool
    events: int
    head_seq: int
    head: str
    first_bad_seq: int | None
    reason: str | None
    # The device that MACs the log (None: a log from before device keys), and whether every MAC
    # from its key on was checked. `unchecked` says why not (the key is not on this machine).
    device: str | None
    macs_from: int | None
    unchecked: str | None
    # What the events mean, beyond their links (an unapproved roster change, a credential that
    # does not match, a damaged index): each names its event; any makes the log not ok.
    problems: tuple[Problem, ...]

    def __init__(
        self,
        ok: bool,
        events: int,
        head_seq: int,
        head: str,
        first_bad_seq: int | None,
        reason: str | None,
        device: str | None = None,
        macs_from: int | None = None,
        unchecked: str | None = None,
        problems: tuple[Problem, ...] = (),
    ) -> None:
        object.__setattr__(self, "ok", ok)
        object.__setattr__(self, "events", events)
        object.__setattr__(self, "head_seq", head_seq)
        object.__setattr__(self, "head", head)
        object.__setattr__(self, "first_bad_seq", first_bad_seq)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "device", device)
        object.__setattr__(self, "macs_from", macs_from)
        object.__setattr__(self, "unchecked", unchecked)
        object.__setattr__(self, "problems", problems)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head": self.head,
            "head_seq": self.head_seq,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "device": self.device,
            "macs_checked_from": None if self.unchecked else self.macs_from,
            "macs_unchecked": self.unchecked,
            "problems": [{"seq": p.seq, "reason": p.reason} for p in self.problems],
        }


class Problem(Frozen):
    """One thing verify found wrong in what the log says; `seq` None when it is about no single
    event (the file's own structure). A plain record (records.py), as `VerifyResult` is."""

    __slots__ = ("seq", "reason")
    seq: int | None
    reason: str

    def __init__(self, seq: int | None, reason: str) -> None:
        object.__setattr__(self, "seq", seq)
        object.__setattr__(self, "reason", reason)


class RunStart(Frozen):
    """A `run.started` event with only what a run list shows: lists never replay runs. A plain
    record (records.py): the dataclass cost every command that opens the log about 0.5 ms."""

    __slots__ = ("run", "seq", "at", "data")
    run: str
    seq: int
    at: str
    data: dict[str, Any]

    def __init__(self, run: str, seq: int, at: str, data: dict[str, Any]) -> None:
        object.__setattr__(self, "run", run)
        object.__setattr__(self, "seq", seq)
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "data", data)


def pulled(source: object) -> tuple[Any, str | None] | None:
    """What a laptop pulled from the production's other laptops (a `central.foreign.ForeignLog`)
    and the seal its rows are read with; None for a laptop that never synced, and for a source
    that pulls nothing (the central store, a reader)."""
    foreign = getattr(source, "foreign", None)
    log = foreign() if callable(foreign) else None
    if log is None:
        return None
    key = getattr(source, "key", None)
    return log, (key.foreign_seal if key is not None else None)


def parse_head(text: str) -> tuple[int | None, str]:
    """`HASH` or `SEQ:HASH` (as reports print it); at least 12 hex digits of the hash."""
    seq_text, _, digest = text.strip().rpartition(":")
    digest = digest.lower()
    if len(digest) < 12 or any(c not in "0123456789abcdef" for c in digest):
        raise SafetyError(
            f"--expect-head {text!r} is not a log head: give the hash a report printed "
            "(SEQ:HASH or at least 12 hex digits)"
        )
    if not seq_text:
        return None, digest
    if not seq_text.isdigit():
        raise SafetyError(f"--expect-head {text!r}: the part before `:` must be a sequence number")
    return int(seq_text), digest
