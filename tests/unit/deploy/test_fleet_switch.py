"""switch_all on two recording hosts behind the real HAProxy router: whatever stops the switch on the
second host (a router error, an unreadable router, a bug, SIGTERM between the hosts) puts the first
host back, so no fleet is left serving two versions; a stop signal or a bug keeps its own kind."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from cicd.deploy.interrupts import Terminated
from cicd.deploy.live import switch_all
from cicd.deploy.orchestrator import DeployRequest, deploy
from cicd.deploy.report import Reporter
from cicd.deploy.routers.base import Traffic
from cicd.errors import DeploymentError, HostError

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:  # tests.support is importable however pytest was started
    sys.path.insert(0, str(REPO))

from tests.support.recording_host import RecordingHost, make_target  # noqa: E402
from tests.unit.deploy.test_deploy_failure_paths import Remembering  # noqa: E402


class FailingHost(RecordingHost):
    """A host whose router calls raise `failure` once armed."""

    failure: BaseException | None = None

    def unix_request(self, path: str, data: bytes, *, timeout: float = 5.0) -> bytes:
        if self.failure is not None:
            raise self.failure
        return super().unix_request(path, data, timeout=timeout)

    def get(self, path: str) -> bytes | None:
        if self.failure is not None and path.endswith(".cfg"):
            raise self.failure
        return super().get(path)


def two_hosts_on_blue():
    first, second = RecordingHost("web-1"), FailingHost("web-2")
    target = make_target(first)
    target.hosts = [first, second]
    deploy(target, Remembering(), DeployRequest("1.0.0", "tester"), Reporter(io.StringIO()), dry_run=False)
    assert [target.router.read(host).live_color for host in target.hosts] == ["blue", "blue"]
    return target, second


@pytest.mark.parametrize(
    "failure, raised",
    [
        (HostError("web-2: connection refused"), DeploymentError),
        (Terminated(15), Terminated),
        (RuntimeError("a bug in the router"), RuntimeError),
    ],
)
def test_a_switch_stopped_on_the_second_host_puts_the_first_back(failure, raised):
    target, second = two_hosts_on_blue()
    second.failure = failure

    with pytest.raises(raised) as caught:
        switch_all(target, Traffic.all_to("green"))

    second.failure = None
    assert [target.router.read(host).live_color for host in target.hosts] == ["blue", "blue"]
    if raised is DeploymentError:
        assert "switch failed on web-2; switched back web-1" in str(caught.value)
