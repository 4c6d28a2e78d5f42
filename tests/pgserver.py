"""A throwaway PostgreSQL server for the central-store tests: a cluster in a temporary folder,
listening only on a unix socket in that folder (no TCP port to collide with anything else on the
machine), stopped and deleted when the test session ends.

Started with Debian's own server binaries (`initdb`, `pg_ctl`), which `make test` installs when
missing (scripts/require-test-tools), as the browser tests use Debian's Chromium. No fixture
library: pytest-postgresql would do the same few calls, but does not run the server as another
user, and `initdb` refuses to run as root (CI containers run as root): here the cluster is made
and run as the `postgres` user through `runuser` when the tests run as root.

Under `make test` (SAFETYCLI_REQUIRE_POSTGRES) or in CI a missing server fails the tests; on a
developer's laptop without PostgreSQL they are skipped with a line that says what to install.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REQUIRE = "SAFETYCLI_REQUIRE_POSTGRES"
MISSING = "PostgreSQL's server is missing: `make test` installs it (apt-get install postgresql)"


class NoServer(Exception):
    """No PostgreSQL server binaries on this machine."""


def required() -> bool:
    return bool(os.environ.get(REQUIRE) or os.environ.get("CI"))


def bin_dir() -> Path:
    """The newest Debian cluster binaries, else `initdb` on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise NoServer(MISSING)


def _as_server_user(argv: list[str]) -> list[str]:
    """initdb and postgres refuse root: run them as `postgres` then."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Yields a connection URL to a fresh, empty database `safetycli` on a fresh cluster."""
    bindir = bin_dir()
    root = Path(tempfile.mkdtemp(prefix="safetycli-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER") or "postgres"
    started = False
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    user,
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            check=True,
            capture_output=True,
        )
        # No TCP at all (listen_addresses empty); fsync off: a test cluster need not survive a
        # power cut, and the suite runs faster.
        options = f"-c listen_addresses='' -k {sock} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        started = True
        subprocess.run(
            _as_server_user([str(bindir / "createdb"), "-h", str(sock), "-U", user, "safetycli"]),
            check=True,
            capture_output=True,
        )
        yield f"postgresql://{user}@/safetycli?host={sock}"
    finally:
        if started:
            subprocess.run(
                _as_server_user(
                    [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
                ),
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)
