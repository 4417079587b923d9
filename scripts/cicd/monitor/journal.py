"""The live record of a run: `events.jsonl` in its run directory, one JSON object a line, appended as
jobs start and finish. `cicd monitor` reads it while the run goes on (result.json only appears at the
end). It wraps the run's display, so the executor knows nothing about it.

Lines: {"event": "plan", "t", "pid", "host", "pipeline_id", "name", "jobs": [{"name", "stage"}]}
       {"event": "started", "t", "job", "stage", "attempt", "attempts"}
       {"event": "finished", "t", "job", "stage", "status", "seconds", "attempts"}
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # `cicd monitor` reads journals without paying for the config models (pydantic)
    from cicd.config.context import JobSpec, StageSpec
    from cicd.pipeline.progress import Display
    from cicd.pipeline.result import StepResult

EVENTS_FILE = "events.jsonl"


class LiveJournal:
    """A Display that records start and finish events, then passes every call on to `inner`."""

    def __init__(self, inner: Display, name: str, stages: Sequence[StageSpec]):
        self.inner = inner
        self.name = name
        self.stages = tuple(stages)
        self._lock = threading.Lock()
        self._out: TextIO | None = None

    def attach(self, run_dir: Path, pipeline_id: str) -> None:
        """Open the run's journal; a journal that cannot be written costs the run nothing."""
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            self._out = (run_dir / EVENTS_FILE).open("a", encoding="utf-8", buffering=1)
        except OSError:
            self._out = None
            return
        jobs = [{"name": job.name, "stage": stage.name} for stage in self.stages for job in stage.jobs]
        plan = {"event": "plan", "pid": os.getpid(), "host": os.uname().nodename, "pipeline_id": pipeline_id,
                "name": self.name}
        self._write({**plan, "jobs": jobs})

    def _write(self, record: dict[str, Any]) -> None:
        with self._lock:
            if self._out is None:
                return
            try:
                self._out.write(json.dumps({"t": round(time.time(), 3), **record}) + "\n")
            except OSError:
                self._out = None  # disk full: the run goes on without its live record

    def job_started(self, job: JobSpec, attempt: int, attempts: int) -> None:
        self._write({"event": "started", "job": job.name, "stage": job.stage, "attempt": attempt,
                     "attempts": attempts})
        self.inner.job_started(job, attempt, attempts)

    def job_line(self, job: JobSpec, line: str) -> None:
        self.inner.job_line(job, line)

    def job_finished(self, step: StepResult, log_path: Path) -> None:
        self._write({"event": "finished", "job": step.name, "stage": step.stage, "status": step.status,
                     "seconds": round(step.duration_seconds, 3), "attempts": step.attempts})
        self.inner.job_finished(step, log_path)

    def close(self) -> None:
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None
        self.inner.close()


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    """The journal's complete lines (a line being written is skipped until it ends)."""
    try:
        text = (run_dir / EVENTS_FILE).read_text(encoding="utf-8")
    except OSError:
        return []
    events = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            events.append(record)
    return events
