"""`verify` beyond the chain: the file's own structure, what the roster's events mean, and the
stored credentials against the fingerprints the log gave them. Each problem names its event.

The chain answers "was anything edited after it was written?". These answer the questions an
investigator asks next: was every roster change approved by someone allowed to make it
(rostercheck.py), does every stored PIN hash belong to the event that set it (a swapped row in
`credentials.db` lets someone sign as another), and does SQLite agree the file is whole (an index
rebuilt without some rows hides a hold from every query that uses it, while the chain, read in
seq order, still holds).
"""

from __future__ import annotations

import hmac
import sqlite3
import threading
from pathlib import Path

from safetycli import custodycheck, rostermerge
from safetycli.credentials import fingerprint
from safetycli.events import ARMORY_KINDS
from safetycli.ledger import Ledger
from safetycli.recovery import KEY as RECOVERY_KEY
from safetycli.rostercheck import LEGACY_WINDOW, RosterAudit, describe
from safetycli.storage import LogDamaged, Problem


class AuditBeside(threading.Thread):
    """The meaning checks (`meaning`) on a ledger of their own, in a thread, while the chain is
    scanned. On a long log the scan runs in worker processes and this process only waits for
    them; the roster, credentials, run-status and armory checks (about 0.4 s at a million
    events) are done meanwhile instead of after. `result` gives exactly what `audit` would: the
    same problems in the same order, and when this thread could not open or read the log at
    all, `audit` itself is run on the caller's ledger."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.found: list[Problem] | None = None  # None: not done here (the caller runs audit)
        self.unreadable: str | None = None  # SQLite's words when the log could not be read
        self.damaged = False

    def run(self) -> None:
        try:
            with Ledger.open(self.path, create=False) as ledger:
                try:
                    self.found = meaning(ledger)
                except sqlite3.DatabaseError as err:
                    self.unreadable, self.found = str(err), []
                except LogDamaged:
                    self.damaged, self.found = True, []
        except Exception:  # noqa: BLE001 - not opened here: the caller audits as before
            self.found = None

    def result(self, ledger: Ledger, integrity: list[str]) -> list[Problem]:
        self.join()
        if self.found is None:
            return audit(ledger, integrity)
        if self.unreadable is not None:
            return [_unreadable(self.unreadable)]
        if self.damaged:
            return []
        return [*_structure(integrity), *self.found]


def audit(ledger: Ledger, integrity: list[str] | None = None) -> list[Problem]:
    """Every problem found; a file too damaged to read is one problem, not a crash.
    `integrity`: what verify's structure check already found (else the check runs here)."""
    try:
        return [
            *_structure(ledger.integrity() if integrity is None else integrity),
            *meaning(ledger),
        ]
    except sqlite3.DatabaseError as err:
        return [_unreadable(str(err))]
    except LogDamaged:
        return []  # an edited row: the chain's own verdict names it first


def _unreadable(err: str) -> Problem:
    return Problem(None, f"the log cannot be read to check what it says (SQLite: {err})")


def _structure(integrity: list[str]) -> list[Problem]:
    return [
        Problem(None, f"the log file's structure is damaged (SQLite: {line})") for line in integrity
    ]


_CUSTODY = frozenset(ARMORY_KINDS)


def meaning(ledger: Ledger) -> list[Problem]:
    """What the roster's events mean, the credentials they set, and the derived tables against
    the log. Raises what reading the log raises (`audit` turns it into its verdict)."""
    problems: list[Problem] = []
    roster = RosterAudit(ledger.keyed_at)
    # Each custody event against its PIN proofs, and the roster as it stood then (custodycheck);
    # the same read feeds the armory checkpoint's check (custodyview.py): one pass, not two.
    checkpoint = ledger.custody_view_check()
    custody = custodycheck.over(ledger, roster.holds, checkpoint.feed if checkpoint else None)
    # The roster as this laptop uses it: its own events with those of the production's other
    # laptops it pulled (rostermerge.py); problems are named for this laptop's own events.
    for event in rostermerge.stream(ledger, ARMORY_KINDS, custody.local):
        if event.kind in _CUSTODY:
            problem = custody.check(event)
            if problem is not None:
                seq = None if event.device is not None else event.seq
                problems.append(Problem(seq, custodycheck.describe(event, problem)))
            continue
        problem = roster.feed(event, rostermerge.window(ledger, event, LEGACY_WINDOW))
        if event.device is not None:
            if problem is not None:
                problems.append(Problem(None, f"device {event.device} " + describe(event, problem)))
            continue
        # Each roster event's own MAC too: the head's MAC vouches for the chain's content, but a
        # roster event is what commands act on, and verify should say so when its MAC is wrong.
        problem = problem or ledger.seal_problem(event.seq)
        if problem is not None:
            problems.append(Problem(event.seq, describe(event, problem)))
    for wanted in roster.credentials(RECOVERY_KEY):
        who = "the recovery code" if wanted.key == RECOVERY_KEY else wanted.key
        stored = ledger.credential(wanted.key, wanted.fingerprint)
        if stored is None:
            problems.append(
                Problem(
                    wanted.seq,
                    f"event {wanted.seq}: credentials.db holds no PIN hash for {who} with the "
                    "fingerprint this event set (lost, or replaced behind the log's back)",
                )
            )
        elif not hmac.compare_digest(fingerprint(stored), wanted.fingerprint):
            problems.append(
                Problem(
                    wanted.seq,
                    f"event {wanted.seq}: the PIN hash stored for {who} is not the one this event "
                    "set (swapped in credentials.db)",
                )
            )
    # The run-status projection (runview.py) is derived data: it must be the log's own fold.
    # An edit to it (a hold made to look cleared in `log list`) is named here, run by run.
    for line in ledger.run_view_problems(checkpoint):
        problems.append(Problem(None, line))
    return problems
