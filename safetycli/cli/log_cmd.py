"""`safetycli log list` and `log show`: find a run, read its whole record."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from safetycli.cli.common import FormatOption, Home, ListFormat, TableOrJson

app = typer.Typer(
    help="Review the log: list runs, show one run's full record.", no_args_is_help=True
)


@app.command("list")
def list_(
    fmt: Annotated[ListFormat, FormatOption()] = ListFormat.table,
    home: Home = None,
) -> None:
    """Runs, newest first."""
    from safetycli.cli.common import print_csv, print_json, print_table, workspace
    from safetycli.ledger import Ledger
    from safetycli.review import run_summaries

    ws = workspace(home)
    with Ledger.open(ws.db_path) as ledger:
        runs = list(run_summaries(ledger))
    if fmt is ListFormat.json:
        print_json(runs)
        return
    header = ["id", "day", "scene", "protocol", "status", "holds", "started_at", "ended_at"]
    rows = [[r[k] for k in header] for r in runs]
    if fmt is ListFormat.csv:
        print_csv(header, rows)
    else:
        print_table("Runs", header, rows)


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID")],
    fmt: Annotated[TableOrJson, FormatOption()] = TableOrJson.table,
    home: Home = None,
) -> None:
    """One run in order: every sign-off, witness, read-back, hold and note."""
    from safetycli.cli.common import console, print_json, workspace
    from safetycli.ledger import Ledger
    from safetycli.review import run_detail

    ws = workspace(home)
    with Ledger.open(ws.db_path) as ledger:
        detail = run_detail(ledger, run_id)
    if fmt is TableOrJson.json:
        print_json(detail)
        return
    out = console()
    for line in _timeline(detail):
        out.print(line)


def _who(person: dict[str, Any] | None) -> str:
    from safetycli.render.safe import markup

    if not person:
        return "-"
    return f"{markup(person['name'])} ({markup(person['role'])})"


def _timeline(d: dict[str, Any]) -> list[str]:
    from safetycli.render.safe import markup

    lines = [
        f"[bold]Run {markup(d['id'])}[/bold]: {markup(d['protocol']['id'])} "
        f"v{d['protocol']['version']} · scene {markup(d['scene'])} · day {d['day']} · "
        f"[bold]{d['status'].upper()}[/bold]",
        f"started {d['started_at']}" + (f", ended {d['ended_at']}" if d["ended_at"] else ""),
    ]
    if d["context"]:
        facts = ", ".join(f"{k}={v}" for k, v in d["context"].items())
        lines.append(f"facts: {markup(facts)}")
    if d["signed_in"]:
        lines.append("signed in: " + ", ".join(_who(s) for s in d["signed_in"]))
    for hold in d["holds"]:
        cleared = (
            f"cleared {hold['cleared_at']} by {', '.join(_who(c) for c in hold['cleared_by'])}: "
            f"{markup(hold['note'])}"
            if hold["cleared_at"]
            else "[bold red]NOT CLEARED[/bold red]"
        )
        lines.append(
            f"[bold red]HOLD[/bold red] {hold['raised_at']} {markup(hold['reason'])} · {cleared}"
        )
    lines.append("")
    for s in d["signoffs"]:
        take = f" take {s['take']}" if s["take"] else ""
        lines.append(
            f"{s['at']}  {markup(s['phase'])}{take} · {markup(s['item'])} = "
            f"{markup(s['answer'])} · {_who(s['by'])} · {s['outcome'] or 'in progress'}"
        )
        for w in s["witnesses"]:
            lines.append(f"    witnessed by {_who(w)}: {'yes' if w['ok'] else 'NO'}")
        for r in s["readbacks"]:
            lines.append(f"    read back by {_who(r)}: {markup(r['answer'])}")
        if s["reason"]:
            lines.append(f"    [red]{markup(s['reason'])}[/red]")
    for o in d["outcomes"]:
        if o["outcome"] in ("not-applicable", "skipped-by-condition"):
            lines.append(
                f"{o['at']}  {markup(o['item'])}: {o['outcome']} ({markup(o['reason'] or '')})"
            )
    for f in d["failed_pins"]:
        lines.append(f"{f['at']}  wrong PIN: {markup(f['name'])} ({f['role']}, {f['purpose']})")
    return lines
