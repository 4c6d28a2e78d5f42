# ruff: noqa: E501 - tables of exact messages read best one case per line
"""The protocol loader and validator, through the problems an author would see.

Each invalid fixture under tests/fixtures/protocols/invalid/ has its exact expected output here:
one `path:line:col: message` line per problem, in file order.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from safetycli import catalog as catalog_mod
from safetycli import protocache
from safetycli.conditions import Condition, parse_when
from safetycli.errors import SafetyError
from safetycli.protocol import check_file, validate_doc
from safetycli.yamlsource import MAX_BYTES, MAX_DEPTH, MAX_NODES, load_yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "protocols"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"
MINIMAL = (VALID / "minimal.yaml").read_text(encoding="utf-8")

EXPECTED: dict[str, list[str]] = {
    "misspelled-key.yaml": ["16:9: unknown key `witnes`: did you mean `witness`?"],
    "duplicate-item-id.yaml": [
        "20:13: duplicate item id `meeting-held` (first at line 13): give each item its own id"
    ],
    "undeclared-role.yaml": [
        "15:13: role `dp` is not in this protocol's `roles:`: "
        "add it there or use one of armorer, first_ad",
        "20:19: role `armourer` is not in this protocol's `roles:`: did you mean `armorer`?",
    ],
    "undeclared-fact.yaml": [
        "19:15: `when` names `blank`, which is not in `context:`: did you mean `blanks`?",
        "24:15: `when` names `rehearsal`, which is not in `context:`: declared facts: blanks",
    ],
    "duplicate-key.yaml": ["16:9: duplicate key `by` (first at line 15): remove one"],
    "tab-indented.yaml": ["8:1: YAML syntax: a tab character here: indent with spaces only"],
    "empty.yaml": ["1:1: the file is empty: a protocol starts with `id:`, `title:` and `phases:`"],
    "binary.yaml": ["1:1: not a text file (binary data found): expected YAML text"],
    "unclosed-bracket.yaml": [
        "7:5: YAML syntax: the `[` at line 6, column 8 is not closed: add `]` or a missing `,`"
    ],
    "two-documents.yaml": [
        "3:1: YAML syntax: a second YAML document (`---`) in one file: keep one protocol per file"
    ],
    "not-a-mapping.yaml": [
        "1:1: a protocol is a map of keys (`id:`, `title:`, `phases:` ...), not a list"
    ],
    "unsafe-tag.yaml": [
        "2:8: YAML tag `!!python/object/apply:os.system` is not allowed: "
        "remove it (a protocol holds plain values)"
    ],
    "missing-keys.yaml": [
        "1:1: missing `version` in the protocol: start at `version: 1` and raise it with every "
        "change",
        "1:1: missing `summary` in the protocol: say in one line what this protocol covers",
        '1:1: missing `sources` in the protocol: list the bulletins or rules it follows, e.g. `sources: ["..."]`',
        "1:1: missing `roles` in the protocol: list the roles that sign it, "
        "e.g. `roles: [first_ad, armorer, actor]`",
        "1:1: missing `hold` in the protocol: say who clears a hold, "
        "e.g. `hold: {cleared_by: [armorer, first_ad]}`",
        "7:9: missing `ask` in item `meeting-held`: write the question the crew answers",
        "7:9: missing `by` in item `meeting-held`: name the role that signs it",
    ],
    "every-problem.yaml": [
        "1:5: protocol id `Every Problem` is not valid: use lowercase letters, digits and dashes, "
        "e.g. `every-problem`",
        "2:8: `title` is empty: write it out",
        "3:10: `version` must be at least 1",
        "6:35: role `actor` is listed twice in `roles`: remove one",
        "9:9: fact `mode` is a choice: give it two or more `options`",
        "20:19: a written answer cannot fail, so `critical` would never stop work: "
        "add a `witness` or a `readback`, or remove `critical`",
        "27:14: `max` (2) is below `min` (6)",
        "28:9: `options` only belongs on a choice item",
        "30:9: a choice item needs `options` with at least two entries",
        "35:20: `armorer` signs this item, so cannot also read it back",
        "37:9: duplicate phase id `prep` (first at line 13): give each phase its own id",
        "39:12: phase `prep` has no items: add at least one",
        "42:13: `repeat` is `every_take`: use one of once, per_take or after_break",
        "44:9: give this item a `source` or a `why`: the crew should know the reason",
        "47:15: `blanks` is yes or no: write `when: blanks` or `when: not blanks`",
    ],
}


def lines_for(path: Path) -> list[str]:
    protocol, problems = check_file(path)
    assert (protocol is None) == bool(problems), "a protocol exists exactly when it has no problem"
    return [str(problem) for problem in problems]


def problems_in(text: str) -> list[str]:
    """Problems of an inline protocol, without the path: `line:col: message`."""
    doc = load_yaml("p.yaml", text.encode("utf-8"))
    protocol = validate_doc(doc, raw=text.encode("utf-8"))
    assert (protocol is None) == bool(doc.problems)
    return [str(problem).removeprefix("p.yaml:") for problem in doc.problems]


def minimal(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new, 1)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_fixture_reports_exactly_these_problems(name: str) -> None:
    path = INVALID / name
    assert lines_for(path) == [f"{path}:{line}" for line in EXPECTED[name]]


def test_every_invalid_fixture_has_expectations() -> None:
    assert sorted(p.name for p in INVALID.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("path", sorted(VALID.glob("*.yaml")), ids=lambda p: p.name)
def test_valid_fixture_loads(path: Path) -> None:
    protocol, problems = check_file(path, shipped=True)
    assert problems == []
    assert protocol is not None
    assert protocol.origin.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert protocol.origin.shipped is True


def test_full_fixture_keeps_order_and_meaning() -> None:
    protocol, _ = check_file(VALID / "full.yaml")
    assert protocol is not None
    assert [p.id for p in protocol.phases] == ["meeting", "each-take", "dry-run"]
    assert [i.id for _, i in protocol.items()] == [
        "meeting-held",
        "attendance",
        "state",
        "rounds",
        "shields",
        "dry-run-done",
    ]
    assert protocol.item("state").fail_on == ["NOT VERIFIED"]
    assert protocol.origin.id_pos == (2, 5)


def test_problems_are_one_line_each_and_point_inside_the_file() -> None:
    for path in INVALID.iterdir():
        text = path.read_bytes()
        for line in lines_for(path):
            assert "\n" not in line and "\r" not in line
            row = int(line.removeprefix(f"{path}:").split(":")[0])
            assert 1 <= row <= max(1, text.count(b"\n") + 1)


# --- YAML level ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a: 2024-02-30\n", "1:4: cannot read `2024-02-30` as a date: put it in quotes if it is text"),
        (b"a: !!int abc\n", "1:4: cannot read `abc` as a whole number: put it in quotes if it is text"),
        (b"a: !!set {x, y}\n", "1:4: YAML tag `!!set` is not allowed: remove it (a protocol holds plain values)"),
        (b"a: !!binary aGk=\n", "1:4: YAML tag `!!binary` is not allowed: remove it (a protocol holds plain values)"),
        (b"a: !local x\n", "1:4: YAML tag `!local` is not allowed: remove it (a protocol holds plain values)"),
        (b"a: &x [1, *x]\n", "1:4: this anchor is used inside its own value (an endless loop)"),
        (b"b: {x: 1}\nc:\n  <<: *b\n", "3:7: YAML syntax: this alias (`*name`) has no anchor (`&name`) above it"),
        (b"b: &b {x: 1}\nc:\n  <<: *b\n", "3:3: merge keys (`<<`) are not allowed: write the keys out"),
        (b"[a]: 1\n", "1:1: a key must be a plain word, not a list or map"),
        (b"a: 1\nb:\n  c: 1\n  c: 2\n", "4:3: duplicate key `c` (first at line 3): remove one"),
        (b"a: b\x07c\n", "1:5: a control character (U+0007) YAML does not allow here: remove it"),
        (b"ok: 1\nask: caf\xe9\n", "2:9: not UTF-8 text: save the file as UTF-8 and try again"),
        ("id: x\n".encode("utf-16"), "1:1: the file is saved as UTF-16: save it as UTF-8 and try again"),
        (b"ask: Safety: meeting held?\n", "1:12: YAML syntax: unexpected `:` here: put text that contains `: ` in quotes, or check the indentation"),
        (b"a: @x\n", "1:4: YAML syntax: a value cannot start with `@`: put the text in quotes"),
        (b"a:\n  b: 1\n c: 2\n", "3:2: YAML syntax: this line's indentation does not match the block that starts at line 1: line it up with its neighbours"),
        (b"a: 'abc\n", "2:1: YAML syntax: the quote at line 1, column 4 is never closed"),
        (b"a: &x 1\nb: &x 2\n", "2:4: YAML syntax: this anchor (`&name`) is already defined at line 1: rename one"),
        (b'"a\\nb\\x1b[2J": 1\n', None),
    ],
)  # fmt: skip
def test_loader_reports_bad_yaml_at_its_line(raw: bytes, expected: str | None) -> None:
    doc = load_yaml("f.yaml", raw)
    found = [str(p).removeprefix("f.yaml:") for p in doc.problems]
    assert found == ([expected] if expected else [])


def test_key_with_control_characters_is_shown_as_escapes() -> None:
    doc = load_yaml("f.yaml", b'id: x\n"a\\nb\\x1b[2J": 1\n')
    validate_doc(doc)
    shown = [str(p) for p in doc.problems if "unknown key" in str(p)]
    assert shown == [
        "f.yaml:2:1: unknown key `a\\x0ab\\x1b[2J`: allowed here: "
        "id, title, version, summary, sources, roles, context, hold, pause_minutes, scope, "
        "take_word, phases, lang"
    ]


def test_crlf_and_bom_keep_line_numbers() -> None:
    text = "\ufeff" + minimal("by: first_ad", "by: dp").replace("\n", "\r\n")
    assert problems_in(text) == [
        "15:13: role `dp` is not in this protocol's `roles:`: add it there or use one of first_ad"
    ]


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n", "---\n", "null\n", "~\n"])
def test_a_file_with_nothing_in_it_is_one_problem(text: str) -> None:
    assert problems_in(text) == [
        "1:1: the file is empty: a protocol starts with `id:`, `title:` and `phases:`"
    ]


def test_file_over_the_size_limit_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# padding\n" * (MAX_BYTES // 10 + 1))
    assert path.stat().st_size > MAX_BYTES
    assert lines_for(path) == [
        f"{path}:1:1: file too large (over 1,000,000 bytes): is this the right file?"
    ]


def test_alias_bomb_is_stopped() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    doc = load_yaml("bomb.yaml", "\n".join(lines).encode())
    assert [str(p) for p in doc.problems] == [
        f"bomb.yaml:1:1: the file holds over {MAX_NODES:,} values (aliases expanded): "
        "is this the right file?"
    ]
    assert doc.data is None


def test_aliases_cannot_nest_past_the_depth_limit() -> None:
    lines = ["a0: &a0 " + "[" * 40 + "1" + "]" * 40]
    lines += [f"a{i}: &a{i} " + "[" * 40 + f"*a{i - 1}" + "]" * 40 for i in range(1, 4)]
    doc = load_yaml("deep.yaml", "\n".join(lines).encode())
    assert [str(p) for p in doc.problems] == [
        f"deep.yaml:1:33: through its aliases this nests more than {MAX_DEPTH} levels deep: use fewer aliases"
    ]


def test_plain_nesting_past_the_limit_is_reported_where_it_goes_too_deep() -> None:
    doc = load_yaml("deep.yaml", b"a: " + b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5))
    assert [str(p) for p in doc.problems] == [
        f"deep.yaml:1:{3 + MAX_DEPTH}: nested more than {MAX_DEPTH} levels deep (a protocol needs 5): "
        "is this the right file?"
    ]


def test_aliases_that_repeat_plain_values_are_fine() -> None:
    text = (
        minimal("roles: [first_ad]", "roles: [&ad first_ad]")
        .replace("cleared_by: [first_ad]", "cleared_by: [*ad]")
        .replace("by: first_ad", "by: *ad")
    )
    assert problems_in(text) == []
    doc = load_yaml("p.yaml", text.encode())
    protocol = validate_doc(doc)
    assert protocol is not None
    assert protocol.hold.cleared_by == ["first_ad"]
    assert protocol.item("ready").by == "first_ad"


# --- rules an author can break -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("version: 1", "version: one", ["3:10: `version` must be a whole number, not `one`"]),
        ("roles: [first_ad]", "roles: first_ad", ["6:8: `roles` must be a list: write `[first_ad]`"]),
        ("roles: [first_ad]", "roles: []", ["6:8: `roles` is empty: it needs at least one entry"]),
        ("roles: [first_ad]", "roles: [first_ad, armourer]", ["6:19: unknown role `armourer`: did you mean `armorer`?"]),
        ("roles: [first_ad]", "roles: [first_ad, grip]", ["6:19: unknown role `grip`: known roles: producer, armorer, first_ad, actor, dp, safety_advisor, safety_rep, stunt_coordinator (a production declares its own roles in its workspace's config.toml, under [roles])"]),
        ("by: first_ad", "by: [first_ad]", ["15:13: `by` names one role, not a list: put the others in `witness`"]),
        ("by: first_ad", "by: first_ad\n        witness: first_ad", ["16:18: `witness` must be a list: write `[first_ad]`"]),
        ("by: first_ad", "by: first_ad\n        witness: [first_ad]", ["16:19: `first_ad` signs this item, so cannot also witness it"]),
        ("ask: Ready to go?", "ask: 12", ["14:14: `ask` must be text, not a number: put it in quotes"]),
        ("ask: Ready to go?", "ask:", ["14:13: `ask` must be text, not empty"]),
        ("critical: true", "critical: maybe", ["16:19: `critical` must be true or false, not `maybe`"]),
        ("critical: true", "critical: true\n        allow_na: true", ["17:19: a critical item can never be marked not applicable: remove `allow_na`"]),
        ("id: ready", "id: Ready Now", ["13:13: item id `Ready Now` is not valid: use lowercase letters, digits and dashes, e.g. `ready-now`"]),
        ("id: only-phase", "id: only_phase", ["10:9: phase id `only_phase` is not valid: use lowercase letters, digits and dashes, e.g. `only-phase`"]),
        ("id: ready", "id: " + "a" * 65, ["13:13: `id` is longer than 64 characters: shorten it"]),
        ("        why: The smallest thing that can stop work.\n", "", ["13:9: give this item a `source` or a `why`: the crew should know the reason"]),
        ("hold:\n  cleared_by: [first_ad]", "hold: first_ad", ["7:7: `hold` must be a map, not `first_ad`: e.g. `hold: {cleared_by: [armorer]}`"]),
        ("cleared_by: [first_ad]", "cleared_by: [first_ad, actor]", ["8:26: role `actor` is not in this protocol's `roles:`: add it there or use one of first_ad"]),
        ("cleared_by: [first_ad]", "cleared_by: [first_ad, first_ad]", ["8:26: role `first_ad` is listed twice in `cleared_by`: remove one"]),
        ("    items:\n", "    repeat: sometimes\n    items:\n", ["12:13: `repeat` is `sometimes`: use one of once, per_take or after_break"]),
        ("hold:", "pause_minutes: 20\nhold:", ["7:1: `pause_minutes` needs a phase with `repeat: after_break` to ask after a pause"]),
        ("hold:", "pause_minutes: 0\nhold:", ["7:1: `pause_minutes` needs a phase with `repeat: after_break` to ask after a pause", "7:16: `pause_minutes` must be at least 1"]),
        ("hold:", "pause_minutes: 2000\nhold:", ["7:1: `pause_minutes` needs a phase with `repeat: after_break` to ask after a pause", "7:16: `pause_minutes` must be at most 1440"]),
        ("    items:\n", "    repeat: after_break\n    items:\n", []),
        ("      - id: ready", "      - just text\n      - id: ready", ["13:9: item 1 of phase `only-phase` must be a map with `id:`, `ask:` and `by:`, not `just text`"]),
        ("phases:\n", "phases:\n  -\n", ["10:4: phase 1 must be a map with `id:`, `title:` and `items:`, not empty"]),
        ("hold:", "context: [blanks]\nhold:", ["7:10: `context` must be a map of facts, not a list: e.g. `blanks: {type: bool}`"]),
        ("hold:", "context:\n  Blanks: {type: bool, ask: Blanks?}\nhold:", ["8:3: fact name `Blanks` is not valid: use lowercase letters, digits and underscores, starting with a letter"]),
        ("hold:", "context:\n  blanks: {type: boolean, ask: Blanks?}\nhold:", ["8:18: `type` is `boolean`: use one of bool, int, text or choice"]),
        ("hold:", "context:\n  blanks: yes\nhold:", ["8:11: fact `blanks` must be a map, not true/false: e.g. `{type: bool, ask: ...}`"]),
        ("hold:", "context:\n  blanks: {type: bool, ask: Blanks?, options: [a, b]}\nhold:", ["8:38: `options` only belongs on a choice fact"]),
        ("hold:", "context:\n  crew: {type: text, ask: Crew?, min: 1}\nhold:", ["8:34: `min` only belongs on an int fact"]),
        ("hold:", "context:\n  crew: {type: int, ask: Crew?, min: 5, max: 1}\nhold:", ["8:46: `max` (1) is below `min` (5)"]),
        ("hold:", "context:\n  load: {type: choice, ask: Load?, options: [A, A]}\nhold:", ["8:45: `options` has the same entry twice"]),
    ],
)  # fmt: skip
def test_structure_problems(old: str, new: str, expected: list[str]) -> None:
    assert problems_in(minimal(old, new)) == expected


def item(body: str, context: str = "") -> str:
    """The minimal protocol with its one item replaced by `body` (lines at 6 spaces)."""
    start = MINIMAL.index("      - id: ready")
    text = MINIMAL[:start] + body
    if context:
        text = text.replace("hold:", f"context:\n{context}hold:", 1)
    return text


BLANKS = '  blanks: {type: bool, ask: "Blanks?"}\n'
LOAD = '  load: {type: choice, ask: "Load?", options: [EMPTY, BLANKS]}\n'
CREW = '  crew: {type: int, ask: "Crew?"}\n'


@pytest.mark.parametrize(
    ("body", "context", "expected"),
    [
        ("      - {id: n, kind: count, ask: N, by: first_ad, critical: true, why: w}\n", "",
         ["13:62: a count with no `max`, no `expect` and no `min` above 0 cannot fail, so `critical` would never stop work: add one, or remove `critical`"]),
        ("      - {id: n, kind: count, ask: N, by: first_ad, critical: true, min: 0, why: w}\n", "",
         ["13:62: a count with no `max`, no `expect` and no `min` above 0 cannot fail, so `critical` would never stop work: add one, or remove `critical`"]),
        ("      - {id: n, kind: count, ask: N, by: first_ad, critical: true, min: 1, why: w}\n", "", []),
        ("      - {id: c, kind: choice, ask: C, options: [A, B], fail_on: [B, A], by: first_ad, why: w}\n", "",
         ["13:65: `fail_on` lists every option, so no answer could pass: remove the ones that are safe"]),
        ("      - {id: t, kind: text, ask: T, by: first_ad, critical: \"true\", why: w}\n", "",
         ["13:61: `critical` must be true or false, without quotes"]),
        ("      - {id: t, kind: text, ask: T, by: first_ad, critical: 1, why: w}\n", "",
         ["13:61: `critical` must be true or false, not a number"]),
        ("      - {id: n, kind: count, ask: N, by: first_ad, critical: true, expect: 6, why: w}\n", "", []),
        ("      - {id: c, kind: choice, ask: C, options: [A, B], by: first_ad, critical: true, why: w}\n", "",
         ["13:80: a choice with no `fail_on` cannot fail, so `critical` would never stop work: add `fail_on`, or remove `critical`"]),
        ("      - {id: c, kind: choice, ask: C, options: [A, B], fail_on: [C], by: first_ad, why: w}\n", "",
         ["13:66: `fail_on` names `C`, which is not one of this item's `options`"]),
        ("      - {id: c, kind: choice, ask: C, options: [A, A], by: first_ad, why: w}\n", "",
         ["13:48: `options` has the same entry twice"]),
        ("      - {id: c, kind: text, ask: C, fail_on: [A], by: first_ad, why: w}\n", "",
         ["13:37: `fail_on` only belongs on a choice item"]),
        ("      - {id: n, kind: count, ask: N, by: first_ad, min: -1, expect: 9, max: 3, why: w}\n", "",
         ["13:57: `min` cannot be negative (-1)", "13:69: `expect` (9) is outside `min`..`max` (-1..3)"]),
        ("      - {id: a, kind: count, ask: A, by: first_ad, why: w}\n"
         "      - {id: n, kind: count, ask: N, by: first_ad, expect: a - b, why: w}\n", "",
         ["14:60: `expect` names `b`, which is not an item before this one"]),
        ("      - {id: a, ask: A, by: first_ad, why: w}\n"
         "      - {id: n, kind: count, ask: N, by: first_ad, expect: a, why: w}\n", "",
         ["14:60: `expect` names `a`, which is not a count"]),
        ("      - {id: n, kind: count, ask: N, by: first_ad, expect: a-, why: w}\n", "",
         ["13:60: cannot read `expect: a-`: write a number, or earlier counts joined by ` + ` and ` - ` (spaces around them), e.g. `loaded - fired`, or `today(blanks-issued)` for the day's other runs"]),
        # today(id): a count of the day's other runs, from any protocol, so not checked here.
        ("      - {id: n, kind: count, ask: N, by: first_ad, expect: today(blanks-issued), critical: true, why: w}\n", "", []),
        ("      - {id: a, kind: count, ask: A, by: first_ad, why: w}\n"
         "      - {id: n, kind: count, ask: N, by: first_ad, expect: today(a) - a - b, why: w}\n", "",
         ["14:60: `expect` names `b`, which is not an item before this one"]),
        ("      - {id: n, kind: count, ask: N, by: first_ad, expect: today(Bad Id), why: w}\n", "",
         ["13:60: cannot read `expect: today(Bad Id)`: write a number, or earlier counts joined by ` + ` and ` - ` (spaces around them), e.g. `loaded - fired`, or `today(blanks-issued)` for the day's other runs"]),
        ("      - {id: a, kind: count, ask: A, by: first_ad, why: w}\n"
         "      - {id: b, kind: count, ask: B, by: first_ad, why: w}\n"
         "      - {id: n, kind: count, ask: N, by: first_ad, expect: a - b, critical: true, why: w}\n", "", []),
        ("      - {id: n, ask: N, by: first_ad, expect: 1, why: w}\n", "",
         ["13:39: `expect` only belongs on a count item"]),
        ("      - {id: n, ask: N, by: first_ad, when: blanks, why: w}\n", BLANKS, []),
        ("      - {id: n, ask: N, by: first_ad, when: not blanks, why: w}\n", BLANKS, []),
        ("      - {id: n, ask: N, by: first_ad, when: blanks == yes, why: w}\n", BLANKS, []),
        ("      - {id: n, ask: N, by: first_ad, when: blanks and more, why: w}\n", BLANKS,
         ["15:45: cannot read `when: blanks and more`: write `fact`, `not fact`, `fact == value` or `fact != value`"]),
        ("      - {id: n, ask: N, by: first_ad, when: load == BLANKS, why: w}\n", LOAD, []),
        ("      - {id: n, ask: N, by: first_ad, when: load != LIVE, why: w}\n", LOAD,
         ["15:45: `when` compares `load` with `LIVE`, which is not one of its options (EMPTY, BLANKS)"]),
        ("      - {id: n, ask: N, by: first_ad, when: crew == many, why: w}\n", CREW,
         ["15:45: `crew` is a number: compare it with a whole number"]),
        ("      - {id: n, ask: N, by: first_ad, when: blanks, why: w}\n", "",
         ["13:45: `when` names `blanks`, which is not in `context:`: `context:` declares no facts; add it there"]),
    ],
)  # fmt: skip
def test_item_rules(body: str, context: str, expected: list[str]) -> None:
    assert problems_in(item(body, context)) == expected


@pytest.mark.parametrize(
    ("phase_when", "item_when", "context", "expected"),
    [
        ("blanks", "not blanks", BLANKS,
         ["16:45: this item can never be asked: its phase runs only when `blanks`, and the item only when `not blanks`"]),
        ("load == EMPTY", "load == BLANKS", LOAD,
         ["16:45: this item can never be asked: its phase runs only when `load == EMPTY`, and the item only when `load == BLANKS`"]),
        ("load == EMPTY", "load != EMPTY", LOAD,
         ["16:45: this item can never be asked: its phase runs only when `load == EMPTY`, and the item only when `load != EMPTY`"]),
        ("blanks", "blanks", BLANKS, []),
        ("load != EMPTY", "load == BLANKS", LOAD, []),
    ],
)  # fmt: skip
def test_item_that_its_phase_never_reaches(
    phase_when: str, item_when: str, context: str, expected: list[str]
) -> None:
    body = f"      - {{id: n, ask: N, by: first_ad, when: {item_when}, why: w}}\n"
    text = item(body, context).replace("    items:\n", f"    when: {phase_when}\n    items:\n", 1)
    assert problems_in(text) == expected


def test_broken_roles_list_is_one_problem_not_one_per_signer() -> None:
    text = minimal("roles: [first_ad]", "roles: first_ad, armorer")
    assert problems_in(text) == ["6:8: `roles` must be a list: write `[first_ad, armorer]`"]


def test_a_value_the_loader_rejected_is_not_reported_twice() -> None:
    text = minimal("title: Smallest valid protocol", "title: !!python/name:os.system")
    assert problems_in(text) == [
        "2:8: YAML tag `!!python/name:os.system` is not allowed: remove it (a protocol holds plain values)"
    ]


def test_problems_come_sorted_by_position_whatever_found_them() -> None:
    text = minimal("version: 1", "version: 1\nversion: 2").replace("by: first_ad", "by: dp")
    assert problems_in(text) == [
        "4:1: duplicate key `version` (first at line 3): remove one",
        "16:13: role `dp` is not in this protocol's `roles:`: add it there or use one of first_ad",
    ]


# --- conditions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "context", "holds"),
    [
        ("blanks", {"blanks": True}, True),
        ("blanks", {"blanks": False}, False),
        ("not blanks", {"blanks": False}, True),
        ("blanks == yes", {"blanks": True}, True),
        ("blanks == no", {"blanks": True}, False),
        ("blanks != false", {"blanks": True}, True),
        ("load == BLANKS", {"load": "BLANKS"}, True),
        ("load != 'BLANKS'", {"load": "EMPTY"}, True),
        ("crew == 3", {"crew": 3}, True),
        ("blanks", {}, False),
    ],
)
def test_condition_holds(expr: str, context: dict[str, object], holds: bool) -> None:
    cond = parse_when(expr)
    assert isinstance(cond, Condition)
    assert cond.holds(context) is holds


@pytest.mark.parametrize("expr", ["", "Blanks", "not blanks == x", "a and b", "x ==", "== x"])
def test_unreadable_conditions(expr: str) -> None:
    assert parse_when(expr) is None


# --- catalog -------------------------------------------------------------------------------------


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "shipped"
    folder.mkdir()
    (folder / "minimal.yaml").write_text(MINIMAL, encoding="utf-8")
    monkeypatch.setattr(protocache, "shipped_dir", lambda: folder)
    return folder


def test_workspace_protocol_cannot_take_a_shipped_id(shipped: Path, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "copy.yaml").write_text("# our copy\n" + MINIMAL, encoding="utf-8")
    cat = catalog_mod.load_catalog(own)
    assert sorted(cat.protocols) == ["minimal"]
    assert cat.protocols["minimal"].origin.shipped is True
    assert [str(p) for p in cat.problems] == [
        f"{own / 'copy.yaml'}:2:5: protocol id `minimal` is already used by "
        f"{shipped / 'minimal.yaml'}: give this protocol its own id"
    ]


def test_catalog_get_explains_unknown_and_broken_ids(shipped: Path, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    cat = catalog_mod.load_catalog(own)
    assert cat.get("minimal").id == "minimal"
    with pytest.raises(SafetyError) as broken:
        cat.get("broken")
    assert broken.value.message == (
        "protocol `broken` has problems: run `safetycli checklists validate`"
    )
    with pytest.raises(SafetyError) as unknown:
        cat.get("nope")
    assert unknown.value.message == (
        "unknown protocol `nope`: known protocols are minimal (see `safetycli checklists list`; "
        "1 file(s) with problems: run `safetycli checklists validate`)"
    )
    assert unknown.value.exit_code == 2
