"""Runs a pipeline: the scheduler decides, one thread per running job waits on its process, and the main
thread reacts to events (a job finished, a cancel signal, the pipeline deadline) as they arrive.

Nothing polls: job threads block in wait(), the main thread blocks on an event queue. The queue is a
SimpleQueue because a signal handler puts into it from the main thread itself (its put is reentrant).
"""

from __future__ import annotations

import glob
import os
import queue
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cicd import secrets
from cicd.config.context import JobSpec, PipelineContext, StageSpec
from cicd.errors import StepTimeoutError
from cicd.pipeline.joblog import DEFAULT_LOG_LIMIT_BYTES, CappedLog
from cicd.pipeline.process import AttemptOutcome, JobProcess
from cicd.pipeline.progress import Display
from cicd.pipeline.result import BuildResult, StepResult, iso, pipeline_status, utc_now, write_json
from cicd.pipeline.scheduler import Scheduler


@dataclass(frozen=True)
class RunOptions:
    runs_dir: Path = Path(".cicd/runs")
    workdir: Path = Path(".")
    max_parallel: int = field(default_factory=lambda: os.cpu_count() or 1)
    env: Mapping[str, str] = field(default_factory=dict)  # variables and secrets, on top of os.environ
    condition_skips: Mapping[str, str] = field(default_factory=dict)  # stage -> why its `when` fails
    priority: Mapping[str, float] = field(default_factory=dict)  # job -> remaining critical path (s)
    backoff_base: float = 0.25  # seconds before the first retry; doubles each time
    backoff_cap: float = 8.0
    log_limit_bytes: int = DEFAULT_LOG_LIMIT_BYTES  # per job log; the tail is kept
    keep_runs: int = 100  # older run directories under runs_dir are removed after each run


def backoff_delay(retry_number: int, base: float, cap: float) -> float:
    return min(cap, base * 2 ** (retry_number - 1))


class PipelineRun:
    def __init__(
        self, context: PipelineContext, stages: Sequence[StageSpec], options: RunOptions, display: Display
    ):
        self.context = context
        self.stages = tuple(stages)
        self.options = options
        self.display = display
        self.pipeline_id = str(uuid.uuid4())
        self.run_dir = options.runs_dir / self.pipeline_id
        self.logs_dir = self.run_dir / "logs"
        self.cancel_signal: int | None = None
        self._events: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: dict[str, JobProcess] = {}
        self._stop: tuple[str, str] | None = None  # (step status, reason) once the run is being stopped
        self._stopping = threading.Event()
        self._base_env = {**os.environ, **options.env, "CICD_PIPELINE_ID": self.pipeline_id}

    def cancel(self, signum: int) -> None:
        """Safe to call from a signal handler."""
        self._events.put(("cancel", signum))

    def run(self) -> BuildResult:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        started_at, start = utc_now(), time.monotonic()
        scheduler = Scheduler(self.stages, self.options.condition_skips, self.options.priority)
        steps: dict[str, StepResult] = {}
        artifacts: list[str] = []
        self._loop(scheduler, steps, artifacts, deadline=start + self.context.timeout_seconds)
        ordered = [steps[job.name] for stage in self.stages for job in stage.jobs if job.name in steps]
        result = BuildResult(
            pipeline_id=self.pipeline_id,
            name=self.context.name,
            status=pipeline_status(ordered, cancelled=self.cancel_signal is not None),
            started_at=iso(started_at),
            completed_at=iso(utc_now()),
            duration_seconds=time.monotonic() - start,
            steps=ordered,
            artifacts=artifacts,
        )
        write_json(result.to_dict(), self.run_dir / "result.json")
        prune_runs(self.options.runs_dir, self.options.keep_runs)
        return result

    def _loop(
        self, scheduler: Scheduler, steps: dict[str, StepResult], artifacts: list[str], deadline: float
    ) -> None:
        """Start what is ready, then block until something happens; until nothing runs any more."""
        running = 0
        while True:
            self._record_skips(scheduler, steps)
            if self._stop is None:
                for job in scheduler.take_ready(self.options.max_parallel - running):
                    name = f"job-{job.name}"
                    threading.Thread(target=self._job_thread, args=(job,), name=name, daemon=True).start()
                    running += 1
            if running == 0:
                break
            try:
                event = self._events.get(
                    timeout=None if self._stop else max(0.0, deadline - time.monotonic())
                )
            except queue.Empty:
                limit = self.context.timeout_seconds
                self._stop_all(scheduler, "timed_out", f"pipeline timeout_seconds ({limit}s) reached")
                continue
            if event[0] == "done":
                running -= 1
                self._finished(scheduler, event[1], event[2], steps, artifacts)
            elif event[0] == "cancel" and self.cancel_signal is None:
                self.cancel_signal = event[1]
                self._stop_all(scheduler, "cancelled", f"cancelled by {signal.Signals(event[1]).name}")
        self._record_skips(scheduler, steps)

    def _finished(
        self,
        scheduler: Scheduler,
        job: JobSpec,
        step: StepResult,
        steps: dict[str, StepResult],
        artifacts: list[str],
    ) -> None:
        steps[job.name] = step
        scheduler.finish(job, ok=not step.blocks_pipeline)
        if step.status == "success":
            artifacts.extend(path for path in self._artifacts(job) if path not in artifacts)
        self.display.job_finished(step, self.logs_dir / f"{job.name}.log")

    def _stop_all(self, scheduler: Scheduler, status: str, reason: str) -> None:
        with self._lock:
            if self._stop is not None:
                return
            self._stop = (status, reason)
            processes = list(self._running.values())
        self._stopping.set()
        scheduler.abandon("pipeline cancelled" if status == "cancelled" else reason)
        # In parallel: a job that ignores SIGTERM costs its grace period once, not once per job.
        for process in processes:
            threading.Thread(target=process.stop, args=(status,), daemon=True).start()

    def _record_skips(self, scheduler: Scheduler, steps: dict[str, StepResult]) -> None:
        for job, reason in scheduler.take_skips():
            log_path = self.logs_dir / f"{job.name}.log"
            log_path.write_text(f"skipped: {reason}\n", encoding="utf-8")
            step = StepResult(job.name, job.stage, "skipped", None, 0.0, 0, str(log_path), reason)
            steps[job.name] = step
            self.display.job_finished(step, log_path)

    def _artifacts(self, job: JobSpec) -> list[str]:
        found: list[str] = []
        for pattern in job.artifacts:
            found.extend(sorted(glob.glob(pattern, root_dir=self.options.workdir, recursive=True)))
        return found

    def _job_thread(self, job: JobSpec) -> None:
        log_path = self.logs_dir / f"{job.name}.log"
        start = time.monotonic()
        try:
            outcome, attempts = self._attempts(job, log_path)
            step = self._step(job, outcome, attempts, time.monotonic() - start, log_path)
        except Exception as err:  # the job could not even start (missing bash, bad workdir): it failed
            reason = secrets.redact(f"could not start: {type(err).__name__}: {err}")
            step = StepResult(
                job.name,
                job.stage,
                "failed",
                None,
                time.monotonic() - start,
                1,
                str(log_path),
                reason,
                job.continue_on_fail,
            )
        self._events.put(("done", job, step))

    def _attempts(self, job: JobSpec, log_path: Path) -> tuple[AttemptOutcome | None, int]:
        env = {**self._base_env, "CICD_JOB": job.name, "CICD_STAGE": job.stage}
        total = job.retry + 1
        outcome: AttemptOutcome | None = None
        attempt = 0
        with CappedLog(log_path, self.options.log_limit_bytes) as log:
            for number in range(1, total + 1):
                if number > 1:
                    delay = backoff_delay(number - 1, self.options.backoff_base, self.options.backoff_cap)
                    log.write(
                        f"[cicd] {_outcome_text(job, outcome)}; attempt {number} of {total} in {delay:.2f}s\n"
                    )
                    if self._stopping.wait(delay):
                        outcome = None  # stopped while waiting to retry: the stop decides the status
                        break
                process = JobProcess(job.command, env=env, cwd=self.options.workdir)
                with self._lock:
                    if self._stop is not None:
                        outcome = None
                        break
                    self._running[job.name] = process
                attempt = number
                self.display.job_started(job, number, total)
                outcome = process.run(job.timeout, log, lambda line: self.display.job_line(job, line))
                with self._lock:
                    self._running.pop(job.name, None)
                if outcome.ok or outcome.stopped_by not in (None, "timeout"):
                    break
            if outcome is not None and not outcome.ok:
                log.write(f"[cicd] {_outcome_text(job, outcome)}\n")
        if log.error is not None:  # the job ran; only its log is incomplete (a full disk, say)
            self.display.job_line(job, f"[cicd] log incomplete: {log_path}: {log.error.strerror}")
        return outcome, attempt

    def _step(
        self, job: JobSpec, outcome: AttemptOutcome | None, attempts: int, duration: float, log_path: Path
    ) -> StepResult:
        def make(status: str, code: int | None, reason: str | None) -> StepResult:
            return StepResult(
                job.name,
                job.stage,
                status,
                code,
                duration,
                attempts,
                str(log_path),
                reason,
                job.continue_on_fail,
            )

        if outcome is None or (outcome.stopped_by not in (None, "timeout")):
            status, reason = self._stop or ("cancelled", "pipeline stopped")
            return make(status, None, reason)
        if outcome.ok:
            return make("success", 0, None)
        reason = _outcome_text(job, outcome)
        if job.continue_on_fail:
            reason += "; continue_on_fail: the pipeline went on"
        return make("timed_out" if outcome.stopped_by == "timeout" else "failed", outcome.exit_code, reason)


def prune_runs(runs_dir: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest run directories (named by their uuid); the removed ones."""
    runs = []
    for path in runs_dir.iterdir():
        try:
            uuid.UUID(path.name)
            runs.append((path.stat().st_mtime, path))
        except (ValueError, OSError):
            continue  # not a run directory of ours, or gone meanwhile
    removed = [path for _, path in sorted(runs, reverse=True)[keep:]]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def _outcome_text(job: JobSpec, outcome: AttemptOutcome | None) -> str:
    if outcome is None:
        return "not started"
    if outcome.stopped_by == "timeout":
        err = StepTimeoutError(
            f"ran past its timeout of {job.timeout}s; it and every process it started were killed"
        )
        return f"{type(err).__name__}: {err}"
    if outcome.exit_code is not None and outcome.exit_code < 0:
        try:
            return f"killed by signal {signal.Signals(-outcome.exit_code).name}"
        except ValueError:
            return f"killed by signal {-outcome.exit_code}"
    return f"exit code {outcome.exit_code}"


@contextmanager
def cancel_on_signals(run: PipelineRun) -> Iterator[None]:
    """Ctrl-C and SIGTERM cancel the run (children killed, result still written) instead of killing us."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = lambda signum, _frame: run.cancel(signum)  # noqa: E731
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
