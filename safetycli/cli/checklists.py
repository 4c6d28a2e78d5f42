"""`safetycli checklists`: list, show and validate protocols.

No `from __future__ import annotations` here: Typer reads every command's signature on every
start, `--help` included, and string annotations make it evaluate each one again (about 1 ms
per three commands; bench/startup.py).
"""

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.common import (
    FormatOption,
    Home,
    ListFormat,
    ListFormatOpt,
    TableOrJson,
    home_of,
)
from safetycli.i18n import _, language_name, ngettext, shipped, speaking

if TYPE_CHECKING:
    from safetycli.catalog import Catalog

app = typer.Typer(
    help="The protocols: list, show as the crew sees them, validate.", no_args_is_help=True
)


def _catalog(home: Path | None) -> "Catalog":
    from safetycli.catalog import load_catalog
    from safetycli.workspace import optional_workspace

    ws = optional_workspace(home_of(home))
    return load_catalog(ws.checklists if ws else None)


@app.command("list")
def list_(fmt: ListFormatOpt = ListFormat.table, home: Home = None) -> None:
    """The shipped protocols and the production's own, with their versions."""
    from safetycli.cli.common import emit_listing
    from safetycli.protocache import listing
    from safetycli.workspace import optional_workspace

    # From the cache of the last listing when no protocol file (nor config.toml) changed.
    ws = optional_workspace(home_of(home))
    rows, problems = listing(ws.checklists if ws else None)
    emit_listing(fmt, "Protocols", ["id", "version", "title", "items", "origin"], rows)
    if problems:
        typer.echo(
            ngettext(
                "warning: {n} problem in protocol files; run `safetycli checklists validate`",
                "warning: {n} problems in protocol files; run `safetycli checklists validate`",
                problems,
            ).format(n=problems),
            err=True,
        )


@app.command("show")
def show(
    protocol_id: Annotated[
        str, typer.Argument(metavar="ID", help="Protocol id, e.g. firearm-scene.")
    ],
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="LANG",
            help="Show the crew's words in this language (es...), where translated; the rest "
            "is marked with the protocol's own language.",
            show_default=False,
        ),
    ] = None,
    home: Home = None,
) -> None:
    """The protocol as the crew will see it: phases, questions, who signs, what stops work."""
    from safetycli.cli.common import console, print_json
    from safetycli.render.protocol_view import protocol_json, protocol_lines

    code = None
    if lang is not None:
        from safetycli.crew import check_lang

        code = check_lang(lang)
    protocol = _catalog(home).get(protocol_id)
    # The view's own words in the language asked for, when we ship it: the page is printed
    # for the reader of that language (as `report --lang`).
    with speaking(code) if shipped(code) else nullcontext():
        if code is not None and code != protocol.lang and code not in protocol.translations:
            typer.echo(
                _("note: {id} has no {lang} translation: shown in {main}, marked [{code}]").format(
                    id=protocol.id,
                    lang=language_name(code),
                    main=language_name(protocol.lang),
                    code=protocol.lang,
                ),
                err=True,
            )
        if fmt is TableOrJson.json:
            print_json(protocol_json(protocol, code))
            return
        out = console()
        for line in protocol_lines(protocol, code):
            out.print(line)


@app.command("translate")
def translate(
    protocol_id: Annotated[
        str, typer.Argument(metavar="ID", help="Protocol id, e.g. firearm-scene.")
    ],
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            metavar="LANG",
            help="The language to translate into (es...).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write it here (replaced whole, once written) instead of printing it.",
            show_default=False,
        ),
    ] = None,
    home: Home = None,
) -> None:
    """The translation file for a translator: every text with its source beside it, what is
    already translated kept, what changed since emptied (its old translation in a comment)."""
    from safetycli.crew import check_lang
    from safetycli.errors import SafetyError
    from safetycli.translation import draft, language_name

    code = check_lang(lang)
    protocol = _catalog(home).get(protocol_id)
    if code == protocol.lang:
        raise SafetyError(
            f"{protocol.id} is written in {language_name(code)}: name another language"
        )
    text = draft(protocol, code)
    if output is None:
        typer.echo(text, nl=False)
        return
    import os

    from safetycli.render.safe import one_line

    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, output)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise SafetyError(f"cannot write {one_line(output)}: {err.strerror}") from None
    typer.echo(
        f"Wrote {one_line(output)}: fill in each empty `{code}:`, then run "
        "`safetycli checklists validate`.",
        err=True,
    )


@app.command("validate")
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (default: every protocol the tool would load)."),
    ] = None,
    home: Home = None,
) -> None:
    """Check protocol files; print `path:line:col: message` for every problem.

    Translations beside them (`ID.es.yaml`) are checked too; untranslated or outdated words are
    warnings.

    Exit 0 when all are valid (warnings or not), 1 when problems were found, 2 when a path
    cannot be read."""
    from safetycli.catalog import id_clash
    from safetycli.errors import SafetyError
    from safetycli.protocache import protocol_files, shipped_dir, yaml_files
    from safetycli.protocol import check_with_warnings
    from safetycli.render.safe import one_line
    from safetycli.translation import is_translation_file, main_file
    from safetycli.workspace import optional_workspace
    from safetycli.yamlsource import Problem

    unreadable = 0

    def cannot_read(path: Path, why: str | None) -> None:
        nonlocal unreadable
        unreadable += 1
        typer.echo(f"error: cannot read {one_line(path)}: {why or 'unknown reason'}", err=True)

    targets = list(paths or [])
    if not targets:
        targets.append(shipped_dir())
        ws = optional_workspace(home_of(home))
        if ws and ws.checklists.is_dir():
            targets.append(ws.checklists)
    else:  # files named one by one may use this production's roles, if there is one here
        try:
            ws = optional_workspace(home_of(home))
        except SafetyError:
            ws = None
    problems = 0
    bad_files = 0
    warnings = 0
    roles: dict[str, str] = {}
    if ws is not None:
        try:
            roles = ws.roles()
        except SafetyError as err:  # the protocols are still checked, against the shipped roles
            where = getattr(err, "path", ws.config_path)  # config.toml, or received-roles.toml
            typer.echo(f"{one_line(where)}:1:1: {err.message.split(': ', 1)[-1]}")
            problems += 1
            bad_files += 1
    shipped = shipped_dir().resolve()
    files: list[Path] = []
    for target in targets:
        try:
            if target.is_dir():
                found = protocol_files(target)
                orphans = [p for p in yaml_files(target) if p not in found and not main_file(p)]
                if paths and not found and not orphans:
                    typer.echo(f"note: no .yaml or .yml files in {one_line(target)}", err=True)
                files += found + orphans
            elif target.is_file():
                # A translation is checked with its protocol, beside it.
                files.append(
                    (main_file(target) or target) if is_translation_file(target) else target
                )
            elif target.exists():
                cannot_read(target, "not a regular file or folder")
            else:
                cannot_read(target, "no such file or folder")
        except OSError as err:
            cannot_read(target, err.strerror)

    seen: set[Path] = set()
    ids: dict[str, Path] = {}
    for path in files:
        key = path.resolve()
        if key in seen:  # named twice (a file and its folder): check it once
            continue
        seen.add(key)
        if is_translation_file(path):  # no protocol file beside it to translate
            found = [Problem(str(path), 1, 1, orphan_message(path))]
            for problem in found:
                typer.echo(str(problem))
            problems += 1
            bad_files += 1
            continue
        try:
            protocol, found, warned = check_with_warnings(
                path, shipped=shipped in key.parents, roles=roles
            )
        except OSError as err:
            cannot_read(path, err.strerror)
            continue
        warnings += len(warned)
        if protocol is not None and protocol.id in ids:
            found = [id_clash(path, protocol, ids[protocol.id])]
        elif protocol is not None:
            ids[protocol.id] = path
        for problem in sorted([*found, *warned], key=lambda p: (p.path, p.line, p.col)):
            typer.echo(str(problem))
        problems += len(found)
        bad_files += bool(found)

    checked = f"checked {len(seen)} file(s)"
    verdict = f"{problems} problem(s) in {bad_files} file(s)" if problems else "all valid"
    if warnings:  # untranslated or outdated words: shown in the main language, never refused
        verdict += f"; {warnings} warning(s)"
    if unreadable:
        verdict += f"; {unreadable} path(s) could not be read"
    typer.echo(f"{checked}: {verdict}", err=True)
    if unreadable:
        raise typer.Exit(2)
    if problems:
        raise typer.Exit(1)


def orphan_message(path: Path) -> str:
    from safetycli.translation import FILE_RE

    found = FILE_RE.match(path.name)
    stem = found["stem"] if found else path.stem
    return (
        f"a translation of `{stem}`, but no {stem}.yaml is beside it: put it next to the "
        "protocol it translates, or rename it"
    )


@app.command("publish")
def publish(
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID]...",
            help="The production's own protocols to send (default: every one not yet sent).",
            show_default=False,
        ),
    ] = None,
    approve_by: Annotated[
        str | None,
        typer.Option(
            "--approve-by",
            metavar="PRODUCER",
            help="The producer approving (default: the only producer on the roster).",
            show_default=False,
        ),
    ] = None,
    pin_stdin: Annotated[
        bool, typer.Option("--pin-stdin", help="Read the producer's PIN from stdin.")
    ] = False,
    home: Home = None,
) -> None:
    """A producer sends this laptop's own protocols, with the production's own roles they name,
    to the production's other laptops, with their PIN: each laptop installs the text at its next
    `safetycli sync`, so every laptop runs the same bytes (raise `version` when changing one).
    0 sent; 2 nothing to send or refused."""
    from safetycli import protoshare
    from safetycli.cli.common import workspace
    from safetycli.cli.crew import _Pins, _producer
    from safetycli.render.safe import one_line

    ws = workspace(home)
    with ws.open_log() as ledger:
        sent = protoshare.to_send(ledger, ws.checklists, list(ids or ()))  # before any PIN
        producer = _producer(ledger, approve_by)
        pin = _Pins(pin_stdin).existing(producer, "producer")
        protoshare.publish(ledger, sent, (producer, pin))
    for event in sent:
        d = event.data
        langs = ", ".join(sorted(d.get("translations") or {}))
        with_them = f" with its translations ({langs})" if langs else ""
        roles = ", ".join(sorted(d.get("roles") or {}))
        with_roles = f" and the production's roles it names ({roles})" if roles else ""
        typer.echo(
            one_line(
                f"Published {d['protocol']} v{d['version']} ({d['sha256'][:12]}){with_them}"
                f"{with_roles}, approved by {producer}: the other laptops take it at their next "
                "sync."
            )
        )
