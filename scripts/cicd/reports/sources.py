"""Where the reports read from: an environment's deploy history and current state (its state store),
the GitHub Deployments API (commit SHAs of deployed versions) and the pipeline run results on disk.
Each loader says which source it used, so a report never hides that a figure is partial."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cicd.errors import CicdError
from cicd.state.records import Deployment, DeploymentState

ALL_ROWS = 10_000_000  # history() takes a limit; a report wants every row of its window


@dataclass
class EnvironmentRecords:
    name: str
    deployments: list[Deployment] = field(default_factory=list)  # oldest first
    current: DeploymentState | None = None
    where: str | None = None
    problem: str | None = None


def environment_names(config_dir: Path) -> list[str]:
    return sorted(path.stem for path in (Path(config_dir) / "environments").glob("*.yml"))


def load_environment(config_dir: Path, name: str) -> EnvironmentRecords:
    """History and current state of one environment; `problem` says why they could not be read."""
    from cicd.cli.state import open_environment_state

    try:
        state = open_environment_state(config_dir, name)
        history = state.history(ALL_ROWS)
        current = state.current()
    except CicdError as err:
        return EnvironmentRecords(name, problem=str(err))
    return EnvironmentRecords(name, list(reversed(history)), current, where=state.where)


def github_commit_shas(environment: str) -> tuple[dict[str, str], str]:
    """version -> commit SHA of the environment's GitHub deployments, and a line saying what was used."""
    import os

    if not (os.environ.get("GITHUB_TOKEN") and os.environ.get("GITHUB_REPOSITORY")):
        return {}, "not used (GITHUB_TOKEN and GITHUB_REPOSITORY are not both set)"
    from cicd.github.client import GitHubClient

    shas: dict[str, str] = {}
    try:
        with GitHubClient.from_env(retries=1, timeout=10.0) as client:
            for deployment in client.paginate(client.repo_path("/deployments"), environment=environment):
                payload = deployment.get("payload")
                version = payload.get("version") if isinstance(payload, dict) else None
                if isinstance(version, str) and isinstance(deployment.get("sha"), str):
                    shas.setdefault(version, deployment["sha"])
    except CicdError as err:
        return {}, f"unavailable: {err}"
    repository = os.environ["GITHUB_REPOSITORY"]
    return shas, f"GitHub Deployments API of {repository}: {len(shas)} versions with their commit"


def load_runs(runs_dir: Path, pipeline: str | None = None) -> list[dict[str, Any]]:
    """Readable finished run results under runs_dir, oldest first; damaged files are skipped."""
    runs: list[dict[str, Any]] = []
    if not Path(runs_dir).is_dir():
        return runs
    for path in Path(runs_dir).glob("*/result.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        readable = isinstance(data, dict) and isinstance(data.get("steps"), list)
        if readable and (pipeline is None or data.get("name") == pipeline):
            runs.append(data)
    runs.sort(key=lambda run: str(run.get("started_at") or ""))
    return runs
