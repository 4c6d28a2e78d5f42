"""Safe, line-aware YAML loading for files people write by hand.

PyYAML's `safe_load` throws away where each value came from and silently keeps the last of two
duplicate keys. A protocol author needs `path:line:col` for every problem, so we compose the node
tree ourselves (safe loader only, the C one when present), keep each node's position, and build
plain Python data from it. Anything malformed becomes a `Problem`, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 1_000_000  # a protocol is a page or two; anything bigger is a mistake
MAX_DEPTH = 64  # protocols nest five levels; libyaml's composer crashes on very deep input
MAX_NODES = 100_000  # guards against alias bombs ("billion laughs")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a file, printed as `path:line:col: message` (1-based)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


@dataclass
class YamlDoc:
    """Plain data from one YAML document, with the position of every value and key in it."""

    path: str
    data: Any = None
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def where(self, loc: Path_, *, key: bool = False) -> tuple[int, int]:
        """Position of `loc`, or of its nearest ancestor that exists (a missing key: its mapping)."""
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
        found = Problem(self.path, line, col, message)
        self.problems.append(found)
        return found


def _pos(mark: yaml.Mark | None) -> tuple[int, int]:
    if mark is None:
        return (1, 1)
    return (mark.line + 1, mark.column + 1)


def _decode(raw: bytes, doc: YamlDoc) -> str | None:
    if not raw.strip():
        doc.problem((), "the file is empty: a protocol starts with `id:`, `title:` and `phases:`")
        return None
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        doc.problems.append(Problem(doc.path, line, 1, "not a text file (binary data found)"))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        doc.problems.append(
            Problem(doc.path, line, col, "not UTF-8 text: save the file as UTF-8 and try again")
        )
        return None


def _too_deep(text: str, doc: YamlDoc) -> bool:
    """Walk parser events (iterative, safe at any depth) before composing (recursive)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line, col = _pos(event.start_mark)
                doc.problems.append(
                    Problem(doc.path, line, col, f"nested more than {MAX_DEPTH} levels deep")
                )
                return True
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return False


def _yaml_error(err: yaml.YAMLError, doc: YamlDoc, text: str) -> None:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line, col = _pos(mark)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    message = f"YAML syntax: {problem}"
    lines = text.splitlines()
    if 0 < line <= len(lines) and "\t" in lines[line - 1][: col + 1]:
        message = "YAML syntax: a tab character here; indent with spaces only"
    doc.problems.append(Problem(doc.path, line, col, message))


class _Builder:
    """Turn a composed node tree into plain data, recording marks and structural problems."""

    def __init__(self, loader: Any, doc: YamlDoc) -> None:
        self.loader = loader
        self.doc = doc
        self.nodes = 0

    def build(self, node: yaml.Node, loc: Path_) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig
        self.doc.value_marks[loc] = _pos(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*loc, i)) for i, child in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            line, col = _pos(node.start_mark)
            reason = getattr(err, "problem", None) or "cannot read this value"
            self.doc.problems.append(Problem(self.doc.path, line, col, reason))
            return None

    def _mapping(self, node: yaml.MappingNode, loc: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_pos = _pos(key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self.doc.problems.append(
                    Problem(self.doc.path, *key_pos, "a key must be a plain word, not a list or map")
                )
                continue
            key = key_node.value
            if key == "<<":
                self.doc.problems.append(
                    Problem(self.doc.path, *key_pos, "merge keys (`<<`) are not allowed here")
                )
                continue
            if key in out:
                first = self.doc.key_marks.get((*loc, key), key_pos)
                self.doc.problems.append(
                    Problem(
                        self.doc.path,
                        *key_pos,
                        f"duplicate key `{key}` (first at line {first[0]}); remove one",
                    )
                )
                continue
            self.doc.key_marks[(*loc, key)] = key_pos
            out[key] = self.build(value_node, (*loc, key))
        return out


class _TooBig(Exception):
    pass


def load_yaml(path: Path | str, raw: bytes | None = None) -> YamlDoc:
    """Read one YAML document; problems land in `doc.problems`, never as exceptions."""
    shown = str(path)
    doc = YamlDoc(path=shown)
    if raw is None:
        raw = Path(path).read_bytes()
    if len(raw) > MAX_BYTES:
        doc.problems.append(
            Problem(shown, 1, 1, f"file too large ({len(raw):,} bytes; the limit is {MAX_BYTES:,})")
        )
        return doc
    text = _decode(raw, doc)
    if text is None:
        return doc
    try:
        if _too_deep(text, doc):
            return doc
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                doc.problem((), "the file has no content: a protocol starts with `id:`")
                return doc
            doc.data = _Builder(loader, doc).build(node, ())
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        _yaml_error(err, doc, text)
    except _TooBig:
        doc.problems.append(
            Problem(shown, 1, 1, f"too many values (over {MAX_NODES:,}, aliases included)")
        )
    except RecursionError:
        doc.problems.append(Problem(shown, 1, 1, "nested too deeply to read"))
    return doc
