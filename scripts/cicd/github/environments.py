"""GitHub Environments as code: the protection that gates a deploy job (required reviewers, wait timer,
which branches may deploy). `cicd github environment production --reviewer team:42` sets up the
"Approve and deploy" gate that cd-production.yml relies on.
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

    def body(self) -> dict[str, Any]:
        if len(self.reviewers) > MAX_REVIEWERS:
            raise GitHubError(f"{len(self.reviewers)} reviewers; GitHub allows at most {MAX_REVIEWERS}")
        if not 0 <= self.wait_minutes <= MAX_WAIT_MINUTES:
            raise GitHubError(f"wait timer {self.wait_minutes} min is outside 0..{MAX_WAIT_MINUTES}")
        branch_policy = (
            {"protected_branches": True, "custom_branch_policies": False}
            if self.protected_branches_only
            else None
        )
        return {
            "wait_timer": self.wait_minutes,
            "prevent_self_review": self.prevent_self_review,
            "reviewers": [{"type": reviewer.kind, "id": reviewer.id} for reviewer in self.reviewers],
            "deployment_branch_policy": branch_policy,
        }


def configure_environment(
    client: GitHubClient, name: str, protection: EnvironmentProtection
) -> dict[str, Any]:
    """Create or update the environment with exactly this protection; returns GitHub's environment."""
    path = client.repo_path(f"/environments/{quote(name, safe='')}")
    return client.request("PUT", path, json=protection.body()).json()
