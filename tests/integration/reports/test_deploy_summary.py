"""The production deploy's job summary carries the four DORA numbers (what the approver reads)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.integration.deploy.deploy_harness import Project

pytestmark = pytest.mark.integration


def test_production_deploy_summary_has_the_dora_numbers(tmp_path):
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed")
    project = Project(tmp_path)
    env = project.add_env("production")
    project.write_env({**env, "type": "production"})
    summary = tmp_path / "summary.md"
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
               "GITHUB_OUTPUT": str(tmp_path / "out")}
    try:
        result = project.deploy("production", "1.0.0", extra_env=actions)
    finally:
        project.shut_down()
    assert result.returncode == 0, result.stdout + result.stderr
    text = summary.read_text()
    assert "### DORA metrics: production" in text
    for title in ("Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore"):
        assert f"| {title} |" in text
    assert "| Change failure rate | 0.0 % | elite | ✅ meets < 5 % |" in text
