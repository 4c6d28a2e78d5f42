"""Safe, line-aware YAML loading for files people write by hand.

PyYAML's `safe_load` throws away where each value came from and silently keeps the last of two
duplicate keys. A protocol author needs `path:line:col` for every problem, so we compose the node
tree ourselves (safe loader only, the C one when present), keep each node's position, and build
plain Python data from it. Anything malformed becomes a `Problem`, never an exception.

Three guards keep hostile or broken input from hurting the process:
- size: at most `MAX_BYTES` are read, whatever the file's length;
- depth: parser events are walked first (iteratively, safe at any depth) because libyaml's
  composer recurses in C and crashes the interpreter at about 100,000 levels;
- expansion: aliases are expanded into at most `MAX_NODES` values ("billion laughs"), no deeper
  than `MAX_DEPTH`, and an alias inside its own anchor is reported rather than followed forever.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

MAX_BYTES = 1_000_000  # a protocol is a page or two; anything bigger is a mistake
MAX_DEPTH = 64  # protocols nest five levels; libyaml's composer crashes on very deep input
MAX_NODES = 100_000  # guards against alias bombs ("billion laughs")
SHOWN = 60  # longest piece of file content quoted back in a message
TOO_MANY = f"the file holds over {MAX_NODES:,} values (aliases expanded): is this the right file?"
EMPTY_FILE = "the file is empty"  # protocol.py adds what a protocol starts with

Path_ = tuple[str | int, ...]

# Characters YAML 1.1 accepts in a stream (tab, newlines, printable Unicode); anything else is
# reported with its exact position before libyaml gets a chance to report "position 1234".
# Compiled on first use: the wide ranges take a few milliseconds, which `status` need not pay.
_NOT_YAML = "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_READ_AS = {
    f"{_TAG}int": "a whole number",
    f"{_TAG}float": "a number",
    f"{_TAG}timestamp": "a date",
    f"{_TAG}bool": "true or false",
}


def _escape(char: str) -> str:
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def visible(value: Any) -> str:
    """`value` as one visible line: line breaks, terminal controls and invisible format
    characters (BOM, bidi overrides) become escapes, so a message cannot hide or rewrite text."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def shown(value: Any) -> str:
    """A piece of the file quoted in a message: one line, clipped to a readable length."""
    text = visible(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a file, printed as `path:line:col: message` (1-based)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{visible(self.path)}:{self.line}:{self.col}: {visible(self.message)}"


@dataclass
class YamlDoc:
    """Plain data from one YAML document, with the position of every value and key in it."""

    path: str
    data: Any = None
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Values the loader could not read (left as None) and already reported: later checks skip
    # them, so one mistake gives one line.
    unreadable: set[Path_] = field(default_factory=set)

    def where(self, loc: Path_, *, key: bool = False) -> tuple[int, int]:
        """Position of `loc`, or of its nearest existing ancestor (a missing key: its mapping)."""
        loc = tuple(loc)
        if key and loc in self.key_marks:
            return self.key_marks[loc]
        while loc:
            if loc in self.value_marks:
                return self.value_marks[loc]
            loc = loc[:-1]
        return self.value_marks.get((), (1, 1))

    def problem(self, loc: Path_, message: str, *, key: bool = False) -> Problem:
        line, col = self.where(loc, key=key)
        return self.add(line, col, message)

    def add(self, line: int, col: int, message: str) -> Problem:
        found = Problem(self.path, line, col, message)
        self.problems.append(found)
        return found


def _pos(mark: Any) -> tuple[int, int]:
    if mark is None:
        return (1, 1)
    return (mark.line + 1, mark.column + 1)


@functools.cache
def _not_yaml() -> re.Pattern[str]:
    return re.compile(_NOT_YAML)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(raw: bytes, doc: YamlDoc) -> str | None:
    if not raw.strip():
        doc.add(1, 1, EMPTY_FILE)
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        doc.add(1, 1, "the file is saved as UTF-16: save it as UTF-8 and try again")
        return None
    if b"\x00" in raw:
        doc.add(1, 1, "not a text file (binary data found): expected YAML text")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        col = len(raw[raw.rfind(b"\n", 0, err.start) + 1 : err.start].decode("utf-8", "replace"))
        doc.add(line, col + 1, "not UTF-8 text: save the file as UTF-8 and try again")
        return None
    text = text.removeprefix("\ufeff")  # libyaml counts columns after a BOM; so do editors
    bad = _not_yaml().search(text)
    if bad:
        line, col = _line_col(text, bad.start())
        code = f"U+{ord(bad.group()):04X}"
        doc.add(line, col, f"a control character ({code}) YAML does not allow here: remove it")
        return None
    return text


def _yaml() -> Any:
    """PyYAML, imported on first use: commands that import the protocol model without reading
    a file (`status`, `log`) do not pay for it."""
    import yaml

    return yaml


def _loader_class() -> Any:
    """The C safe loader when libyaml is there (fast), else the pure-Python safe loader."""
    pyyaml = _yaml()
    return getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)


TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep (a protocol needs 5): is this the right file?"


def _too_big(text: str, doc: YamlDoc) -> bool:
    """Walk parser events (iterative, safe at any depth) before composing (recursive, and slow
    on a long flat list): too deep or too many values is reported here, at its first event."""
    pyyaml = _yaml()
    opening = (pyyaml.MappingStartEvent, pyyaml.SequenceStartEvent)
    closing = (pyyaml.MappingEndEvent, pyyaml.SequenceEndEvent)
    flow: list[bool] = []  # one entry per open collection: is it `[...]`/`{...}`?
    try:
        for count, event in enumerate(pyyaml.parse(text, Loader=_loader_class())):
            if count > MAX_NODES * 2:  # every value is one event, every collection two
                doc.add(1, 1, TOO_MANY)
                return True
            if isinstance(event, opening):
                flow.append(bool(event.flow_style))
                if len(flow) > MAX_DEPTH:
                    doc.add(*_pos(event.start_mark), TOO_DEEP)
                    return True
            elif isinstance(event, closing):
                flow.pop()
    except pyyaml.YAMLError as err:
        # The scanner reads ahead of the parser, and some libyaml builds refuse deep flow
        # nesting there, in their own words, before our guard sees the 65th level. Whoever
        # stops first, the author is told the same thing at the same place.
        block_depth = flow.count(False)
        where = _flow_too_deep(text, getattr(err, "problem_mark", None), block_depth)
        if where is None:
            raise
        doc.add(*where, TOO_DEEP)
        return True
    return False


def _flow_too_deep(text: str, mark: Any, block_depth: int) -> tuple[int, int] | None:
    """Where `[` and `{`, inside `block_depth` open block collections, first make more than
    MAX_DEPTH levels before the parser stopped at `mark`; None when they do not (a plain syntax
    error). Quotes are ignored: this only decides which of two reports a file that already
    failed to parse gets."""
    if mark is None:
        return None
    stop_line, stop_col = mark.line, mark.column
    depth = block_depth
    for line_no, line in enumerate(text.split("\n")):
        if line_no > stop_line:
            break
        for col, char in enumerate(line):
            if line_no == stop_line and col > stop_col:
                break
            if char in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return (line_no + 1, col + 1)
            elif char in "]}":
                depth = max(block_depth, depth - 1)
    return None


def _syntax_message(err: yaml.YAMLError, text: str, line: int, col: int) -> str:
    """libyaml's wording, translated for someone who edits YAML by hand now and then."""
    problem = str(getattr(err, "problem", None) or "")
    context = str(getattr(err, "context", None) or "")
    cmark = getattr(err, "context_mark", None)
    cline, ccol = _pos(cmark)
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in here[: max(col, len(here) - len(here.lstrip()))]:
        return "a tab character here: indent with spaces only"
    if "another document" in problem:
        return "a second YAML document (`---`) in one file: keep one protocol per file"
    if "duplicate anchor" in context:
        return f"this anchor (`&name`) is already defined at line {cline}: rename one"
    if "undefined alias" in problem:
        return "this alias (`*name`) has no anchor (`&name`) above it"
    if "flow sequence" in context:
        return f"the `[` at line {cline}, column {ccol} is not closed: add `]` or a missing `,`"
    if "flow mapping" in context:
        return f"the `{{` at line {cline}, column {ccol} is not closed: add `}}` or a missing `,`"
    if "quoted scalar" in context and "end of stream" in problem:
        return f"the quote at line {cline}, column {ccol} is never closed"
    if "mapping values are not allowed" in problem:
        return (
            "unexpected `:` here: put text that contains `: ` in quotes, or check the indentation"
        )
    if "cannot start any token" in problem:
        char = here[col - 1 : col] if 0 < col <= len(here) else ""
        return f"a value cannot start with `{shown(char)}`: put the text in quotes"
    if "expected key" in problem or "expected '-' indicator" in problem:
        return (
            f"this line's indentation does not match the block that starts at line {cline}: "
            "line it up with its neighbours"
        )
    message = f"YAML syntax: {problem or str(err).splitlines()[0]}"
    if context and cmark is not None:
        context = context.removeprefix("while ")
        message += f" ({context} at line {cline}, column {ccol})"
    return message


def _yaml_error(err: yaml.YAMLError, doc: YamlDoc, text: str) -> None:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line, col = _pos(mark)
    if isinstance(err, _yaml().reader.ReaderError):  # _decode screens characters; belt and braces
        line, col = _line_col(text, min(max(err.position, 0), len(text)))
        doc.add(line, col, f"YAML cannot read this character: {shown(err.reason)}")
        return
    message = _syntax_message(err, text, line, col)
    if not message.startswith("YAML syntax"):
        message = f"YAML syntax: {message}"
    doc.add(line, col, message)


class _Stop(Exception):
    """The document cannot be built further; `message` says why, at `pos`."""

    def __init__(self, pos: tuple[int, int], message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


class _Builder:
    """Turn a composed node tree into plain data, recording marks and structural problems."""

    def __init__(self, loader: Any, doc: YamlDoc) -> None:
        self.loader = loader
        self.doc = doc
        self.yaml = _yaml()
        self.nodes = 0
        self.open: set[int] = set()  # collections being built: an alias to one of them is a loop

    def build(self, node: yaml.Node, loc: Path_) -> Any:
        pyyaml = self.yaml
        self.nodes += 1
        pos = _pos(node.start_mark)
        if self.nodes > MAX_NODES:
            raise _Stop((1, 1), TOO_MANY)
        if len(loc) > MAX_DEPTH:  # only reachable through aliases; plain nesting is caught earlier
            raise _Stop(
                pos,
                f"through its aliases this nests more than {MAX_DEPTH} levels deep: "
                "use fewer aliases",
            )
        self.doc.value_marks[loc] = pos
        if isinstance(node, pyyaml.ScalarNode):
            return self._scalar(node, loc, pos)
        if id(node) in self.open:
            self.doc.unreadable.add(loc)
            self.doc.add(*pos, "this anchor is used inside its own value (an endless loop)")
            return None
        expected = f"{_TAG}map" if isinstance(node, pyyaml.MappingNode) else f"{_TAG}seq"
        if node.tag != expected:
            self.doc.unreadable.add(loc)
            self.doc.add(*pos, self._tag_message(node.tag))
            return None
        self.open.add(id(node))
        try:
            if isinstance(node, pyyaml.MappingNode):
                return self._mapping(node, loc)
            return [self.build(child, (*loc, i)) for i, child in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    @staticmethod
    def _tag_message(tag: str) -> str:
        name = tag.replace(_TAG, "!!")
        return f"YAML tag `{shown(name)}` is not allowed: remove it (a protocol holds plain values)"

    def _scalar(self, node: yaml.ScalarNode, loc: Path_, pos: tuple[int, int]) -> Any:
        if node.tag == f"{_TAG}value":  # a lone `=`: PyYAML resolves it but cannot construct it
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self.doc.unreadable.add(loc)
            self.doc.add(*pos, self._tag_message(node.tag))
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except Exception:  # noqa: BLE001 - ValueError, OverflowError, ...: a value, not a crash
            self.doc.unreadable.add(loc)
            kind = _READ_AS.get(node.tag, "a value")
            self.doc.add(
                *pos,
                f"cannot read `{shown(node.value)}` as {kind}: put it in quotes if it is text",
            )
            return None

    def _mapping(self, node: yaml.MappingNode, loc: Path_) -> dict[str, Any]:
        pyyaml = self.yaml
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_pos = _pos(key_node.start_mark)
            if not isinstance(key_node, pyyaml.ScalarNode):
                self.doc.add(*key_pos, "a key must be a plain word, not a list or map")
                continue
            key = key_node.value
            if key == "<<" and key_node.tag == f"{_TAG}merge":
                self.doc.add(*key_pos, "merge keys (`<<`) are not allowed: write the keys out")
                continue
            if key in out:
                first = self.doc.key_marks.get((*loc, key), key_pos)
                self.doc.add(
                    *key_pos, f"duplicate key `{shown(key)}` (first at line {first[0]}): remove one"
                )
                continue
            self.doc.key_marks[(*loc, key)] = key_pos
            out[key] = self.build(value_node, (*loc, key))
        return out


def read_source(path: Path | str) -> bytes:
    """At most `MAX_BYTES + 1` bytes of `path`: enough to tell a protocol from something too big,
    without reading a huge file into memory. OSError propagates (the caller reports it)."""
    with open(path, "rb") as handle:
        return handle.read(MAX_BYTES + 1)


def load_yaml(path: Path | str, raw: bytes | None = None) -> YamlDoc:
    """Read one YAML document; problems land in `doc.problems`, never as exceptions (except
    OSError when `raw` is not given and the file cannot be read)."""
    doc = YamlDoc(path=str(path))
    if raw is None:
        raw = read_source(path)
    if len(raw) > MAX_BYTES:
        doc.add(1, 1, f"file too large (over {MAX_BYTES:,} bytes): is this the right file?")
        return doc
    text = _decode(raw, doc)
    if text is None:
        return doc
    pyyaml = _yaml()
    try:
        if _too_big(text, doc):
            return doc
        loader = _loader_class()(text)
        try:
            node = loader.get_single_node()
            if node is None or (node.tag == f"{_TAG}null" and isinstance(node, pyyaml.ScalarNode)):
                doc.add(1, 1, EMPTY_FILE)
                return doc
            doc.data = _Builder(loader, doc).build(node, ())
        finally:
            loader.dispose()
    except pyyaml.YAMLError as err:
        _yaml_error(err, doc, text)
    except _Stop as stop:
        doc.data = None
        doc.add(*stop.pos, stop.message)
    except RecursionError:  # pragma: no cover - the depth guards make this unreachable
        doc.data = None
        doc.add(1, 1, "nested too deeply to read")
    return doc
