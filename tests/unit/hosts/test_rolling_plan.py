"""The rolling strategy's plan: host by host, the primary last, verification over the whole fleet."""

from __future__ import annotations

from cicd.config.deploy import DeploySettings
from cicd.deploy.steps import KeepWarm, MarkKnownGood, MeasureBaseline, RunHooks, Verify
from cicd.deploy.strategies import build_plan
from cicd.deploy.strategies.rolling import RollHost, roll_order


def settings(*names: str) -> DeploySettings:
    return DeploySettings(
        strategy="rolling",
        hosts=[{"name": name, "transport": "ssh", "address": f"10.0.0.{n}"}
               for n, name in enumerate(names, 1)],
        runtime={"kind": "docker", "image": "team/web"},
        colors={"blue": {"port": 18091}, "green": {"port": 18092}},
    )


def test_roll_order_puts_the_primary_last():
    assert roll_order(["a", "b", "c"]) == ["b", "c", "a"]
    assert roll_order(["only"]) == ["only"]


def test_plan_rolls_each_host_then_verifies_the_fleet():
    plan = build_plan(settings("web-1", "web-2", "web-3"), strategy="rolling", version="2.0.0", artifact=None,
                      live="blue")
    kinds = [type(step) for step in plan]
    assert kinds[:2] == [RunHooks, MeasureBaseline]
    rolls = [step for step in plan if isinstance(step, RollHost)]
    assert [step.host for step in rolls] == ["web-2", "web-3", "web-1"]
    assert all(step.color == "green" and step.previous == "blue" for step in rolls)
    assert kinds.index(KeepWarm) > kinds.index(RollHost) and Verify in kinds and MarkKnownGood in kinds
    assert "on web-2: prepare 2.0.0, start it in green, health gate, smoke tests" in rolls[0].describe()


def test_first_rolling_deploy_has_nothing_to_measure_or_keep_warm():
    plan = build_plan(settings("web-1", "web-2"), strategy="rolling", version="1.0.0", artifact="img:1",
                      live=None)
    kinds = {type(step) for step in plan}
    assert MeasureBaseline not in kinds and KeepWarm not in kinds and Verify not in kinds
    assert [step.color for step in plan if isinstance(step, RollHost)] == ["blue", "blue"]


def test_each_host_runs_the_full_gate_before_its_switch():
    step = RollHost("web-2", "2.0.0", None, "green", "blue")
    phases = [sub.phase for sub in step.host_plan()]
    assert phases == ["prepare", "stop", "start", "health", "smoke", "switch"]
