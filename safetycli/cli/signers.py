"""Who acts, proven by PIN, for the commands outside the walk-through (hold, clear, abort,
correct): the names for each role, all checked before anyone types a PIN (a refusal after the
first PIN would cost that person a try), then each PIN in turn."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import typer

from safetycli.i18n import _
from safetycli.roles import spoken

if TYPE_CHECKING:
    from safetycli.crew import Member
    from safetycli.events import Signer
    from safetycli.ledger import Ledger


def parse_by(pairs: Sequence[str] | None) -> dict[str, str]:
    """`--by ROLE=NAME`, repeated."""
    from safetycli.errors import SafetyError

    named: dict[str, str] = {}
    for pair in pairs or []:
        role, sep, name = pair.partition("=")
        if not sep or not name.strip():
            raise SafetyError(f"--by {pair!r}: write ROLE=NAME, e.g. --by armorer='Sam Ortiz'")
        named[role.strip()] = name.strip()
    return named


def who_acts(
    ledger: Ledger,
    roles: Sequence[str],
    named: Mapping[str, str],
    *,
    pin_stdin: bool,
    what: str,
    defaults: Mapping[str, str] | None = None,
) -> list[Signer]:
    """One roster member for each role: named with --by, else who is signed in for it (the
    `defaults`), else asked at the keyboard. Each must hold the role, and be a different person."""
    from safetycli import crew
    from safetycli.errors import SafetyError
    from safetycli.events import Signer
    from safetycli.names import fold_name
    from safetycli.roles import role_name

    for role in named:
        if role not in roles:
            wanted = " and ".join(role_name(r) for r in roles)
            raise SafetyError(f"--by {role}=...: {what} by {wanted}, not by {role_name(role)}")
    signers: list[Signer] = []
    for role in roles:
        name = named.get(role) or (defaults or {}).get(role)
        if name is None and pin_stdin:
            raise SafetyError(
                f"with --pin-stdin, name who acts for {role_name(role)}: --by {role}=NAME"
            )
        if name is None:
            # As at the roll call: the only person on the roster for the role is offered.
            able = [m.name for m in crew.roster(ledger) if m.has_role(role)]
            offer = able[0] if len(able) == 1 else None
            prompt = _("{role}: your name").format(role=spoken(role))
            name = str(typer.prompt(prompt, default=offer))
        member = crew.find(ledger, name)
        if not member.has_role(role):
            raise SafetyError(f"{member.name} is not on the roster as {role_name(role)}")
        signers.append(Signer(member.name, role))
    folded = [fold_name(s.name) for s in signers]
    if len(set(folded)) != len(folded):
        raise SafetyError("each role must be a different person: name them with --by ROLE=NAME")
    return signers


def read_pin(pin_stdin: bool, prompt: str) -> str:
    if pin_stdin:
        line = sys.stdin.readline()
        if not line:
            from safetycli.errors import SafetyError

            raise SafetyError("--pin-stdin: standard input ended before every PIN was given")
        return line.strip()
    from safetycli.cli.common import hidden_prompt

    return hidden_prompt(prompt)


def prove(
    ledger: Ledger,
    name: str,
    role: str,
    purpose: str,
    run_id: str | None,
    pin_stdin: bool,
    prompt: str,
) -> None:
    """The PIN for `name` in `role`, asked again after a typo at the keyboard (as the
    walk-through does: each wrong try is recorded and counts towards the lock-out). From
    --pin-stdin a wrong PIN is final: a script cannot retype it."""
    from safetycli import crew

    while True:
        pin = read_pin(pin_stdin, prompt)
        try:
            crew.authenticate(ledger, name, pin, role=role, purpose=purpose, run=run_id)
            return
        except crew.AuthError as err:
            if pin_stdin or err.final:
                raise
            typer.echo(_("Refused: {message}").format(message=err.message), err=True)


def prove_all(
    ledger: Ledger,
    signers: Sequence[Signer],
    purpose: str,
    run_id: str | None,
    pin_stdin: bool,
    *,
    doing: str,
) -> None:
    """Each signer's PIN in turn, asked as "NAME (role), your PIN to DOING"; the log records
    `purpose` with each attempt."""
    for signer in signers:
        # Translators: {doing} is what the PINs approve, e.g. "clear the hold".
        prompt = _("{name} ({role}), your PIN to {doing}").format(
            name=signer.name, role=spoken(signer.role), doing=_(doing)
        )
        prove(ledger, signer.name, signer.role, purpose, run_id, pin_stdin, prompt)


def stopper(
    ledger: Ledger, by: str | None, signed_in: Mapping[str, str]
) -> tuple[Signer, Member | None]:
    """Whoever stops work: a roster member (in the role they signed in with, else their first),
    or anyone else by the name they give (role None). Never refused for not being on the roster."""
    from safetycli import crew
    from safetycli.errors import SafetyError
    from safetycli.events import Signer
    from safetycli.rostercheck import RosterUnverified

    typed = by or str(typer.prompt("Your name (anyone may stop work)"))
    try:
        member = crew.find(ledger, typed)
    except RosterUnverified as err:  # a roster nobody can trust must not stop a stop-work
        typer.echo(f"warning: {err.message}; the hold is recorded without a PIN", err=True)
        return Signer(crew.clean_name(typed), None), None
    except SafetyError:  # not on the roster: stopping work must not depend on it
        return Signer(crew.clean_name(typed), None), None
    role = next((r for r, n in signed_in.items() if n == member.name), member.roles[0])
    return Signer(member.name, role), member


def maybe_prove(
    ledger: Ledger, member: Member, role: str | None, run_id: str, pin_stdin: bool
) -> bool:
    """A PIN offered with a hold: True when it proved who stopped work. Never a reason not to
    stop work: Enter (or no line on stdin) skips it, and a refused PIN, a locked-out person or a
    tampered credential only leave the hold marked as not PIN-checked."""
    from safetycli import crew
    from safetycli.cli.common import hidden_prompt
    from safetycli.errors import SafetyError

    if member.locked:
        typer.echo(f"{member.name} is locked out: the hold is recorded without a PIN.", err=True)
        return False
    while True:
        if pin_stdin:
            pin = sys.stdin.readline().strip()
        else:
            try:
                pin = hidden_prompt(
                    f"{member.name}, your PIN (Enter to skip)", default="", show_default=False
                )
            except SafetyError as err:  # no terminal: stopping work never waits for a PIN
                typer.echo(f"{err.message}; the hold is recorded without a PIN", err=True)
                return False
        if not pin:
            return False
        try:
            crew.authenticate(ledger, member.name, pin, role=role, purpose="hold", run=run_id)
            return True
        except crew.AuthError as err:
            if pin_stdin or err.final:
                typer.echo(
                    _("Refused: {message}; the hold is recorded as not PIN-checked").format(
                        message=err.message
                    ),
                    err=True,
                )
                return False
            typer.echo(_("Refused: {message}").format(message=err.message), err=True)
