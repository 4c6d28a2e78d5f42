"""`--central URL`: what sync and the review commands share to reach the production's server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from safetycli.workspace import Workspace

CentralOption = Annotated[
    str | None,
    typer.Option(
        "--central",
        metavar="URL",
        help="The production's central PostgreSQL (postgresql://user@host/db): read or sync "
        "every laptop's events there.",
        show_default=False,
    ),
]


@contextmanager
def review_source(ws: Workspace | None, central: str | None) -> Iterator[Any]:
    """What a review command reads: the workspace's log, or with `--central` the merged store
    of every laptop (a `central.reader.CentralReader`; it can say each run's device)."""
    if central is not None:
        from safetycli.central.reader import open_central

        with open_central(central) as reader:
            yield reader
        return
    from safetycli.cli.common import open_log

    assert ws is not None
    with open_log(ws, reading=True) as ledger:
        yield ledger
