"""The stand-in's side of a job starting (tests/support/github_runner.py): each job's token carries the
permissions its workflow file declares, a missing scope is GitHub's 403, and a job naming a protected
Environment waits until a review is posted through the pending_deployments API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tests.support.github_api import DEFAULT_TOKEN
from tests.support.github_runner import job_permissions

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / ".github" / "workflows" / "deploy.yml"


def call(api, method, path, body=None, token=DEFAULT_TOKEN):
    headers = {"authorization": f"Bearer {token}", "x-github-api-version": "2022-11-28"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(api.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response) if response.length else None
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def start_job(api, job, environment="", run_id=501, ref_name="main", status=200):
    request = {"run_id": run_id, "repository": "octo/service", "workflow_path": str(DEPLOY), "job": job,
               "environment": environment, "concurrency": f"deploy-{environment}", "ref_name": ref_name}
    answer = call(api, "POST", "/_runner/jobs", request)
    assert answer[0] == status, answer
    return answer[1]


def test_permissions_as_github_computes_them(tmp_path):
    assert job_permissions(DEPLOY, "deploy") == {
        "contents": "read", "actions": "read", "deployments": "write", "packages": "read",
        "attestations": "read"}
    workflow = tmp_path / "w.yml"
    workflow.write_text("on: push\npermissions: read-all\njobs:\n  a: {runs-on: x, steps: []}\n"
                        "  b: {runs-on: x, permissions: {}, steps: []}\n")
    assert job_permissions(workflow, "a")["deployments"] == "read" and job_permissions(workflow, "b") == {}
    workflow.write_text("on: push\njobs:\n  a: {runs-on: x, steps: []}\n")
    # no permissions anywhere: the repository's default (read contents and packages)
    assert job_permissions(workflow, "a") == {"contents": "read", "packages": "read"}


def test_a_jobs_token_has_its_scopes_and_gets_githubs_403_beyond_them(api):
    gate = start_job(api, "gate")
    assert gate["state"] == "in_progress" and gate["permissions"]["deployments"] == "read"
    assert call(api, "GET", "/repos/octo/service/deployments", token=gate["token"])[0] == 200
    status, body = call(api, "POST", "/repos/octo/service/deployments",
                        {"ref": "main", "environment": "staging"}, token=gate["token"])
    assert (status, body["message"]) == (403, "Resource not accessible by integration")
    assert call(api, "GET", "/repos/octo/service/deployments", token="ghs_unknown")[0] == 401
    api.violations.clear()  # the unknown token was the point


def test_a_protected_environment_holds_the_job_until_a_review(api):
    api.protect("octo/service", "production", reviewers=[{"type": "Team", "id": 42}])
    job = start_job(api, "deploy", "production")
    assert job["state"] == "waiting"
    status, pending = call(api, "GET", "/repos/octo/service/actions/runs/501/pending_deployments")
    assert status == 200 and [p["environment"]["name"] for p in pending] == ["production"]
    assert pending[0]["reviewers"][0]["reviewer"]["slug"] == "team42"
    review = {"environment_ids": [pending[0]["environment"]["id"]], "state": "approved", "comment": "ok"}
    assert call(api, "POST", "/repos/octo/service/actions/runs/501/pending_deployments", review)[0] == 200
    assert call(api, "GET", f"/_runner/jobs/{job['id']}")[1]["state"] == "approved"
    assert call(api, "GET", "/repos/octo/service/actions/runs/501/pending_deployments")[1] == []
    status, body = call(api, "POST", "/repos/octo/service/actions/runs/501/pending_deployments", review)
    assert status == 422 and body["message"] == "Validation Failed"


@pytest.mark.parametrize("environment", ["", "staging"])
def test_an_unprotected_or_absent_environment_lets_the_job_start(api, environment):
    job = start_job(api, "deploy", environment)
    assert job["state"] == "in_progress"
    if environment:  # GitHub creates the Environment, unprotected, when a job first names it
        assert call(api, "GET", "/repos/octo/service/environments/staging")[0] == 200


def test_the_runs_review_history_proves_who_approved_the_job(api, github_env):
    from cicd.errors import CicdError
    from cicd.github.approval import recorded_approval
    from cicd.github.client import GitHubClient

    api.protect("octo/service", "production", reviewers=[{"type": "Team", "id": 42}])
    job = start_job(api, "deploy", "production", run_id=777)
    with GitHubClient.from_env(backoff=0) as client:
        with pytest.raises(CicdError, match="GitHub records no approved review of it in run 777"):
            recorded_approval(client, "777", "production")  # still waiting: nobody approved
        review = {"environment_ids": [api.state["environments"]["octo/service/production"]["id"]],
                  "state": "approved", "comment": "ship it"}
        assert call(api, "POST", "/repos/octo/service/actions/runs/777/pending_deployments", review)[0] == 200
        approval = recorded_approval(client, "777", "production")
        assert approval["comment"] == "ship it" and approval["user"]["login"] == "reviewer"
        with pytest.raises(CicdError):
            recorded_approval(client, "777", "staging")  # an approval is for the Environment it names
    assert call(api, "GET", f"/_runner/jobs/{job['id']}")[1]["state"] == "approved"


def test_an_approval_of_the_environment_spelled_in_another_case_counts(api, github_env):
    # GitHub's Environment names are case-insensitive: one created as "Production" is the job's and the
    # config file's "production", and its approval is that environment's.
    from cicd.github.approval import recorded_approval
    from cicd.github.client import GitHubClient

    api.protect("octo/service", "Production", reviewers=[{"type": "Team", "id": 42}])
    start_job(api, "deploy", "Production", run_id=778)
    review = {"environment_ids": [api.state["environments"]["octo/service/Production"]["id"]],
              "state": "approved", "comment": "ok"}
    assert call(api, "POST", "/repos/octo/service/actions/runs/778/pending_deployments", review)[0] == 200
    with GitHubClient.from_env(backoff=0) as client:
        assert recorded_approval(client, "778", "production")["comment"] == "ok"


def test_a_called_workflows_job_is_capped_by_its_callers_grant(tmp_path):
    caller = tmp_path / "caller.yml"
    called = tmp_path / "deploy.yml"
    called.write_text("on: workflow_call\njobs:\n"
                      "  asks: {runs-on: x, permissions: {deployments: write}, steps: []}\n"
                      "  inherits: {runs-on: x, steps: []}\n")
    caller.write_text("on: push\npermissions: {}\njobs:\n"
                      "  call: {permissions: {deployments: read, contents: read},\n"
                      "         uses: ./.github/workflows/deploy.yml}\n")
    assert job_permissions(called, "inherits", caller) == {"deployments": "read", "contents": "read"}
    with pytest.raises(PermissionError, match="The nested job 'asks' is requesting 'deployments: write', "
                                              "but is only allowed 'deployments: read'"):
        job_permissions(called, "asks", caller)
    caller.write_text(caller.read_text().replace("deployments: read", "deployments: write"))
    assert job_permissions(called, "asks", caller) == {"deployments": "write"}
    # The suite's own callers grant what deploy.yml's jobs ask for.
    for name in ("cd-production.yml", "cd-staging.yml", "rollback.yml"):
        for job in ("gate", "deploy"):
            job_permissions(DEPLOY, job, DEPLOY.parent / name)


def test_a_branch_the_environments_policy_excludes_never_starts(api):
    api.protect("octo/service", "production", reviewers=[{"type": "Team", "id": 42}],
                deployment_branch_policy={"protected_branches": False, "custom_branch_policies": True})
    assert call(api, "POST", "/repos/octo/service/environments/production/deployment-branch-policies",
                {"name": "main", "type": "branch"})[0] == 200
    refused = start_job(api, "deploy", "production", ref_name="feature/x", status=422)
    assert refused["message"] == ('Branch "feature/x" is not allowed to deploy to production due to '
                                  "environment protection rules.")
    assert start_job(api, "deploy", "production", ref_name="main")["state"] == "waiting"
    api.protect("octo/service", "production", reviewers=[{"type": "Team", "id": 42}],
                deployment_branch_policy={"protected_branches": True, "custom_branch_policies": False})
    start_job(api, "deploy", "production", ref_name="release", status=422)  # only main is protected here
