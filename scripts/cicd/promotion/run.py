"""Hands-off promotion, the effects: start, advance, resume, abort (machine.py says what is due).

`start` is a deploy that stops at the first canary weight: gated, smoke-tested, baseline measured,
traffic split, the promotion recorded. `advance` does whatever is due now and returns in seconds.
Each holds the environment's deploy lock only while it acts, so a long monitor window holds no runner
and no lock, and a rollback never waits behind a promotion for longer than one advance.

Kill safety: a transition is written before the traffic move it announces (intent first), and every
advance first puts the router back where the state says it is, so a run killed between the two is
finished by the next one. Traffic moved by anything else (a deploy, a rollback) ends the promotion as
superseded: the router is the truth, the promotion follows it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from cicd.deploy.execution import Outcome, finish_run, record_failure
from cicd.deploy.live import converge, inspect
from cicd.deploy.orchestrator import DeployRequest
from cicd.deploy.report import Reporter
from cicd.deploy.runner import Runner, RunState
from cicd.deploy.runtimes.base import Color, Release, other_color
from cicd.deploy.steps import MeasureBaseline, Step, SwitchTraffic
from cicd.deploy.strategies.blue_green import gate_new
from cicd.deploy.target import Target
from cicd.errors import DeploymentError
from cicd.inputs import check_version, clean_reason
from cicd.promotion import machine
from cicd.promotion.machine import PromotionState
from cicd.state.client import LockLostError


def load(record: Any) -> PromotionState | None:
    raw = record.state.promotion()
    return PromotionState.from_json(raw) if raw else None


def save(record: Any, new: PromotionState, old: PromotionState | None, action: str) -> PromotionState:
    """Write the transition and its ledger entry (promotion.<action>) in one transaction."""
    entry = {
        "action": f"promotion.{action}",
        "version": new.version,
        "reason": new.reason[:500],
        "outcome": new.status,
        "details": {
            "from": old.status if old else None, "weight": new.weight, "step": new.step,
            "stable_version": new.stable_version, "canary_color": new.canary_color,
        },
    }  # fmt: skip
    saved = record.state.promotion_transition(new.to_json(), old.revision if old else 0, entry)
    return PromotionState.from_json(saved)


def split(canary: Color, weight: int) -> SwitchTraffic:
    blue = weight if canary == "blue" else 100 - weight
    return SwitchTraffic(blue, 100 - blue)


@dataclass(frozen=True)
class EnterPromotion(Step):
    """The last step of `start`: the promotion's first state, written while the lock is held."""

    state: PromotionState
    phase = "promotion"

    def describe(self) -> str:
        return f"record the promotion of {self.state.version}: {self.state.weight} % now, then its steps"

    def run(self, runner: Runner) -> str:
        baseline = runner.run.baseline.figures if runner.run.baseline else {}
        first = replace(self.state, started_at=time.time(), entered_at=time.time(), baseline=dict(baseline),
                        deployment_id=runner.record.deployment_id)  # fmt: skip
        previous = load(runner.record)
        if previous and previous.open:
            gone = replace(previous, status=machine.SUPERSEDED, reason=f"{first.version} promotion started")
            previous = save(runner.record, gone, previous, "superseded")
        save(runner.record, first, previous, "start")
        return f"{first.version} at {first.weight} % on {first.canary_color}; `cicd promotion advance` next"


def first_state(target: Target, version: str, live_color: Color, live_version: str) -> PromotionState:
    config = target.settings.promotion
    assert config is not None
    return PromotionState(
        version=version, stable_version=live_version, canary_color=other_color(live_color),
        stable_color=live_color, weights=(*config.steps, 100), step_delay_seconds=config.step_delay_seconds,
        monitor_seconds=config.monitor_seconds, rollback_on_breach=config.rollback_on_breach,
        auto_promote=config.auto_promote, reason="deployed to the canary",
    )  # fmt: skip


def start(target: Target, record: Any, request: DeployRequest, out: Reporter) -> Outcome | None:
    """Deploy `request.version` to the canary weight and record the promotion. None when there is no
    live version to promote from (or it is this one): the caller deploys as usual then."""
    check_version(request.version)
    request = replace(request, reason=clean_reason(request.reason))
    if inspect(target).version in (None, request.version):
        return None
    target.runtime.check_artifact(Release(request.version, request.artifact))
    started = time.monotonic()
    owner = f"{request.actor} promote {request.version}"
    ttl = target.settings.lock_ttl_seconds
    with record.lock(owner=owner, reason=request.reason or owner, ttl=ttl, wait=request.wait):
        current = load(record)
        if current and current.open and current.version == request.version:
            out.line(f"{request.version} is already being promoted ({describe(current)}): nothing to do")
            stable = current.stable_version
            return Outcome("noop", "deploy", request.version, stable, None, None, 0.0, "promotion under way")
        converge(target, out, record)
        live = inspect(target)
        if live.color is None or live.version is None or live.version == request.version:
            raise DeploymentError(f"what is live in {target.environment} changed meanwhile; run it again")
        state = first_state(target, request.version, live.color, live.version)
        canary = live.color and other_color(live.color)
        plan = gate_new(target.settings, version=request.version, artifact=request.artifact, color=canary)
        plan += [MeasureBaseline(live.color), split(canary, state.weight), EnterPromotion(state)]
        out.line(f"promote {request.version} in {target.environment}: {live.version} on {live.color} stays "
                 f"live; steps {' -> '.join(f'{w} %' for w in state.weights)}")  # fmt: skip
        record.begin(kind="deploy", version=request.version, strategy="promotion", actor=request.actor,
                     reason=request.reason, previous_version=live.version)  # fmt: skip
        run = RunState(request.version, live.color, live.version, rebuild=request.rebuild)
        runner = Runner(target, record, out, run)
        try:
            runner.execute(plan)
        except BaseException as err:
            if not isinstance(err, LockLostError):
                _undo_start(target, runner, canary, out)
                was, figures = live.version, run.figures
                failed = Outcome("failed", "deploy", request.version, was, None, None, 0.0, "", figures)
                record_failure(target, record, out, err, failed, started, live)
            raise
        message = f"{request.version} takes {state.weight} % on {state.canary_color}; promotion started"
        outcome = Outcome("succeeded", "deploy", request.version, live.version, live.color, live.version,
                          time.monotonic() - started, message, run.figures)  # fmt: skip
        return finish_run(record, outcome, out)


def _undo_start(target: Target, runner: Runner, canary: Color, out: Reporter) -> None:
    """A start that failed leaves the stable color with all traffic and no canary running."""
    try:
        if runner.run.switched:
            runner.switch_back(canary)
        elif canary in runner.run.started_colors:
            for host in target.hosts:
                target.runtime.stop(host, target.slot(canary))
    except Exception as err:  # never hide the reason the start failed
        out.phase("warn", "cleanup", f"could not clean up after the failure: {err}")


def describe(state: PromotionState) -> str:
    where = f"{state.weight} % on {state.canary_color}"
    return f"{state.status} ({where}, stable {state.stable_version} on {state.stable_color})"
