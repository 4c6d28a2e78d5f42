"""`hold --scene` and `clear --scene`: stop-work on a whole scene, called on the set with no run
id, and lifting it. The rules live in `production.py`; this only asks and prints."""

from __future__ import annotations

from pathlib import Path

import typer

from safetycli.i18n import _


def hold_scene(home: Path | None, scene: str, day: str | None, reason: str, by: str | None) -> None:
    """Anyone may stop work, on the roster or not, locked out or not: no PIN is asked, and the
    record says so. Every run of the scene stops at its next step."""
    from safetycli import crew, production
    from safetycli.cli.common import console, stdout_is_terminal, workspace
    from safetycli.cli.terminal import scene_panel
    from safetycli.days import parse_day
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    day_text = parse_day(day) if day is not None else None
    ws = workspace(home)
    with ws.open_log() as ledger:
        production.hold_scene(scene, day_text, reason, "-", None, False)  # refuse bad input first
        typed = by or typer.prompt("Your name (anyone may stop work)")
        try:
            member = crew.find(ledger, typed)
            name, role = member.name, member.roles[0]
        except SafetyError:  # not on the roster: stopping work must not depend on it
            name, role = crew.clean_name(typed), None
        # The scene as its runs spell it (12a is 12A), so every listing shows one scene.
        known = next((s.data["scene"] for s in production.runs_of(ledger, scene)), scene)
        events = production.hold_scene(known, day_text, reason, name, role, False)
        (held,) = ledger.append_many(events)
        stop = production.SceneStop(
            scene=held.data["scene"],
            reason=held.data["reason"],
            raised_by={"name": name, "role": role},
            authenticated=False,
            raised_at=held.at,
            hold_seq=held.seq,
        )
        # The panel is for people; a pipe or a file gets the same words as plain lines.
        scene_panel(console(), stop, zone=ws.zone_or_utc(), plain=not stdout_is_terminal())
        running = production.open_runs(ledger, held.data["scene"])
    if running:
        typer.echo(
            one_line(
                _("Every run of scene {scene} stops at its next step.").format(
                    scene=held.data["scene"]
                )
            )
        )


def clear_scene(
    home: Path | None, scene: str, note: str, by: list[str] | None, pin_stdin: bool
) -> None:
    """The armorer and the 1st AD lift the stop-work on a scene, each with their PIN."""
    from safetycli import production
    from safetycli.cli.common import workspace
    from safetycli.cli.signers import parse_by, prove_all, who_acts
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    named = parse_by(by)
    ws = workspace(home)
    with ws.open_log() as ledger:
        state = production.load(ledger)
        unverified = production.unverified_on(ledger, state, scene)
        holds = production.check_scene_clearable(state, scene, note, unverified)
        for u in unverified:
            typer.echo(
                one_line(
                    _(
                        "Unverified stop-work on scene {scene} from laptop {device}, whose sync "
                        "the server refused ({alarm}): {reason}"
                    ).format(scene=u.scene, device=u.device, alarm=u.alarm, reason=u.reason)
                )
            )
        for hold in holds:
            who = hold.raised_by.get("name")
            typer.echo(
                one_line(
                    _("Stop-work on scene {scene}: {reason} (by {who})").format(
                        scene=hold.scene, reason=hold.reason, who=who
                    )
                )
            )
        clearers = who_acts(
            ledger,
            production.clear_roles(unverified),
            named,
            pin_stdin=pin_stdin,
            what="a stop-work on a scene is cleared",
        )
        prove_all(ledger, clearers, "clear scene hold", None, pin_stdin, doing="clear the hold")
        now = production.load(ledger)  # as it is now, after the time it took to type PINs
        still = production.unverified_on(ledger, now, scene)
        if [(h.device, h.seq) for h in now.open_scene_holds(scene)] != [
            (h.device, h.seq) for h in holds
        ] or [u.key for u in still] != [u.key for u in unverified]:
            raise SafetyError(
                _(
                    "the stop-work on scene {scene} changed while the PINs were typed: nothing "
                    "was cleared; look at it again (safetycli status) and clear again"
                ).format(scene=scene)
            )
        ledger.append_many(production.clear_scene(now, scene, note, clearers, still))
        waiting = [start.run for start in production.open_runs(ledger, scene)]
    shown = holds[0].scene if holds else unverified[0].scene
    typer.echo(one_line(_("Stop-work on scene {scene} cleared.").format(scene=shown)))
    for run_id in waiting:
        typer.echo(_("Continue with: safetycli resume {run}").format(run=run_id))


def clear_unverified(
    home: Path | None, ref: str, note: str, by: list[str] | None, pin_stdin: bool
) -> None:
    """A refused laptop's stop-work, named as `status` names it (`DEVICE:SEQ`), lifted by the
    roles that clear it, a producer among them, each with their PIN (unverified.py)."""
    from safetycli import production
    from safetycli.cli.common import workspace
    from safetycli.cli.signers import parse_by, prove_all, who_acts
    from safetycli.errors import SafetyError
    from safetycli.render.safe import one_line

    named = parse_by(by)
    ws = workspace(home)
    with ws.open_log() as ledger:
        stop = production.unverified_named(ledger, production.load(ledger), ref)
        production.check_note(note)  # before anyone is asked
        said = _(
            "Unverified {what} from laptop {device}, whose sync the server refused "
            "({alarm}): {reason}"
        ).format(what=stop.what_said, device=stop.device, alarm=stop.alarm, reason=stop.reason)
        typer.echo(one_line(said[:1].upper() + said[1:]))  # a language may put the kind first
        clearers = who_acts(
            ledger,
            stop.clear_roles,
            named,
            pin_stdin=pin_stdin,
            what="a refused laptop's stop-work is cleared",
        )
        prove_all(
            ledger, clearers, "clear unverified stop-work", None, pin_stdin, doing="clear the hold"
        )
        now = production.load(ledger)  # as it is now, after the time it took to type PINs
        try:
            production.unverified_named(ledger, now, ref)
        except SafetyError:
            raise SafetyError(
                _(
                    "the stop-work {ref} was cleared while the PINs were typed: nothing more to "
                    "do (safetycli status)"
                ).format(ref=one_line(ref))
            ) from None
        ledger.append_many(production.clear_unverified([stop], note, clearers))
    typer.echo(one_line(_("Unverified stop-work {ref} cleared.").format(ref=stop.ref)))
