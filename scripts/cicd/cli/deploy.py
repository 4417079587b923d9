"""Verbs `deploy`, `rollback` and `status`: parse arguments, build the target, call the orchestrator.

Relative paths in an environment's deploy block resolve against the project root: the parent of
--config-dir (so `config/` in a repository means the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cicd import gha, identity


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", required=True, metavar="NAME", help="environment (config/environments/NAME.yml)"
    )
    parser.add_argument(
        "--config-dir", default="config", type=Path, help="config directory (default: config)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    deploy = subparsers.add_parser("deploy", help="deploy a version (blue-green by default)")
    _common(deploy)
    deploy.add_argument("--version", required=True, dest="release", metavar="VERSION")
    deploy.add_argument(
        "--artifact",
        metavar="PATH_OR_IMAGE",
        help="directory or .tar.gz (process runtime), image reference (docker)",
    )
    deploy.add_argument("--strategy", choices=("blue_green", "canary", "recreate", "rolling"))
    deploy.add_argument(
        "--reason",
        help="why, stored in the history and the ledger as one line: line breaks become spaces, "
        "control and bidirectional characters become U+FFFD; never refused",
    )
    deploy.add_argument("--dry-run", action="store_true", help="print every action; change nothing")
    deploy.add_argument(
        "--override-approval",
        metavar="WHY",
        help="deploy from outside GitHub Actions to an environment that requires approval (the reason is "
        "recorded in the audit ledger)",
    )
    deploy.add_argument("--wait", action="store_true", help="wait for the lock instead of failing at once")
    deploy.add_argument(
        "--rebuild",
        action="store_true",
        help="replace an already prepared VERSION whose content (digest) differs from this artifact",
    )
    deploy.set_defaults(handler=run_deploy)

    rollback = subparsers.add_parser(
        "rollback", help="back to the warm previous color, or to a retained version"
    )
    _common(rollback)
    rollback.add_argument("--to", metavar="VERSION", help="a retained version (default: the previous one)")
    rollback.add_argument(
        "--reason",
        help="why, stored in the history and the ledger as one line: line breaks become spaces, "
        "control and bidirectional characters become U+FFFD; never refused",
    )
    rollback.add_argument("--wait", action="store_true", help="wait for the lock instead of failing at once")
    rollback.add_argument(
        "--steal-stale-lock",
        action="store_true",
        help="take over a lock whose holder is provably dead (its pid gone on this machine, or its "
        "heartbeat past the TTL); audited as lock.steal; needs --reason",
    )
    rollback.set_defaults(handler=run_rollback)

    accept = subparsers.add_parser(
        "accept", help="after a paused deploy (verification Inconclusive): keep the live version, known good"
    )
    _common(accept)
    accept.add_argument("--version", required=True, dest="release", metavar="VERSION", help="the live one")
    accept.add_argument(
        "--reason",
        required=True,
        help="how it was checked, recorded in the ledger as one line: line breaks become spaces, "
        "control and bidirectional characters become U+FFFD; never refused",
    )
    accept.set_defaults(handler=run_accept)

    status = subparsers.add_parser("status", help="what is live, what is warm, and whether it is healthy")
    _common(status)
    status.add_argument("--json", action="store_true", help="the Deployment State as JSON")
    status.set_defaults(handler=run_status)


def _target(args: argparse.Namespace, *, from_snapshot: bool = False, keep_snapshot: bool = True):
    """The environment and its target. With from_snapshot (rollback), a snapshot of the same file
    validated by the same code stands for validating it again (cicd/config/snapshot.py); otherwise,
    or when there is none, the file is validated in full and, with keep_snapshot, its snapshot written."""
    from cicd.config import snapshot
    from cicd.deploy.isolation import register_environment_secrets
    from cicd.deploy.target import build_target

    config_dir = Path(args.config_dir)
    loaded = snapshot.load(config_dir, args.env) if from_snapshot else None
    env, pipeline_secrets = loaded or _validated(config_dir, args.env, keep_snapshot)
    register_environment_secrets(env, config_dir, pipeline_secrets)
    return env, build_target(env, base_dir=str(config_dir.resolve().parent))


def _validated(config_dir: Path, name: str, keep_snapshot: bool):
    from cicd.config import load_environment, snapshot
    from cicd.deploy.isolation import pipeline_secrets

    try:
        digests = snapshot.input_digests(config_dir, name)  # before reading: an edit meanwhile is stale
    except OSError:  # no such file: load_environment says so, located
        digests = None
    env = load_environment(config_dir, name)
    secret_names = pipeline_secrets(config_dir)
    if keep_snapshot and digests is not None:
        snapshot.save(config_dir, env, secret_names, digests)
    return env, secret_names


def _warn_overdue_drill(env, target) -> None:
    """deploy.drill set: a warning (stderr, an annotation in Actions) when the drills are overdue."""
    if target.settings.drill is None:
        return
    from cicd.drill import overdue
    from cicd.gha import annotate
    from cicd.state import open_state

    store = open_state(env.name, target.settings.state_path, target.primary)
    warning = overdue(store, env.name, target.settings.drill.max_age_days)
    if warning is not None:
        print(f"warning: {warning}", file=sys.stderr)
        annotate("warning", warning)


def promotion_notice(record, environment: str) -> list[str] | None:
    """An open promotion, for whoever looks at status first: where it stands and how to stop it."""
    from cicd.promotion.run import describe, load

    promotion = load(record)
    if promotion is None or not promotion.open:
        return None
    env, stable = environment, promotion.stable_version
    lines = [f"promotion: {promotion.version} {describe(promotion)}; `cicd promotion status --env {env}`"]
    if promotion.status != "rolling-back":
        lines.append(f"  to stop it: cicd rollback --env {env} --reason TEXT "
                     f"(every request back on {stable}, which stays live)")
    return lines


def _record(target, env, *, dry_run: bool = False):
    from cicd.deploy.record import NullRecord, open_record

    return NullRecord() if dry_run else open_record(target, env)


def _publish(outcome, target) -> None:
    """Step outputs and a step summary inside GitHub Actions; nothing elsewhere."""
    if not gha.in_actions():
        return
    gha.set_output("version", outcome.live_version or "")
    gha.set_output("live_color", outcome.live_color or "")
    gha.set_output("url", target.url or "")
    gha.set_output("status", outcome.status)
    rows = [
        f"### {outcome.kind} to `{target.environment}`: {outcome.status}",
        "",
        "| | |",
        "|---|---|",
        f"| before | `{outcome.previous_version or '-'}` |",
        f"| after (live) | `{outcome.live_version or '-'}` on {outcome.live_color or '-'} |",
        f"| duration | {outcome.seconds:.1f} s |",
        f"| result | {outcome.message} |",
    ]
    rows += [f"| {name} | {value} |" for name, value in sorted(outcome.figures.items())]
    gha.append_summary("\n".join(rows))


def run_deploy(args: argparse.Namespace) -> int:
    from cicd.deploy.orchestrator import DeployRequest, deploy
    from cicd.deploy.report import Reporter
    from cicd.errors import CicdError
    from cicd.inputs import check_version, reason_from_user
    from cicd.notify.hooks import DeployNotices

    check_version(args.release)
    args.reason = reason_from_user(args.reason)
    env, target = _target(args, keep_snapshot=not args.dry_run)
    if not args.dry_run:
        from cicd.github.approval import approved_reason

        override = reason_from_user(args.override_approval)
        args.reason = approved_reason(args.env, env.approval.required, args.reason, override)
    artifact = args.artifact
    if artifact and Path(artifact).exists():  # a path is the caller's, relative to where they stand
        artifact = str(Path(artifact).resolve())
    request = DeployRequest(
        args.release, identity.actor(), artifact, args.strategy, args.reason, args.wait, args.rebuild
    )
    notices = DeployNotices(Path(args.config_dir), env, args.release, args.reason, dry_run=args.dry_run)
    notices.started()
    try:
        outcome = deploy(
            target, _record(target, env, dry_run=args.dry_run), request, Reporter(), dry_run=args.dry_run
        )
    except CicdError as err:
        from cicd.deploy.orchestrator import inspect

        notices.failed(err)
        live = inspect(target)
        if gha.in_actions():
            gha.set_output("version", live.version or "")
            gha.set_output("live_color", live.color or "")
        raise
    notices.finished(outcome)
    _publish(outcome, target)
    if gha.in_actions() and env.type == "production":  # what the approver sees: the delivery numbers
        from cicd.reports.delivery import step_summary

        gha.append_summary(step_summary(Path(args.config_dir), env.name))
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from cicd.deploy.report import Reporter
    from cicd.deploy.rollback import rollback
    from cicd.errors import UsageError
    from cicd.inputs import check_version, reason_from_user

    if args.to:
        check_version(args.to)
    args.reason = reason_from_user(args.reason)
    if args.steal_stale_lock and not (args.reason or "").strip():
        raise UsageError("--steal-stale-lock needs --reason TEXT: the ledger records why a lock was taken")
    env, target = _target(args, from_snapshot=True)
    record = _record(target, env)
    outcome = None if args.to else _end_promotion(target, record, args)
    outcome = outcome or rollback(
        target,
        record,
        to=args.to,
        reason=args.reason,
        actor=identity.actor(),
        out=Reporter(),
        wait=args.wait,
        steal_stale_lock=args.steal_stale_lock,
    )
    from cicd.notify.hooks import rollback_done

    rollback_done(env, outcome)
    _publish(outcome, target)
    return 0


def _end_promotion(target, record, args):
    """A rollback during a hands-off promotion ends it: every request back on the stable version, which
    stays live (rolling that one back too is a second `cicd rollback`). None when none is open."""
    raw = record.state.promotion()
    if not raw:  # the common case reads one row and imports nothing more
        return None
    from cicd.promotion.machine import PromotionState

    if not PromotionState.from_json(raw).open:
        return None
    from cicd.deploy.execution import Outcome
    from cicd.deploy.report import Reporter
    from cicd.promotion.advance import end_for_rollback

    started = time.monotonic()
    out = Reporter()
    if args.steal_stale_lock:
        from cicd.deploy.lockholder import steal_if_dead

        out.phase("warn", "lock", steal_if_dead(record, target.environment, args.reason))
    ended = end_for_rollback(target, record, out, args.reason or "rollback", wait=args.wait)
    if ended is None:
        return None
    out.line(f"rollback: the promotion of {ended.version} ended; {ended.stable_version} stays live "
             f"(`cicd rollback --env {target.environment}` again rolls that one back)")  # fmt: skip
    seconds = time.monotonic() - started
    return Outcome("succeeded", "rollback", ended.stable_version, ended.version,
                   ended.stable_color, ended.stable_version, seconds,  # type: ignore[arg-type]
                   f"promotion of {ended.version} ended")  # fmt: skip


def run_accept(args: argparse.Namespace) -> int:
    from cicd.deploy.decision import accept
    from cicd.deploy.report import Reporter
    from cicd.inputs import check_version, reason_from_user

    check_version(args.release)
    args.reason = reason_from_user(args.reason)
    env, target = _target(args)
    accept(target, _record(target, env), args.release, reason=args.reason, out=Reporter())
    return 0


def run_status(args: argparse.Namespace) -> int:
    from cicd.deploy.status import environment_status, render_status

    env, target = _target(args)
    record = _record(target, env)
    state = environment_status(target, record)
    notice = promotion_notice(record, env.name)
    state["promotion"] = notice
    if args.json:
        print(json.dumps(state, indent=2))
    else:
        sys.stdout.write(render_status(state) + "".join(f"{line}\n" for line in notice or []))
    _warn_overdue_drill(env, target)
    return int(state["exit_code"])  # 0 healthy, 3 degraded, 4 down (docs/RUNBOOKS.md)
