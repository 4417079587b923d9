"""`cicd automerge --pr N`: score a pull request against config/automerge.yml and, above the threshold,
turn on GitHub's auto-merge for it; the decision goes to the ledger and the pull request's comment."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    automerge = subparsers.add_parser(
        "automerge",
        help="trust-gated auto-merge of a bot's pull request (config/automerge.yml)",
        description="Score pull request N (CI, flake history, earlier similar changes and their change "
        "failure rate, the author's record, diff size) and enable GitHub's auto-merge only when the "
        "policy covers it and the score reaches the threshold. The decision and its inputs are appended "
        "to the ledger of the policy's environment and shown in the pull request's sticky comment. "
        "Needs GITHUB_TOKEN and GITHUB_REPOSITORY. Exit 0 whether merged or not; 1 when GitHub refused.",
    )
    automerge.add_argument("--pr", required=True, type=int, metavar="N", help="pull request number")
    automerge.add_argument("--policy", type=Path, default=None, metavar="FILE",
                           help="default: CONFIG_DIR/automerge.yml")
    automerge.add_argument("--config-dir", default="config", type=Path, help="default: config")
    automerge.add_argument("--repo", metavar="OWNER/NAME", help="default: $GITHUB_REPOSITORY")
    automerge.add_argument("--dry-run", action="store_true",
                           help="score, record and comment, but do not merge")
    automerge.set_defaults(handler=run_automerge)


def run_automerge(args: argparse.Namespace) -> int:
    from cicd import gha
    from cicd.cli.state import open_environment_state
    from cicd.github.client import GitHubClient
    from cicd.trust.automerge import run_automerge
    from cicd.trust.policy import load_policy

    policy = load_policy(args.policy or args.config_dir / "automerge.yml", args.config_dir)
    with GitHubClient.from_env(repository=args.repo) as client:
        state = open_environment_state(args.config_dir, policy.environment)
        outcome = run_automerge(client, state, policy, args.pr, dry_run=args.dry_run)
    gha.append_summary(outcome.comment)
    print(outcome.comment)
    if outcome.comment_url:
        print(f"\ncomment: {outcome.comment_url}")
    return 0
