"""`safetycli crew`: the roster, and the PINs that prove who signed.

Thin over `safetycli.crew`: this module asks for names and PINs (hidden, or from stdin for
scripts) and prints; every rule lives in the core. Everything a user can get wrong is checked
before anyone is asked to type a PIN, so a refused command never costs a PIN try.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.common import FormatOption, Home, ListFormat, PinStdin, hidden_prompt, home_of
from safetycli.i18n import _, language_name

if TYPE_CHECKING:
    from safetycli.ledger import Ledger

app = typer.Typer(
    help="The crew roster: who may sign, in which roles, with which PIN.", no_args_is_help=True
)

ApproveBy = Annotated[
    str | None,
    typer.Option(
        "--approve-by",
        metavar="PRODUCER",
        help="The producer approving this change (default: the only producer, if there is one).",
        show_default=False,
    ),
]
MemberName = Annotated[str, typer.Argument(metavar="NAME", help="The crew member's name.")]
Lang = Annotated[
    str | None,
    typer.Option(
        "--lang",
        metavar="LANG",
        help="The language they read protocols in (en, es...): each check addressed to them is "
        "shown in it, where the protocol is translated.",
        show_default=False,
    ),
]


class _Pins:
    """Where PINs come from: hidden prompts at a keyboard, or stdin lines in the documented
    order. PINs go nowhere but into the core: never echoed, never in an error message."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin
        self.line = 0

    def _read(self, what: str) -> str:
        import sys

        from safetycli.errors import SafetyError

        self.line += 1
        try:
            text = sys.stdin.readline()
        except UnicodeDecodeError:
            raise SafetyError(f"--pin-stdin: line {self.line} of stdin is not text") from None
        if not text:
            raise SafetyError(f"--pin-stdin: expected {what} on line {self.line} of stdin")
        return text.strip()

    def new(self, name: str) -> str:
        from safetycli.crew import validate_pin
        from safetycli.render.safe import one_line

        if self.from_stdin:
            pin = self._read(f"the new PIN for {one_line(name)}")
        else:
            pin = hidden_prompt(
                _("New PIN for {name} (4-12 digits)").format(name=one_line(name)),
                confirmation_prompt=_("Type it again"),
            )
        validate_pin(pin)
        return pin

    def existing(self, name: str, why: str) -> str:
        from safetycli.render.safe import one_line

        if self.from_stdin:
            what = f"the {why}" if why.endswith("PIN") else f"{why}'s PIN"
            return self._read(f"{what} ({one_line(name)})")
        # Translators: {why} is whose PIN it is, in English words ("producer", "current PIN").
        return hidden_prompt(_("PIN for {name} ({why})").format(name=one_line(name), why=_(why)))


def _open(home: Path | None) -> "Ledger":
    from safetycli.cli.common import workspace

    return workspace(home).open_log()


def _own_roles(home: Path | None) -> dict[str, str]:
    """The production's own roles (config.toml's [roles]), beside the shipped ones."""
    from safetycli.cli.common import workspace

    return workspace(home).roles()


def _producer(ledger: "Ledger", approve_by: str | None) -> str:
    """The approving producer's roster name, checked before their PIN is asked for."""
    from safetycli import crew
    from safetycli.errors import SafetyError

    if approve_by is None:
        names = [m.name for m in crew.producers(ledger)]
        if len(names) != 1:
            raise SafetyError(
                _(
                    "there are {n} producers on the roster: name the one approving with "
                    "--approve-by PRODUCER"
                ).format(n=len(names))
            )
        return names[0]
    member = crew.find(ledger, approve_by)
    if not member.has_role("producer"):
        raise SafetyError(
            _("{name} is not on the roster as producer: only a producer approves").format(
                name=member.name
            )
        )
    return member.name


def _roles_text(roles: tuple[str, ...]) -> str:
    return ", ".join(roles)


@app.command("add")
def add(
    name: MemberName,
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            "-r",
            metavar="ROLE",
            help="A role (repeat for more); see `safetycli crew roles`.",
        ),
    ],
    approve_by: ApproveBy = None,
    lang: Lang = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Add a crew member. The first member must be a producer; everyone after needs a producer's
    approval. With --pin-stdin: line 1 the new PIN, line 2 the approving producer's PIN."""
    from safetycli import crew
    from safetycli.render.safe import one_line

    own = _own_roles(home)
    code = crew.check_lang(lang) if lang is not None else None
    with _open(home) as ledger:
        clean, roles, first = crew.check_add(ledger, name, role, own)
        producer = None if first else _producer(ledger, approve_by)
        pins = _Pins(pin_stdin)
        pin = pins.new(clean)
        approver = None if producer is None else (producer, pins.existing(producer, "producer"))
        member = crew.add_member(ledger, clean, roles, pin, approver, own, lang=code)
        warning = crew.producer_warning(ledger)
    if member.lang:
        said = _("Added {name} to the roster as {roles}, reading protocols in {lang}.")
    else:
        said = _("Added {name} to the roster as {roles}.")
    typer.echo(
        said.format(
            name=one_line(member.name),
            roles=_roles_text(member.roles),
            lang=language_name(member.lang) if member.lang else "",
        )
    )
    if first:
        typer.echo(
            _(
                "Next: add the crew, each approved by the producer: "
                "safetycli crew add NAME --role ROLE"
            )
        )
    if warning:
        typer.echo(warning, err=True)


@app.command("list")
def list_(
    fmt: Annotated[ListFormat, FormatOption()] = ListFormat.table,
    home: Home = None,
) -> None:
    """The roster: names, roles, and whether each person is active or locked out."""
    from safetycli import crew
    from safetycli.cli.common import emit_listing

    with _open(home) as ledger:
        members = crew.roster(ledger)
        warning = crew.producer_warning(ledger)
    records = [
        {
            "name": m.name,
            "roles": list(m.roles),
            "locked": m.locked,
            "status": "locked" if m.locked else "active",
            # The language they read protocols in; null: each protocol's own language.
            "lang": m.lang,
        }
        for m in members
    ]
    emit_listing(fmt, "Crew", ["name", "roles", "status", "lang"], records)
    if not members:
        typer.echo(
            _(
                "nobody on the roster yet: add the producer first: "
                "safetycli crew add NAME --role producer"
            ),
            err=True,
        )
    if warning:
        typer.echo(warning, err=True)


@app.command("add-role")
def add_role(
    name: MemberName,
    role: Annotated[
        str,
        typer.Argument(
            metavar="ROLE", help="The role to add; see `safetycli crew roles`.", show_default=False
        ),
    ],
    approve_by: ApproveBy = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Give someone on the roster another role (a producer's PIN); their PIN and history stay.
    With --pin-stdin: line 1 the approving producer's PIN."""
    from safetycli import crew
    from safetycli.render.safe import one_line

    own = _own_roles(home)
    with _open(home) as ledger:
        member, checked = crew.check_add_role(ledger, name, role, own)
        producer = _producer(ledger, approve_by)
        approver = (producer, _Pins(pin_stdin).existing(producer, "producer"))
        member = crew.add_role(ledger, member.name, checked, approver, own)
    typer.echo(
        _("{name} is now on the roster as {roles}.").format(
            name=one_line(member.name), roles=_roles_text(member.roles)
        )
    )


@app.command("edit")
def edit(
    name: MemberName,
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            metavar="LANG",
            help="The language they read protocols in from now on (en, es...).",
            show_default=False,
        ),
    ],
    approve_by: ApproveBy = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Change the language someone reads protocols in (a producer's PIN: it decides what their
    signature says they read). With --pin-stdin: line 1 the approving producer's PIN."""
    from safetycli import crew
    from safetycli.render.safe import one_line

    with _open(home) as ledger:
        member, code = crew.check_set_lang(ledger, name, lang)
        producer = _producer(ledger, approve_by)
        approver = (producer, _Pins(pin_stdin).existing(producer, "producer"))
        member = crew.set_lang(ledger, member.name, code, approver)
    typer.echo(
        _("{name} reads protocols in {lang} from now on.").format(
            name=one_line(member.name), lang=language_name(member.lang) if member.lang else ""
        )
    )


@app.command("roles")
def roles(fmt: Annotated[ListFormat, FormatOption()] = ListFormat.table, home: Home = None) -> None:
    """The roles a crew member can hold, and what each one does on set: the shipped ones, then
    the production's own (config.toml's [roles])."""
    from safetycli.cli.common import emit_listing
    from safetycli.roles import ROLES
    from safetycli.workspace import optional_workspace

    ws = optional_workspace(home_of(home))
    own = ws.roles() if ws is not None else {}
    records = [{"role": role, "does": does, "from": "shipped"} for role, does in ROLES.items()]
    records += [{"role": role, "does": does, "from": "production"} for role, does in own.items()]
    emit_listing(fmt, "Roles", ["role", "does", "from"], records)


@app.command("set-pin")
def set_pin(
    name: MemberName,
    approve_by: Annotated[
        str | None,
        typer.Option(
            "--approve-by",
            metavar="PRODUCER",
            help="A producer resets the PIN (e.g. it is forgotten), confirmed by the member's "
            "current PIN or by --second-producer.",
            show_default=False,
        ),
    ] = None,
    second_producer: Annotated[
        str | None,
        typer.Option(
            "--second-producer",
            metavar="PRODUCER",
            help="With --approve-by: a second producer confirms the reset instead of the member.",
            show_default=False,
        ),
    ] = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Give a crew member a new PIN: proven by their current PIN, or reset by a producer and
    confirmed by the member's current PIN or a second producer. With --pin-stdin: line 1 the new
    PIN, then the current PIN; or the approving producer's PIN, then the current PIN or the
    second producer's."""
    from safetycli import crew
    from safetycli.render.safe import one_line

    with _open(home) as ledger:
        member = crew.find(ledger, name)
        producer = None if approve_by is None else _producer(ledger, approve_by)
        second = None if second_producer is None else crew.find(ledger, second_producer).name
        approved, by_second = producer is not None, second is not None
        placeholder = None if second is None else (second, "")
        crew.check_set_pin(ledger, member.name, approved, not by_second, placeholder, producer)
        pins = _Pins(pin_stdin)
        pin = pins.new(member.name)
        approver = None if producer is None else (producer, pins.existing(producer, "producer"))
        if second is not None:
            confirm = (second, pins.existing(second, "second producer"))
            member = crew.set_pin(ledger, member.name, pin, approver=approver, second=confirm)
        else:
            old = pins.existing(member.name, "current PIN")
            member = crew.set_pin(ledger, member.name, pin, old_pin=old, approver=approver)
    typer.echo(_("New PIN set for {name}.").format(name=one_line(member.name)))


@app.command("unlock")
def unlock(
    name: MemberName,
    approve_by: ApproveBy = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Let a locked-out crew member sign again (a producer's PIN). With --pin-stdin: line 1 the
    approving producer's PIN."""
    from safetycli import crew
    from safetycli.render.safe import one_line

    with _open(home) as ledger:
        member = crew.check_unlock(ledger, name)
        producer = _producer(ledger, approve_by)
        approver = (producer, _Pins(pin_stdin).existing(producer, "producer"))
        member = crew.unlock(ledger, member.name, approver)
    typer.echo(_("Unlocked {name}: they can sign again.").format(name=one_line(member.name)))


@app.command("remove")
def remove(
    name: MemberName,
    approve_by: ApproveBy = None,
    pin_stdin: PinStdin = False,
    home: Home = None,
) -> None:
    """Take a crew member off the roster (a producer's PIN): their past signatures stay in the
    log; they cannot sign again. With --pin-stdin: line 1 the approving producer's PIN."""
    from safetycli import crew
    from safetycli.render.safe import one_line

    with _open(home) as ledger:
        member = crew.check_remove(ledger, name)
        producer = _producer(ledger, approve_by)
        approver = (producer, _Pins(pin_stdin).existing(producer, "producer"))
        member = crew.remove(ledger, member.name, approver)
    typer.echo(
        _("Removed {name} from the roster: their past signatures stay in the log.").format(
            name=one_line(member.name)
        )
    )


def _register_recovery() -> None:
    from safetycli.cli import qualify_cmd, recovery_cmd

    recovery_cmd.register(app)
    qualify_cmd.register(app)


_register_recovery()
