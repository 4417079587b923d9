"""`cicd workflows pin|shard|report|deploy-step|staged|on-main|same-suite`, `cicd init` and
`cicd release notes`: the verbs the GitHub Actions workflow suite (.github/) runs or is maintained with."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from cicd import gha


def register(subparsers: argparse._SubParsersAction) -> None:
    workflows = subparsers.add_parser("workflows", help="maintain and run the GitHub Actions workflow suite")
    verbs = workflows.add_subparsers(dest="workflows_verb", metavar="VERB", required=True)

    pin = verbs.add_parser("pin", help="pin every action to the SHA in the lock file (offline)")
    pin.add_argument("--check", action="store_true", help="change nothing; exit 1 listing unpinned uses")
    pin.add_argument("--lock", type=Path, default=Path(".github/actions-lock.yml"))
    pin.add_argument("--root", type=Path, default=Path(".github"), help="folder with workflows/ and actions")
    pin.add_argument("files", nargs="*", type=Path, help="only these files (default: all under --root)")
    pin.set_defaults(handler=handle_pin)

    shard = verbs.add_parser("shard", help="print the test files of one CI shard")
    shard.add_argument("--index", type=int, required=True, help="1-based shard number")
    shard.add_argument("--total", type=int, required=True)
    shard.add_argument("paths", nargs="+", type=Path)
    shard.set_defaults(handler=handle_shard)

    report = verbs.add_parser("report", help="CI report: job outcomes, tests, coverage vs codecov.yml")
    report.add_argument("--results-dir", type=Path, required=True)
    report.add_argument("--codecov", type=Path, default=Path("codecov.yml"))
    report.add_argument("--needs-json", default="", help="toJSON(needs) of the reporting job")
    report.add_argument("--body-file", type=Path, help="also write the Markdown here (PR comment)")
    report.set_defaults(handler=handle_report)

    step = verbs.add_parser("deploy-step", help="one step of the reusable deploy workflow (env inputs)")
    step.add_argument("step", choices=("gate", "released", "before", "open", "run", "after"))
    step.add_argument("--ref", default="")
    step.set_defaults(handler=handle_deploy_step)

    staged = verbs.add_parser(
        "staged", help="version, artifact, digest and commit staging verified, from GitHub's deployments"
    )
    staged.add_argument("--env", default="staging")
    staged.add_argument("--version", default="", help="default: the version live in staging")
    staged.add_argument("--config-dir", default="config", help="for the cross-check with the target")
    staged.add_argument("--main-ref", default="origin/main", help="the commit must be reachable from it")
    staged.add_argument("--repo", help="owner/name (default: GITHUB_REPOSITORY)")
    staged.set_defaults(handler=handle_staged)

    on_main = verbs.add_parser("on-main", help="fail unless a commit is reachable from main")
    on_main.add_argument("--ref", required=True, help="commit to check (full SHA)")
    on_main.add_argument("--main-ref", default="origin/main")
    on_main.set_defaults(handler=handle_on_main)

    same = verbs.add_parser("same-suite", help="exit 0 only if this cicd is exactly the suite checkout given")
    same.add_argument("suite_root", type=Path, help="the suite's checkout (holds scripts/cicd)")
    same.set_defaults(handler=handle_same_suite)

    act = verbs.add_parser("act", help="run a repository's workflow under act with the suite's stand-ins")
    act.add_argument("event", nargs="?", default="pull_request", help="pull_request, push, workflow_dispatch")
    act.add_argument("workflow", nargs="?", default="ci.yml", help="file under .github/workflows")
    act.add_argument("--repo", type=Path, default=Path("."), help="the repository (default .)")
    act.add_argument("--suite-ref", default="", metavar="OWNER/REPO@SHA",
                     help="how its workflows reference the suite (mapped to the suite checkout)")
    act.add_argument("--suite-dir", type=Path, help="a suite checkout (default: the one cicd runs from)")
    act.set_defaults(handler=handle_act)

    init = subparsers.add_parser(
        "init", help="adopt the suite: config/, environment files, caller workflows pinned by SHA"
    )
    init.add_argument("--suite", required=True, metavar="OWNER/REPO@SHA",
                      help="the cicd suite's repository and the 40-hex commit the workflows pin")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.add_argument("root", nargs="?", type=Path, default=Path("."), help="the repository (default .)")
    init.set_defaults(handler=handle_init)

    release = subparsers.add_parser("release", help="release helpers")
    release_verbs = release.add_subparsers(dest="release_verb", metavar="VERB", required=True)
    notes = release_verbs.add_parser("notes", help="release notes from Conventional Commits")
    notes.add_argument("--to", default="HEAD", help="tag or commit being released")
    notes.add_argument("--from", dest="since", help="previous tag (default: the newest v* tag before --to)")
    notes.add_argument("--repo", default=".", help="git repository")
    notes.add_argument("--output", type=Path, help="write the notes here (default stdout)")
    notes.add_argument("--summary", action="store_true", help="also append them to the job summary")
    notes.set_defaults(handler=handle_release_notes)
    # check, next and changelog follow the same Conventional Commits rules (docs/SECURITY.md).
    importlib.import_module("cicd.cli.release").register_release(release_verbs)


def handle_pin(args: argparse.Namespace) -> int:
    from cicd.workflows import pins

    lock = pins.load_lock(args.lock)
    files = list(args.files) or pins.workflow_files(args.root)
    report, problems = pins.pin_files(files, lock, check=args.check)
    for line in report:
        print(line)
    for line in problems:
        print(line, file=sys.stderr)
        file, _, rest = line.partition(":")
        line_no = int(rest.split(":", 1)[0]) if rest[:1].isdigit() else None
        gha.annotate("error", rest, file=file, line=line_no)
    if problems:
        print(f"{len(problems)} action reference(s) not pinned to the lock file; run `cicd workflows pin`",
              file=sys.stderr)
        return 1
    if args.check:
        print(f"all actions pinned ({len(files)} files)")
    return 0


def handle_shard(args: argparse.Namespace) -> int:
    from cicd.workflows.shard import shard

    for path in shard(args.paths, args.index, args.total):
        print(path)
    return 0


def handle_report(args: argparse.Namespace) -> int:
    from cicd.workflows import report as ci_report

    junit_files = sorted(args.results_dir.glob("**/*.xml")) if args.results_dir.exists() else []
    tests = ci_report.read_junit(junit_files)
    cov = ci_report.coverage_percent(args.results_dir) if args.results_dir.exists() else None
    target = ci_report.coverage_target(args.codecov)
    jobs = ci_report.job_outcomes(args.needs_json)
    markdown = ci_report.render(jobs, tests, cov, target)
    print(markdown)
    gha.append_summary(markdown)
    if args.body_file:
        args.body_file.parent.mkdir(parents=True, exist_ok=True)
        args.body_file.write_text(markdown, encoding="utf-8")
    for fail in tests.failed[:10]:  # Actions shows at most 10 error annotations per step
        message = f"{fail.test}: {fail.message}"
        gha.annotate("error", message, file=fail.file, line=fail.line, title="test failed")
    if cov is not None and target is not None and cov < target:
        gha.annotate("error", f"coverage {cov:.1f}% is below the target {target:g}% of {args.codecov}")
    if cov is None and target is not None:
        gha.annotate("error", f"coverage target {target:g}% of {args.codecov}, but "
                     f"{ci_report.NO_COVERAGE_FIX}")
    return 0 if ci_report.is_green(jobs, tests, cov, target) else 1


def handle_deploy_step(args: argparse.Namespace) -> int:
    from cicd.workflows.deploy_step import run_step

    return run_step(args.step, dict(os.environ), ref=args.ref)


def handle_staged(args: argparse.Namespace) -> int:
    from cicd.errors import CicdError
    from cicd.github.client import GitHubClient
    from cicd.workflows import staged as promote

    with GitHubClient.from_env(repository=args.repo) as client:
        found = promote.lookup(client, args.env, args.version)
    if not found.ref:
        raise CicdError(f"GitHub's deployment of {found.version} names no commit")
    ref = promote.require_on_main(found.ref, args.main_ref)
    history = promote.target_history(args.env, args.config_dir)
    if history is None:
        print(f"note: {args.env}'s own history is not readable here; GitHub's record decides alone")
    else:
        promote.cross_check(found, history)
    for name, value in (("version", found.version), ("artifact", found.artifact),
                        ("digest", found.digest), ("ref", ref)):
        gha.set_output(name, value)
        print(f"{name}={value}")
    return 0


def handle_on_main(args: argparse.Namespace) -> int:
    from cicd.workflows.staged import require_on_main

    full = require_on_main(args.ref, args.main_ref)
    print(f"{full} is on {args.main_ref}")
    return 0


def handle_same_suite(args: argparse.Namespace) -> int:
    from cicd.workflows.suite import first_difference, installed_package

    difference = first_difference(args.suite_root / "scripts" / "cicd", installed_package())
    if difference:
        print(f"the installed cicd ({installed_package()}) is not the suite at {args.suite_root}: "
              f"{difference}")
        return 1
    print(f"the installed cicd is the suite at {args.suite_root}")
    return 0


def handle_act(args: argparse.Namespace) -> int:
    import subprocess

    from cicd.errors import CicdError
    from cicd.workflows.suite import installed_package

    suite = (args.suite_dir or installed_package().parents[1]).resolve()
    if not (suite / "tests" / "e2e" / "run.py").is_file():
        raise CicdError(
            f"{suite} is no checkout of the suite: the act stand-ins live in its tests/e2e",
            hint="git clone the suite, `make install` there, then pass --suite-dir to it",
        )
    argv = [sys.executable, "-m", "tests.e2e.run", args.event, args.workflow]
    argv += ["--repo", str(args.repo.resolve())]
    argv += ["--suite-ref", args.suite_ref] if args.suite_ref else []
    return subprocess.run(argv, cwd=suite, check=False).returncode


def handle_init(args: argparse.Namespace) -> int:
    from cicd.workflows.init import plan, write

    for line in write(args.root, plan(args.root, args.suite), force=args.force):
        print(line)
    print("next: set the start command and ports in config/environments/*.yml, `cicd validate`, then "
          "`cicd deploy --env staging --version dev` (docs/ADOPTING.md)")
    return 0


def handle_release_notes(args: argparse.Namespace) -> int:
    from cicd.workflows import release_notes as rn

    since = args.since or rn.previous_tag(args.repo, args.to)
    entries = [e for e in (rn.parse(c) for c in rn.git_commits(args.repo, since, args.to)) if e]
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    title = args.to if args.to != "HEAD" else (rn.next_version(since or "v0.0.0", entries) or "Unreleased")
    text = rn.render(title, entries, repo_url=f"{server}/{repo}" if server and repo else None)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        print(text)
    if args.summary:
        gha.append_summary(text)
    return 0
