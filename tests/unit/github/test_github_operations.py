"""The operations the workflows need, against the stand-in: sticky comment, deployments, check runs,
workflow dispatch and runs."""

from __future__ import annotations

import pytest
from tests.support.github_api import DEFAULT_TOKEN

from cicd.errors import GitHubError
from cicd.github import actions, checks, comments, deployments

REPO = "octo/service"


# ---- sticky comment ---------------------------------------------------------------------------------
def test_sticky_comment_is_created_then_updated_never_duplicated(client, api):
    first = comments.upsert_sticky_comment(client, 7, "ci", "tests: 3 failed")
    second = comments.upsert_sticky_comment(client, 7, "ci", "tests: all passed")
    assert (first.action, second.action) == ("created", "updated")
    assert first.comment_id == second.comment_id
    [ours] = api.comments(REPO, 7)
    assert ours["body"] == "<!-- cicd:ci -->\ntests: all passed\n"


def test_sticky_comment_is_found_beyond_the_first_page(client, api):
    for number in range(150):  # a long review before CI first reported
        api.add_comment(REPO, 7, f"review remark {number}")
    api.add_comment(REPO, 7, "<!-- cicd:ci -->\nold report\n")
    api.add_comment(REPO, 7, "one more remark")
    outcome = comments.upsert_sticky_comment(client, 7, "ci", "new report")
    assert outcome.action == "updated"
    ours = [c for c in api.comments(REPO, 7) if c["body"].startswith("<!-- cicd:ci -->")]
    assert len(ours) == 1 and "new report" in ours[0]["body"]
    assert len(api.comments(REPO, 7)) == 152
    assert sum(r.startswith("GET") for r in api.requests) == 2  # two pages of 100


def test_sticky_comments_with_different_keys_coexist_and_same_body_is_not_rewritten(client, api):
    comments.upsert_sticky_comment(client, 7, "ci", "ci report")
    comments.upsert_sticky_comment(client, 7, "security", "scan report")
    assert comments.upsert_sticky_comment(client, 7, "ci", "ci report").action == "unchanged"
    assert len(api.comments(REPO, 7)) == 2
    assert not any(r.startswith("PATCH") for r in api.requests)


def test_sticky_body_is_cut_to_githubs_limit_and_keys_are_checked(client, api):
    outcome = comments.upsert_sticky_comment(client, 7, "ci", "x" * 70000)
    body = api.comments(REPO, 7)[0]["body"]
    assert outcome.action == "created" and len(body) <= comments.MAX_BODY
    assert "truncated" in body
    with pytest.raises(GitHubError, match="invalid comment key"):
        comments.marker("ci --> <script>")


# ---- deployments --------------------------------------------------------------------------------------
def test_deployment_start_and_finish_leave_the_statuses_the_environments_page_shows(client, api):
    request = deployments.DeploymentRequest(
        ref="a" * 40, environment="staging", version="1.4.2", digest="sha256:" + "b" * 64
    )
    deployment_id = deployments.start_deployment(
        client,
        request,
        environment_url="http://127.0.0.1:8080",
        log_url="https://github.com/octo/service/actions/runs/1",
    )
    deployments.finish_deployment(client, deployment_id, "success", environment_url="http://127.0.0.1:8080")
    [recorded] = api.state["deployments"]
    assert recorded["payload"]["version"] == "1.4.2" and recorded["payload"]["digest"] == "sha256:" + "b" * 64
    assert recorded["payload"]["key"]  # names the attempt: a lost answer is looked up, not re-created
    assert recorded["production_environment"] is False and recorded["transient_environment"] is False
    assert [s["state"] for s in api.statuses(deployment_id)] == ["in_progress", "success"]
    assert api.statuses(deployment_id)[0]["log_url"].endswith("/actions/runs/1")


def test_a_newer_success_retires_the_older_deployment(client, api):
    older = deployments.start_deployment(client, deployments.DeploymentRequest("a" * 40, "staging", "1.0"))
    deployments.finish_deployment(client, older, "success")
    newer = deployments.start_deployment(client, deployments.DeploymentRequest("b" * 40, "staging", "1.1"))
    deployments.finish_deployment(client, newer, "success")
    assert api.statuses(older)[-1]["state"] == "inactive"
    latest = deployments.latest_deployments(client, "staging")
    assert [(d["payload"]["version"], d["state"]) for d in latest] == [
        ("1.1", "success"),
        ("1.0", "inactive"),
    ]


def test_production_is_marked_as_such_and_a_failure_is_reported(client, api):
    deployment_id = deployments.start_deployment(
        client, deployments.DeploymentRequest("main", "production", "2.0")
    )
    deployments.finish_deployment(
        client, deployment_id, "failure", description="smoke tests failed: /healthz 503"
    )
    assert api.state["deployments"][0]["production_environment"] is True
    assert api.statuses(deployment_id)[-1]["state"] == "failure"


def test_finishing_with_a_non_final_state_or_unknown_id_fails_clearly(client, api):
    with pytest.raises(GitHubError, match="finishes as"):
        deployments.finish_deployment(client, 1, "in_progress")
    with pytest.raises(
        GitHubError, match=r"POST /repos/octo/service/deployments/999/statuses: 404 Not Found"
    ):
        deployments.finish_deployment(client, 999, "success")


# ---- check runs ---------------------------------------------------------------------------------------
def test_120_annotations_go_out_in_batches_of_50(client, api):
    notes = [checks.Annotation("src/app.py", line, f"problem {line}") for line in range(1, 121)]
    run = checks.publish_check_run(
        client,
        name="lint",
        head_sha="a" * 40,
        conclusion="failure",
        title="lint: 120 problems",
        summary="see annotations",
        annotations=notes,
    )
    assert [r.split(" ")[0] for r in api.requests] == ["POST", "PATCH", "PATCH"]
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert run["output"]["annotations_count"] == 120
    listed = list(client.paginate(client.repo_path(f"/check-runs/{run['id']}/annotations")))
    assert [a["message"] for a in listed] == [f"problem {line}" for line in range(1, 121)]


def test_a_few_annotations_need_one_request(client, api):
    run = checks.publish_check_run(
        client, name="tests", head_sha="a" * 40, conclusion="success", title="ok", summary="all green"
    )
    assert api.requests == ["POST /repos/octo/service/check-runs"]
    assert run["conclusion"] == "success"


def test_failed_steps_of_a_result_point_at_their_line_in_the_pipeline_config(tmp_path):
    config = tmp_path / "pipeline.yml"
    config.write_text(
        "name: demo\nstages:\n  - name: test\n    jobs:\n      - name: unit\n        command: pytest\n"
    )
    result = {
        "status": "failed",
        "steps": [
            {"name": "lint", "status": "success", "exit_code": 0, "duration_seconds": 1.0},
            {
                "name": "unit",
                "status": "failed",
                "exit_code": 2,
                "duration_seconds": 3.25,
                "logs_url": "logs/unit.log",
            },
            {"name": "deploy", "status": "skipped", "exit_code": None, "duration_seconds": 0},
        ],
    }
    [note] = checks.annotations_from_result(result, str(config))
    assert (note.path, note.start_line, note.level) == (str(config), 5, "failure")
    assert note.message == "unit failed (exit code 2) after 3.2 s; log: logs/unit.log"
    assert checks.conclusion_of(result) == "failure"
    assert checks.conclusion_of({"status": "success"}) == "success"


# ---- workflow dispatch and runs -----------------------------------------------------------------------
def test_dispatch_list_get_cancel_and_wait(client, api):
    actions.dispatch(client, "rollback.yml", "main", {"environment": "staging", "reason": "bad release"})
    assert api.state["dispatches"][0]["inputs"] == {"environment": "staging", "reason": "bad release"}
    [run] = actions.list_runs(client, workflow="rollback.yml", event="workflow_dispatch")
    assert (run.status, run.head_branch) == ("queued", "main")
    actions.cancel_run(client, run.id)
    assert actions.get_run(client, run.id).conclusion == "cancelled"
    assert actions.wait_for_run(client, run.id, timeout=1, poll_interval=0.01).done
    assert actions.list_runs(client, status="queued") == []
    with pytest.raises(GitHubError, match="409 Cannot cancel a workflow run that is completed"):
        actions.cancel_run(client, run.id)


def test_waiting_for_a_run_that_never_finishes_times_out(client, api):
    actions.dispatch(client, "cd-staging.yml", "main")
    [run] = actions.list_runs(client)
    with pytest.raises(GitHubError, match=f"workflow run {run.id} still queued"):
        actions.wait_for_run(client, run.id, timeout=0.05, poll_interval=0.02)


def test_more_than_25_inputs_are_refused_before_calling(client, api):
    with pytest.raises(GitHubError, match="at most 25"):
        actions.dispatch(client, "ci.yml", "main", {f"i{n}": "x" for n in range(26)})
    assert api.requests == []


# ---- environments -------------------------------------------------------------------------------------
def test_environment_protection_is_put_as_github_expects(client, api):
    from cicd.github.environments import EnvironmentProtection, Reviewer, configure_environment

    protection = EnvironmentProtection(
        reviewers=(Reviewer.parse("team:42"), Reviewer.parse("user:7")),
        wait_minutes=5,
        prevent_self_review=True,
        protected_branches_only=True,
    )
    environment = configure_environment(client, "production", protection)
    assert environment["name"] == "production"
    stored = api.state["environments"][f"{REPO}/production"]["protection"]
    assert stored["reviewers"] == [{"type": "Team", "id": 42}, {"type": "User", "id": 7}]
    assert stored["deployment_branch_policy"] == {"protected_branches": True, "custom_branch_policies": False}
    with pytest.raises(GitHubError, match="at most 6"):
        EnvironmentProtection(reviewers=tuple(Reviewer("User", n) for n in range(7))).body()
    with pytest.raises(GitHubError, match="expected user:ID or team:ID"):
        Reviewer.parse("team:platform")


@pytest.mark.parametrize("after_acting", [True, False], ids=["answer-lost", "refused-before-acting"])
def test_a_lost_deployment_answer_is_looked_up_never_created_twice(client, api, after_acting):
    api.fail_next("POST", "/deployments$", 502, after_acting=after_acting)
    request = deployments.DeploymentRequest(ref="a" * 40, environment="staging", version="1.4.2", key="run-7")
    deployment_id = deployments.create_deployment(client, request)
    assert [d["id"] for d in api.state["deployments"]] == [deployment_id]
    posts = [r for r in api.requests if r.startswith("POST")]
    assert len(posts) == (1 if after_acting else 2)


def test_dispatch_is_checked_against_the_repository_workflow_files(client, api):
    with pytest.raises(GitHubError, match="404 Not Found"):
        actions.dispatch(client, "no-such.yml", "main")
    with pytest.raises(GitHubError, match="422 Workflow does not have 'workflow_dispatch' trigger"):
        actions.dispatch(client, "ci.yml", "main")
    with pytest.raises(GitHubError, match=r"422 Unexpected inputs provided: \['colour'\]"):
        inputs = {"environment": "staging", "reason": "r", "colour": "x"}
        actions.dispatch(client, "rollback.yml", "main", inputs)
    with pytest.raises(GitHubError, match="422 Required input 'reason' not provided"):
        actions.dispatch(client, "rollback.yml", "main", {"environment": "staging"})
    assert api.state["dispatches"] == []


def test_a_job_token_without_the_permission_gets_403(client, api):
    # GITHUB_TOKEN carries its job's `permissions:`; a job that forgot `deployments: write` is refused.
    api.issue_token(DEFAULT_TOKEN, {"contents": "read", "deployments": "read"})
    assert deployments.latest_deployments(client, "staging") == []
    request = deployments.DeploymentRequest(ref="a" * 40, environment="staging", version="1.0.0", key="k")
    with pytest.raises(GitHubError, match="403 Resource not accessible by integration"):
        deployments.create_deployment(client, request)
    assert api.state["forbidden"] == ["POST /repos/octo/service/deployments"]
    assert api.state["deployments"] == []
