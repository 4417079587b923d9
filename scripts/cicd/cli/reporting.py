"""`cicd report [dora|performance|quality|deployment|all]`: delivery reports and the HTML dashboard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cicd.errors import UsageError

KINDS = ("dora", "performance", "quality", "deployment", "all")
FORMATS = ("json", "md", "html", "text")


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="DORA metrics, pipeline/quality/deployment reports and the HTML dashboard",
        description="Reports from the run results (RUNS_DIR), the job artifacts (JUnit XML, coverage.xml) "
        "and each environment's deploy history. `dora` needs --env. `all --format html` writes the "
        "dashboard: one self-contained HTML file.",
    )
    report.add_argument("kind", nargs="?", choices=KINDS, default="all", help="which report (default: all)")
    report.add_argument("--env", action="append", default=[], metavar="NAME",
                        help="environment (repeatable; default for deployment/all: every environment)")
    report.add_argument("--since", default="30d", metavar="WHEN",
                        help="DORA window: 30d, 12h, 2w or a date (default: 30d)")
    report.add_argument("--format", choices=FORMATS, help="json, md, html, or text (dora only; its default)")
    report.add_argument("--json", action="store_true", help="same as --format json")
    report.add_argument("--out", type=Path, metavar="PATH", help="write here instead of standard output")
    report.add_argument("--config-dir", type=Path, default=Path("config"), metavar="DIR",
                        help="config directory (default: config)")
    report.add_argument("--runs-dir", type=Path, default=Path(".cicd/runs"), metavar="DIR",
                        help="run results (default: .cicd/runs)")
    report.add_argument("--workdir", type=Path, default=Path("."), metavar="DIR",
                        help="where the runs' jobs ran: their artifact paths are relative to it (default: .)")
    report.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                        help="git repository whose commit times start lead time (default: .)")
    report.add_argument("--no-github", action="store_true",
                        help="do not ask the GitHub Deployments API for deployed commits")
    report.set_defaults(handler=run_report)


def _format(args: argparse.Namespace) -> str:
    if args.json:
        if args.format not in (None, "json"):
            raise UsageError(f"--json and --format {args.format} disagree; give one of them")
        return "json"
    if args.format == "text" and args.kind != "dora":
        raise UsageError("--format text is for `report dora`; use json, md or html")
    return args.format or ("text" if args.kind == "dora" else "md")


def run_report(args: argparse.Namespace) -> int:
    fmt = _format(args)
    text = _dora(args, fmt) if args.kind == "dora" else _reports(args, fmt)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    except OSError as err:
        from cicd.errors import CicdError

        raise CicdError(f"cannot write the report to {args.out}: {err.strerror or err}") from err
    print(f"{args.kind} report ({fmt}) written to {args.out}", file=sys.stderr)
    return 0


def _dora(args: argparse.Namespace, fmt: str) -> str:
    import json

    from cicd.reports import delivery, markdown

    if len(args.env) != 1:
        raise UsageError("`cicd report dora` needs one --env NAME (e.g. --env production)")
    if fmt == "html":
        raise UsageError("`report dora` prints text, json or md; the dashboard is `report all --format html`")
    report = delivery.dora_for(
        args.config_dir, args.env[0], args.since, args.repo, use_github=not args.no_github
    )
    if fmt == "json":
        return json.dumps(report, indent=2) + "\n"
    return markdown.dora(report) if fmt == "md" else delivery.render_text(report) + "\n"


def _reports(args: argparse.Namespace, fmt: str) -> str:
    import json

    from cicd.reports import build, html, markdown

    kinds = build.KINDS if args.kind == "all" else (args.kind,)
    request = build.ReportRequest(
        kinds=kinds,
        config_dir=args.config_dir,
        runs_dir=args.runs_dir,
        environments=tuple(args.env),
        since=args.since,
        repo=args.repo,
        use_github=not args.no_github,
        workdir=args.workdir,
    )
    data = build.build(request)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return html.dashboard(data) if fmt == "html" else markdown.render(data)
