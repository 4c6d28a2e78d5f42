"""A person's list at the keyboard never asks a check before the checks it is judged with.

A crew trial found the wrap of a blanks scene impossible to finish honestly at the keyboard: the
armorer's one-key line held "every blank accounted for?" and it was judged before "blanks
returned unfired" had been asked, so the run held on a round that was in the armorer's hand,
every time, until a false count was recorded with `correct`.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from safetycli import listorder, runner
from safetycli.catalog import load_catalog
from safetycli.listorder import reads
from safetycli.protocol import ARMORY_FACT, Protocol
from safetycli.runner import AnotherTake, Ask, Finish, RollCall, RunState, Skip
from safetycli.session import FileFrontend
from tests.test_armory import stocked  # noqa: F401  (the fixture)
from tests.test_interactive import FACT, Crew, finished, run_id_of, spawn
from tests.test_runner import NAMES, Walk
from tests.walk_helpers import (
    DAY,
    clear_run,
    invoke,
    log_list,
    log_show,
    ok,
    protocol,
    write_answers,
)


def test_a_blanks_scene_with_rounds_back_unfired_wraps_at_the_keyboard(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
) -> None:
    """Loaded 6, fired 5, 1 back unfired: the wrap completes and the lot adds up."""
    args = ["run", "firearm-scene", "--scene", "2", "--day", DAY]
    child = spawn(stocked, *args, "--firearm", "4471", "--rounds", "B-7=6")
    child.expect(FACT)
    child.sendline("yn")  # two keys for one question: told what to type, asked again
    child.expect(r"Type y or n\.")
    assert "invalid input" not in (child.before or "")
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
    # The one-key line says what to type: a letter per check, then Enter.
    assert re.search(r"checks? [\d, ]+: type \d+ letters?, y or n[^\n]*, then Enter: ", text)

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


LABELS = (("4471", "firearm 4471 (Colt SAA)"),)


# --- every list of every shipped protocol ---------------------------------------------------


def _too_early(asks: Sequence[Ask], order: Sequence[Ask]) -> list[tuple[str, str]]:
    """(check, count) for each check of a list asked in `order` before a check of the list that
    comes before it in protocol order and that its outcome reads (`listorder.reads`)."""
    at = {id(ask): n for n, ask in enumerate(order)}
    out = []
    for n, ask in enumerate(asks):
        for before in asks[:n]:
            fed = ask.meaning == before.meaning == "performed" and reads(ask.item, before.item)
            if fed and at[id(before)] > at[id(ask)]:
                out.append((ask.item.id, before.item.id))
    return out


def _asked(asks: Sequence[Ask]) -> list[Ask]:
    """The list in the order the keyboard asks it (`listorder.plan`), each line flattened."""
    out: list[Ask] = []
    for part in listorder.plan(asks):
        out += part.asks if isinstance(part, listorder.Keys) else [part]
    return out


def _contexts(proto: Protocol) -> list[dict[str, Any]]:
    """Every combination of the protocol's yes-or-no facts (others at their first value), with
    and without an armory for a protocol that takes firearms out."""
    bools = [name for name, fact in proto.context.items() if fact.type == "bool"]
    fixed = {
        name: (fact.options or [""])[0] if fact.type == "choice" else fact.min or 1
        for name, fact in proto.context.items()
        if fact.type != "bool"
    }
    armory = [False, True] if proto.per_firearm else [False]
    return [
        {**fixed, **dict(zip(bools, values, strict=True)), ARMORY_FACT: with_armory}
        for values in itertools.product([False, True], repeat=len(bools))
        for with_armory in armory
    ]


def _lists(proto: Protocol, context: dict[str, Any]) -> Iterator[runner.Batch]:
    """Every list the runner gives one person in a whole run of two takes, every check
    passing (counts that add up), each person signing in when their first check comes up."""
    walked = proto.for_firearms(LABELS) if context[ARMORY_FACT] else proto
    walk = Walk(walked, context)
    for _ in range(2000):
        step = walk.raw_step()
        if isinstance(step, Finish):
            return
        if isinstance(step, RollCall):
            (role,) = step.roles
            name = NAMES.get(role, f"Someone ({role})")  # roles the walk tests' crew lacks
            walk.commit(step, runner.sign_in(walk.state, role, name))
        elif isinstance(step, AnotherTake):
            walk.another_take(step.take < 2)
        elif isinstance(step, Skip):
            walk.skip()
        else:
            assert isinstance(step, runner.Batch), step
            yield step
            walk.sign_off(step)
            assert walk.state.status == "open", walk.state.holds
    raise AssertionError("the run never finished")


def _shipped() -> list[tuple[str, dict[str, Any]]]:
    catalog = load_catalog()
    return [
        (protocol_id, context)
        for protocol_id in sorted(catalog.protocols)
        for context in _contexts(catalog.get(protocol_id))
    ]


@pytest.mark.parametrize(("protocol_id", "context"), _shipped())
def test_no_list_of_a_shipped_protocol_asks_a_check_before_a_count_it_reads(
    protocol_id: str, context: dict[str, Any]
) -> None:
    """Each list as the keyboard asks it holds every check after the checks of the list it is
    judged with, asks every check exactly once, and the old order (every yes-or-no check of a
    list on one line first) is caught where it was wrong."""
    proto = protocol(protocol_id)
    old_faults = []
    for batch in _lists(proto, context):
        asked = _asked(batch.asks)
        assert sorted(map(id, asked)) == sorted(map(id, batch.asks))  # each once, none lost
        assert _too_early(batch.asks, asked) == [], (batch.phase.id, batch.role)
        old = [a for a in batch.asks if listorder.one_key(a)]
        old += [a for a in batch.asks if not listorder.one_key(a)]
        old_faults += _too_early(batch.asks, old)
    if protocol_id == "firearm-scene" and context["blanks"] and context[ARMORY_FACT]:
        # The crew trial's wrap: the reconciliation and the lock-up were asked first.
        assert ("rounds-reconciled", "blanks-returned") in old_faults
        assert ("locked-up", "blanks-spoiled") in old_faults


def test_the_yes_or_no_checks_nothing_feeds_stay_on_one_line() -> None:
    """The typing a take saves is kept: at cut the armorer's list of the take after and the
    take before is still one line of yes-or-no checks and the numbers, and at wrap only the
    reconciliation and the lock-up wait for the counts."""
    proto = protocol("firearm-scene")
    context = {"blanks": True, "dummies": False, ARMORY_FACT: True}
    lines = {}
    for batch in _lists(proto, context):
        parts = listorder.plan(batch.asks)
        key = (batch.places[-1][0].id, batch.role)
        lines[key] = [
            [a.item.id for a in p.asks] if isinstance(p, listorder.Keys) else p.item.id
            for p in parts
        ]
    cut = lines[("before-each-take", "armorer")]
    assert sum(isinstance(p, list) for p in cut) == 1  # one line, however many checks
    assert lines[("wrap", "armorer")] == [
        ["firearms-returned"],
        "blanks-returned",
        "blanks-fired",
        "blanks-spoiled",
        ["rounds-reconciled", "locked-up"],
        "key-holders",
    ]


# --- any frontend: the session judges a check only with what it reads -------------------------


COUNTS = {
    "blanks-issued": 6,
    "rounds-counted": 6,
    "rounds-fired": 5,
    "rounds-unfired": 1,
    "blanks-returned": 1,
    "blanks-fired": 5,
    "blanks-spoiled": 0,
}


def _keys_first(
    self: FileFrontend, batch: runner.Batch, state: RunState, proto: Protocol
) -> Iterator[tuple[Ask, Any]]:
    """The old keyboard order: every yes-or-no check of the list, then the rest."""
    for ask in sorted(batch.asks, key=lambda a: not listorder.one_key(a)):
        yield ask, self.answer(ask, state, proto)


def _scene(cli: CliRunner, tmp_path: Path, scene: str, **answers: Any) -> tuple[str, Result]:
    path = write_answers(
        tmp_path / f"scene-{scene}.yaml",
        context={"blanks": True, "dummies": False},
        answers={**COUNTS, **answers},
        armory={"firearms": ["4471"], "rounds": {"B-7": 6}},
    )
    before = {r["id"] for r in log_list(cli)}
    result = invoke(cli, ["run", "firearm-scene", "--scene", scene, "--answers", str(path)])
    (run_id,) = {r["id"] for r in log_list(cli)} - before
    return run_id, result


def test_a_frontend_asking_out_of_order_is_still_judged_with_the_counts(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(FileFrontend, "batch", _keys_first)
    run_id, result = _scene(cli, tmp_path, "2")
    assert result.exit_code == 0, result.output
    assert log_show(cli, run_id)["holds"] == []
    # Without the session's rule the same answers hold on a round in the armorer's hand.
    monkeypatch.setattr(listorder, "unmet", lambda *_: [])
    run_id, result = _scene(cli, tmp_path, "3")
    assert result.exit_code == 3
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "rounds-reconciled" and "returned 0" in hold["reason"]


def test_a_no_typed_ahead_of_the_counts_stops_work_at_once(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(FileFrontend, "batch", _keys_first)
    run_id, result = _scene(cli, tmp_path, "2", **{"rounds-reconciled": False})
    assert result.exit_code == 3
    (hold,) = log_show(cli, run_id)["holds"]
    assert hold["item"] == "rounds-reconciled" and "answered no" in hold["reason"]


def test_a_run_the_old_order_held_at_wrap_is_finished_honestly_after_clear_and_resume(
    cli: CliRunner,
    stocked: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trial's run as the crew left it (held at wrap on a round in the armorer's hand):
    cleared and resumed at the keyboard, the same list now completes with the true counts."""
    with monkeypatch.context() as patched:  # the old order, and no session rule behind it
        patched.setattr(FileFrontend, "batch", _keys_first)
        patched.setattr(listorder, "unmet", lambda *_: [])
        run_id, result = _scene(cli, tmp_path, "2")
    assert result.exit_code == 3
    clear_run(cli, run_id, "round was in the armorer's hand")
    child = spawn(stocked, "resume", run_id)
    items = [item for _, item in protocol().for_firearms(LABELS).items()]
    script = {("answer", "blanks-returned"): "1", ("answer", "blanks-fired"): "5"}
    crew = Crew(child, items, script={**script, ("answer", "blanks-spoiled"): "0"})
    crew.run(r"COMPLETE: every check of run|STOP WORK")
    rest, status = finished(child)
    assert status == 0, (crew.transcript + rest)[-3000:]
    lot = json.loads(ok(cli, ["armory", "show", "B-7", "--format", "json"]).stdout)
    (counts,) = [c for c in lot["runs"] if c["run"] == run_id]
    assert (counts["issued"], counts["fired"], counts["returned"], counts["spoiled"]) == (
        6,
        5,
        1,
        0,
    )
