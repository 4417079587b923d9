"""Track records from GitHub's own records, so a gate on a fresh runner, whose ledger is empty or out of
reach, still sees what earlier changes did: the bots' merged pull requests (GraphQL: author, files, merge
commit) and the environment's GitHub deployments that deploy.yml writes (each deploy's commit and final
status, and the `deploy:rollback` deployments after it). The ledger stays a cross-check where it is
reachable (cicd.trust.automerge unites both: a failure either one saw counts).

Outcomes read from deployment statuses are stricter than the ledger's DORA changes: GitHub's status does
not say whether a failed deploy had reached traffic, so every failed deploy counts as a failed change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cicd.github.client import GitHubClient
from cicd.github.deployments import verified_deployments
from cicd.trust.history import EarlierMerge
from cicd.trust.queries import graphql
from cicd.workflows.rollback_guard import FAILED, ROLLBACK_TASK

MERGED_PULLS_QUERY = """
query MergedPullRequests($owner: String!, $name: String!, $count: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequests(states: [MERGED], first: $count, orderBy: {field: UPDATED_AT, direction: DESC}) {
      nodes { id number author { __typename login } mergeCommit { oid } files(first: 100) { nodes { path } } }
    }
  }
}
"""
MERGED_PULLS_SEEN = 100  # the newest merged pull requests read (one page: GitHub's maximum)
# The environment's newest GitHub deployments read: one statuses call each, and a job's GITHUB_TOKEN has
# 1,000 REST requests an hour per repository; a batch of Dependabot pull requests runs the gate often.
DEPLOYS_SEEN = 50


def merged_pulls(
    client: GitHubClient, authors: Iterable[str], ecosystems_of: Callable[[list[str]], list[str]]
) -> tuple[list[EarlierMerge], dict[str, str]]:
    """The policy's authors' merged pull requests among the newest ones, and node id -> merge commit."""
    settings = client.settings
    data = graphql(client, MERGED_PULLS_QUERY, {"owner": settings.owner, "name": settings.name,
                                                "count": MERGED_PULLS_SEEN}, "pullRequests")
    allowed = set(authors)
    merges, merged_as = [], {}
    for pull in reversed(data["repository"]["pullRequests"]["nodes"]):  # oldest first, as the ledger's
        author = pull["author"] or {}
        login = str(author.get("login") or "") + ("[bot]" if author.get("__typename") == "Bot" else "")
        if login not in allowed or not pull["mergeCommit"]:
            continue
        paths = [node["path"] for node in pull["files"]["nodes"]]
        merges.append(EarlierMerge(pull["id"], pull["number"], login, tuple(ecosystems_of(paths))))
        merged_as[pull["id"]] = pull["mergeCommit"]["oid"]
    return merges, merged_as


def deploy_outcomes(client: GitHubClient, environment: str) -> dict[str, bool]:
    """commit -> whether its change failed, from the environment's GitHub deployments."""
    newest_first = []
    for deployment in verified_deployments(client, environment):
        newest_first.append(deployment)
        if len(newest_first) >= DEPLOYS_SEEN:
            break
    return outcomes_of(reversed(newest_first))


def outcomes_of(oldest_first: Iterable[dict[str, Any]]) -> dict[str, bool]:
    """A deploy that succeeded is a change; it failed when a rollback that did not fail came before the
    next successful deploy. A deploy whose newest status is failure or error is a failed change."""
    outcomes: dict[str, bool] = {}
    live = ""  # the commit the last successful deploy put live, until something replaces it
    for deployment in oldest_first:
        states, sha = deployment.get("states") or [], str(deployment.get("sha") or "")
        if deployment.get("task") == ROLLBACK_TASK:
            if live and states and states[0] not in FAILED:
                outcomes[live] = True
                live = ""
        elif "success" in states:
            outcomes[sha] = outcomes.get(sha, False)
            live = sha
        elif states and states[0] in FAILED:
            outcomes[sha] = True
    return outcomes
