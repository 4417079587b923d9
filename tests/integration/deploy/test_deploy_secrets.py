"""Secrets in deploy and rollback: a hook or service that prints a secret never puts it on the terminal,
in an annotation, the history, the ledger or the database file; a started service sees only what it
was handed (its env, its secrets by name, PATH, HOME, LANG), never the deployer's GITHUB_TOKEN."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from deploy_harness import live_version

pytestmark = pytest.mark.integration

DEPLOY_KEY = "dk_planted_7f3a9c"
APP_TOKEN = "app_planted_51be20"
GITHUB_TOKEN = "ghp_planted_0d4e8b"
RUNNER_ID = "runner_planted_93ac"


def _hook(project, name: str, body: str) -> str:
    path = project.root / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return f"./{name}"


def _stored(project, name: str) -> str:
    """Everything cicd keeps about the environment: history and ledger as shown, and the raw files."""
    shown = project.cicd("history", "--env", name, "--json").stdout
    shown += project.cicd("audit", "show", "--env", name, "--json").stdout
    raw = b"".join(p.read_bytes() for p in (project.root / ".cicd" / "state").glob(f"{name}.db*"))
    return shown + raw.decode("latin-1")


def test_a_failing_hook_that_prints_its_secret_leaks_it_nowhere(project):
    failing = _hook(project, "hook.sh", 'echo "key $DEPLOY_KEY" >&2; exit 1')
    env = project.add_env("staging", hooks={"pre_deploy": [[failing]], "secrets": ["DEPLOY_KEY"]})
    env["secrets"] = ["DEPLOY_KEY"]
    project.write_env(env)
    github = {"DEPLOY_KEY": DEPLOY_KEY, "GITHUB_ACTIONS": "true"}
    result = project.deploy("staging", "1.0.0", extra_env=github)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "key ***" in output, output  # the hook did see its declared secret, and it was redacted
    assert f"::add-mask::{DEPLOY_KEY}" in result.stdout
    assert DEPLOY_KEY not in output.replace(f"::add-mask::{DEPLOY_KEY}", "")
    assert "::error" in output
    assert DEPLOY_KEY not in _stored(project, "staging")


def test_a_service_starts_with_an_explicit_environment_only(project):
    printer = _hook(project, "env-hook.sh", 'env > "$CICD_ENVIRONMENT.hook-env"')
    env = project.add_env(
        "staging",
        runtime={"env": {"FEATURE": "on"}, "secrets": ["APP_TOKEN"]},
        hooks={"pre_deploy": [[printer]], "env": {"HOOK_ONLY": "1"}},
    )
    env["secrets"] = ["APP_TOKEN"]
    project.write_env(env)
    deployer = {"APP_TOKEN": APP_TOKEN, "GITHUB_TOKEN": GITHUB_TOKEN, "RUNNER_TRACKING_ID": RUNNER_ID}
    result = project.deploy("staging", "1.0.0", extra_env=deployer)
    assert result.returncode == 0, result.stdout + result.stderr
    assert live_version(project, "staging") == "1.0.0"

    pid = int(next((project.root / ".cicd" / "run" / "staging").glob("*.pid")).read_text())
    raw = Path(f"/proc/{pid}/environ").read_text()
    environ = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
    assert environ["APP_TOKEN"] == APP_TOKEN and environ["FEATURE"] == "on"
    assert environ["PATH"] == "/usr/local/bin:/usr/bin:/bin" and environ["LANG"] == "C.UTF-8"
    assert environ["HOME"] == os.environ.get("HOME", "/")
    allowed = {"APP_TOKEN", "FEATURE", "PATH", "HOME", "LANG", "PWD", "PORT", "SERVICE_VERSION"}
    allowed |= {"CICD_ENVIRONMENT", "CICD_COLOR"}
    assert set(environ) <= allowed, set(environ) - allowed

    hook_env = (project.root / "staging.hook-env").read_text()
    assert "HOOK_ONLY=1" in hook_env and "CICD_VERSION=1.0.0" in hook_env
    for planted in (APP_TOKEN, GITHUB_TOKEN, RUNNER_ID):
        assert planted not in hook_env
    assert APP_TOKEN not in result.stdout + result.stderr + _stored(project, "staging")
    status = json.loads(project.cicd("status", "--env", "staging", "--json").stdout)
    assert status["current_version"] == "1.0.0"


def test_a_promised_secret_that_is_not_set_stops_the_deploy_naming_it(project):
    env = project.add_env("staging", runtime={"secrets": ["APP_TOKEN"]})
    project.write_env(env)
    result = project.deploy("staging", "1.0.0")
    assert result.returncode == 1
    assert "APP_TOKEN" in result.stderr and "not set" in result.stderr
    assert live_version(project, "staging") is None
