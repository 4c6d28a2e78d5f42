"""A report's runs kept on disk as they are made, so a season's report holds one run at a time.

The report opens with what only the last run settles (the counts, every exception), and lists
the runs after it: held in a list, a season's 4,500 runs were a quarter of the report's memory.
`RunSpool` takes each run as `build_report` makes it (`append`), writes it as one JSON line to an
unnamed private temporary file (created 0600 and unlinked at once on Linux: gone when the
process ends, however it ends), and hands them back in order each time it is iterated, as a list
would. The renderers take it or a list alike (`render/report.py`); their output is the same.

A run's part is JSON data already (the JSON report prints it), so a line read back is the run
as made: same keys in the same order, same values.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

_CHUNK = 1 << 16


class RunSpool:
    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile("w+b")
        self._size = 0
        self._count = 0
        # Each run's start, for the page's time-zone line (render.report.zone_line).
        self.started: list[str | None] = []

    def append(self, run: dict[str, Any]) -> None:
        line = json.dumps(run, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
        self._file.write(line + b"\n")
        self._size += len(line) + 1
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
        offset, rest = 0, b""
        while offset < self._size:
            chunk = os.pread(fd, min(_CHUNK, self._size - offset), offset)
            if not chunk:
                break
            offset += len(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield json.loads(line.decode("utf-8", "surrogatepass"))
        if rest:
            yield json.loads(rest.decode("utf-8", "surrogatepass"))

    def close(self) -> None:
        self._file.close()
