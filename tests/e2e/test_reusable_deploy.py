"""The reusable deploy workflow called the way another repository calls it: by owner/repo/path@sha,
with typed inputs, its secret mapped explicitly (never `secrets: inherit` across repositories), reading
its outputs. act maps the suite's repository to a local copy of this one, exactly as it maps the
third-party actions."""

import shutil

import pytest

from .conftest import REPO, commit, copy_repository, git, live_version, stop_environment, write_environment

pytestmark = [pytest.mark.e2e, pytest.mark.github_real, pytest.mark.timeout(300)]

SUITE_SHA = "0123456789abcdef0123456789abcdef01234567"
CALLER = f"""name: Deploy the shop
on:
  workflow_dispatch:
    inputs:
      version: {{type: string, required: true}}
permissions: {{}}
jobs:
  deploy:
    permissions:
      contents: read
      actions: read
      attestations: read
      deployments: write
      packages: read
    uses: acme/cicd-suite/.github/workflows/deploy.yml@{SUITE_SHA} # v1.0.0
    with:
      environment: demo
      version: ${{{{ inputs.version }}}}
      reason: first deploy of the shop
    secrets:
      DEPLOY_SSH_KEY: ${{{{ secrets.SHOP_DEPLOY_KEY }}}}
  announce:
    needs: [deploy]
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions: {{}}
    steps:
      - env:
          VERSION: ${{{{ needs.deploy.outputs.version }}}}
          URL: ${{{{ needs.deploy.outputs.url }}}}
        run: echo "shop ${{VERSION}} is live at ${{URL}}"
"""


@pytest.fixture
def shop(tmp_path):
    """Another repository: its own service (a copy of the sample) and one environment, no suite files."""
    repo = tmp_path / "shop"
    shutil.copytree(REPO / "examples" / "service", repo / "examples" / "service",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "config" / "environments").mkdir(parents=True)
    (repo / "config" / "pipeline.yml").write_text(
        "name: shop\nstages:\n  - name: test\n    jobs:\n      - {name: unit, command: 'true'}\n")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "deploy-shop.yml").write_text(CALLER)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://github.com/acme/shop.git")
    url = write_environment(repo, tmp_path / "demo-state", name="demo")
    commit(repo, "feat: the shop")
    yield repo, url
    stop_environment(repo, "demo")


def test_another_repository_calls_the_deploy_workflow(act, github_api, shop, tmp_path):
    repo, url = shop
    suite = tmp_path / "suite"
    suite.mkdir()
    copy_repository(suite)
    act.repo = repo
    act.env["E2E_SUITE_DIR"] = str(suite)
    run = act.run("workflow_dispatch", "deploy-shop.yml",
                  {"inputs": {"version": "2.0.0"}, "ref": "refs/heads/main",
                   "repository": {"full_name": "acme/shop"}},
                  extra=["--local-repository", f"acme/cicd-suite@{SUITE_SHA}={suite}",
                         "-s", "SHOP_DEPLOY_KEY=not-a-real-key"])
    assert run.returncode == 0, run.output[-8000:]
    assert live_version(url) == "2.0.0"
    assert f"shop 2.0.0 is live at {url}" in run.output
    assert "the DEPLOY_SSH_KEY secret arrived" in run.output and "not-a-real-key" not in run.output
    state = github_api.state()
    assert state["violations"] == []
    assert [(d["environment"], d["payload"]["version"]) for d in state["deployments"]] == [("demo", "2.0.0")]
    # The run publishes the delivery dashboard of the environment it changed, drawn from its history.
    dashboard = (act.artifacts / "dashboard-demo-deploy" / "dashboard-demo.html").read_text()
    assert "<svg" in dashboard and "2.0.0" in dashboard and "<script" not in dashboard
