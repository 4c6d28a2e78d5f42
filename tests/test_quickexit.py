"""The console script ends without Python's teardown (cli/quickexit.py): nothing a person or a
script could notice may change. Every exit code and every byte of output arrives, atexit
callbacks and threads still finish, and no command leaves the log's write-ahead file behind (a
SQLite connection left open would, now that teardown no longer closes it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.walk_helpers import (
    CLEAR_PINS,
    CLEARERS,
    DAY,
    make_workspace,
    safetycli_argv,
    subprocess_env,
    write_answers,
)


@pytest.fixture()
def scene(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """A workspace with the crew on its roster, an answers file that passes a firearm scene,
    and the environment that starts safetycli on it as a person's terminal would."""
    root = make_workspace(tmp_path / "ws")
    answers = write_answers(tmp_path / "answers.yaml")
    answers.chmod(0o600)  # it holds PINs
    return root, subprocess_env(root), answers


def _write_ahead_files(*folders: Path) -> list[str]:
    return [str(p) for folder in folders for p in folder.rglob("*-wal") if p.stat().st_size]


def test_commands_close_every_log_they_open(
    scene: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    root, env, answers = scene
    state = Path(env.get("SAFETYCLI_STATE_DIR", tmp_path / "no-state"))
    commands: list[tuple[list[str], str | None, int]] = [
        (
            ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(answers)],
            None,
            0,
        ),
        (["hold", "--scene", "12A", "--reason", "smell of smoke", "--by", "A Visitor"], None, 0),
        (["status"], None, 0),
        (["log", "list", "--format", "json"], None, 0),
        (["report", "--format", "html"], None, 0),
        (["verify"], None, 0),
        (["clear", "--scene", "12A", "--note", "no fire", *CLEARERS, "--pin-stdin"], CLEAR_PINS, 0),
        (["crew", "list"], None, 0),
        (["armory", "list"], None, 0),
        (["run", "no-such-protocol", "--scene", "12B"], None, 2),
    ]
    for args, stdin, expected in commands:
        done = subprocess.run(
            [*safetycli_argv(), *args], env=env, input=stdin, capture_output=True, text=True
        )
        assert done.returncode == expected, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert _write_ahead_files(root, state) == [], f"left open by {args}"


def test_output_reaches_a_file_and_a_pipe_whole(
    scene: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    """A run's full record is far more than one write buffer: the last of it is written when
    the process ends, and must arrive in a file (fully buffered) as in a pipe."""
    root, env, answers = scene
    env = {k: v for k, v in env.items() if k != "PYTHONUNBUFFERED"}  # Python's own buffering
    argv = safetycli_argv()
    start = ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(answers)]
    subprocess.run([*argv, *start], env=env, check=True, capture_output=True)
    listed = subprocess.run(
        [*argv, "log", "list", "--format", "json"], env=env, capture_output=True, text=True
    )
    (run,) = json.loads(listed.stdout)
    out = tmp_path / "show.json"
    with out.open("w") as sink:
        shown = subprocess.run(
            [*argv, "log", "show", run["id"], "--format", "json"], env=env, stdout=sink
        )
    assert shown.returncode == 0
    assert out.stat().st_size > 16_384  # more than Python's write buffer
    in_file = json.loads(out.read_text())
    piped = subprocess.run(
        [*argv, "log", "show", run["id"], "--format", "json"], env=env, capture_output=True
    )
    assert json.loads(piped.stdout) == in_file
    assert in_file["signoffs"]


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QX": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True
    )


PRELUDE = """\
import atexit, os, sys, threading, time
from pathlib import Path
from safetycli.cli import quickexit

folder = Path(os.environ["QX"])

class Teardown:
    def __del__(self):
        print("teardown ran", flush=True)

left_for_teardown = Teardown()
"""


def test_it_skips_teardown_yet_keeps_the_exit_code_callbacks_and_threads(tmp_path: Path) -> None:
    done = _python(
        PRELUDE
        + """
quickexit.arm()
atexit.register(lambda: (folder / "callback").write_text("ran"))
def late():
    time.sleep(0.3)
    (folder / "thread").write_text("finished")
threading.Thread(target=late).start()
print("said before the end", end="")
sys.stderr.write("an error line")
quickexit.leaving(3)
raise SystemExit(3)
""",
        tmp_path,
    )
    assert done.returncode == 3
    assert done.stdout == "said before the end"  # flushed, and no teardown after it
    assert done.stderr == "an error line"
    assert (tmp_path / "callback").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "finished"


def test_python_exits_as_it_always_did_when_not_armed_or_not_a_plain_code(tmp_path: Path) -> None:
    unarmed = _python(PRELUDE + "raise SystemExit(4)\n", tmp_path)
    assert unarmed.returncode == 4 and "teardown ran" in unarmed.stdout  # the control
    message = _python(
        PRELUDE + "quickexit.arm()\nquickexit.leaving('stopped: why')\nsys.exit('stopped: why')\n",
        tmp_path,
    )
    assert message.returncode == 1 and "stopped: why" in message.stderr
    crashed = _python(PRELUDE + "quickexit.arm()\nraise RuntimeError('boom')\n", tmp_path)
    assert crashed.returncode == 1 and "boom" in crashed.stderr


def test_an_exit_callback_registered_before_safetycli_still_runs(tmp_path: Path) -> None:
    """A `sitecustomize` (coverage of subprocesses, a tracer) registers its callback before
    safetycli starts: the quick exit would run first and skip it, so Python's exit stays."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import atexit, os\n"
        "atexit.register(lambda: open(os.environ['QX_MARK'], 'w').write('ran'))\n"
    )
    mark = tmp_path / "mark"
    env = {**os.environ, "PYTHONPATH": str(site), "QX_MARK": str(mark)}
    done = subprocess.run([*safetycli_argv(), "--version"], env=env, capture_output=True)
    assert done.returncode == 0
    assert mark.read_text() == "ran"


def test_a_program_that_runs_safetycli_inside_itself_keeps_its_exit(tmp_path: Path) -> None:
    """`safetycli/__main__.py` run by another program (runpy, a profiler): the program goes on
    after it, and ends with its own exit code and its own files written."""
    done = _python(
        """
        import runpy, sys
        sys.argv = ["safetycli", "--version"]
        try:
            runpy.run_module("safetycli", run_name="__main__")
        except SystemExit:
            pass
        import os
        with open(os.path.join(os.environ["QX"], "after"), "w") as out:
            out.write("went on")
        sys.exit(5)
        """,
        tmp_path,
    )
    assert done.returncode == 5, done.stderr
    assert (tmp_path / "after").read_text() == "went on"
