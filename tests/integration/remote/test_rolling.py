"""Rolling deploys across two real sshd hosts: host by host, the primary (web-1) last; a host that
fails stops the roll and the hosts already rolled go back to the color they kept warm."""

from __future__ import annotations

import pytest
from tests.integration.support.fleet import (
    ON_FAILING_HOST,
    SharedBalancer,
    Traffic,
    free_ports,
    process_deploy,
)

pytestmark = pytest.mark.integration


def test_rolling_host_by_host_and_back_when_a_host_fails(fleet, tmp_path):
    hosts = [host.spec() for host in fleet.hosts]
    blue, green, listen, preview = free_ports(4)
    # Each host's nginx listens on every address of its namespace, so a balancer in front can reach it.
    fleet.add_env("web", process_deploy(hosts, [blue, green, listen, preview], strategy="rolling",
                                        router={"listen": f"0.0.0.0:{listen}"}))
    first = fleet.deploy("web", "1.0.0")
    assert first.returncode == 0, first.stdout + first.stderr
    assert fleet.live_versions("web") == ["1.0.0", "1.0.0"]

    # Starts on web-2 (its HOME holds the marker), refuses on web-1, which rolls second.
    refuse = f"import os, sys\nif not {ON_FAILING_HOST}:\n    sys.exit('refusing to start here')"
    result = fleet.deploy("web", "2.0.0", "--artifact", str(fleet.artifact("refuses-on-web-1", refuse)))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "web-2 serves 2.0.0 on green" in output, output
    assert "rolling deploy stopped at web-1; switched back web-2 to blue" in output
    assert fleet.live_versions("web") == ["1.0.0", "1.0.0"]
    for host in fleet.hosts:
        assert "blue=100 green=0" in fleet.traffic(host, "web")
        assert not (host.home / ".cicd" / "run" / "web" / "green.pid").exists()

    balancer = SharedBalancer.start(tmp_path / "lb", [f"{host.address}:{listen}" for host in fleet.hosts])
    try:
        with Traffic(f"http://127.0.0.1:{balancer.port}/version") as load:
            result = fleet.deploy("web", "2.1.0")
    finally:
        balancer.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # no request failed through the shared balancer while the hosts rolled one after the other
    assert load.requests > 20 and load.failures == [], (load.requests, load.failures[:5])
    assert load.versions == {"1.0.0", "2.1.0"}, load.versions
    assert output.index("web-2 serves 2.1.0 on green") < output.index("web-1 serves 2.1.0 on green")
    assert fleet.live_versions("web") == ["2.1.0", "2.1.0"]
    dry = fleet.cicd("deploy", "--env", "web", "--version", "3.0.0", "--dry-run")
    assert "[roll] on web-2: prepare 3.0.0, start it in blue" in dry.stdout
