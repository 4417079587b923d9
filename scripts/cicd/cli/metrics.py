"""`cicd metrics`: deploy and pipeline metrics in the Prometheus exposition format; printed, written
as a node_exporter textfile, or pushed to a Pushgateway."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cicd.errors import CicdError, UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    metrics = subparsers.add_parser(
        "metrics",
        help="deploy and pipeline metrics for Prometheus (print, --textfile, --push)",
        description="Metrics built from each environment's history and the newest run result: deploys, "
        "rollbacks, phase durations, the live version, verification, DORA figures, pipeline durations.",
    )
    metrics.add_argument("--env", action="append", default=[], metavar="NAME",
                         help="environment (repeatable; default: every environment)")
    metrics.add_argument("--textfile", type=Path, metavar="PATH",
                         help="write for node_exporter's textfile collector (a .prom file)")
    metrics.add_argument("--push", metavar="URL", help="push to this Pushgateway (e.g. http://127.0.0.1:9091)")
    metrics.add_argument("--job", default="cicd", help="Pushgateway job name (default: cicd)")
    metrics.add_argument("--config-dir", type=Path, default=Path("config"), metavar="DIR",
                         help="config directory (default: config)")
    metrics.add_argument("--runs-dir", type=Path, default=Path(".cicd/runs"), metavar="DIR",
                         help="run results (default: .cicd/runs)")
    metrics.set_defaults(handler=run_metrics)


def run_metrics(args: argparse.Namespace) -> int:
    from cicd.metrics import exposition
    from cicd.reports import sources

    if args.textfile is not None and args.textfile.suffix != ".prom":
        raise UsageError(f"--textfile {args.textfile}: node_exporter reads only files ending in .prom")
    names = args.env or sources.environment_names(args.config_dir)
    records = [sources.load_environment(args.config_dir, name) for name in names]
    for item in records:
        if item.problem:
            print(f"warning: {item.name}: {item.problem}", file=sys.stderr)
    metrics = exposition.collect(records, sources.load_runs(args.runs_dir))
    if args.textfile is not None:
        try:
            exposition.write_textfile(metrics, args.textfile)
        except OSError as err:
            raise CicdError(f"cannot write {args.textfile}: {err.strerror or err}") from err
    if args.push:
        try:
            grouping = {"instance": names[0] if len(names) == 1 else "all"}
            exposition.push(metrics, args.push, args.job, grouping)
        except OSError as err:  # URLError and HTTPError are OSErrors
            raise CicdError(f"cannot push to the Pushgateway at {args.push}: {err}",
                            hint="check the URL and that the Pushgateway runs") from err
    if args.textfile is None and not args.push:
        sys.stdout.write(exposition.exposition(metrics))
    return 0
