"""Compile what the tool reads but nobody edits: the translations (`.po`, edited by translators)
into the `.mo` files gettext reads, and verify's chain scan in C (safetycli/native/chainscan.c).

Run by hatchling for every wheel, editable installs included (`pip install .`, `pip install -e .`,
`make test`, `make run`), so a checkout never needs compiled files committed and an installed
tool never needs Babel at run time. A translation marked fuzzy is left out (gettext then shows
the English), never shown half-checked. The chain scan needs a C compiler with SQLite's and
OpenSSL's headers; without them the install goes on with one line saying so, and `verify`
scans in Python (same answer, about three times the time on a long log).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        compile_catalogs(Path(self.root) / "safetycli" / "locale")
        program = build_native(Path(self.root) / "safetycli" / "native" / "chainscan.c")
        if program is not None and version != "editable":
            # A wheel that carries a program for this machine only says so in its tags.
            build_data["artifacts"].append(program.relative_to(self.root).as_posix())
            build_data["pure_python"] = False
            build_data["infer_tag"] = True


def build_native(source: Path) -> Path | None:
    """Compile the chain scan beside its source, named after the source's digest (the name
    safetycli.chainscan.native_helper looks for). None, with one line on stderr, when it cannot
    be built here."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    program = source.with_name(f"chainscan-{digest}")
    if program.is_file():
        return program
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[:1]
    partial = program.with_name(f".{program.name}.tmp")
    argv = [*compiler, "-O2", "-std=c99", "-o", str(partial), str(source), "-lsqlite3", "-lcrypto"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as err:
        done = None
        why = str(err)
    else:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
    if done is None or done.returncode != 0:
        partial.unlink(missing_ok=True)
        print(
            f"safetycli: verify's compiled chain scan was not built ({why}): verify will scan "
            "in Python (needs a C compiler and SQLite's and OpenSSL's headers, e.g. Debian's "
            "build-essential libsqlite3-dev libssl-dev)",
            file=sys.stderr,
        )
        return None
    partial.replace(program)
    for old in source.parent.glob("chainscan-*"):  # builds of earlier versions of the source
        if old != program:
            old.unlink(missing_ok=True)
    return program


def compile_catalogs(locale_dir: Path) -> list[Path]:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        tmp = mo.with_name(f".{mo.name}.tmp")
        with tmp.open("wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        tmp.replace(mo)
        written.append(mo)
    return written
