"""A deploy requested before a rollback of its environment does not undo it once approved: the gate job
notes the newest GitHub deployment, the deploy job refuses when a rollback was opened after it."""

import sys
from pathlib import Path

import pytest

from cicd.errors import CicdError
from cicd.github import deployments
from cicd.workflows.deploy_step import run_step
from cicd.workflows.rollback_guard import newest_deployment_id, refuse_if_rolled_back, rollbacks_since

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn  # noqa: E402

pytestmark = pytest.mark.workflows


@pytest.fixture
def client(tmp_path, monkeypatch):
    from cicd.github.client import GitHubClient

    with GitHubApiStandIn(state_file=tmp_path / "github.json") as api:
        for name, value in (("GITHUB_API_URL", api.url), ("GITHUB_REPOSITORY", "acme/sample"),
                            ("GITHUB_TOKEN", DEFAULT_TOKEN), ("GITHUB_OUTPUT", str(tmp_path / "out"))):
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        with GitHubClient.from_env(backoff=0) as github:
            yield github
        assert api.violations == [] and api.bugs == []


def record(client, environment, version, task="deploy", state="success") -> int:
    request = deployments.DeploymentRequest(ref="1" * 40, environment=environment, version=version, task=task)
    deployment_id = deployments.start_deployment(client, request)
    if state != "in_progress":
        deployments.finish_deployment(client, deployment_id, state)
    return deployment_id


def test_a_rollback_after_the_request_stops_the_deploy_naming_it(client):
    assert newest_deployment_id(client, "production") == 0
    record(client, "production", "2.0.0")
    since = newest_deployment_id(client, "production")
    record(client, "staging", "2.2.0", task="deploy:rollback")  # another environment's rollback: unrelated
    refuse_if_rolled_back(client, "production", "2.2.0", since)
    rollback = record(client, "production", "2.0.0", task="deploy:rollback")
    with pytest.raises(CicdError) as refused:
        refuse_if_rolled_back(client, "production", "2.2.0", since)
    message = str(refused.value)
    assert "production was rolled back to 2.0.0 after this deploy of 2.2.0 was requested" in message
    assert f"GitHub deployment {rollback}" in message
    assert "dispatch the workflow again, or 'Re-run all jobs'" in refused.value.hint
    # Requested again after the rollback: a decision made knowing it.
    assert rollbacks_since(client, "production", newest_deployment_id(client, "production")) == []


def test_the_workflow_steps_pass_the_mark_from_gate_to_deploy(client, tmp_path):
    record(client, "staging", "2.0.0")
    env = {"CICD_ENVIRONMENT": "staging", "CICD_OPERATION": "deploy", "CICD_VERSION": "2.2.0",
           "CICD_CONFIG_DIR": str(ROOT / "config")}
    assert run_step("gate", env) == 0  # staging requires no approval; the gate still notes the newest
    since = (tmp_path / "out").read_text().splitlines()[1]  # since<<delimiter, value, delimiter
    assert since == str(newest_deployment_id(client, "staging"))
    assert run_step("released", {**env, "CICD_SINCE_DEPLOYMENT": since}) == 0
    record(client, "staging", "2.0.0", task="deploy:rollback")
    with pytest.raises(CicdError):
        run_step("released", {**env, "CICD_SINCE_DEPLOYMENT": since})
    with pytest.raises(CicdError, match="CICD_SINCE_DEPLOYMENT") as unmarked:
        run_step("released", env)  # no mark from the gate: refused, never skipped
    assert "needs.gate.outputs.since" in unmarked.value.hint  # and says how to pass it
    # A rollback is not a deploy requested before a rollback: nothing to compare.
    assert run_step("released", {**env, "CICD_OPERATION": "rollback"}) == 0


def test_a_failed_rollback_put_nothing_back_so_it_stops_no_deploy(client):
    # On-call's rollback of a bad 2.1.0 failed while the fix 2.2.0 waited for its reviewers: approving the
    # fix undoes nothing, and a message saying production "was rolled back" would be false.
    record(client, "production", "2.1.0")
    since = newest_deployment_id(client, "production")
    record(client, "production", "2.0.0", task="deploy:rollback", state="failure")
    record(client, "production", "2.0.0", task="deploy:rollback", state="error")
    refuse_if_rolled_back(client, "production", "2.2.0", since)
    # One still running stops it (the deploy would undo it as soon as it finishes) ...
    running = record(client, "production", "2.0.0", task="deploy:rollback", state="in_progress")
    with pytest.raises(CicdError, match=f"GitHub deployment {running}"):
        refuse_if_rolled_back(client, "production", "2.2.0", since)
    deployments.finish_deployment(client, running, "success")
    assert [d["id"] for d in rollbacks_since(client, "production", since)] == [running]
    # ... and so does one that succeeded and was since retired by a newer deploy (inactive, on GitHub
    # only outside production).
    since = newest_deployment_id(client, "staging")
    retired = record(client, "staging", "2.0.0", task="deploy:rollback")
    record(client, "staging", "2.0.1")
    newest = client.get(client.repo_path(f"/deployments/{retired}/statuses"), per_page=1)
    assert newest[0]["state"] == "inactive"
    assert [d["id"] for d in rollbacks_since(client, "staging", since)] == [retired]
