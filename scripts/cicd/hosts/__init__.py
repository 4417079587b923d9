"""Where commands run: `local` (this machine) and `ssh` (OpenSSH). Built from `deploy.hosts`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cicd.config.deploy import HostSpec
    from cicd.hosts.base import Host


def build_host(spec: HostSpec, *, base_dir: str | None = None) -> Host:
    """A Host for one `deploy.hosts` entry; local hosts resolve relative paths against base_dir."""
    if spec.transport == "local":
        from cicd.hosts.local import LocalHost

        return LocalHost(spec.name, spec.address, cwd=base_dir)
    from cicd.hosts.ssh import SSHHost  # built by the remote part

    return SSHHost(spec)
