"""The walk-through at the keyboard: plain questions, hidden PINs, a HOLD nobody can miss.

Implements the session's Frontend with Typer's prompts (they work in a real terminal, under a
pseudo-terminal and under Typer's test runner) and Rich output. Every piece of protocol or crew
text is escaped before Rich sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from safetycli import events as ev
from safetycli import runner, translation
from safetycli.errors import SafetyError
from safetycli.events import Signer
from safetycli.production import SceneStop
from safetycli.protocol import Fact, Protocol
from safetycli.render.safe import markup, visible
from safetycli.roles import role_name
from safetycli.runner import Ask, NotApplicable, RunState
from safetycli.session import (
    Answer,
    EventNotice,
    HoldRequest,
    MovedNotice,
    Notice,
    RollCallNotice,
    SignedInNotice,
    SkippedNotice,
    StoppedNotice,
    normalise,
)
from safetycli.translation import Shown

HOLD_KEY = "h"  # at any prompt of the walk-through: stop work, with a reason

OUTCOME_MARKS = {
    "confirmed": ("OK", "green"),
    "refused": ("REFUSED", "bold red"),
    "not-applicable": ("N/A", "yellow"),
    "skipped-by-condition": ("SKIPPED", "dim"),
}


class TerminalFrontend:
    def __init__(self, console: Console, protocol: Protocol, zone: str = "UTC") -> None:
        self.out = console
        self.protocol = protocol
        self.zone = zone  # the production's time zone (Workspace.timezone): times on screen
        self.who: Signer | None = None  # whom the prompt on screen is for (a hold names them)

    # --- whose language ---------------------------------------------------------------------------

    def _lang_for(self, state: RunState, role: str) -> str | None:
        """Whose language a prompt is in: the language of the person signed in for `role`, as
        the roster said at their sign-in (None: the protocol's own). Every prompt addressed to
        one person asks here; a prompt to the room (a skipped check, "another take?", the
        facts at the start) is in the protocol's own language, and the HOLD panel adds the
        failed check in the language of everyone signed in."""
        return runner.lang_of(state, role)

    @staticmethod
    def _said(text: str, in_main: bool, shown: Shown) -> str:
        """Protocol text for Rich, marked `[en]` where it stands in for a missing translation."""
        if in_main and shown.lang != shown.main:
            return f"[dim]\\[{shown.main}][/dim] {markup(text)}"
        return markup(text)

    def _phase_title(self, protocol: Protocol, phase: Any, lang: str | None) -> str:
        title, in_main = translation.phase_title(protocol, phase, lang)
        if in_main and lang and lang != protocol.lang:
            return f"\\[{protocol.lang}] {markup(title)}"
        return markup(title)

    # --- the hold key -----------------------------------------------------------------------------

    def _prompt(self, text: str, *, hide_input: bool = False, **kwargs: Any) -> str:
        """A prompt where `h` alone stops work: a reason is asked, and the hold is recorded at
        once (Enter alone instead of a reason goes back to the question)."""
        while True:
            raw = str(typer.prompt(text, hide_input=hide_input, **kwargs))
            if raw.strip().lower() != HOLD_KEY:
                return raw
            reason = str(
                typer.prompt(
                    "HOLD: what is wrong? (Enter alone goes back)", default="", show_default=False
                )
            )
            if reason.strip():
                raise HoldRequest(reason, self.who)

    def _yes_no(self, text: str) -> bool:
        """Yes or no, with no default (a stray Enter decides nothing), or the hold key."""
        while True:
            raw = self._prompt(f"{text} [y/n]").strip().lower()
            if raw in ("y", "yes"):
                return True
            if raw in ("n", "no"):
                return False
            self.out.print("[yellow]Type y or n (or h to stop work).[/yellow]")

    # --- input ------------------------------------------------------------------------------------

    def fact(self, name: str, fact: Fact) -> Any:
        question = visible(fact.ask)
        if fact.type == "bool":
            return typer.confirm(question, default=None)
        if fact.type == "int":
            return typer.prompt(question, type=int)
        if fact.type == "choice":
            options = fact.options or []
            for i, option in enumerate(options, 1):
                self.out.print(f"  {i}. {markup(option)}")
            while True:
                raw = typer.prompt(f"{question} (number or name)")
                for i, option in enumerate(options, 1):
                    if raw.strip().lower() in (option.lower(), str(i)):
                        return option
                self.out.print(f"[yellow]Choose one of 1 to {len(options)}.[/yellow]")
        return typer.prompt(question)

    def sign_in(self, role: str, candidates: list[str]) -> str:
        default = candidates[0] if len(candidates) == 1 else None
        hint = f" (on the roster: {', '.join(candidates)})" if len(candidates) > 1 else ""
        self.who = None
        return self._prompt(f"{role_name(role)}: your name{visible(hint)}", default=default)

    def pin(self, name: str, role: str, why: str) -> str:
        self.who = Signer(name, role)
        if why == "sign-in":
            return self._prompt(f"{visible(name)}, your PIN", hide_input=True)
        if why == "sign-off":
            return self._prompt(
                f"{visible(name)} ({role_name(role)}), your PIN to sign these", hide_input=True
            )
        if why == "take-out":
            return self._prompt(
                f"{visible(name)} ({role_name(role)}), your PIN to take these out of the armory",
                hide_input=True,
            )
        return self._prompt(
            f"{visible(name)} ({role_name(role)}), PIN for this {why}", hide_input=True
        )

    def refused(self, message: str) -> None:
        self.out.print(f"[bold red]Refused:[/bold red] {markup(message)}")

    def answer(self, step: Ask, state: RunState, protocol: Protocol) -> Answer:
        item = step.item
        shown = translation.item_text(protocol, item, self._lang_for(state, step.role))
        if step.meaning == "performed":
            self._header(step, protocol, shown)
        who = f"{visible(step.name)} ({role_name(step.role)})"
        if step.meaning == "witnessed":
            self.out.print(
                f"  Witness: {markup(step.name)} ({role_name(step.role)}), "
                "did you see this yourself?"
            )
            return typer.confirm(f"{who}: seen and confirmed", default=None)
        if step.meaning == "read-back":
            self.out.print(
                f"  Read-back: {markup(step.name)} ({role_name(step.role)}), "
                "say back what you were told."
            )
            return self._value(step, f"{who}: what you heard", allow_na=False, shown=shown)
        # With a read-back to follow, the signer's answer is typed hidden: the actor must say
        # back what they heard, not read it off the screen.
        if item.readback:
            self.out.print(
                "  [dim]Typed hidden: it is said back without being read off the screen.[/dim]"
            )
        return self._value(
            step,
            who,
            allow_na=item.allow_na and not item.critical,
            hidden=bool(item.readback),
            shown=shown,
        )

    def batch(
        self, batch: runner.Batch, state: RunState, protocol: Protocol
    ) -> Iterator[tuple[Ask, Answer]]:
        """One person's checks of this phase, listed in the crew's words: the yes-or-no ones
        (checks they perform, checks they witness) answered on one line, one key each; then
        each number, choice or text in turn (an answer to be said back is typed hidden), and
        each read-back typed hidden, one by one."""
        self.who = Signer(batch.name, batch.role)
        who = f"{visible(batch.name)} ({role_name(batch.role)})"
        lang = self._lang_for(state, batch.role)
        shown = {ask.item.id: translation.item_text(protocol, ask.item, lang) for ask in batch.asks}
        self._batch_header(batch, state, protocol, lang)
        keys: list[tuple[int, Ask]] = []
        rest: list[tuple[int, Ask]] = []
        places = batch.places
        word = protocol_take(protocol)
        for n, ask in enumerate(batch.asks, 1):
            if len(places) > 1 and (n == 1 or batch.asks[n - 2].phase.id != ask.phase.id):
                take = f" · {word} {ask.take}" if ask.take else ""
                title = self._phase_title(protocol, ask.phase, lang)
                self.out.print(f"  [bold cyan]{title}{take}[/bold cyan]")
            self._listed(n, ask, shown[ask.item.id])
            one_key = ask.meaning == "witnessed" or (
                ask.meaning == "performed"
                and ask.item.kind == "confirm"
                and not (ask.item.allow_na and not ask.item.critical)
            )
            (keys if one_key else rest).append((n, ask))
        if keys:
            yield from self._keys_line(batch, who, keys)
        for n, ask in rest:
            if ask.meaning == "read-back":
                yield (
                    ask,
                    self._value(
                        ask,
                        f"{who}, {n}: say back what you heard",
                        allow_na=False,
                        shown=shown[ask.item.id],
                    ),
                )
                continue
            item = ask.item
            hidden = bool(item.readback)
            if hidden:
                self.out.print(
                    f"  [dim]{n}: typed hidden, to be said back, not read off the screen.[/dim]"
                )
            allow_na = item.allow_na and not item.critical
            yield (
                ask,
                self._value(
                    ask, f"{who}, {n}", allow_na=allow_na, hidden=hidden, shown=shown[ask.item.id]
                ),
            )

    def _keys_line(
        self, batch: runner.Batch, who: str, keys: list[tuple[int, Ask]]
    ) -> Iterator[tuple[Ask, Answer]]:
        """The yes-or-no checks on one line, one key each, in the order listed: `yyy`. Answers
        up to and including a first `n` are handed on at once, so a "no" stops work now."""
        numbers = ", ".join(str(n) for n, _ in keys)
        count = len(keys)
        label = f"check {numbers}" if count == 1 else f"checks {numbers}"
        keys_word = "key" if count == 1 else "keys"
        while True:
            raw = (
                self._prompt(f"{who}: {label}, y or n for each, one key each ({count} {keys_word})")
                .strip()
                .lower()
            )
            typed = raw.replace(" ", "")
            if count == 1 and typed in ("yes", "no"):
                typed = typed[0]
            if len(typed) == count and set(typed) <= {"y", "n"}:
                break
            if set(typed) <= {"y", "n"} and "n" in typed[:count]:
                break  # a "no" stops work at once: the keys after it do not matter
            self.out.print(
                f"[yellow]Type {count} key{'s' if count > 1 else ''}, y or n, one for each "
                f"of {label} in order (h stops work).[/yellow]"
            )
        for key, (_, ask) in zip(typed, keys, strict=True):
            yield ask, key == "y"
            if key == "n":
                return

    def _batch_header(
        self, batch: runner.Batch, state: RunState, protocol: Protocol, lang: str | None
    ) -> None:
        number, total = runner.run_progress(protocol, state)
        word = protocol_take(protocol)
        if batch.phase.repeat == "after_break":  # its number counts breaks, not takes
            where = f" · break {batch.take}"
        else:
            where = f" · {word} {batch.take}" if batch.take else ""
            if len(batch.places) > 1:  # at cut: this take's checks after, the next's before
                where += f" and {word} {batch.places[-1][1]}"
            where += f" · check {number} of {total}"
        title = self._phase_title(protocol, batch.phase, lang)
        if len(batch.places) > 1:
            then = self._phase_title(protocol, batch.places[-1][0], lang)
            title = f"On cut: {title.lower()}, then {then.lower()}"
        self.out.print()
        self.out.rule(f"[bold]{title}[/bold]{where}", style="cyan")
        count = len(batch.asks)
        self.out.print(
            f"[bold]{markup(batch.name)} ({role_name(batch.role)})[/bold]: "
            f"{count} check{'s' if count > 1 else ''} for you to sign"
            + (", with your PIN once" if batch.needs_pin else "")
            + f" ({HOLD_KEY} at any prompt stops work)"
        )

    def _listed(self, n: int, ask: Ask, shown: Shown) -> None:
        item = ask.item
        if ask.meaning == "witnessed":
            what = f"you witness it (done by the {role_name(item.by)})"
        elif ask.meaning == "read-back":
            what = f"you say back what the {role_name(item.by)} announced"
        else:
            what = {
                "confirm": "you do it: y or n",
                "count": "you do it: the number",
                "choice": "you do it: choose one",
                "text": "you write it",
            }[item.kind]
            if item.witness:
                what += " · witnessed by " + ", ".join(role_name(r) for r in item.witness)
            if item.readback:
                what += " · said back by " + ", ".join(role_name(r) for r in item.readback)
        stops = " · [bold red]STOPS WORK IF IT FAILS[/bold red]" if item.critical else ""
        question = self._said(shown.question, shown.question_main, shown)
        self.out.print(f"  [bold]{n}.[/bold] {question} [dim]\\[{markup(item.id)}][/dim]")
        self.out.print(f"     [dim]{what}[/dim]{stops}")

    def _value(
        self, step: Ask, who: str, *, allow_na: bool, shown: Shown, hidden: bool = False
    ) -> Answer:
        """Asked until it is an answer: a typo is explained and asked again, never a crash. A
        choice is listed in the person's words, and typed in them or by its number."""
        item = step.item
        na = " (or na)" if allow_na else ""
        while True:
            if item.kind == "confirm":
                raw = self._prompt(f"{who}: yes or no{na}", hide_input=hidden)
            elif item.kind == "count":
                raw = self._prompt(f"{who}: the number{na}", hide_input=hidden)
            elif item.kind == "choice":
                for i, option in enumerate(shown.options, 1):
                    in_main = shown.options_main[i - 1] if shown.options_main else False
                    self.out.print(f"    {i}. {self._said(option, in_main, shown)}")
                raw = self._prompt(f"{who}: number or name{na}", hide_input=hidden)
                raw = translation.answer_from(item, shown, raw)
            else:
                raw = self._prompt(f"{who}: your answer{na}", hide_input=hidden)
            if allow_na and raw.strip().lower() in ("na", "n/a"):
                reason = self._prompt("Why does it not apply here?")
                if reason.strip():
                    return NotApplicable(reason)
                continue
            try:
                return normalise(step, raw)
            except Exception as err:  # noqa: BLE001 - a typo is asked again, never a crash
                said = _in_words(item, str(err), shown.question)
                self.out.print(f"[yellow]{markup(said)}[/yellow]")

    def another_take(self, step: runner.AnotherTake) -> bool:
        word = protocol_take(self.protocol)
        if len(step.phases) > 1:  # asked at cut, so that one sitting covers after and before
            self.out.print(
                f"\n[bold]{word.capitalize()} {step.take}: the checks before it are done.[/bold] "
                "On cut:"
            )
        else:
            self.out.print(f"\n[bold]{word.capitalize()} {step.take} is done.[/bold]")
        self.who = None
        # No default: a stray Enter must not wrap the takes and skip the next take's checks.
        return self._yes_no(f"1st AD: another {word}? (no wraps the scene)")

    def second_run(self, open_runs: list[str], scene: str) -> bool:
        listed = ", ".join(open_runs)
        self.out.print(
            f"[bold yellow]Still open for scene {markup(scene)}:[/bold yellow] {listed}. "
            f"To carry on there: safetycli resume {open_runs[-1]}"
        )
        # No default: a stray Enter must not start a duplicate run.
        return typer.confirm("Start another run of this checklist anyway?", default=None)

    def _header(self, step: Ask, protocol: Protocol, shown: Shown) -> None:
        number, total = runner.position(protocol, step)
        if step.phase.repeat == "after_break":  # its number counts breaks, not takes
            take = f" · break {step.take}"
        else:
            take = f" · take {step.take}" if step.take else ""
        self.out.print()
        title = self._phase_title(protocol, step.phase, shown.lang)
        self.out.rule(f"[bold]{title}[/bold]{take} · check {number} of {total}", style="cyan")
        self.out.print(f"[bold]{self._said(shown.question, shown.question_main, shown)}[/bold]")
        notes = [f"signs: {role_name(step.role)} {markup(step.name)}"]
        if step.item.witness:
            notes.append("witnessed by: " + ", ".join(role_name(r) for r in step.item.witness))
        if step.item.readback:
            notes.append("read back by: " + ", ".join(role_name(r) for r in step.item.readback))
        self.out.print("  " + " · ".join(notes))
        if step.item.critical:
            self.out.print("  [bold red]STOPS WORK IF IT FAILS[/bold red]")

    # --- output -----------------------------------------------------------------------------------

    def show(self, notice: Notice) -> None:
        match notice:
            case RollCallNotice(roles=roles):
                said = ", ".join(role_name(r) for r in roles)
                self.out.print(f"\n[bold]Sign in:[/bold] {said}, your checks come next.")
            case SignedInNotice(name=name, role=role):
                self.out.print(f"  [green]Signed in:[/green] {markup(name)} as {role_name(role)}")
            case SkippedNotice(step=step):
                self.out.print(
                    f"  [dim]Skipped: {markup(step.item.question)} ({markup(step.reason)})[/dim]"
                )
            case EventNotice(event=event):
                self._event(event.kind, event.data)
            case StoppedNotice(scene=SceneStop() as stop, state=state):
                scene_panel(self.out, stop, resume=state.run_id, zone=self.zone)
            case StoppedNotice(status="held", state=state, hold=hold, incident=incident):
                self.hold_panel(state, hold, incident)
            case StoppedNotice(status="complete", state=state):
                self.out.print(
                    Panel(
                        Text(f"COMPLETE: every check of run {state.run_id} is done and signed."),
                        style="bold green",
                        expand=True,
                    )
                )
            case StoppedNotice(status="aborted", state=state):
                self.out.print(f"[bold]Run {state.run_id} was aborted.[/bold]")
            case MovedNotice(now=now):
                if isinstance(now, runner.Stopped) and now.scene is not None:
                    why = f"scene {visible(now.scene.scene)} is held now"
                    if now.scene.incident is not None:
                        why = f"incident {now.scene.incident.id} stops all firearm work now"
                elif isinstance(now, runner.Stopped):
                    why = f"the run is {now.status} now"
                elif (
                    isinstance(now, Ask | runner.Batch) and now.phase.repeat == "after_break"
                ) or (
                    isinstance(now, runner.RollCall)
                    and now.batch is not None
                    and now.batch.phase.repeat == "after_break"
                ):
                    why = "it stood still too long: the checks after a break come first"
                else:
                    why = "it was answered elsewhere"
                self.out.print(
                    f"[bold yellow]Not recorded:[/bold yellow] the run moved on while that answer "
                    f"was given ({why})."
                )

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        """An event as it lands: an item's outcome, the next take, the takes wrapped."""
        if kind == ev.ITEM_SIGNED_OFF:
            count = len(data["items"])
            self.out.print(
                f"  [green]Signed:[/green] {markup(data['name'])} ({role_name(data['role'])}), "
                f"{count} check{'s' if count != 1 else ''}"
            )
        elif kind == ev.ITEM_DONE:
            if data["outcome"] in ("skipped-by-condition", "confirmed"):
                return  # said by the SkippedNotice; a confirmation by the sign-off's line
            label, style = OUTCOME_MARKS[data["outcome"]]
            reason = f": {markup(data['reason'])}" if data.get("reason") else ""
            self.out.print(f"  [{style}]{label}[/{style}]{reason}")
        elif kind == ev.TAKE_NEXT:
            word = protocol_take(self.protocol)
            self.out.print(f"\n[bold]{word.capitalize()} {data['take']}[/bold]")
        elif kind == ev.TAKES_WRAPPED:
            self.out.print(f"  Wrapped after {data['takes']} {protocol_take(self.protocol)}(s).")

    def hold_panel(
        self, state: RunState, hold: runner.Hold | None, incident: str | None = None
    ) -> None:
        kind = None
        if hold is not None and hold.key is not None and self.protocol is not None:
            try:
                kind = self.protocol.item(hold.key[2]).incident
            except KeyError:
                kind = None
        roles = runner.clearing_roles(self.protocol, state)
        if kind is not None:
            incident = incident or "ID"
        hold_panel(
            self.out,
            state,
            hold,
            roles,
            zone=self.zone,
            incident=incident,
            translated=self._failed_in_langs(state, hold),
        )
        if kind is not None:
            freeze_panel(self.out, kind, incident or "ID")

    def _failed_in_langs(self, state: RunState, hold: runner.Hold | None) -> list[tuple[str, str]]:
        """The failed check's question in the language of each person signed in who reads
        another than the protocol's: a hold is said to the whole set."""
        if hold is None or hold.key is None or self.protocol is None:
            return []
        walked = runner.walked(self.protocol, state)
        try:
            item = walked.item(hold.key[2])
        except KeyError:
            return []
        langs = sorted({lang for lang in state.langs.values() if lang and lang != walked.lang})
        out = []
        for lang in langs:
            shown = translation.item_text(walked, item, lang)
            if not shown.question_main:
                out.append((lang, shown.question))
        return out


def protocol_take(protocol: Protocol | None) -> str:
    """What the protocol calls one pass through its per-take phases: a take, or a run-through
    (a rehearsal)."""
    return getattr(protocol, "take_word", None) or "take"


def _in_words(item: Any, message: str, question: str | None = None) -> str:
    """A typo's message naming the check by its question (as the person reads it), not its id."""
    return message.replace(f"`{item.id}`", f'"{question or item.question}"')


def _at(at: str, day: str | None, zone: str) -> str:
    """`21:40:02 America/Denver`; in UTC when the zone is not in the tz database: stopping
    work must never fail on a file someone can break."""
    from safetycli.render.fmt import clock

    try:
        return f"{clock(at, day, zone)} {zone}"
    except SafetyError:
        return f"{clock(at, day)} UTC"


def _raised(body: Text, raised_by: dict[str, Any] | None, authenticated: bool, at: str) -> None:
    """`Raised by: Sam Ortiz (armorer) at 21:40:02 America/Denver`: who stopped work and when,
    in the production's time, so the AD can say it to the set and to the producer."""
    if raised_by:
        role = raised_by.get("role")
        body.append(f"Raised by: {visible(str(raised_by.get('name')))}")
        body.append(f" ({role_name(role)})" if role else " (not on the roster)")
        body.append("" if authenticated else ", without a PIN")
        body.append(f" at {at}\n")
    else:
        body.append(f"Raised at {at}\n")


def hold_panel(
    out: Console,
    state: RunState,
    hold: runner.Hold | None,
    clear_roles: list[str],
    *,
    zone: str = "UTC",
    incident: str | None = None,
    translated: list[tuple[str, str]] | None = None,
) -> None:
    """The full-width red panel nobody can miss: what failed (and the failed check in the other
    languages of the crew signed in, `translated`: (language, question)), who raised it and
    when (in the production's `zone`), who clears it."""
    if hold is None:
        return
    body = Text()
    body.append("STOP WORK. Nothing proceeds until the hold is cleared.\n\n", style="bold")
    body.append("What failed: ")
    body.append(visible(hold.reason) + "\n")
    for lang, question in translated or []:
        body.append(f"  [{lang}] {visible(question)}\n")
    _raised(body, hold.raised_by, hold.authenticated, _at(hold.raised_at, state.day or None, zone))
    roles = " and ".join(role_name(r) for r in clear_roles)
    if incident:  # the hold goes with the incident it recorded: closing that clears both
        body.append(f"To clear: {roles} close incident {incident}, each with their PIN:\n")
        body.append(f'  safetycli incident close {incident} --action "what was done"\n')
    else:
        body.append(f"To clear: {roles}, each in person with their PIN:\n")
        body.append(f'  safetycli clear {state.run_id} --note "what was found and done"\n')
    body.append(f"then:  safetycli resume {state.run_id}")
    out.print(Panel(body, title="HOLD", style="bold white on red", expand=True, padding=(1, 2)))


def freeze_panel(out: Console, kind: str, incident: str) -> None:
    """After a "no" to a check that records an incident: the incident is in the register, and
    nothing is to be touched (the post-incident freeze), instead of the usual unload and count."""
    from safetycli.incidents import KINDS

    spec = KINDS[kind]
    body = Text()
    body.append(f"INCIDENT RECORDED: {spec.label} ({incident}).\n\n", style="bold")
    if spec.freezes:
        body.append(
            "Armorer: LEAVE EVERYTHING UNTOUCHED. Do not unload, clear, hand over, return or "
            "count any firearm or round of this scene: keep it pointed safe, where it is, until "
            "it has been examined and the freeze released. The armory refuses every custody "
            "event on them until then:\n"
            f'  safetycli incident release {incident} --note "who examined what"\n'
        )
    body.append(
        "No firearm work starts or goes on anywhere in the production until "
        f"{' and '.join(role_name(r) for r in spec.closed_by)} close it, with what was done:\n"
        f'  safetycli incident close {incident} --action "what was done"'
    )
    out.print(Panel(body, title="INCIDENT", style="bold white on red", expand=True, padding=(1, 2)))


def scene_panel(
    out: Console, stop: SceneStop, *, resume: str | None = None, zone: str = "UTC"
) -> None:
    """The same red panel for a scene held from beyond this run: a stop-work called on the set,
    or another run of the scene on hold."""

    body = Text()
    if stop.incident is not None:
        incident = stop.incident
        body.append(
            "STOP WORK: no firearm work anywhere until this incident is closed.\n\n", style="bold"
        )
        body.append(f"Open {incident.spec.label} {incident.id}: {visible(incident.text)}\n")
        if incident.involved():
            body.append(f"Involved: {visible(incident.involved())}\n")
        body.append(f"Reported by: {visible(incident.who)} at {_at(incident.at, None, zone)}\n")
        body.append(f"To close: {incident.closers_text()}, each in person with their PIN:\n")
        body.append(f"  {visible(incident.close_command())}\n")
        if resume:
            body.append(f"then:  safetycli resume {resume}")
        out.print(Panel(body, title="HOLD", style="bold white on red", expand=True, padding=(1, 2)))
        return
    body.append(
        f"STOP WORK on scene {visible(stop.scene)}. Nothing proceeds until it is cleared.\n\n",
        style="bold",
    )
    if stop.run is not None:
        body.append(f"Run {stop.run} of this scene is on hold: ")
    else:
        body.append("Stop-work called on the scene: ")
    body.append(visible(stop.reason) + "\n")
    _raised(body, stop.raised_by, stop.authenticated, _at(stop.raised_at, None, zone))
    who = "whoever clears that run's holds" if stop.run else "armorer and 1st AD"
    body.append(f"To clear: {who}, each in person with their PIN:\n")
    body.append(f"  {visible(stop.clear_command)}\n")
    if resume:
        body.append(f"then:  safetycli resume {resume}")
    out.print(Panel(body, title="HOLD", style="bold white on red", expand=True, padding=(1, 2)))
