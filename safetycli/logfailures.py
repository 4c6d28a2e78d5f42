"""What SQLite's failures mean on set: one line saying what happened and what to do.

Without this a write lock held by another command, a full disk or a damaged page reached the
crew as `internal error (OperationalError)`, exit 70: nobody knew whether the sign-off was kept
or what to do next. The ledger raises `LogUnwritable` with these lines; the CLI adds the resume
command when a run was in progress. A stop-work that could not be written is the one failure
that must not read like a routine error: the crew must stop by voice, now.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from safetycli.errors import SafetyError
from safetycli.i18n import N_, _
from safetycli.storage import LogDamaged, LogUnwritable, LogWentBack

# Translated where it is said: the one line that must reach everyone.
HOLD_NOT_RECORDED = N_("THE HOLD WAS NOT RECORDED: stop work by voice now")

_EVIDENCE = (
    "keep the workspace folder as it is (evidence), run `safetycli verify` and tell the producer"
)


def _kind(err: sqlite3.Error) -> str:
    """SQLite's error class: from the error name when SQLite gave one (primary code first),
    from the message otherwise (an error raised by Python code carries only the message)."""
    name = getattr(err, "sqlite_errorname", "") or ""
    text = str(err).lower()
    for kind, words in (
        ("SQLITE_BUSY", ("locked", "busy")),
        ("SQLITE_FULL", ("full",)),
        ("SQLITE_CORRUPT", ("malformed", "corrupt")),
        ("SQLITE_NOTADB", ("not a database",)),
        ("SQLITE_IOERR", ("disk i/o",)),
        ("SQLITE_READONLY", ("readonly", "read-only")),
    ):
        if name.startswith(kind) or (not name and any(w in text for w in words)):
            return kind
    return name or "other"


def describe(err: sqlite3.Error, *, writing: bool = True) -> str:
    """The line for `err`. `writing`: it happened while recording (so nothing of it was kept),
    rather than while reading."""
    kept = "nothing was recorded" if writing else "the log could not be read"
    kind = _kind(err)
    if kind == "SQLITE_BUSY":
        return (
            f"another safetycli command held the log's write lock too long ({kept}): let it "
            "finish or close it, then run this again"
        )
    if kind == "SQLITE_FULL":
        return f"the disk is full ({kept}): free some space on this laptop, then run this again"
    if kind in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return f"the log file is damaged ({kept}; SQLite says: {err}): {_EVIDENCE}"
    if kind == "SQLITE_IOERR":
        return (
            f"the disk failed while using the log ({kept}; SQLite says: {err}): check the disk "
            "and the laptop, then run this again"
        )
    if kind == "SQLITE_READONLY":
        return (
            f"the log cannot be written here ({kept}): it is read-only for this account; "
            "run safetycli as the account that owns the workspace"
        )
    return f"the log could not be used ({kept}; SQLite says: {err}): run this again"


def unwritable(err: sqlite3.Error, *, stop: bool) -> LogUnwritable:
    """The error for a write that failed; `stop`: the write was a hold or a stop-work."""
    line = describe(err, writing=True)
    return LogUnwritable(f"{_(HOLD_NOT_RECORDED)}. {_capital(line)}" if stop else line, stop=stop)


def refused(reason: str, *, stop: bool) -> LogUnwritable:
    """A write refused before it was tried (the log went backwards or vanished)."""
    return LogUnwritable(
        f"{_(HOLD_NOT_RECORDED)}. {_capital(reason)}" if stop else reason, stop=stop
    )


def hold_not_recorded(err: Exception) -> Exception:
    """What a stop-work command raises when `err` stopped it: a failure of the log (the
    sign-in before the hold could not be written either, the log went backwards, a damaged
    file) is said as a hold that was not recorded; anything else (a wrong PIN) as it is."""
    if isinstance(err, LogUnwritable) and err.stop:
        return err
    if isinstance(err, sqlite3.Error):
        return LogUnwritable(f"{_(HOLD_NOT_RECORDED)}. {_capital(describe(err))}", stop=True)
    if isinstance(err, LogUnwritable | LogWentBack | LogDamaged):
        assert isinstance(err, SafetyError)
        return LogUnwritable(f"{_(HOLD_NOT_RECORDED)}. {_capital(err.message)}", stop=True)
    return err


@contextmanager
def loud_if_stop(stop: bool) -> Iterator[None]:
    """Around a stop-work command's whole use of the log (opening it too): when `stop`, any
    failure of the log is said as a hold that was not recorded, whatever step it hit."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 - re-raised, loud or as it was
        loud = hold_not_recorded(err) if stop else err
        if loud is err:
            raise
        raise loud from None


def _capital(line: str) -> str:
    return line[:1].upper() + line[1:]
