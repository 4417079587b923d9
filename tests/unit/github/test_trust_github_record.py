"""The trust gate's track record from GitHub's own records, for a runner whose ledger is empty (every
GitHub-hosted run): the bots' merged pull requests over GraphQL and the environment's GitHub deployments
(a deploy's final status, a `deploy:rollback` after it), against the stand-in and its published schemas."""

import sys
from pathlib import Path

import pytest

from cicd.github import deployments
from cicd.github.client import GitHubClient
from cicd.hosts.local import LocalHost
from cicd.state import open_state
from cicd.trust.automerge import run_automerge
from cicd.trust.github_record import outcomes_of
from cicd.trust.policy import load_policy

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import github_graphql  # noqa: E402
from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn  # noqa: E402

REPO = "acme/shop"
POLICY = """\
environment: production
threshold: 60
merge_method: squash
authors: ["dependabot[bot]"]
paths: [constraints.txt, pyproject.toml]
ecosystems:
  pip: [constraints.txt, pyproject.toml]
ci_workflow: ci.yml
max_diff_lines: 400
"""


@pytest.fixture
def api(tmp_path, monkeypatch):
    with GitHubApiStandIn(state_file=tmp_path / "github-state.json") as standin:
        for name, value in (("GITHUB_API_URL", standin.url), ("GITHUB_REPOSITORY", REPO),
                            ("GITHUB_TOKEN", DEFAULT_TOKEN)):
            monkeypatch.setenv(name, value)
        for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_RUN_ID", "GITHUB_EVENT_PATH"):
            monkeypatch.delenv(name, raising=False)
        yield standin
        assert standin.bugs == [] and standin.violations == []


def deployed(client, sha, version, state, task="deploy"):
    request = deployments.DeploymentRequest(ref=sha, environment="production", version=version, task=task)
    deployments.finish_deployment(client, deployments.start_deployment(client, request), state)


def test_an_empty_ledger_still_sees_what_earlier_changes_did_on_github(api, tmp_path):
    config = tmp_path / "config"
    (config / "environments").mkdir(parents=True)
    (config / "environments" / "production.yml").write_text("name: production\ntype: production\n")
    (config / "automerge.yml").write_text(POLICY)
    policy = load_policy(config / "automerge.yml", config)
    for number, sha, author in ((1, "1" * 40, "dependabot[bot]"), (2, "2" * 40, "dependabot[bot]"),
                                (3, "3" * 40, "alice")):
        record = github_graphql.add_pull_request(api.state, REPO, number, author=author,
                                                 files={"constraints.txt": (1, 1)})
        record.update(state="MERGED", merge_commit=sha)
    github_graphql.add_pull_request(api.state, REPO, 4, files={"constraints.txt": (1, 1)})  # open
    empty = open_state("production", str(tmp_path / "production.db"), LocalHost(cwd=str(tmp_path)))
    with GitHubClient.from_env(backoff=0) as client:
        deployed(client, "1" * 40, "1.0.1", "success")
        deployed(client, "2" * 40, "1.0.2", "success")
        deployed(client, "1" * 40, "1.0.1", "success", task="deploy:rollback")  # 1.0.2 was taken out
        deployed(client, "3" * 40, "1.0.3", "failure")  # a person's change: not the bot's record
        pull = github_graphql.add_pull_request(api.state, REPO, 5, files={"pyproject.toml": (1, 1)})
        outcome = run_automerge(client, empty, policy, 5, dry_run=True)
    factors = {factor.name: factor for factor in outcome.decision.factors}
    assert factors["similar"].reason == (
        "2 earlier pip changes deployed to production, 1 failed (change failure rate 50%)"
    )
    assert "2 earlier changes by dependabot[bot] deployed to production, 1 failed" in factors["author"].reason
    assert factors["similar"].value == pytest.approx(2 / 4)
    (entry,) = [e for e in empty.audit_entries(10) if e.action == "automerge.decide"]
    assert entry.details["earlier_merges_on_github"] == 2 and entry.details["github_deploy_outcomes"] == 3
    assert pull["auto_merge"] is None  # dry run


def test_outcomes_from_deployment_statuses():
    def one(sha, states, task="deploy"):
        return {"sha": sha, "states": states, "task": task}

    assert outcomes_of([
        one("a", ["inactive", "success"]),
        one("b", ["failure", "in_progress"]),  # failed: a failed change; a stays live
        one("a", ["failure"], task="deploy:rollback"),  # a rollback that failed took nothing out
        one("c", ["success"]),
        one("a", ["success"], task="deploy:rollback"),  # c was taken out
        one("d", ["in_progress"]),  # not finished: not a change yet
    ]) == {"a": False, "b": True, "c": True}
