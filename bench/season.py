"""A shooting season's log, a million events, and how the producer's commands cope with it.

    python bench/season.py                      # 1,000,000 events, measured at 100k and at 1M
    python bench/season.py --events 200000 --stages 50000,200000 --keep /tmp/season
    python bench/season.py --measure /tmp/season --repeat 5   # again, on the kept workspace

The season has an armory too (20 firearms, 50 lots of dummies and blanks, permits and safety
cards on the roster): each shooting day the armorer unlocks storage, checks the day's dummy lots,
issues firearms and rounds, hands firearms to actors and takes them back through the day, counts
rounds fired and returned, and locks up; each custody event is written after the `auth.ok` of the
PINs that approved it, as the CLI writes them. Its events come from the armory's own rules
(safetycli/armory.py), so the custody they record is possible.

Events are what a crew really writes: every run is walked through the real runner (the pure state
machine) with the shipped protocols, so the log holds the same kinds and shapes as on set: roll
calls, PINs, sign-offs, witnesses, read-backs, takes, holds raised and cleared, runs left open or
aborted, wrong PINs and the odd lock-out. The runner is slow to drive a million times, so each
distinct walk (protocol, facts, takes, which item fails) is simulated once and then stamped with
its run's people, scene, day and times. Events go in through `Ledger.append_bulk`: the same
canonical JSON and hash chain as any sign-off, fifty thousand to a transaction.

At each stage (the log grown to that many events) it times, as a user would run them, in fresh
processes: `log list --day`, `report --day` (Markdown and HTML) and `verify`, for the last full
shooting day; `status`, `log list` (whole, and one person's), the report of that day's month and
of the whole season, and `checklists list` (issue 14); and prints each one's wall time and peak
memory (RSS). Flat memory means the figures
at 100k and at 1M are the same.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from machine import cpu_model

from safetycli import armory, runner
from safetycli.catalog import load_catalog
from safetycli.credentials import fingerprint
from safetycli.events import Event, NewEvent
from safetycli.protocol import Item, Protocol
from safetycli.workspace import init_workspace

SEASON_START = datetime(2026, 3, 2, tzinfo=UTC)
# How a season is shaped: which protocols crews run, how often things go wrong.
PROTOCOL_WEIGHTS = {"firearm-scene": 70, "rehearsal": 15, "safety-meeting": 10, "daily-armory": 5}
P_HOLD = 0.08  # a critical check fails, the hold is cleared, the item is checked again
P_MANUAL_HOLD = 0.02  # someone stops work by hand
P_WRONG_PIN = 0.05  # somebody mistypes a PIN once
P_LOCKOUT = 0.002  # five wrong PINs: locked out, the run is aborted
P_LEFT_OPEN = 0.02  # the day ends before the run does
P_LEFT_HELD = 0.005  # a hold is still on at wrap
RUNS_PER_DAY = 45
FIREARMS = 20
LOTS = 50
HAND_OVERS_PER_DAY = (6, 14)
PERSON = "Actor 08"  # `log list --person`: an actor in about one run in thirty

ROSTER = {
    "producer": ["Pat Alvarez", "Morgan Lee"],
    "armorer": ["Sam Ortiz", "Rui Tanaka", "Kit Moreau"],
    "first_ad": ["Dana Reyes", "Chris Novak", "Ana Lima"],
    "actor": [f"Actor {n:02d}" for n in range(1, 25)],
    "dp": ["Lou Berger", "Ines Park"],
    "safety_rep": ["Noor Haddad"],
    "stunt_coordinator": ["Bo Jensen"],
}


# --- walks: each distinct walk through a protocol is simulated once with the real runner --------


@dataclass(frozen=True)
class Walk:
    """Events of one run with people as role placeholders (`@armorer`), and the seconds from the
    previous event, as a crew would space them."""

    events: tuple[tuple[str, dict[str, Any], str | None, int], ...]
    held_at_end: bool = False


# Counts a real scene would give, so those that must add up do (12 issued = 6 + 6 + 0).
# Enough blanks issued for the most takes a simulated scene runs (fired = 2 a take, summed).
_COUNTS = {"blanks-issued": 60, "blanks-returned": 6, "blanks-fired": 6}


def _answer(item: Item, blanks: bool, expected: int | None = None) -> Any:
    if item.kind == "confirm":
        return True
    if item.kind == "count":
        if isinstance(item.expect, str):
            return expected or 0
        if item.expect is not None:
            return item.expect
        return _COUNTS.get(item.id, max(item.min or 0, 2 if blanks else 1))
    if item.kind == "choice":
        options = [o for o in item.options or [] if o not in (item.fail_on or [])]
        preferred = "BLANKS" if blanks else "EMPTY"
        return preferred if preferred in options else options[0]
    return {
        "firearms-listed": "Colt SAA .45 #A12934 to the lead, empty; Beretta 92 #B88120 to double",
        "key-holders": "Locked 19:40; keys: armorer and the producer",
    }.get(item.id, "Recorded on the paper sheet, copy with the armorer")


def _context(protocol: Protocol, rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, fact in protocol.context.items():
        if fact.type == "bool":
            out[name] = rng.random() < 0.5
        elif fact.type == "choice":
            out[name] = (fact.options or ["?"])[0]
        elif fact.type == "int":
            out[name] = fact.min or 0
        else:
            out[name] = "as planned"
    return out


_SPACING = {
    "run.started": 0,
    "auth.ok": 3,
    "auth.failed": 4,
    "auth.locked": 1,
    "run.signed-in": 1,
    "item.performed": 35,
    "item.witnessed": 8,
    "item.read-back": 6,
    "item.done": 0,
    "take.next": 240,
    "takes.wrapped": 60,
    "hold.raised": 0,
    "hold.cleared": 900,
    "run.completed": 5,
    "run.aborted": 30,
}


def simulate(
    protocol: Protocol,
    context: dict[str, Any],
    *,
    takes: int,
    refuse: str | None,
    stop_after: int | None,
    leave_held: bool,
    manual_hold_at: int | None = None,
) -> Walk:
    """Drive the runner from start to finish (or to `stop_after` events, or to a hold left on).
    `manual_hold_at`: after that many events the 1st AD stops work by hand; it is cleared."""
    run_id = "@run"
    state = runner.RunState(run_id)
    out: list[tuple[str, dict[str, Any], str | None, int]] = []

    def emit(new: list[NewEvent]) -> None:
        for event in new:
            state.apply(
                Event(len(out) + 1, "", event.kind, run_id, event.person, event.data, "", "")
            )
            out.append((event.kind, event.data, event.person, _SPACING.get(event.kind, 10)))

    def pin_ok(role: str, purpose: str) -> None:
        name = f"@{role}"
        data = {"name": name, "role": role, "purpose": purpose}
        out.append(("auth.ok", data, name, _SPACING["auth.ok"]))

    refused = False

    def value_for(step: runner.Ask, seen: runner.RunState) -> Any:
        nonlocal refused
        if step.meaning == "witnessed":
            return True
        if step.meaning != "performed":
            return step.answer
        value = _answer(
            step.item,
            bool(context.get("blanks")),
            runner.expected_count(protocol, seen, step.item, step.take),
        )
        if step.item.id == refuse and not refused and step.item.kind == "confirm":
            value, refused = False, True
        return value

    emit(runner.start(protocol, run_id, "@scene", "@day", context))
    while stop_after is None or len(out) < stop_after:
        if manual_hold_at is not None and len(out) >= manual_hold_at and state.status == "open":
            manual_hold_at = None
            reason = "Unplanned blocking change: new safety meeting before anything else"
            emit(runner.raise_hold(state, runner.Signer("@first_ad", "first_ad"), reason))
        step = runner.next_step(protocol, state)
        if isinstance(step, runner.Stopped):
            if step.status != "held" or leave_held:
                return Walk(tuple(out), held_at_end=step.status == "held")
            clearers = [runner.Signer(f"@{r}", r) for r in protocol.hold.cleared_by]
            for signer in clearers:
                pin_ok(signer.role, "clear hold")
            emit(runner.clear_hold(protocol, state, clearers, "@note"))
        elif isinstance(step, runner.Finish):
            emit(runner.finish(state))
            break
        elif isinstance(step, runner.RollCall):
            for role in step.roles:
                pin_ok(role, "sign-in")
                emit(runner.sign_in(state, role, f"@{role}"))
        elif isinstance(step, runner.Skip):
            emit(runner.skip(protocol, state, step))
        elif isinstance(step, runner.AnotherTake):
            emit(runner.another_take(state, step, step.take < takes))
        elif isinstance(step, runner.Batch):
            # One person's checks in one sitting (issue 11): answered in turn, signed once; a
            # failing answer is recorded at once, alone, as the session records it.
            entries: list[tuple[runner.Ask, Any]] = []
            new: list[NewEvent] | None = None
            for ask in step.asks:
                ahead = runner.ahead_of(protocol, state, entries)
                value = value_for(ask, ahead)
                if runner.batch_fails(protocol, state, entries, ask, value):
                    new = runner.refuse_in_batch(protocol, state, entries, ask, value)
                    break
                entries.append((ask, value))
            if step.needs_pin:
                pin_ok(step.role, "sign-off")
            emit(new if new is not None else runner.sign_batch(protocol, state, step, entries))
        else:
            value = value_for(step, state)
            if step.needs_pin:
                pin_ok(step.role, "critical check" if step.meaning == "performed" else "witness")
            emit(runner.answer(protocol, state, step, value))
    return Walk(tuple(out[:stop_after] if stop_after else out))


# --- the season ----------------------------------------------------------------------------------


@dataclass
class Season:
    """Generates the season's events, in log order, forever (the caller takes what it needs)."""

    seed: int = 2026
    rng: random.Random = field(init=False)
    protocols: dict[str, Protocol] = field(init=False)
    walks: dict[tuple[Any, ...], Walk] = field(default_factory=dict)
    run_ids: set[str] = field(default_factory=set)
    days: dict[str, int] = field(default_factory=dict)  # shooting day -> events written so far
    # What credentials.db must hold for the roster's fingerprints (verify checks them): not real
    # PIN hashes, which would cost scrypt time and are never signed in with here.
    credentials: list[tuple[str, str]] = field(default_factory=list)
    armory: armory.ArmoryState = field(default_factory=armory.ArmoryState)
    armory_events: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        catalog = load_catalog()
        self.protocols = {p: catalog.get(p) for p in PROTOCOL_WEIGHTS}

    def walk(self, key: tuple[Any, ...]) -> Walk:
        if key not in self.walks:
            pid, context_items, takes, refuse, stop_after, leave_held, manual = key
            self.walks[key] = simulate(
                self.protocols[pid],
                dict(context_items),
                takes=takes,
                refuse=refuse,
                stop_after=stop_after,
                leave_held=leave_held,
                manual_hold_at=manual,
            )
        return self.walks[key]

    def roster_events(self) -> Iterator[tuple[str, NewEvent]]:
        at = SEASON_START - timedelta(days=3)
        first = True
        for role, names in ROSTER.items():
            for name in names:
                at += timedelta(minutes=2)
                data = {
                    "name": name,
                    "roles": [role],
                    "approved_by": None if first else ROSTER["producer"][0],
                    "pin_fingerprint": self.credential(name),
                }
                if not first:  # the producer's PIN, in the same transaction (rostercheck.py)
                    producer = ROSTER["producer"][0]
                    ok = {"name": producer, "role": "producer", "purpose": f"approve adding {name}"}
                    yield _stamp(at), NewEvent("auth.ok", ok, person=producer)
                first = False
                yield _stamp(at), NewEvent("crew.added", data, person=name)

    def credential(self, name: str) -> str:
        secret = f"bench${self.rng.getrandbits(64):016x}"
        self.credentials.append((name, secret))
        return fingerprint(secret)

    # --- the armory ---------------------------------------------------------------------------

    def approved(
        self, at: datetime, people: list[tuple[str, str | None]], doing: str, events: list[Any]
    ) -> Iterator[tuple[datetime, NewEvent]]:
        """The `auth.ok` of each PIN that approved it, then the custody events, one transaction
        as the CLI writes them (same time, so a merge never splits them); folded as they go, so
        the next rule sees them."""
        for name, role in people:
            ok = {"name": name, "role": role, "purpose": f"armory: {doing}"}
            yield at, NewEvent("auth.ok", ok, person=name)
        for declared in events:
            new = declared.new()
            self.armory_events += 1
            self.armory.apply(
                Event(self.armory_events, _stamp(at), new.kind, None, None, new.data, "", "")
            )
            yield at, new

    def qualification_events(self) -> Iterator[tuple[str, NewEvent]]:
        at = SEASON_START - timedelta(days=2)
        producer = ROSTER["producer"][0]
        holders = [(n, "armorer-permit") for n in ROSTER["armorer"]]
        holders += [(n, "safety-course") for n in ROSTER["actor"]]
        for n, (name, kind) in enumerate(holders):
            at += timedelta(minutes=1)
            ok = {"name": producer, "role": "producer", "purpose": f"approve {kind} for {name}"}
            yield _stamp(at), NewEvent("auth.ok", ok, person=producer)
            data = {
                "name": name,
                "by": producer,
                "qualification": kind,
                "number": f"Q-{n:04d}",
                "expires": "2028-06-30",
            }
            yield _stamp(at), NewEvent("crew.qualified", data, person=name)

    def inventory_events(self) -> Iterator[tuple[str, NewEvent]]:
        at = SEASON_START - timedelta(days=1)
        who = ROSTER["armorer"][0]
        makes = [("Colt", "SAA", "real"), ("Beretta", "92", "blank-firing"),
                 ("Glock", "17", "replica"), ("Winchester", "1873", "real"),
                 ("Rubber", "M4", "non-firing")]  # fmt: skip
        for n in range(FIREARMS):
            make, model, kind = makes[n % len(makes)]
            rule = armory.add_firearm(self.armory, f"SN{4400 + n}", make, model, kind, who)
            at += timedelta(minutes=3)
            for when, event in self.approved(at, [(who, "armorer")], "add firearm", [rule]):
                yield _stamp(when), event
        for n in range(LOTS):
            blank = n % 2 == 0
            rule = armory.add_rounds(
                self.armory, f"LOT-{n:03d}", "blank" if blank else "dummy",
                self.rng.choice(armory.LOADS) if blank else None, 500, who,
            )  # fmt: skip
            at += timedelta(minutes=2)
            for when, event in self.approved(at, [(who, "armorer")], "add lot", [rule]):
                yield _stamp(when), event

    def armory_day(self, day: datetime) -> Iterator[tuple[datetime, NewEvent]]:
        """One shooting day's custody: unlock, dummy checks, firearms and rounds out, hand-overs
        to actors and back through the day, counts fired and returned, everything back, lock."""
        rng = self.rng
        state = self.armory
        day_text = day.date().isoformat()
        who = rng.choice(ROSTER["armorer"])
        me = [(who, "armorer")]
        at = day + timedelta(hours=6, minutes=30, microseconds=rng.randint(0, 999))
        keys = [who, ROSTER["producer"][0]]

        def step(minutes: float) -> datetime:
            nonlocal at
            at += timedelta(seconds=int(minutes * 60) + rng.randint(0, 59))
            return at

        yield from self.approved(at, me, "unlock", [armory.unlock(state, who, keys)])
        lots = list(state.lots.values())
        blanks = rng.sample([x for x in lots if x.type == "blank"], 2)
        dummies = rng.sample([x for x in lots if x.type == "dummy"], rng.randint(1, 3))
        for lot in dummies:
            check = armory.check_dummies(state, lot.lot, ["rattle", "primer"], who, day_text)
            yield from self.approved(step(4), me, "check dummies", [check])
        serials = rng.sample([f.serial for f in state.firearms.values()], rng.randint(4, 6))
        issued = armory.issue(state, serials, who, None)
        yield from self.approved(step(5), me, "issue", issued)
        out: dict[str, int] = {}
        for lot in [*blanks, *dummies]:
            count = min(lot.on_hand, rng.choice([12, 18, 24]))
            if count == 0:
                continue
            rounds = armory.move_rounds(state, "issue", lot.lot, count, who, None, day_text)
            yield from self.approved(step(2), me, "issue rounds", [rounds])
            out[lot.lot] = count
        for _ in range(rng.randint(*HAND_OVERS_PER_DAY)):
            serial = rng.choice(serials)
            actor = rng.choice(ROSTER["actor"])
            handed = armory.hand_over(state, serial, who, actor)
            yield from self.approved(
                step(rng.randint(20, 50)), [*me, (actor, None)], "hand over", [handed]
            )
            back = armory.take_back(state, serial, who)
            yield from self.approved(step(rng.randint(3, 15)), me, "take back", [back])
            lot = rng.choice(blanks).lot
            fired = min(out.get(lot, 0), rng.randint(1, 6))
            if fired:
                event = armory.move_rounds(state, "fire", lot, fired, who, None, day_text)
                yield from self.approved(step(1), me, "fire", [event])
                out[lot] -= fired
        for lot_name, left in out.items():
            if left:
                event = armory.move_rounds(state, "return", lot_name, left, who, None, day_text)
                yield from self.approved(step(3), me, "return rounds", [event])
        yield from self.approved(step(10), me, "return", armory.return_(state, serials, who))
        yield from self.approved(step(5), me, "lock", [armory.lock(state, who, keys)])

    def __iter__(self) -> Iterator[tuple[str, NewEvent]]:
        yield from self.roster_events()
        yield from self.qualification_events()
        yield from self.inventory_events()
        for day_number in itertools.count():
            day = SEASON_START + timedelta(days=day_number + day_number // 5 * 2)  # 5-day weeks
            yield from self.day(day)

    def day(self, day: datetime) -> Iterator[tuple[str, NewEvent]]:
        rng = self.rng
        day_text = day.date().isoformat()
        scenes = [f"{rng.randint(1, 140)}{rng.choice(['', '', 'A', 'B'])}" for _ in range(8)]
        # Several units work at once: runs start through the working day (07:00 to 18:00) and
        # their events interleave in the log, as they would from several laptops.
        spread = 11 * 3600 // RUNS_PER_DAY
        runs = []
        for n in range(RUNS_PER_DAY):
            start = day + timedelta(hours=7, seconds=n * spread + rng.randint(0, spread))
            runs.append(list(self.run(day_text, rng.choice(scenes), start)))
        self.days[day_text] = 0
        # The armory first: a custody event and its PIN proofs share a time, and on a tie merge
        # takes the first iterable's, so nothing comes between them.
        custody = list(self.armory_day(day))
        for at, event in heapq.merge(custody, *runs, key=lambda pair: pair[0]):
            self.days[day_text] += 1
            yield _stamp(at), event

    def run(self, day: str, scene: str, clock: datetime) -> Iterator[tuple[datetime, NewEvent]]:
        rng = self.rng
        pid = rng.choices(list(PROTOCOL_WEIGHTS), weights=list(PROTOCOL_WEIGHTS.values()))[0]
        protocol = self.protocols[pid]
        context = _context(protocol, rng)
        takes = rng.choice([1, 2, 2, 3, 3, 4, 5, 6]) if pid != "daily-armory" else 1
        refuse = None
        if rng.random() < P_HOLD:
            # A "no" that records an incident stops all firearm work until the incident is
            # closed: the season's holds are the ones the crew clears in the run.
            critical = [
                i.id
                for _, i in protocol.items()
                if i.critical and i.kind == "confirm" and i.incident is None
            ]
            refuse = rng.choice(critical)
        roll = rng.random()
        stop_after = leave_held = None
        lockout = roll < P_LOCKOUT
        if lockout or roll < P_LOCKOUT + P_LEFT_OPEN:
            stop_after = rng.choice([15, 30, 45, 60])
        elif refuse and rng.random() < P_LEFT_HELD / P_HOLD:
            leave_held = True
        manual = rng.choice([20, 40]) if rng.random() < P_MANUAL_HOLD else None
        context_key = tuple(sorted(context.items()))
        key = (pid, context_key, takes, refuse, stop_after, bool(leave_held), manual)
        walk = self.walk(key)
        run_id = self.new_run_id()
        people = {f"@{role}": rng.choice(names) for role, names in ROSTER.items()}
        people.update({"@run": run_id, "@scene": scene, "@day": day})
        people["@note"] = rng.choice(
            [
                "Armorer re-checked every chamber in front of AD and actor; cleared.",
                "Meeting held again with the whole unit; blocking walked through.",
                "Round accounted for in the armorer's case; count re-done and signed.",
                "Replaced the firearm with the backup, shown clear to all.",
            ]
        )
        wrong_pin_at = -1
        if rng.random() < P_WRONG_PIN:
            pins = [n for n, e in enumerate(walk.events) if e[0] == "auth.ok"]
            wrong_pin_at = rng.choice(pins) if pins else -1
        for n, (kind, data, person, gap) in enumerate(walk.events):
            clock += timedelta(seconds=gap + rng.randint(0, max(1, gap // 2)))
            if n == wrong_pin_at and kind == "auth.ok":
                failed = {**_fill(data, people), "reason": "wrong-pin"}
                yield clock, NewEvent("auth.failed", failed, run=run_id, person=failed["name"])
                clock += timedelta(seconds=6)
            yield (
                clock,
                NewEvent(kind, _fill(data, people), run=run_id, person=_fill(person, people)),
            )
        if lockout:
            yield from self.lock_out(run_id, people, clock)

    def lock_out(
        self, run_id: str, people: dict[str, str], clock: datetime
    ) -> Iterator[tuple[datetime, NewEvent]]:
        name = people["@actor"]
        for _ in range(5):
            clock += timedelta(seconds=9)
            data = {"name": name, "role": "actor", "purpose": "witness", "reason": "wrong-pin"}
            yield clock, NewEvent("auth.failed", data, run=run_id, person=name)
        yield clock, NewEvent("auth.locked", {"name": name, "failures": 5}, run=run_id, person=name)
        ad = people["@first_ad"]
        clock += timedelta(minutes=3)
        yield (
            clock,
            NewEvent(
                "run.aborted",
                {"reason": "Actor locked out; scene moved", "by": {"name": ad, "role": "first_ad"}},
                run=run_id,
                person=ad,
            ),
        )

    def new_run_id(self) -> str:
        while True:
            run_id = f"r-{self.rng.getrandbits(24):06x}"
            if run_id not in self.run_ids:
                self.run_ids.add(run_id)
                return run_id


def _fill(value: Any, people: dict[str, str]) -> Any:
    """The walk's placeholders replaced by this run's people, scene and day."""
    if isinstance(value, str):
        return people.get(value, value)
    if isinstance(value, dict):
        return {k: _fill(v, people) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, people) for v in value]
    return value


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Timing:
    what: str
    seconds: list[float]
    rss_mb: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


# Linux carries a process's high-water RSS across exec, so a command forked straight from this
# (large) process would report this process's size. A small interpreter forks it instead, times it
# and reports its own child's peak: the command's real footprint.
_LAUNCHER = """
import os, sys, time
begun = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - begun, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measure(what: str, argv: list[str], repeat: int) -> Timing:
    """Run a command in a fresh process `repeat` times: wall time each, and the largest peak RSS."""
    seconds: list[float] = []
    peak = 0
    # Users run from cached bytecode: without it every start compiles every module again (a
    # sandbox that sets PYTHONDONTWRITEBYTECODE would time the compiler). One unmeasured run
    # writes the cache.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(argv, capture_output=True, env=env)
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, *argv], capture_output=True, text=True, env=env
        )
        took, maxrss, code = done.stdout.split()
        if int(code) != 0:
            raise SystemExit(f"{' '.join(argv)} exited {code}: {done.stderr}")
        seconds.append(float(took))
        peak = max(peak, int(maxrss))
    return Timing(what, seconds, peak / 1024)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "safetycli", *args]


def has_verify_command() -> bool:
    probe = subprocess.run(cli("verify", "--help"), capture_output=True)
    return probe.returncode == 0


def machine() -> str:
    model = cpu_model()
    return (
        f"{os.cpu_count()} cores, {model}; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def progress(done: int, total: int, begun: float) -> None:
    """A progress line on stderr, only on a terminal."""
    if not sys.stderr.isatty():
        return
    rate = done / max(time.perf_counter() - begun, 1e-9)
    sys.stderr.write(f"\r  writing events {done:>9,} / {total:,}  ({rate:,.0f}/s)   ")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def time_commands(
    root: Path, db_path: Path, day: str, repeat: int, verify_cli: bool
) -> list[Timing]:
    """Every command of the tables, each in fresh processes, against the workspace at `root`."""
    home_args = ("--home", str(root))
    out = root / "report.html"
    timings = [
        measure("log list --day", cli("log", "list", "--day", day, *home_args), repeat),
        measure("report --day (md)", cli("report", "--day", day, *home_args), repeat),
        measure(
            "report --day --format html -o",
            cli("report", "--day", day, "--format", "html", "-o", str(out), *home_args),
            repeat,
        ),
        # Issue 14: what a production asks of the whole season, flat in its length.
        measure("status", cli("status", *home_args), repeat),
        measure("log list", cli("log", "list", *home_args), repeat),
        measure(
            f"log list --person {PERSON}",
            cli("log", "list", "--person", PERSON, *home_args),
            repeat,
        ),
        measure(
            "report --from --to (the day's month)",
            cli("report", "--from", day[:8] + "01", "--to", day, *home_args),
            repeat,
        ),
        measure(
            "report --from --to (the whole season)",
            cli("report", "--from", SEASON_START.date().isoformat(), "--to", day, *home_args),
            repeat,
        ),
        measure("checklists list", cli("checklists", "list", *home_args), repeat),
        measure("armory list", cli("armory", "list", *home_args), repeat),
        measure(
            "armory list --format json",
            cli("armory", "list", "--format", "json", *home_args),
            repeat,
        ),
        measure("armory show SN4400", cli("armory", "show", "SN4400", *home_args), repeat),
        measure("safetycli --help", cli("--help"), repeat),
    ]
    if verify_cli:
        timings.append(measure("verify", cli("verify", *home_args), repeat))
    else:
        code = f"from safetycli.ledger import Ledger; Ledger.open({str(db_path)!r}).verify()"
        timings.append(measure("verify (Ledger.verify)", [sys.executable, "-c", code], repeat))
    return timings


def measure_kept(home: Path, repeat: int) -> None:
    """The same tables for a workspace built before (a season kept with --keep, or a copy of
    one): the last full shooting day is the one before its last."""
    os.environ.setdefault("SAFETYCLI_KEY_DIR", str(home.parent / f"{home.name}-keys"))
    os.environ.setdefault("SAFETYCLI_STATE_DIR", str(home.parent / f"{home.name}-state"))
    db_path = home / "log.db"
    db = sqlite3.connect(db_path)
    days = [
        d
        for (d,) in db.execute(
            "SELECT DISTINCT json_extract(data, '$.day') FROM events WHERE kind = 'run.started'"
        )
    ]
    day = sorted(days)[-2]
    events = db.execute("SELECT max(seq) FROM events").fetchone()[0]
    runs = db.execute(
        "SELECT count(*) FROM events WHERE kind = 'run.started'"
        " AND json_extract(data, '$.day') = ?",
        (day,),
    ).fetchone()[0]
    custody = db.execute("SELECT count(*) FROM events WHERE kind LIKE 'armory.%'").fetchone()[0]
    db.close()
    print(f"# Season kept at {home}\n\nMachine: {machine()}\n")
    timings = time_commands(home, db_path, day, repeat, has_verify_command())
    print(
        f"## {events:,} events (day {day}: {runs} runs; {custody:,} custody events in the season; "
        f"log {db_path.stat().st_size / 2**20:,.0f} MiB)\n"
    )
    print("| command | median | runs (s) | peak RSS |")
    print("|---|---|---|---|")
    for t in timings:
        runs_s = ", ".join(f"{s:.3f}" for s in t.seconds)
        print(f"| `{t.what}` | {t.median:.3f} s | {runs_s} | {t.rss_mb:.0f} MB |")
    print(f"\nload average after: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--stages", default="100000,1000000", help="log sizes to measure at (comma-separated)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command per stage")
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--measure",
        type=Path,
        help="time the commands on a workspace kept before (--keep), without building one",
    )
    args = parser.parse_args()
    if args.measure is not None:
        measure_kept(args.measure, args.repeat)
        return
    stages = sorted({min(int(s), args.events) for s in args.stages.split(",")} | {args.events})

    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="season-")
        home = Path(tmp.name) / "ws"
    else:
        home = args.keep
    # The device key and the high-water marks of this throwaway workspace stay beside it.
    os.environ.setdefault("SAFETYCLI_KEY_DIR", str(home.parent / f"{home.name}-keys"))
    os.environ.setdefault("SAFETYCLI_STATE_DIR", str(home.parent / f"{home.name}-state"))
    ws = init_workspace(home, "Season benchmark")
    season = Season(args.seed)
    events = iter(season)
    verify_cli = has_verify_command()
    print(f"# Season ({args.events:,} events)\n\nMachine: {machine()}\n")
    results: list[tuple[int, str, list[Timing], float, int, int]] = []
    written = 0
    # As `init` opens it: with a device key, so every event carries its MAC and verify checks it.
    with ws.open_log(create=True) as ledger:
        for stage in stages:
            begun = time.perf_counter()
            while written < stage:
                chunk = min(50_000, stage - written)
                ledger.append_bulk(itertools.islice(events, chunk))
                ledger.credentials.put_many(season.credentials)
                season.credentials.clear()
                written += chunk
                progress(written, stage, begun)
            build = time.perf_counter() - begun
            rate = (stage - (results[-1][0] if results else 0)) / build
            # The last shooting day that is complete at this size.
            day = sorted(season.days)[-2]
            runs_that_day = sum(
                1
                for _ in ledger.db.execute(
                    "SELECT 1 FROM events WHERE kind = 'run.started'"
                    " AND json_extract(data, '$.day') = ?",
                    (day,),
                )
            )
            timings = time_commands(ws.root, ws.db_path, day, args.repeat, verify_cli)
            results.append((stage, day, timings, rate, runs_that_day, ws.db_path.stat().st_size))
            print(
                f"## {stage:,} events (day {day}: {runs_that_day} runs, "
                f"{season.days[day]:,} events; {season.armory_events:,} custody events in the "
                f"season; log {ws.db_path.stat().st_size / 2**20:,.0f} MiB; "
                f"written at {rate:,.0f} events/s)\n"
            )
            print("| command | median | runs (s) | peak RSS |")
            print("|---|---|---|---|")
            for t in timings:
                runs = ", ".join(f"{s:.3f}" for s in t.seconds)
                print(f"| `{t.what}` | {t.median:.3f} s | {runs} | {t.rss_mb:.0f} MB |")
            print(flush=True)
    if tmp is not None:
        tmp.cleanup()
    else:
        print(f"workspace kept at {ws.root}")


if __name__ == "__main__":
    main()
