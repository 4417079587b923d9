"""Verbs `lock`, `unlock`, `audit verify|show` and `history`: an environment's lock, ledger and history.

Each resolves the environment from --config-dir to find its state (deploy.state_path on the primary
host; relative paths against the project root, the parent of --config-dir) and calls cicd.state.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from cicd.errors import StateError, UsageError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", required=True, metavar="NAME", help="environment (config/environments/NAME.yml)"
    )
    parser.add_argument(
        "--config-dir", default="config", type=Path, help="config directory (default: config)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    lock = subparsers.add_parser(
        "lock", help="hold an environment's deploy lock (e.g. a freeze during an incident)"
    )
    _common(lock)
    lock.add_argument(
        "--reason",
        required=True,
        help="why; shown to everyone the lock stops (one line: "
        "line breaks become spaces, control and bidirectional characters become U+FFFD)",
    )
    lock.add_argument("--ttl", type=float, metavar="SECONDS", help="expire after this long (default: never)")
    lock.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="wait this long for a held lock"
    )
    lock.set_defaults(handler=run_lock)

    unlock = subparsers.add_parser("unlock", help="release an environment's lock")
    _common(unlock)
    unlock.add_argument("--force", action="store_true", help="release a lock someone else holds (audited)")
    unlock.add_argument(
        "--reason",
        help="why (recorded in the ledger; required with --force; one line: "
        "line breaks become spaces, control and bidirectional characters become U+FFFD)",
    )
    unlock.set_defaults(handler=run_unlock)

    audit = subparsers.add_parser("audit", help="verify or show an environment's hash-chained audit ledger")
    actions = audit.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="check the hash chain (exit 1 when tampered with)")
    _common(verify)
    verify.add_argument(
        "--anchor",
        metavar="HASH",
        help="a head hash kept elsewhere (e.g. in the GitHub deployment); it must be in the chain",
    )
    verify.set_defaults(handler=run_audit_verify)
    show = actions.add_parser("show", help="print the newest ledger entries")
    _common(show)
    show.add_argument("--limit", type=_positive, default=50, help="entries to show (default 50)")
    show.add_argument("--json", action="store_true", help="JSON lines, one entry per line")
    show.set_defaults(handler=run_audit_show)
    # Signed audit bundles live with the rest of the supply chain.
    importlib.import_module("cicd.cli.supply").register_audit(actions, _common)

    history = subparsers.add_parser(
        "history", help="an environment's deployments and rollbacks, newest first"
    )
    _common(history)
    history.add_argument("--limit", type=_positive, default=20, help="deployments to show (default 20)")
    history.add_argument("--json", action="store_true", help="a JSON array")
    history.set_defaults(handler=run_history)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def open_environment_state(config_dir: Path, name: str):
    """The StateStore of environment `name`: deploy.state_path on its primary host."""
    from cicd.config import load_environment
    from cicd.state import DEFAULT_STATE_PATH, open_state

    env = load_environment(Path(config_dir), name)
    base_dir = str(Path(config_dir).resolve().parent)
    if env.deploy is None:
        from cicd.hosts.local import LocalHost

        return open_state(env.name, DEFAULT_STATE_PATH, LocalHost(cwd=base_dir))
    from cicd.hosts import build_host

    host = build_host(env.deploy.hosts[0], base_dir=base_dir)
    return open_state(env.name, env.deploy.state_path, host)


def run_lock(args: argparse.Namespace) -> int:
    import dataclasses

    from cicd.inputs import reason_from_user
    from cicd.state import LockOwner
    from cicd.state.render import lock_line

    reason = reason_from_user(args.reason)
    if not reason:
        raise UsageError("--reason must say why the environment is locked")
    if args.ttl is not None and args.ttl <= 0:
        raise UsageError("--ttl must be a positive number of seconds")
    state = open_environment_state(args.config_dir, args.env)
    # No pid: this process exits at once, the hold belongs to the person (and run) that asked for it.
    owner = dataclasses.replace(LockOwner.current(), pid=None)
    lock = state.acquire_lock(owner, args.ttl, reason, wait_seconds=args.wait, purpose="manual")
    print(lock_line(args.env, lock.info))
    print(f"release it with: cicd unlock --env {args.env}")
    return 0


def run_unlock(args: argparse.Namespace) -> int:
    from cicd.inputs import reason_from_user

    reason = reason_from_user(args.reason) or None
    if args.force and not reason:
        raise UsageError("--force needs --reason TEXT: the ledger records why a lock was forced")
    state = open_environment_state(args.config_dir, args.env)
    released = state.force_unlock(reason) if args.force else state.unlock_own(reason=reason)
    if released is None:
        print(f"{args.env} is not locked")
        return 0
    how = "forced" if args.force else "released"
    print(f"{how} the lock on {args.env} held by {released.describe()}")
    if args.force and released.purpose == "deploy" and not released.stale:
        print(f"warning: that deploy may still be running; check `cicd status --env {args.env}`")
    return 0


def run_audit_verify(args: argparse.Namespace) -> int:
    from cicd.state.render import verify_line

    report = open_environment_state(args.config_dir, args.env).verify_audit()
    if not report.ok:
        raise StateError(verify_line(args.env, report))
    problems = _anchor_problems(args)
    if problems:
        raise StateError(f"ledger of {args.env} does not match its anchor: " + "; ".join(problems))
    print(verify_line(args.env, report))
    if args.anchor:
        print(f"anchor {args.anchor} is in the chain")
    return 0


def _anchor_problems(args: argparse.Namespace) -> list[str]:
    """The chain against the head kept beside the router config on every host, and --anchor."""
    from cicd.config import load_environment
    from cicd.deploy import anchor
    from cicd.deploy.record import open_record
    from cicd.deploy.target import build_target

    env = load_environment(Path(args.config_dir), args.env)
    if env.deploy is None:
        state = open_environment_state(args.config_dir, args.env)
        missing = args.anchor and state.audit_seq_of(args.anchor.strip().lower()) is None
        return [f"the ledger holds no entry with hash {args.anchor}"] if missing else []
    target = build_target(env, base_dir=str(Path(args.config_dir).resolve().parent))
    return anchor.problems(target, open_record(target, env), args.anchor)


def run_audit_show(args: argparse.Namespace) -> int:
    from cicd.state.render import ledger_table

    entries = open_environment_state(args.config_dir, args.env).audit_entries(args.limit)
    if args.json:
        for entry in entries:
            print(json.dumps(entry.as_dict(), sort_keys=True))
    else:
        print(ledger_table(args.env, entries))
    return 0


def run_history(args: argparse.Namespace) -> int:
    from cicd.state.render import history_table

    deployments = open_environment_state(args.config_dir, args.env).history(args.limit)
    if args.json:
        print(json.dumps([d.as_dict() for d in deployments], indent=2))
    else:
        print(history_table(args.env, deployments))
    return 0
