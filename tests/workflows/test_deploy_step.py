"""The reusable deploy workflow's steps: inputs from the environment, argv as data, the summary."""

from pathlib import Path

import pytest

from cicd.errors import UsageError
from cicd.workflows.deploy_step import DeployInputs, open_argv, run_argv, summary

REPO = Path(__file__).resolve().parents[2]
BASE = {"CICD_ENVIRONMENT": "staging", "CICD_CONFIG_DIR": "config"}


def test_deploy_argv_ships_the_checked_out_service_on_a_process_runtime():
    inputs = DeployInputs.from_env({**BASE, "CICD_VERSION": "1.2.0-abc1234",
                                    "CICD_ARTIFACT": "ghcr.io/acme/app@sha256:" + "a" * 64,
                                    "CICD_REASON": "staging deploy of abc1234"})
    assert run_argv(inputs) == ["cicd", "deploy", "--env", "staging", "--version", "1.2.0-abc1234",
                                "--config-dir", "config", "--reason", "staging deploy of abc1234"]


def test_rollback_argv_defaults_to_the_previous_version_and_keeps_values_as_single_items():
    inputs = DeployInputs.from_env({**BASE, "CICD_OPERATION": "rollback", "CICD_REASON": "bad; rm -rf /"})
    assert run_argv(inputs) == ["cicd", "rollback", "--env", "staging", "--config-dir", "config", "--wait",
                                "--reason", "bad; rm -rf /"]
    inputs = DeployInputs.from_env({**BASE, "CICD_OPERATION": "rollback", "CICD_VERSION": "1.0.0"})
    assert run_argv(inputs)[7:9] == ["--to", "1.0.0"]


def test_one_github_deployment_names_what_promotion_reads_back():
    deploy = DeployInputs.from_env({**BASE, "CICD_VERSION": "1.2.0", "CICD_DIGEST": "sha256:" + "d" * 64,
                                    "CICD_ARTIFACT": "ghcr.io/acme/app@sha256:" + "d" * 64})
    argv = open_argv(deploy, "f" * 40, {})
    assert argv[argv.index("--task") + 1] == "deploy" and argv[argv.index("--version") + 1] == "1.2.0"
    assert argv[argv.index("--artifact") + 1].startswith("ghcr.io/acme/app@sha256:")
    rollback = DeployInputs.from_env({**BASE, "CICD_OPERATION": "rollback", "CICD_REASON": "drill"})
    argv = open_argv(rollback, "f" * 40, {"current_version": "1.2.0", "previous_version": "1.1.0"})
    assert argv[argv.index("--task") + 1] == "deploy:rollback"
    assert argv[argv.index("--version") + 1] == "1.1.0"  # the version it goes back to
    # after a rollback, previous is the bad version: the deployment names status's known-good target
    after_rollback = {"current_version": "1.1.0", "previous_version": "1.2.0",
                      "rollback_target": {"version": "1.0.0", "how": "cold", "command": "cicd rollback"}}
    argv = open_argv(rollback, "f" * 40, after_rollback)
    assert argv[argv.index("--version") + 1] == "1.0.0"


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


def test_a_ci_built_archive_is_what_a_process_runtime_deploys(tmp_path, monkeypatch):
    import hashlib

    from cicd.errors import CicdError
    from cicd.workflows.deploy_step import with_package

    monkeypatch.chdir(REPO)  # config/environments/staging.yml: a process runtime
    inputs = DeployInputs.from_env({**BASE, "CICD_VERSION": "1.2.0", "CICD_PACKAGE": "sample-service-package",
                                    "CICD_DIGEST": "sha256:" + "e" * 64})
    folder = tmp_path / "cicd-package"
    folder.mkdir()
    with pytest.raises(CicdError, match=r"holds 0 \.tar\.gz files"):
        with_package(inputs, folder)
    (folder / "sample-service.tar.gz").write_bytes(b"archive bytes")
    packaged = with_package(inputs, folder)
    assert packaged.digest == "sha256:" + hashlib.sha256(b"archive bytes").hexdigest()
    argv = run_argv(packaged)
    assert argv[argv.index("--artifact") + 1] == str(folder / "sample-service.tar.gz")
    opened = open_argv(packaged, "f" * 40, {})
    assert opened[opened.index("--artifact") + 1] == "sample-service-package/sample-service.tar.gz"
    # Without the archive (a promotion in another run), the checkout of the commit runs: no digest claimed.
    source = with_package(DeployInputs.from_env({**BASE, "CICD_VERSION": "1.2.0", "CICD_DIGEST": "sha256:1",
                                                 "CICD_ARTIFACT": "pkg/a.tar.gz"}), folder)
    assert (source.artifact, source.digest) == ("", "") and "--artifact" not in run_argv(source)
    rollback = DeployInputs.from_env({**BASE, "CICD_OPERATION": "rollback", "CICD_PACKAGE": "x"})
    assert with_package(rollback, folder) is rollback  # a rollback runs what is already on the target


def test_an_environment_with_a_promotion_block_starts_a_promotion(tmp_path):
    environments = tmp_path / "environments"
    environments.mkdir()
    text = (REPO / "config" / "environments" / "production.yml").read_text()
    anchor = "  lock_ttl_seconds: 30\n"
    assert anchor in text
    promotion = "  promotion: {steps: [5, 25]}\n"
    (environments / "production.yml").write_text(text.replace(anchor, anchor + promotion))
    inputs = DeployInputs.from_env({"CICD_ENVIRONMENT": "production", "CICD_CONFIG_DIR": str(tmp_path),
                                    "CICD_VERSION": "1.3.0", "CICD_REASON": "promote"})
    assert run_argv(inputs)[:8] == ["cicd", "promotion", "start", "--wait", "--env", "production",
                                    "--version", "1.3.0"]


def test_a_hands_off_environment_needs_no_recorded_approval(tmp_path, monkeypatch, capsys):
    from cicd.workflows.deploy_step import step_approved

    environments = tmp_path / "environments"
    environments.mkdir()
    text = (REPO / "config" / "environments" / "production.yml").read_text()
    anchor = "  lock_ttl_seconds: 30\n"
    hands_off = "  promotion: {automatic: true}\n"
    (environments / "production.yml").write_text(text.replace(anchor, anchor + hands_off))
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)  # GitHub is not even asked
    inputs = DeployInputs.from_env({"CICD_ENVIRONMENT": "production", "CICD_CONFIG_DIR": str(tmp_path),
                                    "CICD_VERSION": "1.3.0"})
    assert step_approved(inputs, {"GITHUB_RUN_ID": "7"}) == 0
    assert "nobody approves (promotion.automatic: true" in capsys.readouterr().out
