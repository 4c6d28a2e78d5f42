"""The `safetycli` command: thin Typer commands over the core modules.

Command modules import only Typer at the top; each command imports the core it needs when it runs,
so `safetycli --help` starts as fast as a bare Typer app.
"""

import os
import sys
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from safetycli.i18n import _


class _LazyGroup(TyperGroup):
    """A command group whose module is imported, and whose commands Typer builds, only when the
    group is used: `safetycli --help` and every other command pay nothing for it (the armory's
    seventeen commands cost about 16 ms of every start-up when built eagerly). The root help
    lists it by its help text alone."""

    def __init__(self, name: str, module: str, help: str) -> None:
        self._module = module
        self._loaded: dict[str, Any] | None = None
        super().__init__(name=name, help=help, no_args_is_help=True, rich_markup_mode=None)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, Any]:
        if self._loaded is None:
            import importlib

            group = typer.main.get_group(importlib.import_module(self._module).app)
            self._loaded = group.commands
        return self._loaded

    @commands.setter
    def commands(self, value: dict[str, Any]) -> None:
        """Click sets an empty dict at construction; the real commands come on first use."""


# name -> (module, help): the help is repeated here so that listing the group imports nothing.
_LAZY = {
    "armory": (
        "safetycli.cli.armory_cmd",
        "The armory: every firearm and every round, who had it when.",
    ),
    "advisor": (
        "safetycli.cli.advisor_cmd",
        "The safety advisor: halt firearm work, record a scene's risk assessment.",
    ),
    "incident": (
        "safetycli.cli.incident_cmd",
        "Incidents and complaints: report (no PIN needed), list, show, close with what was done.",
    ),
}


# The root's commands and groups, in the order `safetycli --help` lists them, each with the
# module that makes it: a module with `register(app)` adds its commands, the others are a group
# (their `app`). None of them is imported, nor built by Typer, until it is used (`_Commands`).
_BUILT_BY = {
    "init": "safetycli.cli.workspace_cmd",
    "run": "safetycli.cli.run_cmd",
    "resume": "safetycli.cli.run_cmd",
    "hold": "safetycli.cli.run_cmd",
    "clear": "safetycli.cli.run_cmd",
    "abort": "safetycli.cli.run_cmd",
    "correct": "safetycli.cli.correct_cmd",
    "status": "safetycli.cli.status_cmd",
    "report": "safetycli.cli.report_cmd",
    "verify": "safetycli.cli.verify_cmd",
    "sync": "safetycli.cli.sync_cmd",
    "checklists": "safetycli.cli.checklists",
    "crew": "safetycli.cli.crew",
    "log": "safetycli.cli.log_cmd",
    "join": "safetycli.cli.sync_cmd",
}


class _Commands(MutableMapping[str, Any]):
    """The root group's commands, each imported and built by Typer only when asked for: running
    `status` builds `status`, not the thirty-odd commands of the tool (about 12 ms of every
    start-up when all were built: Typer reads each command's signature and makes its options).
    `--help` and the usage errors' suggestions ask for every one, or only their names."""

    def __init__(self, pending: dict[str, Callable[[], Any]]) -> None:
        self._order = list(pending)
        self._pending = dict(pending)
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            make = self._pending.pop(name)  # KeyError: no such command
            self._built[name] = make()
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._pending.pop(name, None)
        self._built[name] = command
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._order:
            raise KeyError(name)
        self._order.remove(name)
        self._pending.pop(name, None)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)


def _typer_like_root() -> typer.Typer:
    """An app with the root's settings: what a command is built under decides its help's shape
    (plain, no Rich) and its errors' handling, as if Typer had built it in the root."""
    return typer.Typer(
        add_completion=False,
        pretty_exceptions_enable=False,
        pretty_exceptions_show_locals=False,
        rich_markup_mode=None,
    )


def _build(name: str, built: dict[str, Any]) -> Any:
    """Typer's click command for root command (or group) `name`, from its module alone. A
    module's commands are built together, once per root (`built`: module -> its group), so
    `--help` builds `run_cmd`'s five commands once, not once for each."""
    import importlib

    where = _BUILT_BY[name]
    group = built.get(where)
    if group is None:
        module = importlib.import_module(where)
        holder = _typer_like_root()
        if hasattr(module, "register"):
            module.register(holder)
            group = built[where] = typer.main.get_group(holder)
        else:
            return _subgroup(module.app, name, holder)
    return group.commands[name]


def _subgroup(app: typer.Typer, name: str, holder: typer.Typer) -> Any:
    """Group `name` (`checklists`, `log`, `crew`) with each of its commands built by Typer only
    when asked for, as the root's: `checklists list` built all five checklists commands, about
    1 ms of its start-up. The group itself (its help, its options) is Typer's, made from a copy
    of the app without its commands."""
    import copy

    shell = copy.copy(app)
    shell.registered_commands = []
    holder.add_typer(shell, name=name)
    group = typer.main.get_group(holder).commands[name]
    pending: dict[str, Callable[[], Any]] = {}
    for info in app.registered_commands:
        assert info.callback is not None  # Typer's own check, made when it builds them
        command = info.name or typer.main.get_command_name(info.callback.__name__)
        pending[command] = lambda info=info: typer.main.get_command_from_info(  # type: ignore[misc]
            info,
            pretty_exceptions_short=holder.pretty_exceptions_short,
            rich_markup_mode=holder.rich_markup_mode,
        )
    commands = _Commands(pending)
    for sub, command in group.commands.items():  # a group of its own, as Typer built it
        commands[sub] = command
    group.commands = commands
    return group


class _Group(TyperGroup):
    """Every command runs inside this group's invoke: the one place where a domain error becomes
    its line on stderr and its exit code, the same from the console script and under CliRunner.
    Its `main` does the same for usage errors (a bad option, a missing argument)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pending: dict[str, Callable[[], Any]] = {}
        built: dict[str, Any] = {}
        for name in _BUILT_BY:
            pending[name] = lambda name=name: _build(name, built)  # type: ignore[misc]
        for name, (module, text) in _LAZY.items():
            pending[name] = lambda name=name, module=module, text=text: _LazyGroup(
                name, module, text
            )
        commands = _Commands(pending)
        for name, command in self.commands.items():  # any Typer built itself
            commands[name] = command
        self.commands = commands

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click prints a usage error as four lines (usage, a hint, a blank, the error, in
        pydantic's words under recent Typer); a crew member needs one line that says what is
        wrong and what would be right, the same shape as every other refusal (usage.py)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except Exception as err:
            from safetycli.cli.usage import usage_error  # only for a command line that failed

            handled = usage_error(err, sys.argv[1:] if args is None else list(args))
            if handled is None:
                raise
            sys.exit(handled)
        # Without standalone mode Click returns the exit code of a `typer.Exit`, or the
        # command's own return value (None: every command here prints and returns nothing).
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: typer.Context) -> object:
        from safetycli.errors import SafetyError
        from safetycli.render.safe import visible  # names from the log may be anyone's text

        try:
            return super().invoke(ctx)
        except SafetyError as err:
            typer.echo(_error(visible(err.message)), err=True)
            raise typer.Exit(err.exit_code) from None
        except typer.Abort:
            # Ctrl-C or end of input at a question. Click would print "Aborted!" and exit 1,
            # which here means "problems found"; a walk-through handles its own pause (exit 4).
            typer.echo(
                "\n"
                + _error(
                    _(
                        "stopped at a question (Ctrl-C or end of input): the command did not "
                        "finish; run it again"
                    )
                ),
                err=True,
            )
            raise typer.Exit(2) from None
        except Exception as err:
            # A read of the log that failed (a damaged page, a disk error): one line, not exit
            # 70. sqlite3 is looked up, not imported: `--help` must not pay for it, and no
            # SQLite error exists before a command imported it. Writes say so themselves.
            sqlite3 = sys.modules.get("sqlite3")
            if sqlite3 is None or not isinstance(err, sqlite3.DatabaseError):
                raise
            from safetycli.logfailures import describe

            typer.echo(_error(describe(err, writing=False)), err=True)
            raise typer.Exit(2) from None


def _error(message: str) -> str:
    """`error: ...`: the prefix scripts look for stays English in every language (grep for it
    in a cron job's mail works on a Spanish set too); the message is in the reader's."""
    return f"error: {message}"


app = typer.Typer(
    cls=_Group,
    name="safetycli",
    help="On-set firearm safety: protocols, sign-offs, holds and a tamper-evident log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from safetycli import __version__

        typer.echo(f"safetycli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="The workspace folder, for every command (also accepted after the command).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options for every command. `--home` here stands in for each command's own `--home`
    (common.py), so `safetycli --home X status` and `safetycli status --home X` are one thing."""
    from safetycli import i18n
    from safetycli.cli.common import set_home_before

    set_home_before(home)
    # The interface's language from the environment; a workspace's config.toml may say more
    # once the command finds its workspace (common.workspace).
    i18n.use(i18n.resolve())


def entry() -> None:
    """The console script and `python -m safetycli`: `main`, then the process ends without
    Python's teardown (quickexit.py); nothing runs after this in the process."""
    from safetycli.cli import quickexit

    quickexit.arm()
    try:
        main()
    except SystemExit as done:
        quickexit.leaving(done.code)
        raise
    quickexit.leaving(None)


def main() -> None:
    """Entry point: domain errors become one line and their exit code; nothing else leaks."""
    from safetycli.errors import SafetyError
    from safetycli.render.safe import visible

    try:
        app()
    except SafetyError as err:
        typer.echo(_error(visible(err.message)), err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.echo(_("interrupted: nothing was lost; anything confirmed is in the log"), err=True)
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - the last line of defence: never a traceback
        if os.environ.get("SAFETYCLI_DEBUG"):
            raise
        typer.echo(
            _error(
                _(
                    "internal error ({kind}); nothing recorded was lost. Set SAFETYCLI_DEBUG=1 "
                    "to see details and report it."
                ).format(kind=type(err).__name__)
            ),
            err=True,
        )
        sys.exit(70)
