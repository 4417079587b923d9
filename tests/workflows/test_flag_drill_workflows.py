"""The kill switch (flags.yml), the weekly rollback drill (drill.yml) and the rollback's postmortem
(deploy.yml writes it where the state is, rollback.yml posts it): what they run, with which inputs,
permissions and concurrency group; and the kill switch's input check, run for real in bash."""

import os
import subprocess

import pytest

from .conftest import REPO, triggers

pytestmark = pytest.mark.workflows


def step_running(job: dict, command: str) -> dict:
    (step,) = [s for s in job["steps"] if command in s.get("run", "")]
    return step


def test_the_kill_switch_runs_cicd_flags_inside_the_environment_with_inputs_through_env(workflows):
    flags = workflows["flags.yml"]
    inputs = triggers(flags)["workflow_dispatch"]["inputs"]
    envs = sorted(p.stem for p in (REPO / "config" / "environments").glob("*.yml"))
    assert inputs["environment"]["type"] == "choice" and sorted(inputs["environment"]["options"]) == envs
    assert inputs["flag"]["required"] is True and inputs["reason"]["required"] is True
    assert inputs["action"]["options"] == ["disable", "enable"] and inputs["action"]["default"] == "disable"
    (job,) = flags["jobs"].values()
    assert job["environment"]["name"] == "${{ inputs.environment }}"  # its reviewers and secrets apply
    assert job["permissions"] == {"contents": "read"}
    assert job["env"] == {
        "CICD_ENVIRONMENT": "${{ inputs.environment }}", "FLAG": "${{ inputs.flag }}",
        "ACTION": "${{ inputs.action }}", "REASON": "${{ inputs.reason }}",
    }
    change = step_running(job, 'cicd flags "${ACTION}"')
    assert change["run"] == (
        'cicd flags "${ACTION}" "${FLAG}" --env "${CICD_ENVIRONMENT}" --reason "${REASON}"'
    )
    assert job["steps"].index(change) > job["steps"].index(step_running(job, 'case "${ACTION}"'))
    # a group of each run's own: a queued flag change is never cancelled by the next dispatch
    group = flags["concurrency"]
    assert "github.run_id" in group["group"] and group["cancel-in-progress"] is False


@pytest.mark.parametrize(
    ("action", "flag", "accepted"),
    [
        ("disable", "quote-v2", True),
        ("enable", "checkout.v2:beta_1", True),
        ("disable", "--help", False),  # would read as an option
        ("disable", "x; rm -rf /", False),
        ("disable", "$(id)", False),
        ("disable", "", False),
        ("delete", "quote-v2", False),
    ],
)
def test_the_kill_switch_checks_its_inputs_before_anything_runs(workflows, action, flag, accepted):
    (job,) = workflows["flags.yml"]["jobs"].values()
    check = job["steps"][0]
    env = {"PATH": os.environ["PATH"], "ACTION": action, "FLAG": flag}
    result = subprocess.run(["bash", "-e", "-c", check["run"]], env=env, capture_output=True, text=True)
    assert (result.returncode == 0) is accepted, result.stdout + result.stderr
    if not accepted:
        assert result.returncode == 2 and result.stdout.startswith("::error::")


def test_the_weekly_drill_holds_the_group_staging_deploys_hold(workflows):
    drill = workflows["drill.yml"]
    on = triggers(drill)
    _minute, _hour, day, month, weekday = on["schedule"][0]["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit()  # once a week
    assert "workflow_dispatch" in on
    (job,) = drill["jobs"].values()
    assert job["environment"]["name"] == "staging"
    # deploy.yml's deploy job takes format('deploy-{0}', inputs.environment): for staging, this group
    deploys = workflows["deploy.yml"]["jobs"]["deploy"]["concurrency"]["group"]
    assert "format('deploy-{0}', inputs.environment)" in deploys
    assert job["concurrency"] == {"group": "deploy-staging", "cancel-in-progress": False}
    assert job["permissions"] == {"contents": "read", "packages": "read"}
    assert step_running(job, "cicd drill --env staging --reason")["run"].endswith('--reason "${REASON}"')
    assert step_running(job, "cicd drill --env staging --last")["if"] == "always()"


def test_the_rollback_writes_its_postmortem_where_the_state_is_and_posts_it_on_the_issue(workflows):
    deploy = workflows["deploy.yml"]["jobs"]["deploy"]
    write = step_running(deploy, "cicd postmortem")
    assert write["if"] == "always() && inputs.operation == 'rollback'" and write["continue-on-error"] is True
    assert '--output "${RUNNER_TEMP}/postmortem/postmortem-${CICD_ENVIRONMENT}.md"' in write["run"]
    kept = "always() && steps.postmortem.outcome == 'success'"
    (keep,) = [s for s in deploy["steps"] if s.get("if") == kept]
    assert keep["uses"].startswith("actions/upload-artifact@")
    assert keep["with"]["name"] == "postmortem-${{ inputs.environment }}"

    jobs = workflows["rollback.yml"]["jobs"]
    post = jobs["postmortem"]
    assert post["needs"] == ["rollback"] and post["if"] == "always()"
    assert "environment" not in post  # no second approval for posting a comment
    assert post["permissions"] == {"contents": "read", "issues": "write"}
    fetch = next(s for s in post["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    assert fetch["with"]["name"] == keep["with"]["name"]
    attach = step_running(post, "cicd postmortem")
    assert attach["run"] == 'cicd postmortem --env "${CICD_ENVIRONMENT}" --from-file "${POSTMORTEM}" --issue'
    assert attach["env"]["POSTMORTEM"].endswith("/postmortem-${{ inputs.environment }}.md")
