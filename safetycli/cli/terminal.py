"""The walk-through at the keyboard: plain questions, hidden PINs, a HOLD nobody can miss.

Implements the session's Frontend with Typer's prompts (they work in a real terminal, under a
pseudo-terminal and under Typer's test runner) and Rich output. Every piece of protocol or crew
text is escaped before Rich sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from safetycli import events as ev
from safetycli import listorder, runner, translation
from safetycli.errors import SafetyError
from safetycli.events import Signer
from safetycli.i18n import (
    N_,
    _,
    current,
    language_name,
    ngettext,
    shipped,
    speaking,
    with_everyone,
)
from safetycli.production import SceneStop
from safetycli.protocol import Fact, Protocol
from safetycli.render.safe import markup, visible
from safetycli.roles import spoken as role_name
from safetycli.runner import Ask, NotApplicable, RunState
from safetycli.session import (
    Answer,
    CardsNotice,
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

if TYPE_CHECKING:
    from safetycli.incidents import Incident

HOLD_KEY = "h"  # at any prompt of the walk-through: stop work, with a reason

OUTCOME_MARKS = {  # translated where shown
    "confirmed": (N_("OK"), "green"),
    "refused": (N_("REFUSED"), "bold red"),
    "not-applicable": (N_("N/A"), "yellow"),
    "skipped-by-condition": (N_("SKIPPED"), "dim"),
}


class TerminalFrontend:
    def __init__(self, console: Console, protocol: Protocol, zone: str = "UTC") -> None:
        self.out = console
        self.protocol = protocol
        self.zone = zone  # the production's time zone (Workspace.timezone): times on screen
        self.who: Signer | None = None  # whom the prompt on screen is for (a hold names them)
        self._langs: dict[str, str | None] = {}  # role -> the language its signer reads

    def _voice(self, lang: str | None) -> AbstractContextManager[None]:
        """The tool's own words in the language of the person a prompt is for (their roster
        language, when we ship it); otherwise as chosen for the laptop (i18n.resolve)."""
        return speaking(lang) if shipped(lang) else nullcontext()

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
                    _("HOLD: what is wrong? (Enter alone goes back)"),
                    default="",
                    show_default=False,
                )
            )
            if reason.strip():
                raise HoldRequest(reason, self.who)

    def _yes_no(self, text: str) -> bool:
        """Yes or no, with no default (a stray Enter decides nothing), or the hold key."""
        while True:
            raw = self._prompt(_("{question} [y/n]").format(question=text)).strip().lower()
            if raw in ("y", "yes") or raw in _yes_words():
                return True
            if raw in ("n", "no") or raw in _no_words():
                return False
            self.out.print(_("[yellow]Type y or n (or h to stop work).[/yellow]"))

    # --- input ------------------------------------------------------------------------------------

    def fact(self, name: str, fact: Fact) -> Any:
        question = visible(fact.ask)
        if fact.type == "bool":
            return _confirm(question)
        if fact.type == "int":
            return typer.prompt(question, type=int)
        if fact.type == "choice":
            options = fact.options or []
            for i, option in enumerate(options, 1):
                self.out.print(f"  {i}. {markup(option)}")
            while True:
                raw = typer.prompt(_("{question} (number or name)").format(question=question))
                for i, option in enumerate(options, 1):
                    if raw.strip().lower() in (option.lower(), str(i)):
                        return option
                self.out.print(
                    _("[yellow]Choose one of 1 to {last}.[/yellow]").format(last=len(options))
                )
        return typer.prompt(question)

    def sign_in(self, role: str, candidates: list[str]) -> str:
        default = candidates[0] if len(candidates) == 1 else None
        self.who = None
        if len(candidates) > 1:
            text = _("{role}: your name (on the roster: {names})").format(
                role=role_name(role), names=visible(", ".join(candidates))
            )
        else:
            text = _("{role}: your name").format(role=role_name(role))
        return self._prompt(text, default=default)

    def reads(self, role: str, lang: str | None) -> None:
        """The person signing in for `role` reads `lang` (their roster language): their PIN
        prompt, and anything said to them until their checks come, is in it."""
        self._langs[role] = lang

    def pin(self, name: str, role: str, why: str) -> str:
        self.who = Signer(name, role)
        with self._voice(self._langs.get(role)):
            return self._pin(name, role, why)

    def _pin(self, name: str, role: str, why: str) -> str:
        said = {"name": visible(name), "role": role_name(role)}
        if why == "sign-in":
            return self._prompt(_("{name}, your PIN").format(**said), hide_input=True)
        if why == "sign-off":
            return self._prompt(
                _("{name} ({role}), your PIN to sign these").format(**said), hide_input=True
            )
        if why == "take-out":
            return self._prompt(
                _("{name} ({role}), your PIN to take these out of the armory").format(**said),
                hide_input=True,
            )
        return self._prompt(
            # Translators: {why} is what the PIN is for, in English words from the log
            # ("witness", "clear hold").
            _("{name} ({role}), PIN for this {why}").format(**said, why=why),
            hide_input=True,
        )

    def refused(self, message: str) -> None:
        with self._voice(self._langs.get(self.who.role) if self.who else None):
            said = _("[bold red]Refused:[/bold red] {message}")
        self.out.print(said.format(message=markup(message)))

    def answer(self, step: Ask, state: RunState, protocol: Protocol) -> Answer:
        lang = self._lang_for(state, step.role)
        self._langs[step.role] = lang
        with self._voice(lang):
            return self._answer(step, protocol, lang)

    def _answer(self, step: Ask, protocol: Protocol, lang: str | None) -> Answer:
        item = step.item
        shown = translation.item_text(protocol, item, lang)
        if step.meaning == "performed":
            self._header(step, protocol, shown)
        who = _person(step.name, step.role)
        said = {"name": markup(step.name), "role": role_name(step.role)}
        if step.meaning == "witnessed":
            self.out.print(
                _("  Witness: {name} ({role}), did you see this yourself?").format(**said)
            )
            return _confirm(_("{who}: seen and confirmed").format(who=who))
        if step.meaning == "read-back":
            self.out.print(
                _("  Read-back: {name} ({role}), say back what you were told.").format(**said)
            )
            return self._value(
                step, _("{who}: what you heard").format(who=who), allow_na=False, shown=shown
            )
        # With a read-back to follow, the signer's answer is typed hidden: the actor must say
        # back what they heard, not read it off the screen.
        if item.readback:
            self.out.print(
                _("  [dim]Typed hidden: it is said back without being read off the screen.[/dim]")
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
        """One person's checks of this phase, listed in the crew's words, then asked in the
        order `listorder.plan` gives: the yes-or-no ones (checks they perform, checks they
        witness) on one line, one key each, except those that wait for a number of the list
        they are judged with; each number, choice or text in turn (an answer to be said back
        is typed hidden), and each read-back typed hidden, one by one."""
        self.who = Signer(batch.name, batch.role)
        lang = self._lang_for(state, batch.role)
        self._langs[batch.role] = lang
        # The tool's words in this person's language too; switched around what is shown and
        # asked, never across a yield (the session acts between two answers).
        with self._voice(lang):
            who = _person(batch.name, batch.role)
            shown = {
                ask.item.id: translation.item_text(protocol, ask.item, lang) for ask in batch.asks
            }
            self._batch_header(batch, state, protocol, lang)
            places = batch.places
            word = protocol_take(protocol)
            for n, ask in enumerate(batch.asks, 1):
                if len(places) > 1 and (n == 1 or batch.asks[n - 2].phase.id != ask.phase.id):
                    take = f" · {word} {ask.take}" if ask.take else ""  # a number: no sentence
                    title = self._phase_title(protocol, ask.phase, lang)
                    self.out.print(f"  [bold cyan]{title}{take}[/bold cyan]")
                self._listed(n, ask, shown[ask.item.id])
        number = {id(ask): n for n, ask in enumerate(batch.asks, 1)}
        for part in listorder.plan(batch.asks):
            if isinstance(part, listorder.Keys):
                keys = [(number[id(ask)], ask) for ask in part.asks]
                for ask, answer in self._keys_line(batch, who, keys, lang):
                    yield ask, answer
                    if answer is False:
                        return  # a "no" stops work at once: nothing more of the list is asked
                continue
            with self._voice(lang):
                answer = self._rest(part, number[id(part)], who, shown[part.item.id])
            yield part, answer

    def _rest(self, ask: Ask, n: int, who: str, shown: Shown) -> Answer:
        """A number, a choice, a text or a read-back of a batch, on its own line."""
        if ask.meaning == "read-back":
            prompt = _("{who}, {n}: say back what you heard").format(who=who, n=n)
            return self._value(ask, prompt, allow_na=False, shown=shown)
        item = ask.item
        hidden = bool(item.readback)
        if hidden:
            self.out.print(
                _(
                    "  [dim]{n}: typed hidden, to be said back, not read off the screen.[/dim]"
                ).format(n=n)
            )
        allow_na = item.allow_na and not item.critical
        prompt = _("{who}, {n}").format(who=who, n=n)
        return self._value(ask, prompt, allow_na=allow_na, hidden=hidden, shown=shown)

    def _keys_line(
        self, batch: runner.Batch, who: str, keys: list[tuple[int, Ask]], lang: str | None
    ) -> Iterator[tuple[Ask, Answer]]:
        """The yes-or-no checks on one line, one key each, in the order listed: `yyy`. Answers
        up to and including a first `n` are handed on at once, so a "no" stops work now."""
        with self._voice(lang):
            typed = self._keys_typed(who, keys)
        for key, (_n, ask) in zip(typed, keys, strict=False):
            yield ask, key == "y"
            if key == "n":
                return

    def _keys_typed(self, who: str, keys: list[tuple[int, Ask]]) -> str:
        """The line of keys, asked until it is one y or n for each check (or a first n)."""
        numbers = ", ".join(str(n) for n, _ in keys)
        count = len(keys)
        said = {"who": who, "numbers": numbers, "count": count}
        while True:
            prompt = ngettext(
                "{who}: check {numbers}: type {count} letter, y or n, then Enter",
                "{who}: checks {numbers}: type {count} letters, y or n for each, then Enter",
                count,
            ).format(**said)
            typed = _keys(self._prompt(prompt).strip().lower().replace(" ", ""))
            if count == 1 and typed in ("yes", "no"):
                typed = typed[0]
            if len(typed) == count and set(typed) <= {"y", "n"}:
                return typed
            if set(typed) <= {"y", "n"} and "n" in typed[:count]:
                return typed[: typed.index("n") + 1]  # a "no" stops work at once: not the rest
            self.out.print(
                ngettext(
                    "[yellow]Type {count} letter, y or n, for check {numbers}, then Enter (h "
                    "stops work).[/yellow]",
                    "[yellow]Type {count} letters, y or n for each of checks {numbers} in order, "
                    "then Enter (h stops work).[/yellow]",
                    count,
                ).format(**said)
            )

    def _batch_header(
        self, batch: runner.Batch, state: RunState, protocol: Protocol, lang: str | None
    ) -> None:
        number, total = runner.run_progress(protocol, state)
        word = protocol_take(protocol)
        if batch.phase.repeat == "after_break":  # its number counts breaks, not takes
            where = _(" · break {n}").format(n=batch.take)
        else:
            where = f" · {word} {batch.take}" if batch.take else ""
            if len(batch.places) > 1:  # at cut: this take's checks after, the next's before
                where += _(" and {take} {n}").format(take=word, n=batch.places[-1][1])
            where += _(" · check {number} of {total}").format(number=number, total=total)
        title = self._phase_title(protocol, batch.phase, lang)
        if len(batch.places) > 1:
            then = self._phase_title(protocol, batch.places[-1][0], lang)
            title = _("On cut: {after}, then {before}").format(
                after=title.lower(), before=then.lower()
            )
        self.out.print()
        self.out.rule(f"[bold]{title}[/bold]{where}", style="cyan")
        count = len(batch.asks)
        said = {"name": markup(batch.name), "role": role_name(batch.role), "count": count}
        if batch.needs_pin:
            line = ngettext(
                "[bold]{name} ({role})[/bold]: {count} check for you to sign, with your PIN "
                "once (h at any prompt stops work)",
                "[bold]{name} ({role})[/bold]: {count} checks for you to sign, with your PIN "
                "once (h at any prompt stops work)",
                count,
            )
        else:
            line = ngettext(
                "[bold]{name} ({role})[/bold]: {count} check for you to sign (h at any prompt "
                "stops work)",
                "[bold]{name} ({role})[/bold]: {count} checks for you to sign (h at any prompt "
                "stops work)",
                count,
            )
        self.out.print(line.format(**said))

    def _listed(self, n: int, ask: Ask, shown: Shown) -> None:
        item = ask.item
        if ask.meaning == "witnessed":
            what = _("you witness it (done by the {role})").format(role=role_name(item.by))
        elif ask.meaning == "read-back":
            what = _("you say back what the {role} announced").format(role=role_name(item.by))
        else:
            what = _(KIND_HINTS[item.kind])
            if item.witness:
                what += _(" · witnessed by {roles}").format(
                    roles=", ".join(role_name(r) for r in item.witness)
                )
            if item.readback:
                what += _(" · said back by {roles}").format(
                    roles=", ".join(role_name(r) for r in item.readback)
                )
        stops = (
            " · [bold red]" + _("STOPS WORK IF IT FAILS") + "[/bold red]" if item.critical else ""
        )
        question = self._said(shown.question, shown.question_main, shown)
        self.out.print(f"  [bold]{n}.[/bold] {question} [dim]\\[{markup(item.id)}][/dim]")
        self.out.print(f"     [dim]{what}[/dim]{stops}")

    def _value(
        self, step: Ask, who: str, *, allow_na: bool, shown: Shown, hidden: bool = False
    ) -> Answer:
        """Asked until it is an answer: a typo is explained and asked again, never a crash. A
        choice is listed in the person's words, and typed in them or by its number."""
        item = step.item
        prompts = NA_PROMPTS if allow_na else PROMPTS
        while True:
            if item.kind == "choice":
                for i, option in enumerate(shown.options, 1):
                    in_main = shown.options_main[i - 1] if shown.options_main else False
                    self.out.print(f"    {i}. {self._said(option, in_main, shown)}")
            raw = self._prompt(_(prompts[item.kind]).format(who=who), hide_input=hidden)
            if item.kind == "choice":
                raw = translation.answer_from(item, shown, raw)
            if allow_na and raw.strip().lower() in ("na", "n/a", _("na")):
                reason = self._prompt(_("Why does it not apply here?"))
                if reason.strip():
                    return NotApplicable(reason)
                continue
            if item.kind == "confirm":
                raw = _yes_no_word(raw)
            try:
                return normalise(step, raw)
            except Exception as err:  # noqa: BLE001 - a typo is asked again, never a crash
                said = _in_words(item, str(err), shown.question)
                self.out.print(f"[yellow]{markup(said)}[/yellow]")

    def another_take(self, step: runner.AnotherTake) -> bool:
        word = protocol_take(self.protocol)
        if len(step.phases) > 1:  # asked at cut, so that one sitting covers after and before
            self.out.print(
                "\n"
                + _("[bold]{Take} {n}: the checks before it are done.[/bold] On cut:").format(
                    Take=_capital(word), n=step.take
                )
            )
        else:
            self.out.print(
                "\n"
                + _("[bold]{Take} {n} is done.[/bold]").format(Take=_capital(word), n=step.take)
            )
        self.who = None
        # No default: a stray Enter must not wrap the takes and skip the next take's checks.
        return self._yes_no(
            _("{role}: another {take}? (no wraps the scene)").format(
                role=role_name("first_ad"), take=word
            )
        )

    def second_run(self, open_runs: list[str], scene: str) -> bool:
        listed = ", ".join(open_runs)
        self.out.print(
            _(
                "[bold yellow]Still open for scene {scene}:[/bold yellow] {runs}. "
                "To carry on there: safetycli resume {run}"
            ).format(scene=markup(scene), runs=listed, run=open_runs[-1])
        )
        # No default: a stray Enter must not start a duplicate run.
        return _confirm(_("Start another run of this checklist anyway?"))

    def _header(self, step: Ask, protocol: Protocol, shown: Shown) -> None:
        number, total = runner.position(protocol, step)
        if step.phase.repeat == "after_break":  # its number counts breaks, not takes
            take = _(" · break {n}").format(n=step.take)
        else:
            take = _(" · take {n}").format(n=step.take) if step.take else ""
        self.out.print()
        title = self._phase_title(protocol, step.phase, shown.lang)
        check = _(" · check {number} of {total}").format(number=number, total=total)
        self.out.rule(f"[bold]{title}[/bold]{take}{check}", style="cyan")
        self.out.print(f"[bold]{self._said(shown.question, shown.question_main, shown)}[/bold]")
        notes = [
            _("signs: {role} {name}").format(role=role_name(step.role), name=markup(step.name))
        ]
        if step.item.witness:
            roles = ", ".join(role_name(r) for r in step.item.witness)
            notes.append(_("witnessed by: {roles}").format(roles=roles))
        if step.item.readback:
            roles = ", ".join(role_name(r) for r in step.item.readback)
            notes.append(_("read back by: {roles}").format(roles=roles))
        self.out.print("  " + " · ".join(notes))
        if step.item.critical:
            self.out.print("  [bold red]" + _("STOPS WORK IF IT FAILS") + "[/bold red]")

    # --- output -----------------------------------------------------------------------------------

    def show(self, notice: Notice) -> None:
        match notice:
            case RollCallNotice(roles=roles):
                said = ", ".join(role_name(r) for r in roles)
                self.out.print(
                    "\n"
                    + _("[bold]Sign in:[/bold] {roles}, your checks come next.").format(roles=said)
                )
            case SignedInNotice(name=name, role=role):
                self.out.print(
                    _("  [green]Signed in:[/green] {name} as {role}").format(
                        name=markup(name), role=role_name(role)
                    )
                )
            case CardsNotice(lines=lines):
                for line in lines:
                    self.out.print(
                        _("[bold yellow]Before you start:[/bold yellow] {line}").format(
                            line=markup(line)
                        )
                    )
            case SkippedNotice(step=step):
                self.out.print(
                    _("  [dim]Skipped: {question} ({reason})[/dim]").format(
                        question=markup(step.item.question), reason=markup(step.reason)
                    )
                )
            case EventNotice(event=event):
                self._event(event.kind, event.data)
            case StoppedNotice(scene=SceneStop() as stop, state=state):
                scene_panel(
                    self.out, stop, resume=state.run_id, zone=self.zone, langs=set_langs(state)
                )
            case StoppedNotice(status="held", state=state, hold=hold, incident=incident):
                self.hold_panel(state, hold, incident)
            case StoppedNotice(status="complete", state=state):
                self.out.print(
                    Panel(
                        Text(
                            _("COMPLETE: every check of run {run} is done and signed.").format(
                                run=state.run_id
                            )
                        ),
                        style="bold green",
                        expand=True,
                    )
                )
            case StoppedNotice(status="aborted", state=state):
                self.out.print(_("[bold]Run {run} was aborted.[/bold]").format(run=state.run_id))
            case MovedNotice(now=now):
                if isinstance(now, runner.Stopped) and now.scene is not None:
                    why = _("scene {scene} is held now").format(scene=visible(now.scene.scene))
                    if now.scene.incident is not None:
                        why = _("incident {id} stops all firearm work now").format(
                            id=now.scene.incident.id
                        )
                elif isinstance(now, runner.Stopped):
                    why = _("the run is {status} now").format(status=_status_word(now.status))
                elif (
                    isinstance(now, Ask | runner.Batch) and now.phase.repeat == "after_break"
                ) or (
                    isinstance(now, runner.RollCall)
                    and now.batch is not None
                    and now.batch.phase.repeat == "after_break"
                ):
                    why = _("it stood still too long: the checks after a break come first")
                else:
                    why = _("it was answered elsewhere")
                self.out.print(
                    _(
                        "[bold yellow]Not recorded:[/bold yellow] the run moved on while that "
                        "answer was given ({why})."
                    ).format(why=why)
                )

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        """An event as it lands: an item's outcome, the next take, the takes wrapped."""
        if kind == ev.ITEM_SIGNED_OFF:
            count = len(data["items"])
            with self._voice(data.get("lang")):  # said to the signer, in what they read
                said = ngettext(
                    "  [green]Signed:[/green] {name} ({role}), {count} check",
                    "  [green]Signed:[/green] {name} ({role}), {count} checks",
                    count,
                ).format(name=markup(data["name"]), role=role_name(data["role"]), count=count)
            self.out.print(said)
        elif kind == ev.ITEM_DONE:
            if data["outcome"] in ("skipped-by-condition", "confirmed"):
                return  # said by the SkippedNotice; a confirmation by the sign-off's line
            label, style = OUTCOME_MARKS[data["outcome"]]
            reason = f": {markup(data['reason'])}" if data.get("reason") else ""
            self.out.print(f"  [{style}]{_(label)}[/{style}]{reason}")
        elif kind == ev.TAKE_NEXT:
            word = protocol_take(self.protocol)
            self.out.print(f"\n[bold]{_capital(word)} {data['take']}[/bold]")
        elif kind == ev.TAKES_WRAPPED:
            self.out.print(
                _("  Wrapped after {n} {take}(s).").format(
                    n=data["takes"], take=protocol_take(self.protocol)
                )
            )

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
            freeze_panel(self.out, kind, incident or "ID", langs=set_langs(state))

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
        out = []
        for lang in dict.fromkeys(_signed_in_langs(state)):
            if not lang or lang == walked.lang:
                continue
            shown = translation.item_text(walked, item, lang)
            if not shown.question_main:
                out.append((lang, shown.question))
        return out


def protocol_take(protocol: Protocol | None) -> str:
    """What the protocol calls one pass through its per-take phases: a take, or a run-through
    (a rehearsal); in the interface's language when it is one of the words the tool knows."""
    word = getattr(protocol, "take_word", None) or "take"
    said = TAKE_WORDS.get(word)
    return _(said) if said is not None else word


# Translators: a "take" is one filmed attempt at a shot; a "run-through" is one rehearsal pass.
TAKE_WORDS = {"take": N_("take"), "run-through": N_("run-through")}

# What a person types for each kind of check, and the same when "na" is allowed.
PROMPTS = {
    "confirm": N_("{who}: yes or no"),
    "count": N_("{who}: the number"),
    "choice": N_("{who}: number or name"),
    "text": N_("{who}: your answer"),
}
NA_PROMPTS = {
    "confirm": N_("{who}: yes or no (or na)"),
    "count": N_("{who}: the number (or na)"),
    "choice": N_("{who}: number or name (or na)"),
    "text": N_("{who}: your answer (or na)"),
}
KIND_HINTS = {
    "confirm": N_("you do it: y or n"),
    "count": N_("you do it: the number"),
    "choice": N_("you do it: choose one"),
    "text": N_("you write it"),
}


def _person(name: str, role: str) -> str:
    return _("{name} ({role})").format(name=visible(name), role=role_name(role))


def _capital(word: str) -> str:
    return word[:1].upper() + word[1:]


def _yes_words() -> set[str]:
    """Yes in the interface's language too (`s`, `sí`), beside y and yes, which always work."""
    # Translators: the words for yes that a person may type, separated by spaces, lower case.
    return set(_("y yes").split())


def _no_words() -> set[str]:
    # Translators: the words for no that a person may type, separated by spaces, lower case.
    return set(_("n no").split())


def _keys(typed: str) -> str:
    """One-key answers typed in the interface's language, as y and n: `ssn` -> `yyn`. Only when
    the language's keys are single letters other than h (the hold key is never an answer)."""
    yes = {w for w in _yes_words() if len(w) == 1} - {HOLD_KEY}
    no = {w for w in _no_words() if len(w) == 1} - {HOLD_KEY}
    if not typed or not set(typed) <= yes | no | {"y", "n"}:
        return typed
    return "".join("y" if key in yes or key == "y" else "n" for key in typed)


def _confirm(question: str) -> bool:
    """Yes or no with no default (a stray Enter decides nothing), as Click's confirm, but in the
    interface's words: `s` and `sí` are yes to a Spanish reader, y and yes always are."""
    while True:
        raw = str(typer.prompt(_("{question} [y/n]").format(question=question)))
        word = _yes_no_word(raw)
        if word in ("yes", "no"):
            return word == "yes"
        typer.echo(_("Type y or n."), err=True)  # `yn` or a typo: say what is asked


def _yes_no_word(raw: str) -> str:
    """A yes or no in the interface's language, as the runner reads it (yes, no)."""
    word = raw.strip().lower()
    if word in _yes_words():
        return "yes"
    if word in _no_words():
        return "no"
    return raw


def _status_word(status: str) -> str:
    from safetycli.render.fmt import status as said

    return said(status)


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
        said = {"name": visible(str(raised_by.get("name"))), "at": at}
        if role and authenticated:
            line = _("Raised by: {name} ({role}) at {at}")
        elif role:
            line = _("Raised by: {name} ({role}), without a PIN at {at}")
        elif authenticated:
            line = _("Raised by: {name} (not on the roster) at {at}")
        else:
            line = _("Raised by: {name} (not on the roster), without a PIN at {at}")
        body.append(line.format(**said, role=role_name(role) if role else "") + "\n")
    else:
        body.append(_("Raised at {at}").format(at=at) + "\n")


def hold_panel(
    out: Console,
    state: RunState,
    hold: runner.Hold | None,
    clear_roles: list[str],
    *,
    zone: str = "UTC",
    incident: str | None = None,
    translated: list[tuple[str, str]] | None = None,
    plain: bool = False,
) -> None:
    """The full-width red panel nobody can miss: what failed (and the failed check in the other
    languages of the crew signed in, `translated`: (language, question)), who raised it and
    when (in the production's `zone`), who clears it; said in the laptop's language, then again
    in each other language of the people signed in (a hold is said to the whole set). `plain`:
    the same words as plain lines, for a pipe or a file (`stop_said`)."""
    if hold is None:
        return
    langs = set_langs(state)
    at = _at(hold.raised_at, state.day or None, zone)  # a time, the same in every language

    def said() -> Text:
        body = Text()
        body.append(
            _("STOP WORK. Nothing proceeds until the hold is cleared.") + "\n\n", style="bold"
        )
        own = dict(translated or []).get(current())
        if own is not None:  # the failed check in this block's words, then the log's record
            body.append(_("What failed: {reason}").format(reason=visible(own)) + "\n")
            said = _("as recorded: {reason}").format(reason=visible(hold.reason))
            body.append(f"  {said}\n")
        else:
            body.append(_("What failed: {reason}").format(reason=visible(hold.reason)) + "\n")
        for lang, question in translated or []:
            # A language we do not speak: its words for the check, in the first block.
            if lang not in langs and current() == langs[0]:
                body.append(f"  [{lang}] {visible(question)}\n")
        _raised(body, hold.raised_by, hold.authenticated, at)
        roles = _and(role_name(r) for r in clear_roles)
        if incident:  # the hold goes with the incident it recorded: closing that clears both
            body.append(
                _("To clear: {roles} close incident {incident}, each with their PIN:").format(
                    roles=roles, incident=incident
                )
                + "\n"
            )
            body.append(
                "  "
                + _('safetycli incident close {incident} --action "what was done"').format(
                    incident=incident
                )
                + "\n"
            )
        else:
            body.append(
                _("To clear: {roles}, each in person with their PIN:").format(roles=roles) + "\n"
            )
            body.append(
                "  "
                + _('safetycli clear {run} --note "what was found and done"').format(
                    run=state.run_id
                )
                + "\n"
            )
        body.append(_("then:  safetycli resume {run}").format(run=state.run_id))
        return body

    stop_said(out, _hold_title(langs), langs, said, plain=plain)


def stop_said(
    out: Console, title: str, langs: list[str], said: Callable[[], Text], *, plain: bool
) -> None:
    """A panel that stops work, as the red box at a terminal; for a pipe or a file (`plain`),
    the same words as plain lines (its title, then each line of each language's block, a line
    naming the language between blocks): a script or a log file gets the facts, not 200 columns
    of box drawing and padding, as `status` and `incident report` print when piped."""
    if not plain:
        out.print(Panel(_in_each(langs, said), title=title, **PANEL))
        return
    lines = [title]
    for lang in langs if len(langs) > 1 else [None]:
        with speaking(lang) if lang else nullcontext():
            if lang:
                lines.append(f"-- {language_name(lang)} --")
            lines += [line.rstrip() for line in said().plain.split("\n") if line.strip()]
    for line in lines:
        typer.echo(line, file=out.file)


def _signed_in_langs(state: RunState) -> list[str | None]:
    """The roster language of each person signed in to the run now, in the order they signed in."""
    return [state.langs.get(role) for role in state.signed_in]


def set_langs(state: RunState | None) -> list[str]:
    """The languages a panel to the whole set is said in: the laptop's, then each other shipped
    language of the people signed in to the run, once."""
    return with_everyone(_signed_in_langs(state) if state is not None else [])


def _in_each(langs: list[str], said: Callable[[], Text]) -> Text:
    """The panel's words in each language of `langs` in turn, each after a rule naming its
    language in its own words (`── español (es) ──`): nobody reads a HOLD in a language they
    may not fully understand, and nobody has to guess which block is theirs."""
    if len(langs) <= 1:
        return said()
    body = Text()
    for n, lang in enumerate(langs):
        with speaking(lang):
            if n:
                body.append("\n\n")
            body.append(f"── {language_name(lang)} ──\n", style="bold")
            body.append_text(said())
    return body


# The panel that stops work: white on red, full width, with room around the words.
PANEL: dict[str, Any] = {"style": "bold white on red", "expand": True, "padding": (1, 2)}


def _hold_title(langs: list[str] | None = None) -> str:
    """ "HOLD" in each language of the panel, the laptop's first, and always the English word
    too: on a mixed set the English word is the one called out loud, and nobody may mistake the
    panel for another (`ALTO · HOLD`, `HOLD · ALTO`)."""
    # Translators: the title of the red panel that stops all work; keep it short and loud.
    return _loud(N_("HOLD"), langs)


def _loud(word: str, langs: list[str] | None) -> str:
    """A panel's title word in each language of `langs` (the interface's alone by default),
    then the English word when none of them said it."""
    said: list[str] = []
    for lang in langs or [current()]:
        with speaking(lang):
            said.append(_(word))
    return " · ".join(dict.fromkeys([*said, word]))


def _and(words: Iterator[str] | list[str]) -> str:
    """`armorer and 1st AD`: a list of roles joined as the language joins them."""
    # Translators: the word joining the last two of a list ("armorer and 1st AD").
    return _(" and ").join(words)


def freeze_panel(out: Console, kind: str, incident: str, *, langs: list[str] | None = None) -> None:
    """After a "no" to a check that records an incident: the incident is in the register, and
    nothing is to be touched (the post-incident freeze), instead of the usual unload and count.
    Said in each of `langs` (set_langs), as the HOLD panel is."""
    langs = langs or [current()]
    out.print(
        Panel(
            _in_each(langs, lambda: _freeze_words(kind, incident)),
            # Translators: the title of the red panel after an incident was recorded.
            title=_loud(N_("INCIDENT"), langs),
            **PANEL,
        )
    )


def _freeze_words(kind: str, incident: str) -> Text:
    from safetycli.incidents import KINDS

    spec = KINDS[kind]
    body = Text()
    body.append(
        _("INCIDENT RECORDED: {kind} ({incident}).").format(kind=_(spec.label), incident=incident)
        + "\n\n",
        style="bold",
    )
    if spec.freezes:
        body.append(
            _(
                "Armorer: LEAVE EVERYTHING UNTOUCHED. Do not unload, clear, hand over, return or "
                "count any firearm or round of this scene: keep it pointed safe, where it is, "
                "until it has been examined and the freeze released. The armory refuses every "
                "custody event on them until then:"
            )
            + "\n  "
            + _('safetycli incident release {incident} --note "who examined what"').format(
                incident=incident
            )
            + "\n"
        )
    body.append(
        _(
            "No firearm work starts or goes on anywhere in the production until {roles} close "
            "it, with what was done:"
        ).format(roles=_and([role_name(r) for r in spec.closed_by]))
        + "\n  "
        + _('safetycli incident close {incident} --action "what was done"').format(
            incident=incident
        )
    )
    return body


def incident_panel(
    out: Console,
    incident: Incident,
    *,
    zone: str = "UTC",
    warnings: Callable[[], list[str]] | None = None,
    langs: list[str] | None = None,
) -> None:
    """`incident report` of a kind that stops firearm work, at a terminal: as loud as a HOLD,
    since it stops more than a HOLD does (every firearm protocol in the production, until the
    roles its kind names close it). Two plain lines were read past on the trial set. Said in
    each of `langs` (the laptop's language by default), as the HOLD panel is; `warnings` says
    its lines in the language being spoken."""
    langs = langs or [current()]
    out.print(
        Panel(
            _in_each(
                langs, lambda: _incident_words(incident, zone, warnings() if warnings else [])
            ),
            # Translators: the title of the red panel after an incident that stops all firearm
            # work was reported; keep it short and loud.
            title=_loud(N_("STOP FIREARM WORK"), langs),
            **PANEL,
        )
    )


def _incident_words(incident: Incident, zone: str, warnings: list[str]) -> Text:
    body = Text()
    body.append(
        _(
            "STOP FIREARM WORK: no firearm protocol starts or goes on anywhere in the production "
            "until this incident is closed."
        )
        + "\n\n",
        style="bold",
    )
    body.append(
        _("Incident {id} recorded: {kind}").format(id=incident.id, kind=_(incident.spec.label))
        + "\n"
    )
    body.append(_("What happened: {text}").format(text=visible(incident.text)) + "\n")
    if incident.involved():
        body.append(_("Involved: {what}").format(what=visible(incident.involved_said())) + "\n")
    at = _at(incident.at, None, zone)
    if incident.reported_by is None:
        body.append(_("Reported anonymously at {at}").format(at=at) + "\n")
    else:
        body.append(
            _("Reported by: {name} at {at}").format(name=visible(incident.who), at=at) + "\n"
        )
    body.append(
        "\n"
        + _(
            "Stopped until it is closed: every protocol the armorer signs; a new run is refused "
            "and an open run stops at its next step."
        )
        + "\n"
    )
    if incident.frozen_now and (incident.firearms or incident.lots):
        what = ", ".join([*incident.firearms, *incident.lots])
        body.append(
            _(
                "FROZEN: {what}: leave everything exactly as it is (no unloading, hand-over, "
                "return or count) until it has been examined and released:"
            ).format(what=visible(what))
            + "\n  "
            + _('safetycli incident release {incident} --note "who examined what"').format(
                incident=incident.id
            )
            + "\n"
        )
    body.append(
        _("To close: {roles}, each in person with their PIN:").format(
            roles=_and([role_name(r) for r in incident.closers])
        )
        + "\n"
    )
    body.append(f"  {visible(incident.close_command())}")
    for line in warnings:
        body.append("\n" + _("WARNING: {text}").format(text=visible(line)))
    return body


def scene_panel(
    out: Console,
    stop: SceneStop,
    *,
    resume: str | None = None,
    zone: str = "UTC",
    langs: list[str] | None = None,
    plain: bool = False,
) -> None:
    """The same red panel for a scene held from beyond this run: a stop-work called on the set,
    or another run of the scene on hold. Said in each of `langs` (set_langs), as a HOLD is;
    `plain`: as plain lines, for a pipe or a file (`stop_said`)."""
    langs = langs or [current()]
    words = lambda: _scene_words(stop, resume, zone)  # noqa: E731 - said once per language
    stop_said(out, _hold_title(langs), langs, words, plain=plain)


def _unverified_words(stop: SceneStop, resume: str | None, zone: str) -> Text:
    """A refused laptop's stop-work (unverified.py): where it comes from, and that it stops work
    though nothing vouches for it."""
    u = stop.source
    assert u is not None
    body = Text()
    if u.is_incident:
        head = _("STOP WORK: no firearm work anywhere. Nothing proceeds until it is cleared.")
    else:
        head = _("STOP WORK on scene {scene}. Nothing proceeds until it is cleared.")
    body.append(head.format(scene=visible(stop.scene)) + "\n\n", style="bold")
    said = _("Unverified {what} from laptop {device}: {reason}").format(
        what=u.what_said, device=visible(u.device), reason=visible(u.reason)
    )
    body.append(said[:1].upper() + said[1:] + "\n")  # a language may put the kind first
    body.append(
        _(
            "The server refused that laptop's sync ({alarm}): not verified, and it stops work "
            "all the same."
        ).format(alarm=visible(u.alarm))
        + "\n"
    )
    _raised(body, stop.raised_by, stop.authenticated, _at(stop.raised_at, None, zone))
    roles = [role_name(r) for r in u.clear_roles]
    listed = _and([", ".join(roles[:-1]), roles[-1]]) if len(roles) > 1 else roles[0]
    body.append(_("To clear: {roles}, each in person with their PIN:").format(roles=listed) + "\n")
    body.append(f"  {visible(u.clear_said())}\n")
    if resume:
        body.append(_("then:  safetycli resume {run}").format(run=resume))
    return body


def _scene_words(stop: SceneStop, resume: str | None, zone: str) -> Text:
    body = Text()
    if stop.incident is not None:
        incident = stop.incident
        body.append(
            _("STOP WORK: no firearm work anywhere until this incident is closed.") + "\n\n",
            style="bold",
        )
        body.append(
            _("Open {kind} {id}: {text}").format(
                kind=_(incident.spec.label), id=incident.id, text=visible(incident.text)
            )
            + "\n"
        )
        if incident.involved():
            body.append(_("Involved: {what}").format(what=visible(incident.involved_said())) + "\n")
        body.append(
            _("Reported by: {name} at {at}").format(
                name=visible(incident.who), at=_at(incident.at, None, zone)
            )
            + "\n"
        )
        body.append(
            _("To close: {roles}, each in person with their PIN:").format(
                roles=_and([role_name(r) for r in incident.closers])
            )
            + "\n"
        )
        body.append(f"  {visible(incident.close_command())}\n")
        if resume:
            body.append(_("then:  safetycli resume {run}").format(run=resume))
        return body
    if stop.source is not None:
        return _unverified_words(stop, resume, zone)
    body.append(
        _("STOP WORK on scene {scene}. Nothing proceeds until it is cleared.").format(
            scene=visible(stop.scene)
        )
        + "\n\n",
        style="bold",
    )
    if stop.run is not None:
        line = _("Run {run} of this scene is on hold: {reason}")
    else:
        line = _("Stop-work called on the scene: {reason}")
    body.append(line.format(run=stop.run, reason=visible(stop.reason)) + "\n")
    _raised(body, stop.raised_by, stop.authenticated, _at(stop.raised_at, None, zone))
    if stop.run:
        line = _("To clear: whoever clears that run's holds, each in person with their PIN:")
    else:
        line = _("To clear: {roles}, each in person with their PIN:").format(
            roles=_and([role_name("armorer"), role_name("first_ad")])
        )
    body.append(line + "\n")
    body.append(f"  {visible(stop.clear_command)}\n")
    if resume:
        body.append(_("then:  safetycli resume {run}").format(run=resume))
    return body
