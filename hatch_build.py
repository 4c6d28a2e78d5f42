"""Compile the translations (`.po`, edited by translators) into the `.mo` files gettext reads.

Run by hatchling for every wheel, editable installs included (`pip install .`, `pip install -e .`,
`make test`, `make run`), so a checkout never needs compiled files committed and an installed
tool never needs Babel at run time. A translation marked fuzzy is left out (gettext then shows
the English), never shown half-checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        compile_catalogs(Path(self.root) / "safetycli" / "locale")


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
