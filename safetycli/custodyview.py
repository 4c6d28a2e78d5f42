"""The armory as a sealed checkpoint: the custody fold kept with the log, so the custody checks
of a walk-through, the armory's rules and `armory list` do not refold a season (issue 14).

`custody_view` holds the armory's snapshot (`armory.snapshot`: positions, counts, the storage;
no history) as of event `seq`, the chain hash of that event, and a MAC under the device key over
the three: one row per day of custody (the UTC date of the newest custody event folded), the
newest for "now", the earlier ones so a period's report can start from the day before its
period instead of the season's first event (`before`). The ledger refreshes today's row inside
the transaction of every append that writes a custody event (the rows and the events commit
together or not at all), builds them when a keyed log is opened without any, and `verify
--repair-views` builds them again.

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

import json
import sqlite3
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from safetycli.digests import compare_digest, hmac_sha256, sha256
from safetycli.events import ARMORY_KINDS, Event

if TYPE_CHECKING:
    from safetycli.armory import ArmoryState
    from safetycli.devicekey import DeviceKey

CREATE = """CREATE TABLE IF NOT EXISTS custody_view (
    day TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    state TEXT NOT NULL,
    mac TEXT NOT NULL
)"""
_ROWS = "SELECT day, seq, hash, state, mac FROM custody_view"
# The newest row, chosen on the small columns: sorting whole rows would read every snapshot.
_NEWEST = "rowid = (SELECT rowid FROM custody_view ORDER BY seq DESC LIMIT 1)"

# Custody events after `seq` (exclusive), in log order, each checked against its own hash.
Events = Callable[[int], Iterator[Event]]


def _mac(key: DeviceKey, seq: int, digest: str, text: str) -> str:
    # Its own prefix: no event's MAC (device:seq:hash) or pulled row's seal can stand for it.
    body = sha256(text.encode("utf-8")).hexdigest()
    message = f"custody view of {key.device}:{seq}:{digest}:{body}".encode()
    return hmac_sha256(key.mac_key, message).hex()


def _text(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def exists(db: sqlite3.Connection) -> bool:
    try:
        return db.execute("SELECT 1 FROM custody_view LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def _holds(
    db: sqlite3.Connection, key: DeviceKey, row: tuple[Any, ...] | None
) -> tuple[int, dict[str, Any]] | None:
    """(seq, snapshot) of a row whose MAC holds and whose event is still in the log with the
    hash it names; None for anything else (an edited row, a row of another log)."""
    if row is None or not _sealed(db, key, row):
        return None
    _, seq, _, text, _ = row
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return (seq, body) if isinstance(body, dict) else None


def _sealed(db: sqlite3.Connection, key: DeviceKey, row: tuple[Any, ...]) -> bool:
    """Whether a row's MAC holds and its event is still in the log with the hash it names."""
    _, seq, digest, text, mac = row
    if not isinstance(seq, int) or not all(isinstance(v, str) for v in (digest, text, mac)):
        return False
    if not compare_digest(mac, _mac(key, seq, digest, text)):
        return False
    found = db.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
    return found is not None and found[0] == digest


def read(db: sqlite3.Connection, key: DeviceKey | None) -> tuple[int, dict[str, Any]] | None:
    """The newest row, when it holds: (seq, snapshot). None otherwise (no key, no row, an edited
    row): the caller folds the log."""
    if key is None:
        return None
    try:
        row = db.execute(f"{_ROWS} WHERE {_NEWEST}", ()).fetchone()
    except sqlite3.OperationalError:
        return None
    return _holds(db, key, row)


def before(
    db: sqlite3.Connection, key: DeviceKey | None, day: str, seq: int | None
) -> tuple[int, dict[str, Any]] | None:
    """The newest row that holds, as of an event before `seq` (None: any), whose custody events
    all happened before `day` (UTC date, by the snapshot's own sealed time, not the row's key).
    None when there is none: the caller folds the log from its start."""
    if key is None:
        return None
    where, params = "day < ?", [day]
    if seq is not None:
        where, params = f"{where} AND seq < ?", [day, seq]
    newest = _NEWEST.replace("custody_view", f"custody_view WHERE {where}")
    try:
        row = db.execute(f"{_ROWS} WHERE {newest}", params).fetchone()
    except sqlite3.OperationalError:
        return None
    found = _holds(db, key, row)
    if found is None or str(found[1].get("at", ""))[:10] >= day:
        return None
    return found


def _write(
    db: sqlite3.Connection, key: DeviceKey, seq: int, digest: str, body: dict[str, Any]
) -> None:
    text = _text(body)
    db.execute(CREATE)
    db.execute(
        "INSERT INTO custody_view (day, seq, hash, state, mac) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (day) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,"
        " state = excluded.state, mac = excluded.mac",
        (str(body.get("at", ""))[:10], seq, digest, text, _mac(key, seq, digest, text)),
    )


def _fold(
    db: sqlite3.Connection, key: DeviceKey, state: ArmoryState, events: Iterator[Event]
) -> Event | None:
    """Fold `events` into `state`, sealing the day's row at the last custody event of each day
    they pass (a bulk append, a rebuild); returns the last event folded."""
    from safetycli import armory

    last: Event | None = None
    for event in events:
        if last is not None and event.at[:10] > state.custody_at[:10]:
            _write(db, key, last.seq, last.hash, armory.snapshot(state))
        state.apply(event)
        last = event
    return last


def follow(
    db: sqlite3.Connection,
    key: DeviceKey | None,
    kinds: Iterator[str],
    head: tuple[int, str],
    events: Events,
) -> None:
    """After an append (inside its transaction): when it wrote a custody event, seal the armory
    as of the new head, in the row of its day. From the newest row when it holds, else from the
    whole custody log (a row edited meanwhile is replaced by the truth, never built upon)."""
    from safetycli import armory

    if key is None or not any(kind in ARMORY_KINDS for kind in kinds):
        return
    start = read(db, key)
    state = armory.ArmoryState() if start is None else armory.restore(start[1])
    _fold(db, key, state, events(0 if start is None else start[0]))
    _write(db, key, *head, armory.snapshot(state))


def rebuild(db: sqlite3.Connection, key: DeviceKey | None, events: Events) -> None:
    """Every day's row again, folded from the whole custody log in one pass (inside the
    caller's write transaction): each sealed as of that day's last custody event. Nothing
    without a key: an unsealed row would never be believed."""
    from safetycli import armory

    if key is None:
        return
    db.execute(CREATE)
    db.execute("DELETE FROM custody_view")
    state = armory.ArmoryState()
    last = _fold(db, key, state, events(0))
    if last is not None:
        _write(db, key, last.seq, last.hash, armory.snapshot(state))


def problems(db: sqlite3.Connection, key: DeviceKey | None, events: Events) -> list[str]:
    """Where a sealed row is not the log's own fold as of its event, each as a sentence; empty
    when every row is, or when there is nothing to check (no device key here, no row). One pass
    over the custody log, however many rows; each row held as the digest of its text, never
    decoded."""
    check = FoldCheck.over(db, key)
    if check is None:
        return []
    for event in events(0):
        check.feed(event)
    return check.finish()


class FoldCheck:
    """`problems`, fed the custody events in log order by whoever reads them: verify's custody
    PIN-proof check reads the same events (custodycheck.py), so the season's custody is read
    and decoded once for both (issue 14). Each row is compared, at its event, with the canonical
    text of the fold as it stood then (`Canonical`: the same text `_write` seals, kept piece by
    piece instead of encoded whole for each of a season's ~180 rows)."""

    def __init__(self, db: sqlite3.Connection, key: DeviceKey) -> None:
        from safetycli import armory

        self.out: list[str] = []
        self.wanted: dict[int, list[tuple[str, str]]] = {}
        for row in db.execute(f"{_ROWS} ORDER BY seq"):
            if not _sealed(db, key, row):
                self.out.append(
                    f"the armory checkpoint of {row[0] or 'no custody'} (custody_view) does not"
                    " hold: edited or replaced behind the log's back; the checks fold the log"
                    " instead until it is rebuilt (verify --repair-views)"
                )
            else:  # as written: the canonical text of the snapshot (`_write`)
                self.wanted.setdefault(row[1], []).append((str(row[0]), _sha(row[3])))
        self.pending = sorted(self.wanted, reverse=True)  # the next row's event last
        self.state = armory.ArmoryState()
        self.text = Canonical(self.state)

    @classmethod
    def over(cls, db: sqlite3.Connection, key: DeviceKey | None) -> FoldCheck | None:
        """The check of this log's rows; None when there is nothing to check (no device key
        here, no row)."""
        if key is None or not exists(db):
            return None
        return cls(db, key)

    def feed(self, event: Event) -> None:
        pending = self.pending
        while pending and pending[-1] < event.seq:
            self._compare(pending.pop())
        self.state.apply(event)
        self.text.changed(event)

    def finish(self) -> list[str]:
        """Every problem found (rows as of events after the last one fed are compared with the
        fold of all of them)."""
        while self.pending:
            self._compare(self.pending.pop())
        # The season's fold let go (a few MB at a million events): verify's run-status check
        # comes next, and the two together set its peak.
        from safetycli import armory

        self.state = armory.ArmoryState()
        self.text = Canonical(self.state)
        return self.out

    def _compare(self, seq: int) -> None:
        now = _sha(self.text.text())
        for day, digest in self.wanted[seq]:
            if digest != now:
                self.out.append(
                    f"the armory checkpoint of {day or 'no custody'} (custody_view) as of event"
                    f" {seq} is not the log's fold"
                )


class Canonical:
    """`_text(armory.snapshot(state))` of a state being folded, without encoding the whole
    snapshot each time it is asked: each firearm's and lot's part of the text is kept and made
    again only after an event that names that firearm or lot (the only one a custody event's
    mutator changes, armory.py), the storage and the top-level fields every time. Held to the
    whole encoding at every step of generated folds by tests/test_custodyview.py."""

    def __init__(self, state: ArmoryState) -> None:
        self.state = state
        self.firearms: dict[str, str] = {}
        self.lots: dict[str, str] = {}

    def changed(self, event: Event) -> None:
        """After `event` was folded into the state: forget the parts it may have changed."""
        data = event.data
        try:
            for name, parts in (("serial", self.firearms), ("lot", self.lots)):
                value = data.get(name)
                if value is not None:
                    parts.pop(_ident(value), None)
        except Exception:  # noqa: BLE001 - a field the mutators never read this way: start over
            self.firearms.clear()
            self.lots.clear()

    def text(self) -> str:
        from safetycli import armory

        state = self.state
        firearms, lots = self.firearms, self.lots
        for name, firearm in state.firearms.items():
            if name not in firearms:
                firearms[name] = _text(armory.firearm_row(firearm))
        for name, lot in state.lots.items():
            if name not in lots:
                lots[name] = _text(armory.lot_row(lot))
        if len(firearms) != len(state.firearms):
            for gone in set(firearms) - set(state.firearms):
                del firearms[gone]
        if len(lots) != len(state.lots):
            for gone in set(lots) - set(state.lots):
                del lots[gone]
        # `_text`'s sorted keys: at, firearms, lots, seq, storage.
        return "".join(
            (
                '{"at":',
                _text(state.custody_at),
                ',"firearms":[',
                ",".join(firearms[name] for name in state.firearms),
                '],"lots":[',
                ",".join(lots[name] for name in state.lots),
                '],"seq":',
                _text(state.custody_seq),
                ',"storage":',
                _text(armory.storage_row(state.storage)),
                "}",
            )
        )


@lru_cache(maxsize=4096)
def _ident(text: str) -> str:
    """`names.ident`, remembered: a season names a few dozen firearms and lots ~8,700 times."""
    from safetycli.names import ident

    return ident(text)


def _digest(body: dict[str, Any]) -> str:
    return _sha(_text(body))


def _sha(text: str) -> str:
    return sha256(text.encode("utf-8")).hexdigest()
