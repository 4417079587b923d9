"""`cicd run`: run the pipeline locally. `cicd graph`: its Mermaid flowchart. `cicd plan`: its schedule."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from cicd import gha
from cicd.errors import UsageError

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Exit codes of a cancelled run follow the shell's 128 + signal number.
EXIT_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's verbs to the top-level parser."""
    run = subparsers.add_parser(
        "run",
        help="run the pipeline locally",
        description="Run the pipeline's jobs: stages in dependency order, each stage as soon as its "
        "dependencies finish, jobs in parallel. Exit 0 only when the run succeeds; 130/143 when cancelled "
        "by Ctrl-C/SIGTERM. The result is written to RUNS_DIR/<id>/result.json.",
    )
    _config_arguments(run)
    run.add_argument(
        "--stage", action="append", default=[], metavar="S", help="run only this stage (repeatable)"
    )
    run.add_argument("--job", action="append", default=[], metavar="J", help="run only this job (repeatable)")
    run.add_argument(
        "--var", action="append", default=[], metavar="K=V", help="set a variable for every job (repeatable)"
    )
    run.add_argument("--branch", metavar="NAME", help="branch for `when` conditions (default: detected)")
    run.add_argument("--dry-run", action="store_true", help="print what would run, in order; run nothing")
    run.add_argument(
        "--max-parallel",
        type=_positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="jobs running at once (default: CPU count)",
    )
    run.add_argument("--output", type=Path, metavar="PATH", help="also write the result JSON here")
    run.add_argument(
        "--workdir", type=Path, default=Path("."), metavar="DIR", help="where jobs run (default: .)"
    )
    _runs_dir_argument(run)
    run.set_defaults(handler=run_pipeline)

    graph = subparsers.add_parser(
        "graph",
        help="print the pipeline as a Mermaid flowchart",
        description="Print a Mermaid `flowchart LR` of the stages and jobs (GitHub renders it in Markdown).",
    )
    _config_arguments(graph)
    graph.add_argument("--markdown", action="store_true", help="wrap it in a ```mermaid block")
    graph.set_defaults(handler=show_graph)

    plan = subparsers.add_parser(
        "plan",
        help="print the execution order, parallel levels and critical path",
        description="Print the execution order, the parallel levels and the critical path, with durations "
        "from the latest run in RUNS_DIR when there is one (else each job's timeout as an upper bound).",
    )
    _config_arguments(plan)
    _runs_dir_argument(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(handler=show_plan)


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path("config"),
        metavar="DIR",
        help="config directory (default: config)",
    )
    parser.add_argument("--file", type=Path, metavar="FILE", help="pipeline file (default: DIR/pipeline.yml)")


def _runs_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=Path(".cicd/runs"),
        metavar="DIR",
        help="run results (default: .cicd/runs)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_vars(items: list[str]) -> dict[str, str]:
    variables = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not VARIABLE_NAME.match(name):
            raise UsageError(f"--var {item.split('=')[0]!r}: expected NAME=VALUE with NAME like MY_VAR")
        variables[name] = value
    return variables


def run_pipeline(args: argparse.Namespace) -> int:
    from cicd import secrets
    from cicd.config import load_pipeline
    from cicd.monitor.journal import LiveJournal
    from cicd.pipeline import plan, selection
    from cicd.pipeline.executor import PipelineRun, RunOptions, cancel_on_signals
    from cicd.pipeline.progress import choose_display
    from cicd.pipeline.render import job_table, summary_markdown
    from cicd.pipeline.result import job_durations, latest_result, write_json

    context = load_pipeline(args.config_dir, args.file)
    variables = {**context.variables, **parse_vars(args.var)}
    stages = selection.select(context, args.stage, args.job)
    branch = (
        selection.detect_branch(args.branch, args.workdir) if selection.needs_branch(stages) else args.branch
    )
    skips = selection.condition_skips(
        stages, branch=branch, environment=context.environment, variables=variables
    )
    if args.dry_run:
        print(plan.render_dry_run(context.name, plan.dry_run(stages, skips)))
        return 0
    missing = secrets.missing(context.secrets)
    if missing:
        print(f"warning: secrets not set, jobs will not see them: {', '.join(missing)}", file=sys.stderr)
    env = {**variables, **secrets.resolve(context.secrets)}
    previous = latest_result(args.runs_dir, context.name)
    priority = plan.job_priorities(stages, job_durations(previous) if previous else {})
    options = RunOptions(
        runs_dir=args.runs_dir,
        workdir=args.workdir,
        max_parallel=args.max_parallel,
        env=env,
        condition_skips=skips,
        priority=priority,
    )
    jobs = sum(len(stage.jobs) for stage in stages)
    # The journal records job events for `cicd monitor` and passes each call on to the display.
    display = LiveJournal(choose_display(gha.in_actions()), context.name, stages)
    run = PipelineRun(context, stages, options, display)
    display.attach(run.run_dir, run.pipeline_id)
    print(
        f"pipeline {context.name}: {jobs} jobs, up to {args.max_parallel} at once (run {run.pipeline_id})",
        flush=True,
    )
    try:
        with cancel_on_signals(run):
            result = run.run()
    finally:
        display.close()
    if args.output:
        write_json(result.to_dict(), args.output)
    if gha.in_actions():
        gha.append_summary(summary_markdown(context, result))
    result_path = run.run_dir / "result.json"
    _print_end(
        "\n" + job_table(result.steps),
        f"\n{context.name}: {result.status} in {result.duration_seconds:.1f}s; result: {result_path}",
    )
    if run.cancel_signal is not None:
        return 128 + run.cancel_signal
    return 0 if result.status == "success" else EXIT_FAILED


def _print_end(*lines: str) -> None:
    """The closing lines; a reader that went away (`cicd run | head`) does not change the exit code."""
    try:
        for line in lines:
            print(line, flush=True)
    except BrokenPipeError:
        # Python would report the pipe again when flushing stdout at exit; point stdout at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def show_graph(args: argparse.Namespace) -> int:
    from cicd.config import load_pipeline
    from cicd.pipeline.render import mermaid

    text = mermaid(load_pipeline(args.config_dir, args.file))
    print(f"```mermaid\n{text}```" if args.markdown else text, end="" if not args.markdown else "\n")
    return 0


def show_plan(args: argparse.Namespace) -> int:
    import json

    from cicd.config import load_pipeline
    from cicd.pipeline.plan import optimize_pipeline_schedule, render_plan
    from cicd.pipeline.result import job_durations, latest_result

    context = load_pipeline(args.config_dir, args.file)
    previous = latest_result(args.runs_dir, context.name)
    durations = job_durations(previous) if previous else {}
    schedule = optimize_pipeline_schedule(
        context, durations, previous.get("pipeline_id") if previous else None
    )
    print(json.dumps(schedule.to_dict(), indent=2) if args.json else render_plan(schedule, context))
    return 0
