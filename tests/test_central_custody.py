"""The central report's custody from a sealed starting point (issue 15): the same answer as every
unit's custody folded from its first event, only cheaper.

Runs against the real throwaway PostgreSQL (tests/pgserver.py). The server is filled with
custody events written straight into its tables (what the report reads), several laptops over
several days, with clocks that disagree and one firearm two units issue at once, so the merged
order, the conflicts and the period's moves are all exercised.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from safetycli import armory
from safetycli.central import custodypoint
from safetycli.central.reader import CentralReader, open_central
from tests.walk_helpers import ok

DAYS = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]


class Server:
    """Custody events written into the central store as laptops' syncs would leave them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.next: dict[str, int] = {}
        with open_central(url):
            pass  # the schema, made as a review command makes it

    def add(self, device: str, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Append (at, kind, data) rows to `device`'s chain."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            if device not in self.next:
                conn.execute(
                    "INSERT INTO devices (device, production) VALUES (%s, 'Night Unit')",
                    (device,),
                )
                self.next[device] = 1
            seq = self.next[device]
            for at, kind, data in rows:
                conn.execute(
                    "INSERT INTO events (device, seq, at, kind, run, person, data, prev_hash,"
                    " hash) VALUES (%s, %s, %s, %s, NULL, %s, %s, %s, %s)",
                    (
                        device,
                        seq,
                        at,
                        kind,
                        data.get("by"),
                        json.dumps(data, sort_keys=True, separators=(",", ":")),
                        f"{device}-{seq - 1}",
                        f"{device}-{seq}",
                    ),
                )
                seq += 1
            self.next[device] = seq
            conn.execute(
                "UPDATE devices SET head_seq = %s, head_hash = %s WHERE device = %s",
                (seq - 1, f"{device}-{seq - 1}", device),
            )


def season(device: str, days: list[str], skew: int, seed: int) -> list[tuple[str, str, dict]]:
    """One unit's custody over `days`: its own firearms and one every unit shares (SN-SHARED),
    lots whose rounds go out for its runs, the storage opened and locked; its clock `skew`
    minutes off, and once set back mid-day."""
    rng = random.Random(seed)
    by = "Sam Ortiz"
    mine = [f"SN-{device}-{i}" for i in range(3)]
    rows: list[tuple[str, str, dict]] = []

    def at(day: str, minute: int) -> str:
        minute += skew
        hour, minute = divmod(minute, 60)
        return f"{day}T{hour:02d}:{minute:02d}:{rng.randrange(60):02d}.000000Z"

    first = days[0]
    for serial in (*mine, "SN-SHARED"):
        rows.append(
            (
                at(first, 10),
                "armory.firearm-added",
                {"by": by, "kind": "real", "make": "Colt", "model": "SAA", "serial": serial},
            )
        )
    lot = f"LOT-{device}"
    rows.append(
        (
            at(first, 11),
            "armory.lot-added",
            {"by": by, "count": 500, "load": "half", "lot": lot, "type": "blank"},
        )
    )
    for d, day in enumerate(days):
        # Late at night first (before 06:00 UTC: the evening before in Denver), then the day.
        minute = 60 if d else 20
        rows.append((at(day, minute), "armory.unlocked", {"by": by, "keys": [by]}))
        for k in range(4):
            run = f"r-{device}-{d}{k}"
            serial = rng.choice([*mine, "SN-SHARED"])
            minute += rng.randrange(20, 200)
            if k == 2 and d == 2:
                minute -= 90  # the laptop's clock set back: its order is its chain's
            rows += [
                (at(day, minute), "armory.issued", {"by": by, "for_run": run, "serial": serial}),
                (
                    at(day, minute + 1),
                    "armory.handed-over",
                    {"by": by, "serial": serial, "to": "Alex Kim"},
                ),
                (
                    at(day, minute + 5),
                    "armory.taken-back",
                    {"by": by, "holder": "Alex Kim", "serial": serial},
                ),
                (
                    at(day, minute + 6),
                    "armory.rounds-issued",
                    {"by": by, "count": 12, "day": day, "for_run": run, "lot": lot},
                ),
                (
                    at(day, minute + 7),
                    "armory.rounds-fired",
                    {"by": by, "count": rng.randrange(12), "day": day, "for_run": run, "lot": lot},
                ),
            ]
            if rng.random() < 0.8:  # sometimes a firearm stays out: a gap the report names
                rows.append((at(day, minute + 9), "armory.returned", {"by": by, "serial": serial}))
        # Every unit has the shared firearm out around 09:00: two units recording it out at once.
        run = f"r-{device}-{d}9"
        rows += [
            (at(day, 535), "armory.issued", {"by": by, "for_run": run, "serial": "SN-SHARED"}),
            (at(day, 1200), "armory.returned", {"by": by, "serial": "SN-SHARED"}),
        ]
        rows.append((at(day, 1300), "armory.locked", {"by": by, "keys": [by]}))
    return rows


@pytest.fixture
def server(central: str) -> Server:
    """Three laptops' custody over five days, each laptop's clock a little off."""
    made = Server(central)
    for i, (device, skew) in enumerate((("aaaa", 0), ("bbbb", -3), ("cccc", 7))):
        made.add(device, season(device, DAYS, skew, seed=i))
    return made


@pytest.fixture
def reader(server: Server) -> Iterator[CentralReader]:
    with open_central(server.url) as opened:
        yield opened


def report_runs(day: str) -> set[str]:
    """A day's runs, as the report passes them: each unit's of that day."""
    d = DAYS.index(day)
    return {f"r-{device}-{d}{k}" for device in ("aaaa", "bbbb", "cccc") for k in range(4)}


def custody(state: armory.ArmoryState, day: str, zone: str) -> tuple[Any, list[str]]:
    return armory.custody_report(state, report_runs(day), day, day, zone), state.conflicts


def full_fold(reader: CentralReader, day: str, zone: str) -> tuple[Any, list[str]]:
    keep = armory.in_period(report_runs(day), day, day, zone)
    return custody(armory.load(reader, keep=keep), day, zone)


def from_point(reader: CentralReader, day: str, zone: str) -> tuple[Any, list[str]]:
    keep = armory.in_period(report_runs(day), day, day, zone)
    return custody(armory.for_period(reader, keep, day, None, zone), day, zone)


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each fold started from a starting point (True) or from the first event."""
    seen: list[bool] = []
    real = custodypoint._usable

    def spy(*args: Any) -> Any:
        found = real(*args)
        seen.append(found is not None)
        return found

    monkeypatch.setattr(custodypoint, "_usable", spy)
    return seen


def points(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "state" / custodypoint.FOLDER).glob("*/*.json"))


@pytest.mark.parametrize("zone", ["UTC", "America/Denver", "Asia/Tokyo"])
def test_each_days_report_from_a_starting_point_is_the_full_folds(
    reader: CentralReader, used: list[bool], zone: str
) -> None:
    """Day after day, as a producer reads them: each report starts from the point the report
    before it left, and the next time from its own; every answer is the full fold's."""
    for day in DAYS[1:]:
        want = full_fold(reader, day, zone)
        assert want[0]["firearms"] and want[1]  # moves in the period, and a conflict
        assert from_point(reader, day, zone) == want
        assert from_point(reader, day, zone) == want
    if zone == "UTC":
        assert used == [False, True, True, True, True, True, True, True]
    else:  # these runs' custody begins the evening before, local time: not inside any point
        assert any(used)
    # An earlier day again: the newest point that begins before it.
    assert from_point(reader, DAYS[2], zone) == full_fold(reader, DAYS[2], zone)
    assert used[-1] is True
    # `status --central`'s conflicts: from the newest point whatever its day.
    assert custodypoint.conflicts(reader) == armory.load(reader).conflicts
    assert used[-1] is True


def test_a_laptop_that_syncs_late_with_older_custody_starts_the_fold_over(
    server: Server, reader: CentralReader, used: list[bool]
) -> None:
    day = DAYS[3]
    assert from_point(reader, day, "UTC") == full_fold(reader, day, "UTC")
    # A fourth unit, offline all week, syncs now: its custody of the 2nd falls inside the
    # point (it issued the shared firearm while another unit had it out).
    server.add("dddd", season("dddd", DAYS[1:3], skew=0, seed=9))
    reader.conn.commit()
    want = full_fold(reader, day, "UTC")
    assert any("device dddd" in line for line in want[1])
    assert from_point(reader, day, "UTC") == want
    assert used == [False, False]
    # The report that refused the point left a new one, with the late unit in it.
    assert custodypoint.conflicts(reader) == want[1]
    assert used[-1] is True
    # A unit the point knows, late with a day already past: the same.
    from_point(reader, day, "UTC")
    server.add("bbbb", season("bbbb", DAYS[1:2], skew=0, seed=11)[5:])
    want = full_fold(reader, day, "UTC")
    assert from_point(reader, day, "UTC") == want
    assert used[3:] == [True, False]
    # Custody that sorts after the point (today's) keeps it.
    server.add("aaaa", season("aaaa", DAYS[4:], skew=0, seed=12)[5:])
    assert from_point(reader, day, "UTC") == full_fold(reader, day, "UTC")
    assert used[-1] is True


def _edit(path: Path, change: Any) -> None:
    outer = json.loads(path.read_text())
    body = json.loads(outer["body"])
    change(body)
    outer["body"] = json.dumps(body, sort_keys=True, separators=(",", ":"))
    path.write_text(json.dumps(outer))


def _all_locked(body: dict[str, Any]) -> None:
    for firearm in body["armory"]["firearms"]:
        firearm[5:8] = ["locked", None, None]
    body["armory"]["conflicts"] = []


def test_an_edited_or_foreign_starting_point_is_never_believed(
    reader: CentralReader, used: list[bool], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = DAYS[4]
    want = full_fold(reader, day, "UTC")
    assert from_point(reader, day, "UTC") == want
    (path,) = points(tmp_path)
    # Every firearm back in storage and no conflict, its MAC left as it was.
    _edit(path, _all_locked)
    assert from_point(reader, day, "UTC") == want
    assert from_point(reader, day, "UTC") == want  # rewritten by the report that refused it
    assert used == [False, False, True]
    # Sealed by another reader's key (another machine's file copied here).
    with monkeypatch.context() as other:
        other.setattr(custodypoint, "_key", lambda: bytes(32))
        assert from_point(reader, day, "UTC") == want
    assert from_point(reader, day, "UTC") == want
    assert used[3:] == [False, False]
    # Not JSON at all; then a point whose last events the server holds no longer (another
    # server at the same address, or one set up again).
    path.write_text("{not json")
    assert from_point(reader, day, "UTC") == want
    assert used[-1] is False
    assert from_point(reader, day, "UTC") == want and used[-1] is True
    with psycopg.connect(reader.store.url, autocommit=True) as conn:
        conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE events SET hash = 'another server' WHERE device = 'cccc'"
            " AND seq = (SELECT max(seq) FROM events WHERE device = 'cccc')"
        )
        conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
    assert from_point(reader, day, "UTC") == full_fold(reader, day, "UTC")
    assert used[-1] is False


@pytest.mark.parametrize("fmt", ["md", "html", "json", "csv"])
def test_the_central_report_is_byte_for_byte_the_same_from_a_starting_point(
    cli: CliRunner,
    server: Server,
    used: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    from safetycli import ledger

    monkeypatch.setattr(ledger, "now_utc", lambda: "2026-03-05T23:00:00.000000Z")  # generated_at
    args = ["report", "--central", server.url, "--day", DAYS[3], "--format", fmt]
    first = ok(cli, args).stdout  # every unit's custody folded from the start; leaves a point
    again = ok(cli, args).stdout  # from the point
    assert used == [False, True]
    assert "SN-SHARED" in first
    assert again == first


def test_a_state_folder_or_key_folder_that_cannot_be_written_only_means_a_full_fold(
    reader: CentralReader, used: list[bool], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetycli import filemodes

    def refuse(*_: Any) -> None:
        raise PermissionError("read-only")

    day = DAYS[3]
    want = full_fold(reader, day, "UTC")
    with monkeypatch.context() as full:
        full.setattr(filemodes, "write_private_text", refuse)
        assert from_point(reader, day, "UTC") == want
        assert from_point(reader, day, "UTC") == want
    assert points(tmp_path) == []
    with monkeypatch.context() as keyless:
        keyless.setenv("SAFETYCLI_KEY_DIR", str(tmp_path / "not-a-folder"))
        (tmp_path / "not-a-folder").write_text("a file where the key folder would be")
        assert from_point(reader, day, "UTC") == want
    assert points(tmp_path) == [] and used == [False, False]
