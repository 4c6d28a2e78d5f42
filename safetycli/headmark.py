"""The log's high-water mark: the last event written (seq and hash), kept in two places.

A hash chain proves that what is in the log was not edited; it cannot prove that nothing is
missing from its end. Delete the `-wal` file during a run, or delete or empty `log.db`, and what
remains is a shorter chain that verifies. So after every append the head is written down twice:
`log.head` beside the log, and a copy outside the workspace, in the user's state folder
(`$SAFETYCLI_STATE_DIR`, else `$XDG_STATE_HOME/safetycli`, else `~/.local/state/safetycli`),
keyed by the workspace's absolute path. When the log is opened it must reach the higher of the two
marks, with the same hash there; a log that went backwards or vanished is an alarm.

The marks are written after the append has committed (and fsynced): they can lag the log, never
lead it, so a crash cannot raise a false alarm. They are not fsynced themselves (a sign-off must
stay well under a millisecond); a mark that a power cut left unreadable is ignored, and the next
append writes it again. Whoever controls the laptop account can delete both marks: they are a
tripwire for a quiet loss or a careless edit, not proof. The proof is a head printed on a report
(`verify --expect-head`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetycli.digests import sha256
from safetycli.filemodes import FILE_MODE, make_private_dir, tighten, write_private_text
from safetycli.records import Frozen
from safetycli.statedir import state_dir

FILENAME = "log.head"


class Mark(Frozen):
    """A mark as read. A plain record (records.py), not a dataclass: every command that opens
    the log reads one, and making the dataclass cost about 0.6 ms of each start-up."""

    __slots__ = ("seq", "hash", "where", "device")
    seq: int
    hash: str
    where: Path
    # The device key the log was MACed with when the mark was written (devicekey.py): a log
    # whose key event vanished, or that was given a new key, no longer matches it.
    device: str | None

    def __init__(self, seq: int, hash: str, where: Path, device: str | None = None) -> None:
        object.__setattr__(self, "seq", seq)
        object.__setattr__(self, "hash", hash)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "device", device)

    def line(self) -> str:
        return f"{self.seq}:{self.hash[:16]}"


class HeadMarks:
    """The two marks of one workspace's log."""

    def __init__(self, workspace_root: Path) -> None:
        root = workspace_root.resolve()
        self.root = root
        self.beside = root / FILENAME
        key = sha256(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:24]
        self.outside = state_dir() / f"{key}.head"
        self._outside_ready = False
        # Each mark's file stays open for the life of the command: a sign-off then pays one
        # small write per mark, not a temporary file and a rename (about 0.2 ms each).
        self._open: dict[Path, int] = {}
        self.device: str | None = None  # set by the workspace once the log's key is known

    @property
    def verdict(self) -> Path:
        """Where `verify`'s standing verdict on this workspace's log is kept (verdict.py),
        beside the outside mark: named here, so a command reads it without loading that
        module when there is none."""
        return self.outside.with_suffix(".verdict")

    def read(self) -> Mark | None:
        """The higher of the two marks that can be read; None when neither says anything."""
        marks = [m for m in (_read(self.beside), _read(self.outside)) if m is not None]
        return max(marks, key=lambda m: m.seq, default=None)

    def record(self, seq: int, digest: str) -> None:
        """Write the new head to both places. A mark that cannot be written (a read-only state
        folder, a full disk) is skipped: the event is already safe in the log, and a mark that
        lags is only a weaker tripwire, never a false alarm."""
        body: dict[str, object] = {"seq": seq, "hash": digest, "workspace": str(self.root)}
        if self.device is not None:
            body["device"] = self.device
        text = json.dumps(body)
        # Padded to a whole number of 256-byte blocks: a later, longer mark overwrites every
        # byte of an earlier one, and JSON ignores the trailing spaces.
        raw = text.encode("utf-8", "surrogateescape")
        raw = raw.ljust(-(-(len(raw) + 1) // 256) * 256 - 1) + b"\n"
        for path in (self.beside, self.outside):
            try:
                if path is self.outside and not self._outside_ready:
                    make_private_dir(path.parent)  # once: a sign-off pays for two writes only
                    self._outside_ready = True
                self._write(path, raw)
            except OSError:
                pass

    def _write(self, path: Path, raw: bytes) -> None:
        fd = self._open.get(path)
        if fd is None:
            write_private_text(path, raw.decode("utf-8", "surrogateescape"))
            self._open[path] = os.open(path, os.O_WRONLY)
            return
        os.pwrite(fd, raw, 0)

    def close(self) -> None:
        for fd in self._open.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._open.clear()

    def reset(self) -> Mark | None:
        """For `init` only: a new log starts from nothing. A mark left by an earlier workspace at
        this path is kept aside (renamed, never deleted) and returned, so init can say so."""
        old = self.read()
        for path in (self.beside, self.outside):
            if path.exists():
                n = 1
                while (aside := path.with_name(f"{path.name}.replaced-{n}")).exists():
                    n += 1
                try:
                    os.replace(path, aside)
                except OSError:
                    pass
        return old

    def tighten(self) -> None:
        tighten(self.beside, FILE_MODE)


def _read(path: Path) -> Mark | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seq, digest = data["seq"], data["hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, or left unreadable by a crash (see the module's docstring)
    if not isinstance(seq, int) or not isinstance(digest, str) or seq < 0:
        return None
    device = data.get("device")
    return Mark(seq, digest, path, device if isinstance(device, str) else None)


# What an alarm is, as a report names it (`log_alarm.kind` in its JSON): the log ends before an
# event this laptop wrote (an older copy put back, a deleted -wal); it was replaced or rewritten
# (another event where the mark's was, another device's key); its newest event carries no valid
# device MAC (added by someone holding the file alone).
WENT_BACK, REPLACED, FORGED = "went-back", "replaced", "forged"

# What a command that would write says after the alarm: it refuses, and never starts a new log.
REFUSED = (
    "nothing was written. Do not run `safetycli init`; keep the workspace folder as it is "
    "(evidence), run `safetycli verify` and tell the producer"
)


def vanished(mark: Mark, log: Path, how: str) -> str:
    """The alarm for a log that is gone or empty while a mark says it held events."""
    return (
        f"the log {log} is {how}, but {mark.where} says it held {mark.seq} events "
        f"(head {mark.line()}): it was deleted or emptied"
    )


def went_back(mark: Mark, head_seq: int, stored: str | None) -> str | None:
    """The alarm when a log (its head at `head_seq`, and `stored`: its hash at the mark's seq)
    does not reach the mark; None when it does."""
    if mark.seq == 0:
        return None
    if head_seq < mark.seq:
        return (
            f"the log went backwards: it ends at event {head_seq}, but {mark.where} says event "
            f"{mark.seq} was written (head {mark.line()}): events were lost or removed (a "
            "deleted -wal file, an older copy put back)"
        )
    if stored != mark.hash:
        return (
            f"event {mark.seq} is not the event that was written there ({mark.where} says "
            f"head {mark.line()}): the log was replaced or rewritten"
        )
    return None


def holes(head_seq: int, count: int, first_missing: int | None) -> str | None:
    """The alarm when the log holds fewer events than its head's number: rows were deleted from
    its middle (a hold, a refusal, PIN tries), which neither the head nor the marks can show,
    and a walk-through would go on past a deleted hold. Checked with one count through the
    smallest index (about 10 ms at a million events, once per command); the first gap is
    looked for only when there is one."""
    if count >= head_seq:
        return None
    return (
        f"event {first_missing or '?'} is missing from the log: rows were deleted from it (its "
        f"head is event {head_seq}, but it holds {count} events)"
    )
