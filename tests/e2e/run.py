"""Run one workflow of a repository under act, the way the e2e tests do, and print its log.

    .venv/bin/python -m tests.e2e.run                      # this suite's CI on a pull_request event
    .venv/bin/python -m tests.e2e.run push ci.yml          # CI on a push to main (then cd-staging)
    .venv/bin/python -m tests.e2e.run --repo ~/src/shop --suite-ref acme/cicd@<sha> push deploy.yml

The repository (this checkout by default) is copied to a temporary one first (so nothing there
changes), third-party actions run as the local stand-ins of tests/e2e/actions, the suite's reusable
workflows and actions (`--suite-ref`, as the repository's workflows reference them) are mapped to a copy
of this checkout, and the GitHub API stand-in takes the API calls. `cicd workflows act` runs this.
Exit status: act's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.e2e.conftest import (
    REPO,
    TOKEN,
    Act,
    copy_repository,
    free_port,
    pull_request_event,
    push_event,
    wait_for_port,
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tests.e2e.run", description=__doc__.split("\n", 1)[0])
    parser.add_argument("event", nargs="?", default="pull_request", help="pull_request, push, ...")
    parser.add_argument("workflow", nargs="?", default="ci.yml", help="file under .github/workflows")
    parser.add_argument("--repo", type=Path, help="the repository whose workflows run (default: this one)")
    parser.add_argument("--suite-ref", default="", metavar="OWNER/REPO@SHA",
                        help="how the repository's workflows reference the suite (mapped to this checkout)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    base = Path(tempfile.mkdtemp(prefix="act-run-"))
    repo, suite = base / "repo", base / "suite"
    repo.mkdir()
    suite.mkdir()
    copy_repository(suite)
    if args.repo:
        copy_repository(repo, args.repo.resolve())
    else:
        copy_repository(repo)
    (base / "work").mkdir()
    port = free_port()
    api = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "github_api.py"), "--port", str(port),
         "--state-file", str(base / "github.json"), "--token", TOKEN,
         "--workflows-dir", str(repo / ".github" / "workflows")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)  # the first job's set-up calls the stand-in at once
    try:
        act = Act(repo, base / "work", f"http://127.0.0.1:{port}", variables={
            "CI_SERVICES": "host", "CI_PROXY_PORT": str(free_port()), "CI_SERVICE_PORT": str(free_port()),
        })
        act.env["E2E_SUITE_DIR"] = str(suite)
        extra = ["--local-repository", f"{args.suite_ref}={suite}"] if args.suite_ref else []
        payload = pull_request_event(repo) if args.event == "pull_request" else push_event(repo)
        run = act.run(args.event, args.workflow, payload, timeout=900, extra=extra)
    finally:
        api.terminate()
    print(run.output)
    print(f"act exited {run.returncode} after {run.seconds:.1f} s; jobs: {run.job_results()}")
    print(f"GitHub API calls recorded in {base / 'github.json'}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
