"""The Python API: the seeds' seven functions as thin, typed layers over what the CLI runs.

    from cicd import api
    pipeline = api.create_pipeline("app", [{"name": "test", "jobs": [{"name": "unit", "command": "true"}]}])
    result = api.run_pipeline(pipeline)

Deploys and rollbacks go through the same argument parser and handlers as `cicd deploy` and
`cicd rollback` (their phase lines are captured, not printed), then read the outcome from the
environment's history. Errors are the seeds' named ones, all subclasses of cicd.errors.CicdError
except ValueError for invalid input. docs/API.md shows each call; its examples run as tests.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cicd.config.context import JobSpec, PipelineContext
from cicd.errors import (
    CicdError,
    ConfigValidationError,
    DeploymentError,
    MonitoringError,
    OptimizationError,
    PipelineExecutionError,
    ReportGenerationError,
    RollbackError,
)
from cicd.pipeline.result import StepResult

__all__ = [
    "Pipeline",
    "create_pipeline",
    "generate_pipeline_reports",
    "handle_rollback",
    "manage_deployments",
    "monitor_pipeline_health",
    "optimize_pipeline_performance",
    "run_pipeline",
]

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


def _cli(argv: list[str]) -> str:
    """Run a verb through the CLI's own parser and handler; return what it printed."""
    from cicd.cli import build_parser

    errors = io.StringIO()
    try:
        with redirect_stderr(errors):
            args = build_parser().parse_args(argv)
    except SystemExit as err:  # argparse's way of saying an argument is wrong
        raise ValueError(errors.getvalue().strip().splitlines()[-1]) from err
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        args.handler(args)
    return buffer.getvalue()


def _newest(config_dir: Path, environment: str, kind: str) -> Any:
    from cicd.cli.state import open_environment_state

    rows = open_environment_state(config_dir, environment).history(1, kind=kind)
    return rows[0] if rows else None


DEPLOY_STATUS = {"running": "in_progress", "succeeded": "completed", "failed": "failed",
                 "rolled_back": "rolled_back", "aborted": "failed", "interrupted": "failed"}


def _deployment(environment: str, row: Any) -> dict[str, Any]:
    return {"id": f"{environment}/{row.id}", "pipeline_id": row.run_id, "environment": environment,
            "artifacts": [row.artifact] if row.artifact else [],
            "status": DEPLOY_STATUS.get(row.status, "failed"),
            "start_time": row.started_at, "end_time": row.finished_at,
            "rollback_available": row.previous_version is not None, "version": row.version,
            "digest": row.digest, "phases": row.phases}


def manage_deployments(
    deployment_config: Mapping[str, Any], environment: str, *, config_dir: Path = CONFIG_DIR
) -> dict[str, Any]:
    """Deploy `deployment_config["version"]` (keys: version, artifact, strategy, reason, wait, dry_run)
    as `cicd deploy` does; returns the seeds' Deployment. Raises DeploymentError when the deploy fails
    (the previous version keeps serving; a failed verification was rolled back)."""
    unknown = set(deployment_config) - {"version", "artifact", "strategy", "reason", "wait", "dry_run"}
    if unknown or not deployment_config.get("version"):
        raise ValueError(f"deployment_config needs a version; unknown keys: {sorted(unknown) or 'none'}")
    argv = ["deploy", "--env", environment, "--config-dir", str(config_dir),
            "--version", str(deployment_config["version"])]
    for key in ("artifact", "strategy", "reason"):
        if deployment_config.get(key):
            argv += [f"--{key}", str(deployment_config[key])]
    flags = (("wait", "--wait"), ("dry_run", "--dry-run"))
    argv += [flag for key, flag in flags if deployment_config.get(key)]
    try:
        _cli(argv)
    except DeploymentError:
        raise
    except CicdError as err:
        raise DeploymentError(f"deploy of {deployment_config['version']} to {environment}: {err}") from err
    if deployment_config.get("dry_run"):
        return {"id": None, "pipeline_id": None, "environment": environment, "artifacts": [],
                "status": "pending", "start_time": None, "end_time": None, "rollback_available": False,
                "version": deployment_config["version"]}
    return _deployment(environment, _newest(Path(config_dir), environment, "deploy"))


ROLLBACK_STRATEGIES = {"immediate": "immediate", "blue-green": "blue_green", "blue_green": "blue_green"}


def handle_rollback(
    deployment_id: str,
    strategy: str = "immediate",
    *,
    reason: str | None = None,
    config_dir: Path = CONFIG_DIR,
) -> dict[str, Any]:
    """Roll the environment back from deployment `deployment_id` ("ENVIRONMENT/ID", as returned by
    manage_deployments) as `cicd rollback` does: to the warm previous color at once, else the previous
    release. Raises ValueError for an unknown strategy (gradual is not offered: a bad version should stop
    taking traffic at once) and RollbackError when that deployment is not what is live, or it fails."""
    from cicd.cli.state import open_environment_state

    if strategy not in ROLLBACK_STRATEGIES:
        raise ValueError(f"rollback strategy {strategy!r}: use immediate or blue-green")
    environment, _, number = deployment_id.partition("/")
    if not environment or not number.isdigit():
        raise ValueError(f"deployment id {deployment_id!r}: expected ENVIRONMENT/NUMBER, e.g. staging/12")
    try:
        state = open_environment_state(Path(config_dir), environment)
        row = next((d for d in state.history(10_000) if d.id == int(number)), None)
        live = state.current().current_version
        if row is None or row.version != live:
            what = "no such deployment" if row is None else f"it deployed {row.version}"
            now = live or "nothing"
            raise RollbackError(f"deployment {deployment_id} is not live ({what}; live is {now})")
        argv = ["rollback", "--env", environment, "--config-dir", str(config_dir)]
        _cli(argv + (["--reason", reason] if reason else []))
        done = state.history(1, kind="rollback")[0]
    except RollbackError:
        raise
    except CicdError as err:
        raise RollbackError(f"rollback of {deployment_id}: {err}") from err
    checks = {p["name"]: {"status": p.get("status"), "detail": p.get("detail")} for p in done.phases
              if p.get("name") in ("health", "smoke", "verify", "switch")}
    return {"rollback_id": f"{environment}/{done.id}",
            "status": "completed" if done.status == "succeeded" else "failed",
            "strategy": ROLLBACK_STRATEGIES[strategy], "execution_time": done.duration_seconds,
            "rollback_steps": done.phases,
            "verification_results": {"live_version": state.current().current_version, **checks}}


def monitor_pipeline_health(pipeline_id: str | None = None, *, runs_dir: Path = RUNS_DIR) -> dict[str, Any]:
    """The health of run `pipeline_id` (a run id or a unique prefix; None: the newest run), live or
    finished, as `cicd monitor --json` prints it. Raises MonitoringError for an unknown run."""
    from cicd.monitor.follow import observe
    from cicd.monitor.health import health

    try:
        view, baseline = observe(Path(runs_dir), pipeline_id)
    except MonitoringError:
        raise
    except CicdError as err:
        raise MonitoringError(str(err)) from err
    return health(view, baseline)


def generate_pipeline_reports(
    pipeline_id: str | None = None,
    report_types: Sequence[str] | None = None,
    *,
    format: str = "json",
    out: Path | None = None,
    config_dir: Path = CONFIG_DIR,
    runs_dir: Path = RUNS_DIR,
    workdir: Path = Path("."),
    since: str = "30d",
) -> dict[str, Any]:
    """Reports (performance, quality, deployment) of the runs of pipeline `pipeline_id` (its name;
    None: the config's pipeline), as `cicd report` builds them. format json|md|html; with `out`, the
    rendered document is written there too. Raises ValueError for an unknown type or format and
    ReportGenerationError when the records cannot be read or the file cannot be written."""
    from cicd.reports import build, html, markdown

    if format not in ("json", "md", "html"):
        raise ValueError(f"report format {format!r}: use json, md or html")
    kinds = tuple(report_types or build.KINDS)
    if any(kind not in build.KINDS for kind in kinds):
        raise ValueError(f"report types {list(kinds)}: use {', '.join(build.KINDS)}")
    request = build.ReportRequest(kinds=kinds, config_dir=Path(config_dir), runs_dir=Path(runs_dir),
                                  since=since, pipeline=pipeline_id, workdir=Path(workdir))
    try:
        data = build.build(request)
        if out is not None:
            import json

            text = {"json": lambda d: json.dumps(d, indent=2), "md": markdown.render, "html": html.dashboard}
            Path(out).write_text(text[format](data), encoding="utf-8")
    except (CicdError, OSError) as err:
        raise ReportGenerationError(f"reports of {pipeline_id or 'the pipeline'}: {err}") from err
    return {"pipeline_id": pipeline_id, "reports": data["reports"], "dora": data.get("dora", {}),
            "generated_at": data["generated_at"], "format": format}


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
