"""The central report's custody from a sealed starting point: the period's custody folded, not
every unit's season.

A report's custody is as of the head (its gaps are) but keeps only the period's moves
(`armory.in_period`). A laptop's report starts from a snapshot its log keeps sealed
(custodyview.py); the central store keeps none, and a report reads it in a read-only
transaction. So the machine that reads keeps its own: in its private state folder
(`headmark.state_dir()/central-custody/`, a folder per server URL, one file per starting
point), sealed with an HMAC under a reader key kept beside the device keys
(`devicekey.key_dir()/central-reader.key`, made on first use, 0600). A production office that
reads the server without a workspace has no device key, hence a key of its own.

Why here and not on the server: laptops write to the server only through its checks, and a
table there that every reader believed would be one more thing whoever holds the database
password could forge. Here a stale, foreign or edited file is never believed, only ignored
(and replaced); the worst it costs is a fold from the start, as before.

A starting point is the armory (`armory.snapshot`, with each firearm's device and the conflicts
found so far) as of a place in the merged custody (`foreign.merged`'s order: time, then device,
each device's events in its own order): just before the first event at or after its `cutoff`,
the start of a report's first day in the production's zone (`status --central`, which needs
only the conflicts, leaves one at the start of today, UTC). It records each device's last
number folded (`covered`), the last custody number of each device the server then held and
that event's hash (`seen`), the greatest (time, device) folded (`upto`), and every run a folded
move was filed under (`runs`). A report takes it only when all of these hold; otherwise it
folds every unit's custody from the start, exactly as `armory.load` does:

- its MAC holds under the reader key;
- its cutoff is no later than the start of the report's period, and the report keeps none of
  its runs' moves (`keep(run, upto)` is false for each): no move the report shows is inside;
- each device's event at `seen` is still on the server with the same hash (chains on the
  server are append-only: a reset or different server fails here);
- every custody event the server holds after `seen` sorts after `upto`. A merge always takes
  the smallest head, and every head that is new since sorts after anything the starting point
  took, so the merged order of all the server now holds begins with exactly what it folded;
  the fold goes on with each device's events after `covered`. A laptop that syncs late with
  custody older than `upto` fails this (its events belong inside): the fold starts over.

Then the answer is the full fold's, byte for byte (tests/test_central_custody.py compares them).
The incident register is not in a starting point: the incident events before it are folded
first (the report reads its incidents itself; custody rules are a laptop's, not the reader's).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetycli.events import ARMORY_KINDS, INCIDENT_KINDS, Event

if TYPE_CHECKING:
    from safetycli.armory import ArmoryState
    from safetycli.central.reader import CentralReader

# What the fold reads: armory.load's kinds, so the merge interleaves exactly as it does there.
KINDS = (*ARMORY_KINDS, *INCIDENT_KINDS)
FOLDER = "central-custody"
KEY_FILE = "central-reader.key"
VERSION = 1
KEPT = 4  # starting points kept per server: the newest cutoffs
_TRIED = 2  # at most this many files are checked against the server, newest first

Keep = Callable[[str | None, str], bool]
Position = tuple[str, str]  # (time, device): foreign.merged's order


@dataclass
class Point:
    cutoff: str
    upto: Position
    covered: dict[str, int]
    seen: dict[str, tuple[int, str]]
    runs: list[str | None]
    armory: dict[str, Any]


def period_start(day_from: str, zone: str) -> str:
    """The first instant of `day_from` in the production's zone, as the log writes times (UTC,
    microseconds, `Z`): a time before it falls on an earlier day there. A midnight that a clock
    change skips or repeats takes the earlier reading: never later than the day's start."""
    from safetycli.zones import zone as tz

    start = datetime.combine(date.fromisoformat(day_from), clock(0), tz(zone))
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def for_period(reader: CentralReader, keep: Keep, day_from: str | None, zone: str) -> ArmoryState:
    """The armory as of the head with only the report's moves kept (`keep`), the same state
    `armory.load(reader, keep=keep)` folds; from a starting point when one holds, and leaving
    one at the start of this period for the next report. A period open at its start keeps
    moves from the first event on: no starting point can stand for it."""
    if day_from is None:
        from safetycli import armory

        return armory.load(reader, keep=keep)
    start = period_start(day_from, zone)
    return _fold(reader, keep, start, start)


def conflicts(reader: CentralReader) -> list[str]:
    """Every unit's custody conflicts as of the head (`status --central`), as `armory.load`
    finds them: from the newest starting point that holds, whatever its period (no moves are
    kept, and a starting point carries the conflicts found before it); leaving one at the start
    of today (UTC) for the next look at the set."""
    today = datetime.now(UTC).date().isoformat()
    return _fold(reader, _no_moves, None, period_start(today, "UTC")).conflicts


def _no_moves(run: str | None, at: str) -> bool:
    return False


def _fold(reader: CentralReader, keep: Keep, cutoff: str | None, leave: str) -> ArmoryState:
    """From the newest starting point that holds for `keep` and begins by `cutoff` (None: any),
    else from every unit's first custody event; a starting point at `leave` is left for the
    next reader (unless the one it started from begins there or later)."""
    from safetycli import armory

    key = _key()
    folder = _folder(reader.store.url)
    found = _usable(reader, folder, key, keep, cutoff) if key is not None else None
    touched: set[str | None] = set()

    def recording(run: str | None, at: str) -> bool:
        touched.add(run)
        return keep(run, at)

    if found is None:
        point, events = None, list(reader.events(kinds=KINDS))
        state = armory.ArmoryState(keep=recording)
        covered: dict[str, int] = {}
        upto: Position = ("", "")
    else:
        point, state, events = found
        state.keep = recording
        touched.update(point.runs)
        covered, upto = dict(point.covered), point.upto
        # The incident register is no part of a starting point: its events before it, first.
        for event in _merged(_incidents_upto(reader, point.covered)):
            state.apply(event)
    seen = dict(point.seen) if point is not None else {}
    write = key is not None and (point is None or point.cutoff < leave)
    cut: tuple[dict[str, Any], dict[str, int], Position, list[str | None]] | None = None
    for event in _merged(events):
        device = str(event.device)
        if write and cut is None and event.at >= leave:
            cut = (_snapshot(state), dict(covered), upto, _sorted(touched))
        state.apply(event)
        covered[device] = event.seq
        upto = max(upto, (event.at, device))
    for event in events:  # each device's in its own order: its last is its newest
        seen[str(event.device)] = (event.seq, event.hash)
    if write and key is not None:
        if cut is None:
            cut = (_snapshot(state), covered, upto, _sorted(touched))
        body, done, upto, runs = cut
        _save(folder, key, Point(leave, upto, done, seen, runs, body))
    state.keep = keep
    return state


def _merged(events: Iterable[Event]) -> Iterator[Event]:
    from safetycli.central.foreign import merged

    return merged([], events, None)


def _sorted(runs: set[str | None]) -> list[str | None]:
    return sorted(runs, key=lambda r: (r is not None, r or ""))


# --- the state as data ---------------------------------------------------------------------------


def _snapshot(state: ArmoryState) -> dict[str, Any]:
    """armory.snapshot, and what a fold over several devices carries besides: the device of
    each firearm's last move (the next conflict names it) and the conflicts found so far."""
    from safetycli import armory

    return armory.snapshot(state) | {
        "devices": [f.device for f in state.firearms.values()],
        "conflicts": list(state.conflicts),
    }


def _restore(body: dict[str, Any]) -> ArmoryState:
    from safetycli import armory

    state = armory.restore(body)
    devices = list(body["devices"])
    if len(devices) != len(state.firearms):
        raise ValueError("a device for each firearm")
    for firearm, device in zip(state.firearms.values(), devices, strict=True):
        firearm.device = None if device is None else str(device)
    state.conflicts = [str(line) for line in body["conflicts"]]
    return state


# --- the files -----------------------------------------------------------------------------------


def _folder(url: str) -> Path:
    """One folder per server, named by the URL's digest without its password (the file says
    nothing of where the server is; whether it is the same server, the hashes say)."""
    from safetycli.central import redact
    from safetycli.statedir import state_dir

    name = hashlib.sha256(redact(url).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return state_dir() / FOLDER / name


def _key() -> bytes | None:
    """The reader key, made on first use; None when it cannot be read or made (no starting
    point is then kept or believed: every report folds from the start)."""
    from safetycli.devicekey import key_dir

    path = key_dir() / KEY_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        text = _new_key(path)
    except (OSError, UnicodeDecodeError):
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def _new_key(path: Path) -> str:
    """Written whole under a temporary name and linked into place: never a half-written key,
    and of two reports making it at once, the second takes the first's ("" when none can be
    made: the folder is read-only)."""
    import secrets

    from safetycli.filemodes import make_private_dir, write_private_text

    text = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        make_private_dir(path.parent)
        write_private_text(tmp, text + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            text = path.read_text(encoding="ascii").strip()
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, UnicodeDecodeError):
        return ""
    return text


def _mac(key: bytes, text: str) -> str:
    # Its own prefix: nothing else this key seals can stand for a starting point.
    message = b"safetycli central custody point:" + text.encode("utf-8")
    return hmac.digest(key, message, "sha256").hex()


def _save(folder: Path, key: bytes, point: Point) -> None:
    """Written whole (a temporary file moved into place) and 0600; the oldest beyond `KEPT`
    removed. A folder that cannot be written only means no starting point next time."""
    from safetycli.filemodes import make_private_dir, write_private_text

    body = {
        "version": VERSION,
        "cutoff": point.cutoff,
        "upto": list(point.upto),
        "covered": point.covered,
        "seen": {d: list(s) for d, s in point.seen.items()},
        "runs": point.runs,
        "armory": point.armory,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        make_private_dir(folder)
        write_private_text(
            _file(folder, point.cutoff), json.dumps({"body": text, "mac": _mac(key, text)})
        )
        for old in _files(folder)[KEPT:]:
            old.unlink(missing_ok=True)
    except OSError:
        return


def _file(folder: Path, cutoff: str) -> Path:
    return folder / f"{cutoff.replace(':', '')}.json"


def _files(folder: Path) -> list[Path]:
    """The starting points kept, newest cutoff first (the names sort as the times do)."""
    try:
        return sorted(folder.glob("*.json"), reverse=True)
    except OSError:
        return []


def _read(path: Path, key: bytes) -> Point | None:
    """The starting point in `path` when its MAC holds and it reads as one; None otherwise."""
    try:
        outer = json.loads(path.read_text(encoding="utf-8"))
        text, mac = outer["body"], outer["mac"]
        if not isinstance(text, str) or not isinstance(mac, str):
            return None
        if not hmac.compare_digest(mac, _mac(key, text)):
            return None
        body = json.loads(text)
        if body["version"] != VERSION:
            return None
        at, device = body["upto"]
        return Point(
            str(body["cutoff"]),
            (str(at), str(device)),
            {str(d): int(s) for d, s in body["covered"].items()},
            {str(d): (int(s), str(h)) for d, (s, h) in body["seen"].items()},
            [None if r is None else str(r) for r in body["runs"]],
            dict(body["armory"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# --- whether one holds ----------------------------------------------------------------------


def _usable(
    reader: CentralReader, folder: Path, key: bytes, keep: Keep, cutoff: str | None
) -> tuple[Point, ArmoryState, list[Event]] | None:
    """The newest starting point that holds for this report (`keep`, beginning by `cutoff`;
    None: any), its state, and the custody events after it; None when none does."""
    tried = 0
    for path in _files(folder):
        if tried == _TRIED:
            break
        point = _read(path, key)
        if point is None or (cutoff is not None and point.cutoff > cutoff):
            continue
        if any(keep(run, point.upto[0]) for run in point.runs):
            continue  # a move the report shows would be inside it
        tried += 1
        try:
            state = _restore(point.armory)
        except (KeyError, TypeError, ValueError):
            continue
        if not _same_chains(reader, point.seen):
            continue
        events = list(_after(reader, point.covered))
        if all(_later(e, point) for e in events):
            return point, state, events
    return None


def _later(event: Event, point: Point) -> bool:
    """Whether an event after the starting point's `covered` leaves its prefix as it was: one
    the server already held then (by `seen`) was left out by the merge itself; one new since
    must sort after everything it took."""
    device = str(event.device)
    held = point.seen.get(device)
    if held is not None and event.seq <= held[0]:
        return True
    return (event.at, device) > point.upto


def _same_chains(reader: CentralReader, seen: dict[str, tuple[int, str]]) -> bool:
    """Each device's event at its `seen` number is still on the server with that hash."""
    if not seen:
        return True
    devices = list(seen)
    with reader.conn.cursor() as cur:
        cur.execute(
            "SELECT w.device, e.hash FROM unnest(%s::text[], %s::bigint[]) AS w(device, seq)"
            " LEFT JOIN events e ON e.device = w.device AND e.seq = w.seq",
            (devices, [seen[d][0] for d in devices]),
        )
        found = dict(cur.fetchall())
    return all(found.get(d) == seen[d][1] for d in devices)


_EVENT = "e.device, e.seq, e.at, e.kind, e.run, e.person, e.data, e.prev_hash, e.hash"


def _after(reader: CentralReader, covered: dict[str, int]) -> Iterator[Event]:
    """Every device's custody events after its `covered` number (all of a device it has not
    seen), in each device's order, devices one after another (as `reader.events` gives them)."""
    devices = list(covered)
    return reader._rows(
        f"SELECT {_EVENT} FROM events e"
        " LEFT JOIN unnest(%s::text[], %s::bigint[]) AS w(device, seq) ON w.device = e.device"
        " WHERE e.kind = ANY(%s) AND e.seq > coalesce(w.seq, 0) ORDER BY e.device, e.seq",
        [devices, [covered[d] for d in devices], list(KINDS)],
    )


def _incidents_upto(reader: CentralReader, covered: dict[str, int]) -> Iterator[Event]:
    """The incident events a starting point passed (each device's up to its `covered`)."""
    devices = list(covered)
    return reader._rows(
        f"SELECT {_EVENT} FROM events e"
        " JOIN unnest(%s::text[], %s::bigint[]) AS w(device, seq) ON w.device = e.device"
        " WHERE e.kind = ANY(%s) AND e.seq <= w.seq ORDER BY e.device, e.seq",
        [devices, [covered[d] for d in devices], list(INCIDENT_KINDS)],
    )
