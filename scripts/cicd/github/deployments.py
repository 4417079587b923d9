"""Deployments and deployment statuses, so the repository's Environments page shows what is live where.

A deploy creates one GitHub deployment for the ref and environment (payload: version, artifact, digest
and a key naming this attempt), marks it in_progress, and finishes it as success, failure or inactive with
the environment's URL and the run's log URL. A success status with auto_inactive retires the environment's
older deployments. These records are what promotion reads back (cicd.workflows.staged): runners keep
nothing between jobs, GitHub does.

Creating is never blindly repeated: when the POST's answer is lost (5xx, cut connection), the deployment
is looked up by its key first and created again only if GitHub has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cicd.errors import GitHubError
from cicd.github.client import GitHubClient

STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
FINAL_STATES = ("success", "failure", "error", "inactive")


@dataclass(frozen=True)
class DeploymentRequest:
    ref: str
    environment: str
    version: str
    digest: str | None = None
    description: str | None = None
    production: bool | None = None  # None: true for an environment named "production"
    transient: bool = False
    artifact: str | None = None
    task: str = "deploy"  # "deploy:rollback" for a rollback: promotion reads artifacts from deploys only
    key: str = ""  # names this attempt, so a lost answer can be looked up (default: random)

    def body(self) -> dict[str, Any]:
        payload = {"version": self.version, "key": self.key}
        if self.digest:
            payload["digest"] = self.digest
        if self.artifact:
            payload["artifact"] = self.artifact
        production = self.environment == "production" if self.production is None else self.production
        return {
            "ref": self.ref,
            "task": self.task,
            "environment": self.environment,
            "payload": payload,
            "description": self.description or f"{self.version} to {self.environment}",
            "auto_merge": False,  # deploy exactly this ref, never a merge GitHub makes on its own
            "required_contexts": [],  # CI gated the workflow already; no second status gate here
            "production_environment": production,
            "transient_environment": self.transient,
        }


def status_body(
    state: str,
    *,
    environment_url: str | None = None,
    log_url: str | None = None,
    description: str | None = None,
    auto_inactive: bool = True,
) -> dict[str, Any]:
    if state not in STATES:
        raise GitHubError(f"unknown deployment state {state!r}", hint=f"use one of {', '.join(STATES)}")
    body: dict[str, Any] = {"state": state}
    if environment_url:
        body["environment_url"] = environment_url
    if log_url:
        body["log_url"] = log_url
    if description:
        body["description"] = description[:140]  # GitHub's limit for status descriptions
    if state == "success":
        body["auto_inactive"] = auto_inactive
    return body


def attempt_key() -> str:
    """This workflow run attempt and job inside Actions, else a random key."""
    import os
    import secrets as random

    env = os.environ
    if env.get("GITHUB_RUN_ID"):
        return f"{env['GITHUB_RUN_ID']}.{env.get('GITHUB_RUN_ATTEMPT', '1')}.{env.get('GITHUB_JOB', '')}"
    return random.token_hex(8)


def find_by_key(client: GitHubClient, request: DeploymentRequest) -> int | None:
    """The deployment this request already created, if its answer was lost."""
    for deployment in client.paginate(client.repo_path("/deployments"), environment=request.environment):
        if (deployment.get("payload") or {}).get("key") == request.key:
            return int(deployment["id"])
    return None


def create_deployment(client: GitHubClient, request: DeploymentRequest) -> int:
    from dataclasses import replace

    from cicd.github.client import GitHubApiError

    if not request.key:
        request = replace(request, key=attempt_key())
    try:
        response = client.request("POST", client.repo_path("/deployments"), json=request.body())
    except GitHubError as err:
        if isinstance(err, GitHubApiError) and err.status < 500:
            raise  # GitHub refused it: nothing was created
        found = find_by_key(client, request)
        if found is not None:
            return found
        response = client.request("POST", client.repo_path("/deployments"), json=request.body())
    data = response.json()
    if response.status_code != 201 or "id" not in data:
        # 202 means GitHub merged the default branch instead of deploying: never what a pipeline wants.
        raise GitHubError(
            f"GitHub did not create a deployment of {request.ref} to {request.environment}: "
            f"{data.get('message', response.status_code)}"
        )
    return int(data["id"])


def set_status(client: GitHubClient, deployment_id: int, state: str, **options: Any) -> dict[str, Any]:
    return client.post(
        client.repo_path(f"/deployments/{deployment_id}/statuses"), status_body(state, **options)
    )


def start_deployment(
    client: GitHubClient,
    request: DeploymentRequest,
    *,
    environment_url: str | None = None,
    log_url: str | None = None,
) -> int:
    """Create the deployment and mark it in progress; returns its id for `finish_deployment`."""
    deployment_id = create_deployment(client, request)
    set_status(
        client,
        deployment_id,
        "in_progress",
        environment_url=environment_url,
        log_url=log_url,
        description=f"deploying {request.version}",
    )
    return deployment_id


def finish_deployment(
    client: GitHubClient,
    deployment_id: int,
    state: str,
    *,
    environment_url: str | None = None,
    log_url: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    if state not in FINAL_STATES:
        raise GitHubError(f"a deployment finishes as {', '.join(FINAL_STATES)}, not {state!r}")
    return set_status(
        client,
        deployment_id,
        state,
        environment_url=environment_url,
        log_url=log_url,
        description=description,
    )


def latest_deployments(client: GitHubClient, environment: str, limit: int = 10) -> list[dict[str, Any]]:
    """The environment's most recent deployments, newest first, each with its latest status state."""
    found = []
    for deployment in client.paginate(client.repo_path("/deployments"), environment=environment):
        statuses = client.get(client.repo_path(f"/deployments/{deployment['id']}/statuses"), per_page=1)
        found.append({**deployment, "state": statuses[0]["state"] if statuses else None})
        if len(found) >= limit:
            break
    return found


def verified_deployments(client: GitHubClient, environment: str) -> Iterator[dict[str, Any]]:
    """The environment's deployments made by cicd, newest first, each with `states`: every state its
    statuses reached, newest first (a success later retired by a newer one reads ["inactive", "success"])."""
    for deployment in client.paginate(client.repo_path("/deployments"), environment=environment):
        if not (deployment.get("payload") or {}).get("version"):
            continue  # not one of ours (no payload): nothing to promote from it
        statuses = client.get(client.repo_path(f"/deployments/{deployment['id']}/statuses"), per_page=100)
        yield {**deployment, "states": [status["state"] for status in statuses]}
