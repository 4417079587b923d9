"""Scenarios as GitHub runs them: every job on a fresh runner, so nothing passes between jobs or runs
except GitHub's API (the schema-checked stand-in), artifacts and the deploy target.

- promotion when the machine that deployed staging is gone: production gets exactly what staging's
  GitHub deployment says (version, digest, commit on main), with no staging state anywhere here;
- production whose GitHub Environment has no required reviewer is refused before anything changes;
- cd-staging dispatched from a feature branch is refused before an image is built.
The full path (push, staging, rollback by dispatch, promotion) is tests/e2e/test_cd.py; an external
repository calling deploy.yml with a mapped secret is tests/e2e/test_reusable_deploy.py (both also
carry this marker).
"""

import pytest

from .conftest import (
    apply_environment,
    commit,
    git,
    live_version,
    record_staging_deploy,
    stop_environment,
    write_environment,
)

pytestmark = [pytest.mark.e2e, pytest.mark.github_real, pytest.mark.timeout(300)]
DIGEST = "sha256:" + "7" * 64
DISPATCH = {"ref": "refs/heads/main", "repository": {"full_name": "acme/sample"}}


@pytest.fixture
def production(act, tmp_path):
    url = write_environment(act.repo, tmp_path / "production-state", name="production")
    yield url
    stop_environment(act.repo, "production")


def promote(act, version=""):
    payload = {**DISPATCH, "inputs": {"version": version, "reason": "weekly release"}}
    return act.run("workflow_dispatch", "cd-production.yml", payload)


def test_promotion_reads_github_not_the_staging_runner(act, github_api, production):
    sha = commit(act.repo, "chore: production environment")
    version = f"1.0.0-{sha[:7]}"
    # Staging was deployed by a runner that no longer exists: only its GitHub deployment remains.
    record_staging_deploy(github_api.url, version, sha, DIGEST)
    apply_environment(act.repo, github_api.url)
    run = promote(act)
    assert run.returncode == 0, run.output[-8000:]
    assert live_version(production) == version
    assert f"digest={DIGEST}" in run.output and f"ref={sha}" in run.output  # from GitHub's record
    state = github_api.state()
    assert state["violations"] == [] and state["bugs"] == []
    [promoted] = [d for d in state["deployments"] if d["environment"] == "production"]
    # A process runtime runs the checkout of the commit staging verified: the commit is its identity,
    # and no digest is claimed for it (staging's was another artifact's).
    assert (promoted["payload"]["version"], promoted["sha"]) == (version, sha)
    assert "digest" not in promoted["payload"]


def test_production_without_required_reviewers_is_refused(act, github_api, production):
    sha = commit(act.repo, "chore: production environment")
    record_staging_deploy(github_api.url, f"1.0.0-{sha[:7]}", sha, DIGEST)
    run = promote(act)  # nobody applied production's protection: GitHub would let anyone deploy
    assert run.returncode != 0
    assert "does not enforce approval: the GitHub Environment 'production' does not exist" in run.output
    assert live_version(production) is None
    assert [d for d in github_api.state()["deployments"] if d["environment"] == "production"] == []


def test_staging_dispatched_from_a_feature_branch_is_refused(act, github_api):
    git(act.repo, "checkout", "-q", "-b", "feature/unreviewed")
    sha = commit(act.repo, "feat: not reviewed")
    payload = {"ref": "refs/heads/feature/unreviewed", "repository": {"full_name": "acme/sample"}}
    run = act.run("workflow_dispatch", "cd-staging.yml", payload)
    assert run.returncode != 0
    assert f"commit {sha[:12]} is not on origin/main" in run.output
    assert "⭐ Run Main Build and push" not in run.output
    assert github_api.state()["deployments"] == []
