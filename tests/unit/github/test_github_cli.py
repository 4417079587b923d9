"""`cicd github ...` as the workflows call it: in-process against the stand-in, and as processes
against the stand-in started as a script (the way act-based tests run it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.github_api import DEFAULT_TOKEN

from cicd.cli import main
from cicd.errors import GitHubError

ROOT = Path(__file__).resolve().parents[3]
REPO = "octo/service"
RESULT = {
    "pipeline_id": "run-1",
    "name": "sample-service",
    "status": "failed",
    "duration_seconds": 4.0,
    "steps": [
        {"name": "lint", "status": "success", "exit_code": 0, "duration_seconds": 1.5, "logs_url": ""},
        {"name": "unit", "status": "failed", "exit_code": 1, "duration_seconds": 2.5, "logs_url": ""},
    ],
}


@pytest.fixture
def actions_env(github_env, tmp_path, monkeypatch):
    """What a pull_request run of GitHub Actions provides."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 12, "pull_request": {"number": 12, "head": {"sha": "c" * 40}}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    return tmp_path


def outputs(tmp_path: Path) -> str:
    return (tmp_path / "output").read_text()


def test_comment_takes_the_pull_request_from_the_event(actions_env, api, capsys):
    body = actions_env / "body.md"
    body.write_text("all green")
    assert main(["github", "comment", "--key", "ci", "--body-file", str(body)]) == 0
    assert main(["github", "comment", "--key", "ci", "--body-file", str(body)]) == 0
    assert len(api.comments(REPO, 12)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("created comment") and lines[1].startswith("unchanged comment")
    assert "comment_id<<" in outputs(actions_env)


def test_comment_renders_the_ci_report_from_a_result(actions_env, api):
    result = actions_env / "result.json"
    result.write_text(json.dumps(RESULT))
    assert main(["github", "comment", "--pr", "5", "--result", str(result)]) == 0
    [comment] = api.comments(REPO, 5)
    assert "| unit | ❌ failed | 1 | 2.5 s |" in comment["body"]
    assert "actions/runs/4242" in comment["body"]


def test_deployment_start_prints_the_id_and_sets_the_step_output(actions_env, api, capsys):
    code = main(
        [
            "github",
            "deployment",
            "start",
            "--env",
            "staging",
            "--version",
            "1.2.3",
            "--digest",
            "sha256:" + "d" * 64,
            "--url",
            "http://127.0.0.1:8080",
        ]
    )
    assert code == 0
    deployment_id = int(capsys.readouterr().out.strip())
    assert "deployment_id<<" in outputs(actions_env) and f"\n{deployment_id}\n" in outputs(actions_env)
    assert api.state["deployments"][0]["ref"] == "c" * 40  # the pull request head from the event
    assert main(["github", "deployment", "finish", "--id", str(deployment_id), "--state", "success"]) == 0
    states = [s["state"] for s in api.statuses(deployment_id)]
    assert states == ["in_progress", "success"]
    assert api.statuses(deployment_id)[1]["log_url"] == "https://github.com/octo/service/actions/runs/4242"


def test_check_run_from_a_result(actions_env, api, capsys):
    result = actions_env / "result.json"
    result.write_text(json.dumps(RESULT))
    assert main(["github", "check-run", "--name", "pipeline", "--result", str(result)]) == 0
    [run] = api.state["check_runs"]
    assert (run["head_sha"], run["conclusion"]) == ("c" * 40, "failure")
    assert [a["title"] for a in run["annotations"]] == ["job unit failed"]
    assert "1 annotations" in capsys.readouterr().out


def test_api_errors_exit_1_with_one_line(actions_env, api, capsys):
    assert main(["github", "deployment", "finish", "--id", "999", "--state", "failure"]) == 1
    err = capsys.readouterr().err
    assert err == "error: GitHub API POST /repos/octo/service/deployments/999/statuses: 404 Not Found\n"


def test_missing_pull_request_is_a_usage_error(github_env, tmp_path, capsys):
    body = tmp_path / "b.md"
    body.write_text("x")
    assert main(["github", "comment", "--body-file", str(body)]) == 2
    assert "no pull request" in capsys.readouterr().err


def test_dispatch_and_runs(actions_env, api, capsys):
    assert (
        main(
            [
                "github",
                "dispatch",
                "--workflow",
                "rollback.yml",
                "--ref",
                "main",
                "--input",
                "environment=staging",
                "--input",
                "reason=drill",
            ]
        )
        == 0
    )
    assert main(["github", "runs", "list", "--json"]) == 0
    run = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert run["status"] == "queued" and run["event"] == "workflow_dispatch"
    assert main(["github", "runs", "cancel", str(run["id"])]) == 0
    assert (
        main(["github", "runs", "wait", str(run["id"]), "--interval", "0.01"]) == 1
    )  # cancelled, not success
    assert main(["github", "dispatch", "--workflow", "ci.yml", "--input", "oops"]) == 2


def test_stand_in_as_a_process_records_what_cicd_did(tmp_path):
    """The act setup: the stand-in runs as a script, cicd runs as a process, the test reads the state."""
    state_file = tmp_path / "state.json"
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests/support/github_api.py"),
            "--port",
            "0",
            "--state-file",
            str(state_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().split()[-1]
        env = {
            **os.environ,
            "GITHUB_API_URL": url,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_TOKEN": DEFAULT_TOKEN,
            "GITHUB_SHA": "e" * 40,
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(tmp_path / "out"),
        }
        env.pop("GITHUB_EVENT_PATH", None)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "cicd",
                "github",
                "deployment",
                "start",
                "--env",
                "staging",
                "--version",
                "9",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert f"::add-mask::{DEFAULT_TOKEN}" in done.stdout  # the runner hides the token from here on
    finally:
        server.terminate()
        server.wait(timeout=10)
    state = json.loads(state_file.read_text())
    assert state["violations"] == [] and state["bugs"] == []
    assert state["deployments"][0]["sha"] == "e" * 40
    assert [s["state"] for s in state["deployment_statuses"]] == ["in_progress"]


def test_verb_module_imports_nothing_heavy():
    """`cicd --version` stays fast: requests and pydantic load only when a github verb runs."""
    code = (
        "import sys, cicd.cli.github, cicd.github, cicd.report, cicd.gha; "
        "print(sorted(m for m in ('requests', 'urllib3', 'pydantic') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "[]"


def test_comment_without_a_pull_request_can_be_skipped(github_env, tmp_path, capsys):
    body = tmp_path / "b.md"
    body.write_text("x")
    assert main(["github", "comment", "--skip-without-pr", "--body-file", str(body)]) == 0
    assert "comment skipped" in capsys.readouterr().out
    assert github_env.requests == []


def test_a_fork_pull_request_with_a_read_only_token_warns_instead_of_failing(
    github_env, tmp_path, monkeypatch, capsys
):
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": 3,
                    "head": {"sha": "f" * 40, "repo": {"full_name": "fork/service"}},
                    "base": {"repo": {"full_name": REPO}},
                }
            }
        )
    )
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    github_env.fail_next(
        "GET", "/issues/3/comments$", 403, body={"message": "Resource not accessible by integration"}
    )
    body = tmp_path / "b.md"
    body.write_text("x")
    assert main(["github", "comment", "--body-file", str(body)]) == 0
    assert "::warning::cannot comment on #3 from a fork" in capsys.readouterr().out
    github_env.fail_next("GET", "/issues/3/comments$", 404, body={"message": "Not Found"})
    assert main(["github", "comment", "--body-file", str(body)]) == 1  # other errors still fail


def test_pagination_never_follows_a_link_off_the_api(client, api):
    api.add_comment(REPO, 4, "a")
    api.fail_next(
        "GET", "/issues/4/comments$", 200, body=[], headers={"link": '<https://evil.example/x>; rel="next"'}
    )
    with pytest.raises(GitHubError, match="next page outside"):
        list(client.paginate(client.repo_path("/issues/4/comments")))
