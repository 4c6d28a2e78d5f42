"""Shared helpers for the walk-through tests: a crew on the roster, answers files, expectations,
and the CLI driven as a script would drive it (exit codes, one-line refusals, the log as JSON).

PIN hashes carry their own scrypt parameters, so a roster written here with a cheap cost is also
checked cheaply by a `safetycli` subprocess: the tests stay fast without any test hook in the
product.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner, Result

from safetycli import crew
from safetycli.answers import passing_answers
from safetycli.catalog import load_catalog
from safetycli.cli import app
from safetycli.ledger import Ledger
from safetycli.protocol import Item, Phase, Protocol, parse_when

# name, PIN
PRODUCER = ("Pat Producer", "9182")
ARMORER = ("Sam Ortiz", "4821")
FIRST_AD = ("Dana Reyes", "1170")
ACTOR = ("Alex Kim", "5532")
DP = ("Jo Park", "7741")
CREW: dict[str, tuple[str, str]] = {
    "armorer": ARMORER,
    "first_ad": FIRST_AD,
    "actor": ACTOR,
    "dp": DP,
}
PINS: dict[str, str] = dict((PRODUCER, *CREW.values()))

# Facts for the shipped firearm scene: blanks make the longest run (round counts, read-backs).
BLANKS = {"blanks": True, "dummies": False}
NO_BLANKS = {"blanks": False, "dummies": False}
# A scene with the armory's revolver and no rounds (the card and signer checks at a run's start).
REVOLVER = {"firearms": ["4471"]}

CHEAP_SCRYPT_N = 2**8

DAY = "2026-11-23"  # the shooting day the CLI tests run on
RUN_12A = ["run", "firearm-scene", "--scene", "12A", "--day", DAY]


@contextmanager
def cheap_pins() -> Iterator[None]:
    """Hash new PINs with a tiny scrypt cost (the cost travels inside each stored hash)."""
    saved = crew.SCRYPT_N
    crew.SCRYPT_N = CHEAP_SCRYPT_N
    try:
        yield
    finally:
        crew.SCRYPT_N = saved


def add_crew(db_path: Path) -> None:
    """A producer, then the armorer, 1st AD, actor and DP, each with one role and a PIN."""
    with cheap_pins(), Ledger.open(db_path) as ledger:
        crew.add_member(ledger, PRODUCER[0], ["producer"], PRODUCER[1], None)
        for role, (name, pin) in CREW.items():
            crew.add_member(ledger, name, [role], pin, PRODUCER)


def make_workspace(root: Path, production: str = "Walk-through Tests") -> Path:
    """A fresh workspace with the crew on its roster; returns its folder."""
    from safetycli.workspace import init_workspace

    ws = init_workspace(root, production)
    add_crew(ws.db_path)
    return ws.root


def protocol(protocol_id: str = "firearm-scene") -> Protocol:
    return load_catalog().get(protocol_id)


def passing_answer(item: Item) -> Any:
    """An answer that passes the item: yes, a count inside its bounds, a safe option, text."""
    if item.kind == "confirm":
        return True
    if item.kind == "count":
        if isinstance(item.expect, str):
            return 0  # a sum of earlier counts: theirs are equal by default (2 - 2)
        if item.expect is not None:
            return item.expect
        return item.min if item.min is not None else 2 if item.max is None else min(2, item.max)
    if item.kind == "choice":
        return next(o for o in item.options or [] if o not in (item.fail_on or []))
    return f"noted for {item.id}"


def failing_answer(item: Item) -> Any:
    """An answer that fails the item (a critical one then raises a hold)."""
    if item.kind == "confirm":
        return False
    if item.kind == "count":
        if isinstance(item.expect, str):
            return 99  # far from any sum the passing answers make
        if item.expect is not None:
            return item.expect + 1
        if item.min is not None:
            return item.min - 1
        assert item.max is not None, f"no number fails {item.id}"
        return item.max + 1
    if item.kind == "choice":
        assert item.fail_on, f"no option fails {item.id}"
        return item.fail_on[0]
    raise AssertionError(f"no text fails {item.id}")


def all_pass_answers(proto: Protocol, takes: int = 1) -> dict[str, Any]:
    return passing_answers(proto, "noted for", takes)


def answers_doc(
    protocol_id: str = "firearm-scene",
    *,
    context: dict[str, Any] | None = None,
    takes: int = 1,
    answers: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    signers: dict[str, tuple[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An answers file's content: every item passes unless `answers` overrides it or `drop`
    leaves it out."""
    proto = protocol(protocol_id)
    given = {**all_pass_answers(proto, takes), **(answers or {})}
    for item_id in drop:
        given.pop(item_id)
    doc: dict[str, Any] = {
        "context": dict(BLANKS if context is None else context),
        "signers": {
            role: {"name": name, "pin": pin}
            for role, (name, pin) in (signers if signers is not None else CREW).items()
        },
        "answers": given,
        "takes": takes,
    }
    doc.update(extra)
    return doc


def write_answers(path: Path, protocol_id: str = "firearm-scene", **kwargs: Any) -> Path:
    """Write an answers file (YAML) for a protocol; see `answers_doc` for the options."""
    path.write_text(
        yaml.safe_dump(answers_doc(protocol_id, **kwargs), sort_keys=False), encoding="utf-8"
    )
    return path


def after_break(
    proto: Protocol, keys: list[tuple[str, int | None, str]]
) -> tuple[list[tuple[str, int | None, str]], list[tuple[str, int | None, str]]]:
    """(the run's own flow, the after-break checks) of a list of signed keys: the after-break
    checks come wherever the run was resumed or stood still, so they are compared apart."""
    breaks = {phase.id for phase in proto.phases if phase.repeat == "after_break"}
    flow = [k for k in keys if k[0] not in breaks]
    return flow, [k for k in keys if k[0] in breaks]


def break_keys(
    proto: Protocol, context: dict[str, Any], breaks: int
) -> list[tuple[str, int | None, str]]:
    """The after-break checks a run asks after `breaks` resumes or pauses (those that apply)."""

    def holds(expr: str | None) -> bool:
        cond = parse_when(expr) if expr else None
        return cond is None or cond.holds(context)

    return [
        (phase.id, n, item.id)
        for n in range(1, breaks + 1)
        for phase in proto.phases
        if phase.repeat == "after_break" and holds(phase.when)
        for item in phase.items
        if holds(item.when)
    ]


def expected_keys(
    proto: Protocol, context: dict[str, Any], takes: int
) -> list[tuple[str, int | None, str]]:
    """Every (phase, take, item) a complete run confirms, in the order the run asks them.

    Worked out from the protocol text alone (not from the runner), so it can check the runner:
    consecutive per-take phases run together once per take; a false `when` drops an item."""

    def holds(expr: str | None) -> bool:
        cond = parse_when(expr) if expr else None
        return cond is None or cond.holds(context)

    groups: list[list[Phase]] = []
    for phase in proto.phases:
        if phase.repeat == "after_break":
            continue  # asked only after a resume or a long pause
        if phase.repeat == "per_take" and groups and groups[-1][0].repeat == "per_take":
            groups[-1].append(phase)
        else:
            groups.append([phase])
    out: list[tuple[str, int | None, str]] = []
    for group in groups:
        for take in range(1, takes + 1) if group[0].repeat == "per_take" else [None]:
            for phase in group:
                out.extend(
                    (phase.id, take, item.id)
                    for item in phase.items
                    if holds(phase.when) and holds(item.when)
                )
    return out


def same_checks(
    signed: list[tuple[str, int | None, str]], expected: list[tuple[str, int | None, str]]
) -> bool:
    """The same checks, each as often: within a phase people sign in turn (a witness after the
    check they witness), so the order follows who signed when, not the protocol's."""
    return sorted(signed, key=str) == sorted(expected, key=str)


def signoff_key(signoff: dict[str, Any]) -> tuple[str, int | None, str]:
    return (signoff["phase"], signoff["take"], signoff["item"])


def safetycli_argv() -> list[str]:
    """The command that starts safetycli from this interpreter's environment."""
    script = Path(sys.executable).parent / "safetycli"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "safetycli"]


def subprocess_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYCLI_")}
    env.update(SAFETYCLI_HOME=str(home), NO_COLOR="1", COLUMNS="120", TERM="dumb")
    # High-water marks and device keys stay in the test's own folders.
    for name in ("SAFETYCLI_STATE_DIR", "SAFETYCLI_KEY_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def parse_json(text: str) -> Any:
    return json.loads(text)


# --- the CLI, as a script drives it --------------------------------------------------------------


def invoke(cli: CliRunner, args: list[str], input: str | None = None) -> Result:
    """Run a command in-process; never a traceback, whatever the exit code."""
    result = cli.invoke(app, args, input=input)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def ok(cli: CliRunner, args: list[str], input: str | None = None) -> Result:
    result = invoke(cli, args, input)
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result: Result) -> str:
    """Exit 2 and exactly one line on stderr; returns that line without `error: `."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0].removeprefix("error: ")


def refused(cli: CliRunner, args: list[str], input: str | None = None) -> str:
    """The one-line refusal (exit 2) of a command, without `error: `."""
    return one_line_error(invoke(cli, args, input))


def log_list(cli: CliRunner) -> list[dict[str, Any]]:
    return json.loads(ok(cli, ["log", "list", "--format", "json"]).stdout)  # type: ignore[no-any-return]


def log_show(cli: CliRunner, run_id: str) -> dict[str, Any]:
    return json.loads(ok(cli, ["log", "show", run_id, "--format", "json"]).stdout)  # type: ignore[no-any-return]


def start(
    cli: CliRunner,
    answers: Path,
    *,
    expect: int,
    scene: str = "12A",
    day: str = DAY,
    protocol_id: str = "firearm-scene",
    extra: tuple[str, ...] = (),
) -> tuple[str, Result]:
    """`safetycli run` from an answers file; returns the new run's id and the result."""
    before = {r["id"] for r in log_list(cli)}
    result = invoke(
        cli,
        ["run", protocol_id, "--scene", scene, "--day", day, "--answers", str(answers), *extra],
    )
    assert result.exit_code == expect, result.output
    (run_id,) = {r["id"] for r in log_list(cli)} - before
    return run_id, result


def resume(cli: CliRunner, run_id: str, answers: Path, *, expect: int) -> Result:
    result = invoke(cli, ["resume", run_id, "--answers", str(answers)])
    assert result.exit_code == expect, result.output
    return result


def keys_of(detail: dict[str, Any]) -> list[tuple[str, int | None, str]]:
    return [signoff_key(s) for s in detail["signoffs"]]


def settled_keys(detail: dict[str, Any]) -> list[tuple[str, int | None, str]]:
    """The checks that were settled, leaving out an attempt a break sent back half-signed (a
    check performed but not yet witnessed when the run paused is done again after it)."""
    return [signoff_key(s) for s in detail["signoffs"] if s["outcome"] is not None]


# --- holds and clearing, as the crew types them --------------------------------------------------

CLEARERS = ["--by", f"armorer={ARMORER[0]}", "--by", f"first_ad={FIRST_AD[0]}"]
CLEAR_PINS = f"{ARMORER[1]}\n{FIRST_AD[1]}\n"


def hold_run(cli: CliRunner, run_id: str, reason: str = "actor asked for a re-check") -> None:
    ok(
        cli,
        ["hold", run_id, "--reason", reason, "--by", ACTOR[0], "--pin-stdin"],
        input=f"{ACTOR[1]}\n",
    )


def clear_run(cli: CliRunner, run_id: str, note: str = "checked again") -> None:
    ok(cli, ["clear", run_id, "--note", note, *CLEARERS, "--pin-stdin"], input=CLEAR_PINS)


def hold_scene(
    cli: CliRunner, scene: str, reason: str = "smell of smoke", by: str = "A Visitor"
) -> Result:
    return ok(cli, ["hold", "--scene", scene, "--reason", reason, "--by", by])


def clear_scene(cli: CliRunner, scene: str, note: str = "no fire found") -> Result:
    return ok(
        cli,
        ["clear", "--scene", scene, "--note", note, *CLEARERS, "--pin-stdin"],
        input=CLEAR_PINS,
    )


# Counts at wrap that add up for one take: 2 loaded, 1 fired, 1 unfired; 12 issued, 11 back.
ONE_TAKE_COUNTS = {
    "rounds-counted": 2,
    "rounds-fired": 1,
    "rounds-unfired": 1,
    "blanks-issued": 12,
    "blanks-returned": 11,
    "blanks-fired": 1,
    "blanks-spoiled": 0,
}


# A laptop of the production by name: its own workspace (made with `init`), device key and crew.
Laptop = Callable[[str], Path]


def laptops(root: Path, cli: CliRunner, zone: str | None = None) -> Laptop:
    """Laptops of one production under `root`, each made as a crew would (`init`, then its
    crew), in `zone` when given (the central tests' laptops)."""
    where = [] if zone is None else ["--timezone", zone]

    def make(name: str) -> Path:
        ws = root / name
        ok(cli, ["init", "--home", str(ws), "--production", "Night Unit", *where])
        add_crew(ws / "log.db")
        return ws

    return make
