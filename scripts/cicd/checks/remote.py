"""The gates on a remote target: follow its access log and probe its loopback listeners through the
Host seam (small argv commands over SSH, outputs parsed by pure functions).

HostLogSource keeps (inode, offset) between reads; a changed inode (rotation) or a shorter file
(truncation) restarts at offset 0 of the current file. Unlike FileLogSource it cannot read lines nginx
wrote to a rotated-away file after our last read; rotation during a verification window is rare.
"""

from __future__ import annotations

from dataclasses import dataclass

from cicd.checks.http import BODY_EXCERPT_BYTES, USER_AGENT, Prober, ProbeResult
from cicd.checks.logsource import (
    MAX_READ_BYTES,
    LineSplitter,
    LogSource,
    LogUnavailableError,
    complete_tail_lines,
)
from cicd.errors import HostError
from cicd.hosts.base import Host

# Values reach the script as positional parameters ($1 path, $2 first byte, $3 byte count), never
# pasted into it.
READ_SCRIPT = 'stat -L -c "%i %s" -- "$1" && tail -c +"$2" -- "$1" | head -c "$3"'
CURL_ERRORS = {6: "cannot resolve host", 7: "connection refused", 28: "timed out", 52: "empty reply",
               56: "connection reset"}  # fmt: skip


@dataclass(frozen=True)
class LogChunk:
    inode: int
    size: int
    data: bytes


def read_argv(path: str, offset: int, max_bytes: int = MAX_READ_BYTES) -> list[str]:
    return ["sh", "-c", READ_SCRIPT, "cicd-log", path, str(offset + 1), str(max_bytes)]


def parse_read_output(stdout: str) -> LogChunk:
    """`<inode> <size>\\n<data>` -> LogChunk; ValueError when the first line is not two numbers."""
    head, _, data = stdout.partition("\n")
    inode, size = head.split()
    return LogChunk(int(inode), int(size), data.encode())


class HostLogSource:
    def __init__(self, host: Host, path: str):
        self.host, self.path = host, path
        self.description = f"access log {path} on {host.name}"
        self._inode: int | None = None
        self._offset = 0
        self._lines = LineSplitter()

    def _read(self, offset: int, max_bytes: int = MAX_READ_BYTES) -> LogChunk:
        try:
            result = self.host.run(read_argv(self.path, offset, max_bytes), check=False, timeout=15)
        except HostError as err:
            raise LogUnavailableError(f"{self.description} cannot be read: {err}") from err
        if not result.ok:
            missing = "No such file" in result.stderr
            detail = "does not exist" if missing else f"cannot be read: {result.stderr.strip()[:200]}"
            raise LogUnavailableError(f"{self.description} {detail}")
        try:
            return parse_read_output(result.stdout)
        except ValueError as err:
            raise LogUnavailableError(f"{self.description}: unexpected output from stat") from err

    def seek_end(self) -> None:
        chunk = self._read(0, 0)
        self._inode, self._offset = chunk.inode, chunk.size
        self._lines.reset()

    def read_new(self) -> list[str]:
        chunk = self._read(self._offset)
        if self._inode is None:  # the log did not exist at seek_end: everything in it is new
            self._inode = chunk.inode
        elif chunk.inode != self._inode or chunk.size < self._offset:  # rotated or truncated
            self._lines.reset()
            self._inode, self._offset = chunk.inode, 0
            chunk = self._read(0)
        self._offset += len(chunk.data)
        return self._lines.feed(chunk.data)

    def read_recent(self, max_bytes: int) -> list[str]:
        chunk = self._read(0, 0)
        start = max(0, chunk.size - max_bytes)
        data = self._read(start, chunk.size - start).data
        return complete_tail_lines(data, from_start=start == 0)


def log_source_for(host: Host, path: str) -> LogSource:
    """A file source on this machine, a command-based one on any other host: the host's choice."""
    return host.log_source(path)


def curl_argv(url: str, *, method: str, host_header: str | None, timeout: float) -> list[str]:
    argv = ["curl", "-sS", "--max-time", f"{timeout:g}", "-A", USER_AGENT, "-o", "-",
            "-w", "\n%{http_code} %{time_total}"]  # fmt: skip
    argv += ["--head"] if method == "HEAD" else ["-X", method]
    if host_header:
        argv += ["-H", f"Host: {host_header}"]
    return [*argv, "--", url]


def parse_curl_output(url: str, stdout: str, stderr: str, returncode: int, timeout: float,
                      body_limit: int = BODY_EXCERPT_BYTES) -> ProbeResult:  # fmt: skip
    body, _, trailer = stdout.rpartition("\n")
    code, _, seconds = trailer.partition(" ")
    latency_ms = float(seconds) * 1000 if seconds.replace(".", "", 1).isdigit() else 0.0
    if returncode == 0 and code.isdigit() and code != "000":
        return ProbeResult(url, int(code), latency_ms, body_excerpt=body[:body_limit])
    error = CURL_ERRORS.get(returncode) or (stderr.strip().splitlines() or [f"curl exit {returncode}"])[-1]
    if returncode == 28:
        error = f"timed out after {timeout:g} s"
    return ProbeResult(url, None, latency_ms, error=error)


def curl_prober(host: Host) -> Prober:
    """A prober that runs curl on `host` (for listeners only reachable there): SSHHost.probe."""

    def remote_probe(url: str, *, method: str = "GET", host_header: str | None = None, timeout: float = 2.0,
                     body_limit: int = BODY_EXCERPT_BYTES) -> ProbeResult:  # fmt: skip
        argv = curl_argv(url, method=method, host_header=host_header, timeout=timeout)
        try:
            result = host.run(argv, check=False, timeout=timeout + 10)
        except HostError as err:
            return ProbeResult(url, None, 0.0, error=f"probe from {host.name} failed: {err}")
        return parse_curl_output(url, result.stdout, result.stderr, result.returncode, timeout, body_limit)

    return remote_probe
