"""Canary: the new version gets a growing share of traffic (canary_steps), verified at every step.

A breach at any step sends all traffic back to the stable color (abort). Without canary_steps the
steps are 5 % -> 25 % -> 100 %.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cicd.deploy.runtimes.base import Color, other_color
from cicd.deploy.steps import KeepWarm, MeasureBaseline, Step, SwitchTraffic, Verify
from cicd.deploy.strategies.blue_green import finish, gate_new
from cicd.deploy.strategies.blue_green import plan as blue_green_plan

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import DeploySettings

DEFAULT_WEIGHTS = (5, 25, 100)


def plan(settings: DeploySettings, *, version: str, artifact: str | None, live: Color | None) -> list[Step]:
    if live is None:  # nothing to compare with: the first release goes in blue-green
        return blue_green_plan(settings, version=version, artifact=artifact, live=None)
    canary = other_color(live)
    steps = gate_new(settings, version=version, artifact=artifact, color=canary)
    steps.append(MeasureBaseline(live))
    configured = [(step.weight, step.pause_seconds) for step in settings.canary_steps]
    window = settings.verification.window_seconds
    for weight, pause in configured or [(w, 0.0) for w in DEFAULT_WEIGHTS]:
        blue = weight if canary == "blue" else 100 - weight
        steps.append(SwitchTraffic(blue, 100 - blue))
        if weight < 100:
            steps.append(Verify(canary, pause or window))
    if not configured or configured[-1][0] < 100:
        steps.append(SwitchTraffic.all_to(canary))
    steps += [KeepWarm(live, settings.warm_seconds), Verify(canary, window)]
    return steps + finish(settings, version)
