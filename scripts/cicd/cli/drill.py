"""`cicd drill`: deploy, roll back through the real path, roll forward; time to restore in the ledger."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Ledger entries searched for the last drill (newest first).
LEDGER_WINDOW = 5000


def register(subparsers: argparse._SubParsersAction) -> None:
    drill = subparsers.add_parser(
        "drill",
        help="rollback drill: deploy, roll back, roll forward; measures the time to restore",
        description="Deploy VERSION (default: the live one), roll back to the previous known-good release "
        "as `cicd rollback` does, then deploy VERSION again, checking after each leg that the expected "
        "version is live and healthy. The outcome and the time to restore go to the ledger (action "
        "`drill`). Refuses while the environment is locked, and on production unless --production "
        "--reason TEXT. Exit 0 when the drill passed, 1 when a leg failed.",
    )
    drill.add_argument("--env", required=True, metavar="NAME", help="config/environments/NAME.yml")
    drill.add_argument("--config-dir", default="config", type=Path, help="default: config")
    drill.add_argument("--version", dest="release", metavar="VERSION", help="default: the live version")
    drill.add_argument("--artifact", help="what to deploy as VERSION (default: the runtime's own)")
    drill.add_argument("--production", action="store_true", help="allow a drill on a production environment")
    drill.add_argument("--reason", help="why (recorded in the ledger; required with --production)")
    drill.add_argument(
        "--last", action="store_true", help="run nothing: show the last passed drill; exit 1 when overdue"
    )
    drill.add_argument(
        "--max-age-days", type=float, metavar="DAYS",
        help="with --last: overdue after this (default: the environment's deploy.drill.max_age_days, else 7)",
    )  # fmt: skip
    drill.set_defaults(handler=run_drill)


def run_drill(args: argparse.Namespace) -> int:
    from cicd import identity
    from cicd.config import load_environment
    from cicd.deploy.isolation import register_environment_secrets
    from cicd.deploy.record import open_record
    from cicd.deploy.report import Reporter
    from cicd.deploy.target import build_target
    from cicd.drill import check_allowed, run_drill
    from cicd.inputs import check_version, reason_from_user
    from cicd.state import open_state

    if args.last:
        return show_last(args)
    if args.release:
        check_version(args.release)
    reason = reason_from_user(args.reason)
    config_dir = Path(args.config_dir)
    env = load_environment(config_dir, args.env)
    check_allowed(env.type, env.name, production=args.production, reason=reason)
    register_environment_secrets(env, config_dir)
    target = build_target(env, base_dir=str(config_dir.resolve().parent))
    record = open_record(target, env)
    artifact = args.artifact
    if artifact and Path(artifact).exists():  # a path is the caller's, relative to where they stand
        artifact = str(Path(artifact).resolve())
    result = run_drill(
        target, record, version=args.release, artifact=artifact, actor=identity.actor(), reason=reason,
        out=Reporter(),
    )  # fmt: skip
    entry = open_state(env.name, target.settings.state_path, target.primary).append_audit(
        result.ledger_entry(reason)
    )
    if result.passed:
        print(
            f"drill passed in {env.name}: {result.forward} -> {result.back} -> {result.forward}; "
            f"time to restore {result.restore_ms:.0f} ms (ledger entry {entry.seq})"
        )
        return 0
    print(f"drill FAILED in {env.name} at the {result.failed_leg}: {result.error}", file=sys.stderr)
    return 1


def show_last(args: argparse.Namespace) -> int:
    from cicd.cli.state import open_environment_state
    from cicd.drill import last_passed, staleness
    from cicd.gha import annotate

    max_age = args.max_age_days
    if max_age is None:
        max_age = configured_max_age(args.config_dir, args.env)
    last = last_passed(open_environment_state(args.config_dir, args.env).audit_entries(LEDGER_WINDOW))
    if last is not None:
        restore = last.details.get("restore_ms")
        print(f"last passed drill in {args.env}: {last.time}, {last.version}, time to restore {restore} ms")
    overdue = staleness(last, max_age)
    if overdue is None:
        return 0
    print(f"warning: rollback drills are overdue in {args.env}: {overdue} (run: cicd drill --env {args.env})",
          file=sys.stderr)  # fmt: skip
    annotate("warning", f"rollback drills are overdue in {args.env}: {overdue}")
    return 1


def configured_max_age(config_dir: Path, environment: str) -> float:
    from cicd.config import load_environment
    from cicd.drill import DEFAULT_MAX_AGE_DAYS

    settings = load_environment(config_dir, environment).deploy
    drill = settings.drill if settings is not None else None
    return drill.max_age_days if drill is not None else DEFAULT_MAX_AGE_DAYS
