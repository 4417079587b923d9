"""The setup-cicd composite action installs cicd from the suite's own folder (what GitHub runners do),
here on a runner without cicd: pip installs the package into the user site, and `cicd` works."""

import os
import sys

import pytest

from .conftest import commit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WORKFLOW = """name: Setup check
on: workflow_dispatch
permissions: {}
jobs:
  check:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - id: setup
        uses: ./.github/actions/setup-cicd
        with:
          setup-python: "false"
      - env:
          VERSION: ${{ steps.setup.outputs.version }}
        run: |
          echo "installed: ${VERSION} at $(command -v cicd)"
          cicd workflows pin --check
"""


def test_setup_cicd_installs_the_package_when_it_is_missing(act, tmp_path):
    (act.repo / ".github" / "workflows" / "setup-check.yml").write_text(WORKFLOW)
    commit(act.repo, "ci: setup check")
    userbase = tmp_path / "userbase"
    act.env["PYTHONUSERBASE"] = str(userbase)
    # A PATH without this checkout's .venv: the action must install cicd itself.
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(sys.prefix))
    run = act.run("workflow_dispatch", "setup-check.yml", {"ref": "refs/heads/main"},
                  path=f"{userbase / 'bin'}{os.pathsep}{path}")
    assert run.returncode == 0, run.output[-6000:]
    assert f"installed: cicd 0.1.0 at {userbase / 'bin' / 'cicd'}" in run.output
    assert "all actions pinned" in run.output
