"""promotion-monitor.yml: scheduled, least privilege, outside the group production's deploys hold (the
target's lock orders an advance with a deploy), and driving only an environment that opted into automatic
promotion unless a person dispatches."""

import pytest

from .conftest import WORKFLOWS, load, triggers

pytestmark = pytest.mark.workflows


def test_the_monitor_advances_on_a_schedule_outside_the_deploy_group_with_least_privilege():
    workflow = load(WORKFLOWS / "promotion-monitor.yml")
    assert {"schedule", "workflow_dispatch"} <= set(triggers(workflow))
    mode, advance = workflow["jobs"]["mode"], workflow["jobs"]["advance"]
    assert "environment" not in mode and mode["permissions"] == {"contents": "read"}
    assert "cicd promotion mode" in " ".join(step.get("run", "") for step in mode["steps"])
    assert advance["needs"] == ["mode"]
    hands_off = "needs.mode.outputs.automatic == 'true'"
    assert advance["if"] == f"{hands_off} || github.event_name == 'workflow_dispatch'"
    assert advance["permissions"] == {"contents": "read", "deployments": "write"}
    # Never in deploy.yml's deploy-<environment> group, where a monitor queued every five minutes would
    # cancel a pending promotion (GitHub keeps one pending job per group); the target's lock orders them,
    # and an advance never waits for it.
    assert "concurrency" not in advance
    assert "deploy-" not in workflow["concurrency"]["group"]
    runs = [step.get("run", "") for step in advance["steps"]]
    assert any(run.startswith("cicd promotion advance") for run in runs)
    assert not any("--wait" in run for run in runs if run.startswith("cicd promotion advance"))
    # an automatic rollback is a GitHub deployment of the stable version, as a dispatched rollback is
    record = next(step for step in advance["steps"] if step.get("id") == "rollback")
    assert record["if"] == "failure() && steps.advance.outputs.rolled_back_to != ''"
    assert "--task deploy:rollback" in record["run"]
    assert record["env"]["VERSION"] == "${{ steps.advance.outputs.rolled_back_to }}"


def test_production_deploys_stay_approved_unless_automatic():
    text = (WORKFLOWS / "cd-production.yml").read_text()
    assert "promotion-monitor.yml" in text and "automatic: true" in text
    rollback = load(WORKFLOWS / "deploy.yml")["jobs"]["deploy"]["concurrency"]["group"]
    assert "format('rollback-{0}-{1}', inputs.environment, github.run_id)" in rollback  # never waits here
