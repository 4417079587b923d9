"""auto-merge.yml is the one workflow_run trigger: it must run after CI with the default branch's code only,
hand the pull request number to `cicd automerge` through env:, and ask for no more than it uses."""

import pytest

from .conftest import WORKFLOWS, load, triggers

pytestmark = pytest.mark.workflows


@pytest.fixture(scope="module")
def workflow():
    return load(WORKFLOWS / "auto-merge.yml")


def test_it_runs_after_ci_completes_on_pull_requests_from_this_repository(workflow):
    assert triggers(workflow) == {"workflow_run": {"workflows": ["CI"], "types": ["completed"]}}
    assert load(WORKFLOWS / "ci.yml")["name"] == "CI"  # workflow_run names the workflow, not the file
    gate = workflow["jobs"]["gate"]
    assert "github.event.workflow_run.event == 'pull_request'" in gate["if"]
    assert "head_repository.full_name == github.repository" in gate["if"]


def test_it_never_checks_out_or_runs_the_pull_requests_code(workflow):
    steps = workflow["jobs"]["gate"]["steps"]
    checkout = [step for step in steps if step.get("uses", "").startswith("actions/checkout@")]
    assert len(checkout) == 1 and set(checkout[0]["with"]) == {"persist-credentials"}  # no ref, no repo
    text = (WORKFLOWS / "auto-merge.yml").read_text()
    assert "head_sha" not in text and "head_branch }}" not in text.split("jobs:")[1]
    runs = [step for step in steps if "run" in step]
    assert [step["run"] for step in runs] == ['cicd automerge --pr "${PR_NUMBER}"']
    assert runs[0]["env"]["PR_NUMBER"] == "${{ github.event.workflow_run.pull_requests[0].number }}"


def test_it_asks_only_for_what_the_gate_uses(workflow):
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["gate"]["permissions"] == {
        "contents": "write", "pull-requests": "write", "actions": "read", "deployments": "read",
        "checks": "read", "statuses": "read",
    }


def test_a_forks_branch_never_shares_the_group_of_a_branch_here(workflow):
    # Workflow-level concurrency is evaluated before the job's `if`: keyed by the branch name alone, a
    # fork's pull request on a branch named like Dependabot's would cancel the pending decision here.
    group = workflow["concurrency"]["group"]
    assert "github.event.workflow_run.head_repository.full_name" in group
    assert "github.event.workflow_run.head_branch" in group
    assert workflow["concurrency"]["cancel-in-progress"] is False
