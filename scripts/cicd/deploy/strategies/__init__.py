"""Strategies turn a deploy request into a plan (a list of steps, deploy/steps.py).

    plan = build_plan(settings, strategy="blue_green", version="1.2.3", artifact=None, live="blue")

blue_green (default): new version in the idle color, gated, smoke-tested, switched, old color kept warm.
canary: like blue_green, but traffic moves in canary_steps (5 -> 25 -> 100) with verification at each.
recreate: stop, then start (has downtime; the benchmark's baseline). rolling: host by host (rolling.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cicd.errors import DeploymentError

if TYPE_CHECKING:
    from cicd.config.deploy import DeploySettings
    from cicd.deploy.runtimes.base import Color
    from cicd.deploy.steps import Step

STRATEGIES = ("blue_green", "canary", "recreate", "rolling")


def build_plan(
    settings: DeploySettings, *, strategy: str, version: str, artifact: str | None, live: Color | None
) -> list[Step]:
    if strategy == "blue_green":
        from cicd.deploy.strategies.blue_green import plan
    elif strategy == "canary":
        from cicd.deploy.strategies.canary import plan
    elif strategy == "recreate":
        from cicd.deploy.strategies.recreate import plan
    elif strategy == "rolling":
        from cicd.deploy.strategies.rolling import plan  # built by the remote part
    else:
        raise DeploymentError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    return plan(settings, version=version, artifact=artifact, live=live)
