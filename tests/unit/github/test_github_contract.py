"""The stand-in holds to GitHub's published schema: it rejects what GitHub would reject, and its own
answers are checked against the same models, so it cannot drift into fiction."""

from __future__ import annotations

import pytest
import requests
from tests.support import github_contract as contract
from tests.support.github_api import DEFAULT_TOKEN

HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "X-GitHub-Api-Version": "2022-11-28"}


def post(api, path, body, headers=HEADERS):
    return requests.post(f"{api.url}/repos/octo/service{path}", json=body, headers=headers, timeout=5)


def test_operations_come_from_githubkit_generated_client():
    by_id = {op.operation_id: op for op in contract.operations()}
    assert by_id["repos/create-deployment"].path == "/repos/{owner}/{repo}/deployments"
    assert by_id["repos/create-deployment"].body_type.__name__ == "ReposOwnerRepoDeploymentsPostBody"
    assert by_id["issues/update-comment"].method == "PATCH"
    assert by_id["actions/create-workflow-dispatch"].response_type is None  # GitHub answers 204
    assert set(by_id) == set(contract.OPERATIONS)


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/deployments", {"ref": "main", "enviroment": "staging"}, "enviroment: not in GitHub's schema"),
        ("/deployments", {"ref": "main", "auto_merge": "false"}, "auto_merge"),
        ("/deployments", {"environment": "staging"}, "ref: Field required"),
        ("/issues/3/comments", {"body": 42}, "body"),
        ("/check-runs", {"name": "ci", "head_sha": "a" * 40, "status": "done"}, "status"),
    ],
)
def test_malformed_request_gets_422_and_is_recorded(api, path, body, problem):
    response = post(api, path, body)
    assert response.status_code == 422
    assert response.json()["message"] == "Validation Failed"
    assert any(problem in text for text in api.violations[0]["problems"]), api.violations
    api.violations.clear()


def test_deployment_status_state_outside_the_enum_is_rejected(api):
    deployment = post(api, "/deployments", {"ref": "main", "environment": "staging"}).json()
    response = post(api, f"/deployments/{deployment['id']}/statuses", {"state": "done"})
    assert response.status_code == 422
    assert "state" in api.violations[0]["problems"][0]
    api.violations.clear()


def test_more_than_50_annotations_in_one_request_is_rejected(api):
    annotation = {
        "path": "a.py",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "failure",
        "message": "x",
    }
    body = {
        "name": "ci",
        "head_sha": "a" * 40,
        "output": {"title": "t", "summary": "s", "annotations": [annotation] * 51},
    }
    assert post(api, "/check-runs", body).status_code == 422
    assert "at most 50 items" in " ".join(api.violations[0]["problems"])  # maxItems in GitHub's schema
    api.violations.clear()


def test_wrong_token_and_missing_version_header_are_violations(api):
    assert (
        post(api, "/deployments", {"ref": "main"}, {**HEADERS, "Authorization": "Bearer nope"}).status_code
        == 401
    )
    assert (
        post(api, "/deployments", {"ref": "main"}, {"Authorization": HEADERS["Authorization"]}).status_code
        == 400
    )
    assert [v["problems"][0] for v in api.violations] == [
        "missing or wrong Authorization header",
        "X-GitHub-Api-Version is None",
    ]
    api.violations.clear()


def test_unknown_endpoint_is_a_violation(api):
    response = requests.get(f"{api.url}/repos/octo/service/pulls", headers=HEADERS, timeout=5)
    assert response.status_code == 404
    assert api.violations[0]["problems"] == ["no such operation in the stand-in's contract"]
    api.violations.clear()


def test_response_checks_catch_an_off_schema_answer():
    comment = contract.model_class("IssueComment")
    assert contract.problems(comment, {"id": 1, "body": "x"})  # required fields missing
    valid = {
        "id": 1,
        "node_id": "n",
        "url": "u",
        "html_url": "h",
        "user": None,
        "issue_url": "i",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    assert contract.problems(comment, valid) == []
    assert contract.problems(comment, {**valid, "sticky": True}) == ["sticky: not in GitHub's schema"]


def test_an_off_schema_answer_is_a_500_and_a_recorded_bug(api):
    operation, _ = contract.find_operation("GET", "/repos/o/r/deployments/1")
    with pytest.raises(AssertionError):
        api._check_response(operation, 200, {"id": "not a deployment"})
    assert api.bugs and api.bugs[0].startswith("repos/get-deployment")
    api.bugs.clear()


def test_state_file_mirrors_what_clients_did(api, tmp_path):
    import json

    post(api, "/deployments", {"ref": "main", "environment": "staging"})
    state = json.loads((tmp_path / "github-state.json").read_text())
    assert state["deployments"][0]["environment"] == "staging"
    assert state["requests"] == ["POST /repos/octo/service/deployments"]
