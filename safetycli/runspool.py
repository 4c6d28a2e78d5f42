"""A report's runs kept on disk as they are made, so a season's report holds one run at a time.

The report opens with what only the last run settles (the counts, every exception), and lists
the runs after it: held in a list, a season's 4,500 runs were a quarter of the report's memory.
`RunSpool` takes each run as `build_report` makes it (`append`), writes it (pickled, with its
length before it) to an unnamed private temporary file (created 0600 and unlinked at once on
Linux: no other process can name it, and it is gone when the process ends, however it ends), and
hands them back in order each time it is iterated, as a list would. The renderers take it or a
list alike (`render/report.py`); their output is the same.

Pickle rather than JSON lines: a run comes back exactly as made (tuples, key order), and it is
several times faster both ways (JSON cost a season's report 0.3 s). Only this process ever wrote
the file, so reading it back trusts nothing it did not write itself.
"""

from __future__ import annotations

import os
import pickle
import struct
import tempfile
from collections.abc import Iterator
from typing import Any

_CHUNK = 1 << 16
_LENGTH = struct.Struct("<Q")


class RunSpool:
    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile("w+b")
        self._size = 0
        self._count = 0
        # Each run's start, for the page's time-zone line (render.report.zone_line).
        self.started: list[str | None] = []

    def append(self, run: dict[str, Any]) -> None:
        body = pickle.dumps(run, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.write(_LENGTH.pack(len(body)) + body)
        self._size += _LENGTH.size + len(body)
        self._count += 1
        self.started.append(run.get("started_at"))

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The runs in the order appended; each iteration reads the file afresh from its own
        position (`pread`), so two at once do not disturb each other."""
        self._file.flush()
        fd = self._file.fileno()
        offset, held = 0, b""
        while offset < self._size or held:
            if offset < self._size and len(held) < _CHUNK:
                chunk = os.pread(fd, min(_CHUNK, self._size - offset), offset)
                if not chunk:
                    raise OSError("the report's temporary file was cut short")
                offset += len(chunk)
                held += chunk
                continue
            (length,) = _LENGTH.unpack_from(held)
            end = _LENGTH.size + length
            while len(held) < end:  # a run longer than what is held: read the rest of it
                chunk = os.pread(fd, min(end - len(held), self._size - offset), offset)
                if not chunk:
                    raise OSError("the report's temporary file was cut short")
                offset += len(chunk)
                held += chunk
            yield pickle.loads(held[_LENGTH.size : end])
            held = held[end:]

    def close(self) -> None:
        self._file.close()
