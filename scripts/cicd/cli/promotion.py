"""Verb `promotion`: hands-off production (docs/DEPLOYMENT.md, "Hands-off production").

    cicd promotion start   --env production --version 1.4.0     (deploy to the first canary weight)
    cicd promotion advance --env production                     (whatever is due now; quick when nothing)
    cicd promotion status  --env production [--json]
    cicd promotion resume  --env production --reason TEXT       (a paused promotion moves on)
    cicd promotion abort   --env production --reason TEXT       (back to the stable color now)
    cicd promotion mode    --env production                     (automatic=true|false, from the file only)

advance exits 0, or 1 when it rolled the promotion back, or 5 when it paused it for a person.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cicd.config.loader import EnvironmentContext
    from cicd.deploy.target import Target

EXIT_ROLLED_BACK = 1
EXIT_PAUSED = 5  # as a paused verification (cicd deploy): a person decides


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("promotion", help="hands-off production: canary steps, monitor, promote")
    actions = parser.add_subparsers(dest="promotion_action", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="deploy a version to the first canary weight and record it")
    start.add_argument("--version", required=True, dest="release", metavar="VERSION")
    start.add_argument("--artifact", metavar="PATH_OR_IMAGE", help="as for cicd deploy")
    start.add_argument("--reason", help="why, recorded in the history and the ledger")
    start.add_argument("--override-approval", metavar="WHY", help="as for cicd deploy")
    start.add_argument("--wait", action="store_true", help="wait for the lock instead of failing at once")
    start.set_defaults(handler=run_start)
    advance = actions.add_parser("advance", help="do whatever is due now (a scheduled workflow calls it)")
    advance.set_defaults(handler=run_advance)
    status = actions.add_parser("status", help="the promotion's state")
    status.add_argument("--json", action="store_true", help="the recorded state as JSON")
    status.set_defaults(handler=run_status)
    mode = actions.add_parser("mode", help="whether the environment is hands-off (automatic=true|false)")
    mode.set_defaults(handler=run_mode)
    for name, handler, text in (
        ("resume", run_resume, "move a paused promotion on to its next step"),
        ("abort", run_abort, "send all traffic back to the stable color and end the promotion"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--reason", required=True, help="why, recorded in the ledger")
        action.add_argument("--wait", action="store_true", help="wait for the lock, not fail at once")
        action.set_defaults(handler=handler)
    actions.choices["resume"].add_argument(
        "--override-approval", metavar="WHY",
        help="resume from outside GitHub Actions where approval is required (recorded in the ledger)",
    )  # fmt: skip
    for action in (start, advance, status, mode, *(actions.choices[n] for n in ("resume", "abort"))):
        action.add_argument("--env", required=True, metavar="NAME", help="config/environments/NAME.yml")
        action.add_argument("--config-dir", default="config", type=Path, help="default: config")


def _target(args: argparse.Namespace, *, needs_block: bool = False):
    from cicd.config import load_environment
    from cicd.deploy.isolation import register_environment_secrets
    from cicd.deploy.record import open_record
    from cicd.deploy.target import build_target
    from cicd.errors import CicdError

    config_dir = Path(args.config_dir)
    env = load_environment(config_dir, args.env)
    register_environment_secrets(env, config_dir)
    target = build_target(env, base_dir=str(config_dir.resolve().parent))
    # A recorded promotion goes on (or is aborted) from its own state even if the block was removed since.
    if needs_block and target.settings.promotion is None:
        raise CicdError(
            f"{args.env} has no promotion: block",
            hint=f"add deploy.promotion to {config_dir}/environments/{args.env}.yml (docs/DEPLOYMENT.md)",
        )
    return env, target, open_record(target, env)


def _summary(text: str) -> None:
    """The job summary only: the terminal already has the same line from the move itself."""
    from cicd import gha

    gha.append_summary(text)


def run_start(args: argparse.Namespace) -> int:
    from cicd import identity
    from cicd.deploy.orchestrator import DeployRequest, deploy
    from cicd.deploy.report import Reporter
    from cicd.github.approval import approved_reason
    from cicd.inputs import check_version, reason_from_user
    from cicd.promotion.run import start

    check_version(args.release)
    env, target, record = _target(args, needs_block=True)
    override = reason_from_user(args.override_approval)
    required = _approval_required(env, target)
    reason = approved_reason(args.env, required, reason_from_user(args.reason), override)
    artifact = args.artifact
    if artifact and Path(artifact).exists():  # a path is the caller's, relative to where they stand
        artifact = str(Path(artifact).resolve())
    request = DeployRequest(args.release, identity.actor(), artifact, None, reason, args.wait)
    out = Reporter()
    if start(target, record, request, out) is None:
        out.line(f"nothing live in {args.env} to promote from (or {args.release} is it): a plain deploy")
        deploy(target, record, request, out, dry_run=False)
    return 0


def run_mode(args: argparse.Namespace) -> int:
    """From the environment file alone (no state, no secrets): the scheduled workflow's first job."""
    from cicd import gha
    from cicd.config import load_environment

    deploy = load_environment(Path(args.config_dir), args.env).deploy
    promotion = deploy.promotion if deploy else None
    automatic = "true" if promotion and promotion.automatic else "false"
    gha.set_output("automatic", automatic)
    said = "no promotion: block" if promotion is None else f"promotion automatic: {automatic}"
    print(f"{args.env}: {said}")
    return 0


def run_advance(args: argparse.Namespace) -> int:
    from cicd.deploy.report import Reporter
    from cicd.promotion import machine
    from cicd.promotion.advance import advance
    from cicd.promotion.run import describe, load

    _, target, record = _target(args)
    before = load(record)
    state = advance(target, record, Reporter())
    if state is None:
        return 0
    _summary(f"promotion of `{state.version}` in `{args.env}`: {describe(state)}")
    changed = before is None or state.revision != before.revision
    if changed and state.status == machine.ROLLED_BACK:
        from cicd import gha

        gha.set_output("rolled_back_to", state.stable_version)  # the workflow records it on GitHub
        return EXIT_ROLLED_BACK
    return EXIT_PAUSED if changed and state.status == machine.PAUSED else 0


def run_status(args: argparse.Namespace) -> int:
    from cicd.promotion.machine import due_in
    from cicd.promotion.run import describe, load

    _, _, record = _target(args)
    state = load(record)
    if args.json:
        print(json.dumps(state.to_json() if state else None, indent=2))
        return 0
    if state is None:
        print(f"{args.env}: no promotion recorded")
        return 0
    import time

    print(f"{args.env}: promotion of {state.version}: {describe(state)}")
    print(f"  {state.reason}")
    if state.active:
        print(f"  next decision due in {due_in(state, time.time()):.0f} s (cicd promotion advance)")
    return 0


def run_resume(args: argparse.Namespace) -> int:
    from cicd.deploy.report import Reporter
    from cicd.github.approval import approved_reason
    from cicd.inputs import reason_from_user
    from cicd.promotion.advance import resume
    from cicd.promotion.run import describe

    env, target, record = _target(args)
    override = reason_from_user(args.override_approval)
    required = _approval_required(env, target)
    reason = approved_reason(args.env, required, reason_from_user(args.reason), override) or "resumed"
    state = resume(target, record, Reporter(), reason, wait=args.wait)
    _summary(f"promotion of `{state.version}` in `{args.env}`: {describe(state)}")
    return 0


def _approval_required(env: EnvironmentContext, target: Target) -> bool:
    """More traffic on a version is a person's decision: approved like a deploy unless hands-off."""
    promotion = target.settings.promotion
    return bool(env.approval.required and not (promotion and promotion.automatic))


def run_abort(args: argparse.Namespace) -> int:
    from cicd.deploy.report import Reporter
    from cicd.inputs import reason_from_user
    from cicd.promotion.advance import abort
    from cicd.promotion.run import describe

    _, target, record = _target(args)
    state = abort(target, record, Reporter(), reason_from_user(args.reason) or "aborted", wait=args.wait)
    _summary(f"promotion of `{state.version}` in `{args.env}`: {describe(state)}")
    return 0
