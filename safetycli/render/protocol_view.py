"""A protocol as the crew reads it: in order, who signs, who witnesses, what stops work."""

from __future__ import annotations

from typing import Any

from safetycli.protocol import Item, Protocol
from safetycli.render.safe import markup


def _role(role: str) -> str:
    return role.replace("_", " ")


def _roles(roles: list[str]) -> str:
    return ", ".join(_role(r) for r in roles)


def item_notes(item: Item) -> list[str]:
    notes = [f"signs: {_role(item.by)}"]
    if item.witness:
        notes.append(f"witnessed by: {_roles(item.witness)}")
    if item.readback:
        notes.append(f"read back by: {_roles(item.readback)}")
    if item.kind == "count":
        bounds = []
        if item.expect is not None:
            bounds.append(f"must be {item.expect}")
        if item.min is not None:
            bounds.append(f"at least {item.min}")
        if item.max is not None:
            bounds.append(f"at most {item.max}")
        notes.append("a count" + (f" ({', '.join(bounds)})" if bounds else ""))
    if item.kind == "choice" and item.options:
        notes.append("one of: " + " / ".join(item.options))
        if item.fail_on:
            notes.append("fails on: " + " / ".join(item.fail_on))
    if item.kind == "text":
        notes.append("written answer")
    if item.when:
        notes.append(f"only when: {item.when}")
    if item.allow_na:
        notes.append("may be marked not applicable, with a reason")
    return notes


def protocol_lines(protocol: Protocol) -> list[str]:
    """Rich-markup lines; every piece of YAML text is escaped."""
    lines = [
        f"[bold]{markup(protocol.title)}[/bold]  ({markup(protocol.id)} v{protocol.version})",
        markup(protocol.summary),
        f"Roles: {markup(_roles(protocol.roles))}",
        f"A hold is cleared by: {markup(_roles(protocol.hold.cleared_by))}, each with their PIN",
    ]
    if protocol.context:
        lines.append("")
        lines.append("[bold]Asked at the start[/bold]")
        for name, fact in protocol.context.items():
            lines.append(f"  {markup(name)}: {markup(fact.ask)}")
    number = 0
    for phase in protocol.phases:
        lines.append("")
        repeat = "  [repeated before every take]" if phase.repeat == "per_take" else ""
        when = f"  (only when: {markup(phase.when)})" if phase.when else ""
        lines.append(f"[bold underline]{markup(phase.title)}[/bold underline]{markup(repeat)}{when}")
        for item in phase.items:
            number += 1
            stop = "  [bold red]STOPS WORK IF IT FAILS[/bold red]" if item.critical else ""
            lines.append(f"  {number:>2}. {markup(item.ask)}{stop}")
            lines.append(f"      [dim]{markup('; '.join(item_notes(item)))}[/dim]")
    lines.append("")
    lines.append("Sources: " + markup("; ".join(protocol.sources)))
    return lines


def protocol_json(protocol: Protocol) -> dict[str, Any]:
    data = protocol.model_dump(mode="json")
    data["sha256"] = protocol.origin.sha256
    data["origin"] = "shipped" if protocol.origin.shipped else "workspace"
    return data
