"""Recreate: stop the live version, then start the new one. Has downtime by design; kept as the
baseline the zero-downtime benchmark compares blue-green against."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cicd.deploy.runtimes.base import Color, other_color
from cicd.deploy.steps import Step, StopSlot, SwitchTraffic
from cicd.deploy.strategies.blue_green import finish, gate_new

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import DeploySettings


def plan(settings: DeploySettings, *, version: str, artifact: str | None, live: Color | None) -> list[Step]:
    target: Color = other_color(live) if live else "blue"
    steps = gate_new(settings, version=version, artifact=artifact, color=target)
    if live is not None:
        # Stopping first is the point of this strategy: traffic fails until the switch below.
        steps.insert(3, StopSlot(live, "recreate stops the live version first (downtime)"))
    steps.append(SwitchTraffic.all_to(target))
    return steps + finish(settings, version)
