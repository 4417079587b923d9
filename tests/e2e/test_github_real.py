"""Scenarios as GitHub runs them: every job on a fresh runner, so nothing passes between jobs or runs
except GitHub's API (the schema-checked stand-in), artifacts and the deploy target.

Each job starts with GitHub's "Set up job" (tests/e2e/job_setup.py, see docs/CI_CD.md): its own token,
minted by the stand-in with the permissions its workflow file declares (403 beyond them), a wait for the
Environment's required reviewers (the pending_deployments API), a new empty HOME; act in host mode gives
it a new empty workspace. What stays short of GitHub: act does not queue by concurrency group (the groups
are recorded as evaluated per job and asserted), and the set-up step itself runs with the run's HOME.

- promotion when the machines that deployed staging are gone: production, two sshd hosts in network
  namespaces whose key exists only as the DEPLOY_SSH_KEY secret, gets exactly the version and commit
  staging's GitHub deployment names (nothing of staging exists here), twice; then a promotion waits for
  approval while a rollback by dispatch runs in its own concurrency group and brings both hosts back;
  approved afterwards, the promotion deploys nothing and names the rollback; dispatched anew and
  rejected, it never starts its deploy job;
- production whose GitHub Environment has no required reviewer is refused before anything changes;
- a job whose `permissions:` lack the scope it needs fails on GitHub's 403;
- cd-staging dispatched from a feature branch is refused before an image is built.
The full path (push, staging, rollback by dispatch, promotion) is tests/e2e/test_cd.py; an external
repository calling deploy.yml with a mapped secret is tests/e2e/test_reusable_deploy.py (both also
carry this marker).
"""

import json
import os
import shutil
import time
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
    fresh_runner_per_job(run.output)

    # A promotion of 2.2.0 waits for production's reviewers; meanwhile on-call rolls production back.
    record_staging_deploy(github_api.url, "2.2.0", sha, DIGEST)
    request = {**DISPATCH, "inputs": {"version": "2.2.0", "reason": "weekly release"}}
    waiting = act.start("workflow_dispatch", "cd-production.yml", request, extra=secret)
    wait_until(waiting.pending, "the promotion never waited for production's reviewers")
    dispatch = {**DISPATCH, "inputs": {"environment": "production", "version": "", "reason": "drill"}}
    run = act.run("workflow_dispatch", "rollback.yml", dispatch, extra=secret)
    assert run.returncode == 0, run.output[-8000:]
    assert [served(host, listen) for host in hosts] == ["2.0.0", "2.0.0"]
    # The rollback neither queued behind the waiting promotion nor replaced it: it ran in a concurrency
    # group of its own (as GitHub evaluates deploy.yml's expression), and the promotion still waits.
    assert [p["environment"]["name"] for p in waiting.pending()] == ["production"]
    groups = {j["run_id"]: j["concurrency"] for j in github_api.state()["jobs"] if j["environment"]}
    assert groups.pop(waiting.run_id) == "deploy-production"
    assert list(groups.values())[-1] == f"rollback-production-{list(groups)[-1]}"
    assert "concurrency" not in yaml.safe_load((act.repo / ".github/workflows/rollback.yml").read_text())

    # Approved after the rollback, the promotion deploys nothing and says why.
    assert waiting.review("approved", "looks good") == ["production"]
    run = waiting.wait()
    assert run.returncode != 0
    assert "production was rolled back to 2.0.0 after this deploy of 2.2.0 was requested" in run.output
    assert "dispatch the workflow again, or 'Re-run all jobs'" in run.output
    assert [served(host, listen) for host in hosts] == ["2.0.0", "2.0.0"]
    # Dispatched anew and rejected: nothing runs past the review.
    rejected = act.start("workflow_dispatch", "cd-production.yml",
                         {**DISPATCH, "inputs": {"version": "2.2.0", "reason": "retry"}}, extra=secret)
    assert rejected.review("rejected", "not during the incident") == ["production"]
    run = rejected.wait()
    assert run.returncode != 0 and "was rejected: not during the incident" in run.output
    assert "cicd deploy" not in run.output
    assert [served(host, listen) for host in hosts] == ["2.0.0", "2.0.0"]

    state = github_api.state()
    assert state["violations"] == [] and state["bugs"] == [] and state.get("forbidden", []) == []
    production = [(d["task"], d["payload"]["version"], d["sha"]) for d in state["deployments"]
                  if d["environment"] == "production"]
    assert production == [("deploy", "2.0.0", sha), ("deploy", "2.1.0", sha),
                          ("deploy:rollback", "2.0.0", sha)]


def fresh_runner_per_job(output: str) -> None:
    """Every job ran with a token of its own job's permissions, a HOME of its own and an empty workspace."""
    setups = [line for line in output.splitlines() if "| job token: " in line]
    assert len(setups) == 3, setups  # staged, gate, deploy
    homes = {line.split("; HOME ")[1].split(";")[0] for line in setups}
    assert len(homes) == 3 and all(line.endswith("holds 0 entries") for line in setups)
    assert any('job token: {"contents": "read", "deployments": "read"}' in line for line in setups)


def wait_until(condition, message: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.3)


def test_production_without_required_reviewers_is_refused(act, github_api, production):
    sha = commit(act.repo, "chore: production environment")
    record_staging_deploy(github_api.url, f"1.0.0-{sha[:7]}", sha, DIGEST)
    run = promote(act)  # nobody applied production's protection: GitHub would let anyone deploy
    assert run.returncode != 0
    assert "does not enforce approval: the GitHub Environment 'production' does not exist" in run.output
    assert live_version(production) is None
    assert [d for d in github_api.state()["deployments"] if d["environment"] == "production"] == []


def test_a_job_without_the_scope_it_needs_fails_with_githubs_403(act, github_api):
    # The staged job as if its author forgot `deployments: read`: its token cannot read staging's record.
    workflow = act.repo / ".github" / "workflows" / "cd-production.yml"
    declared = "      deployments: read # staging's GitHub deployments: the record of what it verified\n"
    assert declared in workflow.read_text()
    workflow.write_text(workflow.read_text().replace(declared, ""))
    sha = commit(act.repo, "ci: the staged job without deployments: read")
    record_staging_deploy(github_api.url, "3.0.0", sha, DIGEST)
    run = promote(act, "3.0.0")
    assert run.returncode != 0
    assert "403" in run.output and "Resource not accessible by integration" in run.output
    state = github_api.state()
    assert state["forbidden"] == ["GET /repos/acme/sample/deployments"]
    staged = next(job for job in state["jobs"] if job["job"] == "staged")
    assert staged["permissions"] == {"contents": "read"}
    assert not any(job["job"] == "gate" for job in state["jobs"])  # nothing ran past the failed job


def test_staging_dispatched_from_a_feature_branch_is_refused(act, github_api):
    git(act.repo, "checkout", "-q", "-b", "feature/unreviewed")
    sha = commit(act.repo, "feat: not reviewed")
    payload = {"ref": "refs/heads/feature/unreviewed", "repository": {"full_name": "acme/sample"}}
    run = act.run("workflow_dispatch", "cd-staging.yml", payload)
    assert run.returncode != 0
    assert f"commit {sha[:12]} is not on origin/main" in run.output
    assert "⭐ Run Main Build and push" not in run.output
    assert github_api.state()["deployments"] == []
