"""`checklists list` without parsing the protocols again when none of them changed (issue 14).

Loading the catalog reads, parses and validates every protocol file (YAML with positions, the
pydantic models, the semantic checks): about 50 ms of every `checklists list`. The list only
shows a few facts of each valid protocol and how many problems the files have, so those are
kept in one small file, keyed by a BLAKE2b digest of every protocol file's bytes (with its path
and whether it is shipped), of the workspace's config.toml and received-roles.toml (its own
roles change what is valid) and the tool's version. Any change to any of them is a different
key: the catalog is loaded in full and the file written again. BLAKE2b rather than sha256 only
because CPython carries it in its own `_blake2` module: `hashlib` loads OpenSSL (about 4 ms of
every start-up) for its sha256; the digest is as cryptographic either way.

Trust. The cache lives in the user's private state folder (0700, as the high-water marks), is
written 0600 and read only when it belongs to this user and nobody else may write it; its key
is recomputed from the files on every read, never taken from the cache. It only ever feeds the
listing: `run`, `resume`, `checklists show` and `checklists validate` load and validate the file
itself every time, so no cache entry, whoever wrote it, can make a protocol load that would not
load on its own.

The same key, under its own name, keeps what review needs of each valid protocol
(`questions`): its after-break phases and each check's question, by (protocol id, sha256). A
report or `log show` names a check in the crew's words for the sha256 the run itself recorded;
an entry for any other text is never asked for. Those words are shown, never judged: nothing
that stops work (holds, refusals, the runner) reads them, so a forged entry could at most
misword a printed question, as a forged listing could at most misword the listing.

Light to import: the cache hit must not pay for PyYAML or pydantic, nor for `json` (about 1.3
ms of start-up): the listing's file is lines of tab-separated fields, each text written with
Python's `unicode_escape` (so no field holds a tab or a line break), read back field by field
with its type checked; anything else in the file and it is not used. The questions stay JSON:
only reports read them, and those load `json` anyway.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

try:  # CPython's own BLAKE2 (see above), without hashlib's OpenSSL
    from _blake2 import blake2b
except ImportError:  # an interpreter without it: the same digest through hashlib
    from hashlib import blake2b

SUFFIXES = (".yaml", ".yml")
FILENAME = "protocol-list.txt"
_FORMAT = 3
# A listing row's fields, in the order `rows_of` makes them and the file keeps them.
_ROW = (
    ("id", str),
    ("title", str),
    ("version", int),
    ("summary", str),
    ("origin", str),
    ("path", str),
    ("sha256", str),
    ("phases", int),
    ("items", int),
)
_HEADER = f"safetycli protocol list {_FORMAT}"
QUESTIONS_FILENAME = "protocol-questions.json"
_QUESTIONS_FORMAT = 1


def shipped_dir() -> Path:
    """Installed wheels carry the protocols inside the package; a source checkout has them at
    the top of the repository."""
    here = Path(__file__).resolve().parent
    packaged = here / "_checklists"
    return packaged if packaged.is_dir() else here.parent / "checklists"


# `firearm-scene.es.yaml`: a protocol's file name, a language, the YAML suffix (translation.py).
TRANSLATION_FILE = re.compile(r"^(?P<stem>[^.]+)\.(?P<lang>[a-z]{2,3})\.ya?ml$")


def protocol_files(folder: Path) -> list[Path]:
    """The protocols in a folder: its YAML files, less the translations beside them."""
    return [p for p in yaml_files(folder) if not TRANSLATION_FILE.match(p.name)]


def yaml_files(folder: Path) -> list[Path]:
    """Every YAML file in a folder: protocols and their translations."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def _digest(data: bytes = b"") -> Any:
    return blake2b(data, digest_size=32)


def _key(workspace_checklists: Path | None, purpose: str = f"list {_FORMAT}") -> str | None:
    """A digest of everything the listing (or another `purpose`) depends on, recomputed from
    the files' bytes on every call; None when a file cannot be read (the full load reports
    it)."""
    from safetycli import __version__

    digest = _digest(f"safetycli {__version__} {purpose} blake2b-256\n".encode())
    sources = [(shipped_dir(), True)]
    if workspace_checklists is not None:
        sources.append((workspace_checklists, False))
        # Its roles: config.toml's own, and those received with the production's protocols.
        for name in ("config.toml", "received-roles.toml"):
            try:
                content = (workspace_checklists.parent / name).read_bytes()
                digest.update(name.encode() + _digest(content).digest())
            except FileNotFoundError:
                digest.update(b"no " + name.encode())
            except OSError:
                return None
    try:
        for folder, shipped in sources:
            digest.update(f"\nfolder {folder} {shipped}\n".encode())
            for path in yaml_files(folder):  # a translation's problems change the listing
                content = _digest(path.read_bytes()).hexdigest()
                digest.update(f"{path}\0{content}\n".encode())
    except OSError:
        return None
    return digest.hexdigest()


def _cache_path(name: str = FILENAME) -> Path:
    from safetycli.statedir import state_dir

    return state_dir() / name


def _private(path: Path) -> bool:
    """Ours alone: owned by this user, and neither it nor its folder writable by anyone else."""
    if os.name != "posix":
        return True
    try:
        for target in (path, path.parent):
            st = target.lstat()
            if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                return False
            if target is path and not stat.S_ISREG(st.st_mode):
                return False
    except OSError:
        return False
    return True


def _kept(path: Path, key: str) -> dict[str, Any] | None:
    """The questions' cache file's content when it is ours alone and made for exactly this key."""
    import json

    if not _private(path):
        return None
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("key") != key:
        return None
    return kept


def listing_text(key: str, rows: list[dict[str, Any]], problems: int) -> str | None:
    """The listing's cache file: a header, the key, the problems, a line per row; None when a
    row is not of the shape the file keeps (then nothing is cached)."""
    lines = [_HEADER, key, str(problems)]
    for row in rows:
        if list(row) != [name for name, _ in _ROW]:
            return None
        if any(type(row[name]) is not kind for name, kind in _ROW):
            return None
        cells = (_escaped(row[n]) if kind is str else str(row[n]) for n, kind in _ROW)
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def listing_of(text: str, key: str) -> tuple[list[dict[str, Any]], int] | None:
    """The rows and problems a cache file holds for exactly this key; None for anything else."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[:2] != [_HEADER, key] or lines[-1] != "":
        return None
    rows = []
    try:
        problems = int(lines[2])
        for line in lines[3:-1]:
            cells = line.split("\t")
            if len(cells) != len(_ROW):
                return None
            rows.append(
                {
                    name: _unescaped(cell) if kind is str else int(cell)
                    for (name, kind), cell in zip(_ROW, cells, strict=True)
                }
            )
    except ValueError:  # a number that is none, a malformed escape, a character beyond ASCII
        return None
    return (rows, problems) if problems >= 0 else None


def _escaped(text: str) -> str:
    """ASCII, with no tab or line break: `\\t`, `\\n`, `\\\\`, `\\xe9`, `\\u202e` instead."""
    return text.encode("unicode_escape").decode("ascii")


def _unescaped(cell: str) -> str:
    return cell.encode("ascii").decode("unicode_escape")


def _read(path: Path, key: str) -> tuple[list[dict[str, Any]], int] | None:
    if not _private(path):
        return None
    try:
        return listing_of(path.read_text(encoding="utf-8"), key)
    except (OSError, ValueError):
        return None


def _write(path: Path, text: str) -> None:
    """Written aside and renamed into place, 0600; a failure only means no cache next time."""
    from safetycli.filemodes import make_private_dir

    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        make_private_dir(path.parent)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def rows_of(catalog: Any) -> list[dict[str, Any]]:
    """What `checklists list` shows of each valid protocol, by id."""
    rows = []
    for protocol in sorted(catalog.protocols.values(), key=lambda p: p.id):
        origin = protocol.origin
        rows.append(
            {
                "id": protocol.id,
                "title": protocol.title,
                "version": protocol.version,
                "summary": protocol.summary,
                "origin": "shipped" if origin.shipped else "workspace",
                "path": str(origin.path),
                "sha256": origin.sha256,
                "phases": len(protocol.phases),
                "items": len(protocol.items()),
            }
        )
    return rows


def listing(workspace_checklists: Path | None) -> tuple[list[dict[str, Any]], int]:
    """(the rows of `checklists list`, how many problems the protocol files have): from the
    cache when nothing they depend on changed, else from the full catalog (and cached)."""
    key = _key(workspace_checklists)
    path = _cache_path()
    if key is not None and (kept := _read(path, key)) is not None:
        return kept
    from safetycli.catalog import load_catalog

    catalog = load_catalog(workspace_checklists, translations=True)
    rows, problems = rows_of(catalog), len(catalog.problems)
    if key is not None and key == _key(workspace_checklists):  # unchanged while we loaded
        text = listing_text(key, rows, problems)
        if text is not None:
            _write(path, text)
    return rows, problems


# (protocol id, sha256) -> (after-break phase ids, {(phase id, item id): question})
Questions = dict[tuple[str, str], tuple[frozenset[str], dict[tuple[str, str], str]]]


def questions_of(catalog: Any) -> Questions:
    """What review needs of each valid protocol: its after-break phases and its questions."""
    return {
        (p.id, p.origin.sha256): (
            frozenset(ph.id for ph in p.phases if ph.repeat == "after_break"),
            {(ph.id, item.id): item.ask for ph in p.phases for item in ph.items},
        )
        for p in catalog.protocols.values()
    }


def _as_questions(kept: dict[str, Any]) -> Questions | None:
    """The cached entries, each checked for shape; None (load in full) on anything odd."""
    out: Questions = {}
    entries = kept.get("protocols")
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if not isinstance(entry, list) or len(entry) != 4:
            return None
        if not isinstance(entry[2], list) or not isinstance(entry[3], list):
            return None
        try:
            pid, sha, breaks, asks = entry
            key = (pid, sha)
            phases = frozenset(breaks)
            texts = {(phase, item): ask for phase, item, ask in asks}
        except (TypeError, ValueError):
            return None
        strings = [*key, *phases, *(x for k in texts for x in k), *texts.values()]
        if not all(isinstance(x, str) for x in strings):
            return None
        out[key] = (phases, texts)
    return out


def questions(workspace_checklists: Path | None) -> Questions:
    """Each valid protocol's after-break phases and questions (what `questions_of` makes of the
    catalog): from the cache when no protocol file, config.toml or the tool changed, else from
    the full catalog (and cached). A catalog that cannot be loaded gives none."""
    purpose = f"questions {_QUESTIONS_FORMAT}"
    key = _key(workspace_checklists, purpose)
    path = _cache_path(QUESTIONS_FILENAME)
    if key is not None and (kept := _kept(path, key)) is not None:
        if (found := _as_questions(kept)) is not None:
            return found
    from safetycli.catalog import load_catalog

    try:
        found = questions_of(load_catalog(workspace_checklists))
    except Exception:  # noqa: BLE001 - a review must not fail on a broken protocol file
        return {}
    if key is not None and key == _key(workspace_checklists, purpose):
        entries = [
            [pid, sha, sorted(breaks), [[ph, item, ask] for (ph, item), ask in asks.items()]]
            for (pid, sha), (breaks, asks) in found.items()
        ]
        import json

        _write(path, json.dumps({"key": key, "protocols": entries}))
    return found
