"""After the switch: verification catches a version that health and smoke tests pass, and switches
back automatically; a canary that breaches is aborted with all traffic back on stable."""

from __future__ import annotations

import json
import time

import pytest
from deploy_harness import last_line, live_version

from load import Load

pytestmark = pytest.mark.integration

# Fails every other quote once warmed up: the smoke test's single quote request passes.
HALF_BROKEN = (
    "type(self).served = getattr(type(self), 'served', 0) + 1\n"
    "if self.served > 3 and self.served % 2 == 0:\n"
    "    self._send_json(500, {'error': 'pricing cache corrupted'})\n"
    "    return"
)


def test_verification_breach_switches_back_to_the_warm_color(project):
    project.add_env("staging", verification={"window_seconds": 6, "interval_seconds": 0.25})
    project.must_deploy("staging", "1.0.0")
    broken = project.artifact("broken", patch=HALF_BROKEN)
    load = Load(project.url("staging", "/api/quote?sku=widget&quantity=2"), workers=2, seconds=30).start()
    try:
        started = time.monotonic()
        result = project.deploy("staging", "3.0.0", "--artifact", str(broken))
        elapsed = time.monotonic() - started
    finally:
        load.stop()
    assert result.returncode == 1, result.stdout
    line = last_line(result)
    assert "verification failed" in line and "error rate" in line and "rolled back to 1.0.0" in line
    assert elapsed < 6, "the breach is caught well before the end of the window"
    assert live_version(project, "staging") == "1.0.0"
    state = project.status("staging")
    assert state["current_version"] == "1.0.0" and state["warm_color"] is None

    history = project.cicd("history", "--env", "staging", "--json")
    if history.returncode == 0:  # the history verb belongs to the state part
        rows = json.loads(history.stdout)
        rows = rows.get("deployments", rows) if isinstance(rows, dict) else rows
        assert rows[0]["version"] == "3.0.0" and rows[0]["status"] == "rolled_back"


def test_canary_abort_returns_all_traffic_to_stable(project):
    project.add_env(
        "staging",
        strategy="canary",
        canary_steps=[{"weight": 50}, {"weight": 100}],
        verification={"window_seconds": 4, "interval_seconds": 0.25},
    )
    project.must_deploy("staging", "1.0.0")
    broken = project.artifact("broken", patch=HALF_BROKEN)
    load = Load(project.url("staging", "/api/quote?sku=widget&quantity=2"), workers=2, seconds=30).start()
    try:
        result = project.deploy("staging", "3.0.0", "--artifact", str(broken))
    finally:
        summary = load.stop().summary()
    assert result.returncode == 1, result.stdout
    assert "blue 50% / green 50%" in result.stdout  # the canary step happened
    assert "rolled back to 1.0.0" in last_line(result)
    assert "3.0.0" in summary["versions"]  # the canary really took traffic
    conf = next(project.root.glob(".cicd/nginx/staging/nginx.conf")).read_text()
    assert "# cicd-traffic: blue=100 green=0" in conf
    assert live_version(project, "staging") == "1.0.0"


def test_canary_success_moves_traffic_step_by_step(project):
    project.add_env(
        "staging",
        strategy="canary",
        canary_steps=[{"weight": 25, "pause_seconds": 0.5}],
        verification={"window_seconds": 0.5},
    )
    project.must_deploy("staging", "1.0.0")
    result = project.deploy("staging", "1.1.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "blue 75% / green 25%" in result.stdout and "all traffic to green" in result.stdout
    assert live_version(project, "staging") == "1.1.0"
