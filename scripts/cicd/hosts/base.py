"""The one seam for effects on a machine: run a command, put a file, get a file.

Core code builds commands as argv lists (never shell strings with values pasted in); a Host executes
them. LocalHost runs them here, SSHHost runs them over OpenSSH. Reading remote state is a command plus
a pure parser, so parsers are tested on recorded output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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
