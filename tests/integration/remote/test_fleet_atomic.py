"""Fleet-atomic blue-green across two real sshd hosts (each in its own network namespace): every host
is gated before any switches, and hosts already switched go back when one host's switch fails."""

from __future__ import annotations

import time

import pytest
from tests.integration.support.fleet import FAIL_ENV, free_ports, last_line, process_deploy

pytestmark = pytest.mark.integration


@pytest.fixture
def env(fleet):
    fleet.add_env("prod", process_deploy([host.spec() for host in fleet.hosts], free_ports(4)))
    first = fleet.deploy("prod", "1.0.0")
    assert first.returncode == 0, first.stdout + first.stderr
    assert fleet.live_versions("prod") == ["1.0.0", "1.0.0"]
    return "prod"


def test_deploy_switches_every_host_and_keeps_the_old_color_warm(fleet, env):
    result = fleet.deploy(env, "2.0.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fleet.live_versions(env) == ["2.0.0", "2.0.0"]
    for host in fleet.hosts:
        assert "blue=0 green=100" in fleet.traffic(host, env)
    status = fleet.cicd("status", "--env", env, "--json")
    assert '"current_version": "2.0.0"' in status.stdout


def test_a_host_failing_its_gate_means_no_host_switches(fleet, env):
    refuse = f"import os, sys\nif os.environ.get({FAIL_ENV!r}):\n    sys.exit('refusing to start here')"
    artifact = fleet.artifact("refuses-on-web-2", refuse)
    result = fleet.deploy(env, "2.0.0", "--artifact", str(artifact))
    assert result.returncode == 1
    assert "web-2 failed its health gate" in result.stdout + result.stderr
    assert fleet.live_versions(env) == ["1.0.0", "1.0.0"]  # web-1 passed its gate but never switched
    for host in fleet.hosts:
        assert "blue=100 green=0" in fleet.traffic(host, env)
        assert not (host.home / ".cicd" / "run" / env / "green.pid").exists()  # the new slot is gone


def test_a_switch_failing_on_the_second_host_switches_the_first_back(fleet, env):
    run = fleet.popen("deploy", "--env", env, "--version", "2.0.0",
                      env={"CICD_TEST_PAUSE_AT": "switch", "CICD_TEST_PAUSE_SECONDS": "4"})
    deadline = time.monotonic() + 90
    while "paused before switch" not in (line := run.stdout.readline()):
        assert line and time.monotonic() < deadline, "the deploy never reached the switch"
    # Both hosts passed their gates. Now web-2's candidate config path is a directory: its `nginx -t`
    # fails, after web-1 has already switched.
    (fleet.hosts[1].home / ".cicd" / "nginx" / env / "nginx.conf.next").mkdir()
    out, err = run.communicate(timeout=90)
    assert run.returncode == 1, out + err
    assert "switch failed on web-2; switched back web-1" in out + err
    assert fleet.live_versions(env) == ["1.0.0", "1.0.0"]
    for host in fleet.hosts:
        assert "blue=100 green=0" in fleet.traffic(host, env)


def test_an_unreachable_host_fails_the_deploy_in_one_line_and_nothing_moves(fleet, env):
    web2 = fleet.hosts[1]
    web2.stop_sshd()
    result = fleet.deploy(env, "2.0.0")
    assert result.returncode == 1
    message = last_line(result)
    assert f"ssh root@{web2.address}:22: connection refused" in message, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert fleet.served(fleet.hosts[0], env)["version"] == "1.0.0"
