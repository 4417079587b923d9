"""Hands-off production on real routers: `cicd promotion start` stops at the first canary weight, and
each `cicd promotion advance` (what the scheduled workflow runs, a fresh process every time) does what
is due: the next weight once the step was healthy for its delay, the monitor window at 100 %, then
promoted; or, on a breach, every request back on the stable color and the version rolled back."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from deploy_harness import live_version, wait_for_line

from load import Load

pytestmark = pytest.mark.integration

PROMOTION = {"steps": [20, 50], "step_delay_seconds": 6, "monitor_seconds": 2}
# Fails every other quote once warmed up: the smoke test's single quote request passes.
HALF_BROKEN = (
    "type(self).served = getattr(type(self), 'served', 0) + 1\n"
    "if self.served > 3 and self.served % 2 == 0:\n"
    "    self._send_json(500, {'error': 'pricing cache corrupted'})\n"
    "    return"
)


def promotion(project, action: str, *args: str):
    # GITHUB_OUTPUT alone (no GITHUB_ACTIONS): the step outputs a workflow would read, written to a file
    outputs = {"GITHUB_OUTPUT": str(project.root / "github-output")}
    return project.cicd("promotion", action, "--env", "production", *args, extra_env=outputs)


def state_of(project) -> dict:
    result = promotion(project, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def ledger_actions(project) -> list[str]:
    result = project.cicd("audit", "show", "--env", "production", "--json", "--limit", "200")
    assert result.returncode == 0, result.stderr
    return [json.loads(line)["action"] for line in result.stdout.splitlines() if line.strip()]


def current_version(project) -> str | None:
    """What the environment's state says is live (`cicd status` exits 3 while a canary splits traffic)."""
    result = project.cicd("status", "--env", "production", "--json")
    assert result.returncode in (0, 3), result.stdout + result.stderr
    return json.loads(result.stdout)["current_version"]


def traffic_marker(project) -> str:
    conf = next(iter([*project.root.glob(".cicd/haproxy/production/*.cfg"),
                      *project.root.glob(".cicd/nginx/production/nginx.conf")]))  # fmt: skip
    return next(line for line in conf.read_text().splitlines() if line.startswith("# cicd-traffic:"))


def advance_until(project, status: str, timeout: float = 60.0) -> list[dict]:
    """Run advance as a scheduler would (a fresh process each time) until the promotion is `status`;
    the state after each run, with what the run printed under "said"."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = promotion(project, "advance")
        assert result.returncode in (0, 1), result.stdout + result.stderr
        seen.append({**state_of(project), "said": result.stdout})
        if seen[-1]["status"] == status:
            return seen
        time.sleep(0.3)
    raise AssertionError(f"never reached {status}: {[state['status'] for state in seen]}")


def test_hands_off_promotion_steps_monitors_and_promotes_on_haproxy(project):
    if shutil.which("haproxy") is None and shutil.which("/usr/sbin/haproxy") is None:
        pytest.skip("haproxy is not installed (scripts/install-system-deps.sh installs it)")
    project.add_env("production", router={"kind": "haproxy"}, promotion=PROMOTION)
    first = promotion(project, "start", "--version", "1.0.0")  # nothing live: a plain deploy
    assert first.returncode == 0, first.stdout + first.stderr
    assert live_version(project, "production") == "1.0.0" and state_of(project) is None

    load = Load(project.url("production", "/api/quote?sku=widget&quantity=2"), workers=2, seconds=60).start()
    try:
        started = promotion(project, "start", "--version", "1.1.0")
        assert started.returncode == 0, started.stdout + started.stderr
        waiting = promotion(project, "advance")  # at once: the step's delay has not passed, nothing moves
        assert waiting.returncode == 0 and "· wait" in waiting.stdout, waiting.stdout
        state = state_of(project)
        assert (state["status"], state["weights"]) == ("canary", [20, 50, 100])
        assert state["stable_version"] == "1.0.0" and state["revision"] == 1  # the wait wrote nothing
        assert "blue=80 green=20" in traffic_marker(project)
        assert current_version(project) == "1.0.0"  # the stable version is live until 100 %

        again = promotion(project, "start", "--version", "1.1.0")  # a re-run of the deploy job
        assert again.returncode == 0 and "already being promoted" in again.stdout, again.stdout

        # The step is due: an advance killed after writing "50 %" and before moving traffic.
        time.sleep(max(0.0, state["entered_at"] + PROMOTION["step_delay_seconds"] - time.time()) + 0.2)
        killed = project.popen("promotion", "advance", "--env", "production",
                               extra_env={"CICD_TEST_PAUSE_AT": "promotion-step"})  # fmt: skip
        wait_for_line(killed, "paused before promotion-step")
        killed.kill()
        killed.wait()
        stepping = state_of(project)
        assert (stepping["status"], stepping["step"]) == ("stepping", 1)
        assert "blue=80 green=20" in traffic_marker(project)

        seen = advance_until(project, "monitoring")  # fresh runs: the lock expires, the split is restored
        assert any("set to 50 % on green as recorded" in each["said"] for each in seen), seen
        restored = next(each for each in seen if "set to 50 %" in each["said"])
        assert restored["entered_at"] > stepping["entered_at"]  # 50 % is judged from when it really began
        # each step lasted its delay at least, judged on the traffic since it began
        assert stepping["entered_at"] - state["entered_at"] >= PROMOTION["step_delay_seconds"]
        assert seen[-1]["entered_at"] - restored["entered_at"] >= PROMOTION["step_delay_seconds"]
        assert "blue=0 green=100" in traffic_marker(project)
        assert current_version(project) == "1.1.0"  # the state follows the switch to 100 %
        promoted = advance_until(project, "promoted")[-1]
        assert promoted["entered_at"] - seen[-1]["entered_at"] >= PROMOTION["monitor_seconds"]
    finally:
        summary = load.stop().summary()
    assert live_version(project, "production") == "1.1.0"
    status = json.loads(project.cicd("status", "--env", "production", "--json").stdout)
    assert status["verification"]["phase"] == "Successful", status  # the promotion's verdict, shown
    assert {"1.0.0", "1.1.0"} <= set(summary["versions"])  # both served while the canary stepped
    assert summary["failed"] == 0, summary  # HAProxy moves weights without dropping a request
    actions = ledger_actions(project)
    for action in ("promotion.start", "promotion.step", "promotion.monitor", "promotion.promote"):
        assert action in actions, actions
    again = promotion(project, "advance")  # a finished promotion: nothing to do, at once
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_breach_during_a_step_rolls_back_to_stable_on_nginx(project):
    project.add_env("production", promotion={**PROMOTION, "step_delay_seconds": 30},
                    verification={"min_samples": 5, "breach_intervals": 1})  # fmt: skip
    first = promotion(project, "start", "--version", "1.0.0")
    assert first.returncode == 0, first.stdout + first.stderr
    broken = project.artifact("broken", patch=HALF_BROKEN)
    load = Load(project.url("production", "/api/quote?sku=widget&quantity=2"), workers=2, seconds=60).start()
    try:
        started = promotion(project, "start", "--version", "3.0.0", "--artifact", str(broken))
        assert started.returncode == 0, started.stdout + started.stderr
        assert state_of(project)["status"] == "canary"
        # On call looks at status first: the promotion, and how to stop it.
        status = project.cicd("status", "--env", "production")
        assert "promotion: 3.0.0 canary (20 % on green, stable 1.0.0 on blue)" in status.stdout, status.stdout
        assert ("to stop it: cicd rollback --env production --reason TEXT (every request back on 1.0.0, "
                "which stays live)") in status.stdout
        time.sleep(2)  # the canary serves (and fails) a share of real requests
        seen = advance_until(project, "rolled-back")  # well before the 30 s step delay
    finally:
        load.stop()
    assert len(seen) <= 3, "the breach is acted on at the first advance that sees it"
    state = state_of(project)
    assert "error rate" in state["reason"], state["reason"]
    assert "blue=100 green=0" in traffic_marker(project)
    assert live_version(project, "production") == "1.0.0"
    assert current_version(project) == "1.0.0"
    after = project.cicd("status", "--env", "production", "--json")
    assert json.loads(after.stdout)["promotion"] is None  # finished: nothing to say
    outputs = (project.root / "github-output").read_text()  # promotion-monitor.yml records it on GitHub
    assert "rolled_back_to<<" in outputs and "\n1.0.0\n" in outputs
    actions = ledger_actions(project)
    assert actions.index("promotion.rollback") < actions.index("promotion.rolled-back")
    aborted = promotion(project, "abort", "--reason", "too late")  # nothing open any more
    assert aborted.returncode == 1 and "rolled-back" in aborted.stderr


def test_on_call_rollback_ends_a_promotion_and_abort_never_undoes_a_deploy(project):
    project.add_env("production", promotion={**PROMOTION, "step_delay_seconds": 60})
    for version in ("1.0.0", "2.0.0"):
        result = promotion(project, "start", "--version", version)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "blue=80 green=20" in traffic_marker(project)

    # 3 a.m.: on call types the command they know. It means "off 2.0.0", not "off 1.0.0 as well".
    rolled = project.cicd("rollback", "--env", "production", "--reason", "checkout errors")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "the promotion of 2.0.0 ended; 1.0.0 stays live" in rolled.stdout, rolled.stdout
    assert "blue=100 green=0" in traffic_marker(project)
    assert live_version(project, "production") == "1.0.0" and current_version(project) == "1.0.0"
    assert state_of(project)["status"] == "rolled-back"
    assert "promotion.rolled-back" in ledger_actions(project)

    # A deploy takes over a later promotion; an abort typed afterwards must not send traffic "back".
    started = promotion(project, "start", "--version", "3.0.0")
    assert started.returncode == 0, started.stdout + started.stderr
    deployed = project.cicd("deploy", "--env", "production", "--version", "4.0.0")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    aborted = promotion(project, "abort", "--reason", "stale page")
    assert aborted.returncode == 1 and "nothing was moved" in aborted.stderr, aborted.stdout + aborted.stderr
    assert live_version(project, "production") == "4.0.0"
    assert state_of(project)["status"] == "superseded"
