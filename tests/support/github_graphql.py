"""GitHub's GraphQL endpoint (POST /graphql) for the stand-in, executed against GitHub's published schema.

Every request is parsed and validated against GitHub's public GraphQL schema (github_graphql_schema.
graphql.gz: `schema.graphql` of the npm package @octokit/graphql-schema 15.26.1, GitHub's schema as
published, unchanged). graphql-core then executes the query over the stand-in's pull requests, so an
answer has exactly the shape, nullability and enum values the schema declares: a field the stand-in
cannot fill is a bug (recorded in `bugs`), never a silent null. A query GitHub would reject (an unknown
field, a wrong argument or variable type) is answered as GitHub does, with `errors` and no `data`, and
recorded in `violations`.

What it serves: `repository(owner:, name:) { autoMergeAllowed, pullRequest(number:) {...} }`,
`nodes(ids:)` for pull requests, and the mutations `enablePullRequestAutoMerge`,
`disablePullRequestAutoMerge` and `mergePullRequest` with GitHub's refusals: auto-merge off for the
repository, a pull request already in clean status (or unstable: nothing left to wait for), a draft, a
closed one, a head that moved (expectedHeadOid), a token whose job lacks `contents: write` and
`pull-requests: write`, and a job's token (a GitHub App's, which never holds the `workflows`
permission) asked to merge a pull request that changes a file under .github/workflows/.
To refresh the schema: `npm pack @octokit/graphql-schema`, then gzip -9n its schema.graphql here.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema, execute, parse, validate

SCHEMA_FILE = Path(__file__).with_name("github_graphql_schema.graphql.gz")
NOT_ACCESSIBLE = "Resource not accessible by integration"
# What a job's token needs for each root field (GitHub's docs for auto-merge with GITHUB_TOKEN).
NEEDS = {
    "repository": {"pull-requests": "read"},
    "nodes": {"pull-requests": "read"},
    "enablePullRequestAutoMerge": {"contents": "write", "pull-requests": "write"},
    "mergePullRequest": {"contents": "write", "pull-requests": "write"},
    "disablePullRequestAutoMerge": {"contents": "write", "pull-requests": "write"},
}
LEVELS = {"none": 0, "read": 1, "write": 2}


class Refused(Exception):
    """An error GitHub reports inside a 200 answer: `type` is GitHub's error type."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@functools.cache
def schema() -> GraphQLSchema:
    text = gzip.decompress(SCHEMA_FILE.read_bytes()).decode("utf-8")
    # GitHub's published SDL repeats two enterprise fields; the SDL-only rules would refuse it.
    return build_schema(text, assume_valid_sdl=True)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def add_pull_request(
    state: dict[str, Any],
    repo: str,
    number: int,
    *,
    author: str = "dependabot[bot]",
    files: dict[str, tuple[int, int]] | None = None,
    checks: dict[str, str] | None = None,
    merge_state: str = "BLOCKED",
    draft: bool = False,
    title: str = "Bump requests from 2.31.0 to 2.32.3",
    change_types: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A pull request as Dependabot opens one: `files` path -> (additions, deletions), `checks` check-run
    name -> conclusion (SUCCESS, FAILURE, ...; None while running), `merge_state` GitHub's
    mergeStateStatus (BLOCKED: waiting for required checks or reviews, CLEAN: mergeable now),
    `change_types` path -> PatchStatus where not MODIFIED. One commit, made by the author (see
    `push_commit` for another)."""
    head = hashlib.sha1(f"{repo}#{number}:{time.time_ns()}".encode()).hexdigest()
    record = {
        "repo": repo, "number": number, "node_id": f"PR_kw{number:08d}", "title": title, "author": author,
        "files": files if files is not None else {"requirements.txt": (1, 1)},
        "checks": checks if checks is not None else {"test": "SUCCESS"},
        "merge_state": merge_state, "draft": draft, "state": "OPEN", "head_oid": head,
        "auto_merge": None, "merge_commit": None, "change_types": change_types or {},
        "commits": [commit_by(author, head)],
    }
    state.setdefault("pull_requests", []).append(record)
    return record


def commit_by(login: str, oid: str, *, signed: bool = True) -> dict[str, Any]:
    """A commit as GitHub shows its maker: a bot's through GitHub (its noreply address, GitHub's
    signature); a person's with their address and, when `signed`, their own valid signature."""
    if login.endswith("[bot]"):
        email, user, signer = f"49699333+{login}@users.noreply.github.com", None, None
    else:
        email, user, signer = f"{login}@example.com", login, login
    return {"oid": oid, "email": email, "user": user, "signed": signed,
            "by_github": signed and login.endswith("[bot]"), "signer": signer if signed else None}


def push_commit(record: dict[str, Any], login: str, *, signed: bool = False) -> str:
    """Someone pushes a commit onto the pull request's branch: a new head."""
    head = hashlib.sha1(f"{record['head_oid']}+{login}".encode()).hexdigest()
    record["commits"].append(commit_by(login, head, signed=signed))
    record["head_oid"] = head
    return head


def serve(state: dict[str, Any], permissions: dict[str, str] | None, raw: bytes) -> tuple[dict, list[str]]:
    """GitHub's answer to one POST /graphql, and the contract violations it showed (none when valid)."""
    try:
        request = json.loads(raw or b"null")
    except ValueError as err:
        return {"message": f"Problems parsing JSON: {err}"}, [f"body is not JSON: {err}"]
    shape = _request_shape(request)
    if shape:
        return {"errors": [{"message": shape}]}, [shape]
    try:
        document = parse(request["query"])
    except GraphQLError as err:
        return {"errors": [err.formatted]}, [err.message]
    errors = validate(schema(), document)
    if errors:
        return {"errors": [error.formatted for error in errors]}, [error.message for error in errors]
    root = _Root(state, permissions)
    result = execute(
        schema(), document, root_value=root.fields(), variable_values=request.get("variables") or {},
        operation_name=request.get("operationName"),
    )
    if result.errors and result.data is None:  # variables GitHub would refuse before running anything
        return {"errors": [error.formatted for error in result.errors]}, [e.message for e in result.errors]
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [_github_error(error) for error in result.errors]
    return answer, []


def _request_shape(request: Any) -> str | None:
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        return "A query attribute must be specified and must be a string."
    if not isinstance(request.get("variables") or {}, dict):
        return "Variables are invalid JSON."
    unknown = sorted(set(request) - {"query", "variables", "operationName"})
    return f"Unexpected keys in the request: {unknown}" if unknown else None


def _github_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, Refused):
        return {"type": original.kind, **error.formatted}
    # Anything else failing inside execution is the stand-in answering off-schema: fail loudly.
    raise AssertionError(f"stand-in answered GraphQL off-schema: {error.message} at {error.path}")


class _Root:
    """Resolvers over the stand-in's state, building objects in the schema's field names."""

    def __init__(self, state: dict[str, Any], permissions: dict[str, str] | None):
        self.state = state
        self.permissions = permissions

    def fields(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "nodes": self.nodes,
            "enablePullRequestAutoMerge": self.enable_auto_merge,
            "mergePullRequest": self.merge,
            "disablePullRequestAutoMerge": self.disable_auto_merge,
        }

    def _allow(self, field: str) -> None:
        if self.permissions is None:
            return
        for scope, level in NEEDS[field].items():
            if LEVELS.get(self.permissions.get(scope, "none"), 0) < LEVELS[level]:
                raise Refused("FORBIDDEN", NOT_ACCESSIBLE)

    def _pulls(self) -> list[dict[str, Any]]:
        return self.state.setdefault("pull_requests", [])

    def repository(self, info: Any, owner: str, name: str, **_: Any) -> dict[str, Any]:
        self._allow("repository")
        repo = f"{owner}/{name}"
        settings = self.state.setdefault("repositories", {}).get(repo, {})

        def pull_request(info: Any, number: int) -> dict[str, Any]:
            for record in self._pulls():
                if record["repo"] == repo and record["number"] == number:
                    return pull_object(record)
            raise Refused("NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}.")

        def pull_requests(info: Any, states: list[str] | None = None, first: int | None = None,
                          **_: Any) -> dict[str, Any]:
            # Newest first, as orderBy {field: UPDATED_AT, direction: DESC} gives them (one page).
            found = [pull_object(record) for record in reversed(self._pulls())
                     if record["repo"] == repo and (not states or record["state"] in states)]
            return _connection(found, first=first)

        return {"__typename": "Repository", "nameWithOwner": repo,
                "autoMergeAllowed": bool(settings.get("allow_auto_merge", True)), "pullRequest": pull_request,
                "pullRequests": pull_requests}

    def nodes(self, info: Any, ids: list[str]) -> list[dict[str, Any] | None]:
        self._allow("nodes")
        found = {record["node_id"]: record for record in self._pulls()}
        return [pull_object(found[node_id]) if node_id in found else None for node_id in ids]

    def _pull(self, fields: dict[str, Any]) -> dict[str, Any]:
        for record in self._pulls():
            if record["node_id"] == fields["pullRequestId"]:
                if fields.get("expectedHeadOid") not in (None, record["head_oid"]):
                    message = "Head branch was modified. Review and try the merge again."
                    raise Refused("UNPROCESSABLE", message)
                return record
        node_id = fields["pullRequestId"]
        raise Refused("NOT_FOUND", f"Could not resolve to a node with the global id of '{node_id}'")

    def enable_auto_merge(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self._allow("enablePullRequestAutoMerge")
        record = self._pull(input)
        settings = self.state.setdefault("repositories", {}).get(record["repo"], {})
        if not settings.get("allow_auto_merge", True):
            raise Refused("UNPROCESSABLE", "Auto merge is not allowed for this repository")
        if record["state"] != "OPEN" or record["draft"]:
            raise Refused("UNPROCESSABLE", "Pull request is not in the correct state to enable auto-merge")
        if record["merge_state"] in ("CLEAN", "UNSTABLE"):
            status = record["merge_state"].lower()
            raise Refused("UNPROCESSABLE", f"Pull request Pull request is in {status} status")
        self._may_change_workflows(record, "enablePullRequestAutoMerge")
        record["auto_merge"] = {"enabledAt": now_iso(), "mergeMethod": input.get("mergeMethod", "MERGE")}
        return {"clientMutationId": input.get("clientMutationId"), "pullRequest": pull_object(record)}

    def _may_change_workflows(self, record: dict[str, Any], field: str) -> None:
        """A job's token is a GitHub App's, and no `permissions:` key grants it `workflows`."""
        if self.permissions is None:
            return
        for path in record["files"]:
            if path.startswith(".github/workflows/"):
                message = ("Pull request refusing to allow a GitHub App to create or update workflow "
                           f"`{path}` without `workflows` permission ({field})")
                raise Refused("UNPROCESSABLE", message)

    def disable_auto_merge(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self._allow("disablePullRequestAutoMerge")
        record = self._pull(input)
        if record["auto_merge"] is None:
            raise Refused("UNPROCESSABLE", "Pull request auto merge is not enabled")
        record["auto_merge"] = None
        return {"clientMutationId": input.get("clientMutationId"), "pullRequest": pull_object(record)}

    def merge(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self._allow("mergePullRequest")
        record = self._pull(input)
        if record["state"] != "OPEN" or record["draft"] or record["merge_state"] not in ("CLEAN", "UNSTABLE"):
            raise Refused("UNPROCESSABLE", "Pull request is not mergeable")
        self._may_change_workflows(record, "mergePullRequest")
        merged = hashlib.sha1(f"merge:{record['head_oid']}".encode()).hexdigest()
        record.update(state="MERGED", merge_commit=merged)
        return {"clientMutationId": input.get("clientMutationId"), "pullRequest": pull_object(record)}


def pull_object(record: dict[str, Any]) -> dict[str, Any]:
    """A PullRequest in the schema's names; fields with arguments are resolvers, as the schema has them."""
    files = [{"__typename": "PullRequestChangedFile", "path": path, "additions": add, "deletions": delete,
              "changeType": record.get("change_types", {}).get(path, "MODIFIED"),
              "viewerViewedState": "UNVIEWED"}
             for path, (add, delete) in record["files"].items()]
    checks = [{"__typename": "CheckRun", "name": name, "conclusion": conclusion,
               "status": "COMPLETED" if conclusion else "IN_PROGRESS"}
              for name, conclusion in record["checks"].items()]
    rollup = {"state": _rollup(record["checks"]), "contexts": lambda info, **_: _connection(checks)}
    # GitHub has no rollup for a commit nothing reported on.
    # The last commit is the head (a test may move head_oid by hand); only it carries the checks.
    made = record.get("commits") or [commit_by(record["author"], record["head_oid"])]
    made = [*made[:-1], {**made[-1], "oid": record["head_oid"]}]
    commits = [{"__typename": "PullRequestCommit",
                "commit": _commit(one, rollup if checks and one is made[-1] else None)} for one in made]
    author = {"__typename": "Bot" if record["author"].endswith("[bot]") else "User",
              "login": record["author"].removesuffix("[bot]")}
    merge_commit = {"__typename": "Commit", "oid": record["merge_commit"]} if record["merge_commit"] else None
    return {
        "__typename": "PullRequest", "id": record["node_id"], "number": record["number"],
        "title": record["title"], "state": record["state"], "isDraft": record["draft"],
        "merged": record["state"] == "MERGED", "mergeCommit": merge_commit,
        "mergeStateStatus": record["merge_state"], "headRefOid": record["head_oid"],
        "baseRefName": "main", "author": author, "autoMergeRequest": record["auto_merge"],
        "additions": sum(add for add, _ in record["files"].values()),
        "deletions": sum(delete for _, delete in record["files"].values()),
        "changedFiles": len(files),
        "files": lambda info, **_: _connection(files),
        "commits": lambda info, first=None, last=None, **_: _connection(commits, first=first, last=last),
    }


def _commit(made: dict[str, Any], rollup: dict[str, Any] | None) -> dict[str, Any]:
    """A Commit with its maker, as GitHub verified it."""
    signature = {"__typename": "GpgSignature", "isValid": True, "wasSignedByGitHub": made["by_github"],
                 "signer": {"__typename": "User", "login": made["signer"]} if made["signer"] else None}
    return {
        "__typename": "Commit", "oid": made["oid"], "statusCheckRollup": rollup,
        "author": {"__typename": "GitActor", "email": made["email"],
                   "user": {"__typename": "User", "login": made["user"]} if made["user"] else None},
        "signature": signature if made["signed"] else None,
    }


def _connection(
    nodes: list[dict[str, Any]], first: int | None = None, last: int | None = None
) -> dict[str, Any]:
    total = len(nodes)
    nodes = nodes[:first] if first is not None else nodes
    nodes = nodes[-last:] if last else nodes
    return {"totalCount": total, "nodes": nodes,
            "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                         "endCursor": None, "startCursor": None}}


def _rollup(checks: dict[str, str | None]) -> str:
    """GitHub's StatusState of a commit from its check-run conclusions."""
    if any(conclusion in ("FAILURE", "TIMED_OUT", "CANCELLED", "ACTION_REQUIRED", "STARTUP_FAILURE")
           for conclusion in checks.values()):
        return "FAILURE"
    if any(conclusion is None for conclusion in checks.values()):
        return "PENDING"
    return "SUCCESS"
