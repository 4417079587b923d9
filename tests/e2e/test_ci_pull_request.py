"""CI on pull requests, run by act from the real ci.yml: a green run, and a run that a failing test
of the sample service turns red (the run fails, the report names the test, the PR comment says so)."""

import pytest

from .conftest import commit, pull_request_event

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def ci_jobs(run):
    return {name.split("/", 1)[1].strip(): result for name, result in run.job_results().items()}


def test_pull_request_ci_passes(act, github_api):
    run = act.run("pull_request", "ci.yml", pull_request_event(act.repo))
    assert run.returncode == 0, run.output[-6000:]
    jobs = ci_jobs(run)
    assert set(jobs.values()) == {"success"}, jobs
    expected = {"Code quality", "Security scan", "Integration tests", "Package", "Image build", "report"}
    assert expected <= set(jobs)
    assert sum(name.startswith("Unit tests (shard") for name in jobs) == 2
    assert "## CI report ✅ passed" in run.output
    state = github_api.state()
    assert state["violations"] == [] and state["bugs"] == []
    (comment,) = state["comments"]
    assert "CI report ✅ passed" in comment["body"]
    assert "```mermaid\nflowchart LR" in comment["body"]


def test_pull_request_with_a_failing_test_fails(act, github_api):
    tests = act.repo / "examples" / "service" / "tests" / "test_pricing.py"
    tests.write_text(tests.read_text().replace('"total": "10.00"', '"total": "10.01"'))
    commit(act.repo, "fix: a test that no longer holds")
    run = act.run("pull_request", "ci.yml", pull_request_event(act.repo))
    assert run.returncode != 0
    jobs = ci_jobs(run)
    assert "failure" in {r for name, r in jobs.items() if name.startswith("Unit tests (shard")}, jobs
    assert jobs["report"] == "failure"
    # Gated stages never ran on a red build.
    assert "Package" not in jobs and "Image build" not in jobs
    assert "::error file=examples/service/tests/test_pricing.py,line=" in run.output
    assert "test_quote_without_discount" in run.output
    state = github_api.state()
    assert state["violations"] == []
    (comment,) = state["comments"]
    assert "CI report ❌ failed" in comment["body"] and "test_quote_without_discount" in comment["body"]
