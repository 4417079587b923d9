"""Blue-green: the new version starts in the idle color and takes all traffic only once it is gated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cicd.deploy.runtimes.base import Color, other_color
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

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import DeploySettings


def hooks(settings: DeploySettings, which: str) -> RunHooks:
    return RunHooks(which, tuple(tuple(cmd) for cmd in getattr(settings.hooks, which)))


def gate_new(settings: DeploySettings, *, version: str, artifact: str | None, color: Color) -> list[Step]:
    """Everything before a switch: the idle slot is emptied, the version started, gated, smoke-tested."""
    return [
        hooks(settings, "pre_deploy"),
        PrepareRelease(version, artifact),
        StopSlot(color, "make room in the idle color"),
        StartSlot(color, version),
        HealthGate(color),
        SmokeTests(color),
    ]


def finish(settings: DeploySettings, version: str) -> list[Step]:
    return [hooks(settings, "post_deploy"), MarkKnownGood(version), PruneReleases(settings.releases_to_keep)]


def plan(settings: DeploySettings, *, version: str, artifact: str | None, live: Color | None) -> list[Step]:
    target: Color = other_color(live) if live else "blue"
    steps = gate_new(settings, version=version, artifact=artifact, color=target)
    if live is None:  # first deploy: no baseline and nothing to fall back to, but verified all the same
        # (only a verified release is known good, the default target of a later rollback)
        steps += [SwitchTraffic.all_to(target), Verify(target, settings.verification.window_seconds)]
    else:
        steps += [
            MeasureBaseline(live),
            SwitchTraffic.all_to(target),
            KeepWarm(live, settings.warm_seconds),
            Verify(target, settings.verification.window_seconds),
        ]
    return steps + finish(settings, version)
