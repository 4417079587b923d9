"""What this run covers: `--stage` / `--job` selection and the `when` conditions of each stage.

Pure functions: the branch, environment and variables are inputs, so the rules are tested directly.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from cicd.config.context import PipelineContext, StageSpec
from cicd.config.models import When
from cicd.errors import PipelineError


def select(
    context: PipelineContext, stages: Sequence[str] = (), jobs: Sequence[str] = ()
) -> tuple[StageSpec, ...]:
    """The stages to run: all of them, or the named stages plus the stages of the named jobs (only those
    jobs). Dependencies on stages left out are treated as satisfied. Unknown names raise PipelineError."""
    if not stages and not jobs:
        return context.stages
    stage_names = [stage.name for stage in context.stages]
    job_names = [job.name for job in context.jobs]
    _check_known("stage", stages, stage_names)
    _check_known("job", jobs, job_names)
    chosen = []
    for stage in context.stages:
        if stage.name in stages:
            chosen.append(stage)
        elif any(job.name in jobs for job in stage.jobs):
            chosen.append(replace(stage, jobs=tuple(job for job in stage.jobs if job.name in jobs)))
    return tuple(chosen)


def _check_known(kind: str, asked: Sequence[str], known: Sequence[str]) -> None:
    unknown = [name for name in asked if name not in known]
    if unknown:
        raise PipelineError(
            f"unknown {kind} '{unknown[0]}'", hint=f"valid {kind}s: {', '.join(known) or '(none)'}"
        )


def as_text(value: object) -> str:
    """Condition values compare as the text a command would see in its environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def skip_reason(
    when: When | None, *, branch: str | None, environment: str | None, variables: Mapping[str, str]
) -> str | None:
    """Why a stage's `when` does not hold (None when it runs); every condition given must match."""
    if when is None:
        return None
    if when.branches:
        patterns = ", ".join(when.branches)
        if branch is None:
            return f"branch unknown; runs only on {patterns} (pass --branch)"
        if not any(fnmatch.fnmatchcase(branch, pattern) for pattern in when.branches):
            return f"branch '{branch}' does not match {patterns}"
    if when.environments and environment not in when.environments:
        return f"environment '{environment or 'none'}' is not {' or '.join(when.environments)}"
    for name, expected in when.variables.items():
        actual = variables.get(name)
        if actual != as_text(expected):
            shown = "unset" if actual is None else f"'{actual}'"
            return f"variable {name} is {shown}, needs '{as_text(expected)}'"
    return None


def condition_skips(
    stages: Sequence[StageSpec], *, branch: str | None, environment: str | None, variables: Mapping[str, str]
) -> dict[str, str]:
    """Stage name -> reason, for the stages whose `when` does not hold."""
    reasons = {
        stage.name: skip_reason(stage.when, branch=branch, environment=environment, variables=variables)
        for stage in stages
    }
    return {name: reason for name, reason in reasons.items() if reason is not None}


def needs_branch(stages: Sequence[StageSpec]) -> bool:
    return any(stage.when is not None and stage.when.branches for stage in stages)


def detect_branch(explicit: str | None, workdir: Path) -> str | None:
    """--branch, else the branch GitHub Actions names (the PR's head branch first), else git's."""
    if explicit:
        return explicit
    for variable in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    name = out.stdout.strip()
    return name if out.returncode == 0 and name and name != "HEAD" else None  # HEAD: a detached checkout
