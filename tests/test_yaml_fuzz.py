"""No input makes the loader or validator raise: random bytes, YAML-ish text, mangled protocols,
protocol-shaped junk, hostile nesting and huge files. Every problem is one line inside the file.

Deep-nesting inputs run in a subprocess: libyaml's composer crashes the interpreter (not an
exception) at about 100,000 levels, which would take pytest down with it rather than fail a test.
"""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetycli.perfirearm import SLOT
from safetycli.protocol import Protocol, validate_doc
from safetycli.yamlsource import MAX_BYTES, MAX_DEPTH, YamlDoc, load_yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "protocols"
FULL = (FIXTURES / "valid" / "full.yaml").read_text(encoding="utf-8")

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(raw: bytes) -> YamlDoc:
    """Load and validate; assert what must hold for any input at all."""
    doc = load_yaml("fuzz.yaml", raw)
    protocol = validate_doc(doc, raw=raw)
    assert (protocol is None) == bool(doc.problems), "a protocol exists exactly when it is clean"
    if protocol is None and doc.data is None:
        assert doc.problems, "a file that yields nothing must say why"
    # YAML's line breaks: NEL and the Unicode line and paragraph separators count too.
    breaks = (b"\n", b"\r", "\x85".encode(), "\u2028".encode(), "\u2029".encode())
    lines = sum(raw.count(b) for b in breaks) + 1
    for problem in doc.problems:
        text = str(problem)
        assert text.startswith("fuzz.yaml:")
        assert text.isprintable(), text  # one visible line: no newline, no terminal escape
        assert 1 <= problem.line <= lines + 1
        assert problem.col >= 1
    positions = [(p.line, p.col) for p in doc.problems]
    assert positions == sorted(positions)
    return doc


# --- any bytes, any YAML-ish text ----------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=4000))
def test_random_bytes(raw: bytes) -> None:
    check(raw)


YAMLISH = st.text(
    alphabet=st.sampled_from(list("-:?[]{},#&*!|>'\"%@`~=<  \t\n\r\\abcxyz019._/") + ["\ufeff"]),
    max_size=400,
)


@FUZZ
@given(YAMLISH)
def test_random_yaml_syntax(text: str) -> None:
    check(text.encode("utf-8"))


@FUZZ
@given(st.text(max_size=400))
def test_random_unicode_text(text: str) -> None:
    check(text.encode("utf-8", "surrogatepass"))


# --- well-formed YAML: the loader returns exactly what was written -------------------------------

# PyYAML's emitter writes NEL and the Unicode line/paragraph separators raw inside quotes, where
# YAML 1.1 folds them into spaces (safe_load reads them back changed too): not ours to test.
TEXT = st.characters(codec="utf-8", exclude_characters="\x85\u2028\u2029")
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(TEXT, max_size=30)
)
DATA = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(TEXT, max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isinf(a) and a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@FUZZ
@given(st.one_of(st.lists(DATA, max_size=5), st.dictionaries(st.text(TEXT, max_size=12), DATA)))
@pytest.mark.parametrize("flow", [False, True])
def test_round_trip_of_well_formed_documents(flow: bool, data: Any) -> None:
    raw = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True).encode("utf-8")
    doc = load_yaml("fuzz.yaml", raw)
    assert doc.problems == []
    assert same(doc.data, data)


# --- a real protocol, mangled ---------------------------------------------------------------------

FULL_LINES = FULL.splitlines(keepends=True)


@st.composite
def mangled(draw: st.DrawFn) -> str:
    lines = list(FULL_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "indent", "dedent", "insert", "swap", "tab"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
        elif op == "tab":
            lines[i] = "\t" + lines[i].lstrip(" ")
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(YAMLISH.filter(bool)) + lines[i][at:]
        if not lines:
            break
    return "".join(lines)


@FUZZ
@given(mangled())
def test_mangled_protocol(text: str) -> None:
    check(text.encode("utf-8"))


def test_the_unmangled_protocol_is_valid() -> None:
    assert check(FULL.encode("utf-8")).problems == []


# --- valid protocols, generated, then broken in a few places ------------------------------------

ROLES = ["first_ad", "armorer", "actor", "dp"]
FACTS = {
    "blanks": {"type": "bool", "ask": "Blanks?"},
    "load": {"type": "choice", "ask": "Load?", "options": ["EMPTY", "BLANKS"]},
    "crew": {"type": "int", "ask": "Crew?", "min": 0, "max": 40},
}
WHEN = {"blanks": ["blanks", "not blanks"], "load": ["load == BLANKS"], "crew": ["crew == 3"]}
WORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
JUNK = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(st.text(max_size=5), SCALARS)


@st.composite
def valid_item(draw: st.DrawFn, item_id: str, roles: list[str], facts: list[str]) -> dict:
    by = draw(st.sampled_from(roles))
    others = [r for r in roles if r != by]
    # Hypothesis also draws the string constants of the code under test (`{firearm}` among
    # them): an ask that names the firearm is valid only on a per-firearm item, not generated here.
    ask = draw(WORDS.filter(lambda text: SLOT not in text))
    item: dict[str, Any] = {"id": item_id, "ask": ask, "by": by}
    kind = draw(st.sampled_from(["confirm", "count", "text", "choice"]))
    if kind != "confirm" or draw(st.booleans()):
        item["kind"] = kind
    if others and draw(st.booleans()):
        item["witness"] = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
    if others and draw(st.booleans()):
        item["readback"] = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
    if kind == "count":
        low, high = sorted(draw(st.lists(st.integers(0, 20), min_size=2, max_size=2)))
        item.update(
            draw(st.sampled_from([{}, {"min": low}, {"max": high}, {"min": low, "max": high}]))
        )
        if draw(st.booleans()):
            item["expect"] = draw(st.integers(item.get("min", 0), item.get("max", 20)))
    if kind == "choice":
        options = draw(st.lists(WORDS, min_size=2, max_size=4, unique=True))
        item["options"] = options
        if draw(st.booleans()):
            item["fail_on"] = draw(
                st.lists(
                    st.sampled_from(options), min_size=1, max_size=len(options) - 1, unique=True
                )
            )
    can_fail = (
        kind == "confirm"
        or "witness" in item
        or "readback" in item
        or "fail_on" in item
        or bool(item.get("min"))  # counts are never negative: `min: 0` fails nothing
        or "max" in item
        or "expect" in item
    )
    item["critical"] = can_fail and draw(st.booleans())
    if not item["critical"] and draw(st.booleans()):
        item["allow_na"] = True
    if facts and draw(st.booleans()):
        item["when"] = draw(st.sampled_from([w for f in facts for w in WHEN[f]]))
    item[draw(st.sampled_from(["why", "source"]))] = draw(WORDS)
    return item


@st.composite
def valid_protocol(draw: st.DrawFn) -> dict:
    roles = draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=4, unique=True))
    facts = draw(st.lists(st.sampled_from(list(FACTS)), max_size=3, unique=True))
    phases = []
    number = 0
    for p in range(draw(st.integers(1, 3))):
        items = []
        for _ in range(draw(st.integers(1, 3))):
            number += 1
            items.append(draw(valid_item(f"item-{number}", roles, facts)))
        phase = {"id": f"phase-{p + 1}", "title": draw(WORDS), "items": items}
        if draw(st.booleans()):
            phase["repeat"] = draw(st.sampled_from(["once", "per_take"]))
        phases.append(phase)
    data: dict[str, Any] = {
        "id": "generated",
        "title": draw(WORDS),
        "version": draw(st.integers(1, 9)),
        "summary": draw(WORDS),
        "sources": draw(st.lists(WORDS, min_size=1, max_size=2)),
        "roles": roles,
        "hold": {"cleared_by": draw(st.lists(st.sampled_from(roles), min_size=1, unique=True))},
        "phases": phases,
    }
    if facts:
        data["context"] = {name: copy.deepcopy(FACTS[name]) for name in facts}
    return data


def paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here] if here else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*here, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths(child, (*here, i))
    return found


@st.composite
def broken_protocol(draw: st.DrawFn) -> tuple[dict, int]:
    """A valid protocol with 0 to 3 of its values replaced, removed or joined by unknown keys."""
    data = draw(valid_protocol())
    changes = draw(st.integers(0, 3))
    for _ in range(changes):
        where = draw(st.sampled_from(paths(data)))
        parent = data
        for part in where[:-1]:
            parent = parent[part]
        op = draw(st.sampled_from(["replace", "remove", "unknown"]))
        if op == "remove":
            del parent[where[-1]]
        elif op == "unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["witnes", "critcal", "colour"]))] = draw(JUNK)
        else:
            parent[where[-1]] = draw(JUNK)
    return data, changes


@FUZZ
@given(valid_protocol())
def test_generated_valid_protocols_are_accepted(data: dict) -> None:
    raw = yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")
    doc = check(raw)
    assert doc.problems == []


@FUZZ
@given(broken_protocol())
def test_generated_protocols_with_mistakes(case: tuple[dict, int]) -> None:
    data, _ = case
    raw = yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")
    doc = check(raw)
    if not doc.problems:  # some changes keep it valid (an optional key removed): model agrees
        assert isinstance(Protocol.model_validate(data), Protocol)


# --- hostile sizes and nesting, each in its own interpreter --------------------------------------

SCRIPT = """
import sys
from safetycli.protocol import check_file
from pathlib import Path
protocol, problems = check_file(Path(sys.argv[1]))
for problem in problems:
    print(problem)
"""


def run_isolated(path: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, f"crashed with {proc.returncode}: {proc.stderr[-500:]}"
    return proc.stdout.splitlines()


DEEP = MAX_DEPTH + 1


@pytest.mark.parametrize(
    ("name", "content", "position"),
    [
        ("flow-lists", b"[" * 200_000, f"1:{DEEP}"),
        ("flow-maps", b"{a: " * 200_000, f"1:{(DEEP - 1) * 4 + 1}"),
        ("block-lists", b"- " * 200_000 + b"x\n", f"1:{(DEEP - 1) * 2 + 1}"),
        ("block-maps", b"".join(b" " * i + b"a:\n" for i in range(1000)), f"{DEEP}:{DEEP}"),
        ("lists-in-maps", b"a: " + b"[" * 200_000, f"1:{DEEP + 2}"),
    ],
)
def test_deep_nesting_is_one_problem_not_a_crash(
    tmp_path: Path, name: str, content: bytes, position: str
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content)
    assert len(content) <= MAX_BYTES  # it must reach the parser, not stop at the size guard
    assert run_isolated(path) == [
        f"{path}:{position}: nested more than {MAX_DEPTH} levels deep (a protocol needs 5): "
        "is this the right file?"
    ]


def test_huge_file_is_one_problem_and_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse where the filesystem allows: 2 GB costs nothing
        handle.write(b"id: huge\n")
        handle.seek(2 * 1024**3)
        handle.write(b"\n")
    assert run_isolated(path) == [
        f"{path}:1:1: file too large (over 1,000,000 bytes): is this the right file?"
    ]


def test_long_flat_document_under_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "flat.yaml"
    path.write_bytes(b"[" + b"1," * 400_000 + b"1]")
    assert run_isolated(path) == [
        f"{path}:1:1: the file holds over 100,000 values (aliases expanded): "
        "is this the right file?"
    ]
