"""Issue 10, item 4: sixteen processes guessing one PIN at once get exactly five wrong PINs in,
then every one is refused, and a right guess among them does not unlock anyone.

Real processes, real scrypt (about 40 ms a check, the window the old check-then-record order
left open), started together behind a file that acts as a starting gun."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safetycli import crew
from safetycli.ledger import Ledger

SAM, SAM_PIN = "Sam Ortiz", "4821"
PAT, PAT_PIN = "Pat Morgan", "739165"
GUESSERS = 16

# Each child waits for the gun, tries one PIN, and prints how it went.
CHILD = """
import json, os, sys, time
from pathlib import Path
gun = Path(sys.argv[1])
while not gun.exists():
    time.sleep(0.002)
from safetycli import crew
from safetycli.ledger import Ledger
with Ledger.open(Path(sys.argv[2])) as ledger:
    try:
        crew.authenticate(ledger, sys.argv[3], sys.argv[4], role=None, purpose="guess")
        print(json.dumps("ok"))
    except crew.AuthError as err:
        print(json.dumps(err.reason))
"""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "log.db"
    with Ledger.open(path) as ledger:
        monkeypatch.setattr(crew, "SCRYPT_N", 2**8)
        crew.add_member(ledger, PAT, ["producer"], PAT_PIN, None)
        monkeypatch.setattr(crew, "SCRYPT_N", 2**14)  # Sam's hash costs what it costs on set
        crew.add_member(ledger, SAM, ["armorer"], SAM_PIN, (PAT, PAT_PIN))
    return path


def guess_all(tmp_path: Path, db: Path, pins: list[str]) -> list[str]:
    gun = tmp_path / f"gun-{time.monotonic_ns()}"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(gun), str(db), SAM, pin],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pin in pins
    ]
    time.sleep(1.0)  # every child imported and waiting
    gun.touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    return results


def outcomes(db: Path, after: int = 0) -> dict[str, int]:
    with Ledger.open(db) as ledger:
        found = list(ledger.events(person=SAM, after=after))
    wrong = [e for e in found if e.kind == "auth.failed" and e.data["reason"] == "wrong-pin"]
    return {
        "wrong": len(wrong),
        "attempts": sum(e.kind == "auth.attempt" for e in found),
        "ok": sum(e.kind == "auth.ok" for e in found),
        "locked": sum(e.kind == "auth.locked" for e in found),
    }


def test_sixteen_parallel_guessers_get_exactly_five_wrong_pins_in(tmp_path: Path, db: Path) -> None:
    results = guess_all(tmp_path, db, [f"{1000 + i}" for i in range(GUESSERS)])
    assert results.count("wrong-pin") + results.count("locked") == GUESSERS
    counted = outcomes(db)
    assert counted["wrong"] == 5 and counted["attempts"] == 5
    assert counted["locked"] == 1
    with Ledger.open(db) as ledger:
        assert crew.find(ledger, SAM).locked

    # Locked: sixteen more, one of them the right PIN, are all refused before any PIN is checked.
    pins = [f"{2000 + i}" for i in range(GUESSERS - 1)] + [SAM_PIN]
    assert guess_all(tmp_path, db, pins) == ["locked"] * GUESSERS
    assert outcomes(db) == counted
    with Ledger.open(db) as ledger:
        assert crew.find(ledger, SAM).locked
        with pytest.raises(crew.AuthError, match="locked"):
            crew.authenticate(ledger, SAM, SAM_PIN, role=None, purpose="after")


def test_a_right_guess_racing_wrong_ones_is_one_of_the_five(tmp_path: Path, db: Path) -> None:
    """The right PIN in the crowd signs in only if it was admitted while fewer than five tries
    were wrong or pending; after it, the count starts again, and never more than five get in."""
    pins = [f"{3000 + i}" for i in range(GUESSERS - 1)]
    pins.insert(GUESSERS // 2, SAM_PIN)
    results = guess_all(tmp_path, db, pins)
    with Ledger.open(db) as ledger:
        found = list(ledger.events(person=SAM))
    attempts = [e.seq for e in found if e.kind == "auth.attempt"]
    oks = [e for e in found if e.kind == "auth.ok"]
    if results[GUESSERS // 2] == "ok":
        (ok,) = oks
        assert len([s for s in attempts if s < ok.data["attempt"]]) < 5
        assert len([s for s in attempts if s > ok.seq]) <= 5
    else:
        assert results[GUESSERS // 2] == "locked" and not oks
        assert len(attempts) == 5
