"""GitHub's side of a job starting on a runner, which act does not have: the job's own token and the
Environment's protection rules.

When a job starts, GitHub mints its GITHUB_TOKEN with the permissions the workflow file declares for
that job (the job's `permissions:`, else the workflow's, else the repository's default), and a job that
names a protected Environment waits, holding nothing but its place, until a required reviewer approves
or rejects it (REST: GET/POST /repos/{owner}/{repo}/actions/runs/{run_id}/pending_deployments); a job
from a branch the Environment's deployment branch policy excludes never starts.

A called workflow's job gets what it declares, capped by what its caller's job grants (GitHub refuses
to start one that asks for more), or the caller's grant when it declares nothing; one level of calls.

Under act the harness puts one first step into every job (tests/e2e/job_setup.py) that asks the stand-in
for this through `POST /_runner/jobs` and waits on `GET /_runner/jobs/{id}`: a loopback channel between
runner and service, as the real runner has one, and not part of the REST API (so no schema applies).
"""

from __future__ import annotations

import fnmatch
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


LEVELS = {"none": 0, "read": 1, "write": 2}


def _load(workflow_file: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(workflow_file.read_text(encoding="utf-8")) or {}


def _declared(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, str] | None:
    """The job's `permissions:`, else the workflow's; None when neither declares any."""
    for holder in (job, workflow):
        if "permissions" in holder:
            return declared_permissions(holder["permissions"])
    return None


def _job(workflow: dict[str, Any], workflow_file: Path, job_id: str) -> dict[str, Any]:
    job = (workflow.get("jobs") or {}).get(job_id)
    if job is None:
        raise LookupError(f"{workflow_file.name} has no job {job_id!r}")
    return job


def _caller_grant(top_workflow: Path, called: Path) -> dict[str, str] | None:
    """What the one job of the run's workflow that calls `called` grants it (None: no single caller)."""
    workflow = _load(top_workflow)
    callers = [job for job in (workflow.get("jobs") or {}).values()
               if str(job.get("uses", "")).split("@")[0].endswith(f"/{called.name}")]
    if len(callers) != 1:
        return None
    return _declared(workflow, callers[0]) or dict(DEFAULT_PERMISSIONS)


def job_permissions(workflow_file: Path, job_id: str, top_workflow: Path | None = None) -> dict[str, str]:
    """The permissions GitHub gives the token of `job_id` in `workflow_file`. In a called workflow
    (`top_workflow` is the run's own), a job that declares none inherits its caller's grant, and one
    that asks for more than that grant is refused, as GitHub refuses to start it."""
    workflow = _load(workflow_file)
    own = _declared(workflow, _job(workflow, workflow_file, job_id))
    called = top_workflow is not None and top_workflow != workflow_file
    grant = _caller_grant(top_workflow, workflow_file) if top_workflow and called else None
    if grant is None:
        return own if own is not None else dict(DEFAULT_PERMISSIONS)
    if own is None:
        return grant
    for scope, level in own.items():
        if LEVELS.get(level, 0) > LEVELS.get(grant.get(scope, "none"), 0):
            raise PermissionError(f"The nested job '{job_id}' is requesting '{scope}: {level}', but is only "
                                  f"allowed '{scope}: {grant.get(scope, 'none')}'.")
    return own


def protected(environment: dict[str, Any] | None) -> bool:
    """Whether a job naming this Environment waits for a reviewer."""
    return bool(environment and (environment.get("protection") or {}).get("reviewers"))


PROTECTED_BRANCHES = ("main",)  # the stand-in's repository protects main only


def branch_refusal(environment: dict[str, Any] | None, ref_name: str) -> str | None:
    """GitHub's refusal of a job from a branch the Environment's deployment branch policy excludes."""
    policy = ((environment or {}).get("protection") or {}).get("deployment_branch_policy") or {}
    if policy.get("protected_branches"):
        allowed = ref_name in PROTECTED_BRANCHES
    elif policy.get("custom_branch_policies"):
        policies = (environment or {}).get("branch_policies", [])
        patterns = [p["name"] for p in policies if p.get("type", "branch") == "branch"]
        allowed = any(fnmatch.fnmatchcase(ref_name, pattern) for pattern in patterns)
    else:
        return None
    if allowed:
        return None
    return (f'Branch "{ref_name}" is not allowed to deploy to {environment["name"]} due to environment '
            "protection rules.")


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
