"""`cicd github ...`: the GitHub calls the workflows make, and the Markdown reports they publish.

    cicd github comment --key ci [--pr N] (--body-file F | --result result.json [--junit F ...])
    cicd github deployment start --env staging --version 1.4.2 [--ref SHA] [--digest D] [--url U]
    cicd github deployment finish --id ID --state success|failure|error|inactive [--url U]
    cicd github check-run --name pipeline --result result.json [--sha SHA]
    cicd github dispatch --workflow rollback.yml [--ref main] [--input environment=staging ...]
    cicd github runs list|get|cancel|wait ...
    cicd github environment production --reviewer team:42 [--wait-timer 10] [--prevent-self-review]
    cicd github environments check --env production     (fails closed: reviewers, no self-review, ...)
    cicd github environments apply --env production     (from the approval: block of the environment file)
    cicd github report --result result.json [--junit F ...] [--coverage coverage.json]

Repository, token and API URL come from GITHUB_REPOSITORY, GITHUB_TOKEN and GITHUB_API_URL; the pull
request and the commit from the flags or the event payload (GITHUB_EVENT_PATH). Heavy imports (requests)
happen inside the handlers so `cicd --version` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cicd import gha
from cicd.errors import CicdError, UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `cicd github` and its sub-verbs to the top-level parser."""
    parser = subparsers.add_parser(
        "github", help="talk to the GitHub API: PR comment, deployments, checks, runs"
    )
    parser.add_argument("--repo", help="owner/name (default: GITHUB_REPOSITORY)")
    verbs = parser.add_subparsers(dest="github_verb", metavar="VERB", required=True)
    _register_comment(verbs)
    _register_deployment(verbs)
    _register_check_run(verbs)
    _register_dispatch(verbs)
    _register_runs(verbs)
    _register_environment(verbs)
    _register_environments(verbs)
    _register_report(verbs)


# ---- shared helpers ---------------------------------------------------------------------------------
def _client(args: argparse.Namespace):
    from cicd.github.client import GitHubClient

    return GitHubClient.from_env(repository=args.repo)


def _event() -> dict[str, Any]:
    from cicd.github.settings import load_event

    return load_event()


def _run_url() -> str | None:
    """The URL of this workflow run, the natural log_url / details_url."""
    env = os.environ
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return None


def _read_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CicdError(f"cannot read {path}: {err}", hint="pass the JSON file `cicd run` wrote") from err
    if not isinstance(data, dict):
        raise CicdError(f"{path} holds no JSON object")
    return data


def _add_report_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--result", help="pipeline result JSON (BuildResult) for the job table")
    parser.add_argument("--junit", action="append", default=[], help="JUnit XML report (repeat per shard)")
    parser.add_argument("--coverage", help="`coverage json` output")
    parser.add_argument("--coverage-target", type=float, help="coverage percentage the report enforces")
    parser.add_argument("--mermaid", help="file with the pipeline's Mermaid graph")
    parser.add_argument("--title", default="CI")


def _render_report(args: argparse.Namespace) -> str:
    from cicd import report

    return report.ci_report(
        title=args.title,
        result=_read_json(args.result) if args.result else None,
        tests=report.merge_totals(args.junit) if args.junit else None,
        coverage=report.read_coverage(args.coverage) if args.coverage else None,
        coverage_target=args.coverage_target,
        mermaid=Path(args.mermaid).read_text(encoding="utf-8") if args.mermaid else None,
        run_url=_run_url(),
    )


# ---- comment ------------------------------------------------------------------------------------------
def _register_comment(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("comment", help="create or update the sticky pull-request comment")
    parser.add_argument("--pr", type=int, help="pull request number (default: from the event payload)")
    parser.add_argument("--key", default="ci", help="which sticky comment (default: ci)")
    parser.add_argument("--body-file", help="Markdown file with the comment body")
    parser.add_argument(
        "--skip-without-pr",
        action="store_true",
        help="exit 0 with a note when the run has no pull request (push events)",
    )
    _add_report_inputs(parser)
    parser.set_defaults(handler=_comment)


def _comment(args: argparse.Namespace) -> int:
    from cicd.github.comments import upsert_sticky_comment
    from cicd.github.settings import pull_request_number

    event = _event()
    number = args.pr or pull_request_number(event)
    if number is None:
        if args.skip_without_pr:
            print("no pull request in this run: comment skipped")
            return 0
        raise UsageError("no pull request: pass --pr N or run on a pull_request event")
    if args.body_file:
        body = Path(args.body_file).read_text(encoding="utf-8")
    elif args.result or args.junit or args.coverage:
        body = _render_report(args)
    else:
        raise UsageError("nothing to post: pass --body-file or --result/--junit/--coverage")
    from cicd.github.client import GitHubApiError

    try:
        with _client(args) as client:
            outcome = upsert_sticky_comment(client, number, args.key, body)
    except GitHubApiError as err:
        if err.status != 403 or not _from_fork(event):
            raise
        # A pull request from a fork gets a read-only token: the report stays in the job summary.
        gha.warning(f"cannot comment on #{number} from a fork's pull request (read-only token)")
        print(f"comment skipped: {err}")
        return 0
    gha.set_output("comment_id", str(outcome.comment_id))
    print(f"{outcome.action} comment {outcome.comment_id} on #{number}: {outcome.url}")
    return 0


def _from_fork(event: dict[str, Any]) -> bool:
    pull = event.get("pull_request") or {}
    head = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    base = ((pull.get("base") or {}).get("repo") or {}).get("full_name")
    return bool(head and base and head != base)


# ---- deployment ---------------------------------------------------------------------------------------
def _register_deployment(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("deployment", help="report a deployment to the repository's Environments page")
    actions = parser.add_subparsers(dest="deployment_action", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="create a deployment and mark it in progress; prints its id")
    start.add_argument("--env", required=True, help="environment name, e.g. staging")
    start.add_argument("--version", required=True, help="version being deployed")
    start.add_argument("--ref", help="commit SHA or ref (default: the event's head commit / GITHUB_SHA)")
    start.add_argument("--digest", help="artifact digest (sha256:...)")
    start.add_argument("--artifact", help="what was deployed, e.g. an image reference pinned by digest")
    start.add_argument("--task", default="deploy", choices=("deploy", "deploy:rollback"),
                       help="deploy:rollback for a rollback (promotion reads artifacts from deploys only)")
    start.add_argument("--url", help="the environment's URL")
    start.add_argument("--log-url", help="where to follow the deploy (default: this run)")
    start.add_argument("--description")
    start.add_argument(
        "--production",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mark as a production environment (default: when --env is production)",
    )
    start.add_argument("--transient", action="store_true", help="an environment that goes away (previews)")
    start.set_defaults(handler=_deployment_start)
    finish = actions.add_parser("finish", help="set the final status of a deployment")
    finish.add_argument("--id", type=int, required=True, help="deployment id printed by `start`")
    finish.add_argument("--state", required=True, choices=("success", "failure", "error", "inactive"))
    finish.add_argument("--url", help="the environment's URL")
    finish.add_argument("--log-url", help="where to read the deploy's log (default: this run)")
    finish.add_argument("--description")
    finish.set_defaults(handler=_deployment_finish)


def _deployment_start(args: argparse.Namespace) -> int:
    from cicd.github.deployments import DeploymentRequest, start_deployment
    from cicd.github.settings import head_sha

    ref = args.ref or head_sha(_event())
    if not ref:
        raise UsageError("no ref to deploy: pass --ref SHA or set GITHUB_SHA")
    request = DeploymentRequest(
        ref=ref,
        environment=args.env,
        version=args.version,
        digest=args.digest,
        description=args.description,
        production=args.production,
        transient=args.transient,
        artifact=args.artifact,
        task=args.task,
    )
    with _client(args) as client:
        deployment_id = start_deployment(
            client, request, environment_url=args.url, log_url=args.log_url or _run_url()
        )
    gha.set_output("deployment_id", str(deployment_id))
    print(deployment_id)
    return 0


def _deployment_finish(args: argparse.Namespace) -> int:
    from cicd.github.deployments import finish_deployment

    with _client(args) as client:
        finish_deployment(
            client,
            args.id,
            args.state,
            environment_url=args.url,
            log_url=args.log_url or _run_url(),
            description=args.description,
        )
    print(f"deployment {args.id}: {args.state}")
    return 0


# ---- check run ----------------------------------------------------------------------------------------
def _register_check_run(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("check-run", help="publish a pipeline result as a check run with annotations")
    parser.add_argument("--name", required=True, help="check name shown on the commit")
    parser.add_argument("--result", required=True, help="pipeline result JSON (BuildResult)")
    parser.add_argument("--sha", help="commit (default: the pull request head or GITHUB_SHA)")
    parser.add_argument(
        "--config", default="config/pipeline.yml", help="pipeline config the annotations point at"
    )
    parser.add_argument("--details-url", help="link from the check (default: this run)")
    parser.set_defaults(handler=_check_run)


def _check_run(args: argparse.Namespace) -> int:
    from cicd import report
    from cicd.github.checks import annotations_from_result, conclusion_of, publish_check_run
    from cicd.github.settings import head_sha

    result = _read_json(args.result)
    sha = args.sha or head_sha(_event())
    if not sha:
        raise UsageError("no commit for the check run: pass --sha or set GITHUB_SHA")
    annotations = annotations_from_result(result, args.config)
    conclusion = conclusion_of(result)
    failed = sum(1 for step in result.get("steps") or [] if step.get("status") in ("failed", "timed_out"))
    title = f"{result.get('name', args.name)}: {result.get('status')}" + (
        f", {failed} failed" if failed else ""
    )
    with _client(args) as client:
        run = publish_check_run(
            client,
            name=args.name,
            head_sha=sha,
            conclusion=conclusion,
            title=title,
            summary=report.job_table(result),
            annotations=annotations,
            details_url=args.details_url or _run_url(),
            external_id=result.get("pipeline_id"),
        )
    gha.set_output("check_run_id", str(run["id"]))
    print(f"check run {run['id']} {args.name}: {conclusion}, {len(annotations)} annotations")
    return 0


# ---- workflow dispatch and runs -----------------------------------------------------------------------
def _register_dispatch(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("dispatch", help="start a workflow_dispatch run")
    parser.add_argument("--workflow", required=True, help="workflow file name (rollback.yml) or id")
    parser.add_argument("--ref", help="branch or tag (default: GITHUB_REF_NAME or main)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE", help="repeatable")
    parser.set_defaults(handler=_dispatch)


def _dispatch(args: argparse.Namespace) -> int:
    from cicd.github.actions import dispatch

    inputs = {}
    for item in args.input:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--input {item!r}: expected NAME=VALUE")
        inputs[name] = value
    ref = args.ref or os.environ.get("GITHUB_REF_NAME") or "main"
    with _client(args) as client:
        dispatch(client, args.workflow, ref, inputs)
    print(f"dispatched {args.workflow} on {ref}")
    return 0


def _register_runs(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("runs", help="list, inspect, cancel or wait for workflow runs")
    actions = parser.add_subparsers(dest="runs_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="recent runs, newest first")
    listing.add_argument("--workflow", help="workflow file name or id (default: all)")
    listing.add_argument("--status", help="queued, in_progress, completed, success, failure, ...")
    listing.add_argument("--branch")
    listing.add_argument("--event")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    listing.set_defaults(handler=_runs_list)
    for name, text in (
        ("get", "one run"),
        ("cancel", "cancel a run"),
        ("wait", "wait until a run completes"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("run_id", type=int)
        if name == "wait":
            action.add_argument("--timeout", type=float, default=3600)
            action.add_argument("--interval", type=float, default=10)
        action.add_argument("--json", action="store_true")
        action.set_defaults(handler=_runs_one, runs_action=name)


def _print_run(run: Any, as_json: bool) -> None:
    from dataclasses import asdict

    if as_json:
        print(json.dumps(asdict(run)))
    else:
        state = run.conclusion or run.status
        print(f"{run.id}\t{state}\t{run.name}\t{run.head_branch or ''}\t{run.event}\t{run.html_url}")


def _runs_list(args: argparse.Namespace) -> int:
    from cicd.github.actions import list_runs

    with _client(args) as client:
        runs = list_runs(
            client,
            workflow=args.workflow,
            status=args.status,
            branch=args.branch,
            event=args.event,
            limit=args.limit,
        )
    for run in runs:
        _print_run(run, args.json)
    return 0


def _runs_one(args: argparse.Namespace) -> int:
    from cicd.github.actions import cancel_run, get_run, wait_for_run

    with _client(args) as client:
        if args.runs_action == "cancel":
            cancel_run(client, args.run_id)
            print(f"cancelling run {args.run_id}")
            return 0
        if args.runs_action == "wait":
            run = wait_for_run(client, args.run_id, timeout=args.timeout, poll_interval=args.interval)
        else:
            run = get_run(client, args.run_id)
    _print_run(run, args.json)
    return 0 if args.runs_action != "wait" or run.conclusion == "success" else 1


# ---- environment --------------------------------------------------------------------------------------
def _register_environment(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("environment", help="create or update a GitHub Environment's protection")
    parser.add_argument("name", help="environment name, e.g. production")
    parser.add_argument(
        "--reviewer",
        action="append",
        default=[],
        metavar="user:ID|team:ID",
        help="required reviewer (repeatable, at most 6; one approval suffices)",
    )
    parser.add_argument("--wait-timer", type=int, default=0, metavar="MINUTES")
    parser.add_argument(
        "--prevent-self-review", action="store_true", help="the one who triggered cannot approve"
    )
    parser.add_argument(
        "--protected-branches", action="store_true", help="only protected branches may deploy"
    )
    parser.set_defaults(handler=_environment)


def _environment(args: argparse.Namespace) -> int:
    from cicd.github.environments import EnvironmentProtection, Reviewer, configure_environment

    protection = EnvironmentProtection(
        reviewers=tuple(Reviewer.parse(text) for text in args.reviewer),
        wait_minutes=args.wait_timer,
        prevent_self_review=args.prevent_self_review,
        protected_branches_only=args.protected_branches,
    )
    with _client(args) as client:
        environment = configure_environment(client, args.name, protection)
    print(
        f"environment {environment['name']}: {len(protection.reviewers)} reviewers, "
        f"wait {protection.wait_minutes} min: {environment['html_url']}"
    )
    return 0


# ---- environments as code -----------------------------------------------------------------------------
def _register_environments(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "environments", help="check or apply a GitHub Environment's protection from its environment file"
    )
    actions = parser.add_subparsers(dest="environments_action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="fail unless approval is enforced (before production jobs)")
    apply = actions.add_parser("apply", help="set reviewers, self-review, branches from the approval: block")
    for action, handler in ((check, _environments_check), (apply, _environments_apply)):
        action.add_argument("--env", required=True, metavar="NAME", help="environment, e.g. production")
        action.add_argument("--config-dir", default="config", type=Path)
        action.set_defaults(handler=handler)


def _environments_check(args: argparse.Namespace) -> int:
    from cicd.github.environments import automatic_warning, check_environment

    automatic = _automatic(args)
    if automatic:
        warning = automatic_warning(args.env, f"{args.config_dir}/environments/{args.env}.yml")
        print(f"WARNING: {warning}", file=sys.stderr)
        gha.annotate("warning", warning)
    with _client(args) as client:
        problems = check_environment(client, args.env, automatic=automatic)
    if not problems and automatic:
        print(f"GitHub Environment {args.env}: no admin bypass, deployments from main or protected branches "
              "only; no reviewer (automatic promotion)")
        return 0
    if not problems:
        print(f"GitHub Environment {args.env}: required reviewers, no self-review, no admin bypass, "
              "deployments from main or protected branches only")
        return 0
    raise CicdError(
        f"GitHub Environment {args.env!r} does not enforce approval: {'; '.join(problems)}",
        hint=f"set reviewers in the approval: block of {args.config_dir}/environments/{args.env}.yml, then "
        f"`cicd github environments apply --env {args.env}` with an admin token",
    )


def _automatic(args: argparse.Namespace) -> bool:
    """Whether the environment file opts into hands-off production (deploy.promotion.automatic)."""
    from cicd.config import load_environment

    deploy = load_environment(Path(args.config_dir), args.env).deploy
    return bool(deploy and deploy.promotion and deploy.promotion.automatic)


def _environments_apply(args: argparse.Namespace) -> int:
    from cicd.config import load_environment
    from cicd.github.environments import configure_environment, protection_from

    approval = load_environment(args.config_dir, args.env).approval
    if not approval.reviewers and not _automatic(args):
        raise UsageError(
            f"{args.config_dir}/environments/{args.env}.yml: approval.reviewers is empty",
            hint="add reviewers as user:ID or team:ID (GitHub's numeric ids), e.g. reviewers: [team:42]",
        )
    protection = protection_from(approval)
    with _client(args) as client:
        environment = configure_environment(client, args.env, protection)
    print(f"environment {args.env}: {len(protection.reviewers)} reviewers, self-review "
          f"{'prevented' if protection.prevent_self_review else 'allowed'}, deploys from "
          f"{approval.deployment_branches}, no admin bypass: {environment['html_url']}")
    return 0


# ---- report -------------------------------------------------------------------------------------------
def _register_report(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("report", help="render the CI report (Markdown) to stdout and the step summary")
    _add_report_inputs(parser)
    parser.add_argument("--output", help="also write the Markdown to this file (e.g. for `comment`)")
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    markdown = _render_report(args)
    if args.output:
        Path(args.output).write_text(markdown, encoding="utf-8")
    if not gha.append_summary(markdown):
        print(markdown, end="")
    return 0
