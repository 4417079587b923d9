"""The Runtime protocol: how one version of the service runs in one color slot on one host.

A runtime never decides anything about traffic; the orchestrator asks it to prepare a release, start it
in a slot, say whether it still runs, show its last log lines, stop it, and prune old releases. Every
effect goes through the `Host` it is given (hosts/base.py), so the same runtime works on this machine
(LocalHost) and over SSH (SSHHost).

Implementations: runtimes/process.py (a supervised command with a port) and runtimes/docker.py (any
Docker Engine API). Both are built from the `deploy.runtime` block by `runtimes.build_runtime`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from cicd.hosts.base import Host

if TYPE_CHECKING:
    from cicd.deploy.runtimes.artifact import Artifact

Color = Literal["blue", "green"]
COLORS: tuple[Color, Color] = ("blue", "green")

# Versions reach argv items, file names and container tags: a safe charset only (like a Docker tag).
# \Z, not $: `$` also matches before a trailing newline, and "1.0\n" must not pass (see cicd.inputs).
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\Z")


def other_color(color: Color) -> Color:
    return "green" if color == "blue" else "blue"


@dataclass(frozen=True)
class Slot:
    """One color on one host: where a version runs and which port nginx sends its traffic to."""

    color: Color
    port: int
    address: str = "127.0.0.1"

    @property
    def upstream(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class Release:
    """A version to run. `artifact` is a directory or .tar.gz (process) or an image reference (docker);
    None means the runtime's default (the configured image tagged with the version, or the sample
    service directory for the process runtime)."""

    version: str
    artifact: str | None = None
    # Extra environment for the started version (never secrets values in logs: names resolved at start).
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlotStatus:
    """What a runtime reports about a slot; `version` is None when nothing (of ours) runs there."""

    color: Color
    running: bool
    version: str | None = None
    detail: str = ""
    restarts: int = 0  # times the supervisor restarted a crashed command since the slot started


@runtime_checkable
class Runtime(Protocol):
    kind: str

    def check_artifact(self, release: Release) -> Artifact | None:
        """Check on the deploying machine what `prepare` will ship, before any hook runs and in a dry
        run (the process runtime's artifact.Artifact, with its digest); None where nothing is local."""
        ...

    def prepared_digest(self, host: Host, version: str) -> str | None:
        """The content digest of `version` as prepared on the host; None when it is not prepared."""
        ...

    def prepare(self, host: Host, release: Release, *, rebuild: bool = False) -> str | None:
        """Make the release runnable on the host (copy/extract an artifact, pull or check an image) and
        return its content digest. Idempotent for the same content; the same version with another
        digest raises DeploymentError naming both, unless `rebuild`."""
        ...

    def start(self, host: Host, slot: Slot, release: Release) -> None:
        """Start the release in the slot, detached from this process. The slot must be stopped first;
        a port held by anything else raises DeploymentError naming the port and the color."""
        ...

    def stop(self, host: Host, slot: Slot, *, grace_seconds: float = 10.0) -> None:
        """Stop whatever of ours runs in the slot: graceful signal, then kill after the grace.
        Stopping an empty slot is a no-op."""
        ...

    def status(self, host: Host, slot: Slot) -> SlotStatus:
        """Whether the slot runs, and which version (from the runtime's own record on the host)."""
        ...

    def logs(self, host: Host, slot: Slot, lines: int = 40) -> str:
        """The slot's last log lines (for 'failed to become healthy' diagnosis); '' when none."""
        ...

    def releases(self, host: Host) -> list[str]:
        """Versions prepared on the host, oldest first."""
        ...

    def remove_release(self, host: Host, version: str) -> None:
        """Delete a prepared release (pruning). Never called for a running or last-known-good one."""
        ...
