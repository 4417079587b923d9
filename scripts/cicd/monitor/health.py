"""Health of one pipeline run against the runs before it: a score from 0 to 1, progress and alerts.

    health = 1 - (0.40 * F + 0.20 * R + 0.25 * S + 0.15 * K), rounded to 3 places, each term in [0, 1]

    F  failures: jobs that failed or timed out / jobs finished
    R  retries: extra attempts / jobs started (capped at 1)
    S  slowdown: elapsed (or duration) / median duration of earlier runs - 1, from 0 up to 1 (2x slower)
    K  flaky jobs: jobs of this run that passed on a retry here or in an earlier run / jobs in the run

A run with no earlier runs has S = 0 (nothing to compare with). Alerts: a job running (or finished)
over its p95 of earlier runs (at least 3 of them), a retry storm (3 or more retries, or a quarter of the
jobs retried), a failing stage (one of its jobs failed or timed out) and a runner that died without
writing its result. Progress counts finished jobs whole and running ones by their elapsed share of their
median (at most 95 % until they finish).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cicd.reports.stats import median, percentile

WEIGHTS = {"failures": 0.40, "retries": 0.20, "slowdown": 0.25, "flaky": 0.15}
FORMULA = "1 - (0.40*failures + 0.20*retries + 0.25*slowdown + 0.15*flaky)"
FINISHED = ("success", "failed", "timed_out", "skipped", "cancelled")
BAD = ("failed", "timed_out")
MIN_SAMPLES_FOR_P95 = 3


@dataclass
class JobView:
    name: str
    stage: str
    state: str = "pending"  # pending | running | success | failed | timed_out | skipped | cancelled
    seconds: float = 0.0  # duration when finished, elapsed so far when running
    attempts: int = 0


@dataclass
class RunView:
    pipeline_id: str
    name: str | None
    status: str  # running | success | failed | cancelled
    elapsed: float
    jobs: list[JobView] = field(default_factory=list)
    problem: str | None = None  # e.g. the runner died without writing its result


@dataclass(frozen=True)
class Baseline:
    """What earlier runs of the same pipeline say to expect."""

    runs: int
    duration: float | None
    job_median: dict[str, float]
    job_p95: dict[str, float]
    flaky_jobs: frozenset[str]

    @classmethod
    def of(cls, results: Sequence[dict[str, Any]]) -> Baseline:
        durations: dict[str, list[float]] = defaultdict(list)
        flaky = set()
        for result in results:
            for step in result.get("steps") or []:
                if not isinstance(step, dict) or step.get("status") not in ("success", "failed", "timed_out"):
                    continue
                durations[str(step.get("name"))].append(float(step.get("duration_seconds") or 0))
                if step.get("status") == "success" and int(step.get("attempts") or 1) > 1:
                    flaky.add(str(step.get("name")))
        walls = [float(r.get("duration_seconds") or 0) for r in results if r.get("status") == "success"]
        return cls(
            runs=len(results),
            duration=median(walls),
            job_median={name: median(values) or 0.0 for name, values in durations.items()},
            job_p95={
                name: percentile(values, 0.95) or 0.0
                for name, values in durations.items()
                if len(values) >= MIN_SAMPLES_FOR_P95
            },
            flaky_jobs=frozenset(flaky),
        )


def components(run: RunView, baseline: Baseline) -> dict[str, float]:
    finished = [job for job in run.jobs if job.state in FINISHED and job.state != "skipped"]
    started = [job for job in run.jobs if job.attempts > 0]
    failures = sum(job.state in BAD for job in finished) / len(finished) if finished else 0.0
    extra = sum(max(0, job.attempts - 1) for job in started)
    retries = min(1.0, extra / len(started)) if started else 0.0
    slowdown = 0.0
    if baseline.duration:
        slowdown = min(1.0, max(0.0, run.elapsed / baseline.duration - 1))
    flaky_here = {job.name for job in run.jobs if job.state == "success" and job.attempts > 1}
    flaky_names = flaky_here | (baseline.flaky_jobs & {job.name for job in run.jobs})
    flaky = len(flaky_names) / len(run.jobs) if run.jobs else 0.0
    return {"failures": failures, "retries": retries, "slowdown": slowdown, "flaky": flaky}


def score(parts: dict[str, float]) -> float:
    return round(max(0.0, 1.0 - sum(WEIGHTS[name] * value for name, value in parts.items())), 3)


def progress(run: RunView, baseline: Baseline) -> float:
    if run.status != "running":
        return 100.0
    if not run.jobs:
        return 0.0
    done = 0.0
    for job in run.jobs:
        if job.state in FINISHED:
            done += 1
        elif job.state == "running":
            expected = baseline.job_median.get(job.name)
            done += min(0.95, job.seconds / expected) if expected else 0.5
    return round(100 * done / len(run.jobs), 1)


def alerts(run: RunView, baseline: Baseline) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for job in run.jobs:
        p95 = baseline.job_p95.get(job.name)
        if p95 and job.state in ("running", "success", "failed", "timed_out") and job.seconds > p95:
            found.append({
                "kind": "job_over_p95", "severity": "warning", "job": job.name,
                "message": f"{job.name} {'has run' if job.state == 'running' else 'took'} "
                f"{job.seconds:.1f}s, over its p95 of {p95:.1f}s ({baseline.runs} earlier runs)",
            })
    retried = [job for job in run.jobs if job.attempts > 1]
    extra = sum(job.attempts - 1 for job in retried)
    if extra >= 3 or (run.jobs and len(retried) >= max(2, len(run.jobs) / 4)):
        found.append({
            "kind": "retry_storm", "severity": "warning", "jobs": [job.name for job in retried],
            "message": f"{extra} retries across {len(retried)} jobs: "
            + ", ".join(f"{job.name} x{job.attempts}" for job in retried),
        })
    for stage in dict.fromkeys(job.stage for job in run.jobs):
        failed = [job.name for job in run.jobs if job.stage == stage and job.state in BAD]
        if failed:
            found.append({
                "kind": "failing_stage", "severity": "critical", "stage": stage, "jobs": failed,
                "message": f"stage {stage} is failing: {', '.join(failed)}",
            })
    if run.problem:
        found.append({"kind": "runner_gone", "severity": "critical", "message": run.problem})
    return found


def current_stage(run: RunView) -> str | None:
    running = list(dict.fromkeys(job.stage for job in run.jobs if job.state == "running"))
    if running:
        return ", ".join(running)
    pending = [job.stage for job in run.jobs if job.state == "pending"]
    if run.status == "running" and pending:
        return pending[0]
    ran = [job.stage for job in run.jobs if job.state not in ("pending", "skipped")]
    return ran[-1] if ran else None


CONTRACT_STATUS = {"running": "running", "success": "completed", "failed": "failed", "cancelled": "failed"}


def health(run: RunView, baseline: Baseline) -> dict[str, Any]:
    """The seeds' monitor_pipeline_health contract, with the run's own status kept in metrics."""
    parts = components(run, baseline)
    counts: dict[str, int] = defaultdict(int)
    for job in run.jobs:
        counts[job.state] += 1
    return {
        "pipeline_id": run.pipeline_id,
        "status": CONTRACT_STATUS.get(run.status, "failed"),
        "health_score": score(parts),
        "current_stage": current_stage(run),
        "progress_percentage": progress(run, baseline),
        "metrics": {
            "pipeline": run.name,
            "run_status": run.status,
            "elapsed_seconds": round(run.elapsed, 3),
            "expected_seconds": None if baseline.duration is None else round(baseline.duration, 3),
            "earlier_runs": baseline.runs,
            "jobs": dict(counts),
            "jobs_total": len(run.jobs),
            "retries": sum(max(0, job.attempts - 1) for job in run.jobs),
            "health_formula": FORMULA,
            "health_components": {name: round(value, 3) for name, value in parts.items()},
        },
        "alerts": alerts(run, baseline),
    }
