"""Executes a plan (deploy/steps.py) against a target, step by step, timing and recording each.

Invariants the runner keeps, whatever fails:
- nginx only ever sends live traffic to a color that passed its health gate and smoke tests;
- a failed gate or smoke test stops the new slot and leaves traffic untouched;
- a switch is fleet-atomic: every host is gated before any switches, and when one host's switch fails
  the hosts already switched are switched back;
- a verification breach switches every host back to the color kept warm.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from cicd.deploy import gates, isolation
from cicd.deploy.live import switch_all
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter, describe
from cicd.deploy.routers.base import Traffic
from cicd.deploy.runtimes.base import Color, Release, other_color
from cicd.deploy.steps import (
    HealthGate,
    KeepWarm,
    MarkKnownGood,
    MeasureBaseline,
    PrepareRelease,
    PruneReleases,
    RunHooks,
    SmokeTests,
    StartSlot,
    Step,
    StopSlot,
    SwitchTraffic,
    Verify,
)
from cicd.deploy.target import Target
from cicd.errors import DeploymentError, HealthCheckError
from cicd.hosts.base import Host
from cicd.hosts.local import LocalHost

# Test-only: pause before the first step of this phase (lets crash-safety tests SIGKILL a real run there).
PAUSE_ENV = "CICD_TEST_PAUSE_AT"
LOG_LINES_ON_FAILURE = 15


@dataclass
class RunState:
    """What the run learned so far; the orchestrator reads it for the outcome and the summary."""

    version: str
    previous_color: Color | None
    previous_version: str | None
    started_colors: set[Color] = field(default_factory=set)
    stopped_live: bool = False  # recreate stops the live color before the new one is gated
    # the warm previous color the new version displaced ({color, version, until}): a run that fails
    # before its switch starts it again, so a failed deploy never costs the instant rollback
    replaced_warm: dict | None = None
    rebuild: bool = False  # --rebuild: a prepared version may be replaced by other content
    digest: str | None = None  # what the new version contains, as prepared
    switched: bool = False
    baseline: gates.GateResult | None = None
    verification: gates.GateResult | None = None
    rolled_back: bool = False
    figures: dict[str, float] = field(default_factory=dict)


class Runner:
    def __init__(self, target: Target, record: Record, reporter: Reporter, run: RunState):
        self.target = target
        self.record = record
        self.out = reporter
        self.run = run
        self.handlers: dict[type, Callable[[Any], str]] = {
            RunHooks: self._hooks,
            PrepareRelease: self._prepare,
            StopSlot: self._stop,
            StartSlot: self._start,
            HealthGate: self._health,
            SmokeTests: self._smoke,
            MeasureBaseline: self._baseline,
            SwitchTraffic: self._switch,
            KeepWarm: self._warm,
            Verify: self._verify,
            MarkKnownGood: self._known_good,
            PruneReleases: self._prune,
        }

    def for_hosts(self, hosts: list[Host]) -> Runner:
        """A runner of the same run on some hosts only (a rolling deploy's one host at a time)."""
        return Runner(replace(self.target, hosts=hosts), self.record, self.out, self.run)

    def execute(self, plan: list[Step]) -> None:
        for step in plan:
            self._maybe_pause(step.phase)
            started = time.monotonic()
            try:
                self.record.check()  # the fencing token: a run that lost its lock touches nothing more
                handler = self.handlers.get(type(step))
                # A strategy may bring its own step kinds (rolling.py): they run themselves via the runner.
                message = handler(step) if handler else step.run(self)  # type: ignore[attr-defined]
            except Exception as err:  # whatever it is, it is shown and recorded; the orchestrator cleans up
                seconds = time.monotonic() - started
                detail = describe(err)
                self.out.phase("fail", step.phase, detail, seconds)
                self.record.phase(step.phase, "failed", seconds, detail)
                raise
            seconds = time.monotonic() - started
            self.out.phase("ok", step.phase, message, seconds)
            self.record.phase(step.phase, "succeeded", seconds, message)

    @staticmethod
    def _maybe_pause(phase: str) -> None:
        if os.environ.get(PAUSE_ENV) == phase:
            print(f"paused before {phase} ({PAUSE_ENV})", flush=True)
            time.sleep(float(os.environ.get("CICD_TEST_PAUSE_SECONDS", "60")))

    # -- steps ---------------------------------------------------------------------------------------
    def _hooks(self, step: RunHooks) -> str:
        local = LocalHost("deployer", cwd=self.target.base_dir)
        hooks = self.target.settings.hooks
        facts = {"CICD_ENVIRONMENT": self.target.environment, "CICD_VERSION": self.run.version}
        exports = isolation.exports(isolation.service_env(hooks.env, hooks.secrets, facts))
        for argv in step.commands:
            isolated = isolation.isolated(list(argv), on_stdin=True)
            result = local.run(isolated, input=exports, check=False, timeout=600)
            if not result.ok:
                tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
                command = " ".join(argv)
                raise DeploymentError(f"{step.which} hook `{command}` exited {result.returncode}: {tail[0]}")
        return f"{len(step.commands)} {step.which} hook(s) passed" if step.commands else "none configured"

    def _prepare(self, step: PrepareRelease) -> str:
        if step.retained:
            return self._reuse_retained(step.version)
        release = Release(step.version, step.artifact)
        runtime, rebuild = self.target.runtime, self.run.rebuild
        digests = {runtime.prepare(host, release, rebuild=rebuild) for host in self.target.hosts}
        if len(digests) > 1:  # the same tag pulled as different images: hosts would run different code
            found = ", ".join(sorted(map(str, digests)))
            raise DeploymentError(f"{step.version} is different content on different hosts: {found}")
        self.run.digest = digests.pop()
        self.record.release(step.version, step.artifact, self.run.digest)
        content = f" ({self.run.digest})" if self.run.digest else ""
        return f"release {step.version}{content} ready on {len(self.target.hosts)} host(s)"

    def _reuse_retained(self, version: str) -> str:
        """A release kept on every host (checked before the plan) runs as it was prepared: no artifact
        is read, nothing unpacked."""
        runtime = self.target.runtime
        digests = {runtime.prepared_digest(host, version) for host in self.target.hosts}
        if len(digests) > 1:
            found = ", ".join(sorted(map(str, digests)))
            raise DeploymentError(f"{version} is different content on different hosts: {found}")
        self.run.digest = digests.pop()
        content = f" ({self.run.digest})" if self.run.digest else ""
        return f"release {version}{content} retained on {len(self.target.hosts)} host(s)"

    def _stop(self, step: StopSlot) -> str:
        stopped = []
        for host in self.target.hosts:
            slot = self.target.slot(step.color)
            status = self.target.runtime.status(host, slot)
            if status.running:
                self.target.runtime.stop(host, slot)
                stopped.append(status.version or "?")
                if step.color == self.run.previous_color:
                    self.run.stopped_live = True
            warm = self.target.read_warm(host)
            if warm and warm.get("color") == step.color:
                if status.running and warm.get("version") and warm.get("until", 0) > time.time():
                    self.run.replaced_warm = warm
                self.target.clear_warm(host)
        return f"{step.color} stopped ({', '.join(stopped)})" if stopped else f"{step.color} was empty"

    def _start(self, step: StartSlot) -> str:
        self.run.started_colors.add(step.color)
        for host in self.target.hosts:
            self.target.runtime.start(host, self.target.slot(step.color), Release(step.version))
        return f"{step.version} started in {step.color}"

    def _fail_slot(self, color: Color, reason: str) -> HealthCheckError:
        """Show the new slot's last log lines, stop it, and build the error for the failed gate."""
        self.record.check()  # a gate can outlast the lock: the slot may be the new holder's by now
        for host in self.target.hosts:
            slot = self.target.slot(color)
            logs = self.target.runtime.logs(host, slot, LOG_LINES_ON_FAILURE)
            if logs.strip():
                self.out.line(f"    last log lines of {color} on {host.name}:")
                self.out.detail(logs)
            self.target.runtime.stop(host, slot)
        self.run.started_colors.discard(color)
        live = self.run.previous_version
        keeps = f"; {live} keeps serving" if live else "; no traffic was switched"
        return HealthCheckError(f"{reason}{keeps}")

    def _health(self, step: HealthGate) -> str:
        summaries = []
        for host in self.target.hosts:
            slot = self.target.slot(step.color)

            def alive(host=host, slot=slot) -> bool:
                # a version that crashed during its gate fails it now, though its supervisor restarts it
                status = self.target.runtime.status(host, slot)
                return status.running and status.restarts == 0

            result = gates.wait_healthy(host, slot, self.target.settings, is_alive=alive)
            if not result.ok:
                raise self._fail_slot(step.color, result.summary)
            summaries.append(result.summary)
        return "; ".join(summaries)

    def _smoke(self, step: SmokeTests) -> str:
        router = self.target.router
        for host in self.target.hosts:
            current = router.read(host)
            if current is None or current.preview != step.color:
                base = current or Traffic(0, 0, step.color)
                router.apply(host, Traffic(base.blue, base.green, step.color), self.target.slots())
            result = gates.run_smoke(host, self.target.settings.router.preview_listen, self.target.settings)
            if not result.ok:
                raise self._fail_slot(step.color, result.summary)
        return result.summary

    def _baseline(self, step: MeasureBaseline) -> str:
        self.run.baseline = gates.measure_baseline(self.target, step.color)
        self.run.figures.update({f"baseline_{k}": v for k, v in self.run.baseline.figures.items()})
        return self.run.baseline.summary

    def switch_all(self, traffic: Traffic) -> None:
        switch_all(self.target, traffic)

    def _switch(self, step: SwitchTraffic) -> str:
        self.record.check()  # never move traffic without holding the lock
        # The preview listener shows the color with less traffic: the idle one, or the canary.
        traffic = Traffic(step.blue, step.green, "green" if step.blue >= step.green else "blue")
        self.switch_all(traffic)
        self.run.switched = True
        if not traffic.split:  # the new version is live: the state says so with the switch, not later
            self.record.switched(self.run.version, traffic.live_color)
        if not traffic.split:
            self.drain(other_color(traffic.live_color))
        return f"{traffic.describe()} on {len(self.target.hosts)} host(s)"

    def drain(self, color: Color) -> str:
        """Wait on every host until no request is in flight to `color`, up to the drain timeout; the
        figures go to the output and the ledger. Nothing may stop a color before this returns."""
        timeout = self.target.settings.router.drain_timeout_seconds
        results = [self.target.router.drain(host, color, timeout) for host in self.target.hosts]
        worst = max(results, key=lambda drained: (drained.in_flight, drained.seconds))
        self.run.figures.update(
            {
                "drain_in_flight": sum(drained.in_flight for drained in results),
                "drain_ms": round(worst.seconds * 1000, 1),
                "drain_timeout_seconds": timeout,
            }
        )
        message = f"{color} {worst.describe()}"
        self.out.phase("ok" if worst.complete else "warn", "drain", message, worst.seconds)
        self.record.phase("drain", "succeeded" if worst.complete else "timed_out", worst.seconds, message)
        return message

    def _warm(self, step: KeepWarm) -> str:
        for host in self.target.hosts:
            self.target.write_warm(host, step.color, self.run.previous_version, step.seconds)
        self.record.warm(step.color, self.run.previous_version, time.time() + step.seconds)
        return f"{step.color} ({self.run.previous_version}) warm for {step.seconds:g}s"

    def _verify(self, step: Verify) -> str:
        result = gates.verify(self.target, step.color, step.window_seconds, self.run.baseline)
        self.run.verification = result
        self.run.figures.update(result.figures)
        self.record.verified(result.phase or "Successful", result.summary)
        from cicd.deploy import decision  # imports this module: the verdict rules live there

        return decision.decide(self, step.color, result)

    def switch_back(self, failed_color: Color) -> None:
        """All traffic to the previous color (kept warm), then stop the failed one."""
        if self.run.previous_color is None:
            return
        self.record.check()
        started = time.monotonic()
        self.switch_all(Traffic.all_to(self.run.previous_color))
        self.run.figures["switch_back_ms"] = round((time.monotonic() - started) * 1000, 1)
        self.run.rolled_back = True
        self.record.switched(self.run.previous_version, self.run.previous_color)
        self.drain(failed_color)
        for host in self.target.hosts:
            self.target.runtime.stop(host, self.target.slot(failed_color))
            self.target.clear_warm(host)
        self.run.started_colors.discard(failed_color)

    def _known_good(self, step: MarkKnownGood) -> str:
        from cicd.deploy import decision

        return decision.mark_known_good(self, step.version)

    def _prune(self, step: PruneReleases) -> str:
        protected = {self.run.version, self.run.previous_version} | self.record.protected()
        for host in self.target.hosts:  # whatever runs in a slot (live or warm) stays too
            for color in ("blue", "green"):
                protected.add(self.target.runtime.status(host, self.target.slot(color)).version)
        removed: set[str] = set()
        for host in self.target.hosts:
            versions = self.target.runtime.releases(host)
            for version in versions[: max(0, len(versions) - step.keep)]:
                if version not in protected:
                    self.target.runtime.remove_release(host, version)
                    removed.add(version)
        for version in sorted(removed):
            self.record.forget(version)
        return f"pruned {', '.join(sorted(removed))}" if removed else "nothing to prune"
