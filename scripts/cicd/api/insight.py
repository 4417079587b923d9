"""Watching and reporting through the API: the monitor's health contract and the reports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cicd.errors import CicdError, MonitoringError, ReportGenerationError

RUNS_DIR = Path(".cicd/runs")
CONFIG_DIR = Path("config")


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
