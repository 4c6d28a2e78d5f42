"""The tool's own words in Spanish (issue 16): the catalog is whole and says what the English says
(same placeholders, same markup), the installed package finds it, the language is chosen as the
README says, and a producer's report and the set's status read in Spanish while JSON and CSV,
which programs read, stay as they are.

Expected Spanish words are looked up through the catalog itself (`speaking("es")`), never typed
here: a translator improving a word must not break a test."""

from __future__ import annotations

import csv
import gettext
import io
import json
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from safetycli import crew, i18n
from safetycli.cli import app
from safetycli.i18n import _, speaking
from safetycli.roles import spoken
from tests.reviewdata import HOSTILE_DAY, IMG, Production, add_hostile, build

REPO = Path(__file__).resolve().parent.parent
PO = REPO / "safetycli" / "locale" / "es" / "LC_MESSAGES" / "safetycli.po"
PERIOD = ["--from", "2026-03-01", "--to", "2026-03-31"]


def catalog() -> list[tuple[str | tuple[str, ...], str | tuple[str, ...], bool]]:
    with PO.open("rb") as source:
        parsed = read_po(source, locale="es")
    return [(m.id, m.string, m.fuzzy) for m in parsed if m.id]


def placeholders(text: str) -> list[str]:
    """The `{name}` fields a message fills in, and its Rich markup tags (`[bold]`, `[/bold]`):
    a translation must keep both or it crashes (`KeyError`), lies (a number dropped) or breaks
    the screen's styling."""
    fields = sorted(field[1] for field in string.Formatter().parse(text) if field[1] is not None)
    tags = sorted(re.findall(r"\[/?[a-z][a-z ]*\]", text))
    return fields + tags


def forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


# --- the catalog ---------------------------------------------------------------------------------


def test_every_spanish_message_is_translated_and_none_is_fuzzy() -> None:
    entries = catalog()
    assert len(entries) > 200  # the walk-through, the panels, status and the report
    untranslated = [mid for mid, said, _fuzzy in entries if not all(s.strip() for s in forms(said))]
    fuzzy = [mid for mid, _said, is_fuzzy in entries if is_fuzzy]
    assert untranslated == [] and fuzzy == []


def test_translations_keep_every_placeholder_and_markup_tag() -> None:
    wrong = []
    for mid, said, _fuzzy in catalog():
        wanted = [placeholders(m) for m in forms(mid)]
        for text in forms(said):
            if placeholders(text) not in wanted:
                wrong.append((mid, text))
    assert wrong == []


def test_the_catalog_holds_every_message_the_source_marks() -> None:
    """A message wrapped in the code but not in the catalog would show in English on a Spanish
    set: `make catalogs` was not run. Extracted exactly as it extracts (babel.cfg)."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    marked = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            REPO / "safetycli", method_map, options_map, comment_tags=("Translators:",)
        )
    }
    assert len(marked) > 200  # the extraction found the code's messages, template included
    assert "Exceptions" in marked and "Summary" in marked
    known = {entry[0] for entry in catalog()}
    assert {m for m in marked if m} - known == set()


def test_the_installed_package_finds_the_compiled_catalog_and_it_is_current() -> None:
    """The build hook compiled the .po into the .mo gettext reads; a .po edited since needs
    `make catalogs` (or a reinstall), or the set would read yesterday's words."""
    assert gettext.find(i18n.DOMAIN, i18n.LOCALE_DIR, ["es"]) is not None
    stale = []
    with speaking("es"):
        assert i18n.current() == "es"
        for mid, said, _fuzzy in catalog():
            if isinstance(mid, tuple):
                got = (i18n.ngettext(mid[0], mid[1], 1), i18n.ngettext(mid[0], mid[1], 2))
                if got != tuple(said):
                    stale.append(mid)
            elif _(mid) != said:
                stale.append(mid)
    assert stale == []


def test_spanish_yes_and_no_keys_never_overlap_nor_take_the_hold_key() -> None:
    from safetycli.cli import terminal

    with speaking("es"):
        yes, no = terminal._yes_words(), terminal._no_words()
        assert yes and no and not yes & no
        assert terminal.HOLD_KEY not in yes | no
        assert terminal._keys("ssn") == "yyn"
        assert terminal._yes_no_word("sí") == "yes"
    assert terminal._keys("ssn") == "ssn"  # English: `s` is no answer, asked again


def test_a_missing_or_damaged_catalog_speaks_english_rather_than_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A HOLD must show whatever the install lost: no catalog, or a corrupt one, is English."""
    monkeypatch.setattr(i18n, "_loaded", {})
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.use("es")
    assert i18n.current() == "en" and _("HOLD") == "HOLD"
    damaged = tmp_path / "es" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"not a catalog")
    i18n.use("es")
    assert i18n.current() == "en"


# --- choosing the language -----------------------------------------------------------------------


@pytest.fixture
def clean_locale(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", i18n.ENV):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def test_the_language_is_the_flag_then_the_variable_then_the_config_then_the_locale(
    clean_locale: pytest.MonkeyPatch,
) -> None:
    env = clean_locale
    assert i18n.resolve() == "en"
    env.setenv("LANG", "es_MX.UTF-8")
    assert i18n.resolve() == "es"
    assert i18n.resolve(configured="en") == "en"  # the workspace's setting beats the locale
    env.setenv(i18n.ENV, "en")
    assert i18n.resolve(configured="es") == "en"
    assert i18n.resolve("es", configured="en") == "es"
    # Unshipped choices fall through to the next, never fail.
    env.setenv(i18n.ENV, "fr")
    assert i18n.resolve(configured="de") == "es"


def test_the_locale_as_gettext_reads_it(clean_locale: pytest.MonkeyPatch) -> None:
    env = clean_locale
    env.setenv("LANGUAGE", "fr:es:en")
    env.setenv("LANG", "en_US.UTF-8")
    assert i18n.from_locale() == "es"  # the first shipped preference in LANGUAGE's list
    env.setenv("LANGUAGE", "fr")
    assert i18n.from_locale() == "en"  # none shipped there: the locale itself
    env.delenv("LANGUAGE")
    env.setenv("LC_ALL", "C")
    assert i18n.from_locale() is None  # C: no preference, English
    env.setenv("LC_ALL", "es_ES")
    assert i18n.from_locale() == "es"


def test_speaking_switches_for_a_block_and_restores_even_on_error() -> None:
    assert i18n.current() == "en"
    with pytest.raises(RuntimeError), speaking("es"):
        assert _("HOLD") != "HOLD"
        raise RuntimeError
    assert i18n.current() == "en" and _("HOLD") == "HOLD"
    i18n.use("xx")  # unshipped: English, not a failure
    assert i18n.current() == "en"


# --- what people read ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        built = build(tmp_path_factory.mktemp("i18n") / "ws")
        add_hostile(built)
        yield built


def report(prod: Production, *args: str) -> str:
    result = prod.invoke(["report", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_report_lang_es_writes_markdown_headings_and_words_in_spanish(prod: Production) -> None:
    english = report(prod, *PERIOD)
    spanish = report(prod, *PERIOD, "--lang", "es")
    with speaking("es"):
        for heading in ("Exceptions", "Runs", "Holds: work stopped", "Refused items"):
            assert _(heading) != heading
            assert _(heading) in spanish
        title = _("Firearm safety report")
        keep = _("Keep this report. To prove later that nothing up to here was rewritten, run:")
    assert spanish.startswith(f"# {title}: ")
    assert keep in spanish
    assert "## Exceptions" in english and "## Exceptions" not in spanish
    # The log's own content is data, the same in both: names, reasons, the head to verify.
    for same in ("Sam Ortiz", "safetycli verify --expect-head"):
        assert same in english and same in spanish


def test_report_lang_es_html_is_spanish_escaped_and_says_its_language(
    prod: Production, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    done = prod.invoke(["report", "--day", HOSTILE_DAY, "--format", "html", "--lang", "es"])
    assert done.exit_code == 0, done.output
    html = done.stdout
    out.write_text(html, encoding="utf-8")
    assert '<html lang="es">' in html
    with speaking("es"):
        assert f">{_('Exceptions')}</h2>" in html
        assert f"<th>{_('Reason')}</th>" in html
        by = _("by {who}").split("{who}")[0]
    assert by in html  # the translated sentence around a name
    # A hostile name inside a translated sentence is still text, never markup.
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=" in html and IMG[0] not in html
    assert "\x1b" not in html and "\\x1b[2J" in html


def test_why_a_run_is_unfinished_is_said_in_spanish_with_what_people_wrote_as_written(
    prod: Production,
) -> None:
    spanish = report(prod, *PERIOD, "--lang", "es")
    with speaking("es"):
        held = _("held: {reason}").format(reason="State of the firearm -- answered NOT VERIFIED")
        aborted = _("aborted by {name} ({role}): {reason}").format(
            name="Dana Reyes", role=spoken("first_ad"), reason="Actor locked out; scene cut"
        )
        left_open = _("left open: resume it or abort it")
    assert held.startswith("parado: ") and "(1er AD)" in aborted
    for said in (held, aborted, left_open):
        assert said in spanish
    assert "aborted by" not in spanish and "left open:" not in spanish
    as_json = json.loads(report(prod, *PERIOD, "--format", "json", "--lang", "es"))
    whys = {u["why"] for u in as_json["exceptions"]["unfinished"]}
    assert "aborted by Dana Reyes (1st AD): Actor locked out; scene cut" in whys


def test_json_and_csv_stay_the_same_in_every_language(prod: Production) -> None:
    """Programs read them: keys, columns and codes are a contract, not prose."""
    as_json = [
        json.loads(report(prod, *PERIOD, "--format", "json", *lang))
        for lang in ([], ["--lang", "es"])
    ]
    for data in as_json:
        data.pop("generated_at")
    assert as_json[0] == as_json[1]
    tables = [report(prod, *PERIOD, "--format", "csv", *lang) for lang in ([], ["--lang", "es"])]
    rows = [list(csv.reader(io.StringIO(t))) for t in tables]
    assert rows[0] == rows[1]


def test_report_names_the_languages_it_has_when_given_another(prod: Production) -> None:
    result = prod.invoke(["report", "--lang", "fr"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "fr" in lines[0] and "es" in lines[0]


def test_status_speaks_the_workspace_language_unless_the_variable_says_otherwise(
    home: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = "No open or held runs, and no scene held."
    assert cli.invoke(app, ["status"]).stdout.strip() == empty
    config = home / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + 'language = "es"\n', encoding="utf-8")
    with speaking("es"):
        spanish = _(empty)
    assert spanish != empty
    assert cli.invoke(app, ["status"]).stdout.strip() == spanish
    monkeypatch.setenv(i18n.ENV, "en")
    assert cli.invoke(app, ["status"]).stdout.strip() == empty
    # A failure is one line in the reader's language too.
    monkeypatch.setenv(i18n.ENV, "es")
    monkeypatch.setenv("SAFETYCLI_HOME", str(home.parent / "nowhere"))
    failed = cli.invoke(app, ["status"])
    assert failed.exit_code == 2
    with speaking("es"):
        nowhere = _("no workspace at {path}: run `safetycli init --home {path}`").split(":")[0]
    assert failed.output.startswith("error: " + nowhere.split("{path}")[0])


# --- at the keyboard -----------------------------------------------------------------------------


def prompt_pattern(message: str, tag: str = "") -> str:
    """A regex for a catalog message as it shows on screen: each placeholder a named group
    (`tag` after its name keeps two alternatives' groups apart) matching any text."""
    return re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}{tag}>.+?)", re.escape(message))


def shown(message: str) -> str:
    """A message as the terminal shows it: Rich markup gone."""
    return re.sub(r"\[/?[a-z][a-z ]*\]", "", message)


@pytest.mark.slow
def test_a_walk_in_spanish_asks_in_spanish_and_the_hold_panel_says_alto(tmp_path: Path) -> None:
    """SAFETYCLI_LANG=es at a real terminal: the sign-in, the PIN, the one-key line (answered
    with `s` for sí), the hold key's question and the red panel are all in Spanish."""
    import os

    import pexpect

    from safetycli.roles import spoken
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
        reason_prompt = prompt_pattern(_("HOLD: what is wrong? (Enter alone goes back)")) + ": $"
        stop = _("STOP WORK. Nothing proceeds until the hold is cleared.")
        again = shown(i18n.ngettext(one, many, 2)).split("}")[1].split("{")[0]  # ": checks "
        retry = shown(
            i18n.ngettext(
                "[yellow]Type {count} letter, y or n, for check {numbers}, then Enter (h "
                "stops work).[/yellow]",
                "[yellow]Type {count} letters, y or n for each of checks {numbers} in order, "
                "then Enter (h stops work).[/yellow]",
                2,
            )
        ).split("{")[0]
        failed = _("What failed: {reason}").format(reason="humo cerca del carro")
        sign_in = _("{role}: your name").format(role=spoken("armorer"))
    argv = safetycli_argv()
    args = ["run", "firearm-scene", "--scene", "7", "--day", "2026-11-23"]
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
            assert child.match.group("role")  # a role, in Spanish words
            child.sendline("")  # the one person on the roster for the role is offered
        elif index in (2, 3):
            who = child.match.group("name").strip()
            child.waitnoecho(timeout=5)
            child.sendline(PINS[who.split(" (")[0]])
        else:  # a batch's one-key line, or a number in it
            batches += 1
            if batches == 1 and index == 4:
                count = int(child.match.group("count1") or child.match.group("count2"))
                child.sendline("s" * count)  # sí, in the reader's own key
            else:
                child.sendline("h")
                child.expect(reason_prompt)
                child.sendline("humo cerca del carro")
    child.expect(pexpect.EOF)
    seen += child.before or ""
    child.close()
    text = " ".join(seen.split())
    assert child.exitstatus == 3, text
    assert sign_in in text
    assert again in text and retry not in text  # `ss` answered the one-key line: no retry
    assert "ALTO · HOLD" in text.replace("─", " ")
    assert failed in text
    assert "STOP WORK" not in text and "your PIN" not in text
    assert os.environ.get(i18n.ENV) is None  # the test's own process stayed English


def test_log_show_reads_in_spanish_and_its_json_does_not_change(
    prod: Production, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = prod.runs["held-cleared"]
    english = prod.invoke(["log", "show", run_id])
    as_json = prod.invoke(["log", "show", run_id, "--format", "json"])
    monkeypatch.setenv(i18n.ENV, "es")
    spanish = prod.invoke(["log", "show", run_id])
    assert english.exit_code == spanish.exit_code == 0
    with speaking("es"):
        roll_call = _("Roll call: ")
        cleared = _("{HOLD} cleared by {who}: {note} · work stopped {stopped}")
        cleared_words = cleared.split("{who}")[0].replace("{HOLD}", _("HOLD"))
    assert roll_call in spanish.stdout and "Roll call: " not in spanish.stdout
    assert cleared_words in spanish.stdout
    assert "Roll call: " in english.stdout
    # The people and what they wrote are the same in both.
    assert "Sam Ortiz" in english.stdout and "Sam Ortiz" in spanish.stdout
    assert prod.invoke(["log", "show", run_id, "--format", "json"]).stdout == as_json.stdout


def test_no_function_binds_the_translation_marker_it_calls() -> None:
    """`_` is both gettext's marker and Python's throwaway name: a function that unpacks into
    `_` (`for _, item in ...`, `with x as (_, y)`) and also calls `_("...")` crashes at that
    call. Ruff catches a loop over an imported `_`, not every such binding."""
    import ast

    wrong = []
    for path in sorted((REPO / "safetycli").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == "_"]
            binds = any(isinstance(n.ctx, ast.Store) for n in names)
            calls = any(
                isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "_"
                for c in ast.walk(node)
            )
            if binds and calls:
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}")
    assert wrong == []


def test_a_checks_take_is_said_in_the_readers_words_in_the_report_and_log_show(
    prod: Production, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The small print under a check ("state-announced, take 1") is words a producer reads,
    not ids: in Spanish it says "toma"; the CSV keeps the log's words (the test above)."""
    english = report(prod, *PERIOD)
    spanish = report(prod, *PERIOD, "--lang", "es")
    taken = re.findall(r"\(([a-z-]+), take (\d+)\)", english)
    assert taken
    for item, n in taken:
        assert f"({item}, toma {n})" in spanish
    assert ", take " not in spanish
    run = prod.runs["held"]
    monkeypatch.setenv("SAFETYCLI_LANG", "es")
    shown = prod.invoke(["log", "show", run]).stdout
    assert re.search(r" toma \d+ · ", shown) and " take " not in shown


def test_the_spanish_report_says_roster_changes_and_what_a_pin_was_for_in_spanish(
    prod: Production,
) -> None:
    """A roster change ("added as armorer, approved by ...") and what a refused PIN was for
    ("witness") are the tool's words, not the log's data: the Spanish report says them in
    Spanish; JSON and CSV keep the English (the test above)."""
    wide = ["--from", "2026-03-01", "--to", "2099-12-31"]  # the roster was made today
    english = report(prod, *wide)
    spanish = report(prod, *wide, "--lang", "es")
    html = report(prod, *wide, "--lang", "es", "--format", "html")
    assert "added as" in english and "approved by" in english and "| witness |" in english
    for text in (spanish, html):
        assert "added as" not in text and "approved by" not in text
    with speaking("es"):
        approved = _("added as {roles}, approved by {by}").split("{roles}")[0]
        witness = _("witness")
    assert approved != "added as " and approved in spanish and approved in html
    assert f"| {witness} |" in spanish and "| witness |" not in spanish
