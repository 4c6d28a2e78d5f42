"""SQLite's own check of the log file (`PRAGMA integrity_check`, indexes included): an index
rebuilt without some rows hides them from every query that uses it, while the chain, read in seq
order, still holds.

A module of its own, importing sqlite3 and threading only: at a million events the check is
verify's longest part (one statement, about 1.3 s), so `verify` starts it in a thread before it
loads the ledger and the audit (some 75 ms of imports, which then run beside it). SQLite
releases the GIL while it checks.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


def integrity_problems(db: sqlite3.Connection) -> list[str]:
    """What SQLite finds wrong with the file (at most 20 lines); empty when it is whole."""
    try:
        rows = db.execute("PRAGMA integrity_check(20)").fetchall()
    except sqlite3.DatabaseError as err:
        return [str(err)]
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


class IntegrityCheck(threading.Thread):
    """The check on its own read-only connection, in a thread, while verify does the rest."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.found: list[str] = []

    def run(self) -> None:
        try:
            db = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
        except sqlite3.DatabaseError as err:
            self.found = [str(err)]
            return
        try:
            self.found = integrity_problems(db)
        finally:
            db.close()

    def result(self) -> list[str]:
        self.join()
        return self.found
