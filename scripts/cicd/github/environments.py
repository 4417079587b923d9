"""GitHub Environments as code: the protection that gates a deploy job (required reviewers, wait timer,
which branches may deploy, no admin bypass), applied from the `approval:` block of an environment file
and checked before any job that changes production.

The check fails closed. GitHub creates an environment without any protection the first time a job names
it, so a missing environment, no required reviewer, self-review allowed, admins allowed to bypass, or
deployments allowed from any branch are each a refusal with the fix, never a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cicd.errors import GitHubError
from cicd.github.client import GitHubClient

MAX_REVIEWERS = 6  # GitHub's limit per environment
MAX_WAIT_MINUTES = 43200


@dataclass(frozen=True)
class Reviewer:
    kind: str  # "User" or "Team"
    id: int

    @classmethod
    def parse(cls, text: str) -> Reviewer:
        """`user:123` or `team:45` (GitHub wants numeric ids, not names)."""
        kind, _, number = text.partition(":")
        kinds = {"user": "User", "team": "Team"}
        if kind.lower() not in kinds or not number.isdigit():
            raise GitHubError(f"reviewer {text!r}: expected user:ID or team:ID")
        return cls(kinds[kind.lower()], int(number))


@dataclass(frozen=True)
class EnvironmentProtection:
    reviewers: tuple[Reviewer, ...] = field(default_factory=tuple)
    wait_minutes: int = 0
    prevent_self_review: bool = False
    protected_branches_only: bool = False
    main_only: bool = False  # a custom branch policy naming exactly `main`

    def body(self) -> dict[str, Any]:
        if len(self.reviewers) > MAX_REVIEWERS:
            raise GitHubError(f"{len(self.reviewers)} reviewers; GitHub allows at most {MAX_REVIEWERS}")
        if not 0 <= self.wait_minutes <= MAX_WAIT_MINUTES:
            raise GitHubError(f"wait timer {self.wait_minutes} min is outside 0..{MAX_WAIT_MINUTES}")
        branch_policy: dict[str, bool] | None = None
        if self.protected_branches_only:
            branch_policy = {"protected_branches": True, "custom_branch_policies": False}
        elif self.main_only:
            branch_policy = {"protected_branches": False, "custom_branch_policies": True}
        return {
            "wait_timer": self.wait_minutes,
            "prevent_self_review": self.prevent_self_review,
            "reviewers": [{"type": reviewer.kind, "id": reviewer.id} for reviewer in self.reviewers],
            "deployment_branch_policy": branch_policy,
            # Not in GitHub's OpenAPI description of this version, but accepted and reported by the API.
            "can_admins_bypass": False,
        }


def configure_environment(
    client: GitHubClient, name: str, protection: EnvironmentProtection
) -> dict[str, Any]:
    """Create or update the environment with exactly this protection; returns GitHub's environment."""
    path = client.repo_path(f"/environments/{quote(name, safe='')}")
    environment = client.request("PUT", path, json=protection.body()).json()
    if protection.main_only and "main" not in _branch_policies(client, name):
        client.post(f"{path}/deployment-branch-policies", {"name": "main", "type": "branch"})
    return environment


def protection_from(approval: Any) -> EnvironmentProtection:
    """The protection an environment file's `approval:` block asks for."""
    return EnvironmentProtection(
        reviewers=tuple(Reviewer.parse(text) for text in approval.reviewers),
        wait_minutes=approval.wait_timer_minutes,
        prevent_self_review=approval.prevent_self_review,
        protected_branches_only=approval.deployment_branches == "protected",
        main_only=approval.deployment_branches == "main",
    )


def _branch_policies(client: GitHubClient, name: str) -> list[str]:
    path = client.repo_path(f"/environments/{quote(name, safe='')}/deployment-branch-policies")
    return [policy["name"] for policy in client.paginate(path, item_key="branch_policies")]


def check_environment(client: GitHubClient, name: str, *, automatic: bool = False) -> list[str]:
    """What is wrong with the environment's protection for a production deploy; [] when it holds.
    `automatic` (the environment file's promotion.automatic): nobody approves, so no reviewer is asked
    for; the branch policy and the admin bypass still are (automatic_warning says so, loudly)."""
    from cicd.github.client import GitHubApiError

    try:
        environment = client.get(client.repo_path(f"/environments/{quote(name, safe='')}"))
    except GitHubApiError as err:
        if err.status != 404:
            raise
        return [f"the GitHub Environment {name!r} does not exist: the first job naming it would create it "
                "without any protection"]
    rules = {rule.get("type"): rule for rule in environment.get("protection_rules") or []}
    reviewers = rules.get("required_reviewers") or {}
    problems = []
    if not reviewers.get("reviewers") and not automatic:
        problems.append("no required reviewer")
    if not reviewers.get("prevent_self_review") and not automatic:
        problems.append("the person who started a deploy may approve it (self-review not prevented)")
    if environment.get("can_admins_bypass") is not False:
        problems.append("administrators may bypass the protection rules")
    problems += _branch_problems(client, name, environment.get("deployment_branch_policy"))
    return problems


def automatic_warning(name: str, config_path: str) -> str:
    return (
        f"{name} deploys WITHOUT APPROVAL: promotion.automatic is true in {config_path}, so nobody approves "
        "a production deploy; the canary steps, monitor window and automatic rollback are its only gate "
        "(set automatic: false to ask required reviewers again)"
    )


def _branch_problems(client: GitHubClient, name: str, policy: dict[str, Any] | None) -> list[str]:
    if policy and policy.get("protected_branches"):
        return []
    if policy and policy.get("custom_branch_policies"):
        names = _branch_policies(client, name)
        if names == ["main"]:
            return []
        return [f"deployments are allowed from branches {names}, not only main"]
    return ["deployments are allowed from any branch"]
