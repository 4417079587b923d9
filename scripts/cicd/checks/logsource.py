"""Following an access log by file offset, like `tail -F`: new complete lines only, across rotation
and truncation.

`LogSource` is what verification reads. FileLogSource follows a file on this machine; the remote
variant (checks/remote.py) runs small commands through a Host. A source that cannot be read raises
LogUnavailableError: verification counts that as a broken metrics source (phase Error), apart from
failures of the application.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Protocol, runtime_checkable

from cicd.errors import CicdError

MAX_READ_BYTES = 8 * 1024 * 1024  # per read; the rest comes on the next read
ROTATED_GRACE_S = 5.0  # a rotated-away file is still read until nothing was added to it for this long


class LogUnavailableError(CicdError):
    """The access log cannot be read (missing, no permission, the host did not answer)."""


@runtime_checkable
class LogSource(Protocol):
    description: str

    def seek_end(self) -> None:
        """Follow from now on: later read_new() calls return only lines written after this call."""
        ...

    def read_new(self) -> list[str]:
        """Complete lines appended since the last call (or since seek_end)."""
        ...

    def read_recent(self, max_bytes: int) -> list[str]:
        """The last complete lines of the file, at most max_bytes of them; does not move the follower."""
        ...


class LineSplitter:
    """Bytes in, complete lines out; a trailing partial line waits for its newline."""

    def __init__(self) -> None:
        self._partial = b""

    def reset(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[str]:
        data = self._partial + data
        complete, newline, rest = data.rpartition(b"\n")
        if not newline:
            self._partial = rest
            return []
        self._partial = rest
        return complete.decode(errors="replace").split("\n")


def complete_tail_lines(data: bytes, *, from_start: bool) -> list[str]:
    """Lines of a file's tail: drop a first line cut in the middle and a last line not yet ended."""
    if not from_start:
        data = data.partition(b"\n")[2]
    complete = data.rpartition(b"\n")[0]
    return complete.decode(errors="replace").split("\n") if complete else []


class _OpenFile:
    """One opened file and how far we have read it."""

    def __init__(self, fd: int, offset: int):
        self.fd, self.offset, self.lines = fd, offset, LineSplitter()
        self.last_data = time.monotonic()

    def drain(self) -> list[str]:
        if os.fstat(self.fd).st_size < self.offset:  # truncated in place (copytruncate)
            self.offset = 0
            self.lines.reset()
        data = os.pread(self.fd, MAX_READ_BYTES, self.offset)
        self.offset += len(data)
        if data:
            self.last_data = time.monotonic()
        return self.lines.feed(data)

    def same_file_as(self, path: str) -> bool:
        try:
            current = os.stat(path)
        except FileNotFoundError:
            return True  # moved away, not recreated yet: nginx still writes to the file we hold
        opened = os.fstat(self.fd)
        return (current.st_ino, current.st_dev) == (opened.st_ino, opened.st_dev)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class FileLogSource:
    """Follows a local file. After a rotation it reads the new file at the path and keeps draining the
    rotated one until it has been quiet for ROTATED_GRACE_S, since nginx writes to the old file until
    every worker has reopened its logs."""

    def __init__(self, path: str):
        self.path = path
        self.description = f"access log {path}"
        self._current: _OpenFile | None = None
        self._rotated: _OpenFile | None = None

    def close(self) -> None:
        for opened in (self._current, self._rotated):
            if opened is not None:
                opened.close()
        self._current = self._rotated = None

    def __del__(self) -> None:
        self.close()

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDONLY)
        except FileNotFoundError as err:
            raise LogUnavailableError(f"{self.description} does not exist") from err
        except OSError as err:
            raise LogUnavailableError(f"{self.description} cannot be read: {err.strerror}") from err

    def seek_end(self) -> None:
        self.close()
        fd = self._open()
        self._current = _OpenFile(fd, os.fstat(fd).st_size)

    def _drain_rotated(self) -> list[str]:
        if self._rotated is None:
            return []
        lines = self._rotated.drain()
        if time.monotonic() - self._rotated.last_data > ROTATED_GRACE_S:
            self._rotated.close()
            self._rotated = None
        return lines

    def read_new(self) -> list[str]:
        if self._current is None:  # the log did not exist when we started: everything in it is new
            self._current = _OpenFile(self._open(), 0)
        try:
            lines = self._drain_rotated() + self._current.drain()
            if not self._current.same_file_as(self.path):
                if self._rotated is not None:
                    self._rotated.close()
                self._rotated, self._current = self._current, _OpenFile(self._open(), 0)
                lines += self._current.drain()
        except OSError as err:
            raise LogUnavailableError(f"{self.description} cannot be read: {err.strerror}") from err
        return lines

    def read_recent(self, max_bytes: int) -> list[str]:
        fd = self._open()
        try:
            size = os.fstat(fd).st_size
            start = max(0, size - max_bytes)
            return complete_tail_lines(os.pread(fd, size - start, start), from_start=start == 0)
        except OSError as err:
            raise LogUnavailableError(f"{self.description} cannot be read: {err.strerror}") from err
        finally:
            os.close(fd)
