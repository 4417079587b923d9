"""Locks and crashes: a second deploy to a locked environment fails at once naming the holder while
another environment deploys in parallel; SIGKILL of `cicd deploy` at any phase, under live traffic,
leaves exactly one healthy version live without a failed request, and the same deploy again converges."""

from __future__ import annotations

import time

import pytest
from deploy_harness import get, last_line, live_version, wait_for_line

from load import Load

pytestmark = pytest.mark.integration



def test_concurrent_deploys_to_one_environment_and_parallel_environments(project):
    project.add_env("staging", hooks={"pre_deploy": [["sleep", "2"]]})
    project.add_env("production")
    holder = project.popen("deploy", "--env", "staging", "--version", "1.0.0", "--reason", "first")
    wait_for_line(holder, "deploy 1.0.0 to staging")  # the lock is held from here on

    started = time.monotonic()
    second = project.deploy("staging", "1.0.1")
    assert time.monotonic() - started < 5, "the second deploy fails at once, it does not wait"
    assert second.returncode == 1
    line = last_line(second)
    assert "staging" in line and ("locked" in line or "lock" in line)
    assert "deploy 1.0.0" in line or "first" in line  # names the holder's run

    other = project.deploy("production", "2.0.0")  # independent environment: proceeds in parallel
    assert other.returncode == 0, other.stdout + other.stderr
    assert holder.wait(timeout=30) == 0
    assert live_version(project, "staging") == "1.0.0"
    assert live_version(project, "production") == "2.0.0"

    waiting = project.deploy("staging", "1.0.1", "--wait")  # the lock is free again
    assert waiting.returncode == 0, waiting.stderr


PHASES = ["prepare", "start", "health", "smoke", "baseline", "switch", "warm", "verify", "known_good"]


def test_sigkill_at_every_phase_then_rerun_converges(project):
    project.add_env("staging", verification={"window_seconds": 0.5})
    project.must_deploy("staging", "1.0.0")
    live = "1.0.0"
    load = Load(project.url("staging", "/api/quote?sku=widget&quantity=2"), workers=2, seconds=600).start()
    for number, phase in enumerate(PHASES, start=1):
        version = f"2.{number}.0"
        proc = project.popen(
            "deploy", "--env", "staging", "--version", version, extra_env={"CICD_TEST_PAUSE_AT": phase}
        )
        seen = wait_for_line(proc, f"paused before {phase}")
        proc.kill()  # SIGKILL: no cleanup, no lock release
        proc.wait()

        status, body = get(project.url("staging"))
        assert status == 200, f"nothing healthy live after a kill before {phase}: {body}"
        served = live_version(project, "staging")
        assert served in (live, version), served
        if phase in ("warm", "verify", "known_good"):
            assert served == version, "".join(seen)  # killed after the switch: the new version serves

        rerun = project.deploy("staging", version, "--wait", timeout=60)
        assert rerun.returncode == 0, f"re-run after a kill before {phase}:\n{rerun.stdout}{rerun.stderr}"
        assert live_version(project, "staging") == version
        live = version
    result = load.stop().summary()
    assert result["failed"] == 0, result  # live traffic through every kill and every re-run
    state = project.status("staging")
    assert state["health"] == "healthy" and state["current_version"] == live
    assert state["locked"] is False


def test_a_stale_lock_of_a_dead_deploy_is_recovered_and_recorded(project):
    project.add_env("staging", lock_ttl_seconds=6)
    project.must_deploy("staging", "1.0.0")
    proc = project.popen(
        "deploy", "--env", "staging", "--version", "1.1.0", extra_env={"CICD_TEST_PAUSE_AT": "health"}
    )
    wait_for_line(proc, "paused before health")
    proc.kill()
    proc.wait()
    killed_at = time.monotonic()
    refused = project.deploy("staging", "1.1.0")  # the dead run's heartbeat is still fresh
    assert refused.returncode == 1 and "lock" in last_line(refused)
    time.sleep(max(0.0, killed_at + 6.5 - time.monotonic()))
    rerun = project.deploy("staging", "1.1.0")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    history = project.cicd("history", "--env", "staging")
    assert "interrupted" in history.stdout
    ledger = project.cicd("audit", "show", "--env", "staging")
    assert "lock.recover" in ledger.stdout


def test_a_version_killed_before_its_switch_is_never_a_rollback_target(project):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    proc = project.popen(
        "deploy", "--env", "staging", "--version", "6.6.6", extra_env={"CICD_TEST_PAUSE_AT": "smoke"}
    )
    wait_for_line(proc, "paused before smoke")  # 6.6.6 runs in green, healthy but never smoke-tested
    proc.kill()
    proc.wait()
    rollback = project.cicd("rollback", "--env", "staging", "--wait")
    assert rollback.returncode == 1
    assert "nothing to roll back to" in last_line(rollback)
    assert "stopped 6.6.6 left in green" in rollback.stdout
    assert live_version(project, "staging") == "1.0.0"
    assert project.status("staging")["warm_color"] is None
