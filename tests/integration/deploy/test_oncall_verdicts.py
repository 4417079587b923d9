"""Inconclusive verifications on real nginx: too little traffic even after the active-probe top-up
(min_samples far above what the probes reach in time). On production the deploy pauses (exit 5, new
version live, the two commands printed) until `cicd accept`; with `on_inconclusive: keep` the version
stays live unverified; neither is ever a rollback target until accepted."""

from __future__ import annotations

import json

import pytest
from deploy_harness import last_line, live_version

pytestmark = pytest.mark.integration

# The top-up probes for at least 5 s: roughly 100 requests on a quiet machine, never 400.
QUIET = {"window_seconds": 0.3, "interval_seconds": 0.1, "min_samples": 400}


def test_inconclusive_pauses_on_production_until_accepted_and_keep_stays_unverified(project):
    env = project.add_env("production", verification=QUIET)
    env["type"] = "production"
    project.write_env(env)

    paused = project.deploy("production", "1.0.0")
    assert paused.returncode == 5, paused.stdout + paused.stderr
    assert "cicd accept --env production --version 1.0.0 --reason TEXT" in paused.stdout
    error = last_line(paused)
    assert "verification Inconclusive" in error and "1.0.0 is live unverified" in error
    assert live_version(project, "production") == "1.0.0"

    state = project.status("production")
    assert state["verification"]["phase"] == "Inconclusive" and state["known_good"] is False
    assert state["deployed_how"] == "deploy, paused" and state["rollback_target"] is None
    history = json.loads(project.cicd("history", "--env", "production", "--json").stdout)
    assert (history[0]["status"], history[0]["verification"]["phase"]) == ("paused", "Inconclusive")
    assert "Inconclusive" in project.cicd("history", "--env", "production").stdout

    not_live = project.cicd("accept", "--env", "production", "--version", "0.9.0", "--reason", "x")
    assert not_live.returncode == 1 and "0.9.0 is not live" in last_line(not_live)
    accepted = project.cicd(
        "accept", "--env", "production", "--version", "1.0.0", "--reason", "prices checked by hand; ok"
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert project.status("production")["known_good"] is True
    ledger = project.cicd("audit", "show", "--env", "production", "--json").stdout
    entry = next(json.loads(line) for line in ledger.splitlines() if '"release.accept"' in line)
    assert entry["reason"] == "prices checked by hand; ok" and entry["version"] == "1.0.0"

    env["deploy"]["verification"] = {**QUIET, "on_inconclusive": "keep"}
    project.write_env(env)
    kept = project.deploy("production", "1.1.0")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "1.1.0 stays live unverified" in kept.stdout and "1.1.0 not marked known good" in kept.stdout
    state = project.status("production")
    assert state["current_version"] == "1.1.0" and state["known_good"] is False
    assert state["rollback_target"]["version"] == "1.0.0" and state["rollback_target"]["how"] == "warm"
