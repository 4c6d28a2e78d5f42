"""Ending the console script without Python's teardown, once everything that matters is done.

When a command has finished, CPython frees every object of every module it imported before the
process ends: 8 to 11 ms for Typer, Click and ours (bench/README.md, start-up), a third of what
`status` costs beyond a bare Typer command, spent on memory the operating system takes back at
once. The console script (and `python -m safetycli`) ends instead with `os._exit`, after what
Python's exit does that anyone could notice:

- threads: the interpreter joins every non-daemon thread before it runs the atexit callbacks,
  and this is the first callback registered, so the last to run: `logging`'s flush,
  `weakref.finalize` (temporary folders) and any other callback have run before it;
- stdout and stderr are flushed here; when one cannot be (a reader that closed its pipe), this
  returns and Python's own exit reports it, as it always did.

It does not close what a command left open, and need not: every file is written inside a
`with`, and every SQLite connection is closed by its `with` (a connection left open would leave
the log's write-ahead file behind; tests/test_quickexit.py runs the commands and looks).

Only the console script and `python -m safetycli` arm it (`arm`, then `leaving` with the exit
code it raises), and only as the process's own program: the demo and the tests call
`cli.main()` in-process and go on afterwards, and a program that runs `safetycli/__main__.py`
inside itself (runpy, `python -i`, a profiler) keeps its own exit.
"""

from __future__ import annotations

import atexit
import os
import sys

_code: list[int] = []  # the exit status the process is leaving with, once it is known


def arm() -> None:
    """Register the quick exit before anything else can register an atexit callback. When
    something already did (a `sitecustomize`, coverage of subprocesses, a tracer), the quick
    exit would run before it and skip it: Python's exit stays. (`_ncallbacks` is CPython's;
    elsewhere, Python's exit stays too.)"""
    count = getattr(atexit, "_ncallbacks", None)
    if count is not None and count() == 0:
        atexit.register(_leave)


def leaving(code: object) -> None:
    """The process is ending with SystemExit(`code`): leave with Python's status for it. A code
    Python would print (a message) keeps Python's exit."""
    if code is None:
        _code[:] = [0]
    elif isinstance(code, int) and not isinstance(code, bool):
        _code[:] = [code & 0xFF]


def _leave() -> None:
    if not _code:  # an exception other than SystemExit: Python prints it and exits
        return
    try:
        for stream in {id(s): s for s in (sys.stdout, sys.stderr) if s is not None}.values():
            stream.flush()
    except (OSError, ValueError):  # a closed pipe or stream: Python's exit says so
        return
    os._exit(_code[0])
