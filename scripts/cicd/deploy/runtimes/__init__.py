"""How a version runs: `process` (a supervised command) or `docker` (a Docker Engine API)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cicd.config.deploy import DockerRuntime, ProcessRuntime
    from cicd.deploy.runtimes.base import Runtime


def build_runtime(settings: ProcessRuntime | DockerRuntime, *, environment: str, base_dir: str) -> Runtime:
    """The runtime for a `deploy.runtime` block. `base_dir` resolves relative paths (the project root)."""
    if settings.kind == "process":
        from cicd.deploy.runtimes.process import ProcessRuntimeImpl

        return ProcessRuntimeImpl(settings, environment=environment, base_dir=base_dir)
    from cicd.deploy.runtimes.docker import DockerRuntimeImpl  # built by the remote/docker part

    return DockerRuntimeImpl(settings, environment=environment, base_dir=base_dir)
