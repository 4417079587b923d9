"""Pipeline performance over runs: job and stage durations, trends, the critical path and queue time.

A stage lasts as long as its slowest job (its jobs run side by side). Queue time is what a run took
beyond its own critical path: jobs waiting for a free slot (--max-parallel) plus the runner's overhead.
A trend compares the median of the newest runs with the median of the runs before them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from cicd.config.context import PipelineContext
from cicd.pipeline.result import job_durations
from cicd.reports.stats import median, percentile

TREND_WINDOW = 5  # runs on each side of the comparison
RECENT_RUNS = 50  # runs shown in the duration chart and used for queue time


def trend(values: Sequence[float]) -> float | None:
    """Newest TREND_WINDOW median over the TREND_WINDOW before it (1.2 = 20 % slower); None if too few."""
    if len(values) < 2 * TREND_WINDOW:
        return None
    recent = median(values[-TREND_WINDOW:])
    before = median(values[-2 * TREND_WINDOW : -TREND_WINDOW])
    if not recent or not before:
        return None
    return round(recent / before, 3)


def job_history(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per job: stage, durations oldest first, extra attempts and failures, over all runs."""
    jobs: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"stage": None, "durations": [], "retries": 0, "failures": 0, "passed_on_retry": 0}
    )
    for run in runs:
        for step in run.get("steps") or []:
            if not isinstance(step, dict) or step.get("status") == "skipped":
                continue
            job = jobs[str(step.get("name"))]
            job["stage"] = step.get("stage")
            duration = step.get("duration_seconds")
            if isinstance(duration, int | float):
                job["durations"].append(float(duration))
            attempts = int(step.get("attempts") or 1)
            job["retries"] += max(0, attempts - 1)
            job["failures"] += step.get("status") in ("failed", "timed_out")
            job["passed_on_retry"] += step.get("status") == "success" and attempts > 1
    return dict(jobs)


def stage_durations(run: dict[str, Any]) -> dict[str, float]:
    stages: dict[str, float] = {}
    for step in run.get("steps") or []:
        if isinstance(step, dict) and step.get("status") != "skipped" and step.get("stage"):
            seconds = float(step.get("duration_seconds") or 0)
            stages[step["stage"]] = max(stages.get(step["stage"], 0.0), seconds)
    return stages


def _summary(values: Sequence[float]) -> dict[str, Any]:
    return {
        "runs": len(values),
        "median_seconds": median(values),
        "p95_seconds": percentile(values, 0.95),
        "last_seconds": values[-1] if values else None,
        "trend": trend(values),
    }


def performance(runs: Sequence[dict[str, Any]], context: PipelineContext | None) -> dict[str, Any]:
    jobs = job_history(runs)
    stage_values: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        for stage, seconds in stage_durations(run).items():
            stage_values[stage].append(seconds)
    walls = [float(run.get("duration_seconds") or 0) for run in runs]
    data: dict[str, Any] = {
        "runs": len(runs),
        "pipeline": {**_summary(walls), "success_rate": _success_rate(runs)},
        "recent_runs": [_run_point(run) for run in runs[-RECENT_RUNS:]],
        "jobs": {
            name: {
                "stage": job["stage"],
                **_summary(job["durations"]),
                "retries": job["retries"],
                "failures": job["failures"],
                "passed_on_retry": job["passed_on_retry"],
            }
            for name, job in sorted(jobs.items())
        },
        "stages": {name: _summary(values) for name, values in stage_values.items()},
        "critical_path": None,
        "queue": None,
    }
    if context is not None and runs:
        data["critical_path"], data["queue"] = _paths(context, runs, jobs)
    return data


def _success_rate(runs: Sequence[dict[str, Any]]) -> float | None:
    return round(sum(run.get("status") == "success" for run in runs) / len(runs), 4) if runs else None


def _run_point(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "pipeline_id": run.get("pipeline_id"),
        "started_at": run.get("started_at"),
        "duration_seconds": run.get("duration_seconds"),
        "status": run.get("status"),
    }


def _paths(
    context: PipelineContext, runs: Sequence[dict[str, Any]], jobs: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    from cicd.pipeline.plan import optimize_pipeline_schedule

    # A job no run measured (always skipped, e.g. by `when`) counts as 0 s, not at its timeout.
    medians = {job.name: median(jobs.get(job.name, {}).get("durations") or []) or 0.0 for job in context.jobs}
    plan = optimize_pipeline_schedule(context, medians).to_dict()
    queued = []
    for run in runs[-RECENT_RUNS:]:
        if run.get("name") == context.name:
            # A job this run skipped took no time (the plan would count it at its timeout).
            ran = job_durations(run)
            measured = {job.name: ran.get(job.name, 0.0) for job in context.jobs}
            path = optimize_pipeline_schedule(context, measured).critical_path_seconds
            queued.append(max(0.0, float(run.get("duration_seconds") or 0) - path))
    critical = {
        "jobs": plan["critical_path"],
        "seconds": plan["critical_path_seconds"],
        "from": "median durations; jobs never run count 0 s",
    }
    return critical, {"median_seconds": median(queued), "p95_seconds": percentile(queued, 0.95)}
