"""Scenarios as GitHub runs them: every job on a fresh runner, so nothing passes between jobs or runs
except GitHub's API (the schema-checked stand-in), artifacts and the deploy target.

- promotion when the machines that deployed staging are gone: production, two sshd hosts in network
  namespaces whose key exists only as the DEPLOY_SSH_KEY secret, gets exactly the version and commit
  staging's GitHub deployment names (nothing of staging exists here), twice; then a rollback by
  dispatch brings both hosts back;
- production whose GitHub Environment has no required reviewer is refused before anything changes;
- cd-staging dispatched from a feature branch is refused before an image is built.
The full path (push, staging, rollback by dispatch, promotion) is tests/e2e/test_cd.py; an external
repository calling deploy.yml with a mapped secret is tests/e2e/test_reusable_deploy.py (both also
carry this marker).
"""

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

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


def promote(act, version="", extra=None):
    payload = {**DISPATCH, "inputs": {"version": version, "reason": "weekly release"}}
    return act.run("workflow_dispatch", "cd-production.yml", payload, extra=extra)


@pytest.fixture
def two_hosts(tmp_path):
    """Production on two sshd hosts, each in its own network namespace; the client key is returned
    for the test to hand over as the DEPLOY_SSH_KEY secret only (the environment file names none)."""
    from tests.integration.support.sshd import SSHD, SshdFleet

    if os.geteuid() != 0 or shutil.which("ip") is None or not Path(SSHD).exists():
        pytest.skip("hosts in network namespaces need root, iproute2 and sshd (.ci/run has them)")
    fleet = SshdFleet(tmp_path / "sshd")
    try:
        hosts = [fleet.start("web-1", isolated=True), fleet.start("web-2", isolated=True)]
        yield hosts, fleet.client_key.read_text()
    finally:
        fleet.shut_down()


def write_ssh_production(repo, hosts) -> int:
    from tests.integration.support.fleet import free_ports, process_deploy

    specs = [{k: v for k, v in host.spec().items() if k != "identity_file"} for host in hosts]
    ports = free_ports(4)
    environment = {
        "name": "production", "type": "production", "url": f"http://127.0.0.1:{ports[2]}",
        "approval": {"required": True, "reviewers": ["team:42"], "prevent_self_review": True},
        "deploy": process_deploy(specs, ports),
    }
    (repo / "config" / "environments" / "production.yml").write_text(yaml.safe_dump(environment))
    return ports[2]


def served(host, listen_port):
    result = host.ssh_host().run(["curl", "-sS", "--max-time", "3", f"http://127.0.0.1:{listen_port}/version"],
                                 check=False)
    return json.loads(result.stdout)["version"] if result.ok else None


def test_promotion_to_two_ssh_hosts_from_githubs_record_then_rollback_by_dispatch(act, github_api, two_hosts):
    hosts, key = two_hosts
    listen = write_ssh_production(act.repo, hosts)
    sha = commit(act.repo, "chore: production on two hosts")
    apply_environment(act.repo, github_api.url)
    # Staging ran on runners that no longer exist: only its GitHub deployments remain. The hosts' key
    # exists only as the secret handed to the run (as a production Environment secret would be).
    secret = ["-s", f"DEPLOY_SSH_KEY={key}"]
    for version in ("2.0.0", "2.1.0"):
        record_staging_deploy(github_api.url, version, sha, DIGEST)
        run = promote(act, version, extra=secret)
        assert run.returncode == 0, run.output[-8000:]
        assert [served(host, listen) for host in hosts] == [version, version]
    assert f"ref={sha}" in run.output and "the DEPLOY_SSH_KEY secret arrived" in run.output
    assert key.strip().splitlines()[1] not in run.output  # the key itself is never printed
    dispatch = {**DISPATCH, "inputs": {"environment": "production", "version": "", "reason": "drill"}}
    run = act.run("workflow_dispatch", "rollback.yml", dispatch, extra=secret)
    assert run.returncode == 0, run.output[-8000:]
    assert [served(host, listen) for host in hosts] == ["2.0.0", "2.0.0"]
    state = github_api.state()
    assert state["violations"] == [] and state["bugs"] == []
    production = [(d["task"], d["payload"]["version"], d["sha"]) for d in state["deployments"]
                  if d["environment"] == "production"]
    assert production == [("deploy", "2.0.0", sha), ("deploy", "2.1.0", sha),
                          ("deploy:rollback", "2.0.0", sha)]


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
