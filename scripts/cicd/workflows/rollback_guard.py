"""A deploy that was requested before a rollback of its environment does not undo that rollback.

A promotion can wait for its reviewers for hours, and a rollback dispatched meanwhile runs first (it has
a concurrency group of its own, docs/CI_CD.md "Concurrency"). Approving the promotion later must not
silently put back what the on-call engineer just took out: the approver reviewed a request made before
the rollback, not after it. So deploy.yml's gate job, which runs before anyone is asked to approve, notes
the environment's newest GitHub deployment; the deploy job, once approved, looks for a rollback
(task `deploy:rollback`) opened after it, and if there is one it deploys nothing and fails, naming the
rollback and the fix (dispatch the promotion again, a decision made knowing the rollback). A rejected
promotion changes nothing anyway. GitHub's deployment ids only grow, so "after" is "a larger id".
A rollback whose newest status is failure or error put nothing back, so there is nothing to undo: it
does not stop the deploy (one still running or queued does, as does one since retired, "inactive").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cicd.errors import CicdError

if TYPE_CHECKING:
    from cicd.github.client import GitHubClient

ROLLBACK_TASK = "deploy:rollback"
FAILED = ("failure", "error")


def newest_deployment_id(client: GitHubClient, environment: str) -> int:
    """The id of the environment's newest GitHub deployment (0 when it has none)."""
    newest = client.get(client.repo_path("/deployments"), environment=environment, per_page=1)
    return int(newest[0]["id"]) if newest else 0


def rollbacks_since(client: GitHubClient, environment: str, since: int) -> list[dict[str, Any]]:
    """The environment's rollbacks opened after deployment `since` that did not fail, newest first."""
    found = []
    for deployment in client.paginate(client.repo_path("/deployments"), environment=environment,
                                      task=ROLLBACK_TASK):
        if int(deployment["id"]) <= since:
            break  # newest first: everything further is older
        if _newest_state(client, int(deployment["id"])) not in FAILED:
            found.append(deployment)
    return found


def _newest_state(client: GitHubClient, deployment_id: int) -> str:
    """The deployment's newest status ("" before its first: a rollback just opened)."""
    statuses = client.get(client.repo_path(f"/deployments/{deployment_id}/statuses"), per_page=1)
    return str(statuses[0].get("state") or "") if statuses else ""


def refuse_if_rolled_back(client: GitHubClient, environment: str, version: str, since: int) -> None:
    rollbacks = rollbacks_since(client, environment, since)
    if not rollbacks:
        return
    newest = rollbacks[0]
    payload = newest.get("payload") or {}
    raise CicdError(
        f"{environment} was rolled back to {payload.get('version') or '?'} after this deploy of {version} "
        f"was requested (GitHub deployment {newest['id']}, {newest.get('created_at') or ''}); nothing was "
        "deployed",
        hint=f"to deploy {version} over the rollback, request it anew: dispatch the workflow again, or "
        "'Re-run all jobs' (re-running only the failed job keeps the old request)",
    )
