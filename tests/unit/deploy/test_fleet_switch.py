"""Two recording hosts behind the real HAProxy router. switch_all: whatever stops the switch on the
second host (a router error, an unreadable router, a bug, SIGTERM between the hosts) puts the first
host back, so no fleet is left serving two versions; a stop signal or a bug keeps its own kind.
Rolling: a failed host switches the rolled hosts back with a traffic.switch of their own, and a run
that lost its lock switches nothing back."""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cicd.config.deploy import HostSpec
from cicd.deploy.interrupts import Terminated
from cicd.deploy.live import switch_all
from cicd.deploy.orchestrator import DeployRequest, deploy
from cicd.deploy.report import Reporter
from cicd.deploy.routers.base import Traffic
from cicd.errors import DeploymentError, HostError
from cicd.state.client import LockLostError

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


class LosesLockAtSecondStart(Remembering):
    """Another run takes the lock while the second host of a rolling deploy starts its new version."""

    def __init__(self, hosts: list[RecordingHost]) -> None:
        super().__init__()
        self.hosts, self.starts = hosts, 0
        self.commands_at_loss: list[int] | None = None

    def phase(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        super().phase(name, status, seconds, detail)
        self.starts += name == "start"
        if self.starts == 2 and self.commands_at_loss is None:
            self.commands_at_loss = [len(host.commands) for host in self.hosts]

    def check(self) -> None:
        if self.commands_at_loss is not None:
            raise LockLostError("this run no longer holds the lock on prod", None)


def rolling_on_blue():
    first, second = RecordingHost("web-1"), RecordingHost("web-2")
    target = make_target(first)
    specs = [HostSpec(name="web-1"), HostSpec(name="web-2")]
    settings = target.settings.model_copy(update={"strategy": "rolling", "hosts": specs})
    target = replace(target, hosts=[first, second], settings=settings)
    record = Remembering()
    deploy(target, record, DeployRequest("1.0.0", "tester"), Reporter(io.StringIO()), dry_run=False)
    return target, record


def test_a_rolling_host_that_fails_switches_the_rolled_ones_back_in_the_ledger_too():
    target, record = rolling_on_blue()
    first = target.hosts[0]
    first.broken_versions.add("1.1.0")  # the primary rolls last: web-2 is switched when it fails

    with pytest.raises(DeploymentError, match="stopped at web-1; switched back web-2 to blue"):
        deploy(target, record, DeployRequest("1.1.0", "tester"), Reporter(io.StringIO()), dry_run=False)

    assert [target.router.read(host).live_color for host in target.hosts] == ["blue", "blue"]
    assert record.switches[-2:] == [("1.1.0", "green"), ("1.0.0", "blue")]


def test_a_rolling_deploy_that_lost_its_lock_switches_nothing_back():
    target, _ = rolling_on_blue()
    record = LosesLockAtSecondStart(target.hosts)
    record.switches = [("1.0.0", "blue")]

    with pytest.raises(LockLostError):
        deploy(target, record, DeployRequest("1.1.0", "tester"), Reporter(io.StringIO()), dry_run=False)

    assert record.commands_at_loss == [len(host.commands) for host in target.hosts]
    assert target.router.read(target.hosts[1]).live_color == "green"  # the new holder's to converge
    assert record.finished == []
