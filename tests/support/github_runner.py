"""GitHub's side of a job starting on a runner, which act does not have: the job's own token and the
Environment's protection rules.

When a job starts, GitHub mints its GITHUB_TOKEN with the permissions the workflow file declares for
that job (the job's `permissions:`, else the workflow's, else the repository's default), and a job that
names a protected Environment waits, holding nothing but its place, until a required reviewer approves
or rejects it (REST: GET/POST /repos/{owner}/{repo}/actions/runs/{run_id}/pending_deployments).

Under act the harness puts one first step into every job (tests/e2e/job_setup.py) that asks the stand-in
for this through `POST /_runner/jobs` and waits on `GET /_runner/jobs/{id}`: a loopback channel between
runner and service, as the real runner has one, and not part of the REST API (so no schema applies).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

SCOPES = (
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues",
    "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses",
)
# The repository setting "Workflow permissions: Read repository contents and packages permissions",
# GitHub's default for repositories created since February 2023.
DEFAULT_PERMISSIONS = {"contents": "read", "packages": "read"}


def declared_permissions(value: Any) -> dict[str, str]:
    """A `permissions:` value as scope -> level: a mapping, read-all, write-all or {} (none at all)."""
    if value in ("read-all", "write-all"):
        return {scope: value.split("-")[0] for scope in SCOPES}
    return {str(scope): str(level) for scope, level in (value or {}).items()}


def job_permissions(workflow_file: Path, job_id: str) -> dict[str, str]:
    """The permissions GitHub gives the token of `job_id` in `workflow_file`."""
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load(workflow_file.read_text(encoding="utf-8")) or {}
    job = (workflow.get("jobs") or {}).get(job_id)
    if job is None:
        raise LookupError(f"{workflow_file.name} has no job {job_id!r}")
    for holder in (job, workflow):
        if "permissions" in holder:
            return declared_permissions(holder["permissions"])
    return dict(DEFAULT_PERMISSIONS)


def protected(environment: dict[str, Any] | None) -> bool:
    """Whether a job naming this Environment waits for a reviewer."""
    return bool(environment and (environment.get("protection") or {}).get("reviewers"))


def new_job(request: dict[str, Any], job_id: int, permissions: dict[str, str], waits: bool) -> dict[str, Any]:
    return {
        "id": job_id,
        "run_id": int(request["run_id"]),
        "workflow": Path(request["workflow_path"]).name,
        "job": request["job"],
        "environment": request.get("environment") or "",
        "concurrency": request.get("concurrency") or "",
        "permissions": permissions,
        "token": "ghs_job" + secrets.token_hex(16),
        "state": "waiting" if waits else "in_progress",
        "review_comment": None,
    }


def runner_view(job: dict[str, Any]) -> dict[str, Any]:
    """What the runner learns about its job: its token and whether it may start."""
    return {"id": job["id"], "state": job["state"], "token": job["token"],
            "permissions": job["permissions"], "comment": job["review_comment"]}
