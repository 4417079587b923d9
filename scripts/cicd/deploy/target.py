"""The deploy target of an environment, resolved from config: hosts, runtime, router and slots."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cicd.config.context import EnvironmentContext
from cicd.deploy.routers import build_router
from cicd.deploy.routers.base import Router
from cicd.deploy.runtimes import build_runtime
from cicd.deploy.runtimes.base import COLORS, Color, Runtime, Slot
from cicd.errors import DeploymentError
from cicd.hosts import build_host
from cicd.hosts.base import Host

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import DeploySettings


@dataclass
class Target:
    environment: str
    settings: DeploySettings
    hosts: list[Host]
    runtime: Runtime
    router: Router
    base_dir: str
    url: str | None = None
    environment_type: str = "staging"  # development | staging | production (policy defaults)

    @property
    def on_inconclusive(self) -> str:
        """What an Inconclusive verification does here: the setting, else pause on production."""
        chosen = self.settings.verification.on_inconclusive
        return chosen or ("pause" if self.environment_type == "production" else "keep")

    @property
    def primary(self) -> Host:
        """History, ledger and lock live on the primary host, where every runner sees the same truth."""
        return self.hosts[0]

    def slot(self, color: Color) -> Slot:
        return Slot(color, getattr(self.settings.colors, color).port)

    def slots(self) -> dict[Color, Slot]:
        return {color: self.slot(color) for color in COLORS}

    # The warm record lives on the target beside the router config: which color is kept up, until when.
    def _warm_path(self, host: Host) -> str:
        return os.path.join(self.router.prefix(host), "warm.json")

    def read_warm(self, host: Host) -> dict | None:
        raw = host.get(self._warm_path(host))
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def write_warm(self, host: Host, color: Color, version: str | None, seconds: float) -> float:
        until = time.time() + seconds
        record = {"color": color, "version": version, "until": until}
        host.put(self._warm_path(host), json.dumps(record).encode())
        return until

    def clear_warm(self, host: Host) -> None:
        host.run(["rm", "-f", self._warm_path(host)], check=False)


def build_target(env: EnvironmentContext, *, base_dir: str) -> Target:
    if env.deploy is None:
        raise DeploymentError(
            f"environment {env.name} has no deploy block: add `deploy:` to {env.source or 'its file'}"
        )
    settings = env.deploy
    hosts = [build_host(spec, base_dir=base_dir) for spec in settings.hosts]
    runtime = build_runtime(settings.runtime, environment=env.name, base_dir=base_dir)
    router = build_router(settings.router, environment=env.name)
    return Target(env.name, settings, hosts, runtime, router, base_dir, env.url, env.type)
