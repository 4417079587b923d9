"""The one seam for effects on a machine: run a command, put a file, get a file.

Core code builds commands as argv lists (never shell strings with values pasted in); a Host executes
them. LocalHost runs them here, SSHHost runs them over OpenSSH. Reading remote state is a command plus
a pure parser, so parsers are tested on recorded output.

Callers never ask which kind of host they hold: where relative paths resolve (`resolve`), how
an HTTP listener on the host is probed (`probe`) and how a log file there is followed (`log_source`)
are the host's own business.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from cicd.checks.logsource import LogSource
    from cicd.hosts.probe import ProbeResult


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@runtime_checkable
class Host(Protocol):
    """Where commands run. `name` is the config name; `address` is what users recognise in errors."""

    name: str
    address: str
    # commands run on this machine: its files are this process's files (the state store opens them)
    local: bool

    def resolve(self, path: str) -> str:
        """`path` made absolute where relative paths resolve: the project root here, the login
        directory over ssh (an absolute path is returned as it is)."""
        ...

    def probe(
        self, url: str, *, method: str = "GET", host_header: str | None = None, timeout: float = 2.0,
        body_limit: int = 512,
    ) -> ProbeResult:  # fmt: skip
        """One HTTP request as seen from the host (its loopback listeners); never raises."""
        ...

    def log_source(self, path: str) -> LogSource:
        """A follower of the log file at `path` on the host (checks/logsource.py)."""
        ...

    def unix_request(self, path: str, data: bytes, *, timeout: float = 5.0) -> bytes:
        """Send `data` to the unix socket at `path` on the host, then read the answer to its end (an
        admin socket such as HAProxy's). Raises HostError when nothing listens there."""
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = 60.0,
        check: bool = True,
    ) -> CommandResult:
        """Run argv; with check=True a non-zero exit raises HostError naming host, command and stderr tail.
        An unreachable host or a timeout always raises HostError."""
        ...

    def put(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        """Write a file atomically (temp file + rename) on the host, creating parent directories."""
        ...

    def get(self, path: str) -> bytes | None:
        """Read a file; None when it does not exist."""
        ...


# The same exchange run by python3 on a host that is not this machine. argv: socket path; stdin: data.
UNIX_CLIENT = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "s.settimeout(float(sys.argv[2]))\n"
    "s.connect(sys.argv[1])\n"
    "s.sendall(sys.stdin.buffer.read())\n"
    "s.shutdown(socket.SHUT_WR)\n"
    "sys.stdout.buffer.write(s.makefile('rb').read())\n"
)


def unix_exchange(path: str, data: bytes, timeout: float) -> bytes:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def resolve_path(cwd: str | None, path: str) -> str:
    return os.path.join(cwd, path) if cwd and not os.path.isabs(path) else path
