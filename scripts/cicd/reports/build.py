"""Gather the records once and build the requested reports (`cicd report KIND`, the Python API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cicd.errors import CicdError, UsageError

KINDS = ("performance", "quality", "deployment")


@dataclass(frozen=True)
class ReportRequest:
    kinds: tuple[str, ...] = KINDS
    config_dir: Path = Path("config")
    runs_dir: Path = Path(".cicd/runs")
    environments: tuple[str, ...] = ()  # empty: every config/environments/*.yml
    since: str = "30d"
    repo: Path = Path(".")
    use_github: bool = False
    pipeline: str | None = None  # only runs of this pipeline (default: the config's pipeline)
    # where the runs' jobs ran (`cicd run --workdir`): their artifact and log paths are relative to it
    workdir: Path = Path(".")
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def _pipeline(request: ReportRequest) -> tuple[Any, str | None]:
    from cicd.config import load_pipeline

    try:
        return load_pipeline(request.config_dir, None), None
    except CicdError as err:
        return None, f"no critical path: {err}"


def build(request: ReportRequest) -> dict[str, Any]:
    from cicd.reports import delivery, sources

    unknown = [kind for kind in request.kinds if kind not in KINDS]
    if unknown:
        raise UsageError(f"unknown report type {unknown[0]!r}; use one of {', '.join(KINDS)}")
    data: dict[str, Any] = {"generated_at": request.now.isoformat(timespec="seconds"), "reports": {}}
    notes: list[str] = []
    if "performance" in request.kinds or "quality" in request.kinds:
        context, problem = _pipeline(request)
        notes += [problem] if problem else []
        name = request.pipeline or (context.name if context else None)
        runs = sources.load_runs(request.runs_dir, name)
        data["runs_dir"] = str(request.runs_dir)
        if "performance" in request.kinds:
            from cicd.reports.performance import performance

            data["reports"]["performance"] = performance(runs, context)
        if "quality" in request.kinds:
            from cicd.reports.quality import quality

            data["reports"]["quality"] = quality(runs, request.workdir)
    if "deployment" in request.kinds:
        from cicd.reports.deployment import deployment

        names = request.environments or tuple(sources.environment_names(request.config_dir))
        records = [sources.load_environment(request.config_dir, name) for name in names]
        data["reports"]["deployment"] = deployment(records)
        since = delivery.parse_since(request.since, request.now)
        data["dora"] = {
            item.name: delivery.dora_report(item, since, request.now, request.repo, _github(request, item))
            for item in records
            if not item.problem
        }
    data["notes"] = notes
    return data


def _github(request: ReportRequest, records: Any) -> tuple[dict[str, str], str]:
    from cicd.reports.sources import github_commit_shas

    return github_commit_shas(records.name) if request.use_github else ({}, "not used")
