"""Rolling: host by host. Each host gets the new version in its idle color, gated and smoke-tested on
that host alone, then that host's traffic switches; only then does the next host start. A host that
fails stops the roll, and the hosts already rolled are switched back to the color they kept warm, so a
rolling deploy ends with every host on the new version or every host on the old one.

The primary host rolls last: an interrupted run is converged by making every host follow the primary,
and until the last step the primary still serves the old version, which every host still runs.

Compared with blue_green, a bad version meets real traffic on one host before the others, and at most
one host at a time runs a new version that has not yet taken traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cicd.deploy.routers.base import Traffic
from cicd.deploy.runtimes.base import Color, other_color
from cicd.deploy.steps import (
    HealthGate,
    KeepWarm,
    MeasureBaseline,
    PrepareRelease,
    SmokeTests,
    StartSlot,
    Step,
    StopSlot,
    SwitchTraffic,
    Verify,
)
from cicd.deploy.strategies.blue_green import finish, hooks
from cicd.errors import CicdError, DeploymentError
from cicd.state.client import LockLostError

if TYPE_CHECKING:
    from cicd.config.deploy import DeploySettings
    from cicd.deploy.runner import Runner


@dataclass(frozen=True)
class RollHost(Step):
    """Update one host: prepare, start in the idle color, gate, smoke-test, switch that host."""

    host: str
    version: str
    artifact: str | None
    color: Color
    previous: Color | None
    phase = "roll"

    def describe(self) -> str:
        return (
            f"on {self.host}: prepare {self.version}, start it in {self.color}, health gate, smoke tests, "
            f"switch {self.host} to {self.color}"
        )

    def host_plan(self) -> list[Step]:
        return [
            PrepareRelease(self.version, self.artifact),
            StopSlot(self.color, "make room in the idle color"),
            StartSlot(self.color, self.version),
            HealthGate(self.color),
            SmokeTests(self.color),
            SwitchTraffic.all_to(self.color),
        ]

    def run(self, runner: Runner) -> str:
        target = runner.target
        names = [host.name for host in target.hosts]
        if self.host not in names:
            raise DeploymentError(f"rolling: host {self.host!r} is not in deploy.hosts ({', '.join(names)})")
        host = target.hosts[names.index(self.host)]
        one_host = runner.for_hosts([host])
        try:
            one_host.execute(self.host_plan())
        except LockLostError:  # the new holder owns the environment now: nothing is switched back
            raise
        except CicdError as err:
            reverted = self._switch_back_rolled(runner)
            raise DeploymentError(f"rolling deploy stopped at {self.host}{reverted}: {err}") from err
        return f"{self.host} serves {self.version} on {self.color}"

    def _switch_back_rolled(self, runner: Runner) -> str:
        """Hosts rolled before this one go back to the previous color, which they kept running."""
        target = runner.target
        rolled = [host for host in target.hosts if host.name in rolled_before(target, self.host)]
        if not rolled or self.previous is None:
            return ""
        runner.record.check()  # the fencing token: never move traffic without holding the lock
        for host in rolled:
            target.router.apply(host, Traffic.all_to(self.previous), target.slots())
        # the first rolled host's switch recorded the new version as live: the ledger follows it back
        runner.record.switched(runner.run.previous_version, self.previous)
        runner.for_hosts(rolled).drain(self.color)
        for host in rolled:
            target.runtime.stop(host, target.slot(self.color))
        runner.run.rolled_back = True
        return f"; switched back {', '.join(host.name for host in rolled)} to {self.previous}"


def roll_order(host_names: list[str]) -> list[str]:
    """Every other host first, the primary (the first in deploy.hosts) last."""
    return [*host_names[1:], *host_names[:1]]


def rolled_before(target, host_name: str) -> list[str]:
    order = roll_order([host.name for host in target.hosts])
    return order[: order.index(host_name)]


def plan(settings: DeploySettings, *, version: str, artifact: str | None, live: Color | None) -> list[Step]:
    color: Color = other_color(live) if live else "blue"
    steps: list[Step] = [hooks(settings, "pre_deploy")]
    if live is not None:
        steps.append(MeasureBaseline(live))
    for name in roll_order([spec.name for spec in settings.hosts]):
        steps.append(RollHost(name, version, artifact, color, live))
    if live is not None:
        steps += [KeepWarm(live, settings.warm_seconds), Verify(color, settings.verification.window_seconds)]
    return steps + finish(settings, version)
