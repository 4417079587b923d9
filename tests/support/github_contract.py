"""GitHub's REST contract for the operations cicd uses, read from githubkit's generated client.

githubkit generates one client method per operation of GitHub's OpenAPI description: its docstring
names the operation and its `METHOD /path`, its body goes through `type_validate_python(<BodyModel>, ...)`
and its response through `response_model=<Model>`. Reading those three facts from the installed package
(instead of writing them down here) is what keeps the stand-in from drifting away from the real API.
Only the success status codes are ours: the generated client does not carry them.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import re
import textwrap
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

API_VERSION = "2022-11-28"
SCHEMA_PACKAGE = "githubkit_schemas.v2022_11_28"

# operationId -> (githubkit client module, method name, success status) for every endpoint served.
OPERATIONS: dict[str, tuple[str, str, int]] = {
    "issues/list-comments": ("issues", "list_comments", 200),
    "issues/create-comment": ("issues", "create_comment", 201),
    "issues/update-comment": ("issues", "update_comment", 200),
    "issues/list-for-repo": ("issues", "list_for_repo", 200),
    "issues/create": ("issues", "create", 201),
    "repos/list-deployments": ("repos", "list_deployments", 200),
    "repos/create-deployment": ("repos", "create_deployment", 201),
    "repos/get-deployment": ("repos", "get_deployment", 200),
    "repos/list-deployment-statuses": ("repos", "list_deployment_statuses", 200),
    "repos/create-deployment-status": ("repos", "create_deployment_status", 201),
    "checks/create": ("checks", "create", 201),
    "checks/update": ("checks", "update", 200),
    "checks/get": ("checks", "get", 200),
    "checks/list-annotations": ("checks", "list_annotations", 200),
    "actions/create-workflow-dispatch": ("actions", "create_workflow_dispatch", 204),
    "actions/list-workflow-runs-for-repo": ("actions", "list_workflow_runs_for_repo", 200),
    "actions/list-workflow-runs": ("actions", "list_workflow_runs", 200),
    "actions/get-workflow-run": ("actions", "get_workflow_run", 200),
    "actions/cancel-workflow-run": ("actions", "cancel_workflow_run", 202),
    "actions/get-pending-deployments-for-run": ("actions", "get_pending_deployments_for_run", 200),
    "actions/review-pending-deployments-for-run": ("actions", "review_pending_deployments_for_run", 200),
    "actions/get-reviews-for-run": ("actions", "get_reviews_for_run", 200),
    "pulls/create": ("pulls", "create", 201),
    "pulls/merge": ("pulls", "merge", 200),
    "repos/create-or-update-environment": ("repos", "create_or_update_environment", 200),
    "repos/get-environment": ("repos", "get_environment", 200),
    "repos/list-deployment-branch-policies": ("repos", "list_deployment_branch_policies", 200),
    "repos/create-deployment-branch-policy": ("repos", "create_deployment_branch_policy", 200),
}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # GitHub's template, e.g. /repos/{owner}/{repo}/deployments
    pattern: re.Pattern[str]
    body_type: Any  # None when the operation takes no body
    response_type: Any  # None when GitHub answers with no body (204)
    error_types: dict[str, Any]
    status: int

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def _client_class(module_name: str) -> type:
    module = importlib.import_module(f"{SCHEMA_PACKAGE}.rest.{module_name}")
    for name, value in vars(module).items():
        if name.endswith("Client") and inspect.isclass(value) and value.__module__ == module.__name__:
            return value
    raise LookupError(f"no client class in {module.__name__}")


def _resolve(expression: ast.expr) -> Any:
    """Evaluate a type expression such as `list[IssueComment]` against githubkit's models."""
    models = importlib.import_module(f"{SCHEMA_PACKAGE}.models")
    names = {"list": list, "Union": typing.Union, "None": None}
    for node in ast.walk(expression):
        if isinstance(node, ast.Name) and node.id not in names:
            names[node.id] = getattr(models, node.id)
    return eval(compile(ast.Expression(expression), "<githubkit type>", "eval"), names)


def _template_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", path)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(regex)


def _read_operation(operation_id: str, module_name: str, method_name: str, status: int) -> Operation:
    function = getattr(_client_class(module_name), method_name)
    doc_lines = [line.strip() for line in (function.__doc__ or "").splitlines() if line.strip()]
    if doc_lines[0] != operation_id:
        raise LookupError(f"githubkit's {module_name}.{method_name} is {doc_lines[0]}, not {operation_id}")
    http_method, path = doc_lines[1].split(" ", 1)
    body_type = response_type = None
    error_types: dict[str, Any] = {}
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
        if not isinstance(node, ast.Call):
            continue
        callee = ast.unparse(node.func)
        if callee == "type_validate_python":
            body_type = _resolve(node.args[0])
        elif callee == "self._github.request":
            for keyword in node.keywords:
                if keyword.arg == "response_model":
                    response_type = _resolve(keyword.value)
                elif keyword.arg == "error_models" and isinstance(keyword.value, ast.Dict):
                    for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                        error_types[ast.literal_eval(key)] = _resolve(value)
    return Operation(
        operation_id,
        http_method,
        path,
        _template_pattern(path),
        body_type,
        response_type,
        error_types,
        status,
    )


@functools.cache
def operations() -> tuple[Operation, ...]:
    return tuple(_read_operation(op_id, *where) for op_id, where in OPERATIONS.items())


def find_operation(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    for operation in operations():
        params = operation.match(method, path)
        if params is not None:
            return operation, params
    return None


@functools.cache
def _adapter(type_: Any) -> TypeAdapter:
    return TypeAdapter(type_)


def model_class(name: str) -> type[BaseModel]:
    return getattr(importlib.import_module(f"{SCHEMA_PACKAGE}.models"), name)


def problems(type_: Any, data: Any) -> list[str]:
    """Everything wrong with `data` as an instance of `type_`: type errors and undeclared keys.

    Strict JSON-mode validation (no "false" for false, no "3" for 3) plus a walk for keys the schema
    does not declare: githubkit's models ignore unknown keys, GitHub's schema does not list them, and
    a key that only the stand-in understands is exactly the fiction this guards against.
    """
    try:
        value = _adapter(type_).validate_json(json.dumps(data), strict=True)
    except PydanticValidationError as err:
        # Errors of the "field left unset" branch of every optional field only repeat the real one.
        return [
            f"{'.'.join(str(part) for part in error['loc']) or '(body)'}: {error['msg']}"
            for error in err.errors(include_url=False)
            if not any("<UNSET>" in str(part) for part in error["loc"])
        ]
    found: list[str] = []
    _undeclared_keys(value, data, "", found)
    return found


def _undeclared_keys(value: Any, data: Any, where: str, found: list[str]) -> None:
    if isinstance(value, BaseModel) and isinstance(data, dict):
        fields = {(field.alias or name): name for name, field in type(value).model_fields.items()}
        if type(value).model_config.get("extra") != "allow":
            found.extend(f"{where}{key}: not in GitHub's schema" for key in data if key not in fields)
        for key, name in fields.items():
            if key in data:
                _undeclared_keys(getattr(value, name), data[key], f"{where}{key}.", found)
    elif isinstance(value, list) and isinstance(data, list):
        for index, (item, raw) in enumerate(zip(value, data, strict=False)):
            _undeclared_keys(item, raw, f"{where}{index}.", found)
