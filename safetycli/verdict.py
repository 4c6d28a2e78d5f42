"""What `verify` last found wrong with a log, remembered on this laptop until a verify passes.

Only `verify` reads the whole chain; every other command must stay flat in the log's size (issue
14), so none of them can find an edited event on its own. Before this file, an insider who
dropped the update trigger, rewrote a hold's reason and put the trigger back was caught by
`verify` alone: `status`, `log list` and every writing command went on as if the log were whole.
So when `verify` finds the log altered it writes its verdict down (which event, what, when, the
head it saw), and every command that opens the log reads it (one small file; where verify never
failed, one open that finds nothing) and says so, until a later verify passes and removes it.

The file lives beside the head mark, outside the workspace (`HeadMarks.verdict`, statedir.py): a
private folder, written whole through a temporary file. It is a reminder, not evidence: deleting it
(or anything else done to it) only stops the reminder, and `verify` still finds the alteration in
the log. It can only ever add a warning, never take one away or stop a command: a crew member must
always be able to record a hold. A verdict names its log by the workspace's folder and the hash of
the log's first event, so another workspace, or a new log made where an old one was, is not told
about an alteration it never had.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from safetycli.filemodes import make_private_dir, write_private_text
from safetycli.i18n import _
from safetycli.records import Frozen

# How many of verify's problems the file keeps: the first says what the line says; the count
# says whether there were more.
KEPT = 5


class Verdict(Frozen):
    """A verdict as read back. `seq` is the first event verify could not trust (None when what
    it found is about no single event: the file's structure, a table derived from the log)."""

    __slots__ = ("seq", "why", "more", "found_at", "head", "first", "workspace")
    seq: int | None
    why: str
    more: int  # how many other problems verify found beside `why`
    found_at: str  # UTC, ISO-8601, as the log writes times
    head: str  # `SEQ:HASH` of the log when verify read it
    first: str  # the hash of the log's first event: which log this is
    workspace: str

    def __init__(
        self,
        seq: int | None,
        why: str,
        more: int,
        found_at: str,
        head: str,
        first: str,
        workspace: str,
    ) -> None:
        for name, value in zip(
            self.__slots__, (seq, why, more, found_at, head, first, workspace), strict=True
        ):
            object.__setattr__(self, name, value)

    def when(self) -> str:
        """`2026-11-26 03:58 UTC`: read off the text, so no command pays for time zones."""
        return f"{self.found_at[:10]} {self.found_at[11:16]} UTC"

    def what(self) -> str:
        if self.more:
            return _("{why} (and {n} more)").format(why=self.why, n=self.more)
        return self.why

    def finding(self) -> str:
        """What verify printed, in its own words (as `log_alarm.line` carries a head mark's)."""
        what = f"{self.why} (and {self.more} more)" if self.more else self.why
        if self.seq is not None:
            return f"LOG ALTERED at event {self.seq}: {what}"
        return f"LOG DOES NOT HOLD: {what}"

    def line(self) -> str:
        """The one line every command that opens the log prints after `ALARM: `, and what
        `status --format json` lists in its warnings."""
        if self.seq is not None:
            return _(
                "on {when} `safetycli verify` found this log altered at event {seq} ({what}): "
                "nothing from event {seq} on can be trusted until a verify passes. Work is still "
                "recorded; keep the workspace folder as it is (evidence) and tell the producer"
            ).format(when=self.when(), seq=self.seq, what=self.what())
        return _(
            "on {when} `safetycli verify` found that this log does not hold ({what}): nothing "
            "in it can be trusted until a verify passes. Work is still recorded; keep the "
            "workspace folder as it is (evidence) and tell the producer"
        ).format(when=self.when(), what=self.what())

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "why": self.why,
            "more": self.more,
            "found_at": self.found_at,
            "head": self.head,
            "first": self.first,
            "workspace": self.workspace,
        }


def read(path: Path) -> Verdict | None:
    """The verdict at `path` (`HeadMarks.verdict`); None when there is none."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    return parse(raw)


def parse(raw: bytes) -> Verdict | None:
    """A verdict file's content; None for any that cannot be read as one (a reminder that
    cannot be read reminds nobody; verify still finds what it said)."""
    try:
        data = json.loads(raw)
        found = Verdict(
            data["seq"],
            data["why"],
            data["more"],
            data["found_at"],
            data["head"],
            data["first"],
            data["workspace"],
        )
    except (ValueError, KeyError, TypeError):
        return None
    seq = found.seq
    texts = (found.why, found.found_at, found.head, found.first, found.workspace)
    if (seq is not None and (not isinstance(seq, int) or isinstance(seq, bool))) or not all(
        isinstance(t, str) for t in texts
    ):
        return None
    if not isinstance(found.more, int) or len(found.found_at) < 16:
        return None
    return found


def standing(raw: bytes, workspace: Path, first: Callable[[], str | None]) -> Verdict | None:
    """The verdict in `raw` if it applies to this log: the workspace's own, for the log whose
    first event's hash `first()` gives (asked only when there is a verdict: one indexed row);
    None for any other. A log without its first event is no other log: its first event was
    deleted, and the verdict stands."""
    found = parse(raw)
    if found is None or found.workspace != str(workspace):
        return None
    return found if first() in (found.first, None) else None


def record(path: Path, verdict: Verdict) -> None:
    """Write the verdict down, whole (a temporary file moved into place) and synced: it is
    written once per failing verify, and a power cut just after must not take it away. An
    OSError (a read-only state folder) is the caller's to report."""
    make_private_dir(path.parent)
    write_private_text(path, json.dumps(verdict.as_json(), ensure_ascii=False) + "\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clear(path: Path) -> Verdict | None:
    """Remove the workspace's verdict (a verify passed); the verdict removed, if one could be
    read. A file that cannot be removed raises OSError, for the caller to say so."""
    found = read(path)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return found
