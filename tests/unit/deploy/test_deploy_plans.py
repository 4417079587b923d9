"""Strategies build plans (lists of step dataclasses): what --dry-run prints is what a run does."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cicd.config.deploy import DeploySettings
from cicd.deploy import steps as s
from cicd.deploy.strategies import build_plan
from cicd.errors import DeploymentError


def settings(**extra) -> DeploySettings:
    data = {
        "runtime": {"kind": "process", "command": ["svc", "--port", "{port}"]},
        "colors": {"blue": {"port": 9001}, "green": {"port": 9002}},
        "router": {"listen": "127.0.0.1:9000", "preview_listen": "127.0.0.1:9009"},
        "warm_seconds": 30,
        **extra,
    }
    return DeploySettings.model_validate(data)


def kinds(plan):
    return [type(step).__name__ for step in plan]


def test_blue_green_gates_before_switching_and_keeps_the_old_color_warm():
    plan = build_plan(settings(), strategy="blue_green", version="1.1.0", artifact=None, live="blue")
    assert kinds(plan) == [
        "RunHooks",
        "PrepareRelease",
        "StopSlot",
        "StartSlot",
        "HealthGate",
        "SmokeTests",
        "MeasureBaseline",
        "SwitchTraffic",
        "KeepWarm",
        "Verify",
        "RunHooks",
        "MarkKnownGood",
        "PruneReleases",
    ]
    assert plan[3] == s.StartSlot("green", "1.1.0")
    assert plan[7] == s.SwitchTraffic(0, 100) and plan[8] == s.KeepWarm("blue", 30)


def test_first_deploy_goes_to_blue_without_baseline_and_is_verified_before_known_good():
    plan = build_plan(settings(), strategy="blue_green", version="1.0.0", artifact="/a", live=None)
    assert s.SwitchTraffic(100, 0) in plan
    assert not any(isinstance(step, s.MeasureBaseline | s.KeepWarm) for step in plan)
    verify = next(i for i, step in enumerate(plan) if isinstance(step, s.Verify))
    assert plan.index(s.SwitchTraffic(100, 0)) < verify < kinds(plan).index("MarkKnownGood")


def test_canary_steps_verify_at_every_weight():
    plan = build_plan(
        settings(canary_steps=[{"weight": 5}, {"weight": 25}]),
        strategy="canary",
        version="2",
        artifact=None,
        live="green",
    )
    switches = [step for step in plan if isinstance(step, s.SwitchTraffic)]
    assert switches == [s.SwitchTraffic(5, 95), s.SwitchTraffic(25, 75), s.SwitchTraffic(100, 0)]
    assert sum(isinstance(step, s.Verify) for step in plan) == 3


def test_recreate_stops_the_live_color_before_starting():
    plan = build_plan(settings(), strategy="recreate", version="2", artifact=None, live="blue")
    stop_live = plan.index(s.StopSlot("blue", "recreate stops the live version first (downtime)"))
    assert stop_live < kinds(plan).index("StartSlot")


def test_every_step_describes_itself():
    for strategy in ("blue_green", "canary", "recreate"):
        for step in build_plan(settings(), strategy=strategy, version="2", artifact=None, live="blue"):
            assert step.describe() and step.phase


def test_unknown_strategy():
    with pytest.raises(DeploymentError, match="unknown strategy"):
        build_plan(settings(), strategy="yolo", version="2", artifact=None, live="blue")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"colors": {"blue": {"port": 9001}, "green": {"port": 9001}}}, "colors.green.port uses port 9001"),
        ({"colors": {"blue": {"port": 9000}, "green": {"port": 9002}}}, "router.listen uses port 9000"),
        ({"canary_steps": [{"weight": 50}, {"weight": 25}]}, "must rise strictly"),
    ],
)
def test_settings_validators(extra, message):
    with pytest.raises(ValidationError, match=message):
        settings(**extra)
