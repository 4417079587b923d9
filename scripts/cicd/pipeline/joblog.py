"""A job's log: capped on disk, keeping the tail; and reading only the tail back for display.

A job that prints without end must not fill the disk, and a failure shows at the end of the log, so
when the file would pass its limit its older half is dropped (at a line boundary) and one line at the
top says how much went. Reading a tail seeks from the end: a 200 MB log costs a few kilobytes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

DEFAULT_LOG_LIMIT_BYTES = 16 * 1024 * 1024
TAIL_READ_LIMIT_BYTES = 256 * 1024


class CappedLog:
    """Text written to `path`, at most `limit` bytes on disk; writes from several threads are whole.

    A write that fails (disk full, file removed from under us) does not stop the job: the log stops,
    and `error` says why, so the step can report it.
    """

    def __init__(self, path: Path, limit: int = DEFAULT_LOG_LIMIT_BYTES):
        self.path = path
        self.error: OSError | None = None
        self._limit = max(limit, 1024)
        self._lock = threading.Lock()
        self._file = path.open("wb")
        self._size = 0  # bytes in the file now
        self._dropped = 0  # bytes of output no longer in the file
        self._notice_length = 0  # the line at the top saying so
        self._ends_line = True

    def write(self, text: str) -> None:
        if not text:
            return
        data = text.encode("utf-8", "replace")
        with self._lock:
            if self.error is not None or self._file.closed:
                return
            try:
                self._file.write(data)
                self._file.flush()
                self._size += len(data)
                self._ends_line = data.endswith(b"\n")
                if self._size > self._limit:
                    self._cut()
            except OSError as err:
                self.error = err

    def end_line(self) -> None:
        """Finish a last line that came without its newline."""
        if not self._ends_line:
            self.write("\n")

    def _cut(self) -> None:
        """Keep the newest half of the limit, from a line start, under one line saying what went."""
        keep = self._limit // 2
        with self.path.open("rb") as current:
            current.seek(self._size - keep)
            tail = current.read()
        newline = tail.find(b"\n")
        if 0 <= newline < len(tail) - 1:
            tail = tail[newline + 1 :]
        # The previous notice line is among the dropped bytes; count only the job's output.
        self._dropped += self._size - len(tail) - self._notice_length
        notice = f"[cicd] log capped at {self._limit} bytes: the first {self._dropped} bytes were dropped\n"
        encoded = notice.encode("utf-8")
        self._notice_length = len(encoded)
        self._file.seek(0)
        self._file.write(encoded + tail)
        self._file.truncate()
        self._file.flush()
        self._size = len(encoded) + len(tail)

    def close(self) -> None:
        with self._lock:
            try:
                self._file.close()
            except OSError as err:
                self.error = self.error or err

    def __enter__(self) -> CappedLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def read_tail(path: Path, lines: int, limit: int = TAIL_READ_LIMIT_BYTES) -> list[str]:
    """The last `lines` lines of a text file, reading at most `limit` bytes from its end."""
    with path.open("rb") as log:
        size = log.seek(0, os.SEEK_END)
        start = max(0, size - limit)
        log.seek(start)
        data = log.read()
    text = data.decode("utf-8", "replace")
    found = text.splitlines()
    if start > 0 and found:
        found = found[1:]  # the first one is cut
    return found[-lines:]
