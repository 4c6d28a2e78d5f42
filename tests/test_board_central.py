"""The set board (`status --watch`) of a laptop that syncs says what plain `status` says: that it
waits for a producer's approval (WAITING), what two laptops did apart (EXCEPTION), and the runs
held on other laptops, under a banner as loud as a hold's, redrawn when a sync lands (nothing
new in this laptop's own log), in the crew's language.

In a real pseudo-terminal against the real throwaway PostgreSQL (tests/pgserver.py), with
laptops made by the CLI as tests/test_central.py makes them. Ctrl-C is not sent: closing the
board is tested in tests/test_board.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from tests.test_central import (
    Laptop,
    approve_device,
    armory,
    device_of,
    log_list,
    on,
    sync,
    three_laptops,
    with_a_firearm,
)
from tests.walk_helpers import (
    invoke,
    ok,
    one_line_error,
    safetycli_argv,
    subprocess_env,
    write_answers,
)

pytestmark = pytest.mark.slow

# What each language's board says, as a crew member reads it.
SAYS = {
    "en": {
        "board": "SET BOARD",
        "stopped": "WORK IS STOPPED",
        "calm": "No open or held runs",
        "waits": "THIS LAPTOP IS NOT SYNCING",
        "waiting": "WAITING",
        "apart": r"\d+ EXCEPTIONS? BETWEEN LAPTOPS",
        "exception": "EXCEPTION",
        "issued": "firearm 4471 was issued on device",
        "elsewhere": "on laptop",
    },
    "es": {
        "board": "TABLERO DEL SET",
        "stopped": "EL TRABAJO ESTÁ DETENIDO",
        "calm": "No hay recorridos abiertos ni parados",
        "waits": "ESTE PORTÁTIL NO SE SINCRONIZA",
        "waiting": "EN ESPERA",
        "apart": r"\d+ EXCEPCI(ÓN|ONES) ENTRE PORTÁTILES",
        "exception": "EXCEPCIÓN",
        "issued": "el arma 4471 se entregó en el dispositivo",
        "elsewhere": "en el portátil",
    },
}


def _board(home: Path, term: str, lang: str) -> pexpect.spawn:
    """The board on that laptop, wide enough that no line of it wraps."""
    argv = safetycli_argv()
    return pexpect.spawn(
        argv[0],
        [*argv[1:], "status", "--watch", "--interval", "0.2"],
        env={**subprocess_env(home), "TERM": term, "SAFETYCLI_LANG": lang, "COLUMNS": "500"},
        encoding="utf-8",
        timeout=30,
        dimensions=(60, 500),
    )


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_board_of_a_laptop_that_pulls_shows_the_exception_and_the_held_run_as_the_sync_lands(
    cli: CliRunner,
    central: str,
    laptop: Laptop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
) -> None:
    says = SAYS[lang]
    a, b, _c = three_laptops(cli, laptop, central, tmp_path)
    with_a_firearm(cli, a, central, b)
    # On A, offline: a run held on a failed critical check, and firearm 4471 issued; on B, the
    # same firearm issued too. A syncs; B's board is up before B syncs.
    on(a, monkeypatch)
    held = write_answers(tmp_path / "held.yaml", answers={"meeting-held": False})
    run = ["run", "firearm-scene", "--scene", "12A", "--day", "2026-11-23", "--answers"]
    assert invoke(cli, [*run, str(held)]).exit_code == 3
    (held_on_a,) = [r["id"] for r in log_list(cli)]
    armory(cli, a, "issue", "4471")
    armory(cli, b, "issue", "4471")
    sync(cli, a, central)

    board = _board(b, "xterm-256color", lang)
    try:
        board.expect(says["board"])
        board.expect(says["calm"])
        seen = board.before or ""
        assert "4471" not in seen and held_on_a not in seen
        # B syncs (its own log gets nothing new): the board redraws with what the pull brought.
        said = sync(cli, b, central).stdout
        assert "4471" in said  # plain sync says it too
        board.expect(says["stopped"])  # A's held run holds scene 12A here too
        board.expect(says["apart"])  # the banner, above the runs
        board.expect(f" {says['exception']} ")
        board.expect(says["issued"])
        board.expect(re.escape(held_on_a))
        board.expect(re.escape(f"{says['elsewhere']} {device_of(a)}"))
    finally:
        board.close(force=True)
    assert "Traceback" not in (board.before or "")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_board_of_a_laptop_waiting_for_approval_says_so_until_it_is_let_in(
    cli: CliRunner, central: str, laptop: Laptop, lang: str
) -> None:
    says = SAYS[lang]
    a = laptop("a")
    sync(cli, a, central)
    w = laptop("w")
    waiting = invoke(cli, ["sync", "--home", str(w), "--central", central])
    assert waiting.exit_code == 2 and device_of(w) in one_line_error(waiting)

    # A dumb terminal: the board is printed again only when it changed, so each print is whole.
    board = _board(w, "dumb", lang)
    try:
        board.expect(says["board"])
        board.expect(says["calm"])
        board.expect(says["waits"])
        board.expect(f" {says['waiting']} ")
        # (a dumb terminal is 80 columns wide to Rich: the line wraps between words)
        board.expect(rf"`safetycli\s+join\s+approve-device\s+{device_of(w)}`")
        # A producer lets it in from A; its next sync gets in, and the board says nothing more.
        assert approve_device(cli, a, device_of(w), central).exit_code == 0
        sync(cli, w, central)
        board.expect("─────")  # the next print
        board.expect(says["calm"])
        board.expect(pexpect.TIMEOUT, timeout=2)
        after = board.before or ""
        assert says["waits"] not in after and "approve-device" not in after
    finally:
        board.close(force=True)


def test_a_waiting_laptops_sync_and_plain_status_say_so_in_the_crews_language(
    cli: CliRunner, central: str, laptop: Laptop, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = laptop("a")
    sync(cli, a, central)
    w = laptop("w")
    monkeypatch.setenv("SAFETYCLI_LANG", "es")  # English again after the test (conftest.py)
    waiting = invoke(cli, ["sync", "--home", str(w), "--central", central])
    said = one_line_error(waiting)
    assert waiting.exit_code == 2 and said.startswith(f"el dispositivo {device_of(w)} espera")
    assert f"`safetycli join approve-device {device_of(w)}`" in said
    shown = ok(cli, ["status", "--home", str(w)]).stdout
    (line,) = [x for x in shown.splitlines() if x.startswith("EN ESPERA: ")]
    assert line.startswith(f"EN ESPERA: este portátil (dispositivo {device_of(w)}) espera")
    assert "WAITING" not in shown
