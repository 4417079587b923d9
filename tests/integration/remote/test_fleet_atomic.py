"""Fleet-atomic blue-green across two real sshd hosts (each in its own network namespace): every host
is gated before any switches, and hosts already switched go back when one host's switch fails.

Each test starts from 1.0.0 live on both hosts and runs several deploys in a row (a first deploy over
SSH costs seconds; the steps leave the fleet in a known state for the next)."""

from __future__ import annotations

import time

import pytest
from tests.integration.support.fleet import ON_FAILING_HOST, free_ports, last_line, process_deploy

pytestmark = pytest.mark.integration


@pytest.fixture
def env(fleet):
    fleet.add_env("prod", process_deploy([host.spec() for host in fleet.hosts], free_ports(4)))
    first = fleet.deploy("prod", "1.0.0")
    assert first.returncode == 0, first.stdout + first.stderr
    assert fleet.live_versions("prod") == ["1.0.0", "1.0.0"]
    return "prod"


def assert_still_blue_1_0_0(fleet, env) -> None:
    assert fleet.live_versions(env) == ["1.0.0", "1.0.0"]
    for host in fleet.hosts:
        assert "blue=100 green=0" in fleet.traffic(host, env)
        assert not (host.home / ".cicd" / "run" / env / "green.pid").exists()  # the new slot is gone


def test_no_host_switches_unless_every_host_can(fleet, env):
    # 1. web-2 fails its health gate: web-1 passed its own but never switches.
    refuse = f"import os, sys\nif {ON_FAILING_HOST}:\n    sys.exit('refusing to start here')"
    result = fleet.deploy(env, "2.0.0", "--artifact", str(fleet.artifact("refuses-on-web-2", refuse)))
    assert result.returncode == 1
    assert "web-2 failed its health gate" in result.stdout + result.stderr
    assert_still_blue_1_0_0(fleet, env)

    # 2. Both hosts pass their gates, then web-2's switch fails after web-1 has switched: web-1 goes back.
    # (2.0.1: versions are immutable, and 2.0.0 on the hosts is the artifact that refused)
    run = fleet.popen("deploy", "--env", env, "--version", "2.0.1",
                      env={"CICD_TEST_PAUSE_AT": "switch", "CICD_TEST_PAUSE_SECONDS": "4"})
    deadline = time.monotonic() + 90
    while "paused before switch" not in (line := run.stdout.readline()):
        if not line or time.monotonic() > deadline:
            run.kill()
            pytest.fail(f"the deploy never reached the switch: {run.communicate()}")
    # web-2's candidate config path becomes a directory, so its `nginx -t` fails
    (fleet.hosts[1].home / ".cicd" / "nginx" / env / "nginx.conf.next").mkdir()
    out, err = run.communicate(timeout=90)
    assert run.returncode == 1, out + err
    assert "switch failed on web-2; switched back web-1" in out + err
    assert_still_blue_1_0_0(fleet, env)


def test_deploy_switches_every_host_then_an_unreachable_host_stops_the_next(fleet, env):
    (fleet.hosts[1].home / ".cicd" / "nginx" / env / "nginx.conf.next").unlink(missing_ok=True)
    result = fleet.deploy(env, "2.0.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fleet.live_versions(env) == ["2.0.0", "2.0.0"]
    for host in fleet.hosts:
        assert "blue=0 green=100" in fleet.traffic(host, env)
    status = fleet.cicd("status", "--env", env, "--json")
    assert '"current_version": "2.0.0"' in status.stdout

    web2 = fleet.hosts[1]
    web2.stop_sshd()
    result = fleet.deploy(env, "3.0.0")
    assert result.returncode == 1
    message = last_line(result)
    assert f"ssh root@{web2.address}:22: connection refused" in message, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert fleet.served(fleet.hosts[0], env)["version"] == "2.0.0"
