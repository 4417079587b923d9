"""A local stand-in of the GitHub REST API, checked against GitHub's published schema.

It serves only the operations cicd uses (see github_contract.OPERATIONS) from in-memory state. Every
request body is validated against githubkit's generated models of GitHub's OpenAPI description: an
invalid one gets GitHub's 422 answer and is recorded in `violations`, which tests assert is empty. Every
response body it builds is validated the same way; an invalid one is a bug in the stand-in, recorded in
`bugs` and answered with a 500. It also checks the token and the pinned API version header.

Use it in tests (`with GitHubApiStandIn() as api: ... api.url`) or as a process for act-based tests:
    python tests/support/github_api.py --port 8765 --state-file /tmp/github-state.json
The state file then holds everything a workflow did (comments, deployments, statuses, check runs, ...).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

try:
    from tests.support import github_contract as contract
    from tests.support import github_graphql as graphql
    from tests.support import github_objects as objects
    from tests.support import github_rules as rules
    from tests.support import github_runner as runner
except ImportError:  # run as a script: the sibling modules are on sys.path[0]
    import github_contract as contract  # type: ignore[no-redef]
    import github_graphql as graphql  # type: ignore[no-redef]
    import github_objects as objects  # type: ignore[no-redef]
    import github_rules as rules  # type: ignore[no-redef]
    import github_runner as runner  # type: ignore[no-redef]

DEFAULT_TOKEN = "ghs_standin0000000000000000000000000000"
REPO_WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
DOCS = "https://docs.github.com/rest"
MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_DISPATCH_INPUTS = 25
MAX_COMMENT_BODY = 65536
# Keys GitHub's API accepts and reports that the OpenAPI description of this version lacks (the only
# exceptions to the schema check, each with its type): the environment's admin-bypass switch.
UNDESCRIBED_BODY_KEYS = {"repos/create-or-update-environment": {"can_admins_bypass": bool}}
UNDESCRIBED_ANSWER_KEYS = {
    "repos/create-or-update-environment": {"can_admins_bypass": bool},
    "repos/get-environment": {"can_admins_bypass": bool},
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors:  # GitHub's 422 shape: "Validation Failed" plus one item per problem
            data["errors"] = [{"code": "invalid", "message": problem} for problem in self.errors]
        return data


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: bytes
    remaining: int
    after_acting: bool = False  # serve the request, then lose the answer (a cut connection after a success)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def empty_state() -> dict[str, Any]:
    return {
        "next_id": 1000,
        "comments": [],
        "issues": [],
        "deployments": [],
        "deployment_statuses": [],
        "check_runs": [],
        "workflows": {},
        "workflow_runs": [],
        "environments": {},
        "dispatches": [],
        "jobs": [],
        "violations": [],
        "bugs": [],
        "requests": [],
    }


class GitHubApiStandIn:
    """The state, the checks and the handlers; `start()` serves them on a loopback port."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        state_file: str | Path | None = None,
        workflows_dir: str | Path = REPO_WORKFLOWS,
        git_repo: str | Path | None = None,
    ):
        self.token = token
        # token -> the permissions of the job it was issued to (None: unrestricted)
        self.tokens: dict[str, dict[str, str] | None] = {token: None}
        self.workflow_files = rules.load_workflows(Path(workflows_dir))
        # The repository's git history as GitHub hosts it: pull requests are made from and merged into it.
        self.git_repo = Path(git_repo) if git_repo else None
        self.state_file = Path(state_file) if state_file else None
        self.state = empty_state()
        if self.state_file and self.state_file.exists():
            self.state.update(json.loads(self.state_file.read_text()))
        self._lock = threading.RLock()
        self._faults: list[Fault] = []
        self._server: ThreadingHTTPServer | None = None
        contract.operations()  # read the contract before the first request, not during it

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> GitHubApiStandIn:
        standin = self

        class Handler(_Handler):
            api = standin

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True, name="github-api"
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHubApiStandIn:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ---- what tests inspect or arrange -------------------------------------------------------------
    @property
    def violations(self) -> list[dict[str, Any]]:
        return self.state["violations"]

    @property
    def bugs(self) -> list[str]:
        return self.state["bugs"]

    @property
    def requests(self) -> list[str]:
        return self.state["requests"]

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
        after_acting: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with `status` instead of serving them (or after
        serving them, with `after_acting`: the change is made, its answer lost)."""
        raw = json.dumps(body).encode() if body is not None else b""
        with self._lock:
            self._faults.append(
                Fault(method, re.compile(path_regex), status, headers or {}, raw, times, after_acting)
            )

    def rate_limit_next(self, method: str, path_regex: str, *, reset_in: float, status: int = 403) -> None:
        reset = str(int(time.time() + reset_in))
        headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
        body = {"message": "API rate limit exceeded for installation.", "documentation_url": DOCS}
        self.fail_next(method, path_regex, status, headers=headers, body=body)

    def issue_token(self, token: str, permissions: dict[str, str]) -> None:
        """A token as GitHub issues it to a job with these `permissions:`."""
        with self._lock:
            self.tokens[token] = dict(permissions)

    def add_comment(self, repo: str, issue_number: int, body: str) -> dict[str, Any]:
        with self._lock:
            return self._new_comment(repo, issue_number, body)

    def comments(self, repo: str, issue_number: int) -> list[dict[str, Any]]:
        return [c for c in self.state["comments"] if c["repo"] == repo and c["issue_number"] == issue_number]

    def statuses(self, deployment_id: int) -> list[dict[str, Any]]:
        return [s for s in self.state["deployment_statuses"] if s["deployment_id"] == deployment_id]

    # ---- request processing ------------------------------------------------------------------------
    def serve(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, bytes]:
        split = urlsplit(target)
        path, query = split.path, dict(parse_qsl(split.query))
        base = f"http://{headers.get('host', 'localhost')}"
        with self._lock:
            if path.startswith("/_runner/"):
                return self._runner_call(method, path, raw)
            self.state["requests"].append(f"{method} {path}")
            fault = self._take_fault(method, path)
            if fault and not fault.after_acting:
                return fault.status, {"content-type": "application/json", **fault.headers}, fault.body
            try:
                status, data, extra = self._checked(method, path, query, headers, raw, base)
            except ApiError as err:
                status, data, extra = err.status, err.body(), {}
                error_model = contract.model_class("ValidationError" if status == 422 else "BasicError")
                assert not contract.problems(error_model, data), f"off-schema error body {data}"
            self._save()
        if fault:
            return fault.status, {"content-type": "application/json", **fault.headers}, fault.body
        body = json.dumps(data).encode() if data is not None else b""
        if method == "GET" and status == 200:
            # GitHub's conditional requests: a weak ETag per answer; If-None-Match with it gets a 304.
            etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
            extra = {**extra, "etag": etag}
            if headers.get("if-none-match") == etag:
                return 304, {"etag": etag}, b""
        return status, {"content-type": "application/json; charset=utf-8", **extra}, body

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.path.search(path) and fault.remaining > 0:
                fault.remaining -= 1
                return fault
        return None

    def _violation(self, method: str, path: str, problems: list[str], status: int) -> ApiError:
        self.state["violations"].append({"request": f"{method} {path}", "problems": problems})
        if status == 422:
            return ApiError(422, "Validation Failed", problems)
        return ApiError(status, "; ".join(problems))

    def _checked(self, method: str, path: str, query: dict, headers: dict, raw: bytes, base: str):
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme not in ("Bearer", "token") or token not in self.tokens:
            raise self._violation(method, path, ["missing or wrong Authorization header"], 401)
        if method == "POST" and path == "/graphql":  # GraphQL takes no API version header
            return self._graphql(self.tokens[token], raw)
        version = headers.get("x-github-api-version")
        if version != contract.API_VERSION:
            raise self._violation(method, path, [f"X-GitHub-Api-Version is {version!r}"], 400)
        found = contract.find_operation(method, path)
        if found is None:
            raise self._violation(method, path, ["no such operation in the stand-in's contract"], 404)
        operation, params = found
        if not rules.permitted(operation.operation_id, self.tokens[token]):
            # GitHub's answer, not a contract violation: the workflow asked for too little.
            self.state.setdefault("forbidden", []).append(f"{method} {path}")
            raise ApiError(403, rules.NOT_ACCESSIBLE)
        body = self._request_body(operation, method, path, raw)
        handler = getattr(self, "_op_" + re.sub(r"\W", "_", operation.operation_id))
        status, data, extra = handler(params=params, query=query, body=body, base=base)
        self._check_response(operation, status, data)
        return status, data, extra

    def _request_body(self, operation: contract.Operation, method: str, path: str, raw: bytes) -> Any:
        if operation.body_type is None:
            if raw.strip():
                raise self._violation(method, path, ["this operation takes no request body"], 400)
            return None
        try:
            body = json.loads(raw or b"null")
        except ValueError as err:
            raise self._violation(method, path, [f"Problems parsing JSON: {err}"], 400) from err
        extras = UNDESCRIBED_BODY_KEYS.get(operation.operation_id, {})
        described = {k: v for k, v in body.items() if k not in extras} if isinstance(body, dict) else body
        problems = contract.problems(operation.body_type, described)
        problems += [f"{key}: expected {kind.__name__}" for key, kind in extras.items()
                     if isinstance(body, dict) and key in body and not isinstance(body[key], kind)]
        if problems:
            raise self._violation(method, path, problems, 422)
        return body

    def _check_response(self, operation: contract.Operation, status: int, data: Any) -> None:
        expected = operation.response_type if status == operation.status else None
        extras = UNDESCRIBED_ANSWER_KEYS.get(operation.operation_id, {})
        if extras and isinstance(data, dict):
            data = {key: value for key, value in data.items() if key not in extras}
        problems = contract.problems(expected, data) if expected is not None else []
        if expected is None and status == operation.status and data is not None:
            problems = ["a body where GitHub sends none"]
        if problems:
            self.state["bugs"].append(f"{operation.operation_id}: {problems}")
            raise AssertionError(f"stand-in answered {operation.operation_id} off-schema: {problems}")

    def _graphql(self, permissions: dict[str, str] | None, raw: bytes) -> tuple[int, Any, dict]:
        """POST /graphql (github_graphql.py): GitHub answers 200 with `errors` for what it refuses."""
        try:
            answer, problems = graphql.serve(self.state, permissions, raw)
        except AssertionError as err:
            self.state["bugs"].append(str(err))
            raise
        if problems:
            self.state["violations"].append({"request": "POST /graphql", "problems": problems})
        return (400 if "message" in answer else 200), answer, {}

    def _save(self) -> None:
        if self.state_file:
            temporary = self.state_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.state, indent=1))
            os.replace(temporary, self.state_file)

    def _next_id(self) -> int:
        self.state["next_id"] += 1
        return self.state["next_id"]

    # ---- operations: issue comments -----------------------------------------------------------------
    def _new_comment(self, repo: str, issue_number: int, body: str) -> dict[str, Any]:
        comment = {
            "id": self._next_id(),
            "repo": repo,
            "issue_number": issue_number,
            "body": body,
            "created_at": now_iso(),
            "updated_at": now_iso(),
        }
        self.state["comments"].append(comment)
        return comment

    def _op_issues_list_comments(self, params, query, body, base):
        repo, number = f"{params['owner']}/{params['repo']}", int(params["issue_number"])
        items = [objects.comment(base, c) for c in self.comments(repo, number)]
        return paginate(items, query, base, f"/repos/{repo}/issues/{number}/comments")

    def _op_issues_create_comment(self, params, query, body, base):
        if len(body["body"]) > MAX_COMMENT_BODY:
            raise ApiError(422, "Validation Failed", ["body is too long (maximum is 65536 characters)"])
        repo = f"{params['owner']}/{params['repo']}"
        return (
            201,
            objects.comment(base, self._new_comment(repo, int(params["issue_number"]), body["body"])),
            {},
        )

    def _op_issues_update_comment(self, params, query, body, base):
        if len(body["body"]) > MAX_COMMENT_BODY:
            raise ApiError(422, "Validation Failed", ["body is too long (maximum is 65536 characters)"])
        comment = self._find("comments", int(params["comment_id"]))
        comment.update(body=body["body"], updated_at=now_iso())
        return 200, objects.comment(base, comment), {}

    # ---- operations: issues (a failed production deploy opens one) -----------------------------------
    def _op_issues_list_for_repo(self, params, query, body, base):
        repo = f"{params['owner']}/{params['repo']}"
        wanted = {name for name in query.get("labels", "").split(",") if name}
        state = query.get("state", "open")
        items = [
            objects.issue(base, i, len(self.comments(repo, i["number"])))
            for i in self.state.setdefault("issues", [])
            if i["repo"] == repo and state in ("all", i["state"]) and wanted <= set(i["labels"])
        ]
        return paginate(items, query, base, f"/repos/{repo}/issues")

    def _op_issues_create(self, params, query, body, base):
        repo = f"{params['owner']}/{params['repo']}"
        if len(body.get("body") or "") > MAX_COMMENT_BODY:
            raise ApiError(422, "Validation Failed", ["body is too long (maximum is 65536 characters)"])
        issues = self.state.setdefault("issues", [])
        labels = [label if isinstance(label, str) else label["name"] for label in body.get("labels") or []]
        created = {"id": self._next_id(), "repo": repo, "number": len(issues) + 1, "state": "open",
                   "title": body["title"], "body": body.get("body"), "labels": labels,
                   "created_at": now_iso(), "updated_at": now_iso()}
        issues.append(created)
        return 201, objects.issue(base, created, 0), {}

    def _find(self, kind: str, object_id: int) -> dict[str, Any]:
        for item in self.state[kind]:
            if item["id"] == object_id:
                return item
        raise ApiError(404, "Not Found")

    # ---- operations: deployments ---------------------------------------------------------------------
    def _op_repos_create_deployment(self, params, query, body, base):
        environment = body.get("environment") or "production"
        deployment = {
            "id": self._next_id(),
            "repo": f"{params['owner']}/{params['repo']}",
            "ref": body["ref"],
            "sha": body["ref"] if re.fullmatch(r"[0-9a-f]{40}", body["ref"]) else "0" * 40,
            "task": body.get("task") or "deploy",
            "payload": body.get("payload") or {},
            "environment": environment,
            "description": body.get("description"),
            "production_environment": body.get("production_environment", environment == "production"),
            "transient_environment": bool(body.get("transient_environment", False)),
            "created_at": now_iso(),
            "updated_at": now_iso(),
        }
        self.state["deployments"].append(deployment)
        return 201, objects.deployment(base, deployment), {}

    def _op_repos_list_deployments(self, params, query, body, base):
        repo = f"{params['owner']}/{params['repo']}"
        wanted = {key: query[key] for key in ("environment", "ref", "sha", "task") if key in query}
        items = [
            objects.deployment(base, d)
            for d in reversed(self.state["deployments"])
            if d["repo"] == repo and all(d[key] == value for key, value in wanted.items())
        ]
        return paginate(items, query, base, f"/repos/{repo}/deployments")

    def _op_repos_get_deployment(self, params, query, body, base):
        return 200, objects.deployment(base, self._find("deployments", int(params["deployment_id"]))), {}

    def _op_repos_list_deployment_statuses(self, params, query, body, base):
        deployment = self._find("deployments", int(params["deployment_id"]))
        items = [objects.status(base, deployment, s) for s in reversed(self.statuses(deployment["id"]))]
        return paginate(
            items, query, base, f"/repos/{deployment['repo']}/deployments/{deployment['id']}/statuses"
        )

    def _op_repos_create_deployment_status(self, params, query, body, base):
        deployment = self._find("deployments", int(params["deployment_id"]))
        status = self._new_status(deployment, body)
        if body["state"] == "success" and body.get("auto_inactive", True):
            self._deactivate_older(deployment)
        return 201, objects.status(base, deployment, status), {}

    def _new_status(self, deployment: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        status = {"id": self._next_id(), "deployment_id": deployment["id"], "created_at": now_iso()}
        status.update(
            {
                key: body.get(key)
                for key in ("state", "environment_url", "log_url", "target_url", "description")
            }
        )
        status["environment"] = body.get("environment") or deployment["environment"]
        self.state["deployment_statuses"].append(status)
        return status

    def _deactivate_older(self, deployment: dict[str, Any]) -> None:
        # GitHub's auto_inactive: older non-transient, non-production deployments of the same
        # environment whose latest status is success get an inactive status.
        for older in self.state["deployments"]:
            same_place = (
                older["repo"] == deployment["repo"] and older["environment"] == deployment["environment"]
            )
            statuses = self.statuses(older["id"])
            if (
                older["id"] < deployment["id"]
                and same_place
                and statuses
                and statuses[-1]["state"] == "success"
                and not older["production_environment"]
                and not older["transient_environment"]
            ):
                self._new_status(older, {"state": "inactive"})

    # ---- operations: check runs --------------------------------------------------------------------
    def _annotations(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        annotations = (body.get("output") or {}).get("annotations") or []
        if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
            raise ApiError(422, "Validation Failed", [f"more than {MAX_ANNOTATIONS_PER_REQUEST} annotations"])
        return annotations

    def _op_checks_create(self, params, query, body, base):
        annotations = self._annotations(body)
        run = {
            "id": self._next_id(),
            "repo": f"{params['owner']}/{params['repo']}",
            "annotations": [],
            "status": "queued",
            "conclusion": None,
            "started_at": now_iso(),
            "completed_at": None,
            "details_url": None,
            "external_id": None,
            "output": {},
        }
        run.update({key: body[key] for key in ("name", "head_sha")})
        self._apply_check_update(run, body, annotations)
        self.state["check_runs"].append(run)
        return 201, objects.check_run(base, run), {}

    def _op_checks_update(self, params, query, body, base):
        annotations = self._annotations(body)
        run = self._find("check_runs", int(params["check_run_id"]))
        self._apply_check_update(run, body, annotations)
        return 200, objects.check_run(base, run), {}

    def _apply_check_update(self, run: dict, body: dict, annotations: list[dict]) -> None:
        for key in (
            "name",
            "status",
            "conclusion",
            "started_at",
            "completed_at",
            "details_url",
            "external_id",
        ):
            if body.get(key) is not None:
                run[key] = body[key]
        if body.get("conclusion"):
            run["status"] = "completed"
            run["completed_at"] = run.get("completed_at") or now_iso()
        output = body.get("output") or {}
        run["output"].update({key: output[key] for key in ("title", "summary", "text") if key in output})
        run["annotations"].extend(annotations)  # GitHub appends the annotations of every update

    def _op_checks_get(self, params, query, body, base):
        return 200, objects.check_run(base, self._find("check_runs", int(params["check_run_id"]))), {}

    def _op_checks_list_annotations(self, params, query, body, base):
        run = self._find("check_runs", int(params["check_run_id"]))
        items = [objects.annotation(base, run, a) for a in run["annotations"]]
        return paginate(items, query, base, f"/repos/{run['repo']}/check-runs/{run['id']}/annotations")

    # ---- operations: workflow dispatch and runs ----------------------------------------------------
    def _workflow_id(self, workflow: str) -> tuple[str, int]:
        workflows = self.state["workflows"]
        if workflow.isdigit():
            for name, number in workflows.items():
                if number == int(workflow):
                    return name, number
            raise ApiError(404, "Not Found")
        if workflow not in workflows:
            if workflow not in self.workflow_files:
                raise ApiError(404, "Not Found")  # GitHub's answer for a file the repository lacks
            workflows[workflow] = self._next_id()
        return workflow, workflows[workflow]

    def _op_actions_create_workflow_dispatch(self, params, query, body, base):
        if len(body.get("inputs") or {}) > MAX_DISPATCH_INPUTS:
            raise ApiError(422, "Validation Failed", [f"more than {MAX_DISPATCH_INPUTS} inputs"])
        name, workflow_id = self._workflow_id(params["workflow_id"])
        problems = rules.dispatch_problems(self.workflow_files.get(name), body.get("inputs") or {})
        if problems:
            raise ApiError(422, problems[0])
        repo = f"{params['owner']}/{params['repo']}"
        self.state["dispatches"].append(
            {
                "repo": repo,
                "workflow": name,
                "ref": body["ref"],
                "inputs": body.get("inputs") or {},
                "at": now_iso(),
            }
        )
        number = 1 + sum(1 for r in self.state["workflow_runs"] if r["workflow_id"] == workflow_id)
        self.state["workflow_runs"].append(
            {
                "id": self._next_id(),
                "repo": repo,
                "workflow": name,
                "workflow_id": workflow_id,
                "run_number": number,
                "head_branch": body["ref"],
                "head_sha": "0" * 40,
                "event": "workflow_dispatch",
                "status": "queued",
                "conclusion": None,
                "created_at": now_iso(),
            }
        )
        return 204, None, {}

    def _runs(self, params, query, base, workflow_id: int | None, path: str):
        repo = f"{params['owner']}/{params['repo']}"
        runs = [
            r
            for r in reversed(self.state["workflow_runs"])
            if r["repo"] == repo
            and (workflow_id is None or r["workflow_id"] == workflow_id)
            and query.get("branch", r["head_branch"]) == r["head_branch"]
            and query.get("event", r["event"]) == r["event"]
            and query.get("status") in (None, r["status"], r["conclusion"])
        ]
        status, page, headers = paginate([objects.workflow_run(base, r) for r in runs], query, base, path)
        return status, {"total_count": len(runs), "workflow_runs": page}, headers

    def _op_actions_list_workflow_runs_for_repo(self, params, query, body, base):
        return self._runs(
            params, query, base, None, f"/repos/{params['owner']}/{params['repo']}/actions/runs"
        )

    def _op_actions_list_workflow_runs(self, params, query, body, base):
        _, workflow_id = self._workflow_id(params["workflow_id"])
        path = f"/repos/{params['owner']}/{params['repo']}/actions/workflows/{params['workflow_id']}/runs"
        return self._runs(params, query, base, workflow_id, path)

    def _op_actions_get_workflow_run(self, params, query, body, base):
        return 200, objects.workflow_run(base, self._find("workflow_runs", int(params["run_id"]))), {}

    def _op_actions_cancel_workflow_run(self, params, query, body, base):
        run = self._find("workflow_runs", int(params["run_id"]))
        if run["status"] == "completed":
            raise ApiError(409, "Cannot cancel a workflow run that is completed.")
        run.update(status="completed", conclusion="cancelled")
        return 202, {}, {}

    # ---- operations: environments ------------------------------------------------------------------
    def _op_repos_create_or_update_environment(self, params, query, body, base):
        repo, name = f"{params['owner']}/{params['repo']}", unquote(params["environment_name"])
        environments = self.state["environments"]
        existing = environments.get(f"{repo}/{name}")
        environment = existing or {"id": self._next_id(), "repo": repo, "name": name, "created_at": now_iso()}
        environment.update({"protection": body or {}, "updated_at": now_iso()})
        environment.setdefault("branch_policies", [])
        environments[f"{repo}/{name}"] = environment
        return 200, objects.environment(base, environment), {}

    def _environment(self, params) -> dict[str, Any]:
        key = f"{params['owner']}/{params['repo']}/{unquote(params['environment_name'])}"
        if key not in self.state["environments"]:
            raise ApiError(404, "Not Found")
        return self.state["environments"][key]

    def _op_repos_get_environment(self, params, query, body, base):
        return 200, objects.environment(base, self._environment(params)), {}

    def _op_repos_list_deployment_branch_policies(self, params, query, body, base):
        environment = self._environment(params)
        policies = environment.get("branch_policies", [])
        return 200, {"total_count": len(policies), "branch_policies": policies}, {}

    def _op_repos_create_deployment_branch_policy(self, params, query, body, base):
        environment = self._environment(params)
        policy_setting = (environment.get("protection") or {}).get("deployment_branch_policy") or {}
        if not policy_setting.get("custom_branch_policies"):
            # GitHub's answer when the environment does not use custom policies.
            raise ApiError(404, "Not Found")
        policy = {"id": self._next_id(), "node_id": f"DBP_{environment['id']}", "name": body["name"],
                  "type": body.get("type", "branch")}
        environment.setdefault("branch_policies", []).append(policy)
        return 200, policy, {}

    # ---- the runner's side of a job (github_runner): its token, the Environment's protection -----------
    def _runner_call(self, method: str, path: str, raw: bytes) -> tuple[int, dict, bytes]:
        found = re.fullmatch(r"/_runner/jobs(?:/(\d+))?", path)
        try:
            if found and method == "POST" and not found.group(1):
                job = self._start_job(json.loads(raw))
                self._save()
            elif found and method == "GET" and found.group(1):
                job = self._find("jobs", int(found.group(1)))
            else:
                raise ApiError(404, "Not Found")
            status, data = 200, runner.runner_view(job)
        except PermissionError as err:  # GitHub does not start the job
            status, data = 422, {"message": str(err)}
        except (ApiError, LookupError, KeyError, ValueError) as err:
            status, data = getattr(err, "status", 400), {"message": str(err)}
        return status, {"content-type": "application/json"}, json.dumps(data).encode()

    def _start_job(self, request: dict[str, Any]) -> dict[str, Any]:
        top = Path(request["top_workflow_path"]) if request.get("top_workflow_path") else None
        permissions = runner.job_permissions(Path(request["workflow_path"]), request["job"], top)
        environment = self._named_environment(request["repository"], request.get("environment") or "")
        refusal = runner.branch_refusal(environment, request.get("ref_name") or "")
        if refusal:
            raise PermissionError(refusal)
        job = runner.new_job(request, self._next_id(), permissions, runner.protected(environment))
        self.state["jobs"].append(job)
        self.tokens[job["token"]] = permissions
        self._run_of(request, job)
        return job

    def _named_environment(self, repo: str, name: str) -> dict[str, Any] | None:
        """GitHub creates an Environment, unprotected, the first time a job names it."""
        if not name:
            return None
        key = f"{repo}/{name}"
        if key not in self.state["environments"]:
            self.state["environments"][key] = {"id": self._next_id(), "repo": repo, "name": name,
                                               "created_at": now_iso(), "updated_at": now_iso(),
                                               "protection": {}, "branch_policies": []}
        return self.state["environments"][key]

    def _run_of(self, request: dict[str, Any], job: dict[str, Any]) -> None:
        """The workflow run a job belongs to, as GET /actions/runs/{id} shows it."""
        runs = {r["id"]: r for r in self.state["workflow_runs"]}
        run = runs.get(job["run_id"])
        if run is None:
            workflow_id = self.state["workflows"].setdefault(job["workflow"], self._next_id())
            run = {"id": job["run_id"], "repo": request["repository"], "workflow": job["workflow"],
                   "workflow_id": workflow_id, "run_number": job["run_id"],
                   "head_branch": request.get("ref_name") or "main",
                   "head_sha": request.get("sha") or "0" * 40, "event": request.get("event") or "push",
                   "status": "in_progress", "conclusion": None, "created_at": now_iso()}
            self.state["workflow_runs"].append(run)
        run["status"] = "waiting" if job["state"] == "waiting" else "in_progress"

    def _op_actions_get_pending_deployments_for_run(self, params, query, body, base):
        repo, run_id = f"{params['owner']}/{params['repo']}", int(params["run_id"])
        self._find("workflow_runs", run_id)
        waiting = {j["environment"] for j in self.state["jobs"]
                   if j["run_id"] == run_id and j["state"] == "waiting"}
        items = [objects.pending_deployment(base, self.state["environments"][f"{repo}/{name}"])
                 for name in sorted(waiting)]
        return 200, items, {}

    def _op_actions_review_pending_deployments_for_run(self, params, query, body, base):
        repo, run_id = f"{params['owner']}/{params['repo']}", int(params["run_id"])
        run = self._find("workflow_runs", run_id)
        ids = set(body["environment_ids"])
        jobs = [j for j in self.state["jobs"] if j["run_id"] == run_id and j["state"] == "waiting"
                and self.state["environments"][f"{repo}/{j['environment']}"]["id"] in ids]
        if not jobs:
            raise ApiError(422, "Validation Failed", ["no job of this run waits for those environments"])
        for job in jobs:
            job.update(state=body["state"], review_comment=body["comment"])
        self.state.setdefault("reviews", []).append(
            {"id": self._next_id(), "run_id": run_id, "state": body["state"], "comment": body["comment"],
             "environments": sorted({j["environment"] for j in jobs}), "repo": repo})
        if not any(j["state"] == "waiting" for j in self.state["jobs"] if j["run_id"] == run_id):
            run["status"] = "in_progress"
        # The jobs here name their Environment with `deployment: false`: GitHub creates no deployment.
        return 200, [], {}

    def _op_actions_get_reviews_for_run(self, params, query, body, base):
        repo, run_id = f"{params['owner']}/{params['repo']}", int(params["run_id"])
        self._find("workflow_runs", run_id)
        reviews = [r for r in self.state.setdefault("reviews", []) if r["run_id"] == run_id]
        environments = self.state["environments"]
        return 200, [objects.review(base, r, [environments[f"{repo}/{name}"] for name in r["environments"]])
                     for r in reviews], {}

    # ---- operations: pull requests, made from and merged into the hosted git repository -------------------
    def _git(self, *args: str) -> str:
        if self.git_repo is None:
            raise ApiError(422, "Validation Failed", ["the stand-in hosts no git repository (--git-repo)"])
        env = {**os.environ, "GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com",
               "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
        argv = ["git", "-C", str(self.git_repo), *args]
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise ApiError(422, "Validation Failed", [f"git {args[0]}: {done.stderr.strip()[:200]}"])
        return done.stdout.strip()

    def _op_pulls_create(self, params, query, body, base):
        repo = f"{params['owner']}/{params['repo']}"
        pulls = self.state.setdefault("pulls", [])
        record = {"id": self._next_id(), "repo": repo, "title": body["title"], "body": body.get("body"),
                  "head": body["head"].split(":")[-1], "base": body["base"], "merged": False,
                  "created_at": now_iso(), "updated_at": now_iso(),
                  # issues and pull requests share one numbering
                  "number": 1 + len(pulls) + len(self.state.setdefault("issues", []))}
        record["head_sha"] = self._git("rev-parse", f"refs/heads/{record['head']}")
        record["base_sha"] = self._git("rev-parse", f"refs/heads/{record['base']}")
        pulls.append(record)
        return 201, objects.pull_request(base, record), {}

    def _op_pulls_merge(self, params, query, body, base):
        number = int(params["pull_number"])
        record = next((p for p in self.state.setdefault("pulls", []) if p["number"] == number), None)
        if record is None:
            raise ApiError(404, "Not Found")
        body = body or {}
        if record["merged"]:
            raise ApiError(405, "Pull Request is not mergeable")
        if body.get("merge_method", "merge") != "merge":
            raise ApiError(405, "Merge commits are the only merge method allowed in this repository")
        head = self._git("rev-parse", f"refs/heads/{record['head']}")
        if body.get("sha") not in (None, head):
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        title = body.get("commit_title") or f"Merge pull request #{number} from {record['head']}"
        self._git("checkout", "-q", record["base"])
        self._git("merge", "-q", "--no-ff", "-m", f"{title}\n\n{record['title']}", record["head"])
        merged = self._git("rev-parse", "HEAD")
        self._git("update-ref", f"refs/remotes/origin/{record['base']}", merged)  # main moved on GitHub
        record.update(merged=True, merge_commit_sha=merged, merged_at=now_iso(), updated_at=now_iso(),
                      head_sha=head)
        return 200, {"sha": merged, "merged": True, "message": "Pull Request successfully merged"}, {}

    def protect(self, repo: str, name: str, **protection: Any) -> None:
        """Set an environment's protection directly, as an administrator would in the settings page."""
        with self._lock:
            environment = self.state["environments"].setdefault(
                f"{repo}/{name}",
                {"id": self._next_id(), "repo": repo, "name": name, "created_at": now_iso(),
                 "updated_at": now_iso(), "branch_policies": []},
            )
            environment["protection"] = protection
            self._save()


def paginate(items: list[Any], query: dict[str, str], base: str, path: str) -> tuple[int, list[Any], dict]:
    """GitHub's page/per_page pagination with a Link header (per_page defaults to 30, at most 100)."""
    per_page = max(1, min(int(query.get("per_page", 30)), 100))
    page = max(1, int(query.get("page", 1)))
    last = max(1, math.ceil(len(items) / per_page))

    def link(number: int, rel: str) -> str:
        return f'<{base}{path}?{urlencode({**query, "per_page": per_page, "page": number})}>; rel="{rel}"'

    links = []
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    headers = {"link": ", ".join(links)} if links else {}
    return 200, items[(page - 1) * per_page : page * per_page], headers


class _Handler(BaseHTTPRequestHandler):
    api: GitHubApiStandIn
    protocol_version = "HTTP/1.1"  # keep-alive, as GitHub; every answer carries its length

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            status, out_headers, body = self.api.serve(self.command, self.path, headers, raw)
        except AssertionError as err:  # an off-schema answer: a bug in the stand-in, never sent
            status, out_headers, body = 500, {"content-type": "text/plain"}, str(err).encode()
        self.send_response(status)
        for key, value in out_headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the GitHub REST API stand-in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--state-file", required=True, help="JSON file that mirrors the state after each call"
    )
    parser.add_argument("--token", default=os.environ.get("GITHUB_STANDIN_TOKEN", DEFAULT_TOKEN))
    parser.add_argument("--git-repo", help="the repository's git checkout (pull requests merge into it)")
    parser.add_argument("--workflows-dir", default=str(REPO_WORKFLOWS),
                        help="the repository's .github/workflows (what dispatch may start)")
    args = parser.parse_args()
    api = GitHubApiStandIn(
        token=args.token, state_file=args.state_file, workflows_dir=args.workflows_dir, git_repo=args.git_repo
    ).start(args.host, args.port)
    api._save()
    print(f"listening on {api.url}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    api.stop()


if __name__ == "__main__":
    main()
