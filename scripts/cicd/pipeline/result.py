"""The run result: the BuildResult contract, written to `.cicd/runs/<id>/result.json`.

{pipeline_id, name, status, started_at, completed_at, duration_seconds,
 steps: [{name, stage, status, exit_code, duration_seconds, attempts, logs_url, reason}],
 artifacts, rollback_triggered}
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PIPELINE_STATUSES = ("success", "failed", "cancelled")
STEP_STATUSES = ("success", "failed", "skipped", "cancelled", "timed_out")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StepResult:
    name: str
    stage: str
    status: str
    exit_code: int | None
    duration_seconds: float
    attempts: int
    logs_url: str
    reason: str | None = None
    continue_on_fail: bool = field(default=False, repr=False)

    @property
    def blocks_pipeline(self) -> bool:
        """A failure that makes the pipeline fail (continue_on_fail lets it pass)."""
        return self.status in ("failed", "timed_out") and not self.continue_on_fail

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("continue_on_fail")
        data["duration_seconds"] = round(self.duration_seconds, 3)
        return data


@dataclass
class BuildResult:
    pipeline_id: str
    name: str
    status: str
    started_at: str
    completed_at: str
    duration_seconds: float
    steps: list[StepResult]
    artifacts: list[str]
    rollback_triggered: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline_id": self.pipeline_id,
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "duration_seconds": round(self.duration_seconds, 3),
            "steps": [step.to_dict() for step in self.steps],
            "artifacts": list(self.artifacts),
            "rollback_triggered": self.rollback_triggered,
        }


def pipeline_status(steps: list[StepResult], *, cancelled: bool) -> str:
    """Never success when a job without continue_on_fail failed or timed out."""
    if cancelled:
        return "cancelled"
    return "failed" if any(step.blocks_pipeline for step in steps) else "success"


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write atomically: a reader (or a crash) never sees half a result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def latest_result(runs_dir: Path, pipeline_name: str) -> dict[str, Any] | None:
    """The most recently completed readable result of this pipeline under runs_dir, or None."""
    best: tuple[str, dict[str, Any]] | None = None
    if not runs_dir.is_dir():
        return None
    for path in runs_dir.glob("*/result.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a damaged or foreign file must not break planning
        if not isinstance(data, dict) or data.get("name") != pipeline_name:
            continue
        completed = str(data.get("completed_at") or "")
        if best is None or completed > best[0]:
            best = (completed, data)
    return best[1] if best else None


def job_durations(result: dict[str, Any]) -> dict[str, float]:
    """Durations of the jobs that actually ran (skipped ones say nothing about a job's cost)."""
    durations = {}
    for step in result.get("steps") or []:
        if isinstance(step, dict) and step.get("status") in ("success", "failed", "timed_out"):
            value = step.get("duration_seconds")
            if isinstance(value, int | float) and isinstance(step.get("name"), str):
                durations[step["name"]] = float(value)
    return durations
