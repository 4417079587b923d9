"""`cicd flags`: list, show and change an environment's feature flags (flagd's format, read by services
through OpenFeature). `disable` is the kill switch: one file write per host, no deploy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, metavar="NAME", help="config/environments/NAME.yml")
    parser.add_argument("--config-dir", default="config", type=Path, help="default: config")


def _changing(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument(
        "--reason", help="why (recorded in the ledger; one line, control characters replaced)"
    )


def _percent(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a whole percentage from 0 to 100, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    flags = subparsers.add_parser(
        "flags",
        help="feature flags: list, show, set a percentage, enable, disable (kill switch), push",
        description="Feature flags in flagd's format: config/flags/ENV.json is the reviewed definition; "
        "each change is checked against flagd's schema, written atomically to every host of the "
        "environment (.cicd/flags/ENV.json, read by the OpenFeature flagd provider in file mode) and "
        "recorded in the ledger.",
    )
    actions = flags.add_subparsers(dest="flags_action", metavar="ACTION", required=True)
    for name, text in (("list", "every flag and its state"), ("show", "one flag's definition and state")):
        sub = actions.add_parser(name, help=text)
        _common(sub)
        if name == "show":
            sub.add_argument("name", metavar="FLAG")
        sub.set_defaults(handler=run_show if name == "show" else run_list)
    percent = actions.add_parser("set", help="give P %% of users a variant (flagd's fractional targeting)")
    _changing(percent)
    percent.add_argument("name", metavar="FLAG")
    percent.add_argument("--percent", required=True, type=_percent, metavar="P", help="0 to 100")
    percent.add_argument("--variant", help="the variant the percentage gets (default: the one that is true)")
    percent.set_defaults(handler=run_set)
    switches = (("enable", "turn a flag on (its targeting kept)"), ("disable", "kill switch: turn it off"))
    for name, text in switches:
        sub = actions.add_parser(name, help=text)
        _changing(sub)
        sub.add_argument("name", metavar="FLAG")
        sub.set_defaults(handler=run_state, enabled=name == "enable")
    rollout = actions.add_parser(
        "rollout", help="raise a flag's percentage step by step, verified like canary steps; off on a breach"
    )
    _changing(rollout)
    rollout.add_argument("name", metavar="FLAG")
    rollout.add_argument("--steps", required=True, metavar="P,P,...", help="rising percentages: 5,25,50,100")
    rollout.add_argument("--variant", help="the variant the percentage gets (default: the one that is true)")
    rollout.add_argument(
        "--window", type=float, metavar="SECONDS", help="verification per step (default: its window_seconds)"
    )
    rollout.set_defaults(handler=run_rollout)
    push = actions.add_parser("push", help="publish config/flags/ENV.json to every host as it is")
    _changing(push)
    push.set_defaults(handler=run_push)


def run_list(args: argparse.Namespace) -> int:
    from cicd.flags.definitions import flag_names, summarize
    from cicd.flags.publish import flag_target

    target = flag_target(args.config_dir, args.env)
    data, source = target.current()
    warn_if_split(target)
    print(f"flags of {args.env} (from {source}):")
    names = flag_names(data)
    width = max((len(name) for name in names), default=4)
    for name in names:
        print(f"  {name:<{width}}  {summarize(data, name).describe()}")
    if not names:
        print("  none")
    return 0


def run_show(args: argparse.Namespace) -> int:
    import json

    from cicd.flags.definitions import get_flag, summarize
    from cicd.flags.publish import flag_target

    target = flag_target(args.config_dir, args.env)
    data, source = target.current()
    warn_if_split(target)
    flag = get_flag(data, args.name)
    print(f"{args.name} in {args.env} (from {source}): {summarize(data, args.name).describe()}")
    print(json.dumps(flag, indent=2))
    return 0


def warn_if_split(target) -> None:
    """What list and show read is the first host's file; say so when another host has a different one."""
    from cicd.gha import annotate

    others = target.disagreeing()
    if others:
        first, env = target.hosts[0].name, target.environment
        warning = (f"the flag file on {', '.join(others)} differs from {first}'s (a change stopped "
                   f"half-way?): repeat the change, or publish {target.config_file} with "
                   f"cicd flags push --env {env}")
        print(f"warning: {warning}", file=sys.stderr)
        annotate("warning", warning)


def _report(what: str, env: str, published) -> int:
    where = ", ".join(published.hosts)
    after = f": {published.after.describe()}" if published.after else ""
    print(f"{what} in {env}{after}")
    print(f"written to {where} in {published.elapsed_ms:.0f} ms (ledger entry {published.entry_seq})")
    for path in published.changed_files:
        print(f"updated {path}: commit it to keep the change in the reviewed definition")
    return 0


def run_set(args: argparse.Namespace) -> int:
    from cicd.flags.definitions import with_percent
    from cicd.flags.publish import apply_change, flag_target
    from cicd.inputs import reason_from_user

    target = flag_target(args.config_dir, args.env)
    published = apply_change(
        target,
        "set",
        args.name,
        lambda data: with_percent(data, args.name, args.percent, args.variant),
        reason_from_user(args.reason),
    )
    return _report(args.name, args.env, published)


def run_state(args: argparse.Namespace) -> int:
    from cicd.flags.definitions import with_state
    from cicd.flags.publish import apply_change, flag_target
    from cicd.inputs import reason_from_user

    target = flag_target(args.config_dir, args.env)
    action = "enable" if args.enabled else "disable"
    published = apply_change(
        target, action, args.name, lambda data: with_state(data, args.name, args.enabled),
        reason_from_user(args.reason),
    )  # fmt: skip
    return _report(args.name, args.env, published)


def run_push(args: argparse.Namespace) -> int:
    from cicd.flags.publish import apply_change, flag_target
    from cicd.inputs import reason_from_user

    target = flag_target(args.config_dir, args.env)
    reviewed = target.read_config()
    published = apply_change(
        target, "push", None, lambda _live: reviewed, reason_from_user(args.reason), write_back=False
    )
    return _report("flags", args.env, published)


def run_rollout(args: argparse.Namespace) -> int:
    from cicd.flags.rollout import parse_steps, rollout
    from cicd.inputs import reason_from_user

    steps = parse_steps(args.steps)
    result = rollout(
        args.config_dir, args.env, args.name, steps,
        variant=args.variant, window_seconds=args.window, reason=reason_from_user(args.reason),
    )  # fmt: skip
    if result.completed:
        print(f"{args.name} rolled out to {steps[-1]}% in {args.env}: every step verified")
        return 0
    print(f"{args.name} turned off in {args.env}: {result.disabled_because}", file=sys.stderr)
    return 1
