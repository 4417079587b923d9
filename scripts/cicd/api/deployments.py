"""Deploys and rollbacks through the API: the CLI's own parser and handlers (their phase lines
captured), the outcome read back from the environment's history."""

from __future__ import annotations

import io
from collections.abc import Mapping
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from cicd.errors import CicdError, DeploymentError, RollbackError

CONFIG_DIR = Path("config")


def _cli(argv: list[str]) -> str:
    """Run a verb through the CLI's own parser and handler; return what it printed."""
    from cicd.cli import build_parser

    errors = io.StringIO()
    try:
        with redirect_stderr(errors):
            args = build_parser().parse_args(argv)
    except SystemExit as err:  # argparse's way of saying an argument is wrong
        raise ValueError(errors.getvalue().strip().splitlines()[-1]) from err
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        args.handler(args)
    return buffer.getvalue()


def _newest(config_dir: Path, environment: str, kind: str) -> Any:
    from cicd.cli.state import open_environment_state

    rows = open_environment_state(config_dir, environment).history(1, kind=kind)
    return rows[0] if rows else None


# paused: verification was Inconclusive and a person decides (cicd accept or rollback)
DEPLOY_STATUS = {
    "running": "in_progress", "paused": "in_progress", "succeeded": "completed", "failed": "failed",
    "rolled_back": "rolled_back", "aborted": "failed", "interrupted": "failed",
}


def _deployment(environment: str, row: Any) -> dict[str, Any]:
    return {"id": f"{environment}/{row.id}", "pipeline_id": row.run_id, "environment": environment,
            "artifacts": [row.artifact] if row.artifact else [],
            "status": DEPLOY_STATUS.get(row.status, "failed"),
            "start_time": row.started_at, "end_time": row.finished_at,
            "rollback_available": row.previous_version is not None, "version": row.version,
            "digest": row.digest, "phases": row.phases}


def manage_deployments(
    deployment_config: Mapping[str, Any], environment: str, *, config_dir: Path = CONFIG_DIR
) -> dict[str, Any]:
    """Deploy `deployment_config["version"]` (keys: version, artifact, strategy, reason, wait, dry_run)
    as `cicd deploy` does; returns the seeds' Deployment. Raises DeploymentError when the deploy fails
    (the previous version keeps serving; a failed verification was rolled back)."""
    unknown = set(deployment_config) - {"version", "artifact", "strategy", "reason", "wait", "dry_run"}
    if unknown or not deployment_config.get("version"):
        raise ValueError(f"deployment_config needs a version; unknown keys: {sorted(unknown) or 'none'}")
    argv = ["deploy", "--env", environment, "--config-dir", str(config_dir),
            "--version", str(deployment_config["version"])]
    for key in ("artifact", "strategy", "reason"):
        if deployment_config.get(key):
            argv += [f"--{key}", str(deployment_config[key])]
    flags = (("wait", "--wait"), ("dry_run", "--dry-run"))
    argv += [flag for key, flag in flags if deployment_config.get(key)]
    try:
        _cli(argv)
    except DeploymentError:
        raise
    except CicdError as err:
        raise DeploymentError(f"deploy of {deployment_config['version']} to {environment}: {err}") from err
    if deployment_config.get("dry_run"):
        return {"id": None, "pipeline_id": None, "environment": environment, "artifacts": [],
                "status": "pending", "start_time": None, "end_time": None, "rollback_available": False,
                "version": deployment_config["version"]}
    return _deployment(environment, _newest(Path(config_dir), environment, "deploy"))


ROLLBACK_STRATEGIES = {"immediate": "immediate", "blue-green": "blue_green", "blue_green": "blue_green"}


def handle_rollback(
    deployment_id: str,
    strategy: str = "immediate",
    *,
    reason: str | None = None,
    config_dir: Path = CONFIG_DIR,
) -> dict[str, Any]:
    """Roll the environment back from deployment `deployment_id` ("ENVIRONMENT/ID", as returned by
    manage_deployments) as `cicd rollback` does: to the warm previous color at once, else the previous
    release. Raises ValueError for an unknown strategy (gradual is not offered: a bad version should stop
    taking traffic at once) and RollbackError when that deployment is not what is live, or it fails."""
    from cicd.cli.state import open_environment_state

    if strategy not in ROLLBACK_STRATEGIES:
        raise ValueError(f"rollback strategy {strategy!r}: use immediate or blue-green")
    environment, _, number = deployment_id.partition("/")
    if not environment or not number.isdigit():
        raise ValueError(f"deployment id {deployment_id!r}: expected ENVIRONMENT/NUMBER, e.g. staging/12")
    try:
        state = open_environment_state(Path(config_dir), environment)
        row = next((d for d in state.history(10_000) if d.id == int(number)), None)
        live = state.current().current_version
        if row is None or row.version != live:
            what = "no such deployment" if row is None else f"it deployed {row.version}"
            now = live or "nothing"
            raise RollbackError(f"deployment {deployment_id} is not live ({what}; live is {now})")
        argv = ["rollback", "--env", environment, "--config-dir", str(config_dir)]
        _cli(argv + (["--reason", reason] if reason else []))
        done = state.history(1, kind="rollback")[0]
    except RollbackError:
        raise
    except CicdError as err:
        raise RollbackError(f"rollback of {deployment_id}: {err}") from err
    checks = {p["name"]: {"status": p.get("status"), "detail": p.get("detail")} for p in done.phases
              if p.get("name") in ("health", "smoke", "verify", "switch")}
    return {"rollback_id": f"{environment}/{done.id}",
            "status": "completed" if done.status == "succeeded" else "failed",
            "strategy": ROLLBACK_STRATEGIES[strategy], "execution_time": done.duration_seconds,
            "rollback_steps": done.phases,
            "verification_results": {"live_version": state.current().current_version, **checks}}
