"""Frozen runtime context derived from the raw models: what the engine and deployer actually use.

The seeds' flat `steps:` form becomes a chain of one-job stages here, so nothing downstream knows
about the shorthand. Every object keeps the Location of its config key for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cicd.errors import Location

if TYPE_CHECKING:  # annotations only: cicd rollback builds this from a snapshot without pydantic
    from cicd.config.deploy import DeploySettings
    from cicd.config.models import Approval, When
    from cicd.config.supply_chain import SupplyChain


@dataclass(frozen=True)
class JobSpec:
    name: str
    stage: str
    command: str
    timeout: int
    retry: int
    continue_on_fail: bool
    artifacts: tuple[str, ...] = ()
    location: Location | None = None


@dataclass(frozen=True)
class StageSpec:
    name: str
    dependencies: tuple[str, ...]
    jobs: tuple[JobSpec, ...]
    when: When | None = None
    location: Location | None = None


@dataclass(frozen=True)
class RollbackSpec:
    enabled: bool
    strategy: str


@dataclass(frozen=True)
class PipelineContext:
    name: str
    trigger: str
    environment: str | None
    timeout_seconds: int
    variables: dict[str, str]
    secrets: tuple[str, ...]
    stages: tuple[StageSpec, ...]
    rollback: RollbackSpec
    source: str = "config/pipeline.yml"

    def stage(self, name: str) -> StageSpec:
        return next(stage for stage in self.stages if stage.name == name)

    @property
    def jobs(self) -> tuple[JobSpec, ...]:
        return tuple(job for stage in self.stages for job in stage.jobs)


@dataclass(frozen=True)
class EnvironmentContext:
    name: str
    type: str
    url: str | None
    approval: Approval
    lock_environment: bool
    secrets: tuple[str, ...]
    deploy: DeploySettings | None
    supply_chain: SupplyChain | None = None
    source: str = ""
    # Line/column of every key path in the file, e.g. "deploy.colors.blue.port" -> Location.
    locations: dict[str, Location] = field(default_factory=dict, compare=False, repr=False)
