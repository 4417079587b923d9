"""Verbs `release check|next|changelog`, registered by cli/workflows.py beside `release notes`: the
Conventional Commits rules applied to pull requests, the next version and the changelog."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cicd.errors import SupplyChainError, UsageError


def register_release(verbs: argparse._SubParsersAction) -> None:
    """`cicd release check|next|changelog`, beside `cicd release notes` (cli/workflows.py)."""
    check = verbs.add_parser("check", help="refuse a PR title or commits that are not Conventional Commits")
    check.add_argument("--title", help="the pull request's title (the squash-merge commit header)")
    check.add_argument("--commits", metavar="BASE..HEAD", help="every commit of this range")
    check.add_argument("--repo", default=".", help="git repository (for --commits)")
    check.add_argument("--commits-warn-only", action="store_true", help="commits only warn (squash merges)")
    check.set_defaults(handler=run_release_check)

    nxt = verbs.add_parser("next", help="the next version from the commits since the last v* tag")
    nxt.add_argument("--to", default="HEAD", help="commit being released (default HEAD)")
    nxt.add_argument("--repo", default=".", help="git repository")
    nxt.set_defaults(handler=run_release_next)

    log = verbs.add_parser("changelog", help="the changelog from every v* tag's Conventional Commits")
    log.add_argument("--to", default="HEAD", help="newest commit to include")
    log.add_argument("--repo", default=".", help="git repository")
    log.add_argument("--unreleased", metavar="TITLE", help="also a section for commits after the last tag")
    log.add_argument("--output", type=Path, help="write here (default stdout)")
    log.set_defaults(handler=run_release_changelog)


def run_release_check(args: argparse.Namespace) -> int:
    from cicd import gha
    from cicd.supply.conventional import header_problem, skipped
    from cicd.workflows.release_notes import git_commits

    if not args.title and not args.commits:
        raise UsageError("give --title TEXT and/or --commits BASE..HEAD")
    failures = 0
    if args.title is not None:
        problem = header_problem(args.title)
        if problem:
            raise SupplyChainError(f"PR title {args.title.strip()!r} is not a Conventional Commit: {problem}")
        print(f"ok: PR title {args.title.strip()!r}")
    if args.commits:
        since, _, until = args.commits.partition("..")
        for commit in git_commits(args.repo, since or None, until or "HEAD"):
            header = commit.message.strip().partition("\n")[0]
            problem = None if skipped(header) else header_problem(header)
            if problem:
                failures += 1
                kind = "warning" if args.commits_warn_only else "error"
                gha.annotate(kind, f"commit {commit.sha[:7]} {header!r}: {problem}")
                print(f"{kind}: commit {commit.sha[:7]} {header!r}: {problem}")
    if failures and not args.commits_warn_only:
        raise SupplyChainError(f"{failures} commit(s) are not Conventional Commits (reword, or squash-merge)")
    return 0


def run_release_next(args: argparse.Namespace) -> int:
    from cicd import gha
    from cicd.supply.changelog import next_release

    previous, version, _ = next_release(args.repo, args.to)
    gha.set_output("previous", previous or "")
    gha.set_output("release", "true" if version else "false")
    gha.set_output("version", version or "")
    gha.set_output("tag", f"v{version}" if version else "")
    since = previous or "the first commit"
    print(f"v{version} (from {since})" if version else f"no release: nothing releasable since {since}")
    return 0


def run_release_changelog(args: argparse.Namespace) -> int:
    from cicd.supply.changelog import render

    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    url = f"{server}/{repo}" if server and repo else None
    text = render(args.repo, until=args.to, unreleased=args.unreleased, repo_url=url)
    if args.output:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as err:
            raise SupplyChainError(f"cannot write {args.output}: {err.strerror or err}") from err
    else:
        print(text, end="")
    return 0
