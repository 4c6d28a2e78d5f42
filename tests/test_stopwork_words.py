"""A refused laptop's stop-work in the crew's language: the status lines and the set board, the
red HOLD panel of a walk-through it stops, the refusals of `run` and `resume`, and `clear`'s
lines, in English and in Spanish, while the JSON stays as it is in every language.

Without a server: the stop-work is put into this laptop's foreign.db as a sync pulls it
(sealed with its key, tests/test_unverified.py); sync's own lines are in
tests/test_stopwork_words_central.py, against the real PostgreSQL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safetycli.i18n import _, speaking
from tests.walk_helpers import (
    ARMORER,
    CLEARERS,
    DAY,
    FIRST_AD,
    PRODUCER,
    cheap_pins,
    invoke,
    ok,
    one_line_error,
    write_answers,
)

A = "device-a"
ALARM = "fork: it does not link to event 7 (a forked chain)"
AT = "2026-11-23T10:00:00.000000Z"  # 03:00 in Denver (UTC-7 in November)
ZONE = "America/Denver"

# What each language says, as the crew reads it.
SAYS = {
    "en": {
        "head": f"scene 12a  UNVERIFIED stop-work since 2026-11-23 03:00 {ZONE}  "
        f"from refused laptop {A}",
        "incident": f"firearm work, every scene  UNVERIFIED incident since 2026-11-23 03:00 {ZONE}"
        f"  from refused laptop {A}",
        "hold": "hold: holster strap loose (by A Visitor)",
        "unverified": f"not verified: the server refused this laptop's sync ({ALARM}); it stops "
        "work all the same",
        "clear": 'clear: safetycli clear --scene "12a" --note "what was found and done" '
        "(armorer, 1st AD, producer)",
        "clear_incident": f'clear: safetycli clear --unverified {A}:13 --note "what was found '
        'and done" (armorer, producer)',
        "refusal": f"scene 12a is held: stop-work from laptop {A}, whose sync the server refused "
        f"({ALARM}): not verified, and it stops work all the same (holster strap loose); "
        "nothing starts or goes on in this scene until it is cleared, a producer among those "
        'who clear it: safetycli clear --scene "12a" --note "what was found and done" '
        "(armorer, 1st AD, producer)",
        "firearms": f"firearm work is held: stop-work from laptop {A}",
        "cleared_said": f"Unverified stop-work on scene 12a from laptop {A}, whose sync the server "
        f"refused ({ALARM}): holster strap loose",
        "cleared": "Stop-work on scene 12a cleared.",
        "incident_said": f"Unverified incident from laptop {A}, whose sync the server refused "
        f"({ALARM}): incident i-7f3a2c (misfire): click, no bang",
        "incident_cleared": f"Unverified stop-work {A}:13 cleared.",
        "unknown": "no unverified stop-work nope:1 to clear: `safetycli status` lists each",
    },
    "es": {
        "head": f"escena 12a  alto al trabajo SIN VERIFICAR desde 2026-11-23 03:00 {ZONE}  "
        f"del portátil rechazado {A}",
        "incident": "trabajo con armas, todas las escenas  incidente SIN VERIFICAR desde "
        f"2026-11-23 03:00 {ZONE}  del portátil rechazado {A}",
        "hold": "parada: holster strap loose (por A Visitor)",
        "unverified": f"sin verificar: el servidor rechazó la sincronización de este portátil "
        f"({ALARM}); detiene el trabajo de todos modos",
        "clear": 'levantar: safetycli clear --scene "12a" --note "qué se encontró y qué se hizo" '
        "(armero, 1er AD, productor)",
        "clear_incident": f"levantar: safetycli clear --unverified {A}:13 --note "
        '"qué se encontró y qué se hizo" (armero, productor)',
        "refusal": f"la escena 12a está parada: alto al trabajo del portátil {A}, cuya "
        f"sincronización rechazó el servidor ({ALARM}): no está verificado, y detiene el trabajo "
        "de todos modos (holster strap loose); nada empieza ni sigue en esta escena hasta que se "
        'levante, con un productor entre quienes lo levantan: safetycli clear --scene "12a" '
        '--note "qué se encontró y qué se hizo" (armero, 1er AD, productor)',
        "firearms": f"el trabajo con armas está parado: alto al trabajo del portátil {A}",
        "cleared_said": f"Alto al trabajo sin verificar en la escena 12a del portátil {A}, cuya "
        f"sincronización rechazó el servidor ({ALARM}): holster strap loose",
        "cleared": "Alto al trabajo en la escena 12a levantado.",
        "incident_said": f"Incidente sin verificar del portátil {A}, cuya sincronización rechazó "
        f"el servidor ({ALARM}): incident i-7f3a2c (misfire): click, no bang",
        "incident_cleared": f"Alto al trabajo sin verificar {A}:13 levantado.",
        "unknown": "no hay ningún alto al trabajo sin verificar nope:1 que levantar: "
        "`safetycli status` muestra cada uno",
    },
}

# English words of the feature that must not reach a Spanish reader.
ENGLISH = ("UNVERIFIED", "refused laptop", "whose sync", "not verified", "what was found")


def pulled(home: Path, seq: int, kind: str, data: dict[str, Any]) -> None:
    """A refused laptop's event, as a sync pulls it into this laptop's foreign.db (sealed with
    this laptop's key)."""
    from safetycli.central.foreign import ForeignLog, path_of
    from safetycli.ledger import Ledger, canonical_json, row_hash

    text = canonical_json(data)
    prev = "0" * 64
    digest = row_hash(seq, AT, kind, None, data.get("name"), text, prev)
    row = (A, seq, AT, kind, None, data.get("name"), text, prev, digest, ALARM, AT)
    with Ledger.open(home / "log.db", create=False) as ledger:
        assert ledger.key is not None
        foreign = ForeignLog.open(path_of(ledger.path))
        assert foreign.add_unverified([row], ledger.key.foreign_seal) == 1
        foreign.close()


def stop_work_pulled(home: Path) -> None:
    """Scene 12a held on refused laptop A by someone not on its roster."""
    data = {"scene": "12a", "day": None, "reason": "holster strap loose", "name": "A Visitor"}
    pulled(home, 12, "scene.held", data | {"role": None, "authenticated": False})


def misfire_pulled(home: Path) -> None:
    """A misfire reported on refused laptop A: firearm work stops in every scene."""
    data = {"id": "i-7f3a2c", "kind": "misfire", "text": "click, no bang", "scene": None}
    data |= {"name": "A Visitor", "role": None, "authenticated": False}
    pulled(home, 13, "incident.reported", data | {"closers": ["armorer"]})


@pytest.fixture
def laptop(crewed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A crewed workspace whose production is in Denver."""
    config = crewed / "config.toml"
    kept = [ln for ln in config.read_text().splitlines() if not ln.startswith("timezone")]
    config.write_text("\n".join([*kept, f'timezone = "{ZONE}"', ""]))
    return crewed


def speak(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    monkeypatch.setenv("SAFETYCLI_LANG", lang)


def status_lines(cli: CliRunner) -> list[str]:
    return [line.strip() for line in ok(cli, ["status"]).stdout.splitlines()]


def held_word(lang: str) -> str:
    with speaking(lang):
        return _("HELD")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_status_says_a_refused_laptops_stop_work_in_the_crews_language_and_json_stays(
    cli: CliRunner, laptop: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lang: str
) -> None:
    says = SAYS[lang]
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run = ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers", str(partial)]
    assert invoke(cli, run).exit_code == 4  # a run of the scene, open on the board
    stop_work_pulled(laptop)
    speak(monkeypatch, lang)
    lines = status_lines(cli)
    at = lines.index(f"{held_word(lang)}  {says['head']}")
    assert lines[at + 1 : at + 4] == [says["hold"], says["unverified"], says["clear"]]
    if lang == "es":
        assert not [w for w in ENGLISH if w in "\n".join(lines)], lines
    # JSON is for programs: the same keys and English values in every language.
    shown = json.loads(ok(cli, ["status", "--format", "json"]).stdout)
    speak(monkeypatch, "en")
    assert json.loads(ok(cli, ["status", "--format", "json"]).stdout) == shown
    (u,) = shown["unverified_stop_work"]
    assert u["kind"] == "stop-work"
    (open_run,) = shown["runs"]
    assert open_run["scene_held"] and open_run["scene_stop"] == SAYS["en"]["refusal"]
    assert u["clear"] == (
        'safetycli clear --scene "12a" --note "what was found and done" (armorer, 1st AD, producer)'
    )


@pytest.mark.parametrize("lang", ["en", "es"])
def test_run_and_resume_on_its_scene_are_refused_in_the_crews_language(
    cli: CliRunner, laptop: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lang: str
) -> None:
    partial = write_answers(tmp_path / "partial.yaml", drop=("meeting-covered",))
    run = ["run", "firearm-scene", "--scene", "12A", "--day", DAY, "--answers"]
    assert invoke(cli, [*run, str(partial)]).exit_code == 4  # left open before the pull
    (open_run,) = [
        r["id"] for r in json.loads(ok(cli, ["status", "--format", "json"]).stdout)["runs"]
    ]
    stop_work_pulled(laptop)
    speak(monkeypatch, lang)
    answers = write_answers(tmp_path / "pass.yaml")
    assert one_line_error(invoke(cli, [*run, str(answers)])) == SAYS[lang]["refusal"]
    resumed = invoke(cli, ["resume", open_run, "--answers", str(answers)])
    assert one_line_error(resumed) == SAYS[lang]["refusal"]
    # The run's row on the board says it in the same words.
    assert any(line == SAYS[lang]["refusal"] for line in status_lines(cli))


@pytest.mark.parametrize("lang", ["en", "es"])
def test_clear_scene_names_the_refused_laptops_stop_work_and_lifts_it_in_the_crews_language(
    cli: CliRunner, laptop: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    stop_work_pulled(laptop)
    speak(monkeypatch, lang)
    clear = ["clear", "--scene", "12A", "--note", "strap replaced", *CLEARERS]
    pins = f"{ARMORER[1]}\n{FIRST_AD[1]}\n{PRODUCER[1]}\n"
    with cheap_pins():
        done = ok(cli, [*clear, "--by", f"producer={PRODUCER[0]}", "--pin-stdin"], input=pins)
    lines = done.stdout.splitlines()
    assert SAYS[lang]["cleared_said"] in lines and SAYS[lang]["cleared"] in lines
    assert json.loads(ok(cli, ["status", "--format", "json"]).stdout)["unverified_stop_work"] == []


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_refused_laptops_misfire_is_said_refused_and_cleared_by_name_in_the_crews_language(
    cli: CliRunner, laptop: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lang: str
) -> None:
    says = SAYS[lang]
    misfire_pulled(laptop)
    speak(monkeypatch, lang)
    lines = status_lines(cli)
    at = lines.index(f"{held_word(lang)}  {says['incident']}")
    assert lines[at + 3] == says["clear_incident"]
    run = ["run", "firearm-scene", "--scene", "40", "--day", DAY, "--answers"]
    refusal = one_line_error(invoke(cli, [*run, str(write_answers(tmp_path / "pass.yaml"))]))
    assert refusal.startswith(says["firearms"]) and "click, no bang" in refusal
    if lang == "es":
        assert not [w for w in ENGLISH if w in refusal], refusal
    unknown = invoke(cli, ["clear", "--unverified", "nope:1", "--note", "x"])
    assert one_line_error(unknown).startswith(says["unknown"])
    clear = ["clear", "--unverified", f"{A}:13", "--note", "firing pin replaced"]
    by = ["--by", f"armorer={ARMORER[0]}", "--by", f"producer={PRODUCER[0]}", "--pin-stdin"]
    with cheap_pins():
        done = ok(cli, [*clear, *by], input=f"{ARMORER[1]}\n{PRODUCER[1]}\n")
    assert done.stdout.splitlines() == [says["incident_said"], says["incident_cleared"]]


@pytest.mark.slow
def test_a_walk_in_spanish_stopped_by_a_refused_laptops_stop_work_says_alto_in_spanish(
    tmp_path: Path,
) -> None:
    """SAFETYCLI_LANG=es at a real terminal: the stop-work is pulled while the crew answers, and
    the red panel says where it comes from, that nothing vouches for it and who clears it, in
    Spanish (the command to type as it is typed)."""
    import pexpect

    from safetycli import i18n
    from tests.test_i18n import prompt_pattern
    from tests.test_unverified import pulled_into
    from tests.walk_helpers import PINS, make_workspace, safetycli_argv, subprocess_env

    home = make_workspace(tmp_path / "ws")
    env = {**subprocess_env(home), i18n.ENV: "es"}
    with speaking("es"):
        name = prompt_pattern(_("{role}: your name")) + r"(?: \[[^\]\n]*\])?: $"
        pins = [
            prompt_pattern(_("{name}, your PIN")) + ": $",
            prompt_pattern(_("{name} ({role}), your PIN to sign these")) + ": $",
        ]
        one, many = (
            "{who}: check {numbers}: type {count} letter, y or n, then Enter",
            "{who}: checks {numbers}: type {count} letters, y or n for each, then Enter",
        )
        alternatives = (prompt_pattern(i18n.ngettext(one, many, n), str(n)) for n in (1, 2))
        keys = "(?:{}): $".format("|".join(alternatives))
        answer = prompt_pattern(_("{who}, {n}"), "a") + r": [^\n]+: $"
        stop = _("STOP WORK on scene {scene}. Nothing proceeds until it is cleared.")
        stop = stop.split("{scene}")[1]  # ". Nada continúa hasta que se levante."
    argv = safetycli_argv()
    args = ["run", "firearm-scene", "--scene", "12A", "--day", DAY]
    args += ["--set", "blanks=no", "--set", "dummies=no"]
    child = pexpect.spawn(
        argv[0], [*argv[1:], *args], env=env, encoding="utf-8", timeout=30, dimensions=(50, 120)
    )
    child.delaybeforesend = None
    seen, batches = "", 0
    while True:
        index = child.expect([re.escape(stop), name, *pins, keys, answer])
        seen += (child.before or "") + str(child.after)
        if index == 0:
            break
        if index == 1:
            child.sendline("")  # the one person on the roster for the role is offered
        elif index in (2, 3):
            who = child.match.group("name").strip()
            child.waitnoecho(timeout=5)
            child.sendline(PINS[who.split(" (")[0]])
        elif index == 4:
            batches += 1
            child.sendline("s" * int(child.match.group("count1") or child.match.group("count2")))
            if batches == 1:
                pulled_into(home, "12a")  # the laptop syncs while the crew answers
        else:
            child.sendline("1")
    child.expect(pexpect.EOF)
    seen += child.before or ""
    child.close()
    text = " ".join(seen.replace("│", " ").split())
    assert child.exitstatus == 3, text
    assert "ALTO · HOLD" in text.replace("─", " ")
    assert "ALTO AL TRABAJO en la escena 12a. Nada continúa hasta que se levante." in text
    assert "Alto al trabajo sin verificar del portátil device-a: holster strap loose" in text
    assert "El servidor rechazó la sincronización de ese portátil" in text
    assert "Para levantarla: armero, 1er AD y productor, cada uno en persona con su PIN" in text
    assert 'safetycli clear --scene "12a" --note "qué se encontró y qué se hizo"' in text
    assert not [w for w in (*ENGLISH, "STOP WORK", "To clear") if w in text], text
