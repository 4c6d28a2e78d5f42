"""A person's list at the keyboard never asks a check before the checks it is judged with.

A crew trial found the wrap of a blanks scene impossible to finish honestly at the keyboard: the
armorer's one-key line held "every blank accounted for?" and it was judged before "blanks
returned unfired" had been asked, so the run held on a round that was in the armorer's hand,
every time, until a false count was recorded with `correct`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pexpect
from typer.testing import CliRunner

from tests.test_armory import stocked  # noqa: F401  (the fixture)
from tests.test_interactive import FACT, Crew, finished, run_id_of, spawn
from tests.walk_helpers import DAY, log_show, ok, protocol


def test_a_blanks_scene_with_rounds_back_unfired_wraps_at_the_keyboard(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    """Loaded 6, fired 5, 1 back unfired: the wrap completes and the lot adds up."""
    args = ["run", "firearm-scene", "--scene", "2", "--day", DAY]
    child = spawn(stocked, *args, "--firearm", "4471", "--rounds", "B-7=6")
    for answer in ("y", "n"):  # blanks: yes; dummies: no
        child.expect(FACT)
        child.sendline(answer)
    child.expect("armorer: your name")
    child.sendline("")
    child.expect("your PIN to take these out of the armory")
    child.waitnoecho(timeout=5)
    child.sendline("4821")
    items = [item for _, item in protocol().for_firearms(LABELS).items()]
    script = {
        ("answer", "blanks-issued"): "6",
        ("answer", "rounds-counted"): "6",
        ("answer", "rounds-fired"): "5",
        ("answer", "blanks-returned"): "1",
    }
    crew = Crew(child, items, script=script)  # every other answer passes (sums add up)
    crew.run(r"COMPLETE: every check of run|STOP WORK")
    rest, status = finished(child)
    text = crew.transcript + rest
    assert status == 0, text[-3000:]
    run_id = run_id_of(text)

    # At wrap the reconciliation came after the counts it adds up, never on the line before them.
    asked = [item for kind, item, _ in crew.seen if kind in ("answer", "witness") and item]
    for later in ("rounds-reconciled", "locked-up"):
        for count in ("blanks-returned", "blanks-spoiled"):
            assert asked.index(count) < asked.index(later), asked

    shown = log_show(cli, run_id)
    assert shown["status"] == "complete" and shown["holds"] == []
    lot = json.loads(ok(cli, ["armory", "show", "B-7", "--format", "json"]).stdout)
    (counts,) = [c for c in lot["runs"] if c["run"] == run_id]
    assert (counts["issued"], counts["fired"], counts["returned"], counts["spoiled"]) == (
        6,
        5,
        1,
        0,
    )
    assert pexpect is not None


LABELS = (("4471", "firearm 4471 (Colt SAA)"),)
