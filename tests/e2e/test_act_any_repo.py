"""`cicd workflows act` runs another repository's workflow under act, with the suite's stand-ins; that
repository references the suite's setup-cicd action by owner/repo@sha, as a real adopter would."""

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import commit, git

pytestmark = [pytest.mark.e2e, pytest.mark.github_real, pytest.mark.timeout(300)]

SHA = "89abcdef0123456789abcdef0123456789abcdef"
WORKFLOW = f"""name: Hello
on: pull_request
permissions: {{}}
jobs:
  hello:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions:
      contents: read
    steps:
      - uses: acme/cicd/.github/actions/setup-cicd@{SHA} # v1.0.0
        with:
          setup-python: "false"
      - run: echo "cicd from the pinned suite $(cicd --version)"
"""


def test_workflows_act_runs_another_repository_with_the_suite_referenced_by_sha(tmp_path):
    app = tmp_path / "app"
    (app / ".github" / "workflows").mkdir(parents=True)
    (app / ".github" / "workflows" / "hello.yml").write_text(WORKFLOW)
    git(app, "init", "-q", "-b", "main")
    commit(app, "ci: hello")
    cicd = Path(sys.executable).parent / "cicd"
    done = subprocess.run(
        [str(cicd), "workflows", "act", "pull_request", "hello.yml", "--repo", str(app),
         "--suite-ref", f"acme/cicd@{SHA}"],
        capture_output=True, text=True, timeout=280,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert "cicd from the pinned suite cicd 0.1.0" in done.stdout
    assert "the installed cicd is the suite at" in done.stdout  # setup-cicd checked, then reused it
