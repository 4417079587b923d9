"""The schedule of a pipeline before it runs (the seeds' optimize_pipeline_schedule): execution order,
parallel levels (Kahn) and the critical path.

A stage takes as long as its slowest job (its jobs run side by side), so the critical path is the
heaviest chain of stages. Durations come from the previous run when one is given; a job it lacks is
counted at its timeout (an upper bound) and marked so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cicd.config.context import JobSpec, PipelineContext, StageSpec
from cicd.pipeline.dag import StageGraph
from cicd.pipeline.scheduler import Scheduler


@dataclass(frozen=True)
class JobEstimate:
    name: str
    stage: str
    seconds: float
    source: str  # "previous run" or "timeout"


@dataclass(frozen=True)
class SchedulePlan:
    name: str
    execution_order: list[str]
    levels: list[list[str]]
    critical_path: list[JobEstimate]  # the slowest job of each stage on the heaviest chain
    critical_path_seconds: float
    max_parallel_jobs: int
    estimates: dict[str, JobEstimate]
    previous_run: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "execution_order": self.execution_order,
            "levels": self.levels,
            "critical_path": [
                {"stage": e.stage, "job": e.name, "seconds": round(e.seconds, 3), "source": e.source}
                for e in self.critical_path
            ],
            "critical_path_seconds": round(self.critical_path_seconds, 3),
            "max_parallel_jobs": self.max_parallel_jobs,
            "previous_run": self.previous_run,
        }


def optimize_pipeline_schedule(
    context: PipelineContext, durations: Mapping[str, float] | None = None, previous_run: str | None = None
) -> SchedulePlan:
    durations = durations or {}
    graph = StageGraph.from_context(context)
    levels = graph.levels()
    estimates = {
        job.name: JobEstimate(job.name, job.stage, durations[job.name], "previous run")
        if job.name in durations
        else JobEstimate(job.name, job.stage, float(job.timeout), "timeout")
        for job in context.jobs
    }
    slowest = {
        stage.name: max((estimates[job.name] for job in stage.jobs), key=lambda e: e.seconds)
        for stage in context.stages
    }
    path, total = graph.longest_path({name: est.seconds for name, est in slowest.items()})
    width = max((sum(len(context.stage(name).jobs) for name in level) for level in levels), default=0)
    return SchedulePlan(
        name=context.name,
        execution_order=[name for level in levels for name in level],
        levels=levels,
        critical_path=[slowest[name] for name in path],
        critical_path_seconds=total,
        max_parallel_jobs=width,
        estimates=estimates,
        previous_run=previous_run,
    )


def _seconds(estimate: JobEstimate) -> str:
    mark = "" if estimate.source == "previous run" else " (its timeout: no measured duration)"
    return f"{estimate.seconds:.1f}s{mark}"


def render_plan(plan: SchedulePlan, context: PipelineContext) -> str:
    source = (
        f"durations from run {plan.previous_run}"
        if plan.previous_run
        else "no previous run: timeouts as upper bounds"
    )
    lines = [f"Pipeline {plan.name}: {len(context.stages)} stages, {len(context.jobs)} jobs ({source})", ""]
    lines.append("Execution order: " + " -> ".join(plan.execution_order))
    lines.append("")
    lines.append("Parallel levels:")
    for number, level in enumerate(plan.levels, 1):
        stages = " | ".join(
            f"{name} ({', '.join(job.name for job in context.stage(name).jobs)})" for name in level
        )
        lines.append(f"  {number}. {stages}")
    lines.append("")
    lines.append(f"Critical path ({plan.critical_path_seconds:.1f}s):")
    for estimate in plan.critical_path:
        lines.append(f"  {estimate.stage}/{estimate.name}  {_seconds(estimate)}")
    lines.append("")
    lines.append(
        f"Widest level: {plan.max_parallel_jobs} jobs at once (use --max-parallel {plan.max_parallel_jobs} "
        "or more to run it fully in parallel)"
    )
    return "\n".join(lines)


def dry_run(
    stages: Sequence[StageSpec], condition_skips: Mapping[str, str]
) -> list[tuple[JobSpec, str | None]]:
    """The order jobs would start in if every job succeeded, with the skip reason of those that would not
    run. The real scheduler decides, so the dry run cannot drift from a real run."""
    scheduler = Scheduler(stages, condition_skips)
    order: list[tuple[JobSpec, str | None]] = []
    while not scheduler.done:
        order.extend(scheduler.take_skips())
        ready = scheduler.take_ready(sum(len(stage.jobs) for stage in stages))
        if not ready:
            break
        order.extend((job, None) for job in ready)
        for job in ready:
            scheduler.finish(job, ok=True)
    order.extend(scheduler.take_skips())
    return order


def render_dry_run(name: str, order: list[tuple[JobSpec, str | None]]) -> str:
    lines = [f"Dry run of pipeline {name}: nothing is executed. Jobs in start order:"]
    for number, (job, reason) in enumerate(order, 1):
        if reason is None:
            lines.append(
                f"  {number:>2}. {job.stage}/{job.name}  (timeout {job.timeout}s, retry {job.retry})"
            )
            lines.append(f"      $ {job.command}")
        else:
            lines.append(f"  {number:>2}. {job.stage}/{job.name}  skipped: {reason}")
    return "\n".join(lines)


def job_priorities(stages: Sequence[StageSpec], durations: Mapping[str, float]) -> dict[str, float]:
    """Each job's estimated seconds plus the heaviest chain of stages after its own: the work that still
    depends on starting it. Jobs without a measured duration count at their timeout."""
    names = {stage.name for stage in stages}
    graph = StageGraph.of((s.name, [d for d in s.dependencies if d in names]) for s in stages)
    estimate = {job.name: durations.get(job.name, float(job.timeout)) for s in stages for job in s.jobs}
    weight = {s.name: max(estimate[job.name] for job in s.jobs) for s in stages}
    dependents = graph.dependents()
    after: dict[str, float] = {}
    for name in reversed(graph.topological_order()):
        after[name] = max((weight[child] + after[child] for child in dependents[name]), default=0.0)
    return {job.name: estimate[job.name] + after[s.name] for s in stages for job in s.jobs}
