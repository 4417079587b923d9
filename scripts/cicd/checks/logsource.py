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
from typing import Protocol, runtime_checkable

from cicd.errors import CicdError

MAX_READ_BYTES = 8 * 1024 * 1024  # per read; the rest comes on the next read


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


class FileLogSource:
    """Follows a local file. Keeps the file open, so lines nginx writes to a rotated-away file before it
    reopens its logs are still read; then moves to the new file at the path."""

    def __init__(self, path: str):
        self.path = path
        self.description = f"access log {path}"
        self._fd: int | None = None
        self._offset = 0
        self._lines = LineSplitter()

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None

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
        self._fd = self._open()
        self._offset = os.fstat(self._fd).st_size
        self._lines.reset()

    def _drain(self) -> list[str]:
        assert self._fd is not None
        if os.fstat(self._fd).st_size < self._offset:  # truncated in place (copytruncate)
            self._offset = 0
            self._lines.reset()
        data = os.pread(self._fd, MAX_READ_BYTES, self._offset)
        self._offset += len(data)
        return self._lines.feed(data)

    def _rotated(self) -> bool:
        assert self._fd is not None
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return False  # moved away, not recreated yet: nginx still writes to the file we hold
        opened = os.fstat(self._fd)
        return (current.st_ino, current.st_dev) != (opened.st_ino, opened.st_dev)

    def read_new(self) -> list[str]:
        if self._fd is None:  # the log did not exist when we started: everything in it is new
            self._fd = self._open()
            self._offset = 0
            self._lines.reset()
        try:
            lines = self._drain()
            if self._rotated():
                self.close()
                self._fd = self._open()
                self._offset = 0
                self._lines.reset()
                lines += self._drain()
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
