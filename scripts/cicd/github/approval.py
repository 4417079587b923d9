"""Approval for deploys that do not pass through GitHub's gate: a laptop's `cicd deploy`.

Inside GitHub Actions the deploy job runs in the GitHub Environment, whose required reviewers approve it
(and `cicd github environments check` proves they exist before any production job). Outside Actions
nobody approved anything, so an environment whose file says `approval: {required: true}` refuses a deploy
unless the person says why they override the approval; that reason goes into the audit ledger with the
deploy, so the override is on the record, never silent.
"""

from __future__ import annotations

from cicd import gha
from cicd.errors import CicdError

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
