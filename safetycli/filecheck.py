"""SQLite's own check of the log file (`PRAGMA integrity_check`, indexes included): an index
rebuilt without some rows hides them from every query that uses it, while the chain, read in
seq order, still holds.

A module of its own, importing sqlite3 only: at a million events the statement is one thread's
1.2 s, so `verify` proves its verdict in parts instead (structcheck.py) and runs this, the full
statement, whenever the parts cannot vouch for the file: its lines are verify's answer.
"""

from __future__ import annotations

import sqlite3


def integrity_problems(db: sqlite3.Connection) -> list[str]:
    """What SQLite finds wrong with the file (at most 20 lines); empty when it is whole."""
    try:
        rows = db.execute("PRAGMA integrity_check(20)").fetchall()
    except sqlite3.DatabaseError as err:
        return [str(err)]
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found
