"""Raw config models: they mirror the YAML files, unknown keys forbidden.

Runtime code does not use these directly; it uses the frozen context derived from them
(see cicd.config.context). Defaults come from the product's data contract: job timeout 600 s,
pipeline timeout 3600 s, retry 0.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from cicd.config.deploy import DeploySettings
from cicd.config.invalid import InvalidKey
from cicd.config.supply_chain import SupplyChain

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
SecretName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
Scalar = str | int | float | bool


# Defaults of nested blocks use `partial(Model.model_construct)`: the field defaults need no checking,
# and constructing through the validator would build it, which defer_build (below) avoids.


class Strict(BaseModel):
    # strict: YAML already types its scalars, so `timeout: true` or `retry: "3"` is a mistake to report,
    # not a value to coerce. defer_build: validators are built on first use (or come from the cache in
    # cicd.config.compiled), not at import, which every cicd command would pay for.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class When(Strict):
    """A stage runs only if every given condition matches (branches are glob patterns)."""

    branches: list[str] = Field(default_factory=list)
    environments: list[str] = Field(default_factory=list)
    variables: dict[VariableName, Scalar] = Field(default_factory=dict)


class Job(Strict):
    name: Name
    command: Annotated[str, StringConstraints(min_length=1)]
    timeout: int = Field(600, ge=1, le=86_400, description="seconds before the job is killed")
    retry: int = Field(0, ge=0, le=10, description="extra attempts after a failure")
    continue_on_fail: bool = False
    artifacts: list[str] = Field(default_factory=list, description="paths or globs the job produces")


class Stage(Strict):
    name: Name
    dependencies: list[Name] = Field(default_factory=list)
    when: When | None = None
    jobs: list[Job] = Field(min_length=1)


class Rollback(Strict):
    enabled: bool = True
    strategy: Literal["previous_version", "blue_green", "canary_abort"] = "previous_version"


class Pipeline(Strict):
    name: Name
    trigger: Literal["manual", "push", "pull_request", "schedule"] = "manual"
    environment: Name | None = None
    timeout_seconds: int = Field(3600, ge=1, le=7 * 86_400)
    variables: dict[VariableName, Scalar] = Field(default_factory=dict)
    secrets: list[SecretName] = Field(default_factory=list, description="names resolved from the environment")
    stages: list[Stage] | None = None
    steps: list[Job] | None = Field(None, description="shorthand: a chain of one-job stages")
    rollback: Rollback = Field(default_factory=partial(Rollback.model_construct))

    @model_validator(mode="after")
    def _stages_or_steps(self) -> Pipeline:
        if self.stages is not None and self.steps is not None:
            raise InvalidKey("steps", "give either 'stages' or the flat 'steps' shorthand, not both")
        if self.stages is None and self.steps is None:
            raise ValueError("missing required key 'stages' (or the flat 'steps' shorthand)")
        return self


class Approval(Strict):
    """The GitHub Environment's protection, applied by `cicd github environments apply`."""

    required: bool = False
    reviewers: list[Annotated[str, StringConstraints(pattern=r"^(user|team):[0-9]+$")]] = Field(
        default_factory=list, max_length=6, description="user:ID or team:ID (GitHub's numeric ids)"
    )
    wait_timer_minutes: int = Field(0, ge=0, le=43_200)
    prevent_self_review: bool = False
    deployment_branches: Literal["main", "protected"] = Field(
        "main", description="main: only the main branch may deploy; protected: any protected branch"
    )


class Environment(Strict):
    name: Name
    type: Literal["development", "staging", "production"]
    url: str | None = None
    approval: Approval = Field(default_factory=partial(Approval.model_construct))
    lock_environment: bool = True
    secrets: list[SecretName] = Field(default_factory=list)
    deploy: DeploySettings | None = None
    supply_chain: SupplyChain | None = None
