"""Continuous delivery under act, against a real local staging environment (the sample service as
processes behind nginx on loopback, deployed by `cicd deploy` from the workflows):

- a pull request is merged through GitHub's API (the stand-in makes the merge commit on main);
- the push of that merge commit to main runs CI, then cd-staging builds the image once and deploys it
  through deploy.yml;
- cd-staging dispatched by hand deploys the next version blue-green;
- a workflow_dispatch of rollback.yml restores the previous version and reports before/after;
- a workflow_dispatch of cd-production.yml promotes what staging runs (its recorded digest, no build);
- a push of a version with a bug the unit tests miss passes CI, is deployed, fails verification
  after the switch and is rolled back automatically: the run fails and the good version stays live.
"""

import pytest

from .conftest import (
    api_call,
    apply_environment,
    commit,
    git,
    live_version,
    push_event,
    stop_environment,
    write_environment,
)

pytestmark = [pytest.mark.e2e, pytest.mark.github_real, pytest.mark.timeout(420)]

# A "refactor" that breaks quotes of exactly three items: no unit or integration test prices three.
BUG = ('    return Decimal("0")\n', '    return Decimal(0) / Decimal(quantity - 3)\n')


def bump(repo, version, message, *, bug=False):
    (repo / "examples" / "service" / "VERSION").write_text(f"{version}\n")
    if bug:
        pricing = repo / "examples" / "service" / "sample_service" / "pricing.py"
        pricing.write_text(pricing.read_text().replace(*BUG))
    sha = commit(repo, message)
    return f"{version}-{sha[:7]}"


def latest_deployment(github_api, environment):
    """(version, final state) of the newest GitHub deployment to `environment`."""
    state = github_api.state()
    assert state["violations"] == [] and state["bugs"] == []
    newest = [d for d in state["deployments"] if d["environment"] == environment][-1]
    statuses = [s["state"] for s in state["deployment_statuses"] if s["deployment_id"] == newest["id"]]
    return newest["payload"]["version"], statuses[-1]


@pytest.fixture
def staging(act, tmp_path):
    url = write_environment(act.repo, tmp_path / "staging-state")
    yield url
    stop_environment(act.repo)


@pytest.fixture
def production(act, tmp_path):
    url = write_environment(act.repo, tmp_path / "production-state", name="production")
    yield url
    stop_environment(act.repo, "production")


def test_push_deploys_then_rollback_dispatch_then_a_broken_push_rolls_back(act, github_api, staging,
                                                                           production):
    # (1) a pull request is merged on GitHub; the push of its merge commit to main deploys staging.
    git(act.repo, "checkout", "-q", "-b", "feature/local-staging")
    head = commit(act.repo, "chore: local staging environment")
    pull = api_call(github_api.url, "POST", "/repos/acme/sample/pulls",
                    {"title": "Local staging environment", "head": "feature/local-staging", "base": "main"})
    merge = f"/repos/acme/sample/pulls/{pull['number']}/merge"
    merged = api_call(github_api.url, "PUT", merge, {"sha": head})
    assert git(act.repo, "rev-parse", "HEAD") == git(act.repo, "rev-parse", "origin/main") == merged["sha"]
    first = f"1.0.0-{merged['sha'][:7]}"
    run = act.run("push", "ci.yml", push_event(act.repo))
    assert run.returncode == 0, run.output[-8000:]
    assert live_version(staging) == first

    second = bump(act.repo, "1.1.0", "feat: second release")
    run = act.run("workflow_dispatch", "cd-staging.yml",
                  {"ref": "refs/heads/main", "repository": {"full_name": "acme/sample"}})
    assert run.returncode == 0, run.output[-8000:]
    assert live_version(staging) == second
    assert latest_deployment(github_api, "staging") == (second, "success")

    # (3) the on-call engineer rolls back by hand: default target is the previous version.
    dispatch = {"inputs": {"environment": "staging", "version": "", "reason": "rollback drill"},
                "ref": "refs/heads/main", "repository": {"full_name": "acme/sample"}}
    run = act.run("workflow_dispatch", "rollback.yml", dispatch)
    assert run.returncode == 0, run.output[-8000:]
    assert live_version(staging) == first
    assert f"| version | `{second}` | `{first}` |" in run.output

    # Promotion: production gets the version live in staging, with the digest staging recorded in
    # its GitHub deployment, once the production Environment enforces approval.
    apply_environment(act.repo, github_api.url)
    run = act.run("workflow_dispatch", "cd-production.yml",
                  {"inputs": {"version": "", "reason": "weekly release"}, "ref": "refs/heads/main",
                   "repository": {"full_name": "acme/sample"}})
    assert run.returncode == 0, run.output[-8000:]
    assert live_version(production) == first
    assert "Build and push" not in run.output
    promoted = [d for d in github_api.state()["deployments"] if d["environment"] == "production"]
    assert [d["payload"]["version"] for d in promoted] == [first]

    # (2) a bug the tests miss: CI passes, verification catches it after the switch, traffic goes back.
    broken = bump(act.repo, "1.2.0", "refactor: simpler discounts", bug=True)
    run = act.run("push", "ci.yml", push_event(act.repo))
    assert run.returncode != 0
    jobs = run.job_results()
    assert jobs["CI/report                  "] == "success"
    assert any(name.startswith("Staging/Deploy") and result == "failure" for name, result in jobs.items())
    assert live_version(staging) == first
    assert broken in run.output and "roll" in run.output.lower()
    assert latest_deployment(github_api, "staging") == (broken, "failure")
    assert git(act.repo, "log", "-1", "--format=%s") == "refactor: simpler discounts"
