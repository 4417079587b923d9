"""A local deploy to an environment that requires approval refuses, unless overridden on the record."""

from __future__ import annotations

import pytest

from cicd.cli import main
from cicd.errors import CicdError
from cicd.github.approval import approved_reason

PRODUCTION = """name: production
type: production
approval: {required: true, prevent_self_review: true}
deploy:
  runtime: {kind: process, command: [python3, -m, http.server, "{port}"]}
  colors: {blue: {port: 18591}, green: {port: 18592}}
  router: {listen: "127.0.0.1:18590", prefix: PREFIX}
  state_path: STATE
"""


@pytest.fixture
def outside_actions(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def test_required_approval_refuses_without_an_override(outside_actions):
    with pytest.raises(CicdError, match="production requires approval") as caught:
        approved_reason("production", True, "hotfix", None)
    assert "--override-approval" in (caught.value.hint or "")
    with pytest.raises(CicdError):
        approved_reason("production", True, "hotfix", "   ")


def test_an_override_is_recorded_with_the_reason(outside_actions):
    assert approved_reason("production", True, "hotfix", "pager: checkout down") == (
        "hotfix (approval overridden: pager: checkout down)"
    )
    assert approved_reason("production", True, None, "drill") == "approval overridden: drill"
    assert approved_reason("staging", False, "r", None) == "r"


def test_inside_actions_github_environment_approves(monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert approved_reason("production", True, "promote", None) == "promote"


def test_cicd_deploy_refuses_before_touching_anything(outside_actions, tmp_path, capsys):
    config = tmp_path / "config"
    (config / "environments").mkdir(parents=True)
    text = PRODUCTION.replace("PREFIX", str(tmp_path / "nginx")).replace("STATE", str(tmp_path / "s.db"))
    (config / "environments" / "production.yml").write_text(text)
    code = main(["deploy", "--env", "production", "--version", "1.0.0", "--config-dir", str(config)])
    assert code == 1
    assert "production requires approval" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "nginx").exists()
