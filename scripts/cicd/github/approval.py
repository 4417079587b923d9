"""Approval for deploys that do not pass through GitHub's gate: a laptop's `cicd deploy`.

Inside GitHub Actions the deploy job runs in the GitHub Environment, whose required reviewers approve it
(and `cicd github environments check` proves they exist before any production job). Outside Actions
nobody approved anything, so an environment whose file says `approval: {required: true}` refuses a deploy
unless the person says why they override the approval; that reason goes into the audit ledger with the
deploy, so the override is on the record, never silent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cicd import gha
from cicd.errors import CicdError

if TYPE_CHECKING:
    from cicd.github.client import GitHubClient

OVERRIDE_NOTE = "approval overridden"


def approved_reason(environment: str, required: bool, reason: str | None, override: str | None) -> str | None:
    """The reason to record for this deploy; raises when approval is required and neither GitHub nor an
    explicit override gave it."""
    if not required or gha.in_actions():
        return reason
    if not override or not override.strip():
        raise CicdError(
            f"{environment} requires approval (approval.required in its environment file): a deploy from "
            "here has none",
            hint="deploy through the workflow (cd-production.yml), where required reviewers approve, or "
            "pass --override-approval 'why' to deploy anyway; the override is recorded in the audit ledger",
        )
    note = f"{OVERRIDE_NOTE}: {override.strip()}"
    return f"{reason.strip()} ({note})" if reason and reason.strip() else note


def recorded_approval(client: GitHubClient, run_id: str, environment: str) -> dict[str, Any]:
    """The review that approved this run's job for `environment`, from GitHub's review history of the run.

    Inside Actions the Environment's reviewers are the approval; this proves one was given, instead of
    trusting that GitHub applied the rules to the job (a job naming its Environment with
    `deployment: false` is one GitHub's docs do not say either way about). No approval: refused."""
    # GitHub's Environment names are case-insensitive: `Production` on GitHub is config's `production`.
    for review in client.get(client.repo_path(f"/actions/runs/{run_id}/approvals")) or []:
        names = {str(item.get("name") or "").casefold() for item in review.get("environments") or []}
        if review.get("state") == "approved" and environment.casefold() in names:
            return dict(review)
    raise CicdError(
        f"{environment} requires approval, and GitHub records no approved review of it in run {run_id}",
        hint="give the GitHub Environment required reviewers (cicd github environments apply) and deploy "
        "through the workflow; a deploy nobody approved is refused",
    )
