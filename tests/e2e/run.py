"""Run one workflow of this checkout under act, the way the e2e tests do, and print its log.

    .venv/bin/python -m tests.e2e.run                      # CI on a pull_request event
    .venv/bin/python -m tests.e2e.run push ci.yml          # CI on a push to main (then cd-staging)

The checkout is copied to a temporary repository first (so nothing here changes), third-party actions
run as the local stand-ins of tests/e2e/actions, and the GitHub API stand-in takes the API calls.
Exit status: act's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.e2e.conftest import (
    REPO,
    TOKEN,
    Act,
    copy_repository,
    free_port,
    pull_request_event,
    push_event,
)


def main(argv: list[str]) -> int:
    event = argv[0] if argv else "pull_request"
    workflow = argv[1] if len(argv) > 1 else "ci.yml"
    base = Path(tempfile.mkdtemp(prefix="act-run-"))
    repo = base / "repo"
    repo.mkdir()
    copy_repository(repo)
    (base / "work").mkdir()
    port = free_port()
    api = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "github_api.py"), "--port", str(port),
         "--state-file", str(base / "github.json"), "--token", TOKEN],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        act = Act(repo, base / "work", f"http://127.0.0.1:{port}", variables={
            "CI_SERVICES": "host", "CI_PROXY_PORT": str(free_port()), "CI_SERVICE_PORT": str(free_port()),
        })
        payload = pull_request_event(repo) if event == "pull_request" else push_event(repo)
        run = act.run(event, workflow, payload, timeout=900)
    finally:
        api.terminate()
    print(run.output)
    print(f"act exited {run.returncode} after {run.seconds:.1f} s; jobs: {run.job_results()}")
    print(f"GitHub API calls recorded in {base / 'github.json'}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
