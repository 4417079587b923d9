"""auto-merge.yml run by act on a workflow_run event, as GitHub sends it after CI finished on a Dependabot
pull request: the job's own token (its `permissions:`) reads the pull request over GraphQL and turns on
auto-merge with the repository's config/automerge.yml; the decision lands in the comment and the ledger."""

import json
import socket
import subprocess
import sys
import time

import pytest
from tests.support import github_api as standin_module
from tests.support import github_graphql

from .conftest import REPO, TOKEN, Act, GitHubStandIn, commit, free_port, git

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def seeded_api(tmp_path):
    """The stand-in as a process, started on a state that already holds Dependabot's pull request #7
    and a clean history of CI runs (each passed on its first attempt)."""
    state = standin_module.empty_state()
    github_graphql.add_pull_request(state, "acme/sample", 7, files={"constraints.txt": (1, 1)})
    state["workflows"]["ci.yml"] = 500
    state["workflow_runs"] = [
        {"id": 9000 + n, "repo": "acme/sample", "workflow": "ci.yml", "workflow_id": 500, "run_number": n,
         "run_attempt": 1, "head_branch": "main", "head_sha": "0" * 40, "event": "push",
         "status": "completed", "conclusion": "success", "created_at": "2026-11-01T00:00:00Z"}
        for n in range(1, 11)
    ]
    state_file = tmp_path / "github-state.json"
    state_file.write_text(json.dumps(state))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "github_api.py"), "--port", str(port),
         "--state-file", str(state_file), "--token", TOKEN],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield GitHubStandIn(f"http://127.0.0.1:{port}", state_file, process)
    process.terminate()
    process.wait(timeout=10)


def workflow_run_event(repo) -> dict:
    full = {"full_name": "acme/sample", "name": "sample", "owner": {"login": "acme"}}
    return {
        "action": "completed",
        "workflow_run": {
            "name": "CI", "event": "pull_request", "conclusion": "success",
            "head_branch": "dependabot/pip/requests-2.32.3", "head_sha": git(repo, "rev-parse", "HEAD"),
            "head_repository": full, "pull_requests": [{"number": 7}],
        },
        "repository": full,
    }


def test_after_ci_the_trust_gate_turns_on_auto_merge_with_the_jobs_own_token(
    tmp_path, sample_repo, seeded_api
):
    # The stand-in's repository has no track record (an empty ledger, as on a fresh runner): the shipped
    # threshold of 75 wants some (tests/unit/github/test_automerge_no_history.py); this repository's
    # policy accepts a clean, small change without one.
    policy = sample_repo / "config" / "automerge.yml"
    assert "threshold: 75 " in policy.read_text()
    policy.write_text(policy.read_text().replace("threshold: 75 ", "threshold: 70 "))
    commit(sample_repo, "chore: auto-merge clean small changes before any track record")
    work = tmp_path / "work"
    work.mkdir()
    act = Act(sample_repo, work, seeded_api.url)
    run = act.run("workflow_run", "auto-merge.yml", workflow_run_event(sample_repo))
    assert run.returncode == 0, run.output[-6000:]
    state = seeded_api.state()
    assert state["violations"] == [] and state["bugs"] == [] and not state.get("forbidden")
    (pull,) = state["pull_requests"]
    assert pull["auto_merge"]["mergeMethod"] == "SQUASH"  # the repository's policy: squash
    (comment,) = state["comments"]
    assert "### Trust-gated auto-merge: trust score 74.9 >= threshold 70: merge" in comment["body"]
    assert "**Result:** auto-merge enabled" in comment["body"]
    flakes = "| flakes | 10 | 1.00 | 0 of the last 10 ci.yml runs passed only on a re-run (0%) |"
    assert flakes in comment["body"]
    (job,) = state["jobs"]  # the GraphQL calls were made with this job's token and its permissions
    assert job["permissions"]["contents"] == job["permissions"]["pull-requests"] == "write"
