"""What the trust gate asks GitHub: one GraphQL query for the pull request, one for earlier merges, the
CI workflow's recent runs (REST), and the auto-merge mutation as GitHub documents it.

GitHub answers GraphQL with 200 even when it refuses: the refusal is in `errors` (type and message).
Each becomes one GitHubGraphQLError line, `GitHub GraphQL enablePullRequestAutoMerge: Auto merge is not
allowed for this repository (UNPROCESSABLE)`, with a hint for the refusals a person can fix.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from cicd.errors import GitHubError
from cicd.github.client import GitHubApiError, GitHubClient
from cicd.trust.score import ChangedFile, CommitFacts, PullRequestFacts

PULL_REQUEST_QUERY = """
query PullRequestForTrust($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      id number state isDraft mergeStateStatus headRefOid
      author { __typename login }
      autoMergeRequest { enabledAt }
      files(first: 100) { totalCount nodes { path additions deletions changeType } }
      allCommits: commits(first: 100) { totalCount nodes { commit {
        oid author { email user { login } } signature { isValid wasSignedByGitHub signer { login } }
      } } }
      commits(last: 1) {
        nodes { commit { statusCheckRollup { state contexts(first: 100) { totalCount nodes {
          __typename
          ... on CheckRun { name conclusion }
          ... on StatusContext { context state }
        } } } } }
      }
    }
  }
}
"""

MERGES_QUERY = """
query EarlierMerges($ids: [ID!]!) {
  nodes(ids: $ids) { __typename ... on PullRequest { id merged mergeCommit { oid } } }
}
"""

ENABLE_AUTO_MERGE = """
mutation EnableAutoMerge($id: ID!, $method: PullRequestMergeMethod!, $head: GitObjectID!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method, expectedHeadOid: $head}) {
    pullRequest { number autoMergeRequest { enabledAt mergeMethod } }
  }
}
"""

DISABLE_AUTO_MERGE = """
mutation DisableAutoMerge($id: ID!) {
  disablePullRequestAutoMerge(input: {pullRequestId: $id}) { pullRequest { number } }
}
"""

MERGE_NOW = """
mutation MergeNow($id: ID!, $method: PullRequestMergeMethod!, $head: GitObjectID!) {
  mergePullRequest(input: {pullRequestId: $id, mergeMethod: $method, expectedHeadOid: $head}) {
    pullRequest { number merged mergeCommit { oid } }
  }
}
"""

log = logging.getLogger(__name__)

HINTS = {
    "Auto merge is not allowed": "an administrator turns on Settings > General > Allow auto-merge",
    "Resource not accessible": "the job needs permissions contents: write and pull-requests: write",
    "Head branch was modified": "the pull request changed after it was scored; its next CI run scores it",
    "without `workflows` permission": "a job's GITHUB_TOKEN can never merge a change to .github/workflows/: "
    "take those files out of the policy's paths and merge such updates by hand",
}
GATEWAY_ERRORS = (502, 503, 504)
QUERY_TRIES = 3
RETRY_BACKOFF = 0.5  # seconds before the first repeat, doubling
FAILED_CONCLUSIONS = ("FAILURE", "TIMED_OUT", "CANCELLED", "ACTION_REQUIRED", "STARTUP_FAILURE", "ERROR")


class GitHubGraphQLError(GitHubError):
    def __init__(self, message: str, *, kinds: tuple[str, ...], hint: str | None = None):
        super().__init__(message, hint=hint)
        self.kinds = kinds


def graphql_url(api_url: str) -> str:
    """github.com: https://api.github.com/graphql; GitHub Enterprise Server: https://HOST/api/graphql."""
    return api_url[: -len("/v3")] + "/graphql" if api_url.endswith("/api/v3") else api_url + "/graphql"


def _post(client: GitHubClient, payload: dict[str, Any], *, retry: bool) -> Any:
    """POST /graphql. The REST client never repeats a POST; a query changes nothing, so one that met a
    gateway error (GitHub's GraphQL answers 502 now and then) is sent again, twice at most."""
    url = graphql_url(client.settings.api_url)
    for attempt in range(QUERY_TRIES - 1 if retry else 0):
        try:
            return client.request("POST", url, json=payload).json()
        except GitHubApiError as err:
            if err.status not in GATEWAY_ERRORS:
                raise
            log.warning("GitHub GraphQL answered %d; asking again (attempt %d)", err.status, attempt + 2)
            time.sleep(RETRY_BACKOFF * 2**attempt)
    return client.request("POST", url, json=payload).json()


def graphql(client: GitHubClient, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """`data` of one GraphQL call; GitHub's `errors` become one GitHubGraphQLError."""
    reads = query.lstrip().startswith("query")
    body = _post(client, {"query": query, "variables": variables}, retry=reads)
    errors = body.get("errors") or []
    if errors:
        messages = "; ".join(str(error.get("message")) for error in errors)
        kinds = tuple(str(error.get("type") or "INVALID") for error in errors)
        hint = next((text for key, text in HINTS.items() if key in messages), None)
        raise GitHubGraphQLError(f"GitHub GraphQL {field}: {messages} ({', '.join(kinds)})", kinds=kinds,
                                 hint=hint)
    return body["data"]


def fetch_pull(client: GitHubClient, number: int) -> PullRequestFacts:
    settings = client.settings
    data = graphql(client, PULL_REQUEST_QUERY, {"owner": settings.owner, "name": settings.name,
                                                "number": number}, "pullRequest")
    pull = data["repository"]["pullRequest"]
    author = pull["author"] or {"__typename": "User", "login": "ghost"}  # a deleted account
    login = author["login"] + ("[bot]" if author["__typename"] == "Bot" else "")
    commits = pull["commits"]["nodes"]
    rollup = commits[0]["commit"]["statusCheckRollup"] if commits else None
    contexts = rollup["contexts"]["nodes"] if rollup else []
    return PullRequestFacts(
        number=pull["number"], node_id=pull["id"], author=login, state=pull["state"], draft=pull["isDraft"],
        head_oid=pull["headRefOid"], merge_state=pull["mergeStateStatus"],
        files=tuple(ChangedFile(f["path"], f["additions"], f["deletions"], f["changeType"])
                    for f in pull["files"]["nodes"]),
        total_files=pull["files"]["totalCount"], ci_state=rollup["state"] if rollup else None,
        failing_checks=tuple(_failing(contexts)),
        check_count=rollup["contexts"]["totalCount"] if rollup else 0,
        auto_merge_enabled=pull["autoMergeRequest"] is not None,
        commits=tuple(_commit(node["commit"]) for node in pull["allCommits"]["nodes"]),
        total_commits=pull["allCommits"]["totalCount"],
    )


def _commit(commit: dict[str, Any]) -> CommitFacts:
    author = commit["author"] or {}
    signature = commit["signature"] or {}
    valid = bool(signature.get("isValid"))
    return CommitFacts(
        oid=commit["oid"], author_email=author.get("email"),
        author_login=(author.get("user") or {}).get("login"),
        signed_by_github=valid and bool(signature.get("wasSignedByGitHub")),
        signer_login=(signature.get("signer") or {}).get("login") if valid else None,
    )


def _failing(contexts: list[dict[str, Any]]) -> list[str]:
    found = []
    for context in contexts:
        if context["__typename"] == "CheckRun" and context.get("conclusion") in FAILED_CONCLUSIONS:
            found.append(context["name"])
        elif context["__typename"] == "StatusContext" and context.get("state") in ("FAILURE", "ERROR"):
            found.append(context["context"])
    return found


def merge_commits(client: GitHubClient, node_ids: list[str]) -> dict[str, str]:
    """node id -> merge commit of the earlier pull requests that were merged (closed ones are left out)."""
    found: dict[str, str] = {}
    for start in range(0, len(node_ids), 100):  # GitHub's limit on ids per `nodes` call
        data = graphql(client, MERGES_QUERY, {"ids": node_ids[start : start + 100]}, "nodes")
        for node in data["nodes"]:
            if node and node.get("__typename") == "PullRequest" and node["merged"] and node["mergeCommit"]:
                found[node["id"]] = node["mergeCommit"]["oid"]
    return found


def ci_history(client: GitHubClient, workflow: str, runs: int = 100) -> tuple[int, int]:
    """(completed runs, runs that passed only on a re-run) among the workflow's newest `runs`."""
    try:
        page = client.get(client.repo_path(f"/actions/workflows/{workflow}/runs"), per_page=runs,
                          status="completed")
    except GitHubApiError as err:
        if err.status == 404:  # the workflow file is not on the default branch: no history
            return 0, 0
        raise
    completed = page["workflow_runs"]
    flaky = sum(1 for run in completed
                if run.get("conclusion") == "success" and run.get("run_attempt", 1) > 1)
    return len(completed), flaky


def enable_auto_merge(client: GitHubClient, pull: PullRequestFacts, method: str) -> str:
    """Turn on GitHub's auto-merge for exactly the scored head; returns what happened.

    GitHub refuses auto-merge for a pull request that is mergeable right now (clean or unstable status:
    nothing left to wait for); that one is merged directly, still only at the scored head and still
    subject to branch protection, which GitHub enforces on the merge itself. Only when CI has passed,
    though: mergeable with checks still running means no check is required, so nothing would wait for
    them (the next CI completion scores it again).
    """
    variables = {"id": pull.node_id, "method": method.upper(), "head": pull.head_oid}
    try:
        graphql(client, ENABLE_AUTO_MERGE, variables, "enablePullRequestAutoMerge")
        return "auto-merge enabled"
    except GitHubGraphQLError as err:
        if "clean status" not in str(err) and "unstable status" not in str(err):
            raise
    if pull.ci_state != "SUCCESS":
        return ("not merged: CI has not passed on the head yet and no required check would hold the merge; "
                "its next CI completion scores it again")
    data = graphql(client, MERGE_NOW, variables, "mergePullRequest")
    return f"merged ({data['mergePullRequest']['pullRequest']['mergeCommit']['oid'][:12]})"


def disable_auto_merge(client: GitHubClient, pull: PullRequestFacts) -> str:
    """Turn off the auto-merge an earlier decision turned on: the evidence no longer allows it."""
    graphql(client, DISABLE_AUTO_MERGE, {"id": pull.node_id}, "disablePullRequestAutoMerge")
    return "auto-merge turned off (an earlier decision had turned it on)"
