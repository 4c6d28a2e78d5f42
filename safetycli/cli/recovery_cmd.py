"""`crew recover` and `crew recovery-code`: the way back for a locked-out or lost producer.

Thin over `safetycli.recovery`. The code is printed, never stored in clear: whoever runs the
command copies it to paper at once."""

from __future__ import annotations

from typing import Annotated

import typer

from safetycli.cli.common import Home, PinStdin

CodeOpt = Annotated[
    str | None,
    typer.Option("--code", help="The recovery code printed by `init` (or by its last use)."),
]


def register(app: typer.Typer) -> None:
    app.command("recover")(recover)
    app.command("recovery-code")(recovery_code)


def print_code(code: str) -> None:
    """The code, once, with what it is for."""
    typer.echo(
        f"Recovery code (shown once; write it down and keep it away from this laptop): {code}"
    )
    typer.echo(
        "  It gives a locked-out or lost producer a new PIN: "
        "safetycli crew recover NAME --code CODE"
    )


def recover(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The producer to give a new PIN.")],
    code: CodeOpt = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Give a producer a new PIN with the recovery code (also ends a lock-out); the code is then
    spent and the next one printed. With --pin-stdin: line 1 the new PIN."""
    from safetycli import crew, recovery
    from safetycli.cli.crew import _open, _Pins
    from safetycli.render.safe import one_line

    with _open(home) as ledger:
        member = crew.find(ledger, name)
        typed = code
        if typed is None:
            from safetycli.cli.common import hidden_prompt

            typed = hidden_prompt("Recovery code", instead="--code CODE", what="the code")
        pin = _Pins(pin_stdin).new(member.name)
        member, next_code = recovery.recover(ledger, member.name, typed, pin)
    typer.echo(f"New PIN set for {one_line(member.name)} with the recovery code; it is now spent.")
    print_code(next_code)


def recovery_code(
    approve_by: Annotated[
        str | None,
        typer.Option("--approve-by", metavar="PRODUCER", help="The producer issuing it."),
    ] = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Issue a new recovery code (a producer's PIN); the old one stops working. With
    --pin-stdin: line 1 the producer's PIN."""
    from safetycli import recovery
    from safetycli.cli.crew import _open, _Pins, _producer

    with _open(home) as ledger:
        producer = _producer(ledger, approve_by)
        pin = _Pins(pin_stdin).existing(producer, "producer")
        code = recovery.reissue(ledger, (producer, pin))
    print_code(code)
