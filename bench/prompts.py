"""Prompt benchmark: how much typing a take costs the crew at the real keyboard.

Walks the shipped `firearm-scene` (blanks, no dummies, two takes) through a real pseudo-terminal
(pexpect), the way a careful crew answers it: every check passes, each person types their own
PIN, the AD calls one more take and then wraps. It counts what the people at the laptop do:

- **prompts**: every time the walk-through stops and waits for someone to type (PINs included);
- **keystrokes**: every key pressed, Enter included;
- **PIN entries**: every PIN typed (sign-in and signatures alike);

for the whole run, for each take (what one more take adds: the scene walked again with one take
fewer, as the issue counted it), and per person. Speed is a safety
property: a walk-through too slow for the minutes between set-ups gets skipped, or the laptop is
handed to one person, which defeats witnessing.

    .venv/bin/python bench/prompts.py [--takes 2] [--armory] [--json]

`--armory` walks it as a production with an armory does (`--firearm 4471 --rounds B-7=12`):
each per-firearm check names the firearm, and the wrap is reconciled against the lot.

The crew recognises the prompts of both walk-throughs: one question at a time (before issue 11)
and the batch sign-off (each person's list of checks, y or n one letter each, one PIN).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pexpect
from machine import cpu_model

from safetycli import crew
from safetycli.catalog import load_catalog
from safetycli.conditions import RUN, parse_expect
from safetycli.ledger import Ledger
from safetycli.protocol import Item
from safetycli.workspace import init_workspace

PRODUCER = ("Pat Producer", "9182")
CREW = {
    "armorer": ("Sam Ortiz", "4821"),
    "first_ad": ("Dana Reyes", "1170"),
    "actor": ("Alex Kim", "5532"),
    "dp": ("Jo Park", "7741"),
}
PINS = dict((PRODUCER, *CREW.values()))
ROLE_OF = {"armorer": "armorer", "1st AD": "first_ad", "actor": "actor", "DP": "dp"}
NAME_OF = {name: role for role, (name, _) in CREW.items()}

# Before issue 11 (figures from the issue, measured at the keyboard).
ISSUE_FIGURES = {"prompts": 159, "keystrokes": 600, "pins": 73}
TARGET = {"prompts_per_take": 15, "pins_per_take": 4, "prompts_total": 70}

# Any prompt ends with ": " (Typer's prompts); what it asks is read from its last line.
PROMPT = re.compile(r": $")
DONE = re.compile(r"COMPLETE: every check of run|STOP WORK|Paused: run|error: ")
CHECK = re.compile(r"check (\d+) of (\d+)")
TAKE = re.compile(r"take (\d+)")
# The batch sign-off lists each check with its id in small print: "  3. ... [rounds-counted]".
LISTED = re.compile(r"^  (?P<n>\d+)\. .*?\[(?P<id>[a-z0-9-]+(?:@[^\]\s]+)?)\]", re.M | re.S)
FIREARM = ("4471", "firearm 4471 (Colt SAA)")
# The one-key line, as it says it now and as it did before the wrap fix (for a side-by-side).
ONE_KEY_LINE = re.compile(
    r"type (?P<n>\d+) letters?, y or n|one key each \((?P<before>\d+) keys?\)"
)


@dataclass
class Tally:
    prompts: int = 0
    keystrokes: int = 0
    pins: int = 0

    def add(self, keys: str, pin: bool) -> None:
        self.prompts += 1
        self.keystrokes += len(keys) + 1  # Enter
        self.pins += int(pin)

    def as_json(self) -> dict[str, int]:
        return {"prompts": self.prompts, "keystrokes": self.keystrokes, "pins": self.pins}


@dataclass
class Walk:
    """Answers every prompt as a careful crew would, and counts what they typed."""

    child: pexpect.spawn
    items: dict[str, Item]
    order: list[Item]
    takes: int
    total: Tally = field(default_factory=Tally)
    per_person: dict[str, Tally] = field(default_factory=dict)
    said: dict[str, str] = field(default_factory=dict)  # item id -> the signer's answer
    said_all: dict[str, list[int]] = field(default_factory=dict)  # counts, every take
    item: Item | None = None  # the check on screen (one question at a time)
    listed: dict[int, str] = field(default_factory=dict)  # the batch on screen: number -> id
    take: int | None = None
    takes_called: int = 1
    screen: str = ""
    kinds: Counter[str] = field(default_factory=Counter)
    once: set[str] = field(default_factory=set)  # checks asked once a run, not every take

    def passing(self, item: Item) -> str:
        terms = parse_expect(item.expect) if isinstance(item.expect, str) else None
        if terms and all(t.scope == RUN and t.item in self.said for t in terms):
            once = item.id in self.once  # a wrap sum adds up every take's counts
            return str(
                sum(
                    t.sign * (sum(self.said_all[t.item]) if once else int(self.said[t.item]))
                    for t in terms
                )
            )
        if terms:
            return "0"
        if item.kind == "count":
            if item.id == "blanks-issued":
                return "12"
            if item.id == "rounds-counted":
                return "2"
            if item.id == "rounds-fired":
                return "1"
            if item.id == "blanks-returned":
                return str(12 - self.takes)
            return str(item.min if item.min is not None else 1)
        if item.kind == "choice":
            return "3" if item.id == "state-announced" else "1"  # BLANKS
        if item.kind == "text":
            return "noted"
        return "y"

    def where(self, text: str) -> None:
        """Follow the screen: the check shown, the batch listed, the take."""
        checks = CHECK.findall(text)
        if checks and int(checks[-1][0]) <= len(self.order):  # one question at a time
            self.item = self.order[int(checks[-1][0]) - 1]
        listed = LISTED.findall(text)
        if listed:
            self.listed = {int(n): item_id for n, item_id in listed}
        for line in text.splitlines():
            if "─" in line and "·" in line:  # a header: the take it names, or none
                found = TAKE.findall(line)
                self.take = int(found[-1]) if found else None

    def count(self, who: str | None, keys: str, pin: bool, kind: str) -> None:
        self.total.add(keys, pin)
        self.kinds[kind] += 1
        person = who or "?"
        self.per_person.setdefault(person, Tally()).add(keys, pin)

    def send(self, keys: str, who: str | None, *, pin: bool = False, kind: str) -> None:
        if pin:
            self.child.waitnoecho(timeout=10)
        self.child.sendline(keys)
        self.count(who, keys, pin, kind)

    def walk(self) -> str:
        child = self.child
        while True:
            index = child.expect([DONE, PROMPT], timeout=60)
            before = child.before or ""
            self.screen += before + (child.after if isinstance(child.after, str) else "")
            if index == 0:
                child.expect(pexpect.EOF, timeout=60)
                self.screen += child.before or ""
                return self.screen
            self.where(before)
            line = before.rsplit("\n", 1)[-1].strip()
            self.answer(line)

    def who(self, line: str) -> str | None:
        """The person a prompt is addressed to, from its name or role."""
        for name in NAME_OF:
            if line.startswith(name):
                return name
        for shown, role in ROLE_OF.items():
            if line.startswith(shown):
                return CREW[role][0]
        return None

    def answer(self, line: str) -> None:
        who = self.who(line)
        low = line.lower()
        if "pin" in low:
            assert who is not None, line
            self.send(PINS[who], who, pin=True, kind="pin")
        elif "your name" in low:
            self.send("", who, kind="name")
        elif "another take" in low or "another run-through" in low:
            # The take it closes: "another take?" is the last thing a take asks.
            more = self.takes_called < self.takes
            self.send("y" if more else "n", who or CREW["first_ad"][0], kind="another-take")
            if more:
                self.takes_called += 1
            self.take = None
        elif "seen and confirmed" in low:
            self.send("y", who, kind="witness")
        elif keys := ONE_KEY_LINE.search(line):
            # The batch's yes/no checks on one line: one letter per check, then Enter.
            n = int(keys.group("n") or keys.group("before"))
            self.send("y" * n, who, kind="batch")
        elif "say back" in low:
            item = self.listed_item(line)
            self.send(self.said[item.id], who, kind="read-back")
        elif "what you heard" in low:
            item = self.current_readback()
            self.send(self.said[item.id], who, kind="read-back")
        else:
            item = self.current_item(line)
            value = self.passing(item)
            self.said[item.id] = value
            if item.kind == "count":
                self.said_all.setdefault(item.id, []).append(int(value))
            self.send(value, who, kind="answer")

    def listed_item(self, line: str) -> Item:
        """The check a batch prompt names by its number in the list on screen."""
        found = re.search(r"\), (\d+)", line)
        assert found, line
        return self.items[self.listed[int(found.group(1))]]

    def current_item(self, line: str) -> Item:
        if re.search(r"\), \d+", line):
            return self.listed_item(line)
        assert self.item is not None, line
        return self.item

    def current_readback(self) -> Item:
        found = re.findall(r"\[(?P<id>[a-z0-9-]+)\]", self.screen[-600:])
        for item_id in reversed(found):
            if item_id in self.said:
                return self.items[item_id]
        assert self.item is not None
        return self.item


def workspace(root: Path, with_armory: bool = False) -> Path:
    saved = crew.SCRYPT_N
    crew.SCRYPT_N = 2**8  # cheap hashes: the bench counts typing, not scrypt
    try:
        ws = init_workspace(root, "Prompt bench")
        with Ledger.open(ws.db_path) as ledger:
            crew.add_member(ledger, PRODUCER[0], ["producer"], PRODUCER[1], None)
            for role, (name, pin) in CREW.items():
                crew.add_member(ledger, name, [role], pin, PRODUCER)
            if with_armory:  # permits and cards in force: the armorer issues, the actor receives
                for name, kind in (
                    (CREW["armorer"][0], "armorer-permit"),
                    (CREW["actor"][0], "safety-course"),
                    (CREW["dp"][0], "safety-course"),
                ):
                    crew.qualify(
                        ledger, name, kind, f"{kind[:3].upper()}-1", "2099-12-31", PRODUCER
                    )
    finally:
        crew.SCRYPT_N = saved
    if with_armory:
        stock(ws.root)
    return ws.root


def stock(home: Path) -> None:
    """One firearm and a lot of blanks in the armory, the storage open."""
    from typer.testing import CliRunner

    from safetycli.cli import app

    pin = CREW["armorer"][1] + "\n"
    for args in (
        "add firearm --serial 4471 --make Colt --model SAA --kind real".split(),
        "add rounds --lot B-7 --type blank --load half --count 50".split(),
        ["unlock", "--key-holder", CREW["armorer"][0]],
    ):
        argv = ["armory", *args, "--pin-stdin", "--home", str(home)]
        result = CliRunner().invoke(app, argv, input=pin)
        if result.exit_code != 0:
            raise SystemExit(f"armory {args}: {result.output}")


def spawn(home: Path, *args: str) -> pexpect.spawn:
    script = Path(sys.executable).parent / "safetycli"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "safetycli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYCLI_")}
    env.update(SAFETYCLI_HOME=str(home), NO_COLOR="1", COLUMNS="120", TERM="dumb")
    env["SAFETYCLI_STATE_DIR"] = str(home.parent / "state")
    child = pexpect.spawn(
        argv[0], [*argv[1:], *args], env=env, encoding="utf-8", timeout=60, dimensions=(50, 120)
    )
    child.delaybeforesend = None
    return child


def walk_scene(takes: int, with_armory: bool = False) -> Walk:
    """One whole run of the scene with `takes` takes, at the pseudo-terminal."""
    protocol = load_catalog().get("firearm-scene")
    if with_armory:
        protocol = protocol.for_firearms((FIREARM,))
    order = [item for _, item in protocol.items()]
    out = ("--firearm", FIREARM[0], "--rounds", "B-7=12") if with_armory else ()
    with tempfile.TemporaryDirectory() as tmp:
        home = workspace(Path(tmp) / "ws", with_armory)
        child = spawn(
            home,
            *("run", "firearm-scene", "--scene", "1", "--day", "2026-11-23"),
            *("--set", "blanks=yes", "--set", "dummies=no", *out),
        )
        walk = Walk(child, {i.id: i for i in order}, order, takes)
        walk.once = {i.id for p, i in protocol.items() if p.repeat == "once"}
        screen = walk.walk()
        child.close()
        if child.exitstatus != 0:
            raise SystemExit(f"the walk-through ended with exit {child.exitstatus}:\n{screen}")
    return walk


def minus(a: Tally, b: Tally) -> dict[str, int]:
    return {
        "prompts": a.prompts - b.prompts,
        "keystrokes": a.keystrokes - b.keystrokes,
        "pins": a.pins - b.pins,
    }


def measure(takes: int, with_armory: bool = False) -> dict[str, Any]:
    """The scene with `takes` takes; what a take costs is what one more take adds (the same
    scene with one take fewer, walked the same way), as the issue counted it."""
    runs = sorted({1, takes - 1, takes, takes + 1} - {0})
    walks = {n: walk_scene(n, with_armory) for n in runs}
    scene = walks[takes]
    return {
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load": os.getloadavg()[0],
        },
        "takes": takes,
        "armory": with_armory,
        "total": scene.total.as_json(),
        "runs": {n: w.total.as_json() for n, w in walks.items()},
        "per_extra_take": {
            f"take {n}": minus(walks[n].total, walks[n - 1].total) for n in walks if n > 1
        },
        "per_person": {k: v.as_json() for k, v in scene.per_person.items()},
        "kinds": dict(scene.kinds),
        "before_issue_11": ISSUE_FIGURES,
        "target": TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--takes", type=int, default=2)
    parser.add_argument(
        "--armory", action="store_true", help="a firearm and blanks from the armory"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.takes, args.armory)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m = result["machine"]
    print(f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, load {m['load']:.1f}")
    with_armory = ", firearm 4471 and lot B-7 from the armory" if result["armory"] else ""
    print(f"firearm-scene, blanks, no dummies{with_armory}\n")
    print(f"{'':28} {'prompts':>8} {'keys':>6} {'PINs':>5}")
    rows = [(f"whole run, {n} take(s)", t) for n, t in result["runs"].items()]
    rows += [(f"{k} adds", v) for k, v in result["per_extra_take"].items()]
    rows += [(f"{k} ({result['takes']} takes)", v) for k, v in result["per_person"].items()]
    for label, t in rows:
        print(f"{label:28} {t['prompts']:>8} {t['keystrokes']:>6} {t['pins']:>5}")
    before = result["before_issue_11"]
    print(
        f"\nbefore issue 11 (from the issue, 2 takes): {before['prompts']} prompts, "
        f"~{before['keystrokes']} keystrokes, {before['pins']} PINs; 54 prompts a take"
    )
    target = result["target"]
    print(
        f"target: at most {target['prompts_per_take']} prompts and {target['pins_per_take']} "
        f"PINs per take, at most {target['prompts_total']} prompts in all"
    )
    print(f"prompt kinds ({result['takes']} takes): {result['kinds']}")


if __name__ == "__main__":
    main()
