"""Lead time through the GitHub Deployments API: versions whose names say nothing about their commit
find it through the SHA GitHub recorded for their deployment (stand-in checked against GitHub's schema)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from tests.support.delivery_history import SeedDeploy, seed_deploys
from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn

from cicd.cli import main
from cicd.github.client import GitHubClient
from cicd.github.deployments import DeploymentRequest, create_deployment


def test_dora_takes_deployed_commits_from_github(tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@x", "PATH": "/usr/bin:/bin",
           "GIT_COMMITTER_DATE": (datetime.now(UTC) - timedelta(minutes=35)).isoformat()}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"], check=True, env=env)
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                         text=True).stdout.strip()
    (tmp_path / "config/environments").mkdir(parents=True)
    (tmp_path / "config/environments/production.yml").write_text("name: production\ntype: production\n")
    seed_deploys(tmp_path / ".cicd/state/production.db", "production", [SeedDeploy("2.0.0", minutes_ago=5)])
    with GitHubApiStandIn() as github:
        monkeypatch.setenv("GITHUB_TOKEN", DEFAULT_TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", "shop/web")
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        with GitHubClient.from_env() as client:
            create_deployment(client, DeploymentRequest(sha, "production", "2.0.0"))
            create_deployment(client, DeploymentRequest(sha, "staging", "9.9.9"))
        code = main(["report", "dora", "--env", "production", "--json", "--config-dir",
                     str(tmp_path / "config"), "--repo", str(repo)])
        assert github.violations == []
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["sources"]["github_deployments"] == (
        "GitHub Deployments API of shop/web: 1 versions with their commit"
    )
    # committed 35 minutes ago, live since 5 minutes ago (plus the seeded phases' 10 s)
    assert report["lead_time"]["samples"] == 1
    assert report["lead_time"]["value"] == pytest.approx(30 * 60 + 10, abs=60)
    assert report["lead_time"]["band"] == "elite"
