"""The reusable deploy workflow's steps: inputs from the environment, argv as data, the summary."""

import pytest

from cicd.errors import CicdError, UsageError
from cicd.workflows.deploy_step import DeployInputs, run_argv, summary
from cicd.workflows.staged import commit_for, pick

BASE = {"CICD_ENVIRONMENT": "staging", "CICD_CONFIG_DIR": "config"}


def test_deploy_argv_ships_the_checked_out_service_on_a_process_runtime():
    inputs = DeployInputs.from_env({**BASE, "CICD_VERSION": "1.2.0-abc1234",
                                    "CICD_ARTIFACT": "ghcr.io/acme/app@sha256:" + "a" * 64,
                                    "CICD_REASON": "staging deploy of abc1234"})
    assert run_argv(inputs) == ["cicd", "deploy", "--env", "staging", "--version", "1.2.0-abc1234",
                                "--config-dir", "config", "--reason", "staging deploy of abc1234"]


def test_rollback_argv_defaults_to_the_previous_version_and_keeps_values_as_single_items():
    inputs = DeployInputs.from_env({**BASE, "CICD_OPERATION": "rollback", "CICD_REASON": "bad; rm -rf /"})
    assert run_argv(inputs) == ["cicd", "rollback", "--env", "staging", "--config-dir", "config",
                                "--reason", "bad; rm -rf /"]
    inputs = DeployInputs.from_env({**BASE, "CICD_OPERATION": "rollback", "CICD_VERSION": "1.0.0"})
    assert run_argv(inputs)[6:8] == ["--to", "1.0.0"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "needs an environment"),
        ({**BASE, "CICD_OPERATION": "destroy"}, "operation must be one of deploy, rollback"),
        ({**BASE, "CICD_OPERATION": "deploy"}, "a deploy needs a version"),
    ],
)
def test_bad_inputs_are_usage_errors(env, message):
    with pytest.raises(UsageError, match=message):
        DeployInputs.from_env(env)


def test_summary_shows_before_and_after():
    inputs = DeployInputs.from_env({**BASE, "CICD_OPERATION": "rollback", "CICD_REASON": "drill"})
    text = summary(inputs, {"current_version": "1.1.0", "live_color": "green"},
                   {"current_version": "1.0.0", "live_color": "blue", "previous_version": "1.1.0"}, "success")
    assert "### ✅ rollback `staging`: success" in text
    assert "| version | `1.1.0` | `1.0.0` |" in text and "| live color | `green` | `blue` |" in text
    assert "Reason: drill" in text


HISTORY = [
    {"version": "1.2.0", "status": "rolled_back", "artifact": "img@sha256:c", "digest": "sha256:c"},
    {"version": "1.1.0", "status": "success", "artifact": "img@sha256:b", "digest": "sha256:b"},
    {"version": "1.0.0", "status": "success", "artifact": "img@sha256:a", "digest": "sha256:a"},
]


def test_promotion_takes_what_staging_verified():
    assert pick(HISTORY, "", "1.1.0").digest == "sha256:b"
    assert pick(HISTORY, "1.0.0", "1.1.0").artifact == "img@sha256:a"
    with pytest.raises(CicdError, match=r"'1\.2\.0' was never deployed successfully to staging"):
        pick(HISTORY, "1.2.0", "1.1.0")
    with pytest.raises(CicdError, match="nothing is deployed to staging yet"):
        pick([], "", "")


def test_a_staged_version_names_its_commit(tmp_path):
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin"}

    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                              text=True, env=env).stdout.strip()

    git("init", "-q", "-b", "main")
    git("commit", "-q", "--allow-empty", "-m", "one")
    first = git("rev-parse", "HEAD")
    git("tag", "v2.0.0")
    git("commit", "-q", "--allow-empty", "-m", "two")
    assert commit_for(f"1.0.0-{first[:7]}", str(tmp_path)) == first
    assert commit_for("2.0.0", str(tmp_path)) == first
    assert commit_for("3.0.0", str(tmp_path)) == ""
    assert commit_for("1.0.0-deadbee", str(tmp_path)) == ""
