"""Fixtures: a running GitHub API stand-in and a client configured for it through the environment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # tests.support is importable however pytest was started
    sys.path.insert(0, str(ROOT))

from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn  # noqa: E402

REPO = "octo/service"


@pytest.fixture
def api(tmp_path):
    """The stand-in; every test ends with no contract violation and no off-schema answer."""
    with GitHubApiStandIn(state_file=tmp_path / "github-state.json") as standin:
        yield standin
        assert standin.bugs == [], "the stand-in answered off-schema"
        assert standin.violations == [], "requests broke GitHub's published schema"


@pytest.fixture
def github_env(api, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", api.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_TOKEN", DEFAULT_TOKEN)
    for name in (
        "GITHUB_ACTIONS",
        "GITHUB_EVENT_PATH",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_RUN_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    return api


@pytest.fixture
def client(github_env):
    from cicd.github.client import GitHubClient

    with GitHubClient.from_env(backoff=0) as github:
        yield github
