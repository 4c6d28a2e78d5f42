"""`checklists list` from the cache of the last listing (protocache.py): the same answer as a
full load whenever anything it depends on changes, and no way for a cache entry to make a
protocol load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from safetycli import protocache
from safetycli.cli import app
from safetycli.statedir import state_dir
from tests.test_checklists_cli import MINIMAL


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, ["checklists", *args])


def listed(cli: CliRunner) -> tuple[list[tuple[str, str, int]], str]:
    result = run(cli, "list", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    return [(r["id"], r["title"], r["items"]) for r in rows], result.stderr


def test_the_list_follows_every_change_to_the_files(cli: CliRunner, home: Path) -> None:
    own = home / "checklists"
    own.mkdir(exist_ok=True)
    ours = own / "ours.yaml"
    ours.write_text(MINIMAL.replace("id: minimal", "id: ours"), encoding="utf-8")
    fresh = run(cli, "list", "--format", "json").stdout
    assert (state_dir() / protocache.FILENAME).is_file()
    assert run(cli, "list", "--format", "json").stdout == fresh  # from the cache, byte for byte
    ours.write_text(
        MINIMAL.replace("id: minimal", "id: ours").replace("Smallest", "Changed"),
        encoding="utf-8",
    )
    rows, _ = listed(cli)
    assert ("ours", "Changed valid protocol", 1) in rows
    ours.write_text("id: ours\n", encoding="utf-8")  # now broken: left out, with a warning
    rows, warned = listed(cli)
    assert "ours" not in [r[0] for r in rows]
    assert "problems in protocol files" in warned
    assert listed(cli) == (rows, warned)  # the warning comes from the cache too


def test_a_forged_cache_cannot_load_a_protocol(cli: CliRunner, home: Path) -> None:
    """Whoever writes the cache file can change what the listing shows at most; `show` (and
    `run`) load and validate the file itself."""
    listed(cli)
    path = state_dir() / protocache.FILENAME
    key, rows = _kept_listing(home)
    forged = protocache.listing_text(key, [*rows, {**rows[0], "id": "forged"}], 0)
    assert forged is not None
    path.write_text(forged, encoding="utf-8")
    assert "forged" in [r[0] for r in listed(cli)[0]]  # the listing is all it can change
    result = run(cli, "show", "forged")
    assert result.exit_code == 2
    assert "unknown protocol `forged`" in result.output


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_cache_others_can_write_is_not_read(cli: CliRunner, home: Path) -> None:
    listed(cli)
    path = state_dir() / protocache.FILENAME
    assert path.stat().st_mode & 0o777 == 0o600
    key, rows = _kept_listing(home)
    forged = protocache.listing_text(key, [{**rows[0], "id": "forged"}], 0)
    assert forged is not None
    path.write_text(forged, encoding="utf-8")
    path.chmod(0o666)
    assert "forged" not in [r[0] for r in listed(cli)[0]]


def _kept_listing(home: Path) -> tuple[str, list[dict[str, object]]]:
    """The listing's cache key now, and the rows its file holds for it."""
    key = protocache._key(home / "checklists")
    assert key is not None
    path = state_dir() / protocache.FILENAME
    kept = protocache.listing_of(path.read_text(encoding="utf-8"), key)
    assert kept is not None
    return key, kept[0]


def test_a_cache_not_made_for_these_files_or_malformed_is_not_read(
    cli: CliRunner, home: Path
) -> None:
    """Another key (other files, an older format), a cut or garbled file: the protocols are
    loaded in full and the listing is theirs."""
    expected = listed(cli)
    path = state_dir() / protocache.FILENAME
    key, rows = _kept_listing(home)
    good = protocache.listing_text(key, [{**rows[0], "title": "Forged"}], 0)
    assert good is not None
    assert "Forged" in str(listed_with(cli, path, good))  # the test's forgery is read as such
    for text in (
        good.replace(key, "0" * len(key)),
        good.replace("protocol list 3", "protocol list 2"),
        good[: len(good) // 2],
        good.replace("\tshipped\t", "\tshipped\tsurplus\t"),
        good.replace(f"\t{rows[0]['items']}\n", "\tmany\n"),
        good.replace("Forged", "Forged\\x"),
        good.replace("\n0\n", "\n-1\n"),
        '{"key": "' + key + '", "rows": [], "problems": 0}',
    ):
        assert listed_with(cli, path, text) == expected, text


def listed_with(cli: CliRunner, path: Path, text: str) -> tuple[list[tuple[str, str, int]], str]:
    path.write_text(text, encoding="utf-8")
    return listed(cli)


def _questions_now(home: Path) -> protocache.Questions:
    from safetycli.catalog import load_catalog

    return protocache.questions_of(load_catalog(home / "checklists"))


def test_the_questions_come_back_as_the_catalog_gives_them(cli: CliRunner, home: Path) -> None:
    """What review names each check by (protocache.questions): the catalog's, loaded in full or
    read back from the cache, and loaded again when a protocol file changes."""
    own = home / "checklists"
    own.mkdir(exist_ok=True)
    ours = own / "ours.yaml"
    ours.write_text(MINIMAL.replace("id: minimal", "id: ours"), encoding="utf-8")
    expected = _questions_now(home)
    assert protocache.questions(own) == expected  # loaded, then cached
    path = state_dir() / protocache.QUESTIONS_FILENAME
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600
    assert protocache.questions(own) == expected  # from the cache
    ours.write_text(MINIMAL.replace("id: minimal", "id: ours").replace("?", " now?"), "utf-8")
    changed = _questions_now(home)
    assert changed != expected
    assert protocache.questions(own) == changed


def test_a_cached_question_is_only_read_for_its_own_key(cli: CliRunner, home: Path) -> None:
    """A cache made for other files, malformed, or writable by others is not read: the catalog
    is loaded in full."""
    own = home / "checklists"
    expected = protocache.questions(own)
    path = state_dir() / protocache.QUESTIONS_FILENAME
    kept = json.loads(path.read_text(encoding="utf-8"))
    forged = [
        [pid, sha, brk, [[ph, it, "Forged?"] for ph, it, _ in asks]]
        for pid, sha, brk, asks in kept["protocols"]
    ]
    for content in (
        {**kept, "key": "0" * 64, "protocols": forged},
        {**kept, "protocols": [[1, 2, 3]]},
        {**kept, "protocols": "nonsense"},
        {**kept, "protocols": [[pid, sha, "after-break", asks] for pid, sha, _, asks in forged]},
        {**kept, "protocols": [{"a": 1, "b": 2, "c": 3, "d": 4}]},
    ):
        path.write_text(json.dumps(content), encoding="utf-8")
        assert protocache.questions(own) == expected
    if os.name == "posix":
        path.write_text(json.dumps({**kept, "protocols": forged}), encoding="utf-8")
        path.chmod(0o666)
        assert protocache.questions(own) == expected


def test_an_edit_that_keeps_size_and_time_still_changes_the_list(
    cli: CliRunner, home: Path
) -> None:
    """The key is a digest of the files' bytes, read on every call: a change of the same length
    with the file's times put back (as a copy tool or a careful hand would) is still seen."""
    own = home / "checklists"
    own.mkdir(exist_ok=True)
    ours = own / "ours.yaml"
    ours.write_text(MINIMAL.replace("id: minimal", "id: ours"), encoding="utf-8")
    rows, _ = listed(cli)
    assert ("ours", "Smallest valid protocol", 1) in rows
    before = ours.stat()
    ours.write_text(
        MINIMAL.replace("id: minimal", "id: ours").replace("Smallest", "Smallish"),
        encoding="utf-8",
    )
    os.utime(ours, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = ours.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    rows, _ = listed(cli)
    assert ("ours", "Smallish valid protocol", 1) in rows
    assert ("ours", "Smallest valid protocol", 1) not in rows


def test_the_list_from_its_cache_loads_no_openssl_and_builds_one_command(tmp_path: Path) -> None:
    """What the listing pays at every start (bench/startup.py): from the cache it loads neither
    OpenSSL (hashlib: about 4 ms), json, nor the protocol loader, nor has Typer build the
    group's other commands; and it lists what the first, uncached call listed."""
    env = {**os.environ, "SAFETYCLI_STATE_DIR": str(tmp_path / "state")}
    env.pop("SAFETYCLI_HOME", None)
    code = """
import sys
import typer.main
from safetycli.cli import app
built = []
make = typer.main.get_command_from_info
def counted(*args, **kw):
    built.append((args[0] if args else kw["command_info"]).callback.__name__)
    return make(*args, **kw)
typer.main.get_command_from_info = counted
try:
    app(["checklists", "list"])
except SystemExit as done:
    assert done.code == 0, done.code
loaded = [m for m in ("_hashlib", "hashlib", "json", "safetycli.headmark", "safetycli.catalog")
          if m in sys.modules]
print(built, loaded, file=sys.stderr)
"""
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert "firearm-scene\t" in again.stdout
    assert "safetycli.catalog" in first.stderr  # the first call did load the protocols
    assert again.stderr.splitlines()[-1] == "['list_'] []"
