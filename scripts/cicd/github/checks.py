"""Check runs with annotations: a pipeline result becomes a check on the commit, failures become
file/line annotations in the pull request's diff view.

GitHub takes at most 50 annotations per request and appends those of every update, so a longer list is
sent as a create followed by PATCH batches; the last one completes the run with its conclusion.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cicd.github.client import GitHubClient

ANNOTATIONS_PER_REQUEST = 50
MAX_SUMMARY = 65535
LEVELS = ("notice", "warning", "failure")
CONCLUSIONS = {"success": "success", "failed": "failure", "rolled_back": "failure", "cancelled": "cancelled"}


@dataclass(frozen=True)
class Annotation:
    path: str
    start_line: int
    message: str
    level: str = "failure"
    end_line: int | None = None
    title: str | None = None

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line or self.start_line,
            "annotation_level": self.level if self.level in LEVELS else "failure",
            "message": self.message[:64000],
        }
        if self.title:
            data["title"] = self.title[:255]
        return data


def conclusion_of(result: dict[str, Any]) -> str:
    return CONCLUSIONS.get(str(result.get("status")), "neutral")


def _definition_line(config_text: str, step_name: str) -> int:
    """The line that names the job in the pipeline config, so the annotation lands on it."""
    pattern = re.compile(rf"^\s*(?:-\s*)?name:\s*['\"]?{re.escape(step_name)}['\"]?\s*(?:#.*)?$")
    for number, line in enumerate(config_text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


def annotations_from_result(
    result: dict[str, Any], config_path: str = "config/pipeline.yml"
) -> list[Annotation]:
    """One annotation per failed step of a BuildResult (plus any the step carries itself)."""
    path = Path(config_path)
    config_text = path.read_text(encoding="utf-8") if path.is_file() else ""
    found: list[Annotation] = []
    for step in result.get("steps") or []:
        for item in step.get("annotations") or []:
            found.append(_carried(item))
        if step.get("status") not in ("failed", "timed_out"):
            continue
        exit_code = step.get("exit_code")
        how = (
            "timed out"
            if step.get("status") == "timed_out" or exit_code is None
            else f"exit code {exit_code}"
        )
        message = f"{step.get('name')} failed ({how}) after {float(step.get('duration_seconds') or 0):.1f} s"
        if step.get("logs_url"):
            message += f"; log: {step['logs_url']}"
        found.append(
            Annotation(
                config_path,
                _definition_line(config_text, str(step.get("name"))),
                message,
                title=f"job {step.get('name')} failed",
            )
        )
    return found


def _carried(item: dict[str, Any]) -> Annotation:
    line = int(item.get("line") or item.get("start_line") or 1)
    return Annotation(
        path=str(item.get("path") or item.get("file")),
        start_line=line,
        message=str(item.get("message")),
        level={"error": "failure"}.get(item.get("level", "failure"), item.get("level", "failure")),
        end_line=item.get("end_line"),
        title=item.get("title"),
    )


def _batches(items: Sequence[Annotation]) -> list[list[dict[str, Any]]]:
    bodies = [item.body() for item in items]
    return [
        bodies[i : i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(bodies), ANNOTATIONS_PER_REQUEST)
    ] or [[]]


def publish_check_run(
    client: GitHubClient,
    *,
    name: str,
    head_sha: str,
    conclusion: str,
    title: str,
    summary: str,
    annotations: Iterable[Annotation] = (),
    details_url: str | None = None,
    external_id: str | None = None,
) -> dict[str, Any]:
    """Create a completed check run carrying every annotation; returns GitHub's final check run."""
    summary = summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 20] + "\n\n… (truncated)"
    batches = _batches(list(annotations))
    body: dict[str, Any] = {"name": name, "head_sha": head_sha}
    if details_url:
        body["details_url"] = details_url
    if external_id:
        body["external_id"] = external_id
    first, rest = batches[0], batches[1:]
    finish = {"status": "completed", "conclusion": conclusion, "completed_at": _now()}
    opening = {**body, **(finish if not rest else {"status": "in_progress"})}
    run = client.post(client.repo_path("/check-runs"), {**opening, "output": _output(title, summary, first)})
    for index, batch in enumerate(rest, start=1):
        update = finish if index == len(rest) else {}
        run = client.patch(
            client.repo_path(f"/check-runs/{run['id']}"), {**update, "output": _output(title, summary, batch)}
        )
    return run


def _output(title: str, summary: str, annotations: list[dict[str, Any]]) -> dict[str, Any]:
    output: dict[str, Any] = {"title": title[:255], "summary": summary}
    if annotations:
        output["annotations"] = annotations
    return output


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
