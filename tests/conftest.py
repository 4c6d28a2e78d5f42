"""Shared fixtures: every test gets its own workspace through SAFETYCLI_HOME, a fixed console
width, and no colour, so output is stable and nothing touches the developer's real workspace."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetycli import crew, i18n
from safetycli.cli import app
from tests.walk_helpers import CHEAP_SCRYPT_N, Laptop, add_crew, laptops

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    # `init` defaults to the laptop's zone: every test laptop reads UTC unless a test says not.
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("SAFETYCLI_HOME", raising=False)
    # High-water marks outside the workspace (headmark.py) go to this test's own folder.
    monkeypatch.setenv("SAFETYCLI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    # The tool's own words in English unless a test says otherwise, whatever this machine's
    # locale (i18n.resolve reads it), and back to English after a test that switched.
    for name in ("SAFETYCLI_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    yield
    i18n.use(None)


@pytest.fixture(autouse=True, scope="session")
def _private_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For the whole session, fixtures shared by a module included: files the tests write
    (answers files hold PINs) are private, as a careful crew keeps them, since safetycli refuses
    an answers file others can read (tests of file modes set their own umask); and high-water
    marks and device keys outside workspaces go to temporary folders, never the developer's own."""
    old_umask = os.umask(0o077)
    old = {name: os.environ.get(name) for name in ("SAFETYCLI_STATE_DIR", "SAFETYCLI_KEY_DIR")}
    os.environ["SAFETYCLI_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    os.environ["SAFETYCLI_KEY_DIR"] = str(tmp_path_factory.mktemp("keys"))
    try:
        yield
    finally:
        os.umask(old_umask)
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(autouse=True, scope="session")
def _english_by_default() -> Iterator[None]:
    """The tool's own words in English for the whole session, module fixtures included (they
    run before `_isolated`), whatever the developer's locale: tests that want Spanish say so."""
    names = ("SAFETYCLI_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
    old = {name: os.environ.pop(name, None) for name in names}
    os.environ["LANG"] = "C.UTF-8"
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner) -> Path:
    """An initialised, empty workspace, selected through SAFETYCLI_HOME."""
    ws = tmp_path / "ws"
    result = cli.invoke(app, ["init", "--home", str(ws), "--production", "Test Production"])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("SAFETYCLI_HOME", str(ws))
    return ws


@pytest.fixture
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """PINs set during the test are hashed with a tiny scrypt cost (it travels in each hash)."""
    monkeypatch.setattr(crew, "SCRYPT_N", CHEAP_SCRYPT_N)


@pytest.fixture
def crewed(home: Path, cheap_scrypt: None) -> Path:
    """A workspace with a producer, armorer, 1st AD, actor and DP on the roster."""
    add_crew(home / "log.db")
    return home


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One throwaway PostgreSQL for the session (tests/pgserver.py): its URL."""
    from tests import pgserver

    try:
        with pgserver.throwaway_server() as url:
            yield url
    except pgserver.NoServer as err:
        if pgserver.required():
            pytest.fail(str(err))
        pytest.skip(f"{err} (CI installs it)")


@pytest.fixture
def central(pg_server: str) -> Iterator[str]:
    """The central store's URL, emptied before each test: every test starts from a blank
    server (the schema is dropped, so migrations run from nothing every time)."""
    import psycopg

    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    yield pg_server


@pytest.fixture
def laptop(tmp_path: Path, cli: CliRunner, cheap_scrypt: None) -> Laptop:
    """A new laptop of the production (tests/walk_helpers.py `laptops`); a module whose
    production is in another zone overrides it."""
    return laptops(tmp_path, cli)
