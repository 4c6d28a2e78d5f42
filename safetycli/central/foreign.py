"""Other laptops' events on this laptop: `foreign.db`, beside `log.db`, never inside its chain.

Each laptop's log is its own device's chain and nothing else: an event of another device cannot be
appended to it (it would get this device's number, hash and MAC, and no longer be the event the
other laptop signed). So what sync pulls lives in its own file, keyed as the server keys it,
(device, seq), each row exactly as its device wrote it. Only the kinds this laptop needs are
pulled (`PULLED_KINDS`), so a row's predecessor is usually not here: each is checked on arrival
against its own hash, and the server's head for each device is kept beside them (`heads`), so a
server that later hands out a shorter or different chain for a device is caught (an alarm), never
believed. The server checked each device's links and MACs before it stored them (store.py).

Readers (`production.load` through `Ledger.production_events`) see these events with their
`device` set; this laptop's own events have none.

A separate file rather than a table in `log.db`: the laptop's log, its schema and `verify` stay
exactly what they were, and a laptop that never syncs has no such file (nothing is opened).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetycli.errors import SafetyError
from safetycli.events import (
    ARMORY_KINDS,
    AUTH_OK,
    HOLD_CLEARED,
    HOLD_RAISED,
    INCIDENT_REPORTED,
    PRODUCTION_KINDS,
    PROTOCOL_PUBLISHED,
    RECOVERY_SET,
    RUN_ABORTED,
    RUN_STARTED,
    SCENE_HELD,
    Event,
)
from safetycli.filemodes import FILE_MODE, create_private_file, tighten
from safetycli.ledger import BUSY_TIMEOUT_MS, row_hash, transaction
from safetycli.rostercheck import AUDITED_KINDS

if TYPE_CHECKING:
    from safetycli.lifecycle import Hold, Lifecycle
    from safetycli.storage import RunStart

FILENAME = "foreign.db"
# What a laptop takes from the other devices: stop-work on a scene (a hold on 12A raised on any
# laptop holds 12A on every laptop once synced), and the roster: its changes, the `auth.ok` that
# approved each (checked again here, rostercheck.py) and the device's key event (from which its
# changes must follow their approvals in the same transaction). Each laptop's recovery code is its
# own and stays on it. And armory custody: a firearm issued on one laptop is out on every one
# (armory.py folds this laptop's custody events with these, by time). And the production's own
# protocols (protoshare.py).
ROSTER_PULLED = tuple(k for k in (*AUDITED_KINDS, AUTH_OK) if k != RECOVERY_SET)
# And each run's holds, with its start (its scene and day) and its abort: a run held on one
# laptop holds its scene on every laptop, as it does on its own (a second laptop must not be a
# way round a hold); only its own laptop clears it, since only that one holds the run.
RUN_HOLD_KINDS = (RUN_STARTED, HOLD_RAISED, HOLD_CLEARED, RUN_ABORTED)
PULLED_KINDS = (
    *PRODUCTION_KINDS,
    *ROSTER_PULLED,
    *ARMORY_KINDS,
    PROTOCOL_PUBLISHED,
    *RUN_HOLD_KINDS,
)
# A pulled row that stops work (a stop-work on a scene, an incident, a run's hold) counts even
# without this laptop's seal (rows pulled before seals existed; a forged one only stops work, the
# safe way); one that lifts a stop, moves custody or places a held run (its start: which scene)
# counts only with it (`events(..., seal=...)`).
STOPPING = frozenset({SCENE_HELD, INCIDENT_REPORTED, HOLD_RAISED})

_COLUMNS = "device, seq, at, kind, run, person, data, prev_hash, hash, mac"
_SCHEMA = [
    """CREATE TABLE foreign_events (
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        run TEXT,
        person TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        mac TEXT,
        PRIMARY KEY (device, seq)
    )""",
    "CREATE INDEX foreign_kind ON foreign_events (kind, device, seq)",
    """CREATE TABLE foreign_heads (
        device TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
    )""",
    *(
        f"""CREATE TRIGGER foreign_no_{verb.lower()} BEFORE {verb} ON foreign_events
        BEGIN SELECT RAISE(ABORT, 'other devices'' events are append-only'); END"""
        for verb in ("UPDATE", "DELETE")
    ),
]
# Version 2: the other devices' PIN hashes (credentials.py's rows, peppered with the production
# secret every joined laptop holds), so a person added on another laptop can sign on this one.
_SCHEMA_2 = [
    """CREATE TABLE foreign_credentials (
        device TEXT NOT NULL,
        person TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        secret TEXT NOT NULL,
        PRIMARY KEY (device, person, fingerprint)
    )""",
    # Each row pulled from now on is sealed on arrival with this laptop's device key (kept outside
    # the workspace): a row someone with the workspace files alone inserts has no valid seal, and
    # the roster never counts it (rostermerge.py).
    "ALTER TABLE foreign_events ADD COLUMN seal TEXT",
    # The roster's kinds were not pulled before: pull every device again from its start (rows
    # already here are kept, never taken twice).
    "DELETE FROM foreign_heads",
]
# Version 3: armory custody is pulled too, so every device is pulled again from its start; a row
# pulled before seals existed gets its seal when it comes again unchanged (the only change a row
# ever takes: a seal where there was none).
_SCHEMA_3 = [
    "DROP TRIGGER foreign_no_update",
    """CREATE TRIGGER foreign_no_update BEFORE UPDATE OF device, seq, at, kind, run, person, data,
        prev_hash, hash, mac ON foreign_events
        BEGIN SELECT RAISE(ABORT, 'other devices'' events are append-only'); END""",
    """CREATE TRIGGER foreign_seal_once BEFORE UPDATE OF seal ON foreign_events
        WHEN OLD.seal IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'other devices'' events are append-only'); END""",
    "DELETE FROM foreign_heads",
    # What the server said about this laptop itself: its unit number (run ids `rN-xxxxxx`).
    "CREATE TABLE foreign_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]
# Version 4: each run's holds are pulled too (`RUN_HOLD_KINDS`): every device again from its start.
_SCHEMA_4 = ["DELETE FROM foreign_heads"]
# Version 5: a digest of each device's rows that stop work (`STOPPING`: their numbers and hashes),
# sealed with the device key as each pull lands (`stops`, `seal`): rows are never deleted or
# changed (triggers), so a digest that no longer holds means someone with the workspace deleted,
# changed or added one (a stop-work pulled from another laptop, say), and readers of stop-work
# refuse. Every device is pulled again, so each gets its digest.
_SCHEMA_5 = ["DELETE FROM foreign_heads"]
_HEADS_5 = {"stops": "TEXT", "seal": "TEXT"}  # added where missing (a file a test build made)
# Version 6: stop-work of laptops whose sync the server refused (central/schema.py, migration 9),
# kept apart from the other devices' events: not a record of any chain, and keyed by number and
# hash (a forked chain reuses numbers). Their digest is sealed at each pull, in `foreign_meta`,
# as `stops` is for pulled stop-work: a row deleted here is refused where it is read.
_SCHEMA_6 = [
    """CREATE TABLE unverified_stops (
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        run TEXT,
        person TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        alarm TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device, seq, hash)
    )""",
    *(
        f"""CREATE TRIGGER unverified_no_{verb.lower()} BEFORE {verb} ON unverified_stops
        BEGIN SELECT RAISE(ABORT, 'other devices'' stop-work is append-only'); END"""
        for verb in ("UPDATE", "DELETE")
    ),
]
SCHEMA_VERSION = 6


class ForeignLog:
    """The other devices' events this laptop holds."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> ForeignLog:
        create_private_file(path)
        tighten(path, FILE_MODE)
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            db.execute("PRAGMA synchronous = FULL")
            if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return cls(db, path)  # every command that reads stop-work opens it: no lock
            db.execute("PRAGMA journal_mode = WAL")
            with transaction(db):
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise SafetyError(
                        f"{path} was written by a newer safetycli: upgrade safetycli first"
                    )
                if version == 0:
                    for statement in _SCHEMA:
                        db.execute(statement)
                if version < 2:
                    for statement in _SCHEMA_2:
                        db.execute(statement)
                if version < 3:
                    for statement in _SCHEMA_3:
                        db.execute(statement)
                if version < 4:
                    for statement in _SCHEMA_4:
                        db.execute(statement)
                if version < 5:
                    for statement in _SCHEMA_5:
                        db.execute(statement)
                    have = {row[1] for row in db.execute("PRAGMA table_info(foreign_heads)")}
                    for column, kind in _HEADS_5.items():
                        if column not in have:
                            db.execute(f"ALTER TABLE foreign_heads ADD COLUMN {column} {kind}")
                if version < 6:
                    for statement in _SCHEMA_6:
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as err:
            raise SafetyError(f"cannot open {path}: {err}") from None
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    def heads(self) -> dict[str, tuple[int, str]]:
        """The server's head of each other device, as of the last pull."""
        return {
            str(d): (int(s), str(h))
            for d, s, h in self.db.execute("SELECT device, seq, hash FROM foreign_heads")
        }

    def add(
        self,
        device: str,
        head_seq: int,
        head_hash: str,
        rows: Iterable[tuple[Any, ...]],
        credentials: Iterable[tuple[str, str, str]] = (),
        seal: Callable[[str, int, str], str] | None = None,
    ) -> tuple[int, str | None]:
        """Store one device's pulled events and its new head, in one transaction. Returns how
        many were stored, and why the pull was refused (None: it held): an event whose content
        does not match its hash, one already here with a different hash, or a head that went
        back. A refused pull stores nothing of that device."""
        rows = list(rows)
        with transaction(self.db):
            known = self.db.execute(
                "SELECT seq, hash FROM foreign_heads WHERE device = ?", (device,)
            ).fetchone()
            if known is not None and (
                head_seq < known[0] or (head_seq == known[0] and head_hash != known[1])
            ):
                return 0, (
                    f"the server's chain of device {device} went back (it held event {known[0]}, "
                    f"it now ends at {head_seq}): nothing of it was taken"
                )
            new, resealed = [], []
            for row in rows:
                seq, at, kind, run, person, data, prev, digest, _mac = row
                if row_hash(seq, at, kind, run, person, data, prev) != digest:
                    return 0, f"event {seq} of device {device} does not match its hash"
                had = self.db.execute(
                    "SELECT hash, seal FROM foreign_events WHERE device = ? AND seq = ?",
                    (device, seq),
                ).fetchone()
                if had is not None and had[0] != digest:
                    return 0, f"the server changed event {seq} of device {device}"
                if had is None:
                    new.append((device, *row, seal(device, seq, digest) if seal else None))
                elif had[1] is None and seal is not None:
                    resealed.append((seal(device, seq, digest), device, seq))
            self.db.executemany(
                f"INSERT INTO foreign_events ({_COLUMNS}, seal) VALUES ({', '.join('?' * 11)})",
                new,
            )
            self.db.executemany(
                "UPDATE foreign_events SET seal = ? WHERE device = ? AND seq = ?", resealed
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO foreign_credentials (device, person, fingerprint, secret)"
                " VALUES (?, ?, ?, ?)",
                [(device, *c) for c in credentials],
            )
            stops = self._stops(device).get(device, _EMPTY)
            self.db.execute(
                "INSERT INTO foreign_heads (device, seq, hash, stops, seal) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (device) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,"
                " stops = excluded.stops, seal = excluded.seal",
                (device, head_seq, head_hash, stops, _stops_seal(seal, device, head_seq, stops)),
            )
        return len(new), None

    def _stops(self, only: str | None = None) -> dict[str, str]:
        """Per device (or `only` that one), the sha256 of its rows that stop work (number and
        hash, in order), read through the kind index: a few per held run, stop-work or
        incident, however long the season."""
        kinds = sorted(STOPPING)
        which = "" if only is None else " AND device = ?"
        digests: dict[str, Any] = {}
        for device, seq, digest in self.db.execute(
            f"SELECT device, seq, hash FROM foreign_events WHERE kind IN"
            f" ({','.join('?' * len(kinds))}){which} ORDER BY device, seq",
            [*kinds, *([] if only is None else [only])],
        ):
            digests.setdefault(device, hashlib.sha256()).update(f"{seq}:{digest}\n".encode())
        return {device: h.hexdigest() for device, h in digests.items()}

    def check_kept(self, seal: Callable[[str, int, str], str]) -> None:
        """Refuse to read stop-work on when a device's rows that stop work are not those this
        laptop sealed at its last pull: one was deleted (a stop-work or hold of another laptop
        gone quietly), changed or slipped in. A digest or seal edited in place fails too."""
        now = self._stops()
        for device, seq, stops, sealed in self.db.execute(
            "SELECT device, seq, stops, seal FROM foreign_heads WHERE stops IS NOT NULL"
        ):
            if now.get(device, _EMPTY) != stops or not hmac.compare_digest(
                str(sealed), str(_stops_seal(seal, device, seq, stops))
            ):
                raise SafetyError(
                    f"the stop-work, holds and incidents pulled from device {device} into "
                    f"{self.path} are not those pulled (rows were deleted, changed or added); "
                    "nothing was done. Keep the workspace as it is and tell the producer"
                )

    def add_unverified(
        self, rows: Iterable[tuple[Any, ...]], seal: Callable[[str, int, str], str] | None
    ) -> int:
        """Store the unverified stop-work the server handed out (`store.unverified`), each row
        checked against its hash, and seal the digest of all of them; how many were new."""
        rows = list(rows)
        with transaction(self.db):
            self._check_unverified(seal)  # never re-seal a table someone edited
            before = self.db.execute("SELECT count(*) FROM unverified_stops").fetchone()[0]
            for row in rows:
                device, seq, at, kind, run, person, data, prev, digest = row[:9]
                if row_hash(seq, at, kind, run, person, data, prev) != digest:
                    continue  # the server checked it; one that does not hold is not kept
                self.db.execute(
                    "INSERT OR IGNORE INTO unverified_stops (device, seq, hash, at, kind, run,"
                    " person, data, prev_hash, alarm, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (device, seq, digest, at, kind, run, person, data, prev, row[9], row[10]),
                )
            after = self.db.execute("SELECT count(*) FROM unverified_stops").fetchone()[0]
            digest = self._unverified_digest()
            sealed = None if seal is None else seal("unverified", after, f"unverified:{digest}")
            self.db.executemany(
                "INSERT INTO foreign_meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [("unverified", f"{after}:{digest}"), ("unverified_seal", sealed or "")],
            )
        return int(after - before)

    def _unverified_digest(self) -> str:
        h = hashlib.sha256()
        for device, seq, digest in self.db.execute(
            "SELECT device, seq, hash FROM unverified_stops ORDER BY device, seq, hash"
        ):
            h.update(f"{device}:{seq}:{digest}\n".encode())
        return h.hexdigest()

    def _check_unverified(self, seal: Callable[[str, int, str], str] | None) -> None:
        """Refuse when the unverified stop-work here is not what this laptop sealed at its last
        pull: a row deleted (a stop-work gone quietly), changed or slipped in."""
        kept = dict(
            self.db.execute(
                "SELECT key, value FROM foreign_meta WHERE key IN ('unverified', 'unverified_seal')"
            ).fetchall()
        )
        count = self.db.execute("SELECT count(*) FROM unverified_stops").fetchone()[0]
        if "unverified" not in kept:
            if count == 0:
                return
            problem = True
        else:
            now = f"{count}:{self._unverified_digest()}"
            problem = kept["unverified"] != now
            if seal is not None and not problem:
                expected = seal("unverified", count, f"unverified:{now.partition(':')[2]}")
                problem = not hmac.compare_digest(str(kept.get("unverified_seal")), expected)
        if problem:
            raise SafetyError(
                f"the unverified stop-work pulled into {self.path} is not what was pulled (rows "
                "were deleted, changed or added); nothing was done. Keep the workspace as it is "
                "and tell the producer"
            )

    def unverified(
        self, seal: Callable[[str, int, str], str] | None = None
    ) -> list[tuple[Event, str, str]]:
        """Every unverified stop-work pulled (refused laptops' events, with the alarm's words and
        when the server received each), each checked against its hash as it is read."""
        self._check_unverified(seal)
        out = []
        rows = self.db.execute(
            "SELECT device, seq, at, kind, run, person, data, prev_hash, hash, alarm, received_at"
            " FROM unverified_stops ORDER BY device, seq, hash"
        )
        for device, seq, at, kind, run, person, data, prev, digest, alarm, received in rows:
            if row_hash(seq, at, kind, run, person, data, prev) != digest:
                raise SafetyError(
                    f"unverified stop-work {seq} of device {device} in {self.path} was changed "
                    "after it was pulled: keep the workspace as it is and tell the producer"
                )
            event = Event(seq, at, kind, run, person, json.loads(data), prev, digest, device)
            out.append((event, str(alarm), str(received)))
        return out

    def unit(self) -> int | None:
        """This laptop's unit number, as the server handed it out at a sync (None: never)."""
        row = self.db.execute("SELECT value FROM foreign_meta WHERE key = 'unit'").fetchone()
        return int(row[0]) if row else None

    def set_unit(self, unit: int) -> None:
        """Kept once: a number never changes (a server that says otherwise is not believed)."""
        with transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO foreign_meta (key, value) VALUES ('unit', ?)", (str(unit),)
            )

    def waiting(self) -> str | None:
        """When this laptop's first sync that was told to wait for approval ran (None: its last
        sync got in, or none was told)."""
        row = self.db.execute("SELECT value FROM foreign_meta WHERE key = 'waiting'").fetchone()
        return str(row[0]) if row else None

    def set_waiting(self, since: str | None) -> None:
        """Note that a sync was told to wait (the first time is kept), or that one got in."""
        with transaction(self.db):
            if since is None:
                self.db.execute("DELETE FROM foreign_meta WHERE key = 'waiting'")
            else:
                self.db.execute(
                    "INSERT OR IGNORE INTO foreign_meta (key, value) VALUES ('waiting', ?)",
                    (since,),
                )

    def credential(self, person: str, fp: str) -> str | None:
        """Another device's PIN hash for `person` that the fingerprint `fp` selects."""
        row = self.db.execute(
            "SELECT secret FROM foreign_credentials WHERE person = ? AND fingerprint = ?",
            (person, fp),
        ).fetchone()
        return str(row[0]) if row else None

    def unsealed(self, device: str, seq: int, seal: Callable[[str, int, str], str]) -> bool:
        """Whether the row lacks the seal this laptop made when it pulled it."""
        row = self.db.execute(
            "SELECT hash, seal FROM foreign_events WHERE device = ? AND seq = ?", (device, seq)
        ).fetchone()
        if row is None or row[1] is None:
            return True
        return not hmac.compare_digest(str(row[1]), seal(device, seq, str(row[0])))

    def window(self, device: str, seq: int, size: int) -> list[Event]:
        """The pulled events of `device` among the `size` numbers before `seq`: where a roster
        change's approvals are looked for (they are pulled with it)."""
        return list(
            self._read(" WHERE device = ? AND seq >= ? AND seq < ?", (device, seq - size, seq))
        )

    def events(
        self, kinds: Iterable[str], seal: Callable[[str, int, str], str] | None = None
    ) -> Iterator[Event]:
        """Other devices' events of these kinds, each checked against its hash as it is read (a
        row edited in this file is refused where it is read, as in the laptop's log). Given this
        laptop's `seal`, a row without it (slipped into this file by someone without the device
        key) is left out unless it only stops work (`STOPPING`)."""
        kinds = list(kinds)
        if seal is not None and STOPPING.intersection(kinds):
            self.check_kept(seal)  # what stops work must not vanish quietly
        yield from self._read(f" WHERE kind IN ({','.join('?' * len(kinds))})", kinds, seal)

    def held_runs(
        self, seal: Callable[[str, int, str], str] | None = None
    ) -> list[tuple[str, RunStart, Hold]]:
        """Other laptops' runs on hold now, each as (device, its start, its open hold): their
        holds, clearances and aborts folded per run as the laptop's own are (`Lifecycle`),
        through the kind index (a few rows per run ever held), then the start of each one still
        held. A clearance or an abort counts only with this laptop's seal (`events`)."""
        from safetycli.lifecycle import HELD, Lifecycle
        from safetycli.storage import RunStart

        folds: dict[tuple[str, str], Lifecycle] = {}
        for e in self.events((HOLD_RAISED, HOLD_CLEARED, RUN_ABORTED), seal):
            if e.run is not None and e.device is not None:
                folds.setdefault((e.device, e.run), Lifecycle()).apply(e.kind, e.seq, e.at, e.data)
        out = []
        for (device, run), fold in folds.items():
            hold = fold.open_hold
            if fold.status != HELD or hold is None:
                continue
            # One step back through the kind index from its first hold, not every start of the
            # device: its start came before its holds in that device's chain.
            where = " WHERE kind = ? AND device = ? AND seq < ? AND run = ?"
            first = min(h.seq for h in fold.holds)
            found = self._read(
                where, (RUN_STARTED, device, first, run), seal, " ORDER BY seq DESC LIMIT 1"
            )
            start = next(found, None)
            if start is None:  # pulled before its hold, in the same chain: deleted or changed
                raise SafetyError(
                    f"run {run} of device {device} is on hold, but its start in {self.path} is "
                    "missing or not as pulled: nothing was done. Keep the workspace as it is "
                    "and tell the producer"
                )
            out.append((device, RunStart(run, start.seq, start.at, start.data), hold))
        return out

    def run_holds(
        self,
        seal: Callable[[str, int, str], str] | None = None,
        keep: Callable[[Lifecycle], bool] | None = None,
    ) -> list[tuple[str, RunStart, Lifecycle]]:
        """Other laptops' runs that were ever held, on hold now or not, each as (device, its
        start, its holds folded): what held a scene here, for a producer reviewing this
        laptop's day (elsewhere.py). Their holds through the kind index (a few rows per run
        ever held), folded as in `held_runs`; the start looked up only for the folds `keep`
        accepts (a day's report asks of its period's few), each by one step back through the
        kind index from its first hold, never a scan of the device's starts. A run whose start
        is not here (or not as pulled) is left out: its scene is unknown."""
        from safetycli.lifecycle import Lifecycle
        from safetycli.storage import RunStart

        folds: dict[tuple[str, str], Lifecycle] = {}
        for e in self.events((HOLD_RAISED, HOLD_CLEARED, RUN_ABORTED), seal):
            if e.run is not None and e.device is not None:
                folds.setdefault((e.device, e.run), Lifecycle()).apply(e.kind, e.seq, e.at, e.data)
        out = []
        for (device, run), fold in folds.items():
            if not fold.holds or (keep is not None and not keep(fold)):
                continue
            first = min(h.seq for h in fold.holds)
            where = " WHERE kind = ? AND device = ? AND seq < ? AND run = ?"
            found = self._read(
                where, (RUN_STARTED, device, first, run), seal, " ORDER BY seq DESC LIMIT 1"
            )
            start = next(found, None)
            if start is not None:
                out.append((device, RunStart(run, start.seq, start.at, start.data), fold))
        return out

    def _read(
        self,
        where: str,
        args: Iterable[Any],
        seal: Callable[[str, int, str], str] | None = None,
        order: str = " ORDER BY device, seq",
    ) -> Iterator[Event]:
        cursor = self.db.execute(
            f"SELECT {_COLUMNS}, seal FROM foreign_events{where}{order}", list(args)
        )
        for device, seq, at, kind, run, person, data, prev, digest, _mac, sealed in cursor:
            if row_hash(seq, at, kind, run, person, data, prev) != digest:
                raise SafetyError(
                    f"event {seq} of device {device} in {self.path} was changed after it was "
                    "pulled: keep the workspace as it is and tell the producer"
                )
            if seal is not None and kind not in STOPPING:
                if sealed is None or not hmac.compare_digest(
                    str(sealed), seal(device, seq, digest)
                ):
                    continue
            yield Event(seq, at, kind, run, person, json.loads(data), prev, digest, device=device)


_EMPTY = hashlib.sha256().hexdigest()


def _stops_seal(
    seal: Callable[[str, int, str], str] | None, device: str, seq: int, stops: str
) -> str | None:
    """The seal over the digest of `device`'s rows that stop work, as of its head `seq`."""
    return None if seal is None else seal(device, seq, f"stops:{stops}")


def merged(local: Iterable[Event], theirs: Iterable[Event], here: str | None) -> Iterator[Event]:
    """This laptop's events and other devices' (pulled) in one order: by time (UTC, as each
    device wrote it), then device id, each device's own events always in its own chain's order
    (a merge of the per-device streams, never a sort that could reorder one device's events when
    its clock went back). The order custody and the roster are folded in across laptops."""
    streams = [list(local)] + [list(g) for _, g in groupby(theirs, key=lambda e: e.device)]
    return heapq.merge(*streams, key=lambda e: (e.at, e.device or here or ""))


def path_of(log_path: Path) -> Path:
    return log_path.with_name(FILENAME)


def open_if_present(log_path: Path) -> ForeignLog | None:
    """The laptop's foreign events, or None when it never pulled any (no file: nothing opened)."""
    path = path_of(log_path)
    if not path.exists():
        return None
    return ForeignLog.open(path)
