"""`--central URL`: what sync and the review commands share to reach the production's server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

# The option itself is with the other shared options (common.py), so that `status` builds it
# without loading this module.
from safetycli.cli.common import CentralOption as CentralOption

if TYPE_CHECKING:
    from safetycli.workspace import Workspace


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


def verify_central(url: str, as_json: bool) -> int:
    """`verify --central`: every device's chain on the server checked whole (central/store.py),
    and the alarms the server raised. 0 when every chain holds and no alarm was raised; 1
    otherwise (a refused fork is evidence a producer must see, though nothing of it was merged)."""
    from contextlib import ExitStack

    from safetycli.central.store import CentralStore, verify_devices
    from safetycli.cli.common import print_json
    from safetycli.cli.progress import bar_on_stderr
    from safetycli.render.safe import visible

    with ExitStack() as stack:
        store = stack.enter_context(CentralStore.connect(url))
        with store.talking():
            store.migrate()
            verdicts = verify_devices(store, bar_on_stderr(stack, "Verifying every device"))
            alarms = store.alarms()
    ok = all(v.ok for v in verdicts) and not alarms
    if as_json:
        print_json(
            {
                "ok": ok,
                "devices": [v.as_json() for v in verdicts],
                "alarms": [
                    {"device": a.device, "seq": a.seq, "what": a.what, "reason": a.reason}
                    for a in alarms
                ],
            }
        )
        return 0 if ok else 1
    for v in verdicts:
        state = "intact" if v.ok else f"ALTERED at event {v.first_bad_seq}: {v.reason}"
        if v.first_bad_seq is None and v.tally_differs:
            state = (
                "its chain holds, but the server's signature table differs from its events for "
                f"run(s) {', '.join(v.tally_differs)}: the central report's signature counts "
                "for them are wrong"
            )
        typer.echo(
            visible(
                f"device {v.device}: {v.events} events, head {v.head_seq}:"
                f"{v.head_hash[:16]}; {state}"
            )
        )
    for a in alarms:
        typer.echo(visible(f"ALARM: {a.line()}"))
    events = sum(v.events for v in verdicts)
    verdict = "intact" if ok else "NOT intact"
    typer.echo(
        f"The central store is {verdict}: {len(verdicts)} device(s), {events} events, "
        f"{len(alarms)} alarm(s)."
    )
    return 0 if ok else 1
