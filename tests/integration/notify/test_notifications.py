"""Notifications through apprise to local stand-ins of Slack, Teams (Power Automate) and a webhook, each
validating payloads against the service's published format; deploys announce themselves; a failed
production deploy opens, then updates, a GitHub issue (the GitHub API stand-in checks GitHub's schema)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from apprise.plugins.slack import NotifySlack
from tests.integration.deploy.deploy_harness import Project
from tests.support.chat_standins import ChatStandIns
from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn

from cicd import secrets
from cicd.cli import main
from cicd.notify.events import KINDS, DeliveryEvent
from cicd.notify.send import send

pytestmark = pytest.mark.integration
SLACK_PATH = "T0DEPLOY/B0CICD00/xoxsecretwebhooktoken"


@pytest.fixture
def chat(tmp_path, monkeypatch):
    stand_ins = ChatStandIns(certificate_dir=tmp_path)
    # Slack's webhook host is fixed inside apprise's plugin: point it at the stand-in (as DNS would).
    monkeypatch.setattr(NotifySlack, "webhook_url", f"{stand_ins.http}/services")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(stand_ins.certificate))
    yield stand_ins
    stand_ins.stop()


def urls(chat: ChatStandIns) -> list[str]:
    teams_host = chat.https.removeprefix("https://")
    return [f"https://hooks.slack.com/services/{SLACK_PATH}",
            f"workflows://{teams_host}/a1b2c3workflow/sIgNaTuRe",
            f"json://{chat.http.removeprefix('http://')}/hook"]


def test_every_event_reaches_slack_teams_and_a_webhook_in_their_formats(chat):
    for kind in KINDS:
        event = DeliveryEvent(kind, "production", "2.4.0", "2.3.1", "octocat", "release train 42",
                              "https://shop.example.com")
        assert send(event, urls(chat)) == [], chat.violations
    assert chat.violations == []
    assert len(chat.slack) == len(chat.teams) == len(chat.webhook) == len(KINDS)
    assert [m["type"] for m in chat.webhook] == ["info", "success", "warning", "failure", "info", "warning"]
    assert chat.webhook[3]["title"] == "Deploy of 2.4.0 to production failed"
    assert "reason: release train 42" in chat.webhook[3]["message"]
    assert chat.slack[1]["attachments"][0]["title"] == "2.4.0 is live on production"
    card = chat.teams[5]["attachments"][0]["content"]
    texts = [block.get("text") for block in card["body"] if block["type"] == "TextBlock"]
    assert texts[:1] == ["production rolled back to 2.4.0"]


def test_secrets_reach_no_channel_and_a_failing_channel_is_one_redacted_line(chat, monkeypatch, capsys):
    secrets.register("hunter2-db-password")
    event = DeliveryEvent("deploy.failed", "staging", "1.0.0", reason="connect failed: hunter2-db-password")
    assert send(event, urls(chat)[2:]) == []
    assert "hunter2" not in json.dumps(chat.webhook) and "***" in chat.webhook[0]["message"]

    chat.fail_slack = True
    monkeypatch.setenv("CICD_NOTIFY_URLS", " ".join(urls(chat)))
    code = main(["notify", "deploy.succeeded", "--env", "staging", "--version", "1.0.1"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("error: notification channel 1 of CICD_NOTIFY_URLS did not accept deploy.succeeded")
    assert "xoxsecretwebhooktoken" not in err and "sIgNaTuRe" not in err
    assert len(chat.teams) == 1 and len(chat.webhook) == 2  # the other channels still got it


def test_deploys_announce_themselves_and_a_failed_production_deploy_opens_then_updates_an_issue(
    tmp_path, chat
):
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed")
    project = Project(tmp_path / "project")
    env = project.add_env("production")
    project.write_env({**env, "type": "production"})
    broken = project.artifact("broken", patch="self._send_json(500, {'error': 'boom'})\nreturn")
    with GitHubApiStandIn() as github:
        outside = {"CICD_NOTIFY_URLS": urls(chat)[2], "GITHUB_TOKEN": DEFAULT_TOKEN,
                   "GITHUB_REPOSITORY": "shop/web", "GITHUB_API_URL": github.url}
        try:
            good = project.deploy("production", "1.0.0", extra_env=outside)
            first = project.deploy("production", "2.0.0", "--artifact", str(broken), extra_env=outside)
            second = project.deploy("production", "2.0.1", "--artifact", str(broken), extra_env=outside)
        finally:
            project.shut_down()
        assert good.returncode == 0, good.stdout + good.stderr
        assert first.returncode == 1 and second.returncode == 1
        assert "warning" not in first.stderr + second.stderr
        assert github.violations == [] and github.bugs == []
        issues = github.state["issues"]
        comments = github.comments("shop/web", 1)
    assert [(m["type"], m["title"]) for m in chat.webhook] == [
        ("info", "Deploying 1.0.0 to production"), ("success", "1.0.0 is live on production"),
        ("info", "Deploying 2.0.0 to production"), ("failure", "Deploy of 2.0.0 to production failed"),
        ("info", "Deploying 2.0.1 to production"), ("failure", "Deploy of 2.0.1 to production failed"),
    ]
    assert [(i["number"], i["title"], i["labels"]) for i in issues] == [
        (1, "Deploy to production failed", ["deploy-failure"])
    ]
    assert "**2.0.0** failed on **production**" in issues[0]["body"] and "deploy.start" in issues[0]["body"]
    assert len(comments) == 1 and "**2.0.1** failed on **production**" in comments[0]["body"]
