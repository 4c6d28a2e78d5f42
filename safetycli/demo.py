"""`make run`: a fresh demo workspace and crew, and a walk-through of firearm-scene.

The PINs are printed because this is a demo; a real workspace never shows one. Without a terminal
(piped, CI) the walk-through answers itself from a generated all-pass answers file, so `make run`
never hangs waiting for a keyboard that is not there.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

DEMO_DIR = Path("demo-workspace")
MARKER = ".safetycli-demo"
PROTOCOL = "firearm-scene"
PRODUCER = ("Pat Morgan", "producer", "902144")
CREW = [
    ("Sam Ortiz", "armorer", "4821"),
    ("Dana Reyes", "first_ad", "1170"),
    ("Alex Kim", "actor", "5532"),
    ("Jo Park", "dp", "6643"),
]


def all_pass_answers(protocol: Any, signers: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Answers that pass every check: what a scene where everything is right looks like."""
    from safetycli.answers import passing_answers

    answers = passing_answers(protocol, "Recorded by the demo")
    context = {
        name: False if fact.type == "bool" else None for name, fact in protocol.context.items()
    }
    return {
        "context": {k: v for k, v in context.items() if v is not None},
        "signers": {role: {"name": name, "pin": pin} for name, role, pin in signers},
        "answers": answers,
        "takes": 1,
    }


def _forget_key(folder: Path) -> None:
    """The old demo's device key goes with it: each `make run` makes a new workspace and key,
    and the key folder (outside the workspace) should not fill with keys of deleted demos."""
    import tomllib

    from safetycli.devicekey import key_path

    try:
        device = tomllib.loads((folder / "config.toml").read_text(encoding="utf-8")).get("device")
    except (OSError, tomllib.TOMLDecodeError):
        return
    if isinstance(device, str) and device.isalnum():
        key_path(device).unlink(missing_ok=True)


def main() -> None:
    import yaml
    from rich.console import Console
    from rich.table import Table

    from safetycli import crew
    from safetycli.catalog import load_catalog
    from safetycli.cli import main as cli_main
    from safetycli.events import WorkspaceCreated
    from safetycli.filemodes import write_private_text
    from safetycli.headmark import HeadMarks
    from safetycli.roles import role_name
    from safetycli.workspace import init_workspace
    from safetycli.zones import laptop_zone

    out = Console()
    if DEMO_DIR.exists():
        if not (DEMO_DIR / MARKER).exists():
            sys.exit(f"error: {DEMO_DIR} exists and is not a demo workspace; move it away first")
        _forget_key(DEMO_DIR)
        shutil.rmtree(DEMO_DIR)
    # Times in the demo read as the laptop's clock does, as `init` would set them.
    ws = init_workspace(DEMO_DIR, "Demo production", laptop_zone())
    (DEMO_DIR / MARKER).write_text("created by `make run`; deleted by the next one\n")
    HeadMarks(ws.root).reset()  # the demo deleted its own workspace above, on purpose
    with ws.open_log(create=True) as ledger:
        ledger.append_many([WorkspaceCreated(production="Demo production").new()])
        name, role, pin = PRODUCER
        crew.add_member(ledger, name, [role], pin, None)
        for member, member_role, member_pin in CREW:
            crew.add_member(ledger, member, [member_role], member_pin, (name, pin))

    table = Table(title="Demo crew (PINs shown for the demo only)")
    for column in ("name", "role", "PIN"):
        table.add_column(column)
    for member, member_role, member_pin in [PRODUCER, *CREW]:
        table.add_row(member, role_name(member_role), member_pin)  # as the prompts say it
    out.print(table)
    out.print(f"Workspace: {ws.root}\n")

    args = ["run", PROTOCOL, "--scene", "Demo 1", "--home", str(ws.root)]
    if not sys.stdin.isatty():
        protocol = load_catalog(ws.checklists).get(PROTOCOL)
        answers = ws.root / "demo-answers.yaml"
        # It holds PINs: private, or the run refuses it (filemodes.py).
        write_private_text(
            answers, yaml.safe_dump(all_pass_answers(protocol, CREW), sort_keys=False)
        )
        out.print("No keyboard here: answering from the demo answers file.\n")
        args += ["--answers", str(answers)]
    else:
        out.print(
            "Each person signs in with the PIN above. Answer y/n, numbers or choices; "
            "Ctrl-C pauses and `resume` continues.\n"
        )
    sys.argv = ["safetycli", *args]
    try:
        cli_main()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
        sys.exit(_explain(code, DEMO_DIR))


# How the demo's walk-through can end, for the person who typed `make run`: the exit codes are for
# scripts (3 stopped on a hold, 4 left open), and make would only say `*** Error 3`.
_ENDINGS = {
    3: (
        "The demo stopped on a HOLD, as it would on set: that is the tool working, not failing.\n"
        "To go on, the armorer and the 1st AD clear it with their PINs (above), then resume:"
    ),
    4: "The demo run is paused and nothing confirmed is lost. To go on:",
}


def _explain(code: int, root: Path) -> int:
    """The demo's end in words, and 0 for make when it ended the way a scene can end (a hold,
    a pause); a real failure (a refused PIN, bad input) keeps its exit code. `root` is the demo
    folder as typed from where `make run` ran, so the commands can be pasted as shown."""
    if code not in _ENDINGS:
        return code
    from safetycli.review import set_status

    with _open_quietly(root) as ledger:
        runs = set_status(ledger)["runs"] if ledger is not None else []
    run_id = runs[0]["id"] if runs else "RUN_ID"
    cli = f".venv/bin/safetycli --home {root}"
    steps = [f'  {cli} clear {run_id} --note "what was found and done"'] if code == 3 else []
    steps.append(f"  {cli} resume {run_id}")
    print("\n" + _ENDINGS[code] + "\n" + "\n".join(steps), file=sys.stderr)
    print(f"(`{cli} status` shows the set; `make run` starts the demo afresh.)", file=sys.stderr)
    return 0


def _open_quietly(root: Path) -> Any:
    """The demo's log for reading, or None: the explanation must never fail the demo."""
    from contextlib import nullcontext

    from safetycli.workspace import Workspace

    try:
        return Workspace(root).open_log(strict=False)
    except Exception:  # noqa: BLE001 - the run id is a convenience; the words stand without it
        return nullcontext(None)


if __name__ == "__main__":
    main()
