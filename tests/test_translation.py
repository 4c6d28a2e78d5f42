"""Each person in their language (issue 16): protocol translations, their validator, the roster's
language, and signatures that record the language and the sha256 of the text each person read.

The walk-through is driven through a real pseudo-terminal: the armorer reads English, the actor
Spanish, and the hash in each signature is recomputed from what the screen showed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pexpect
import pytest
from typer.testing import CliRunner

from safetycli import crew
from safetycli.cli import app
from safetycli.ledger import Ledger
from safetycli.protocol import check_with_warnings
from safetycli.roles import spoken as role_name
from tests.walk_helpers import (
    ACTOR,
    ARMORER,
    DAY,
    PINS,
    PRODUCER,
    make_workspace,
    safetycli_argv,
    subprocess_env,
)

FIXTURES = Path(__file__).parent / "fixtures" / "protocols" / "valid"

WALK = """\
id: lang-walk
title: Two languages on one set
version: 1
summary: The armorer reads English, the actor Spanish.
sources: ["House rules"]
roles: [armorer, actor]
hold:
  cleared_by: [armorer]
phases:
  - id: hand-over
    title: Hand-over
    items:
      - id: shown-clear
        ask: Armorer showed the firearm clear to the actor?
        by: armorer
        witness: [actor]
        critical: true
        why: Seen, not told.
      - id: state
        kind: choice
        ask: State of the firearm, announced aloud
        options: [EMPTY, BLANKS]
        readback: [actor]
        by: armorer
        why: The actor says it back.
      - id: briefed
        ask: Actor briefed on where the muzzle points?
        by: actor
        why: Nobody in the line of fire.
      - id: hand-back
        ask: Actor knows to hand it back on cut?
        by: actor
        why: Straight back to the armorer.
"""

WALK_ES = """\
translates: lang-walk
lang: es
title: {en: Two languages on one set, es: Dos idiomas en un rodaje}
summary:
  en: The armorer reads English, the actor Spanish.
  es: El armero lee en inglés, el actor en español.
phases:
  hand-over: {en: Hand-over, es: Entrega}
items:
  shown-clear:
    ask:
      en: Armorer showed the firearm clear to the actor?
      es: ¿El armero le mostró al actor el arma descargada?
    why: {en: "Seen, not told.", es: "Visto, no contado."}
  state:
    ask:
      en: State of the firearm, announced aloud
      es: Estado del arma, anunciado en voz alta
    why: {en: The actor says it back., es: El actor lo repite.}
    options: {EMPTY: VACÍA, BLANKS: FOGUEO}
  briefed:
    ask:
      en: Actor briefed on where the muzzle points?
      es: ¿Se le explicó al actor hacia dónde apunta la boca del cañón?
    why: {en: Nobody in the line of fire., es: Nadie en la línea de tiro.}
"""


def _write(folder: Path, main: str = WALK, es: str | None = WALK_ES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lang-walk.yaml"
    path.write_text(main, encoding="utf-8")
    if es is not None:
        (folder / "lang-walk.es.yaml").write_text(es, encoding="utf-8")
    return path


def _validate(folder: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["checklists", "validate", str(folder)])
    return result.exit_code, result.stdout, result.stderr


# --- the validator ---------------------------------------------------------------------------


def test_a_missing_translation_is_a_warning_naming_the_item_and_validate_exits_0(
    tmp_path: Path,
) -> None:
    _write(tmp_path)
    code, out, err = _validate(tmp_path)
    assert code == 0, out + err
    warnings = out.splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{tmp_path / 'lang-walk.es.yaml'}:9:")
    assert "warning:" in warnings[0] and "`hand-back`" in warnings[0]
    assert "all valid; 1 warning(s)" in err


def test_a_translation_naming_no_item_is_an_error_at_its_line(tmp_path: Path) -> None:
    es = WALK_ES + "  shown-clearr:\n    ask: {en: x, es: y}\n"
    _write(tmp_path, es=es)
    code, out, _ = _validate(tmp_path)
    assert code == 1
    line = es.splitlines().index("  shown-clearr:") + 1
    errors = [x for x in out.splitlines() if "warning:" not in x]
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'lang-walk.es.yaml'}:{line}:")
    assert "`shown-clearr`" in errors[0] and "`shown-clear`" in errors[0]  # names a near one
    # A protocol whose translation is broken does not run: nobody reads a half-checked text.
    catalog = check_with_warnings(tmp_path / "lang-walk.yaml")
    assert catalog[0] is None


def test_two_options_collapsing_into_one_words_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, es=WALK_ES.replace("BLANKS: FOGUEO", "BLANKS: vacía"))
    code, out, _ = _validate(tmp_path)
    assert code == 1
    assert "`EMPTY` and `BLANKS`" in out


def test_an_option_translated_to_another_options_words_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, es=WALK_ES.replace("EMPTY: VACÍA", "EMPTY: BLANKS"))
    code, out, _ = _validate(tmp_path)
    assert code == 1
    assert "option `EMPTY`" in out and "`BLANKS`" in out


def test_an_option_that_is_no_option_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, es=WALK_ES.replace("BLANKS: FOGUEO", "BLANKS: FOGUEO, DUMMIES: FALSAS"))
    code, out, _ = _validate(tmp_path)
    assert code == 1
    assert "`DUMMIES` names no option" in out


def test_changed_english_makes_the_translation_stale_a_warning_and_english_is_shown(
    tmp_path: Path,
) -> None:
    changed = WALK.replace(
        "ask: Actor briefed on where the muzzle points?",
        "ask: Actor briefed on where the muzzle points, and on the stand-off distance?",
    )
    path = _write(tmp_path, main=changed)
    code, out, _ = _validate(tmp_path)
    assert code == 0
    assert "item `briefed` `ask`: the English changed" in out
    assert "stand-off distance" in out  # the new English, quoted for the translator
    protocol, _, _ = check_with_warnings(path)
    assert protocol is not None
    from safetycli.translation import item_text

    shown = item_text(protocol, protocol.item("briefed"), "es")
    assert shown.question_main and "stand-off distance" in shown.question
    assert shown.why == "Nadie en la línea de tiro."  # what did not change stays Spanish


def test_a_translation_without_its_protocol_beside_it_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "lost.es.yaml").write_text(WALK_ES, encoding="utf-8")
    code, out, _ = _validate(tmp_path)
    assert code == 1
    assert "no lost.yaml is beside it" in out


def test_the_shipped_protocols_and_their_spanish_validate(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["checklists", "validate"], env={"SAFETYCLI_HOME": ""})
    assert result.exit_code == 0, result.output
    assert "problem" not in result.stderr


# --- checklists show --lang ----------------------------------------------------------------


def _workspace_with_walk(tmp_path: Path) -> Path:
    home = make_workspace(tmp_path / "ws")
    _write(home / "checklists")
    return home


def test_show_in_spanish_marks_what_is_untranslated(tmp_path: Path) -> None:
    home = _workspace_with_walk(tmp_path)
    cli = CliRunner()
    result = cli.invoke(
        app, ["checklists", "show", "lang-walk", "--lang", "es", "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Dos idiomas en un rodaje" in text
    assert "¿El armero le mostró al actor el arma descargada?" in text
    assert "VACÍA / FOGUEO" in text
    assert "[en] Actor knows to hand it back on cut?" in text
    english = cli.invoke(app, ["checklists", "show", "lang-walk", "--home", str(home)]).stdout
    assert "[en]" not in english and "VACÍA" not in english
    # The view's own words follow --lang too: who signs, who witnesses, what the answer is.
    from safetycli import i18n
    from safetycli.roles import spoken

    with i18n.speaking("es"):
        signs = i18n._("signed by {roles}").format(roles=spoken("armorer"))
        witness = i18n._("witnessed by {roles}").format(roles=spoken("actor"))
        phase = i18n._("Phase {n} of {total}: {title}").format(n=1, total=1, title="Entrega")
    assert signs != "signed by armorer"
    for said in (signs, witness, phase):
        assert said in text and said not in english
    assert "signed by armorer" in english and "signed by" not in text
    shown = json.loads(
        cli.invoke(
            app,
            ["checklists", "show", "lang-walk", "--lang", "es", "-f", "json", "--home", str(home)],
        ).stdout
    )
    items = {i["id"]: i for p in shown["phases"] for i in p["items"]}
    assert items["state"]["shown"]["options"] == ["VACÍA", "FOGUEO"]
    assert items["state"]["options"] == ["EMPTY", "BLANKS"]  # what the log records stays
    assert items["hand-back"]["shown"]["fallback"] is True
    assert set(shown["translations"]) == {"es"}


# --- the roster ------------------------------------------------------------------------------


def test_crew_add_lang_shows_in_list_and_a_change_needs_a_producer(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    cli = CliRunner()
    args = ["--home", str(home)]
    added = cli.invoke(
        app,
        ["crew", "add", "Lupe Ortega", "--role", "actor", "--lang", "ES", "--pin-stdin", *args],
        input=f"3141\n{PRODUCER[1]}\n",
    )
    assert added.exit_code == 0, added.output
    assert "reading protocols in Spanish (es)." in added.stdout  # the language, named in words
    in_spanish = cli.invoke(
        app,
        ["crew", "add", "Rosa Díaz", "--role", "actor", "--lang", "es", "--pin-stdin", *args],
        input=f"3142\n{PRODUCER[1]}\n",
        env={"SAFETYCLI_LANG": "es"},
    )
    assert in_spanish.exit_code == 0, in_spanish.output
    assert "español (es)" in in_spanish.stdout and "Spanish" not in in_spanish.stdout
    listed = json.loads(cli.invoke(app, ["crew", "list", "-f", "json", *args]).stdout)
    langs = {m["name"]: m["lang"] for m in listed}
    assert langs["Lupe Ortega"] == "es" and langs[ARMORER[0]] is None
    bad = cli.invoke(app, ["crew", "edit", ARMORER[0], "--lang", "español", *args])
    assert bad.exit_code == 2 and "not a language code" in bad.stderr
    wrong = cli.invoke(
        app, ["crew", "edit", ARMORER[0], "--lang", "es", "--pin-stdin", *args], input="0000\n"
    )
    assert wrong.exit_code == 2
    assert (
        json.loads(cli.invoke(app, ["crew", "list", "-f", "json", *args]).stdout)[1]["lang"] is None
    )
    changed = cli.invoke(
        app,
        ["crew", "edit", ARMORER[0], "--lang", "es", "--pin-stdin", *args],
        input=f"{PRODUCER[1]}\n",
    )
    assert changed.exit_code == 0, changed.output
    assert "reads protocols in Spanish (es) from now on" in changed.stdout
    after = json.loads(cli.invoke(app, ["crew", "list", "-f", "json", *args]).stdout)
    assert {m["name"]: m["lang"] for m in after}[ARMORER[0]] == "es"
    assert cli.invoke(app, ["verify", *args]).exit_code == 0  # the change was approved


# --- the walk-through at the keyboard ----------------------------------------------------------

WHO = r"(?:^|\n)(?P<name>[^\n(]+) \((?P<role>[^)\n]+)\)"
PROMPTS = {
    "name": r"(?P<role>[^\n]+): your name(?: \[[^\]\n]*\])?: $",
    "pin": r"(?:^|\n)(?P<name>[^\n,]+), your PIN: $",
    "keys": WHO
    + r": checks? (?P<numbers>[\d, ]+): type \d+ letters?, y or n(?: for each)?, then Enter: $",
    "read-back": WHO + r", (?P<n>\d+): say back what you heard: number or name: $",
    "answer": WHO + r", (?P<n>\d+): number or name: $",
    "done": r"COMPLETE: every check of run",
}


def _in_spanish() -> dict[str, str]:
    """The same prompts as a Spanish reader sees them (the tool's own words follow each
    person's language too), from the catalog: `-es` kinds, answered as their English ones."""
    from safetycli import i18n

    def pattern(message: str) -> str:
        fields = {"numbers": r"[\d, ]+", "count": r"\d+", "n": r"\d+"}
        text = re.escape(message.removeprefix("{who}"))
        return re.sub(r"\\\{(\w+)\\\}", lambda m: fields.get(m.group(1), ".+?"), text)

    one, many = (
        "{who}: check {numbers}: type {count} letter, y or n, then Enter",
        "{who}: checks {numbers}: type {count} letters, y or n for each, then Enter",
    )
    with i18n.speaking("es"):
        keys = "|".join(pattern(i18n.ngettext(one, many, n)) for n in (1, 2))
        choose = pattern(i18n._("{who}: number or name"))
        said_back = pattern(i18n._("{who}, {n}: say back what you heard"))
        pin = re.escape(i18n._("{name}, your PIN").removeprefix("{name}"))
    return {
        "pin-es": r"(?:^|\n)(?P<name>[^\n,]+)" + pin + ": $",
        "keys-es": WHO + f"(?:{keys}): $",
        "read-back-es": WHO + r", \d+" + said_back.split(r"\d+", 1)[1] + choose + ": $",
        "answer-es": WHO + r", \d+" + choose + ": $",
    }


PROMPTS.update(_in_spanish())
LISTED = re.compile(r"^  (\d+)\. (?:\[en\] )?(.+?) \[([a-z-]+)\]\s*$", re.M)
OPTION = re.compile(r"^    \d+\. (?:\[en\] )?(.+?)\s*$", re.M)


def _walk(
    home: Path, refuse: str | None = None, wrong_pin: str | None = None
) -> tuple[str, dict[str, str]]:
    """Walk lang-walk at a pseudo-terminal: the armorer answers EMPTY, the actor reads it back
    in Spanish. Returns the transcript and, per person, the part of it addressed to them.
    `refuse`: that person answers no to every check on their one-key line, and the walk is
    expected to stop on a HOLD (exit 3) instead of completing. `wrong_pin`: that person types
    a wrong PIN once at sign-in before the right one."""
    mistyped = {wrong_pin} if wrong_pin else set()
    argv = safetycli_argv()
    child = pexpect.spawn(
        argv[0],
        [*argv[1:], "run", "lang-walk", "--scene", "7", "--day", DAY],
        env=subprocess_env(home),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 160),
    )
    child.delaybeforesend = None
    kinds = list(PROMPTS) if refuse is None else [k for k in PROMPTS if k != "done"]
    transcript = ""
    parts: dict[str, str] = {}
    while True:
        index = child.expect([*(PROMPTS[k] for k in kinds), pexpect.EOF])
        if index == len(kinds):  # the run stopped (on a hold) before it completed
            transcript += child.before or ""
            child.close()
            assert refuse is not None and child.exitstatus == 3, transcript
            return transcript, parts
        kind = kinds[index].removesuffix("-es")
        before = child.before or ""
        transcript += before + str(child.after)
        groups = child.match.groupdict()
        if kind == "done":
            break
        if groups.get("name"):
            parts[groups["name"].strip()] = parts.get(groups["name"].strip(), "") + before
        if kind == "name":
            child.sendline("")
        elif kind == "pin":
            child.waitnoecho(timeout=5)
            name = groups["name"].strip()
            child.sendline("0000" if name in mistyped else PINS[name])
            mistyped.discard(name)
        elif kind == "keys":
            keys = re.search(r"(\d+) (?:letters?|letras?),", str(child.after))
            assert keys is not None
            child.sendline(("n" if refuse == groups["name"].strip() else "y") * int(keys.group(1)))
        elif kind == "answer":
            child.sendline("EMPTY")
        elif kind == "read-back":
            child.sendline("vacía")  # the state said back in the actor's own words
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, transcript
    return transcript, parts


def _shown_lines(part: str) -> list[str]:
    """What a person's signature covers, from their screen: each listed question, then the
    options of a choice as they were listed."""
    lines: list[str] = []
    options = OPTION.findall(part)
    for _, question, item in LISTED.findall(part):
        lines.append(question)
        if item == "state":
            lines.extend(options)
    return lines


@pytest.mark.slow
def test_armorer_in_english_actor_in_spanish_and_the_log_proves_what_each_read(
    tmp_path: Path,
) -> None:
    home = _workspace_with_walk(tmp_path)
    with Ledger.open(home / "log.db") as ledger:
        crew.set_lang(ledger, ACTOR[0], "es", PRODUCER)

    transcript, parts = _walk(home, wrong_pin=ACTOR[0])
    armorer, actor = parts[ARMORER[0]], parts[ACTOR[0]]
    # Everything said to the actor alone is in Spanish: the PIN asked at sign-in (once the
    # name is known, so is the language), why a wrong one was refused, what they signed.
    assert f"{ACTOR[0]}, su PIN" in transcript and f"{ACTOR[0]}, your PIN" not in transcript
    assert f"{ARMORER[0]}, your PIN" in transcript
    assert f"Rechazado: PIN incorrecto para {ACTOR[0]}" in transcript
    assert f"Firmado: {ACTOR[0]} (actor)" in transcript
    assert f"Signed: {ACTOR[0]}" not in transcript and f"Signed: {ARMORER[0]}" in transcript
    # The armorer's prompts in English, the actor's in Spanish, with the untranslated check
    # marked as shown in English.
    assert "Armorer showed the firearm clear to the actor?" in armorer
    assert "EMPTY" in armorer and "VACÍA" not in armorer and "[en]" not in armorer
    assert "Entrega" in actor
    assert "¿El armero le mostró al actor el arma descargada?" in actor
    assert "VACÍA" in actor and "FOGUEO" in actor
    assert "[en] Actor knows to hand it back on cut?" in actor
    assert "Armorer showed the firearm clear" not in actor
    # The tool's own words around each list follow the person too (the interface half).
    from safetycli import i18n

    with i18n.speaking("es"):
        witness_es = i18n._("you witness it (done by the {role})").split("{")[0]
    assert "you do it: y or n" in armorer and witness_es not in armorer
    assert witness_es in actor and "you witness it" not in actor

    run_id = re.search(r"Run (r-[0-9a-f]{6}) started", transcript).group(1)  # type: ignore[union-attr]
    result = CliRunner().invoke(
        app, ["log", "show", run_id, "--format", "json", "--home", str(home)]
    )
    detail: dict[str, Any] = json.loads(result.stdout)
    signoffs = {s["item"]: s for s in detail["signoffs"]}
    armorer_hash = hashlib.sha256("\n".join(_shown_lines(armorer)).encode()).hexdigest()
    actor_hash = hashlib.sha256("\n".join(_shown_lines(actor)).encode()).hexdigest()
    assert len(_shown_lines(actor)) == 6  # four questions and two options, read off the screen
    assert signoffs["shown-clear"]["lang"] == "en"
    assert signoffs["shown-clear"]["text_sha256"] == armorer_hash
    assert signoffs["state"]["answer"] == "EMPTY"  # read back in Spanish, recorded as the option
    witness = signoffs["shown-clear"]["witnesses"][0]
    assert (witness["name"], witness["lang"], witness["text_sha256"]) == (
        ACTOR[0],
        "es",
        actor_hash,
    )
    assert signoffs["state"]["readbacks"][0]["lang"] == "es"
    assert signoffs["briefed"]["lang"] == "es"
    assert signoffs["briefed"]["text_sha256"] == actor_hash
    assert (
        detail["protocol"]["translations"]["es"]
        == hashlib.sha256((home / "checklists" / "lang-walk.es.yaml").read_bytes()).hexdigest()
    )
    assert CliRunner().invoke(app, ["verify", "--home", str(home)]).exit_code == 0


@pytest.mark.slow
def test_a_hold_on_a_mixed_set_is_said_in_english_and_in_spanish(tmp_path: Path) -> None:
    """The armorer reads English, the actor Spanish; the actor refuses to confirm the critical
    check: the red panel's words (stop work, what failed, who clears it and how) are on screen
    in both languages, the laptop's first, each block under its language's own name."""
    from safetycli import i18n

    home = _workspace_with_walk(tmp_path)
    with Ledger.open(home / "log.db") as ledger:
        crew.set_lang(ledger, ACTOR[0], "es", PRODUCER)
    transcript, _ = _walk(home, refuse=ACTOR[0])
    panel = " ".join(transcript.replace("│", " ").split()).split("HOLD · ALTO", 1)
    assert len(panel) == 2, transcript  # the title: the laptop's word, then the actor's
    said = panel[1]
    english = {
        "stop": "STOP WORK. Nothing proceeds until the hold is cleared.",
        "failed": "What failed: Armorer showed the firearm clear to the actor?",
        "clear": "To clear: armorer, each in person with their PIN:",
    }
    with i18n.speaking("es"):
        spanish = {
            "stop": i18n._(english["stop"]),
            "failed": i18n._("What failed: {reason}").split("{")[0],
            "clear": i18n._("To clear: {roles}, each in person with their PIN:").format(
                roles=role_name("armorer")
            ),
            "note": i18n._('safetycli clear {run} --note "what was found and done"').split(
                " --note"
            )[1],
        }
    assert spanish["stop"] != english["stop"] and spanish["note"] != ' "what was found and done"'
    for words in english.values():
        assert words in said, said
    for words in spanish.values():
        assert words in said, said
    # The laptop's language first, then the actor's, under its own name; the failed check in
    # the actor's words in the actor's block.
    assert (
        said.index(english["stop"]) < said.index("── español (es) ──") < said.index(spanish["stop"])
    )
    with i18n.speaking("es"):
        failed = i18n._("What failed: {reason}").format(
            reason="¿El armero le mostró al actor el arma descargada?"
        )
        recorded = i18n._("as recorded: {reason}").format(
            reason="Armorer showed the firearm clear to the actor?"
        )
    assert said.index(spanish["stop"]) < said.index(failed) < said.index(recorded)


def test_a_changed_translation_refuses_to_resume_a_run_that_started_with_the_old_one(
    tmp_path: Path,
) -> None:
    home = _workspace_with_walk(tmp_path)
    answers = tmp_path / "a.yaml"
    answers.write_text(
        "signers:\n"
        f"  armorer: {{name: {ARMORER[0]}, pin: '{ARMORER[1]}'}}\n"
        f"  actor: {{name: {ACTOR[0]}, pin: '{ACTOR[1]}'}}\n"
        "answers: {shown-clear: yes}\n",
        encoding="utf-8",
    )
    answers.chmod(0o600)
    cli = CliRunner()
    started = cli.invoke(
        app,
        ["run", "lang-walk", "--scene", "7", "--day", DAY, "--answers", str(answers)],
        env={"SAFETYCLI_HOME": str(home)},
    )
    assert started.exit_code == 4, started.output
    run_id = re.search(r"r-[0-9a-f]{6}", started.output).group(0)  # type: ignore[union-attr]
    es = home / "checklists" / "lang-walk.es.yaml"
    es.write_text(es.read_text(encoding="utf-8").replace("Entrega", "Entrega en mano"))
    again = cli.invoke(
        app, ["resume", run_id, "--answers", str(answers)], env={"SAFETYCLI_HOME": str(home)}
    )
    assert again.exit_code == 2
    assert "translations that have changed" in again.stderr


def test_an_old_log_without_languages_still_shows_and_verifies(tmp_path: Path) -> None:
    """Signatures written before languages were recorded: no `lang`, no `text_sha256`."""
    home = make_workspace(tmp_path / "ws")
    shutil.copy(FIXTURES / "minimal.yaml", home / "checklists" / "minimal.yaml")
    raw = (home / "checklists" / "minimal.yaml").read_bytes()
    from safetycli.events import NewEvent

    run = "r-0a1d10"
    who = {"name": "Dana Reyes", "role": "first_ad"}
    old = [
        NewEvent(
            "run.started",
            {
                "protocol": {
                    "id": "minimal",
                    "version": 1,
                    "sha256": hashlib.sha256(raw).hexdigest(),
                },
                "scene": "3",
                "day": DAY,
                "context": {},
                "clear_roles": ["first_ad"],
                "mode": "keyboard",
            },
            run=run,
        ),
        NewEvent("run.signed-in", who, run=run, person=who["name"]),
        NewEvent(
            "item.signed-off",
            {
                "phase": "only-phase",
                "take": None,
                **who,
                "items": [{"item": "ready", "meaning": "performed", "answer": True}],
                "pin": "sign-in",
            },
            run=run,
            person=who["name"],
        ),
        NewEvent(
            "item.done",
            {
                "phase": "only-phase",
                "take": None,
                "item": "ready",
                "outcome": "confirmed",
                "reason": None,
                "by": who,
            },
            run=run,
        ),
        NewEvent("run.completed", {}, run=run),
    ]
    with Ledger.open(home / "log.db") as ledger:
        ledger.append_many(old)
    cli = CliRunner()
    shown = cli.invoke(app, ["log", "show", run, "--format", "json", "--home", str(home)])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    assert detail["status"] == "complete"
    (signoff,) = detail["signoffs"]
    assert signoff["by"] == who and signoff["lang"] is None and signoff["text_sha256"] is None
    table = cli.invoke(app, ["log", "show", run, "--home", str(home)])
    assert table.exit_code == 0 and "ready" in table.stdout
    assert cli.invoke(app, ["verify", "--home", str(home)]).exit_code == 0


def test_the_hold_panel_says_the_failed_check_in_the_language_of_everyone_signed_in(
    tmp_path: Path,
) -> None:
    home = _workspace_with_walk(tmp_path)
    with Ledger.open(home / "log.db") as ledger:
        crew.set_lang(ledger, ACTOR[0], "es", PRODUCER)
    answers = tmp_path / "a.yaml"
    answers.write_text(
        "signers:\n"
        f"  armorer: {{name: {ARMORER[0]}, pin: '{ARMORER[1]}'}}\n"
        f"  actor: {{name: {ACTOR[0]}, pin: '{ACTOR[1]}'}}\n"
        "answers: {shown-clear: yes, state: EMPTY, briefed: yes, hand-back: yes}\n"
        "witnesses: {shown-clear: {actor: no}}\n",
        encoding="utf-8",
    )
    answers.chmod(0o600)
    held = CliRunner().invoke(
        app,
        ["run", "lang-walk", "--scene", "7", "--day", DAY, "--answers", str(answers)],
        env={"SAFETYCLI_HOME": str(home), "COLUMNS": "200"},
    )
    assert held.exit_code == 3, held.output
    text = " ".join(held.stdout.split())
    assert "What failed: Armorer showed the firearm clear to the actor?" in text
    from safetycli import i18n

    with i18n.speaking("es"):
        failed = i18n._("What failed: {reason}").format(
            reason="¿El armero le mostró al actor el arma descargada?"
        )
    assert failed in text  # the actor's block names the check in the actor's words
    # The actor's refusal is recorded with what the actor read.
    detail = json.loads(
        CliRunner()
        .invoke(
            app,
            [
                "log",
                "show",
                re.search(r"r-[0-9a-f]{6}", held.output).group(0),  # type: ignore[union-attr]
                "--format",
                "json",
                "--home",
                str(home),
            ],
        )
        .stdout
    )
    (witness,) = detail["signoffs"][0]["witnesses"]
    assert (witness["ok"], witness["lang"]) == (False, "es")


def test_a_protocol_whose_translation_is_broken_does_not_run(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws")
    _write(home / "checklists", es=WALK_ES.replace("BLANKS: FOGUEO", "BLANKS: VACÍA"))
    cli = CliRunner()
    for args in (["checklists", "show", "lang-walk"], ["run", "lang-walk", "--scene", "7"]):
        refused = cli.invoke(app, [*args, "--home", str(home)])
        assert refused.exit_code == 2, refused.output
        assert "problems in its translations" in refused.stderr
        assert "Traceback" not in refused.output
    listed = cli.invoke(app, ["checklists", "list", "--format", "json", "--home", str(home)])
    assert "lang-walk" not in [row["id"] for row in json.loads(listed.stdout)]
    assert "1 problem in protocol files" in listed.stderr


# --- what a translator receives ------------------------------------------------------------------


def test_translate_keeps_what_is_current_empties_what_changed_and_shows_the_old_words(
    tmp_path: Path,
) -> None:
    home = _workspace_with_walk(tmp_path)
    main = home / "checklists" / "lang-walk.yaml"
    main.write_text(
        main.read_text(encoding="utf-8").replace(
            "ask: Actor briefed on where the muzzle points?",
            "ask: Actor briefed on where the muzzle points, and on the stand-off distance?",
        ),
        encoding="utf-8",
    )
    cli = CliRunner()
    out = home / "checklists" / "lang-walk.es.yaml"
    written = cli.invoke(
        app,
        [
            "checklists",
            "translate",
            "lang-walk",
            "--lang",
            "es",
            "-o",
            str(out),
            "--home",
            str(home),
        ],
    )
    assert written.exit_code == 0, written.output
    text = out.read_text(encoding="utf-8")
    # The changed question: its old Spanish in a comment to work from, never passed off as
    # a translation of the new English.
    assert (
        '# outdated, was: "¿Se le explicó al actor hacia dónde apunta la boca del cañón?"' in text
    )
    import yaml

    data = yaml.safe_load(text)
    assert data["items"]["briefed"]["ask"] == {
        "en": "Actor briefed on where the muzzle points, and on the stand-off distance?",
        "es": "",
    }
    assert data["items"]["shown-clear"]["ask"]["es"] == (
        "¿El armero le mostró al actor el arma descargada?"
    )
    assert data["items"]["state"]["options"] == {"EMPTY": "VACÍA", "BLANKS": "FOGUEO"}
    assert data["items"]["hand-back"]["ask"]["es"] == ""
    code, listed, _ = _validate(home / "checklists")
    assert code == 0
    warned = [line for line in listed.splitlines() if "warning:" in line]
    assert len(warned) == 3  # the changed question; the untranslated item's ask and why
    assert any("`briefed` `ask` is not translated" in w for w in warned)
    assert any("`hand-back` `ask` is not translated" in w for w in warned)
    assert any("`hand-back` `why` is not translated" in w for w in warned)


def test_translate_into_a_new_language_gives_a_file_that_validates_with_warnings_only(
    tmp_path: Path,
) -> None:
    cli = CliRunner()
    result = cli.invoke(
        app,
        ["checklists", "translate", "firearm-scene", "--lang", "fr"],
        env={"SAFETYCLI_HOME": ""},
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "fr"
    folder.mkdir()
    from safetycli.protocache import shipped_dir

    shutil.copy(shipped_dir() / "firearm-scene.yaml", folder / "firearm-scene.yaml")
    (folder / "firearm-scene.fr.yaml").write_text(result.stdout, encoding="utf-8")
    code, out, err = _validate(folder)
    assert code == 0, out
    assert "all valid" in err and "warning(s)" in err
    assert "item `shown-clear` `ask` is not translated into `fr` yet" in out
    same = cli.invoke(
        app,
        ["checklists", "translate", "firearm-scene", "--lang", "en"],
        env={"SAFETYCLI_HOME": ""},
    )
    assert same.exit_code == 2 and "written in English" in same.stderr
