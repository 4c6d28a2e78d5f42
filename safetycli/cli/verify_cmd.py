"""`safetycli verify`: recompute the log's hash chain and say plainly whether it still holds.

Beyond the chain: every event's device MAC (devicekey.py), what the roster's events mean and the
stored credentials against them (audit.py), and SQLite's verdict on the file (structcheck.py).

Exit 0 intact, 1 altered (the log is evidence: a missing, replaced or damaged file counts as
altered, and so does a log whose MACs cannot be checked because its device key is not here),
2 bad input. The verdict goes to stdout in either format, so a script can read it.
"""

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safetycli.cli.central_opt import CentralOption
from safetycli.cli.common import FormatOption, Home, TableOrJson
from safetycli.errors import SafetyError
from safetycli.i18n import _, ngettext

if TYPE_CHECKING:
    from safetycli.headmark import Mark
    from safetycli.ledger import Ledger
    from safetycli.storage import Problem, VerifyResult
    from safetycli.workspace import Workspace


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)


def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            metavar="[SEQ:]HASH",
            help="The log head printed on an earlier report (SEQ:HASH, or at least 12 hex digits"
            " of the hash): also proves nothing up to it was rewritten since.",
            show_default=False,
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="A copy of the workspace's device key file, to check the MACs on a machine other"
            " than the set laptop.",
            show_default=False,
        ),
    ] = None,
    repair_views: Annotated[
        bool,
        typer.Option(
            "--repair-views",
            help="When the log holds and only the run-status table or the armory checkpoint"
            " (derived from it) disagrees with it, rebuild them from the log and say what"
            " changed.",
        ),
    ] = False,
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    central: CentralOption = None,
    home: Home = None,
) -> None:
    """Recompute the log's hash chain and device MACs and check what its roster events mean:
    0 if intact; 1 if altered, naming the first bad event. With --central, every device's
    chain on the production's server, and the alarms it raised. With --repair-views, a
    run-status table that disagrees with an intact log is rebuilt from it (no PIN: it writes
    no event, only re-derives what the log already says)."""
    from safetycli.cli.common import print_json, workspace

    if central is not None:
        if repair_views:
            raise SafetyError("--repair-views repairs this laptop's log, not --central")
        from safetycli.cli.central_opt import verify_central

        raise typer.Exit(verify_central(central, fmt is TableOrJson.json))
    import sqlite3

    from safetycli.headmark import HeadMarks, vanished
    from safetycli.storage import GENESIS, LogDamaged, LogEmpty, VerifyResult, parse_head

    if expect_head is not None:
        parse_head(expect_head)  # a mistyped head is bad input (exit 2), before any work
    repaired: list[str] | None = None
    remembered: list[str] = []  # what this laptop now remembers of the verdict (verdict.py)
    key = None
    if key_file is not None:
        from safetycli.devicekey import load_file

        key = load_file(key_file)
    ws = workspace(home)
    path = ws.db_path
    # Read before the log: the mark never leads the log when read in this order (headmark.py).
    mark = HeadMarks(ws.root).read()
    structure = None
    if path.is_file():
        from safetycli.structcheck import StructureCheck

        # The file's structure first: it runs while the rest loads (structcheck.py).
        structure = StructureCheck(path)
        structure.start()
    if structure is None:
        why = f"the log file {path} is missing"
        if mark is not None and mark.seq > 0:
            why = vanished(mark, path, "missing")
        result = VerifyResult(False, 0, 0, GENESIS, 1, why)
    else:
        from safetycli.ledger import Ledger  # the workspace's store; the rest is the interface

        try:
            with Ledger.open(path, create=False) as ledger:
                from safetycli.audit import AuditBeside

                # The meaning checks run beside the chain scan too (audit.py).
                beside = AuditBeside(path)
                beside.start()
                with ExitStack() as stack:
                    result = ledger.verify(
                        expect_head=expect_head,
                        progress=_progress(stack),
                        key=key,
                        sums_key=structure.key,
                    )
                integrity = structure.result(ledger.row_sums)
                if result.ok and mark is not None:
                    result = _against_mark(ledger, result, mark)
                result = _with_audit(result, beside.result(ledger, integrity))
                result = _with_device(ws, ledger, result, mark)
                if repair_views:
                    result, repaired = _repair_views(ledger, result)
                try:
                    remembered = _remember(ws, ledger, result)
                except sqlite3.DatabaseError:
                    pass  # pages verify could not read: every command refuses such a log
        except LogDamaged as err:
            why = err.message
            if isinstance(err, LogEmpty) and mark is not None and mark.seq > 0:
                why = vanished(mark, path, "empty")
            result = VerifyResult(False, 0, 0, GENESIS, 1, why)
    from safetycli.render.safe import visible

    if fmt is TableOrJson.json:
        shown = result.as_json()
        if repair_views:
            shown["repaired"] = repaired
        print_json(shown)
        for line in remembered:  # stdout stays the verdict's JSON alone
            typer.echo(visible(line), err=True)
    else:
        lines = _repair_lines(repaired) if repair_views else []
        for line in [*lines, *_summary(result, expect_head, path), *remembered]:
            typer.echo(visible(line))
    raise typer.Exit(0 if result.ok else 1)


def _remember(ws: "Workspace", ledger: "Ledger", result: "VerifyResult") -> list[str]:
    """Write the verdict down for every later command when the log cannot be trusted, and take
    it away when it verifies (verdict.py); what to say about it. MACs that could not be checked
    here (no key on this machine) are not a finding about the log: nothing is written for them.
    A log verify could not open at all is refused by every command already (no verdict)."""
    from safetycli import verdict
    from safetycli.headmark import HeadMarks

    marks = HeadMarks(ws.root)
    path = marks.verdict
    if result.ok:
        try:
            was = verdict.clear(path)
        except OSError as err:
            return [
                _("The earlier alarm could not be taken away ({path}: {error}).").format(
                    path=path, error=err.strerror
                )
            ]
        if was is None or was.first != ledger.hash_at(1) or was.workspace != str(marks.root):
            return []
        return [
            _(
                "The alarm recorded on {when} (from event {seq}) is cleared: this log verifies "
                "now, and commands no longer warn about it."
            ).format(when=was.when(), seq=was.seq if was.seq is not None else "?")
        ]
    # The earliest event a problem names first: the line says where trust ends.
    problems = sorted(result.problems, key=lambda p: (p.seq is None, p.seq or 0))
    if result.first_bad_seq is None and not problems:
        return []  # the MACs alone were not checked
    if result.first_bad_seq is not None:
        seq: int | None = result.first_bad_seq
        why = result.reason or (problems[0].reason if problems else "")
        more = len(problems)
    else:
        seq, why, more = problems[0].seq, problems[0].reason, len(problems) - 1
    from safetycli.ledger import now_utc

    found = verdict.Verdict(
        seq,
        why,
        more,
        now_utc(),
        "{}:{}".format(*ledger.head()),
        ledger.hash_at(1) or "",
        str(marks.root),
    )
    try:
        verdict.record(path, found)
    except OSError as err:
        return [
            _(
                "This laptop could not write the alarm down for other commands ({path}: "
                "{error}): until that is fixed, only verify says it."
            ).format(path=path, error=err.strerror)
        ]
    return [
        _(
            "Until a verify passes, every command on this laptop that opens this log says so "
            "(ALARM), and work is still recorded."
        )
    ]


def _repair_views(
    ledger: "Ledger", result: "VerifyResult"
) -> tuple["VerifyResult", list[str] | None]:
    """(the verdict after the repair, what was repaired). Only a log that holds is a source to
    rebuild from: the chain whole, every MAC checked, nothing else wrong but the table. Else the
    verdict stands and nothing is touched (None). The table is derived: no event, no PIN."""
    from safetycli.records import replace
    from safetycli.storage import Problem

    wrong = set(ledger.run_view_problems())
    others = [p for p in result.problems if p.reason not in wrong]
    failing = not result.ok and not wrong  # failing for a reason of its own
    if result.first_bad_seq is not None or result.unchecked or others or failing:
        return result, None
    if not wrong:
        return result, []
    repaired = ledger.repair_run_view()
    left = [Problem(None, line) for line in ledger.run_view_problems()]  # checked again
    return replace(result, ok=not left, problems=tuple(left)), repaired


def _repair_lines(repaired: list[str] | None) -> list[str]:
    if repaired is None:
        return [
            "NOT REPAIRED: the run-status table is rebuilt only from a log that holds, and this"
            " one does not (below)."
        ]
    if not repaired:
        return ["The run-status table already agrees with the log: nothing to repair."]
    count = len(repaired)
    armory = [line for line in repaired if "armory checkpoint" in line]
    what = " and ".join(
        name
        for name, found in (
            ("the run-status table", len(armory) < count),
            ("the armory checkpoint", armory),
        )
        if found
    )
    return [
        *(f"REPAIRED: {line}" for line in repaired),
        f"Rebuilt {what} from the log ({count} difference"
        f"{'s' if count > 1 else ''} put right; the log itself was not touched).",
    ]


def _with_device(
    ws: "Workspace", ledger: "Ledger", result: "VerifyResult", mark: "Mark | None"
) -> "VerifyResult":
    """The log must be the one this workspace's config and mark name (workspace.py)."""
    from safetycli.records import replace
    from safetycli.storage import Problem

    try:
        mismatch = ws.device_mismatch(ledger, mark)
    except SafetyError as err:  # an unreadable config.toml
        mismatch = err.message
    if mismatch is None:
        return result
    return replace(result, ok=False, problems=(*result.problems, Problem(None, mismatch)))


def _with_audit(result: "VerifyResult", found: "list[Problem]") -> "VerifyResult":
    """The meaning checks (audit.py), added to what the chain said."""
    from safetycli.records import replace

    problems = tuple(found)
    if not problems:
        return result
    return replace(result, ok=False, problems=problems)


def _against_mark(ledger: "Ledger", result: "VerifyResult", mark: "Mark") -> "VerifyResult":
    """A chain that holds can still be shorter than the log was: the high-water mark says how
    far it reached (headmark.py). A log that went backwards is altered, naming where."""
    from safetycli.headmark import went_back
    from safetycli.storage import VerifyResult

    alarm = went_back(mark, result.head_seq, ledger.hash_at(mark.seq))
    if alarm is None:
        return result
    bad = mark.seq if result.head_seq >= mark.seq else result.head_seq + 1
    return VerifyResult(False, result.events, result.head_seq, result.head, bad, alarm)


def _progress(stack: ExitStack) -> Callable[[int, int], None] | None:
    from safetycli.cli.progress import bar_on_stderr

    return bar_on_stderr(stack, "Verifying the log")


def _summary(result: "VerifyResult", expect_head: str | None, path: Path) -> list[str]:
    head = f"{result.head_seq}:{result.head}"
    if result.ok:
        lines = [
            ngettext(
                "Log intact: {n} event, head {head}",
                "Log intact: {n} events, head {head}",
                result.events,
            ).format(n=result.events, head=head)
        ]
        if expect_head:
            lines.append(
                _("It contains the head you gave ({head}): nothing up to it changed.").format(
                    head=expect_head
                )
            )
        lines.extend(_device_lines(result))
        return lines
    if result.first_bad_seq is None:
        return _not_vouched(result, path)
    bad = result.first_bad_seq
    lines = [_("LOG ALTERED at event {seq}: {why}").format(seq=bad, why=result.reason)]
    if bad is not None and bad > result.events:
        if result.events:
            held = ngettext(
                "Event 1 checks out; from event {seq} on, this log cannot be trusted.",
                "Events 1-{n} check out; from event {seq} on, this log cannot be trusted.",
                result.events,
            )
            lines.append(held.format(n=result.events, seq=bad))
    elif expect_head:
        lines.append(
            _(
                "The chain holds on its own (head {head}), so it was rewritten with fresh hashes "
                "after the head you gave was printed: that report is the true record."
            ).format(head=head)
        )
    else:
        lines.append(
            _(
                "The chain holds on its own (head {head}), so it was rewritten with fresh hashes "
                "after its high-water mark was written."
            ).format(head=head)
        )
    lines.extend(_("PROBLEM: {why}").format(why=problem.reason) for problem in result.problems)
    lines.append(_what_to_do(path))
    return lines


def _what_to_do(path: Path) -> str:
    return _(
        "What to do: copy {path} somewhere safe exactly as it is now (it is evidence), and tell "
        "the producer and the safety rep before anyone relies on this log."
    ).format(path=path)


def _device_lines(result: "VerifyResult") -> list[str]:
    if result.device is None:
        return [
            _("This log has no device key yet (written before keys): its chain is all there is.")
        ]
    if result.macs_from is None or result.macs_from <= 1:
        return [_("Every event carries device {device}'s MAC.").format(device=result.device)]
    return [
        _(
            "Every event from event {seq} on carries device {device}'s MAC (events 1-{before} "
            "were written before the log had a key)."
        ).format(seq=result.macs_from, device=result.device, before=result.macs_from - 1)
    ]


def _not_vouched(result: "VerifyResult", path: Path) -> list[str]:
    """The chain holds, but the MACs could not be checked or the events' meaning does not."""
    head = f"{result.head_seq}:{result.head}"
    chain = ngettext("{n} event, head {head}", "{n} events, head {head}", result.events).format(
        n=result.events, head=head
    )
    lines: list[str] = []
    if result.problems:
        count = len(result.problems)
        lines.append(
            ngettext(
                "LOG DOES NOT HOLD: {count} problem in what it says (the chain itself holds: "
                "{chain})",
                "LOG DOES NOT HOLD: {count} problems in what it says (the chain itself holds: "
                "{chain})",
                count,
            ).format(count=count, chain=chain)
        )
        lines.extend(_("PROBLEM: {why}").format(why=problem.reason) for problem in result.problems)
    if result.unchecked:
        if not lines:
            lines.append(
                ngettext(
                    "The chain holds: {n} event, head {head}.",
                    "The chain holds: {n} events, head {head}.",
                    result.events,
                ).format(n=result.events, head=head)
            )
        lines.append(_("DEVICE MACS NOT CHECKED: {why}.").format(why=result.unchecked))
        lines.append(
            _(
                "Without them nobody can tell whether events were added by someone holding only "
                "the log file: run verify on the set laptop, or give a copy of its key with --key."
            )
        )
    lines.append(_what_to_do(path))
    return lines
