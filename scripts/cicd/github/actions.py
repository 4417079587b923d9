"""Workflow dispatch and workflow runs: trigger a workflow, list, inspect, cancel and await its runs.

This is the remote half of the seeds' AsyncPipelineManager (trigger, status, wait, cancel, list), done
synchronously over the one retrying session. Dispatch answers 204 without a run id: find the run with
`list_runs(workflow=..., event="workflow_dispatch")` afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cicd.errors import GitHubError
from cicd.github.client import GitHubClient

MAX_INPUTS = 25  # GitHub rejects a dispatch with more inputs


@dataclass(frozen=True)
class WorkflowRun:
    id: int
    name: str
    status: str | None
    conclusion: str | None
    event: str
    head_branch: str | None
    head_sha: str
    html_url: str
    created_at: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WorkflowRun:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or data.get("display_title") or ""),
            status=data.get("status"),
            conclusion=data.get("conclusion"),
            event=str(data.get("event")),
            head_branch=data.get("head_branch"),
            head_sha=str(data.get("head_sha")),
            html_url=str(data.get("html_url")),
            created_at=str(data.get("created_at")),
        )

    @property
    def done(self) -> bool:
        return self.status == "completed"


def dispatch(client: GitHubClient, workflow: str, ref: str, inputs: Mapping[str, str] | None = None) -> None:
    """Start a `workflow_dispatch` run of `workflow` (file name or id) on `ref`."""
    inputs = dict(inputs or {})
    if len(inputs) > MAX_INPUTS:
        raise GitHubError(f"{len(inputs)} inputs for {workflow}; GitHub accepts at most {MAX_INPUTS}")
    body: dict[str, Any] = {"ref": ref}
    if inputs:
        body["inputs"] = inputs
    client.post(client.repo_path(f"/actions/workflows/{workflow}/dispatches"), body)


def list_runs(
    client: GitHubClient,
    *,
    workflow: str | None = None,
    status: str | None = None,
    branch: str | None = None,
    event: str | None = None,
    limit: int = 20,
) -> list[WorkflowRun]:
    path = f"/actions/workflows/{workflow}/runs" if workflow else "/actions/runs"
    filters = {
        key: value for key, value in {"status": status, "branch": branch, "event": event}.items() if value
    }
    runs: list[WorkflowRun] = []
    for data in client.paginate(client.repo_path(path), item_key="workflow_runs", **filters):
        runs.append(WorkflowRun.from_api(data))
        if len(runs) >= limit:
            break
    return runs


def get_run(client: GitHubClient, run_id: int) -> WorkflowRun:
    return WorkflowRun.from_api(client.get(client.repo_path(f"/actions/runs/{run_id}")))


def cancel_run(client: GitHubClient, run_id: int) -> None:
    client.request("POST", client.repo_path(f"/actions/runs/{run_id}/cancel"))


def wait_for_run(
    client: GitHubClient,
    run_id: int,
    *,
    timeout: float = 3600,
    poll_interval: float = 10,
    sleep: Callable[[float], None] = time.sleep,
) -> WorkflowRun:
    """Poll a run until it completes; GitHubError when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(client, run_id)
        if run.done:
            return run
        if time.monotonic() + poll_interval > deadline:
            raise GitHubError(
                f"workflow run {run_id} still {run.status} after {timeout:.0f} s", hint=f"see {run.html_url}"
            )
        sleep(poll_interval)
