"""The armory as a sealed checkpoint: the custody fold kept with the log, so the custody checks
of a walk-through, the armory's rules and `armory list` do not refold a season (issue 14).

`custody_view` holds one row: the armory's snapshot (`armory.snapshot`: positions, counts, the
storage; no history) as of event `seq`, the chain hash of that event, and a MAC under the
device key over the three. The ledger refreshes it inside the transaction of every append that
writes a custody event (the row and the events commit together or not at all), builds it when a
keyed log is opened without one, and `verify --repair-views` builds it again.

Why sealed rather than a plain table like `run_view`: the walk-through trusts it. A firearm
shown as locked while a performer still holds it would pass a "firearms back" check, so a row an
insider edited with a database tool must never be believed. A reader (`read`) takes the row only
when its MAC holds and its event is still in the log with that hash, and then folds the custody
events written after it (`armory.current`); anything else, and it folds the log in full, as
before. An older row put back in place of the newest (still sealed) only means a longer tail: it
is a true fold as of its event. Only someone with the device key can forge one, and they can
forge events as well (SECURITY.md). `verify` also checks the row against the fold itself.

Storage-side (SQLite) code, called by ledger.py only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from safetycli.events import ARMORY_KINDS, Event

if TYPE_CHECKING:
    from safetycli.devicekey import DeviceKey

CREATE = """CREATE TABLE IF NOT EXISTS custody_view (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    state TEXT NOT NULL,
    mac TEXT NOT NULL
)"""

# Custody events after `seq` (exclusive), in log order, each checked against its own hash.
Events = Callable[[int], Iterator[Event]]


def _mac(key: DeviceKey, seq: int, digest: str, text: str) -> str:
    # Its own prefix: no event's MAC (device:seq:hash) or pulled row's seal can stand for it.
    body = hashlib.sha256(text.encode("utf-8")).hexdigest()
    message = f"custody view of {key.device}:{seq}:{digest}:{body}".encode()
    return hmac.digest(key.mac_key, message, "sha256").hex()


def _text(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def exists(db: sqlite3.Connection) -> bool:
    try:
        return db.execute("SELECT 1 FROM custody_view").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def read(db: sqlite3.Connection, key: DeviceKey | None) -> tuple[int, dict[str, Any]] | None:
    """(seq, snapshot) when the row holds: its MAC under this device's key, and event `seq`
    still in the log with the hash it names. None otherwise (no key, no row, an edited row, a
    row of another log): the caller folds the log."""
    if key is None:
        return None
    try:
        row = db.execute("SELECT seq, hash, state, mac FROM custody_view").fetchone()
    except sqlite3.OperationalError:
        return None
    if row is None:
        return None
    seq, digest, text, mac = row
    if not isinstance(seq, int) or not all(isinstance(v, str) for v in (digest, text, mac)):
        return None
    if not hmac.compare_digest(mac, _mac(key, seq, digest, text)):
        return None
    found = db.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
    if found is None or found[0] != digest:
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return (seq, body) if isinstance(body, dict) else None


def _write(
    db: sqlite3.Connection, key: DeviceKey, seq: int, digest: str, body: dict[str, Any]
) -> None:
    text = _text(body)
    db.execute(CREATE)
    db.execute(
        "INSERT INTO custody_view (id, seq, hash, state, mac) VALUES (1, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,"
        " state = excluded.state, mac = excluded.mac",
        (seq, digest, text, _mac(key, seq, digest, text)),
    )


def _fold(start: tuple[int, dict[str, Any]] | None, events: Events) -> dict[str, Any]:
    from safetycli import armory

    state = armory.ArmoryState() if start is None else armory.restore(start[1])
    for event in events(0 if start is None else start[0]):
        state.apply(event)
    return armory.snapshot(state)


def follow(
    db: sqlite3.Connection,
    key: DeviceKey | None,
    kinds: Iterator[str],
    head: tuple[int, str],
    events: Events,
) -> None:
    """After an append (inside its transaction): when it wrote a custody event, seal the armory
    as of the new head. From the row when it holds, else from the whole custody log (a row
    edited meanwhile is replaced by the truth, never built upon)."""
    if key is None or not any(kind in ARMORY_KINDS for kind in kinds):
        return
    _write(db, key, *head, _fold(read(db, key), events))


def rebuild(
    db: sqlite3.Connection, key: DeviceKey | None, head: tuple[int, str], events: Events
) -> None:
    """Seal the armory as of `head`, folded from the whole custody log (inside the caller's
    write transaction). Nothing without a key: an unsealed row would never be believed."""
    if key is None:
        return
    _write(db, key, *head, _fold(None, events))


def problems(db: sqlite3.Connection, key: DeviceKey | None, events: Events) -> list[str]:
    """Where the sealed armory is not the log's own fold, each as a sentence; empty when it is,
    or when there is nothing to check (no device key here, no row yet)."""
    if key is None or not exists(db):
        return []
    found = read(db, key)
    if found is None:
        return [
            "the armory checkpoint (custody_view) does not hold: edited or replaced behind the"
            " log's back; every check folds the log instead until it is rebuilt"
            " (verify --repair-views)"
        ]
    seq, body = found
    want = _fold(None, lambda after: (e for e in events(after) if e.seq <= seq))
    if _text(want) != _text(body):
        return [f"the armory checkpoint (custody_view) as of event {seq} is not the log's fold"]
    return []
