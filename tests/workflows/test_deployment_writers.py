"""GitHub's deployments are records the trust gate and promotion read back (cicd.trust.github_record,
cicd workflows staged), and any token with `deployments: write` can write them, whatever the Environment's
rules. So only the jobs that deploy, or call deploy.yml, or record an automatic rollback hold it."""

import pytest

pytestmark = pytest.mark.workflows

WRITERS = {
    ("deploy.yml", "deploy"),  # the run's one GitHub deployment and its statuses
    ("cd-staging.yml", "deploy"), ("cd-production.yml", "deploy"), ("rollback.yml", "rollback"),
    ("ci.yml", "staging"),  # callers of deploy.yml grant what its deploy job asks
    ("promotion-monitor.yml", "advance"),  # an automatic rollback, recorded as deploy:rollback
}


def test_only_the_deploying_jobs_may_write_githubs_deployments(workflows):
    found = set()
    for name, workflow in workflows.items():
        assert (workflow.get("permissions") or {}).get("deployments") != "write", name
        for job_id, job in workflow["jobs"].items():
            permissions = job.get("permissions")
            assert permissions is not None, f"{name}: {job_id} inherits the token's default permissions"
            if permissions.get("deployments") == "write":
                found.add((name, job_id))
    assert found == WRITERS
