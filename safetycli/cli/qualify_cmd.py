"""`crew qualify` and `crew qualifications`: permits and training cards, with their expiry.

Thin over `crew.qualify` and `safetycli.qualifications`. Recording one is a roster change: a
producer approves it with their PIN, in the same transaction (rostercheck.py).
"""

from __future__ import annotations

from typing import Annotated

import typer

from safetycli.cli.common import FormatOption, Home, ListFormat, PinStdin
from safetycli.i18n import _


def register(app: typer.Typer) -> None:
    app.command("qualify")(qualify)
    app.command("qualifications")(qualifications)


def qualify(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The crew member's name.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            metavar="armorer-permit|safety-course",
            help="The armorer's permit, or a handler's safety course card.",
        ),
    ],
    number: Annotated[str, typer.Option("--id", metavar="ID", help="Its number, as printed.")],
    expires: Annotated[
        str, typer.Option("--expires", metavar="YYYY-MM-DD", help="The last day it is valid.")
    ],
    approve_by: Annotated[
        str | None,
        typer.Option(
            "--approve-by",
            metavar="PRODUCER",
            help="The producer approving it (default: the only producer, if there is one).",
            show_default=False,
        ),
    ] = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Record someone's armorer's permit or safety course card and when it expires (a
    producer's PIN); a renewal is recorded the same way. With --pin-stdin: line 1 the approving
    producer's PIN."""
    from safetycli import crew
    from safetycli.cli.crew import _open, _Pins, _producer
    from safetycli.qualifications import ARMORER_PERMIT, KINDS, SAFETY_COURSE, check_new
    from safetycli.render.safe import one_line

    with _open(home) as ledger:
        member = crew.find(ledger, name)
        kind, number, expires = check_new(kind, number, expires)
        producer = _producer(ledger, approve_by)
        approver = (producer, _Pins(pin_stdin).existing(producer, "producer"))
        crew.qualify(ledger, member.name, kind, number, expires, approver)
    if kind == ARMORER_PERMIT:
        said = _("Recorded the armorer's permit {number} of {name}, valid through {expires}.")
    elif kind == SAFETY_COURSE:
        said = _(
            "Recorded the firearms safety course card {number} of {name}, valid through {expires}."
        )
    else:  # a kind added later, before its message: said in English
        said = f"Recorded the {KINDS[kind]} {{number}} of {{name}}, valid through {{expires}}."
    typer.echo(one_line(said.format(number=number, name=member.name, expires=expires)))


def qualifications(
    fmt: Annotated[ListFormat, FormatOption()] = ListFormat.table, home: Home = None
) -> None:
    """Permits and training cards on the roster, with their expiry and whether each is in force
    today."""
    from safetycli import qualifications as quals
    from safetycli.cli.common import emit_listing, open_log, workspace

    with open_log(workspace(home), reading=True) as ledger:
        held = quals.held(ledger)
    today = quals.today()
    records = [
        {**q.as_json(), "valid": "yes" if q.valid_on(today) else "EXPIRED"}
        for q in sorted(held.values(), key=lambda q: (q.name.casefold(), q.kind))
    ]
    emit_listing(
        fmt, "Qualifications", ["name", "kind", "id", "expires", "valid", "approved_by"], records
    )
