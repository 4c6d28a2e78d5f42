"""`status --watch`: the set board at video village, in a real pseudo-terminal. It shows the set,
redraws when work stops on another laptop, closes on Ctrl-C without a traceback, and refuses
(one line) where a board makes no sense."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pexpect
import pytest
from typer.testing import CliRunner

from tests.walk_helpers import (
    PRODUCER,
    invoke,
    ok,
    refused,
    safetycli_argv,
    start,
    subprocess_env,
    write_answers,
)

pytestmark = pytest.mark.slow


def _board(home: Path, term: str) -> pexpect.spawn:
    argv = safetycli_argv()
    return pexpect.spawn(
        argv[0],
        [*argv[1:], "status", "--watch", "--interval", "0.2"],
        env={**subprocess_env(home), "TERM": term},
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 140),
    )


@pytest.mark.parametrize("term", ["xterm-256color", "dumb"])
def test_the_board_shows_the_set_and_redraws_when_work_stops(
    cli: CliRunner, crewed: Path, tmp_path: Path, term: str
) -> None:
    """Redrawn in place on a terminal that can; printed again on a change on a dumb one."""
    run_id, _ = start(cli, write_answers(tmp_path / "a.yaml", drop=("meeting-held",)), expect=4)
    board = _board(crewed, term)
    board.expect("SET BOARD")
    board.expect("Nothing held")
    board.expect(run_id)
    board.expect("signed in: ")
    # Work stops from another laptop: the board shows it without anyone touching it.
    ok(cli, ["hold", "--scene", "7B", "--reason", "smoke near the cart", "--by", "Lee (grip)"])
    board.expect("WORK IS STOPPED")
    board.expect("7B")
    board.expect("smoke near the cart")
    board.sendintr()
    board.expect(pexpect.EOF)
    board.close()
    assert board.exitstatus == 0
    assert "Traceback" not in (board.before or "")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["status", "--watch", "--format", "json"], "--format json"),
        (["status", "--watch"], "terminal"),  # CliRunner's stdout is no terminal
    ],
)
def test_the_board_refuses_json_and_no_terminal_in_one_line(
    cli: CliRunner, home: Path, args: list[str], says: str
) -> None:
    assert says in refused(cli, args)


def test_a_quiet_set_reads_the_log_once_however_long_the_board_stays_up(
    crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flat in the log's size: between events each redraw costs one look at the log's head."""
    from safetycli import review
    from safetycli.cli import board
    from safetycli.cli.status_cmd import _lines
    from safetycli.workspace import find_workspace

    reads: list[int] = []
    real = review.set_status

    def counted(ledger: Any) -> dict[str, Any]:
        reads.append(1)
        return real(ledger)

    ticks = iter(range(5))

    def sleep(_: float) -> None:
        if next(ticks, None) is None:
            raise KeyboardInterrupt

    monkeypatch.setattr(review, "set_status", counted)
    monkeypatch.setattr(board.time, "sleep", sleep)
    with find_workspace(crewed).open_log() as ledger:
        board.watch(ledger, "Test", 1.0, _lines)
    assert len(reads) == 1


def test_status_without_watch_is_unchanged(cli: CliRunner, home: Path) -> None:
    result = invoke(cli, ["status"])
    assert result.exit_code == 0 and "No open or held runs" in result.stdout


def test_a_syncing_laptops_board_reads_the_set_and_what_laptops_did_apart_only_when_they_move(
    cli: CliRunner, crewed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flat per redraw on a laptop that syncs: a quiet tick reads neither the set nor the
    conflicts; an event on set re-reads the set alone; a sync writing foreign.db (here: told to
    wait for approval) re-reads both, and the WAITING line appears; a roster change re-reads
    the conflicts."""
    from functools import partial

    from safetycli import review
    from safetycli.central import conflicts, foreign
    from safetycli.cli import board
    from safetycli.cli.status_cmd import _lines, standing_lines
    from safetycli.workspace import find_workspace

    sets: list[int] = []
    aparts: list[int] = []
    real_set, real_apart = review.set_status, conflicts.on_laptop

    def set_counted(ledger: Any) -> dict[str, Any]:
        sets.append(1)
        return real_set(ledger)

    def apart_counted(ledger: Any) -> list[str]:
        aparts.append(1)
        return real_apart(ledger)

    monkeypatch.setattr(review, "set_status", set_counted)
    monkeypatch.setattr(conflicts, "on_laptop", apart_counted)
    foreign.ForeignLog.open(crewed / foreign.FILENAME).close()  # this laptop synced once
    with find_workspace(crewed).open_log() as ledger:
        shown = board.Board(ledger, _lines, partial(standing_lines, zone="UTC"))
        assert shown.tick() is True
        assert (len(sets), len(aparts), shown.marked) == (1, 1, [])
        for _ in range(5):
            assert shown.tick() is False
        assert (len(sets), len(aparts)) == (1, 1)

        ok(cli, ["hold", "--scene", "7B", "--reason", "smoke near the cart", "--by", "Lee"])
        assert shown.tick() is True
        assert (len(sets), len(aparts)) == (2, 1)
        assert any(held for held, _head, _details in shown.lines)

        told = foreign.ForeignLog.open(crewed / foreign.FILENAME)  # the next sync, elsewhere
        told.set_waiting("2026-11-25T10:00:00Z")
        told.close()
        assert shown.tick() is True
        assert (len(sets), len(aparts)) == (3, 2)
        ((word, line),) = shown.marked
        assert word == "WAITING" and f"join approve-device {ledger.device}" in line

        ok(
            cli,
            ["crew", "add", "Robin Vale", "--role", "actor", "--pin-stdin"],
            input=f"5150\n{PRODUCER[1]}\n",
        )
        assert shown.tick() is True
        assert (len(sets), len(aparts)) == (4, 3)
        for _ in range(3):
            assert shown.tick() is False
        assert (len(sets), len(aparts)) == (4, 3)


@pytest.mark.parametrize(
    ("lang", "banner", "mark"),
    [
        ("en", "1 EXCEPTION BETWEEN LAPTOPS", " EXCEPTION "),
        ("es", "1 EXCEPCIÓN ENTRE PORTÁTILES", " EXCEPCIÓN "),
    ],
)
def test_the_boards_exception_banner_and_line_show_what_laptops_wrote_as_text(
    lang: str, banner: str, mark: str
) -> None:
    """A role's words from another laptop are data: markup shows as typed, a control character
    never reaches the monitor."""
    from rich.console import Console

    from safetycli import i18n
    from safetycli.central.laptopnow import Standing
    from safetycli.cli.board import _board
    from safetycli.cli.status_cmd import standing_lines

    i18n.use(lang)
    line = 'role medic: this laptop\'s config.toml says "[bold]Medic[/bold]\x1b[2J\x9b2J"'
    standing = Standing(None, [line])
    out = Console(width=200, record=True, color_system=None)
    out.print(_board("Night Unit", [], None, 2.0, "UTC", standing, standing_lines(standing, "UTC")))
    text = out.export_text()
    assert banner in text and mark in text
    assert '"[bold]Medic[/bold]' in text
    assert "\x1b" not in text and "\x9b" not in text


def test_newest_of_is_the_last_event_of_those_kinds_and_zero_for_none(crewed: Path) -> None:
    from safetycli.events import CREW_ADDED, SCENE_HELD
    from safetycli.workspace import find_workspace

    with find_workspace(crewed).open_log() as ledger:
        added = [e.seq for e in ledger.events(kinds=(CREW_ADDED,))]
        assert added and ledger.newest_of([CREW_ADDED, SCENE_HELD]) == max(added)
        assert ledger.newest_of([SCENE_HELD]) == 0 and ledger.newest_of([]) == 0
