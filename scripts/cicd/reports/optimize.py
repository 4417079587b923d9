"""Recommendations from measured runs (the seeds' optimize_pipeline_performance), each with the time it
should save per run. Estimates, stated as such:

- shard: a job on the critical path that is most of its stage and at least SHARD_MIN_SECONDS long;
  split in N (2 or 4), the stage shrinks by median * (1 - 1/N) if nothing else in it is as slow.
- parallelize: runs spend time beyond their critical path waiting for a free slot; running the widest
  level at once (--max-parallel) saves the median queue time.
- cache: a job whose command installs or builds dependencies (pip/npm/poetry/cargo/go/docker build...)
  on the critical path; a warm cache typically removes most of it: CACHE_SAVING of its median.
- deflake: a job that passed on retry; each retry costs its median once more.
- timeout: a job whose timeout is far above its measured p95 gets a tighter one (3 x p95, at least 60 s),
  so a hung job fails in minutes instead of at its timeout; the optimized pipeline carries these.
"""

from __future__ import annotations

import re
from typing import Any

from cicd.config.context import PipelineContext

SHARD_MIN_SECONDS = 30.0
CACHE_SAVING = 0.7
CACHEABLE = re.compile(
    r"\b(pip install|pip3 install|poetry install|uv sync|npm (ci|install)|yarn install|pnpm install|"
    r"bundle install|cargo build|go (build|mod download)|mvn|gradle|docker build|apt-get install)\b"
)


def _stage_runner_up(context: PipelineContext, stage: str, job: str, medians: dict[str, float]) -> float:
    return max((medians.get(other.name, 0.0) for other in context.stage(stage).jobs if other.name != job),
               default=0.0)


def recommend(context: PipelineContext, perf: dict[str, Any]) -> list[dict[str, Any]]:
    jobs = perf["jobs"]
    medians = {name: job["median_seconds"] or 0.0 for name, job in jobs.items()}
    path = perf.get("critical_path") or {"jobs": []}
    on_path = {step["job"] for step in path["jobs"]}
    found: list[dict[str, Any]] = []
    for job in context.jobs:
        median = medians.get(job.name, 0.0)
        cacheable = bool(CACHEABLE.search(job.command))
        if job.name in on_path and median >= SHARD_MIN_SECONDS and not cacheable:  # installs do not split
            shards = 4 if median >= 4 * SHARD_MIN_SECONDS else 2
            runner_up = _stage_runner_up(context, job.stage, job.name, medians)
            gain = min(median * (1 - 1 / shards), median - runner_up)
            if gain > 0:
                found.append(_item("shard", job.name, gain, f"split {job.name} into {shards} shards "
                                   f"(median {median:.1f}s on the critical path)", shards=shards))
        if job.name in on_path and median > 0 and cacheable:
            found.append(_item("cache", job.name, median * CACHE_SAVING,
                               f"cache what {job.name} installs or builds (median {median:.1f}s)"))
        stats = jobs.get(job.name)
        if stats and stats["passed_on_retry"]:
            cost = median * stats["retries"] / max(1, stats["runs"])
            found.append(_item("deflake", job.name, cost, f"{job.name} passed on retry in "
                               f"{stats['passed_on_retry']} of {stats['runs']} runs; fix the flaky part"))
    queue = (perf.get("queue") or {}).get("median_seconds") or 0.0
    if queue >= 1.0:
        found.append(_item("parallelize", None, queue, f"runs wait {queue:.1f}s (median) for a free slot: "
                           "run each level's jobs at once (--max-parallel at least the widest level)"))
    found.sort(key=lambda item: -item["estimated_seconds_saved"])
    return found


def _item(kind: str, job: str | None, seconds: float, text: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "job": job, "estimated_seconds_saved": round(seconds, 2), "recommendation": text,
            **extra}


def tighter_timeouts(context: PipelineContext, perf: dict[str, Any]) -> dict[str, int]:
    """job -> a timeout of 3 x its measured p95 (at least 60 s), where that is under half its own."""
    tighter = {}
    for job in context.jobs:
        p95 = (perf["jobs"].get(job.name) or {}).get("p95_seconds")
        if p95:
            proposed = max(60, int(3 * p95 + 0.999))
            if proposed * 2 <= job.timeout:
                tighter[job.name] = proposed
    return tighter
