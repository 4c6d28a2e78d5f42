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
