"""The steps a deploy is made of: small frozen dataclasses that strategies build and one runner executes.

`--dry-run` prints exactly these (their `describe()`), so what a dry run shows is what a real run does.
Steps name hosts, colors and versions only; the runner resolves slots, ports and commands from config.
A strategy with step kinds of its own (e.g. rolling's per-host drain) gives them a `run(runner) -> str`
method; the runner calls it with itself (target, record, reporter, run state, switch_all) at hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from cicd.deploy.runtimes.base import Color


@dataclass(frozen=True)
class Step:
    phase = "step"

    def describe(self) -> str:  # pragma: no cover - every step overrides it
        raise NotImplementedError


@dataclass(frozen=True)
class RunHooks(Step):
    which: str  # "pre_deploy" | "post_deploy"
    commands: tuple[tuple[str, ...], ...]
    phase = "hooks"

    def describe(self) -> str:
        listed = "; ".join(" ".join(cmd) for cmd in self.commands) or "none configured"
        return f"run {self.which} hooks: {listed}"


@dataclass(frozen=True)
class PrepareRelease(Step):
    version: str
    artifact: str | None
    # a cold rollback starts the release as retained on the hosts: its content, not today's artifact
    retained: bool = False
    phase = "prepare"

    def describe(self) -> str:
        if self.retained:
            return f"reuse release {self.version} as retained on every host"
        return f"prepare release {self.version} on every host from {self.artifact or 'the default artifact'}"


@dataclass(frozen=True)
class StopSlot(Step):
    color: Color
    reason: str
    phase = "stop"

    def describe(self) -> str:
        return f"stop the {self.color} slot on every host ({self.reason})"


@dataclass(frozen=True)
class StartSlot(Step):
    color: Color
    version: str
    phase = "start"

    def describe(self) -> str:
        return f"start {self.version} in the {self.color} slot on every host"


@dataclass(frozen=True)
class HealthGate(Step):
    color: Color
    phase = "health"

    def describe(self) -> str:
        return f"health gate: wait until {self.color} answers its health check on every host"


@dataclass(frozen=True)
class SmokeTests(Step):
    color: Color
    phase = "smoke"

    def describe(self) -> str:
        return f"smoke tests against {self.color} through the private preview listener"


@dataclass(frozen=True)
class MeasureBaseline(Step):
    color: Color
    phase = "baseline"

    def describe(self) -> str:
        return f"measure the baseline (error rate, latency) of live {self.color} before the switch"


@dataclass(frozen=True)
class SwitchTraffic(Step):
    """Make `weights` live on every host: fleet-atomic (hosts already switched go back on failure)."""

    blue: int
    green: int
    phase = "switch"

    @classmethod
    def all_to(cls, color: Color) -> SwitchTraffic:
        return cls(100, 0) if color == "blue" else cls(0, 100)

    def describe(self) -> str:
        if self.blue in (0, 100):
            color = "blue" if self.blue else "green"
            return f"switch all traffic to {color}: nginx -t, atomic rename, reload"
        return f"shift traffic to blue {self.blue}% / green {self.green}%: nginx -t, atomic rename, reload"


@dataclass(frozen=True)
class KeepWarm(Step):
    color: Color
    seconds: float
    phase = "warm"

    def describe(self) -> str:
        return f"keep {self.color} warm for {self.seconds:g}s as the instant-rollback target"


@dataclass(frozen=True)
class Verify(Step):
    color: Color
    window_seconds: float
    phase = "verify"

    def describe(self) -> str:
        return (
            f"verify live traffic on {self.color} for {self.window_seconds:g}s against the baseline; "
            "switch back automatically on a breach"
        )


@dataclass(frozen=True)
class MarkKnownGood(Step):
    version: str
    phase = "known_good"

    def describe(self) -> str:
        return f"mark {self.version} as the last known good release"


@dataclass(frozen=True)
class PruneReleases(Step):
    keep: int
    phase = "prune"

    def describe(self) -> str:
        return f"prune releases beyond the newest {self.keep} (never the live, warm or last known good one)"
