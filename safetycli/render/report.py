"""The producer's report in Markdown, HTML, JSON and CSV, from `review.build_report`.

Every value from the log is data: Markdown escapes it (`safe.md`), HTML goes through Jinja2 with
autoescaping and a finaliser that shows control characters as text, CSV neutralises formulas
(`safe.csv_cell`). The HTML is one self-contained file with its own CSS and a Content Security
Policy that allows no script at all: a mailed report cannot run anything even if escaping failed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from safetycli.i18n import N_, _, ngettext
from safetycli.render import fmt
from safetycli.render.safe import csv_cell, json_text, md, visible

TITLE = N_("Firearm safety report")  # in the reader's language where shown
# Under the head of a log that failed its check: the head is not the log's last word.
ALARM_HEAD = N_(
    "This log failed its check (see the ALARM at the top): events after this head may be "
    "missing or altered, so this head proves nothing about them."
)


# --- Markdown ------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GFM table; the cells are already escaped."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out.extend("| " + " | ".join(row) + " |" for row in rows)
    return out


def _section(lines: list[str], title: str, header: list[str], rows: list[list[str]]) -> None:
    lines.append(f"### {title} ({len(rows)})")
    lines.append("")
    lines.extend(_table(header, rows) if rows else [_("None.")])
    lines.append("")


def _when(e: dict[str, Any], key: str, zone: str) -> str:
    """When something happened, in the production's zone: the time on the entry's shooting day,
    with the date when it fell on another (a night shoot past local midnight)."""
    return fmt.clock(e[key], _day(e, e[key], zone), zone)


def _day(e: dict[str, Any], at: str | None, zone: str) -> str | None:
    """The day an entry's time is read against: its run's shooting day; for an event outside
    any run (a roster change, a PIN refused) its own local date, as it has no shooting day."""
    if "run" in e and e["run"] is None and at:
        return fmt.local_date(at, zone)
    return e.get("day")


def _check(e: dict[str, Any]) -> str:
    """`Armorer showed the firearm clear ...? (shown-clear, take 2)`: the question the crew
    was asked, then the id in small print; escaped."""
    question, small = fmt.check(e)
    return md(question) + (f" ({md(small)})" if small else "")


def zone_line(report: dict[str, Any], zone: str) -> str:
    """`America/Denver (UTC-6)`: the zone every time on the page is in, named once, with its
    offset on the days shown (when the report was made if it shows no run)."""
    runs = report["runs"]
    started = getattr(runs, "started", None)  # a spool keeps them (runspool.py)
    moments = (started if started is not None else [run["started_at"] for run in runs]) or [
        report["generated_at"]
    ]
    return fmt.zone_label(zone, moments)


def _run_cell(e: dict[str, Any]) -> str:
    if e.get("run") is None:
        return _("outside any run")
    return _("{run} · scene {scene}").format(run=md(e["run"]), scene=md(e["scene"]))


def to_markdown(report: dict[str, Any], zone: str = "UTC") -> str:
    """The report as Markdown, every time in `zone` (the workspace's `timezone`)."""
    return "".join(markdown_chunks(report, zone))


def markdown_chunks(report: dict[str, Any], zone: str = "UTC") -> Iterator[str]:
    """`to_markdown` in pieces, a run at a time, for writing as the runs are read back."""
    ex = report["exceptions"]
    c = report["counts"]
    production = f"{md(report['production'])}: " if report["production"] else ""
    runs = ngettext("{n} run", "{n} runs", c["runs"]).format(n=c["runs"])
    signatures = ngettext("{n} signature", "{n} signatures", c["signatures"])
    lines = [
        f"# {_(TITLE)}: {production}{md(fmt.period(report))}",
        "",
        _(
            "{runs}: {complete} complete, {held} held, {open} open, {aborted} aborted. "
            "{signatures}. Times in {zone}. Made {made} from the log up to event {seq}."
        ).format(
            runs=runs,
            complete=c["complete"],
            held=c["held"],
            open=c["open"],
            aborted=c["aborted"],
            signatures=signatures.format(n=c["signatures"]),
            zone=md(zone_line(report, zone)),
            made=md(fmt.clock(report["generated_at"], zone=zone)),
            seq=report["head"]["seq"],
        ),
        "",
    ]
    if report.get("log_alarm"):  # first, before any count: this page is not the record
        headline, said, todo = fmt.log_alarm(report["log_alarm"], report["head"]["seq"])
        lines[1:1] = [
            "",
            f"> **{headline}**",
            ">",
            f"> {said}",
            ">",
            f"> **{todo}**",
            ">",
            "> " + _("Found: {line}").format(line=md(report["log_alarm"]["line"])),
        ]
    opened = [i for i in ex.get("incidents", []) if i["status"] == "open"]
    if opened:
        counted = ngettext("{n} open incident", "{n} open incidents", len(opened))
        listed = "; ".join(
            _("{id} {kind}, open {age}, closed by the {who}").format(
                id=md(i["id"]),
                kind=md(i["kind"]),
                age=md(fmt.age(i["age"])),
                who=md(fmt.closers(i)),
            )
            for i in opened
        )
        lines += [f"**{counted.format(n=len(opened))}**: {listed}.", ""]
    lines += ["## " + _("Exceptions"), ""]
    if "between_laptops" in ex:  # read from the central store: every unit's
        _section(
            lines,
            _("Conflicts between laptops"),
            [_("What two laptops recorded apart")],
            # A refused laptop's stop-work among them in the reader's words (fmt.elsewhere).
            [[md(fmt.elsewhere(line, zone))] for line in ex["between_laptops"]],
        )
    if "from_other_laptops" in ex:  # a laptop that synced: what other laptops stopped here
        _section(
            lines,
            _("Stop-work from other laptops"),
            [_("What stopped work here, and who lifted it")],
            [[md(fmt.elsewhere(s, zone))] for s in ex["from_other_laptops"]],
        )
    _section(
        lines,
        _("Incidents and complaints"),
        [
            _("Incident"),
            _("Kind"),
            _("Status"),
            _("Reported"),
            _("By"),
            _("What happened"),
            _("Involved"),
            _("Closed by"),
            _("Action"),
        ],
        [
            [
                md(i["id"]),
                md(i["kind"]),
                (
                    (
                        _("**OPEN {age}**: the {who} close it, firearm work stopped")
                        if i["stops_firearm_work"]
                        else _("**OPEN {age}**: the {who} close it")
                    ).format(age=md(fmt.age(i["age"])), who=md(fmt.closers(i)))
                )
                if i["status"] == "open"
                else _("closed"),
                md(_when(i, "reported_at", zone)),
                md(fmt.who(i["reported_by"])) if i["reported_by"] else _("anonymous"),
                md(i["text"]) + "".join(f" **{md(w)}**" for w in i["warnings"]),
                md(_involved(i)),
                md(fmt.whos(i["closed_by"])) if i["closed_by"] else "",
                md(i["action"] or ""),
            ]
            for i in ex.get("incidents", [])
        ],
    )
    _section(
        lines,
        _("Holds: work stopped"),
        [
            _("Run"),
            _("Item"),
            _("Raised"),
            _("By"),
            _("Reason"),
            _("Cleared"),
            _("Cleared by"),
            _("Note"),
            _("Stopped"),
        ],
        [
            [
                _run_cell(h),
                _check(h),
                md(_when(h, "raised_at", zone)),
                md(fmt.who(h["raised_by"])) + ("" if h.get("authenticated", True) else _no_pin()),
                md(h["reason"]),
                md(_when(h, "cleared_at", zone)) or _not_cleared(),
                md(fmt.whos(h["cleared_by"])),
                md(h["note"]),
                md(fmt.duration(h["stopped_seconds"])),
            ]
            for h in ex["holds"]
        ],
    )
    _section(
        lines,
        _("Stop-work on a scene"),
        [
            _("Scene"),
            _("Raised"),
            _("By"),
            _("Reason"),
            _("Cleared"),
            _("Cleared by"),
            _("Note"),
            _("Stopped"),
        ],
        [
            [
                _("scene {scene}").format(scene=md(h["scene"])),
                md(_when(h, "raised_at", zone)),
                md(fmt.who(h["raised_by"])) + ("" if h["authenticated"] else _no_pin()),
                md(h["reason"]),
                md(_when(h, "cleared_at", zone)) or _not_cleared(),
                md(fmt.whos(h["cleared_by"])),
                md(h["note"]),
                md(fmt.duration(h["stopped_seconds"])),
            ]
            for h in ex["scene_holds"]
        ],
    )
    _section(
        lines,
        _("Corrections: answers put right afterwards"),
        [_("Run"), _("Item"), _("At"), _("Was"), _("Now"), _("Agreed by"), _("Note")],
        [
            [
                _run_cell(c),
                _check(c),
                md(_when(c, "at", zone)),
                md(fmt.answer(c["was"])),
                md(fmt.answer(c["answer"])),
                md(fmt.whos(c["by"])),
                md(c["note"]),
            ]
            for c in ex["corrections"]
        ],
    )
    _section(
        lines,
        _("Roster changes and PIN resets"),
        [_("At"), _("Who"), _("What")],
        [[md(_when(r, "at", zone)), md(r["name"]), md(fmt.roster_change(r))] for r in ex["roster"]],
    )
    _section(
        lines,
        _("Runs answered from a file, not at the keyboard"),
        [_("Run"), _("Started"), _("Status")],
        [
            [
                _run_cell(a),
                md(_when(a, "started_at", zone)),
                md(fmt.status(a["status"]).upper()),
            ]
            for a in ex["answers_file_runs"]
        ],
    )
    _section(
        lines,
        _("Refused items"),
        [_("Run"), _("Item"), _("At"), _("Signed by"), _("Why")],
        [
            [
                _run_cell(r),
                _check(r),
                md(_when(r, "at", zone)),
                md(fmt.who(r["by"])),
                md(r["reason"]),
            ]
            for r in ex["refused"]
        ],
    )
    _section(
        lines,
        _("Not applicable"),
        [_("Run"), _("Item"), _("At"), _("Marked by"), _("Reason")],
        [
            [
                _run_cell(n),
                _check(n),
                md(_when(n, "at", zone)),
                md(fmt.who(n["by"])),
                md(n["reason"]),
            ]
            for n in ex["not_applicable"]
        ],
    )
    _section(
        lines,
        _("Runs left open or aborted"),
        [_("Run"), _("Protocol"), _("Status"), _("Started"), _("Sign-offs"), _("Why")],
        [
            [
                _run_cell(u),
                md(u["protocol"]),
                f"**{md(fmt.status(u['status']).upper())}**",
                md(_when(u, "started_at", zone)),
                str(u["signoffs"]),
                md(fmt.why(u)),
            ]
            for u in ex["unfinished"]
        ],
    )
    _section(
        lines,
        _("Failed PIN attempts"),
        [_("Run"), _("At"), _("Who"), _("For"), _("What happened")],
        [
            [
                _run_cell(p),
                md(_when(p, "at", zone)),
                md(fmt.who(p)),
                md(fmt.purpose(p["purpose"])),
                md(fmt.pin_reason(p["reason"])),
            ]
            for p in ex["failed_pins"]
        ],
    )
    _section(
        lines,
        _("Lock-outs"),
        [_("Run"), _("At"), _("Who"), _("What happened")],
        [
            [
                _run_cell(lock),
                md(_when(lock, "at", zone)),
                md(fmt.who(lock)),
                md(lock["reason"]),
            ]
            for lock in ex["lockouts"]
        ],
    )
    check = ex["not_signed_in"]
    lines.append("### " + _("Signatures by someone not signed in for the item"))
    lines.append("")
    found = len(check["found"])
    lines.append(
        (_("**{n} found.** ").format(n=found) if found else "") + _unsigned_sentence(report)
    )
    if check["found"]:
        lines.append("")
        lines.extend(
            _table(
                [_("Run"), _("Item"), _("At"), _("Signed as"), _("Meaning")],
                [
                    [
                        _run_cell(u),
                        _check(u),
                        md(_when(u, "at", zone)),
                        md(fmt.who(u)),
                        md(u["meaning"]),
                    ]
                    for u in check["found"]
                ],
            )
        )
    _custody_markdown(lines, report, zone)
    lines += ["", "## " + _("Runs"), ""]
    if not report["runs"]:
        lines.append(_("No runs in this period."))
    yield "\n".join(lines)
    for n, run in enumerate(report["runs"], 1):
        lines = []
        p = run["protocol"]
        ended = _when(run, "ended_at", zone) or _("not ended")
        lines.append(
            _("### {n}. {day} · scene {scene} · {protocol} v{version} · {status}").format(
                n=n,
                day=md(run["day"]),
                scene=md(run["scene"]),
                protocol=md(p.get("id")),
                version=md(p.get("version")),
                status=md(fmt.status(run["status"]).upper()),
            )
        )
        lines.append("")
        signoffs = ngettext("{n} sign-off", "{n} sign-offs", run["signoffs"])
        holds = ngettext("{n} hold", "{n} holds", run["holds"])
        lines.append(
            _(
                "Run `{run}`, {start} to {end}; {signoffs}, {holds}. Protocol sha256 {sha256}."
            ).format(
                run=md(run["id"]),
                start=md(fmt.clock(run["started_at"], run["day"], zone)),
                end=md(ended),
                signoffs=signoffs.format(n=run["signoffs"]),
                holds=holds.format(n=run["holds"]),
                sha256=md(str(p.get("sha256", ""))[:16]),
            )
        )
        lines.append("")
        signers = "; ".join(md(s) for s in fmt.signed_in(run["signers"]))
        lines.append(_("Signed in: {names}").format(names=signers or _("nobody")))
        if run["also_signed"]:
            lines.append("")
            lines.append(
                _("Also held or cleared a hold: {names}").format(
                    names=md(fmt.whos(run["also_signed"]))
                )
            )
        lines.append("")
        yield "\n" + "\n".join(lines)
    head = f"{report['head']['seq']}:{report['head']['hash']}"
    lines = [
        "---",
        "",
        _("Log head: event {seq}, hash `{hash}`.").format(
            seq=report["head"]["seq"], hash=head.split(":")[1]
        ),
        "",
        _("Keep this report. To prove later that nothing up to here was rewritten, run:"),
        "",
        f"    {report['verify_command']}",
        "",
    ]
    if report.get("log_alarm"):
        lines[3:3] = ["", f"**{_(ALARM_HEAD)}**"]
    yield "\n" + "\n".join(lines)


def _custody_markdown(lines: list[str], report: dict[str, Any], zone: str) -> None:
    """The armory's counts that did not add up (an exception), then who had each firearm when
    and each lot's counts per run: only for a production that keeps an armory."""
    custody = report.get("custody")
    if custody is None:
        return
    gaps = report["exceptions"]["custody"]
    _section(
        lines,
        _("Custody: counts that did not add up"),
        [_("Firearm or lot"), _("What")],
        [[md(g["subject"]), md(g["text"])] for g in gaps],
    )
    lines += ["## " + _("Custody"), ""]
    _section(
        lines,
        _("Firearms: every hand-over"),
        [_("Firearm"), _("When"), _("What"), _("By"), _("Detail"), _("Run")],
        [
            [
                md(f["serial"]),
                md(fmt.clock(m["at"], zone=zone)),
                md(m["what"]),
                md(m["by"]),
                md(m["detail"]),
                md(m["run"] or ""),
            ]
            for f in custody["firearms"]
            for m in f["moves"]
        ],
    )
    _section(
        lines,
        _("Rounds: each lot's counts"),
        [
            _("Lot"),
            _("Type"),
            _("Run"),
            _("Issued"),
            _("Fired"),
            _("Returned"),
            _("Spoiled"),
            _("Out"),
        ],
        [
            [
                md(lot["lot"]),
                md(lot["type"]),
                md(c["run"] or _("(the day)")),
                str(c["issued"]),
                str(c["fired"]),
                str(c["returned"]),
                str(c["spoiled"]),
                str(c["out"]),
            ]
            for lot in custody["lots"]
            for c in lot["runs"]
        ],
    )


def _unsigned_sentence(report: dict[str, Any]) -> str:
    check = report["exceptions"]["not_signed_in"]
    runs = report["counts"]["runs"]
    if check["found"]:
        return _(
            "Among {signatures} signatures in {runs} runs, these were made by someone not on "
            "the run's roll call for that role: the log records them, but the walk-through "
            "should never have let them happen. Find out how."
        ).format(signatures=check["checked"], runs=runs)
    return _(
        "None found: each of the {signatures} signatures in {runs} runs was checked against "
        "the run's roll call (who signed in, for which role, before signing)."
    ).format(signatures=check["checked"], runs=runs)


def _no_pin() -> str:
    return " " + _("(no PIN)")


def _not_cleared() -> str:
    return "**" + _("NOT CLEARED") + "**"


# --- JSON and CSV --------------------------------------------------------------------------------


def to_json(report: dict[str, Any]) -> str:
    if isinstance(report["runs"], list):
        return to_json_whole(report)
    return "".join(json_chunks(report))


_RUNS_HERE = "\x00runs\x00"


def json_chunks(report: dict[str, Any], size: int = 1 << 16) -> Iterator[str]:
    """`to_json` in pieces of about `size` characters: the encoder's own pieces, with each run
    printed where the runs go as the whole would print it (two levels in: every line four more
    spaces); the same text as printing the whole at once, never all of it in memory."""
    runs = report["runs"]
    if isinstance(runs, list):
        yield to_json_whole(report)
        return
    marker = json.dumps(_RUNS_HERE)
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False)
    buffer: list[str] = []
    held = 0
    recent = ("", "")

    def take(piece: str) -> Iterator[str]:
        nonlocal buffer, held
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield json_text("".join(buffer))
            buffer, held = [], 0

    for part in encoder.iterencode({**report, "runs": _RUNS_HERE}):
        if part == marker and recent == ('"runs"', ": "):  # the report's own key, no value
            for piece in _runs_json_parts(runs):
                yield from take(piece)
        else:
            yield from take(part)
        recent = (recent[1], part)
    buffer.append("\n")
    yield json_text("".join(buffer))


def _runs_json_parts(runs: Any) -> Iterator[str]:
    first = True
    for run in runs:
        body = json.dumps(run, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        yield ("[\n    " if first else ",\n    ") + body
        first = False
    yield "[]" if first else "\n  ]"


def to_json_whole(report: dict[str, Any]) -> str:
    return json_text(json.dumps(report, indent=2, ensure_ascii=False)) + "\n"


CSV_HEADER = [
    "section",
    "day",
    "run",
    "scene",
    "protocol",
    "item",
    "at",
    "name",
    "role",
    "status",
    "detail",
    "cleared_at",
    "cleared_by",
    "note",
    "stopped_minutes",
]


def _involved(i: dict[str, Any]) -> str:
    """What an incident involves, in words: its scene, run, firearms and lots."""
    parts = [f"scene {i['scene']}"] if i["scene"] else []
    parts += [f"run {i['run']}"] if i["run"] else []
    parts += [f"firearm {s}" for s in i["firearms"]] + [f"lot {lot}" for lot in i["lots"]]
    return "; ".join(parts)


def csv_rows(report: dict[str, Any]) -> Iterator[list[Any]]:
    """One flat table: a row per exception, then a row per run, then the log head. Cells are
    made safe for spreadsheets (`csv_cell`)."""
    ex = report["exceptions"]
    alarm = report.get("log_alarm")

    def row(section: str, e: dict[str, Any], **cells: Any) -> list[Any]:
        base = {
            "section": section,
            "day": e.get("day"),
            "run": e.get("run"),
            "scene": e.get("scene"),
            "protocol": e.get("protocol"),
        }
        base.update(cells)
        return [csv_cell(base.get(k)) for k in CSV_HEADER]

    if alarm:  # the first row: a spreadsheet of a log that went backwards says so at its top
        yield row(
            "log-alarm",
            {},
            status=alarm["kind"],
            detail=alarm["line"],
            note="do not rely on this report: keep the workspace as it is, run safetycli verify",
        )
    for i in ex.get("incidents", []):
        yield row(
            "incident",
            i,
            item=i["kind"],
            at=i["reported_at"],
            name=(i["reported_by"] or {}).get("name", "anonymous"),
            role=(i["reported_by"] or {}).get("role"),
            status=f"open {i['age']}: closed by {i['must_close']}"
            if i["status"] == "open"
            else "closed",
            detail=" ".join([i["text"], _involved(i), *i["warnings"]]),
            cleared_at=i["closed_at"],
            cleared_by=fmt.whos(i["closed_by"], ids=True) if i["closed_by"] else None,
            note=i["action"],
        )
    for h in ex["holds"]:
        stopped = h["stopped_seconds"]
        yield row(
            "hold",
            h,
            item=fmt.item_ref(h),
            at=h["raised_at"],
            name=(h["raised_by"] or {}).get("name"),
            role=(h["raised_by"] or {}).get("role"),
            status="cleared" if h["cleared_at"] else "not cleared",
            detail=h["reason"],
            cleared_at=h["cleared_at"],
            cleared_by=fmt.whos(h["cleared_by"], ids=True) if h["cleared_by"] else None,
            note=h["note"],
            stopped_minutes=None if stopped is None else round(stopped / 60, 1),
        )
    for h in ex["scene_holds"]:
        stopped = h["stopped_seconds"]
        yield row(
            "scene-hold",
            {"day": h["day"], "scene": h["scene"]},
            at=h["raised_at"],
            name=(h["raised_by"] or {}).get("name"),
            role=(h["raised_by"] or {}).get("role"),
            status=("cleared" if h["cleared_at"] else "not cleared")
            + ("" if h["authenticated"] else ", no PIN"),
            detail=h["reason"],
            cleared_at=h["cleared_at"],
            cleared_by=fmt.whos(h["cleared_by"], ids=True) if h["cleared_by"] else None,
            note=h["note"],
            stopped_minutes=None if stopped is None else round(stopped / 60, 1),
        )
    for c in ex["corrections"]:
        yield row(
            "correction",
            c,
            item=fmt.item_ref(c),
            at=c["at"],
            name=fmt.whos(c["by"], ids=True),
            status=f"{fmt.answer(c['was'])} -> {fmt.answer(c['answer'])}",
            note=c["note"],
        )
    for line in ex.get("between_laptops", []):  # only read from the central store
        yield row("between-laptops", {}, detail=line)
    for o in ex.get("from_other_laptops", []):  # only a laptop that synced
        by = o["raised_by"] or {}
        yield row(
            "from-other-laptops",
            o,
            at=o["raised_at"],
            name=by.get("name"),
            role=by.get("role"),
            status=("cleared" if o["cleared_at"] else "not cleared")
            + (", unverified" if o["source"] == "unverified" else ""),
            detail=o["line"],
            cleared_at=o["cleared_at"],
            cleared_by=fmt.whos(o["cleared_by"], ids=True) if o["cleared_by"] else None,
            note=o["note"],
        )
    for g in ex.get("custody", []):  # only a production that keeps an armory has these
        yield row("custody", g, item=g["subject"], status=g["what"], detail=g["text"])
    for r in ex["roster"]:
        yield row("roster", r, at=r["at"], name=r["name"], status=r["kind"], detail=r["what"])
    for a in ex["answers_file_runs"]:
        yield row("answers-file-run", a, at=a["started_at"], status=a["status"])
    for section, key in (("refused", "refused"), ("not-applicable", "not_applicable")):
        for e in ex[key]:
            by = e["by"] or {}
            yield row(
                section,
                e,
                item=fmt.item_ref(e),
                at=e["at"],
                name=by.get("name"),
                role=by.get("role"),
                status=e["outcome"],
                detail=e["reason"],
            )
    for u in ex["unfinished"]:
        yield row("unfinished", u, at=u["started_at"], status=u["status"], detail=u["why"])
    for section, key in (("failed-pin", "failed_pins"), ("lockout", "lockouts")):
        for p in ex[key]:
            yield row(
                section,
                p,
                at=p["at"],
                name=p["name"],
                role=p["role"],
                status=p["kind"],
                detail=fmt.pin_reason(p["reason"]),
                note=p["purpose"],
            )
    for u in ex["not_signed_in"]["found"]:
        yield row(
            "not-signed-in",
            u,
            item=fmt.item_ref(u),
            at=u["at"],
            name=u["name"],
            role=u["role"],
            status=u["meaning"],
        )
    for run in report["runs"]:
        yield row(
            "run",
            {**run, "run": run["id"], "protocol": run["protocol"].get("id")},
            at=run["started_at"],
            status=run["status"],
            detail="; ".join(f"{r}: {name}" for r, name, _ in fmt.roll_call(run["signers"])),
            cleared_at=run["ended_at"],
        )
    yield row(
        "log-head",
        {},
        detail=f"{report['head']['seq']}:{report['head']['hash']}",
        note=report["verify_command"],
    )


def to_csv(report: dict[str, Any]) -> str:
    return "".join(csv_chunks(report))


def csv_chunks(report: dict[str, Any], rows: int = 500) -> Iterator[str]:
    """`to_csv` in pieces of `rows` rows."""
    import csv
    import io
    import itertools

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    every = csv_rows(report)
    while batch := list(itertools.islice(every, rows)):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# --- HTML ----------------------------------------------------------------------------------------


def _finalize(value: Any) -> Any:
    """Every `{{ }}` passes here before autoescaping: control characters become visible text
    (`\\x1b`), so a note cannot hide itself or garble the page; trusted Markup passes as is.
    (Called for every value of a season's page, some 300,000 times: no import in it.)"""
    if value is None:
        return ""
    if isinstance(value, _markupsafe()[0]):
        return value
    return visible(value)


@functools.cache
def _markupsafe() -> tuple[Any, Any]:
    """(Markup, escape), imported once: only the HTML needs them."""
    from markupsafe import Markup, escape

    return Markup, escape


def environment(zone: str = "UTC") -> Any:
    """The Jinja2 environment: templates packaged inside safetycli, autoescape always on; its
    `clock` and `when` filters show times in `zone` (the workspace's `timezone`)."""

    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("safetycli.render", "templates"),
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Old-style callables: ours fill `{name}` placeholders, as the Python side's messages do,
    # so both share one catalog; each value is escaped and made visible like any `{{ }}`.
    env.install_gettext_callables(_html_gettext, _html_ngettext, newstyle=False)
    env.filters.update(
        clock=functools.partial(fmt.clock, zone=zone),
        log_alarm=fmt.log_alarm,
        when=lambda e, key: _when(e, key, zone),
        local_times=functools.partial(fmt.local_times, zone=zone),
        elsewhere=functools.partial(fmt.elsewhere, zone=zone),
        check=fmt.check,
        duration=fmt.duration,
        who=fmt.who,
        whos=fmt.whos,
        item_ref=fmt.item_ref,
        pin_reason=fmt.pin_reason,
        roster_change=fmt.roster_change,
        purpose=fmt.purpose,
        count=fmt.count,
        answer=fmt.answer,
        role=fmt.role,
        roll_call=fmt.roll_call,
        status=fmt.status,
        age=fmt.age,
        closers=fmt.closers,
        why=fmt.why,
    )
    return env


def _html_gettext(message: str, **values: Any) -> Any:
    """`{{ _("by {who}", who=name) }}`: the message in the reader's language, its values each
    escaped and made visible as the finaliser does for `{{ name }}`; the result is Markup."""
    return _filled(_(message), values)


def _html_ngettext(singular: str, plural: str, n: int, *, bold: bool = False, **values: Any) -> Any:
    """The same, with `{n}` the count (in bold with `bold`, as the report's summary shows it)."""
    from markupsafe import Markup

    number = Markup(f"<b>{int(n)}</b>") if bold else int(n)
    return _filled(ngettext(singular, plural, n), {"n": number, **values})


def _filled(message: str, values: dict[str, Any]) -> Any:
    """What `Markup(escape(message)).format(**values)` gives (each value finalised, then escaped
    unless Markup), without markupsafe's formatter, which is Python's `string.Formatter`: a
    season's page fills some 80,000 messages, and that was a second of it. Our messages name
    their values plainly (`{who}`, never `{who.name}` or `{n:d}`), so filling the escaped
    message with the escaped values is the same text."""
    Markup, escape = _markupsafe()
    filled = {k: str(escape(_finalize(v))) for k, v in values.items()}
    return Markup(str(escape(message)).format(**filled))


def to_html(report: dict[str, Any], zone: str = "UTC") -> str:
    """The report as one HTML page, every time in `zone` (the workspace's `timezone`)."""
    return "".join(html_chunks(report, zone))


def html_chunks(report: dict[str, Any], zone: str = "UTC") -> Iterator[str]:
    """`to_html` in pieces, as Jinja2 makes them (`generate`)."""
    template = environment(zone).get_template("report.html.j2")
    from safetycli import i18n

    return template.generate(
        lang=i18n.current(),
        r=report,
        zone_line=zone_line(report, zone),
        title=_(TITLE),
        period=fmt.period(report),
        unsigned_sentence=_unsigned_sentence(report),
        alarm_head=_(ALARM_HEAD),
    )
