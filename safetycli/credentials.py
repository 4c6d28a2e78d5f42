"""PIN hashes, kept in their own file beside the log: `credentials.db`, 0600.

The log is evidence: `verify` tells people to copy it, reports anchor it, it will be synced to a
central store. Whatever it holds leaves the laptop. A salted scrypt hash of a 4-digit PIN falls to
an offline guess in minutes, so the hashes must never travel with it: they live in this second
file, which nothing exports.

Two files cannot change in one transaction, so the order of writes is what keeps them agreeing.
A row is keyed by (person, fingerprint), and the fingerprint the log recorded last for a person
selects their row. A new credential is inserted, durably, *before* the event that names its
fingerprint is appended: a crash between the two leaves an unused row and the old PIN still in
force, never an event whose credential is missing. Rows whose fingerprint the log has since
replaced are deleted after the new event lands (`forget`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from safetycli.digests import sha256
from safetycli.filemodes import FILE_MODE, create_private_file, tighten

FILENAME = "credentials.db"
BUSY_TIMEOUT_S = 15.0

_SCHEMA = """CREATE TABLE IF NOT EXISTS credentials (
    person TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    secret TEXT NOT NULL,
    PRIMARY KEY (person, fingerprint)
)"""


def fingerprint(encoded: str) -> str:
    """What the log keeps of a stored PIN hash: enough to notice a swap and to select the row,
    nothing to guess with (it hashes the salt too, and the salt is not in the log)."""
    return sha256(encoded.encode("utf-8")).hexdigest()[:16]


class CredentialStore:
    """The workspace's `credentials.db`. Opened on first use and only then created: reading a
    workspace that has no crew yet leaves no file behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        if not self.path.exists():
            if not create:
                return None
            create_private_file(self.path)
        tighten(self.path, FILE_MODE)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        # A rollback journal, fsynced: a credential is durable before its event is written.
        db.execute("PRAGMA synchronous = FULL")
        # Overwrite what is deleted: a superseded hash must not linger in free pages.
        db.execute("PRAGMA secure_delete = ON")
        db.execute(_SCHEMA)
        self._db = db
        return db

    def put(self, person: str, secret: str) -> str:
        """Store a PIN hash for `person`; durable when this returns. Returns its fingerprint,
        the key the log's event must carry for this row to be used."""
        return self.put_many([(person, secret)])[0]

    def put_many(self, rows: Iterable[tuple[str, str]]) -> list[str]:
        db = self._connect(create=True)
        assert db is not None
        keyed = [(person, fingerprint(secret), secret) for person, secret in rows]
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO credentials (person, fingerprint, secret) VALUES (?, ?, ?)",
                keyed,
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return [fp for _, fp, _ in keyed]

    def get(self, person: str, fp: str) -> str | None:
        """The hash the log's fingerprint `fp` selects for `person`; None when there is none."""
        db = self._connect(create=False)
        if db is None:
            return None
        row = db.execute(
            "SELECT secret FROM credentials WHERE person = ? AND fingerprint = ?", (person, fp)
        ).fetchone()
        return row[0] if row else None

    def forget(self, person: str, fingerprints: Iterable[str]) -> None:
        """Delete `person`'s rows with these fingerprints: ones the log has replaced, which can
        never be selected again and would only hand out an old PIN to whoever copies the file."""
        fps = [fp for fp in fingerprints if fp]
        db = self._connect(create=False)
        if db is None or not fps:
            return
        marks = ",".join("?" * len(fps))
        db.execute(
            f"DELETE FROM credentials WHERE person = ? AND fingerprint IN ({marks})", (person, *fps)
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
