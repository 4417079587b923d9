"""`cicd drill` on a real blue-green deploy behind nginx: deploy, roll back through the real path, roll
forward; the time to restore and the outcome in the ledger; refused while locked and on production."""

from __future__ import annotations

import json

import pytest
from tests.integration.deploy.deploy_harness import Project, live_version

pytestmark = pytest.mark.integration


def drills(project: Project, env: str) -> list[dict]:
    audit = project.cicd("audit", "show", "--env", env, "--json")
    return [entry for line in audit.stdout.splitlines() if (entry := json.loads(line))["action"] == "drill"]


def test_drill_restores_the_previous_release_and_rolls_forward(tmp_path):
    project = Project(tmp_path)
    try:
        project.add_env("staging", drill={"max_age_days": 7})
        project.must_deploy("staging", "1.0.0")
        # 2.0.0 is content the default artifact does not have (a CI package): drilled as released
        own_content = project.artifact("own-2.0.0", patch="pass  # the content 2.0.0 was released with")
        project.must_deploy("staging", "2.0.0", "--artifact", str(own_content))

        drill = project.cicd("drill", "--env", "staging", "--reason", "weekly")
        assert drill.returncode == 0, drill.stdout + drill.stderr
        assert "drill passed in staging: 2.0.0 -> 1.0.0 -> 2.0.0" in drill.stdout
        assert live_version(project, "staging") == "2.0.0"
        [entry] = drills(project, "staging")
        assert entry["outcome"] == "passed" and entry["version"] == "2.0.0"
        assert entry["details"]["rolled_back_to"] == "1.0.0"
        assert [leg["leg"] for leg in entry["details"]["legs"]] == ["deploy", "rollback", "roll forward"]
        assert 0 < entry["details"]["restore_ms"] < 60_000
        audit = project.cicd("audit", "show", "--env", "staging", "--json").stdout
        entries = [json.loads(line) for line in audit.splitlines()]
        good = [e["version"] for e in entries if e["action"] == "release.known_good"]
        assert good.count("2.0.0") == 2  # known good again after the roll forward's verification
        last = project.cicd("drill", "--env", "staging", "--last")
        assert last.returncode == 0 and "last passed drill in staging" in last.stdout, last.stderr
        status = project.cicd("status", "--env", "staging")
        assert status.returncode == 0 and "overdue" not in status.stderr, status.stderr
        overdue = project.cicd("drill", "--env", "staging", "--last", "--max-age-days", "0")
        assert overdue.returncode == 1 and "rollback drills are overdue in staging" in overdue.stderr
        history = json.loads(project.cicd("history", "--env", "staging", "--json").stdout)
        assert [(d["kind"], d["version"]) for d in history[:3]] == [
            ("deploy", "2.0.0"), ("rollback", "1.0.0"), ("deploy", "2.0.0"),
        ]  # the real path: the rollback is in the deployment history like any other

        held = project.cicd("lock", "--env", "staging", "--reason", "freeze")
        assert held.returncode == 0, held.stderr
        refused = project.cicd("drill", "--env", "staging")
        assert refused.returncode == 1 and "a drill never runs beside a deploy" in refused.stderr
        assert len(drills(project, "staging")) == 1  # nothing happened, nothing recorded

        env = dict(project.envs["staging"], name="prod", type="production")
        project.write_env(env)
        prod = project.cicd("drill", "--env", "prod")
        assert prod.returncode == 2 and "--production --reason" in prod.stderr
    finally:
        project.shut_down()


def test_a_drill_without_a_release_to_go_back_to_fails_and_says_so(tmp_path):
    project = Project(tmp_path)
    try:
        project.add_env("staging", drill={"max_age_days": 7})
        project.must_deploy("staging", "1.0.0")
        status = project.cicd("status", "--env", "staging")  # deploy.drill set: drills are expected here
        assert "warning: rollback drills are overdue in staging: no drill has passed yet" in status.stderr
        drill = project.cicd("drill", "--env", "staging")
        assert drill.returncode == 1 and "at the rollback" in drill.stderr
        assert "no known-good release other than 1.0.0" in drill.stderr
        [entry] = drills(project, "staging")
        assert entry["outcome"] == "failed" and entry["details"]["failed_leg"] == "rollback"
        never = project.cicd("drill", "--env", "staging", "--last")
        assert never.returncode == 1 and "no drill has passed yet" in never.stderr
        assert live_version(project, "staging") == "1.0.0"
    finally:
        project.shut_down()
