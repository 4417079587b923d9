"""What GitHub refuses besides bad bodies: a token's missing permission, a dispatch it cannot run.

- Each token the stand-in knows carries the `permissions:` of the job it was issued to (None: every
  permission, like a personal token of an administrator). An operation needs one scope at one level
  (GitHub's table "Permissions required for GitHub Apps", which GITHUB_TOKEN follows); a token without it
  gets GitHub's 403 "Resource not accessible by integration".
- Dispatch reads the repository's workflow files: an unknown file is 404, a workflow without a
  `workflow_dispatch` trigger or a dispatch with inputs the workflow does not declare (or without a
  required one) is 422, with GitHub's messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LEVELS = {"none": 0, "read": 1, "write": 2}
NOT_ACCESSIBLE = "Resource not accessible by integration"

# operationId -> (scopes, any of which suffices; level). Issue comments on pull requests accept either.
REQUIRED: dict[str, tuple[tuple[str, ...], str]] = {
    "issues/list-comments": (("issues", "pull-requests"), "read"),
    "issues/create-comment": (("issues", "pull-requests"), "write"),
    "issues/update-comment": (("issues", "pull-requests"), "write"),
    "issues/list-for-repo": (("issues",), "read"),
    "issues/create": (("issues",), "write"),
    "repos/list-deployments": (("deployments",), "read"),
    "repos/get-deployment": (("deployments",), "read"),
    "repos/list-deployment-statuses": (("deployments",), "read"),
    "repos/create-deployment": (("deployments",), "write"),
    "repos/create-deployment-status": (("deployments",), "write"),
    "checks/get": (("checks",), "read"),
    "checks/list-annotations": (("checks",), "read"),
    "checks/create": (("checks",), "write"),
    "checks/update": (("checks",), "write"),
    "actions/list-workflow-runs-for-repo": (("actions",), "read"),
    "actions/list-workflow-runs": (("actions",), "read"),
    "actions/get-workflow-run": (("actions",), "read"),
    "actions/create-workflow-dispatch": (("actions",), "write"),
    "actions/cancel-workflow-run": (("actions",), "write"),
    "actions/get-pending-deployments-for-run": (("actions",), "read"),
    "actions/review-pending-deployments-for-run": (("deployments",), "write"),
    "actions/get-reviews-for-run": (("actions",), "read"),
    "pulls/create": (("pull-requests",), "write"),
    "pulls/merge": (("contents",), "write"),
    "repos/get-environment": (("actions",), "read"),
    "repos/list-deployment-branch-policies": (("actions",), "read"),
    "repos/create-or-update-environment": (("administration",), "write"),
    "repos/create-deployment-branch-policy": (("administration",), "write"),
}


def permitted(operation_id: str, permissions: dict[str, str] | None) -> bool:
    """Whether a token with these job permissions may call the operation (None: unrestricted)."""
    if permissions is None:
        return True
    scopes, level = REQUIRED[operation_id]
    return any(LEVELS.get(permissions.get(scope, "none"), 0) >= LEVELS[level] for scope in scopes)


def load_workflows(directory: Path) -> dict[str, dict[str, bool] | None]:
    """file name -> {input name: required} of its workflow_dispatch trigger (None: no such trigger)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    found: dict[str, dict[str, bool] | None] = {}
    for path in sorted(directory.glob("*.y*ml")):
        try:
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        except YAMLError:
            continue  # a file GitHub cannot parse either: dispatching it is a 404 (the lint tests say why)
        on = data.get("on", data.get(True, {}))
        triggers: Any = {name: None for name in on} if isinstance(on, list) else (on or {})
        if isinstance(on, str):
            triggers = {on: None}
        if "workflow_dispatch" not in triggers:
            found[path.name] = None
            continue
        inputs = (triggers["workflow_dispatch"] or {}).get("inputs") or {}
        found[path.name] = {name: bool((spec or {}).get("required")) for name, spec in inputs.items()}
    return found


def dispatch_problems(declared: dict[str, bool] | None, inputs: dict[str, Any]) -> list[str]:
    """GitHub's 422 messages for a dispatch of a workflow whose inputs are `declared`."""
    if declared is None:
        return ["Workflow does not have 'workflow_dispatch' trigger"]
    unexpected = sorted(set(inputs) - set(declared))
    if unexpected:
        return [f"Unexpected inputs provided: {unexpected}"]
    missing = sorted(name for name, required in declared.items() if required and name not in inputs)
    return [f"Required input '{name}' not provided" for name in missing]
