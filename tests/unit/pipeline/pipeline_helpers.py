"""Build pipeline contexts directly (no YAML) and run them for real under a tmp_path."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cicd.config.context import JobSpec, PipelineContext, RollbackSpec, StageSpec
from cicd.config.models import When
from cicd.pipeline.executor import PipelineRun, RunOptions
from cicd.pipeline.result import BuildResult, StepResult


def job(
    name: str,
    command: str = "true",
    *,
    timeout: int = 60,
    retry: int = 0,
    continue_on_fail: bool = False,
    artifacts: tuple[str, ...] = (),
) -> JobSpec:
    return JobSpec(name, "", command, timeout, retry, continue_on_fail, artifacts)


def stage(name: str, *jobs: JobSpec, deps: tuple[str, ...] = (), when: When | None = None) -> StageSpec:
    from dataclasses import replace

    return StageSpec(name, tuple(deps), tuple(replace(j, stage=name) for j in jobs), when)


def pipeline(
    *stages: StageSpec,
    name: str = "demo",
    timeout_seconds: int = 300,
    variables: dict[str, str] | None = None,
    environment: str | None = None,
) -> PipelineContext:
    return PipelineContext(
        name=name,
        trigger="manual",
        environment=environment,
        timeout_seconds=timeout_seconds,
        variables=dict(variables or {}),
        secrets=(),
        stages=tuple(stages),
        rollback=RollbackSpec(enabled=False, strategy="previous_version"),
    )


@dataclass
class RecordingDisplay:
    """A real Display that keeps what it was told, with monotonic timestamps."""

    events: list[tuple[float, str, str]] = field(default_factory=list)
    lines: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def job_started(self, job: JobSpec, attempt: int, attempts: int) -> None:
        with self.lock:
            self.events.append((time.monotonic(), "start", job.name))

    def job_line(self, job: JobSpec, line: str) -> None:
        with self.lock:
            self.lines.setdefault(job.name, []).append(line)

    def job_finished(self, step: StepResult, log_path: Path) -> None:
        with self.lock:
            self.events.append((time.monotonic(), step.status, step.name))

    def close(self) -> None:
        pass

    def time_of(self, kind: str, name: str) -> float:
        return next(t for t, k, n in self.events if k == kind and n == name)


def run(
    context: PipelineContext,
    tmp_path: Path,
    *,
    max_parallel: int = 8,
    env: dict[str, str] | None = None,
    skips: dict[str, str] | None = None,
    backoff: float = 0.01,
) -> tuple[BuildResult, RecordingDisplay]:
    display = RecordingDisplay()
    options = RunOptions(
        runs_dir=tmp_path / "runs",
        workdir=tmp_path,
        max_parallel=max_parallel,
        env={**context.variables, **(env or {})},
        condition_skips=skips or {},
        backoff_base=backoff,
    )
    result = PipelineRun(context, context.stages, options, display).run()
    return result, display


def steps_by_name(result: BuildResult) -> dict[str, StepResult]:
    return {step.name: step for step in result.steps}


def process_gone(pid: int) -> bool:
    """Gone, or a zombie waiting for a parent that never reaps (PID 1 of a container may not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def wait_until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
