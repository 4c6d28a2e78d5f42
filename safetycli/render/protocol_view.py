"""A protocol as the crew reads it: in order, who signs, who witnesses, what stops work."""

from __future__ import annotations

from typing import Any

from safetycli.i18n import _, ngettext
from safetycli.protocol import Item, Protocol, parse_when
from safetycli.render.safe import markup
from safetycli.roles import spoken


def _roles(roles: list[str]) -> str:
    names = [spoken(r) for r in roles]
    if len(names) <= 1:
        return "".join(names)
    # Translators: the word joining the last two of a list ("armorer and 1st AD").
    return ", ".join(names[:-1]) + _(" and ") + names[-1]


def condition_text(protocol: Protocol, expr: str) -> str:
    """`blanks` -> `blanks is yes`; `mode != EMPTY` -> `mode is not EMPTY`."""
    cond = parse_when(expr)
    if cond is None:  # cannot happen for a validated protocol
        return expr
    if cond.fact == "armory":  # set by the tool (protocol.ARMORY_FACT)
        if cond.negate:
            return _("the run took no firearms out of the production's armory")
        return _("the run took firearms out of the production's armory")
    fact = protocol.context.get(cond.fact)
    if cond.op is not None:
        line = _("{fact} is not {value}") if cond.op == "!=" else _("{fact} is {value}")
        return line.format(fact=cond.fact, value=cond.value)
    kind = fact.type if fact is not None else "bool"
    said = {
        "bool": (_("{fact} is yes"), _("{fact} is no")),
        "int": (_("{fact} is more than 0"), _("{fact} is 0")),
    }.get(kind, (_("{fact} is given"), _("{fact} is not given")))
    return (said[1] if cond.negate else said[0]).format(fact=cond.fact)


def item_people(item: Item) -> list[str]:
    """Who signs, and who must be there in person."""
    from safetycli.incidents import KINDS

    people = [_("signed by {roles}").format(roles=spoken(item.by))]
    if item.witness:
        people.append(_("witnessed by {roles}").format(roles=_roles(item.witness)))
    if item.readback:
        people.append(_("read back by {roles}").format(roles=_roles(item.readback)))
    if item.incident:
        kind = KINDS.get(item.incident)
        said = _(kind.label) if kind is not None else item.incident.replace("-", " ")
        people.append(_("a failing answer records an incident ({kind})").format(kind=said))
    if item.cleared_by or item.incident:
        people.append(_("its hold cleared by {roles}").format(roles=_roles(item.clear_roles([]))))
    return people


def item_answer(item: Item, options: list[str] | None = None) -> list[str]:
    """What the answer looks like, and what fails it (`options`: as the reader sees them)."""
    if item.kind == "count":
        bounds = []
        if isinstance(item.expect, str):
            bounds.append(_("must add up: {sum}").format(sum=item.expect))
        elif item.expect is not None:
            bounds.append(_("must be {n}").format(n=item.expect))
        if item.min is not None:
            bounds.append(_("at least {n}").format(n=item.min))
        if item.max is not None:
            bounds.append(_("at most {n}").format(n=item.max))
        if bounds:
            notes = [_("answer: a number ({bounds})").format(bounds=", ".join(bounds))]
        else:
            notes = [_("answer: a number")]
    elif item.kind == "choice":
        said = dict(zip(item.options or [], options or item.options or [], strict=False))
        notes = [_("answer: one of {options}").format(options=" / ".join(said.values()))]
        if item.fail_on:
            failing = " / ".join(said.get(f, f) for f in item.fail_on)
            notes.append(_("fails on {options}").format(options=failing))
    elif item.kind == "text":
        notes = [_("answer: in writing")]
    else:
        notes = [_("answer: yes or no")]
    if item.allow_na:
        notes.append(_("may be marked not applicable, with a reason"))
    return notes


def item_condition(item: Item, protocol: Protocol | None = None) -> str | None:
    if not item.when:
        return None
    said = condition_text(protocol, item.when) if protocol else item.when
    return _("only when {condition}").format(condition=said)


def item_notes(item: Item, protocol: Protocol | None = None) -> list[str]:
    """Who signs, who must be there, what the answer looks like, when it applies."""
    condition = item_condition(item, protocol)
    return item_people(item) + item_answer(item) + ([condition] if condition else [])


def _in(lang: str | None, protocol: Protocol, text: str | None, said: str | None) -> str:
    """Protocol text for Rich in the reader's language: the translation, else the main
    language's words marked `[en]` when another language was asked for."""
    if said:
        return markup(said)
    wanted = lang and lang != protocol.lang
    return (f"\\[{protocol.lang}] " if wanted else "") + markup(text or "")


def protocol_lines(protocol: Protocol, lang: str | None = None) -> list[str]:
    """Rich-markup lines; every piece of YAML text is escaped. With `lang`, the crew's words
    (title, summary, questions, options, why) in that language where translated, marked with
    the protocol's own language where not (translation.py)."""
    from safetycli import translation

    found = protocol.translations.get(lang or "")
    clearers = protocol.hold.cleared_by
    lines = [
        _("[bold]{title}[/bold]  ({id}, version {version})").format(
            title=_in(lang, protocol, protocol.title, found and found.title),
            id=markup(protocol.id),
            version=protocol.version,
        ),
        _in(lang, protocol, protocol.summary, found and found.summary),
        _("Roles: {roles}").format(roles=markup(_roles(protocol.roles))),
        ngettext(
            "[bold red]STOPS WORK[/bold red] marks a check that stops all work if it fails, "
            "until {roles} clears the hold with their PIN.",
            "[bold red]STOPS WORK[/bold red] marks a check that stops all work if it fails, "
            "until {roles} each clear the hold with their PIN.",
            len(clearers),
        ).format(roles=markup(_roles(clearers))),
    ]
    if protocol.context:
        lines.append("")
        lines.append(_("[bold]Asked at the start[/bold]"))
        for name, fact in protocol.context.items():
            answer = {"bool": _("yes or no"), "int": _("a number"), "text": _("in writing")}
            said = answer.get(fact.type, " / ".join(fact.options or []))
            # A fact's choices are not translated: marked as the protocol's own words.
            kind = _in(lang, protocol, said, None) if fact.type == "choice" else markup(said)
            ask = _in(lang, protocol, fact.ask, found and found.facts.get(name))
            lines.append(f"  {markup(name)}: {ask}  [dim]({kind})[/dim]")
    number = 0
    total = len(protocol.phases)
    for index, phase in enumerate(protocol.phases, start=1):
        lines.append("")
        extras = []
        if phase.repeat == "per_take":
            extras.append(_("repeated for every take"))
        if phase.when:
            said = condition_text(protocol, phase.when)
            extras.append(_("only when {condition}").format(condition=said))
        tail = f"  ({markup('; '.join(extras))})" if extras else ""
        title = _in(lang, protocol, phase.title, found and found.phases.get(phase.id))
        heading = _("Phase {n} of {total}: {title}").format(n=index, total=total, title=title)
        lines.append(f"[bold underline]{heading}[/bold underline]{tail}")
        for item in phase.items:
            number += 1
            stop = "  " + _("[bold red]STOPS WORK IF IT FAILS[/bold red]") if item.critical else ""
            condition = item_condition(item, protocol)
            when = f"  [bold]({markup(condition)})[/bold]" if condition else ""
            shown = translation.item_text(protocol, item, lang)
            question = _in(
                lang, protocol, item.question, None if shown.question_main else shown.question
            )
            lines.append(f"  {number:>2}. {question}{when}{stop}")
            people = "; ".join(item_people(item))
            lines.append(f"      {markup(people)}  [dim]{markup(f'[{item.id}]')}[/dim]")
            options = list(shown.options)
            if any(shown.options_main) and lang and lang != protocol.lang:
                options = [
                    f"[{protocol.lang}] {o}" if main else o
                    for o, main in zip(shown.options, shown.options_main, strict=False)
                ]
            lines.append(f"      [dim]{markup('; '.join(item_answer(item, options)))}[/dim]")
            if item.why:
                why = _in(lang, protocol, item.why, None if shown.why_main else shown.why)
                lines.append("      " + _("[dim]why: {why}[/dim]").format(why=why))
            if item.source:
                said = _("[dim]source: {source}[/dim]").format(source=markup(item.source))
                lines.append("      " + said)
    lines.append("")
    lines.append(_("Sources: {sources}").format(sources=markup("; ".join(protocol.sources))))
    return lines


def protocol_json(protocol: Protocol, lang: str | None = None) -> dict[str, Any]:
    """The protocol as its file says, with `translations` (language -> sha256 of each file);
    with `lang`, each item also carries `shown`: its words in that language (`fallback`: some
    in the protocol's own, for want of a translation)."""
    from safetycli import translation

    data = protocol.model_dump(mode="json")
    data["sha256"] = protocol.origin.sha256
    data["origin"] = "shipped" if protocol.origin.shipped else "workspace"
    data["translations"] = {k: t.sha256 for k, t in sorted(protocol.translations.items())}
    if lang is not None:
        data["shown_lang"] = lang
        for phase, raw in zip(protocol.phases, data["phases"], strict=True):
            title, in_main = translation.phase_title(protocol, phase, lang)
            raw["shown"] = {"title": title, "fallback": in_main}
            for item, raw_item in zip(phase.items, raw["items"], strict=True):
                shown = translation.item_text(protocol, item, lang)
                raw_item["shown"] = {
                    "question": shown.question,
                    "options": list(shown.options),
                    "why": shown.why,
                    "fallback": shown.fallback,
                }
    return data
