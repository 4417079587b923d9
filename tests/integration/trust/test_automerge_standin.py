"""Trust-gated auto-merge against the GitHub stand-in (REST and GraphQL, checked against GitHub's published
schemas) and a real SQLite ledger: a policy that accepts and one that refuses, earlier merges that
deployed (or failed) changing the next score, a bot off the allow list, a path outside the policy,
GitHub refusing auto-merge for the repository, a pull request already mergeable, and the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import github_graphql  # noqa: E402
from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn  # noqa: E402

from cicd.cli import main  # noqa: E402
from cicd.errors import GitHubError  # noqa: E402
from cicd.github.client import GitHubClient  # noqa: E402
from cicd.hosts.local import LocalHost  # noqa: E402
from cicd.state import open_state  # noqa: E402
from cicd.trust import queries  # noqa: E402
from cicd.trust.automerge import run_automerge  # noqa: E402
from cicd.trust.policy import load_policy  # noqa: E402

pytestmark = pytest.mark.integration

REPO = "acme/shop"
POLICY = """\
environment: production
threshold: {threshold}
merge_method: squash
authors: ["dependabot[bot]"]
paths: [constraints.txt, pyproject.toml, .github/workflows/*.yml]
ecosystems:
  pip: [constraints.txt, pyproject.toml]
  github-actions: [.github/workflows/*.yml]
ci_workflow: ci.yml
max_diff_lines: 400
"""
ENVIRONMENT = "name: production\ntype: production\n"


@pytest.fixture
def api(tmp_path, monkeypatch):
    with GitHubApiStandIn(state_file=tmp_path / "github-state.json") as standin:
        monkeypatch.setenv("GITHUB_API_URL", standin.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        monkeypatch.setenv("GITHUB_TOKEN", DEFAULT_TOKEN)
        for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_RUN_ID", "GITHUB_EVENT_PATH"):
            monkeypatch.delenv(name, raising=False)
        yield standin
        assert standin.bugs == [], "the stand-in answered off-schema"
        assert standin.violations == [], "requests broke GitHub's published schema"


@pytest.fixture
def config(tmp_path):
    """A config directory with the production environment (ledger in SQLite under tmp_path)."""
    directory = tmp_path / "config"
    (directory / "environments").mkdir(parents=True)
    (directory / "environments" / "production.yml").write_text(ENVIRONMENT)
    return directory


def policy(config: Path, threshold: float):
    path = config / "automerge.yml"
    path.write_text(POLICY.format(threshold=threshold))
    return load_policy(path, config)


def ledger(tmp_path):
    return open_state("production", str(tmp_path / "production.db"), LocalHost(cwd=str(tmp_path)))


def ci_runs(api, *, clean: int, flaky: int) -> None:
    """The CI workflow's history: `flaky` of its runs passed only on a second attempt."""
    workflow_id = api.state["workflows"].setdefault("ci.yml", 500)
    for index in range(clean + flaky):
        api.state["workflow_runs"].append({
            "id": 9000 + index, "repo": REPO, "workflow": "ci.yml", "workflow_id": workflow_id,
            "run_number": index + 1, "run_attempt": 2 if index < flaky else 1, "head_branch": "main",
            "head_sha": "0" * 40, "event": "push", "status": "completed", "conclusion": "success",
            "created_at": "2026-11-01T00:00:00Z",
        })


def merged_and_deployed(api, client, state, record, version: str, status: str) -> None:
    """GitHub merges the pull request; the merge commit is deployed to production and ends `status`."""
    record.update(state="MERGED", merge_commit=f"{record['number']:040x}")
    client.post(client.repo_path("/deployments"), {
        "ref": record["merge_commit"], "environment": "production", "payload": {"version": version},
        "auto_merge": False, "required_contexts": [],
    })
    deployment_id = state.start_deployment(version)
    phases = [{"name": "switch", "status": "succeeded", "seconds": 0.5}]
    state.finish_deployment(deployment_id, status, phases=phases)


def comments(api, number: int) -> list[str]:
    return [comment["body"] for comment in api.comments(REPO, number)]


def test_an_accepting_policy_merges_and_the_record_of_similar_changes_moves_the_next_score(
    api, config, tmp_path
):
    ci_runs(api, clean=9, flaky=1)
    state = ledger(tmp_path)
    accepting = policy(config, 60)
    first = github_graphql.add_pull_request(api.state, REPO, 1, files={"constraints.txt": (3, 3)})
    with GitHubClient.from_env() as client:
        outcome = run_automerge(client, state, accepting, 1)
        assert outcome.decision.merge and outcome.result == "auto-merge enabled"
        assert first["auto_merge"]["mergeMethod"] == "SQUASH"

        # The first pull request merges and deploys fine; a github-actions one merges and fails.
        merged_and_deployed(api, client, state, first, "1.0.1", "succeeded")
        bump = github_graphql.add_pull_request(api.state, REPO, 2, files={".github/workflows/ci.yml": (1, 1)})
        run_automerge(client, state, accepting, 2)
        merged_and_deployed(api, client, state, bump, "1.0.2", "rolled_back")

        second = github_graphql.add_pull_request(api.state, REPO, 3, files={"pyproject.toml": (2, 2)})
        later = run_automerge(client, state, accepting, 3)
    similar = {factor.name: factor for factor in later.decision.factors}["similar"]
    assert similar.reason == "1 earlier pip changes deployed to production, 0 failed (change failure rate 0%)"
    assert similar.value == pytest.approx(2 / 3)
    author = {factor.name: factor for factor in later.decision.factors}["author"]
    assert "2 earlier changes by dependabot[bot] deployed to production, 1 failed" in author.reason
    assert second["auto_merge"] is not None

    entry = [e for e in state.audit_entries(50) if e.action == "automerge.decide"][-1]
    assert entry.outcome == "merge" and entry.details["pr"] == 3 and entry.details["merge_requested"]
    assert entry.details["similar_record"] == {"deployed": 1, "failed": 0, "merged": 1}
    assert entry.details["flaky_runs"] == 1 and entry.details["ci_runs"] == 10
    assert entry.details["environment_change_failure_rate"] == 0.5
    assert state.verify_audit().ok

    (body,) = comments(api, 3)
    assert body.startswith("<!-- cicd:automerge -->\n### Trust-gated auto-merge: trust score ")
    assert ">= threshold 60: merge" in body and "**Result:** auto-merge enabled" in body
    assert "| similar | 35 | 0.67 | 1 earlier pip changes deployed to production" in body
    assert "| flakes | 10 | 0.50 | 1 of the last 10 ci.yml runs passed only on a re-run (10%) |" in body


def test_a_refusing_policy_leaves_the_pull_request_alone_and_says_why_in_one_updated_comment(
    api, config, tmp_path
):
    state = ledger(tmp_path)
    refusing = policy(config, 95)
    record = github_graphql.add_pull_request(api.state, REPO, 4, files={"constraints.txt": (150, 150)})
    with GitHubClient.from_env() as client:
        outcome = run_automerge(client, state, refusing, 4)
        record["files"] = {"constraints.txt": (1, 1)}  # a rebase: smaller, still not enough
        again = run_automerge(client, state, refusing, 4)
    assert not outcome.decision.merge and outcome.result == "not merged"
    assert again.decision.score > outcome.decision.score
    assert record["auto_merge"] is None
    assert not any("enablePullRequestAutoMerge" in request for request in api.requests)
    (body,) = comments(api, 4)  # one sticky comment, updated in place
    assert f"score {again.decision.score:g} is below the threshold 95" in body
    assert "| size | 10 | 0.99 | 2 changed lines in 1 files (0 at 400) |" in body
    entries = [e for e in state.audit_entries(50) if e.action == "automerge.decide"]
    assert [e.outcome for e in entries] == ["refuse", "refuse"]
    assert entries[-1].details["merge_requested"] is False
    assert entries[-1].details["blockers"] == [f"score {again.decision.score:g} is below the threshold 95"]


def test_a_bot_off_the_allow_list_and_a_path_outside_the_policy_are_not_eligible(api, config, tmp_path):
    state = ledger(tmp_path)
    accepting = policy(config, 10)
    github_graphql.add_pull_request(api.state, REPO, 5, author="renovate[bot]")
    github_graphql.add_pull_request(
        api.state, REPO, 6, files={"constraints.txt": (1, 1), "scripts/cicd/deploy/runner.py": (5, 1)}
    )
    with GitHubClient.from_env() as client:
        bot = run_automerge(client, state, accepting, 5)
        path = run_automerge(client, state, accepting, 6)
    assert bot.decision.verdict == path.decision.verdict == "not-eligible"
    assert bot.decision.blockers[0].startswith("author renovate[bot] is not in the policy's authors")
    assert path.decision.blockers == ("changes paths outside the policy: scripts/cicd/deploy/runner.py",)
    assert not any("enablePullRequestAutoMerge" in request for request in api.requests)
    assert "not covered by the auto-merge policy" in comments(api, 5)[0]
    assert "- changes paths outside the policy: scripts/cicd/deploy/runner.py" in comments(api, 6)[0]
    outcomes = [e.outcome for e in state.audit_entries(50) if e.action == "automerge.decide"]
    assert outcomes == ["not-eligible", "not-eligible"]

    # A person's pull request is outside the gate: no comment, nothing in the ledger.
    github_graphql.add_pull_request(api.state, REPO, 14, author="alice")
    with GitHubClient.from_env() as client:
        person = run_automerge(client, state, accepting, 14)
    assert person.ledger_seq is None and person.comment_url is None and comments(api, 14) == []
    assert person.comment.startswith("not covered by the auto-merge policy: author alice is not")
    assert len(state.audit_entries(50)) == 2


def test_github_refusing_auto_merge_is_one_line_recorded_and_commented(api, config, tmp_path):
    state = ledger(tmp_path)
    api.state["repositories"] = {REPO: {"allow_auto_merge": False}}
    github_graphql.add_pull_request(api.state, REPO, 7, files={"constraints.txt": (1, 1)})
    with GitHubClient.from_env() as client, pytest.raises(GitHubError) as refused:
        run_automerge(client, state, policy(config, 10), 7)
    assert str(refused.value) == (
        "GitHub GraphQL enablePullRequestAutoMerge: Auto merge is not allowed for this repository "
        "(UNPROCESSABLE) (hint: an administrator turns on Settings > General > Allow auto-merge)"
    )
    entry = [e for e in state.audit_entries(50) if e.action == "automerge.decide"][-1]
    assert entry.outcome == "error" and entry.details["merge_requested"] is False
    assert "**Result:** GitHub refused: GitHub GraphQL enablePullRequestAutoMerge" in comments(api, 7)[0]


def test_a_pull_request_already_mergeable_is_merged_directly_at_the_scored_head(api, config, tmp_path):
    record = github_graphql.add_pull_request(api.state, REPO, 8, merge_state="CLEAN")
    record["files"] = {"constraints.txt": (1, 1)}
    with GitHubClient.from_env() as client:
        outcome = run_automerge(client, ledger(tmp_path), policy(config, 10), 8)
    assert record["state"] == "MERGED" and outcome.result.startswith("merged (")


def test_the_cli_scores_records_and_comments_and_a_bad_policy_is_one_located_line(
    api, config, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # the environment's default ledger: .cicd/state under the project
    policy(config, 10)
    github_graphql.add_pull_request(api.state, REPO, 9, files={"pyproject.toml": (1, 1)})
    assert main(["automerge", "--pr", "9", "--config-dir", str(config), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "**Result:** dry run: nothing changed on GitHub" in out and "| ci | 30 | 1.00 |" in out
    assert api.state["pull_requests"][0]["auto_merge"] is None

    (config / "automerge.yml").write_text(POLICY.format(threshold=170))
    assert main(["automerge", "--pr", "9", "--config-dir", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["config/automerge.yml:2:12: error: 'threshold' must be between 0 and 100, got 170 "
                   "(threshold)"]


def test_the_graphql_stand_in_refuses_what_github_refuses(api, config, tmp_path, monkeypatch):
    """The stand-in can fail a client: an off-schema query is GitHub's error and a recorded violation,
    and a job token without contents: write cannot turn on auto-merge."""
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    bad = requests.post(f"{api.url}/graphql", headers=headers, timeout=10,
                        json={"query": "{ repository(owner: \"acme\", name: \"shop\") { mergeQueue }"})
    wrong_type = requests.post(f"{api.url}/graphql", headers=headers, timeout=10, json={
        "query": "query($n: Int!) { repository(owner: \"acme\", name: \"shop\") { pullRequest(number: $n)"
                 " { id } } }", "variables": {"n": "seven"}})
    assert bad.status_code == wrong_type.status_code == 200
    assert "data" not in bad.json() and "data" not in wrong_type.json()
    assert [len(v["problems"]) for v in api.violations] == [1, 1]
    api.violations.clear()  # expected here; the fixture asserts none are left

    github_graphql.add_pull_request(api.state, REPO, 10, files={"constraints.txt": (1, 1)})
    api.issue_token("ghs_readonly", {"pull-requests": "write", "contents": "read", "actions": "read",
                                     "deployments": "read", "checks": "read"})
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_readonly")
    with GitHubClient.from_env() as client, pytest.raises(GitHubError) as refused:
        run_automerge(client, ledger(tmp_path), policy(config, 10), 10)
    assert "Resource not accessible by integration (FORBIDDEN)" in str(refused.value)
    assert "contents: write and pull-requests: write" in str(refused.value)
    assert api.state["pull_requests"][0]["auto_merge"] is None


def test_failing_checks_refuse_and_a_head_nothing_reported_on_scores_no_ci(api, config, tmp_path):
    files = {"constraints.txt": (1, 1)}
    checks = {"test": "SUCCESS", "lint": "FAILURE"}
    github_graphql.add_pull_request(api.state, REPO, 11, files=files, checks=checks)
    github_graphql.add_pull_request(api.state, REPO, 12, files=files, checks={})
    with GitHubClient.from_env() as client:
        failing = run_automerge(client, ledger(tmp_path), policy(config, 0), 11)
        silent = run_automerge(client, ledger(tmp_path), policy(config, 95), 12)
    assert not failing.decision.merge and failing.decision.blockers == ("CI failed: lint",)
    ci = {factor.name: factor for factor in silent.decision.factors}["ci"]
    assert ci.value == 0.0 and ci.reason == "no CI result on the head commit"
    assert all(record["auto_merge"] is None for record in api.state["pull_requests"])


def test_auto_merge_turned_on_earlier_is_turned_off_when_the_evidence_no_longer_allows_it(
    api, config, tmp_path
):
    record = github_graphql.add_pull_request(api.state, REPO, 13, files={"constraints.txt": (1, 1)})
    with GitHubClient.from_env() as client:
        run_automerge(client, ledger(tmp_path), policy(config, 10), 13)
        assert record["auto_merge"] is not None
        record.update(head_oid="b" * 40, files={"constraints.txt": (390, 10)})  # a push: a far larger diff
        later = run_automerge(client, ledger(tmp_path), policy(config, 95), 13)
    assert later.result == "auto-merge turned off (an earlier decision had turned it on)"
    assert record["auto_merge"] is None
    (body,) = comments(api, 13)
    assert "**Result:** auto-merge turned off" in body and "Head `bbbbbbbbbbbb`" in body

    # An auto-merge a maintainer turned on is theirs: a refusal says so and leaves it on.
    theirs = github_graphql.add_pull_request(api.state, REPO, 15, files={"constraints.txt": (1, 1)})
    theirs["auto_merge"] = {"enabledAt": "2026-11-01T00:00:00Z", "mergeMethod": "MERGE"}
    with GitHubClient.from_env() as client:
        kept = run_automerge(client, ledger(tmp_path), policy(config, 95), 15)
    assert kept.result == "not merged; the auto-merge someone else turned on stays on"
    assert theirs["auto_merge"] is not None


def test_a_gateway_error_repeats_a_query_but_never_a_mutation(api, config, tmp_path):
    record = github_graphql.add_pull_request(api.state, REPO, 16, files={"constraints.txt": (1, 1)})
    api.fail_next("POST", r"^/graphql$", 502, body={"message": "Server Error"}, times=2)
    with GitHubClient.from_env() as client:
        outcome = run_automerge(client, ledger(tmp_path), policy(config, 10), 16)
        assert outcome.result == "auto-merge enabled"
        # the read asked three times, the earlier merges on GitHub once, the mutation once
        assert api.requests.count("POST /graphql") == 3 + 1 + 1

        record["auto_merge"] = None
        pull = queries.fetch_pull(client, 16)
        api.state["requests"].clear()
        api.fail_next("POST", r"^/graphql$", 502, body={"message": "Server Error"}, after_acting=True)
        with pytest.raises(GitHubError, match="502"):
            queries.enable_auto_merge(client, pull, "squash")
    assert api.requests == ["POST /graphql"]  # sent once: it may have acted, and it had
    assert record["auto_merge"] is not None


def test_a_push_between_scoring_and_merging_is_never_merged(api):
    record = github_graphql.add_pull_request(api.state, REPO, 17, files={"constraints.txt": (1, 1)})
    with GitHubClient.from_env() as client:
        scored = queries.fetch_pull(client, 17)
        record["head_oid"] = "c" * 40  # Dependabot rebased meanwhile
        with pytest.raises(GitHubError) as moved:
            queries.enable_auto_merge(client, scored, "squash")
    assert "Head branch was modified" in str(moved.value) and "scores it" in str(moved.value)
    assert record["auto_merge"] is None


def test_a_push_by_someone_else_onto_the_bots_branch_or_a_rename_is_never_merged(api, config, tmp_path):
    """Write access to Dependabot's branch is not Dependabot: a commit pushed there by anyone else (or
    written under the bot's address without GitHub's signature) makes the pull request ineligible, and
    so does a rename, whose source path GitHub's GraphQL does not show."""
    state, accepting = ledger(tmp_path), policy(config, 0)
    pushed = github_graphql.add_pull_request(api.state, REPO, 18, files={"constraints.txt": (1, 1)})
    head = github_graphql.push_commit(pushed, "mallory", signed=True)
    forged = github_graphql.add_pull_request(api.state, REPO, 19, files={"constraints.txt": (1, 1)})
    github_graphql.push_commit(forged, "dependabot[bot]", signed=False)
    github_graphql.add_pull_request(api.state, REPO, 20, files={"constraints.txt": (0, 0)},
                                    change_types={"constraints.txt": "RENAMED"})
    clean = github_graphql.add_pull_request(api.state, REPO, 21, files={"constraints.txt": (1, 1)})
    with GitHubClient.from_env() as client:
        outcomes = {number: run_automerge(client, state, accepting, number) for number in (18, 19, 20, 21)}
    assert outcomes[18].decision.blockers == (f"commits not made by dependabot[bot]: {head[:12]}",)
    assert outcomes[19].decision.blockers[0].startswith("commits not made by dependabot[bot]")
    assert outcomes[20].decision.blockers[0].startswith("renames or copies files")
    assert [outcomes[n].decision.verdict for n in (18, 19, 20, 21)] == ["not-eligible"] * 3 + ["merge"]
    assert pushed["auto_merge"] is forged["auto_merge"] is None and clean["auto_merge"] is not None
    assert f"- commits not made by dependabot[bot]: {head[:12]}" in comments(api, 18)[0]


def test_a_mergeable_pull_request_with_ci_still_running_is_not_merged_directly(api, config, tmp_path):
    """Mergeable now while checks run: no check is required, so GitHub would not wait for CI. The gate
    merges directly only on a head whose CI passed."""
    record = github_graphql.add_pull_request(api.state, REPO, 22, merge_state="UNSTABLE",
                                             files={"constraints.txt": (1, 1)}, checks={"test": None})
    state = ledger(tmp_path)
    with GitHubClient.from_env() as client:
        outcome = run_automerge(client, state, policy(config, 10), 22)
    assert state.audit_entries(1)[0].details["merge_requested"] is False  # no earlier merge to learn from
    assert outcome.decision.merge and outcome.decision.factors[0].value == 0.5
    assert record["state"] == "OPEN" and record["merge_commit"] is None
    assert outcome.result.startswith("not merged: CI has not passed on the head yet")
    assert "**Result:** not merged: CI has not passed" in comments(api, 22)[0]


def test_a_job_token_cannot_merge_a_workflow_change_and_says_what_to_do(api, config, tmp_path, monkeypatch):
    """GitHub refuses a GitHub App's token (a job's GITHUB_TOKEN) a merge that changes .github/workflows/:
    one line with the fix, recorded; the repository's own policy leaves those files to a person."""
    record = github_graphql.add_pull_request(api.state, REPO, 23, files={".github/workflows/ci.yml": (1, 1)})
    api.issue_token("ghs_gate", {"contents": "write", "pull-requests": "write", "actions": "read",
                                 "deployments": "read", "checks": "read", "statuses": "read"})
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_gate")
    state = ledger(tmp_path)
    with GitHubClient.from_env() as client, pytest.raises(GitHubError) as refused:
        run_automerge(client, state, policy(config, 0), 23)
    assert "without `workflows` permission (enablePullRequestAutoMerge) (UNPROCESSABLE)" in str(refused.value)
    assert "take those files out of the policy's paths" in str(refused.value)
    assert record["auto_merge"] is None and state.audit_entries(1)[0].outcome == "error"

    repository = load_policy(ROOT / "config" / "automerge.yml", ROOT / "config")
    assert not repository.allows_path(".github/workflows/ci.yml")
    assert repository.allows_path(".github/actions/setup-cicd/action.yml")
