"""The walk-through at the keyboard: plain questions, hidden PINs, a HOLD nobody can miss.

Implements the session's Frontend with Typer's prompts (they work in a real terminal, under a
pseudo-terminal and under Typer's test runner) and Rich output. Every piece of protocol or crew
text is escaped before Rich sees it.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from safetycli import events as ev
from safetycli import runner
from safetycli.production import SceneStop
from safetycli.protocol import Fact, Protocol
from safetycli.render.safe import markup, visible
from safetycli.roles import role_name
from safetycli.runner import Ask, NotApplicable, RunState
from safetycli.session import (
    Answer,
    EventNotice,
    MovedNotice,
    Notice,
    RollCallNotice,
    SignedInNotice,
    SkippedNotice,
    StoppedNotice,
    normalise,
)

OUTCOME_MARKS = {
    "confirmed": ("OK", "green"),
    "refused": ("REFUSED", "bold red"),
    "not-applicable": ("N/A", "yellow"),
    "skipped-by-condition": ("SKIPPED", "dim"),
}


class TerminalFrontend:
    def __init__(self, console: Console, protocol: Protocol) -> None:
        self.out = console
        self.protocol = protocol

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
        return str(typer.prompt(f"{role_name(role)}: your name{visible(hint)}", default=default))

    def pin(self, name: str, role: str, why: str) -> str:
        if why == "sign-in":
            return str(typer.prompt(f"{visible(name)}, your PIN", hide_input=True))
        return str(
            typer.prompt(
                f"{visible(name)} ({role_name(role)}), PIN for this {why}", hide_input=True
            )
        )

    def refused(self, message: str) -> None:
        self.out.print(f"[bold red]Refused:[/bold red] {markup(message)}")

    def answer(self, step: Ask, state: RunState, protocol: Protocol) -> Answer:
        item = step.item
        if step.meaning == "performed":
            self._header(step, protocol)
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
            return self._value(step, f"{who}: what you heard", allow_na=False)
        # With a read-back to follow, the signer's answer is typed hidden: the actor must say
        # back what they heard, not read it off the screen.
        if item.readback:
            self.out.print(
                "  [dim]Typed hidden: it is said back without being read off the screen.[/dim]"
            )
        return self._value(
            step, who, allow_na=item.allow_na and not item.critical, hidden=bool(item.readback)
        )

    def _value(self, step: Ask, who: str, *, allow_na: bool, hidden: bool = False) -> Answer:
        """Asked until it is an answer: a typo is explained and asked again, never a crash."""
        item = step.item
        na = " (or na)" if allow_na else ""
        while True:
            if item.kind == "confirm":
                raw = typer.prompt(f"{who}: yes or no{na}", hide_input=hidden)
            elif item.kind == "count":
                raw = typer.prompt(f"{who}: the number{na}", hide_input=hidden)
            elif item.kind == "choice":
                for i, option in enumerate(item.options or [], 1):
                    self.out.print(f"    {i}. {markup(option)}")
                raw = typer.prompt(f"{who}: number or name{na}", hide_input=hidden)
            else:
                raw = typer.prompt(f"{who}: your answer{na}", hide_input=hidden)
            if allow_na and raw.strip().lower() in ("na", "n/a"):
                reason = typer.prompt("Why does it not apply here?")
                if reason.strip():
                    return NotApplicable(reason)
                continue
            try:
                return normalise(step, raw)
            except Exception as err:  # noqa: BLE001 - a typo is asked again, never a crash
                self.out.print(f"[yellow]{markup(str(err))}[/yellow]")

    def another_take(self, step: runner.AnotherTake) -> bool:
        self.out.print(f"\n[bold]Take {step.take} is done.[/bold]")
        # No default: a stray Enter must not wrap the takes and skip the next take's checks.
        return typer.confirm("1st AD: another take? (no wraps the scene)", default=None)

    def second_run(self, open_runs: list[str], scene: str) -> bool:
        listed = ", ".join(open_runs)
        self.out.print(
            f"[bold yellow]Still open for scene {markup(scene)}:[/bold yellow] {listed}. "
            f"To carry on there: safetycli resume {open_runs[-1]}"
        )
        # No default: a stray Enter must not start a duplicate run.
        return typer.confirm("Start another run of this checklist anyway?", default=None)

    def _header(self, step: Ask, protocol: Protocol) -> None:
        number, total = runner.position(protocol, step)
        if step.phase.repeat == "after_break":  # its number counts breaks, not takes
            take = f" · break {step.take}"
        else:
            take = f" · take {step.take}" if step.take else ""
        self.out.print()
        self.out.rule(
            f"[bold]{markup(step.phase.title)}[/bold]{take} · check {number} of {total}",
            style="cyan",
        )
        self.out.print(f"[bold]{markup(step.item.ask)}[/bold]")
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
                self.out.print(f"\n[bold]Roll call:[/bold] {said} sign in with name and PIN.")
            case SignedInNotice(name=name, role=role):
                self.out.print(f"  [green]Signed in:[/green] {markup(name)} as {role_name(role)}")
            case SkippedNotice(step=step):
                self.out.print(
                    f"  [dim]Skipped: {markup(step.item.ask)} ({markup(step.reason)})[/dim]"
                )
            case EventNotice(event=event):
                self._event(event.kind, event.data)
            case StoppedNotice(scene=SceneStop() as stop, state=state):
                scene_panel(self.out, stop, resume=state.run_id)
            case StoppedNotice(status="held", state=state, hold=hold):
                self.hold_panel(state, hold)
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
                elif isinstance(now, runner.Stopped):
                    why = f"the run is {now.status} now"
                elif isinstance(now, Ask) and now.phase.repeat == "after_break":
                    why = "it stood still too long: the checks after a break come first"
                else:
                    why = "it was answered elsewhere"
                self.out.print(
                    f"[bold yellow]Not recorded:[/bold yellow] the run moved on while that answer "
                    f"was given ({why})."
                )

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        """An event as it lands: an item's outcome, the next take, the takes wrapped."""
        if kind == ev.ITEM_DONE:
            if data["outcome"] == "skipped-by-condition":
                return  # already said by the SkippedNotice
            label, style = OUTCOME_MARKS[data["outcome"]]
            reason = f": {markup(data['reason'])}" if data.get("reason") else ""
            self.out.print(f"  [{style}]{label}[/{style}]{reason}")
        elif kind == ev.TAKE_NEXT:
            self.out.print(f"\n[bold]Take {data['take']}[/bold]")
        elif kind == ev.TAKES_WRAPPED:
            self.out.print(f"  Wrapped after {data['takes']} take(s).")

    def hold_panel(self, state: RunState, hold: runner.Hold | None) -> None:
        hold_panel(self.out, state, hold, runner.clearing_roles(self.protocol, state))


def hold_panel(
    out: Console, state: RunState, hold: runner.Hold | None, clear_roles: list[str]
) -> None:
    """The full-width red panel nobody can miss: what failed, who raised it, who clears it."""
    if hold is None:
        return
    body = Text()
    body.append("STOP WORK. Nothing proceeds until the hold is cleared.\n\n", style="bold")
    body.append("What failed: ")
    body.append(visible(hold.reason) + "\n")
    if hold.raised_by:
        role = hold.raised_by.get("role")
        body.append(f"Raised by: {visible(hold.raised_by['name'])}")
        body.append(f" ({role_name(role)})" if role else " (not on the roster)")
        body.append("" if hold.authenticated else ", without a PIN")
        body.append("\n")
    roles = " and ".join(role_name(r) for r in clear_roles)
    body.append(f"To clear: {roles}, each in person with their PIN:\n")
    body.append(f'  safetycli clear {state.run_id} --note "what was found and done"\n')
    body.append(f"then:  safetycli resume {state.run_id}")
    out.print(Panel(body, title="HOLD", style="bold white on red", expand=True, padding=(1, 2)))


def scene_panel(out: Console, stop: SceneStop, *, resume: str | None = None) -> None:
    """The same red panel for a scene held from beyond this run: a stop-work called on the set,
    or another run of the scene on hold."""
    body = Text()
    body.append(
        f"STOP WORK on scene {visible(stop.scene)}. Nothing proceeds until it is cleared.\n\n",
        style="bold",
    )
    if stop.run is not None:
        body.append(f"Run {stop.run} of this scene is on hold: ")
    else:
        body.append("Stop-work called on the scene: ")
    body.append(visible(stop.reason) + "\n")
    if stop.raised_by:
        role = stop.raised_by.get("role")
        body.append(f"Raised by: {visible(str(stop.raised_by.get('name')))}")
        body.append(f" ({role_name(role)})" if role else " (not on the roster)")
        body.append("" if stop.authenticated else ", without a PIN")
        body.append("\n")
    who = "whoever clears that run's holds" if stop.run else "armorer and 1st AD"
    body.append(f"To clear: {who}, each in person with their PIN:\n")
    body.append(f"  {visible(stop.clear_command)}\n")
    if resume:
        body.append(f"then:  safetycli resume {resume}")
    out.print(Panel(body, title="HOLD", style="bold white on red", expand=True, padding=(1, 2)))
