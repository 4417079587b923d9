"""Environments as code: `apply` sets what the approval: block says; `check` fails closed on each gap."""

from __future__ import annotations

import pytest

from cicd.cli import main
from cicd.github.environments import EnvironmentProtection, Reviewer, check_environment, configure_environment

REPO = "octo/service"
ENVIRONMENT = """name: production
type: production
approval: {{required: true, reviewers: [{reviewers}], prevent_self_review: true, deployment_branches: main}}
"""


def test_apply_from_the_environment_file_then_check_passes(github_env, api, tmp_path, capsys):
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "production.yml").write_text(ENVIRONMENT.format(reviewers="team:42, user:7"))
    argv = ["github", "environments", "apply", "--env", "production", "--config-dir", str(tmp_path)]
    assert main(argv) == 0
    stored = api.state["environments"][f"{REPO}/production"]
    assert stored["protection"]["reviewers"] == [{"type": "Team", "id": 42}, {"type": "User", "id": 7}]
    assert stored["protection"]["can_admins_bypass"] is False
    assert [policy["name"] for policy in stored["branch_policies"]] == ["main"]
    assert main(["github", "environments", "check", "--env", "production"]) == 0
    assert "required reviewers, no self-review, no admin bypass" in capsys.readouterr().out


def test_check_fails_closed_on_each_gap(client, api):
    assert check_environment(client, "production") == [
        "the GitHub Environment 'production' does not exist: the first job naming it would create it "
        "without any protection"
    ]
    api.protect(REPO, "production")  # what GitHub creates when a job first names it
    assert check_environment(client, "production") == [
        "no required reviewer",
        "the person who started a deploy may approve it (self-review not prevented)",
        "administrators may bypass the protection rules",
        "deployments are allowed from any branch",
    ]
    api.protect(REPO, "production", reviewers=[{"type": "User", "id": 7}], prevent_self_review=True,
                can_admins_bypass=False,
                deployment_branch_policy={"protected_branches": True, "custom_branch_policies": False})
    assert check_environment(client, "production") == []


def test_a_custom_branch_policy_must_name_only_main(client, api):
    protection = EnvironmentProtection(reviewers=(Reviewer("User", 7),), prevent_self_review=True,
                                       main_only=True)
    configure_environment(client, "production", protection)
    assert check_environment(client, "production") == []
    api.state["environments"][f"{REPO}/production"]["branch_policies"].append(
        {"id": 1, "node_id": "x", "name": "feature/*", "type": "branch"})
    assert check_environment(client, "production") == [
        "deployments are allowed from branches ['main', 'feature/*'], not only main"
    ]


@pytest.mark.parametrize("reviewers", ["", "alice"])
def test_apply_needs_numeric_reviewers(github_env, tmp_path, reviewers):
    from cicd.errors import CicdError

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "production.yml").write_text(ENVIRONMENT.format(reviewers=reviewers))
    from cicd.cli.github import _environments_apply

    class Args:
        env, config_dir, repo = "production", tmp_path, None

    with pytest.raises(CicdError, match="reviewers"):
        _environments_apply(Args())  # type: ignore[arg-type]


AUTOMATIC = """name: production
type: production
approval: {required: true, deployment_branches: main}
deploy:
  runtime: {kind: process, command: [app, "{port}"]}
  colors: {blue: {port: 9001}, green: {port: 9002}}
  promotion: {automatic: true}
"""


def test_automatic_promotion_needs_no_reviewer_but_is_reported_loudly(github_env, api, tmp_path, capsys):
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "production.yml").write_text(AUTOMATIC)
    argv = ["github", "environments", "check", "--env", "production", "--config-dir", str(tmp_path)]
    api.protect(REPO, "production")  # no reviewer, admins may bypass, any branch
    assert main(argv) == 1  # the branch policy and the admin bypass still hold without a reviewer
    err = capsys.readouterr().err
    assert "WARNING: production deploys WITHOUT APPROVAL: promotion.automatic is true" in err
    assert "administrators may bypass" in err and "no required reviewer" not in err
    api.protect(REPO, "production", can_admins_bypass=False,
                deployment_branch_policy={"protected_branches": True, "custom_branch_policies": False})
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "WITHOUT APPROVAL" in captured.err and "no reviewer (automatic promotion)" in captured.out
    apply = ["github", "environments", "apply", "--env", "production", "--config-dir", str(tmp_path)]
    assert main(apply) == 0  # no reviewers to set: applied all the same
