"""The chain scan of `verify`: every row of a range of the log numbered in turn, linked to the
row before and its hash recomputed from the canonical event. `Ledger.verify` runs it in this
process or in worker processes (`python -P -c`, one range each) and joins their answers.

A module of its own, importing the standard library only, so a worker starts in about half the
time (it imported the whole ledger, with its migrations, views and device keys, for this one
loop): that start is on the critical path of every long verify. The canonical text below is
`ledger._event_text`, inlined: every test that verifies an intact log holds the two to the
same bytes.

The same scan compiled (`native/chainscan.c`, built by hatch_build.py where a C compiler, SQLite
and OpenSSL are at hand) takes the worker's place: the same arguments and lines, about a fifth of
the time; given a key (`--sums`) it also sums the index entries its rows must have, for verify's
structure check (structcheck.py), which runs the same program on the indexes. It answers only
for a range whose every row holds and is of the types safetycli writes; for anything else it
answers nothing, and verify scans in Python, which names the event.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

# verify reads in batches: memory stays flat however long the log grows.
VERIFY_BATCH = 1_000
# The columns a scanned row is read in: `ledger._SELECT`'s (a test holds them equal).
SELECT = "SELECT seq, at, kind, run, person, data, prev_hash, hash FROM events"
# The compiled scan's source; its program is named after the source's digest (native_helper).
NATIVE_SOURCE = Path(__file__).resolve().parent / "native" / "chainscan.c"
# SAFETYCLI_NATIVE=0: verify scans in Python even where the compiled scan is built (benchmarks).
NATIVE_SWITCH = "SAFETYCLI_NATIVE"


def native_name(source: bytes) -> str:
    """The program built from this source: a source edited since the build names another
    program, so a stale build is never run."""
    return f"chainscan-{hashlib.sha256(source).hexdigest()[:16]}"


def native_helper() -> Path | None:
    """The compiled scan built from this very source, or None: never built (no compiler at
    install), built from another version of the source, or switched off."""
    if os.environ.get(NATIVE_SWITCH) == "0":
        return None
    try:
        program = NATIVE_SOURCE.with_name(native_name(NATIVE_SOURCE.read_bytes()))
    except OSError:
        return None
    return program if program.is_file() and os.access(program, os.X_OK) else None


@dataclass
class Span:
    """What one pass over a range of sequence numbers found. The first row's number and link are
    judged by `ledger._join`, which knows where the range before it ended."""

    first_seq: int | None = None
    first_prev: str | None = None
    count: int = 0  # rows that hold, from the first one
    last_seq: int = 0
    last_hash: str | None = None
    bad_seq: int | None = None
    reason: str | None = None
    match: int | None = None  # first seq whose hash starts with the expected head (no SEQ given)
    # The compiled scan with a key (structcheck.py): per index of events (run, person, kind),
    # [entries the range's rows must have there, and two keyed sums over them]. None: not asked,
    # or the Python scan, which never gives them (verify then runs SQLite's full check).
    sums: list[list[int]] | None = None


@dataclass(frozen=True)
class RowSums:
    """What the compiled scan summed over the rows it read: the last event it covered and, per
    index of events, the entries those rows must have there (count, two keyed sums)."""

    last_seq: int
    sums: list[list[int]]


def joined_sums(spans: list[Span]) -> list[list[int]] | None:
    """The sums of consecutive ranges added up (counts, and each keyed sum modulo 2^64): what one
    pass over all of them would give. None when any range has none."""
    total: list[list[int]] | None = None
    for span in spans:
        if span.sums is None:
            return None
        if total is None:
            total = [list(row) for row in span.sums]
            continue
        if len(span.sums) != len(total):
            return None
        for mine, theirs in zip(total, span.sums, strict=True):
            mine[0] += theirs[0]
            mine[1] = (mine[1] + theirs[1]) % 2**64
            mine[2] = (mine[2] + theirs[2]) % 2**64
    return total


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def batches_of(db: sqlite3.Connection, lo: int | None, hi: int | None) -> Iterator[list[Any]]:
    """Rows with lo < seq <= hi (None: no bound), in seq order and in batches.

    Text that is not UTF-8 (only a raw edit writes that) makes sqlite3 fail a whole batch; that
    batch is read again with a lenient decoder so the hash check names the exact event."""
    last = lo
    lenient = False
    try:
        while True:
            where = []
            params: list[int] = []
            if last is not None:
                where.append("seq > ?")
                params.append(last)
            if hi is not None:
                where.append("seq <= ?")
                params.append(hi)
            sql = f"{SELECT}{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY seq"
            cursor = db.execute(sql, params)
            try:
                while batch := cursor.fetchmany(VERIFY_BATCH):
                    yield batch
                    last = batch[-1][0]
                return
            except sqlite3.OperationalError as err:
                if lenient or "decode" not in str(err):
                    raise
                lenient = True
                db.text_factory = _lenient_text
    finally:
        if lenient:
            db.text_factory = str


def scan(
    db: sqlite3.Connection,
    lo: int | None,
    hi: int | None,
    prefix: str | None,
    tick: Callable[[int], None] | None,
) -> Span:
    """Check every row in the range: numbered in turn, linked to the row before, hash recomputed
    from the canonical event. Stops at the first row that does not hold."""
    span = Span()
    expected = 1 if lo is None else lo + 1
    seq = expected
    prev = ""
    count = 0
    match: int | None = None
    sha256 = hashlib.sha256
    quote = encode_basestring

    def stop(bad_seq: int, why: str) -> Span:
        span.count, span.match, span.bad_seq, span.reason = count, match, bad_seq, why
        if count:
            span.last_seq, span.last_hash = bad_seq - 1, prev
        return span

    batches = batches_of(db, lo, hi)
    try:
        for batch in batches:
            if span.first_seq is None:
                expected = span.first_seq = batch[0][0]
                prev = span.first_prev = batch[0][6]
            for seq, at, kind, run, person, data, stored_prev, digest in batch:
                if seq != expected:
                    return stop(expected, f"event {expected} is missing")
                if stored_prev != prev:
                    return stop(
                        seq,
                        f"event {seq} does not follow event {seq - 1}: one of them was inserted,"
                        " replaced or removed",
                    )
                # _event_text, inlined: this line runs once per event.
                text = (
                    f'{prev}{{"at":{quote(at)},"data":{data},"kind":{quote(kind)},'
                    f'"person":{"null" if person is None else quote(person)},'
                    f'"run":{"null" if run is None else quote(run)},"seq":{seq}}}'
                )
                if sha256(text.encode("utf-8")).hexdigest() != digest:
                    return stop(seq, f"event {seq} was altered after it was written")
                if match is None and prefix is not None and digest.startswith(prefix):
                    match = seq
                prev = digest
                expected += 1
                count += 1
            span.count, span.last_seq, span.last_hash, span.match = count, seq, prev, match
            if tick:
                tick(count)
    except (TypeError, ValueError):
        # A field of a type safetycli never writes (a blob, a number), or text that is not
        # UTF-8: only a raw edit of the file puts those there.
        return stop(seq, f"event {seq} was altered after it was written")
    except sqlite3.DatabaseError as err:
        return stop(expected, f"event {expected} cannot be read: the log file is damaged ({err})")
    finally:
        batches.close()  # puts the connection's text decoding back, whatever happened
    return span


def worker(argv: list[str]) -> None:
    """One verify worker process: check one range, print progress and the result as lines."""
    path, lo, hi, prefix, timeout_ms = argv
    db = sqlite3.connect(
        Path(path).as_uri() + "?mode=ro",
        uri=True,
        isolation_level=None,
        timeout=int(timeout_ms) / 1000,
    )
    out = sys.stdout

    def tick(done: int) -> None:
        out.write(f"p {done}\n")
        out.flush()

    span = scan(db, int(lo) if lo else None, int(hi) if hi else None, prefix or None, tick)
    out.write(f"r {json.dumps(asdict(span))}\n")
    out.flush()
