"""The promotion state machine (cicd/promotion/machine.py): every transition, from a state and a verdict."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cicd.promotion import machine
from cicd.promotion.machine import Decision, PromotionState, Verdict

HEALTHY = Verdict(machine.SUCCESSFUL, "0 % errors")
BROKEN = Verdict(machine.FAILED, "error rate 40 %")
QUIET = Verdict(machine.INCONCLUSIVE, "only 2 requests")
T0 = 1_000.0


def state(**changes) -> PromotionState:
    base = PromotionState(
        version="2.0.0", stable_version="1.0.0", canary_color="green", stable_color="blue",
        weights=(5, 25, 100), step_delay_seconds=60, monitor_seconds=600, rollback_on_breach=True,
        auto_promote=True, started_at=T0, entered_at=T0,
    )  # fmt: skip
    return replace(base, **changes)


def test_a_step_waits_for_its_delay_then_moves_to_the_next_weight() -> None:
    waiting = machine.decide(state(), HEALTHY, T0 + 30, "pause")
    assert waiting.action == "wait" and "in 30 s" in waiting.reason
    move = machine.decide(state(), HEALTHY, T0 + 60, "pause")
    assert (move.action, move.weight) == ("step", 25)
    after = machine.after(state(), move, T0 + 61)
    assert (after.status, after.step, after.weight, after.entered_at) == (machine.STEPPING, 1, 25, T0 + 61)


def test_the_last_step_goes_to_100_percent_and_the_monitor_window_then_promoted() -> None:
    last = state(status=machine.STEPPING, step=1)
    move = machine.decide(last, HEALTHY, T0 + 60, "pause")
    assert (move.action, move.weight) == ("monitor", 100)
    monitoring = machine.after(last, move, T0 + 60)
    assert (monitoring.status, monitoring.weight) == (machine.MONITORING, 100)
    assert machine.decide(monitoring, HEALTHY, T0 + 600, "pause").action == "wait"  # 600 s window
    done = machine.decide(monitoring, HEALTHY, T0 + 660, "pause")
    assert done.action == "promote"
    assert machine.after(monitoring, done, T0 + 660).status == machine.PROMOTED


@pytest.mark.parametrize("status", [machine.CANARY, machine.STEPPING, machine.MONITORING])
def test_a_breach_rolls_back_at_once_whatever_the_delay(status: str) -> None:
    now = state(status=status)
    decision = machine.decide(now, BROKEN, T0 + 1, "pause")
    assert decision.action == "rollback" and "error rate 40 %" in decision.reason
    assert machine.after(now, decision, T0 + 1).status == machine.ROLLING_BACK
    errored = machine.decide(now, Verdict(machine.ERROR, "log unreadable"), T0 + 1, "pause")
    assert errored.action == "rollback"


def test_without_rollback_on_breach_a_breach_pauses_for_a_person_and_resume_moves_on() -> None:
    now = state(rollback_on_breach=False)
    decision = machine.decide(now, BROKEN, T0 + 1, "pause")
    paused = machine.after(now, decision, T0 + 1)
    assert (paused.status, paused.paused_from) == (machine.PAUSED, machine.CANARY)
    assert not paused.active and paused.open
    again = machine.resumed(paused)
    move = machine.healthy_move(again, "checked by hand", confirmed=True)
    assert (move.action, move.weight) == ("step", 25)


def test_auto_promote_off_pauses_each_healthy_step_until_confirmed() -> None:
    now = state(auto_promote=False)
    decision = machine.decide(now, HEALTHY, T0 + 60, "pause")
    assert decision.action == "pause" and "auto_promote is off" in decision.reason
    assert machine.healthy_move(now, "ok", confirmed=True).action == "step"


@pytest.mark.parametrize(
    ("policy", "action"), [("pause", "pause"), ("rollback", "rollback"), ("keep", "step")]
)
def test_too_little_traffic_when_due_follows_on_inconclusive(policy: str, action: str) -> None:
    assert machine.decide(state(), QUIET, T0 + 10, policy).action == "wait"  # not due: keep watching
    decision = machine.decide(state(), QUIET, T0 + 60, policy)
    assert decision.action == action
    # Moving on without a verdict is never recorded as a healthy step.
    assert decision.reason.startswith("Inconclusive") and "only 2 requests" in decision.reason


def test_an_interrupted_rollback_is_finished_first() -> None:
    rolling = state(status=machine.ROLLING_BACK, reason="Failed at 5 %")
    decision = machine.decide(rolling, HEALTHY, T0 + 1, "pause")
    assert decision == Decision("rollback", "Failed at 5 %")
    assert machine.after(rolling, decision, T0 + 5).entered_at == T0  # the rollback's own start stays


def test_a_state_survives_its_json_round_trip() -> None:
    now = state(baseline={"requests": 40, "error_rate": 0.0, "p95_ms": 3.0}, revision=4)
    assert PromotionState.from_json(now.to_json()) == now
    assert PromotionState.from_json({**now.to_json(), "added_later": 1}) == now  # newer fields are ignored
