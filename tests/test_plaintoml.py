"""config.toml read without tomllib (safetycli/plaintoml.py) reads what tomllib reads, or leaves
the file to tomllib; and an edited config.toml is read afresh by the next command."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safetycli.plaintoml import loads
from safetycli.workspace import Workspace, init_workspace
from tests.walk_helpers import subprocess_env

BLANK = st.sampled_from(["", " ", "\t", "  \t"])
KEY = st.sampled_from(["production", "timezone", "language", "device", "a-b_1", "x", "roles"])
TEXT = st.text(alphabet=st.sampled_from([*"aZ 9#=[]\t'", "é", "日", "\u2028"]), max_size=12).filter(
    lambda t: '"' not in t and "\\" not in t
)
COMMENT = st.builds(lambda b, t: f"{b}# {t}", BLANK, TEXT)


@st.composite
def plain_line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["pair", "pair", "pair", "comment", "blank", "table"]))
    before, after = draw(BLANK), draw(BLANK)
    if kind == "comment":
        return before + draw(COMMENT)
    if kind == "blank":
        return before
    tail = draw(st.one_of(st.just(""), COMMENT))
    if kind == "table":
        return f"{before}[{draw(KEY)}]{after}{tail}"
    return f'{before}{draw(KEY)}{draw(BLANK)}={after}"{draw(TEXT)}"{tail}'


def document(lines: list[str], crlf: bool, final: bool) -> str:
    newline = "\r\n" if crlf else "\n"
    return newline.join(lines) + (newline if final else "")


@given(st.lists(plain_line(), max_size=8), st.booleans(), st.booleans())
def test_plain_files_read_as_tomllib_reads_them(lines: list[str], crlf: bool, final: bool) -> None:
    text = document(lines, crlf, final)
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # a duplicate key or table: never read here
        assert loads(text) is None
        return
    assert loads(text) == expected  # plain: read here, never left to tomllib


# Anything a config.toml could hold: the plain lines with noise spliced in (escapes, quotes,
# dotted keys, other value types, control characters, a CR alone, a BOM, arrays of tables).
NOISE = st.sampled_from(
    ["\\", '"', "'", ".", "=", "[", "]", "[[", "\r", "\x00", "\x7f", "\ufeff", "1", "true", " "]
)


@given(
    st.lists(plain_line(), max_size=6),
    st.lists(st.tuples(st.integers(0, 400), NOISE), max_size=4),
    st.booleans(),
)
def test_any_file_is_read_as_tomllib_or_left_to_it(
    lines: list[str], noise: list[tuple[int, str]], crlf: bool
) -> None:
    text = document(lines, crlf, True)
    for at, piece in noise:
        at %= len(text) + 1
        text = text[:at] + piece + text[at:]
    found = loads(text)
    if found is None:
        return  # tomllib reads it (or says what is wrong with it), as before
    assert found == tomllib.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        'a = "x"\na = "y"\n',  # a duplicate key
        "[roles]\n[roles]\n",  # a table twice
        'roles = "x"\n[roles]\n',
        'a = "x"\r',  # a CR alone at the end
        'a = "x\\"y"\n',  # an escape
        'a.b = "x"\n',
        "a = 'x'\n",
        "a = 1\n",
        '\ufeffa = "x"\n',
        '[[a]]\nb = "x"\n',
        'a = "x" y\n',
    ],
)
def test_what_is_not_plain_is_left_to_tomllib(text: str) -> None:
    assert loads(text) is None


def test_a_workspace_config_is_read_plain_and_afresh(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", "Night Unit", "America/Denver")
    assert loads(ws.config_path.read_text(encoding="utf-8")) is not None  # as init writes it
    assert ws.timezone == "America/Denver"
    with ws.config_path.open("a", encoding="utf-8") as out:
        out.write('language = "es"\n[roles]\nmedic = "set medic"\n')
    again = Workspace(ws.root)
    assert (again.language, again.config()["roles"]) == ("es", {"medic": "set medic"})
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text.replace('"America/Denver"', '"Europe/Madrid"'))
    assert ws.timezone == "Europe/Madrid"  # the same object, the file edited: read afresh
    # A form only tomllib reads (an escape) reads the same through it.
    ws.config_path.write_text(text.replace('"Night Unit"', '"Night \\u0055nit"'))
    assert ws.production == "Night Unit"


def test_status_shows_times_in_the_zone_config_toml_says_now(tmp_path: Path) -> None:
    """The zone is the file's as it is when the command runs: edited between two `status`
    runs, the second shows the hold in the new zone."""
    env = subprocess_env(tmp_path / "ws")
    cli = [sys.executable, "-m", "safetycli"]
    made = subprocess.run([*cli, "init"], capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    held = subprocess.run(
        [*cli, "hold", "--scene", "12A", "--reason", "smoke", "--by", "Dana Reyes"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert held.returncode == 0, held.stderr
    first = subprocess.run([*cli, "status"], capture_output=True, text=True, env=env)
    assert " UTC" in first.stdout
    config = tmp_path / "ws" / "config.toml"
    config.write_text(config.read_text().replace('"UTC"', '"America/Denver"'))
    second = subprocess.run([*cli, "status"], capture_output=True, text=True, env=env)
    assert "America/Denver" in second.stdout and " UTC" not in second.stdout
