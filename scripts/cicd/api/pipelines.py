"""Pipelines through the API: create (validated like config files), run (the `cicd run` engine), and
optimize from measured runs."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cicd.config.context import JobSpec, PipelineContext
from cicd.errors import CicdError, ConfigValidationError, OptimizationError, PipelineExecutionError
from cicd.pipeline.result import StepResult

RUNS_DIR = Path(".cicd/runs")
CONFIG_DIR = Path("config")


@dataclass(frozen=True)
class Pipeline:
    """The seeds' Pipeline: {id, name, stages, config, created_at, status}, validated like config files."""

    id: str
    name: str
    stages: list[dict[str, Any]]
    config: dict[str, Any]
    created_at: str
    status: str = "active"
    context: PipelineContext = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    config_dir: Path = CONFIG_DIR

    def to_dict(self) -> dict[str, Any]:
        keys = ("id", "name", "stages", "config", "created_at", "status")
        return {key: getattr(self, key) for key in keys}


def create_pipeline(
    name: str,
    stages: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any] | None = None,
    *,
    config_dir: Path = CONFIG_DIR,
    **options: Any,
) -> Pipeline:
    """A validated pipeline. `config` and `options` are top-level pipeline.yml keys (trigger,
    environment, timeout_seconds, variables, rollback). Raises ValueError naming the key and the fix."""
    import uuid

    import yaml

    document = {"name": name, **dict(config or {}), **options, "stages": [dict(s) for s in stages]}
    with tempfile.TemporaryDirectory(prefix="cicd-api-") as folder:
        path = Path(folder) / f"{name}.pipeline.yml"
        try:
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
            from cicd.config import load_pipeline

            context = load_pipeline(Path(config_dir), path)
        except ConfigValidationError as err:
            raise ValueError("; ".join(p.render().split(": ", 1)[-1] for p in err.problems)) from err
        except (yaml.YAMLError, OSError) as err:
            raise RuntimeError(f"cannot prepare pipeline {name!r}: {err}") from err
    rest = {key: value for key, value in document.items() if key not in ("name", "stages")}
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return Pipeline(uuid.uuid4().hex[:12], name, document["stages"], rest, created, "active", context,
                    Path(config_dir))


class _Quiet:
    """The display of an API run: nothing on the terminal (logs still go to the run's log files)."""

    def job_started(self, job: JobSpec, attempt: int, attempts: int) -> None:
        pass

    def job_line(self, job: JobSpec, line: str) -> None:
        pass

    def job_finished(self, step: StepResult, log_path: Path) -> None:
        pass

    def close(self) -> None:
        pass


def run_pipeline(
    pipeline: Pipeline,
    environment: str = "development",
    *,
    dry_run: bool = False,
    runs_dir: Path = RUNS_DIR,
    workdir: Path = Path("."),
    max_parallel: int | None = None,
    variables: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run every job as `cicd run` does; `environment` is what `when: {environments: [...]}` sees.
    Returns {status, pipeline_id, execution_time, stages_completed, stages_total, artifacts, reports}.
    A run that fails returns status "failed"; PipelineExecutionError when it cannot run at all."""
    import os

    from cicd import secrets
    from cicd.monitor.journal import LiveJournal
    from cicd.pipeline import plan, selection
    from cicd.pipeline.executor import PipelineRun, RunOptions, cancel_on_signals

    context = pipeline.context
    env = {**context.variables, **dict(variables or {})}
    skips = selection.condition_skips(context.stages, branch=None, environment=environment, variables=env)
    total = len(context.stages)
    if dry_run:
        order = [job.name for job, reason in plan.dry_run(context.stages, skips) if reason is None]
        return _run_contract("success", None, 0.0, 0, total, [], {"dry_run": order})
    options = RunOptions(runs_dir=Path(runs_dir), workdir=Path(workdir),
                         max_parallel=max_parallel or os.cpu_count() or 1,
                         env={**env, **secrets.resolve(context.secrets)}, condition_skips=skips)
    display = LiveJournal(_Quiet(), context.name, context.stages)
    try:
        run = PipelineRun(context, context.stages, options, display)
        display.attach(run.run_dir, run.pipeline_id)
        with cancel_on_signals(run):
            result = run.run()
    except (OSError, CicdError) as err:
        raise PipelineExecutionError(f"pipeline {context.name} could not run: {err}") from err
    finally:
        display.close()
    done = {s.name for s in context.stages
            if all(step.status in ("success", "skipped") for step in result.steps if step.stage == s.name)}
    reports = {"result": result.to_dict(), "result_path": str(run.run_dir / "result.json")}
    return _run_contract(result.status, result.pipeline_id, round(result.duration_seconds, 3), len(done),
                         total, list(result.artifacts), reports)


def _run_contract(status: str, run_id: str | None, seconds: float, completed: int, total: int,
                  artifacts: list[str], reports: dict[str, Any]) -> dict[str, Any]:
    return {"status": status, "pipeline_id": run_id, "execution_time": seconds, "stages_completed": completed,
            "stages_total": total, "artifacts": artifacts, "reports": reports}


def optimize_pipeline_performance(
    pipeline: Pipeline, metrics: Mapping[str, Any] | None = None, *, runs_dir: Path = RUNS_DIR
) -> dict[str, Any]:
    """Recommendations from measured runs (`metrics`: a performance report, as in
    generate_pipeline_reports(...)["reports"]["performance"]; None: measured from runs_dir), each with
    its estimated seconds saved per run; the optimized pipeline carries tighter timeouts. Raises
    OptimizationError when no run of the pipeline was measured."""
    import dataclasses

    from cicd.reports import optimize, sources
    from cicd.reports.performance import performance

    perf = dict(metrics) if metrics else performance(sources.load_runs(Path(runs_dir), pipeline.name),
                                                     pipeline.context)
    if not perf.get("runs") or not perf.get("jobs"):
        raise OptimizationError(f"no measured run of {pipeline.name} in {runs_dir}: run it first")
    if perf.get("critical_path") is None:
        perf = {**perf, "critical_path": _critical_path(pipeline, perf)}
    recommendations = optimize.recommend(pipeline.context, perf)
    timeouts = optimize.tighter_timeouts(pipeline.context, perf)
    stages = [{**stage, "jobs": [{**job, "timeout": timeouts[job["name"]]} if job.get("name") in timeouts
                                 else job for job in stage.get("jobs", [])]} for stage in pipeline.stages]
    optimized = dataclasses.replace(pipeline, stages=stages, status="draft") if timeouts else pipeline
    wall = perf["pipeline"]["median_seconds"] or 0.0
    saved = sum(item["estimated_seconds_saved"] for item in recommendations)
    return {
        "optimized_pipeline": optimized,
        "performance_improvements": {"median_seconds": wall, "critical_path": perf["critical_path"],
                                     "estimated_seconds_saved": round(saved, 2), "timeouts": timeouts},
        "recommendations": recommendations,
        "estimated_gain": round(min(0.9, saved / wall), 3) if wall else 0.0,
    }


def _critical_path(pipeline: Pipeline, perf: Mapping[str, Any]) -> dict[str, Any]:
    from cicd.pipeline.plan import optimize_pipeline_schedule

    medians = {job.name: (perf["jobs"].get(job.name) or {}).get("median_seconds") or 0.0
               for job in pipeline.context.jobs}
    plan = optimize_pipeline_schedule(pipeline.context, medians).to_dict()
    return {"jobs": plan["critical_path"], "seconds": plan["critical_path_seconds"]}
