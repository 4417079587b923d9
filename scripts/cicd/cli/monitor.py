"""`cicd monitor [RUN_ID | --latest] [--watch] [--json]`: follow a pipeline run, live or finished."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from cicd.errors import UsageError

MARKS = {"success": "✓", "failed": "✗", "timed_out": "⏱", "running": "▶", "pending": "·", "skipped": "-",
         "cancelled": "✗"}


def register(subparsers: argparse._SubParsersAction) -> None:
    monitor = subparsers.add_parser(
        "monitor",
        help="follow a pipeline run: progress, health score, alerts",
        description="Show a run's status, current stage, progress and elapsed time against earlier runs, "
        "its health score (formula shown) and alerts. Exit 0 while it runs or when it succeeded, 1 when "
        "it failed.",
    )
    monitor.add_argument("run_id", nargs="?", metavar="RUN_ID", help="run id or a unique prefix of it")
    monitor.add_argument("--latest", action="store_true", help="the newest run (the default without RUN_ID)")
    monitor.add_argument("--watch", action="store_true", help="keep following until the run ends")
    monitor.add_argument("--interval", type=float, default=1.0, metavar="S", help="--watch refresh (1 s)")
    monitor.add_argument("--json", action="store_true", help="the monitor_pipeline_health contract as JSON")
    monitor.add_argument("--runs-dir", type=Path, default=Path(".cicd/runs"), metavar="DIR",
                         help="run results (default: .cicd/runs)")
    monitor.set_defaults(handler=run_monitor)


def snapshot(runs_dir: Path, run_id: str | None) -> tuple[dict[str, Any], Any]:
    from cicd.monitor.follow import observe
    from cicd.monitor.health import health

    view, baseline = observe(runs_dir, run_id)
    return health(view, baseline), view


def render(report: dict[str, Any], view: Any) -> str:
    from cicd.reports.stats import human_seconds

    metrics = report["metrics"]
    expected = metrics["expected_seconds"]
    against = f" of ~{human_seconds(expected)} expected" if expected else " (no earlier run to compare)"
    lines = [
        f"run {report['pipeline_id']} ({metrics['pipeline'] or '?'}): {metrics['run_status']}, "
        f"stage {report['current_stage'] or '-'}, {report['progress_percentage']:.0f} %, "
        f"{human_seconds(metrics['elapsed_seconds'])}{against}",
        f"health {report['health_score']:.2f} = " + _formula(metrics["health_components"]),
    ]
    for job in view.jobs:
        extra = f" (attempt {job.attempts})" if job.attempts > 1 else ""
        took = human_seconds(job.seconds) if job.state != "pending" else ""
        name = f"{job.stage}/{job.name}"
        lines.append(f"  {MARKS.get(job.state, '?')} {name:<28} {job.state:<10} {took}{extra}")
    if report["alerts"]:
        lines.append("alerts:")
        lines += [f"  ! {alert['kind']}: {alert['message']}" for alert in report["alerts"]]
    return "\n".join(lines)


def _formula(parts: dict[str, float]) -> str:
    from cicd.monitor.health import WEIGHTS

    terms = [f"{WEIGHTS[name]:.2f}*{name} {value:.2f}" for name, value in parts.items()]
    return "1 - (" + " + ".join(terms) + ")"


def run_monitor(args: argparse.Namespace) -> int:
    if args.latest and args.run_id:
        raise UsageError("give a RUN_ID or --latest, not both")
    if args.interval <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    report, view = snapshot(args.runs_dir, args.run_id)
    shown = None
    while True:
        text = json.dumps(report) if args.json else render(report, view)
        changed = json.dumps({k: v for k, v in report.items() if k != "metrics"}) + str(len(view.jobs))
        if not args.watch or changed != shown:
            if args.watch and not args.json and sys.stdout.isatty():
                sys.stdout.write("\x1b[H\x1b[2J")  # redraw in place in a terminal
            print(text if args.json or not args.watch else text + "\n", flush=True)
            shown = changed
        if not args.watch or report["status"] != "running":
            break
        time.sleep(args.interval)
        report, view = snapshot(args.runs_dir, report["pipeline_id"])
    return 1 if report["status"] == "failed" else 0
