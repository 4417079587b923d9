"""`cicd promotion advance | resume | abort`: one move of a recorded promotion, under the deploy lock.

advance: whatever is due now (machine.decide): nothing, the next weight, the monitor window, promoted,
or back to the stable color on a breach. Returns at once when nothing is due or a deploy holds the
lock (the next scheduled run tries again). resume: a person moves a paused promotion on. abort: a
person sends it back to the stable color.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from cicd.deploy.report import Reporter
from cicd.deploy.routers.base import Traffic
from cicd.deploy.runner import Runner, RunState
from cicd.deploy.target import Target
from cicd.errors import CicdError
from cicd.promotion import machine
from cicd.promotion.judge import judge
from cicd.promotion.machine import Decision, PromotionState
from cicd.promotion.run import describe, load, save, split
from cicd.state.client import LockHeldError


def advance(target: Target, record: Any, out: Reporter) -> PromotionState | None:
    state = load(record)
    if state is None or not state.active:
        out.line(f"{target.environment}: {_idle(state)}; nothing to do")
        return state
    try:
        with _locked(target, record, f"advance the promotion of {state.version}"):
            return _advance(target, record, out)
    except LockHeldError as err:
        out.line(f"{target.environment} is locked ({err}); the promotion goes on at the next run")
        return state


def resume(target: Target, record: Any, out: Reporter, reason: str, *, wait: bool = False) -> PromotionState:
    with _locked(target, record, "resume the promotion", wait=wait):
        state = _still_live(target, record, _open(target, record))
        if state.status != machine.PAUSED:
            raise CicdError(
                f"the promotion of {state.version} is {state.status}, not paused: nothing to resume",
                hint=f"cicd promotion advance --env {target.environment} moves an active one",
            )
        again = machine.resumed(state)
        decision = machine.healthy_move(again, f"resumed: {reason}", confirmed=True)
        return _apply(target, record, out, replace(again, revision=state.revision), decision, state)


def abort(target: Target, record: Any, out: Reporter, reason: str, *, wait: bool = False) -> PromotionState:
    with _locked(target, record, "abort the promotion", wait=wait):
        state = _still_live(target, record, _open(target, record))
        return _apply(target, record, out, state, Decision("rollback", f"aborted: {reason}"), state)


class PromotionOver(CicdError):
    """No promotion the router still shows: none recorded, finished, or taken over by a deploy."""


def end_for_rollback(target: Target, record: Any, out: Reporter, reason: str, *, wait: bool = False
                     ) -> PromotionState | None:  # fmt: skip
    """`cicd rollback` during a promotion means "off the new version": it ends as an abort does, the
    stable version staying live; None when there is no promotion the router still shows."""
    try:
        return abort(target, record, out, reason, wait=wait)
    except PromotionOver:
        return None


def _still_live(target: Target, record: Any, state: PromotionState) -> PromotionState:
    """A person acts on what the router shows: once a deploy or rollback took the traffic over, moving
    it "back to the stable color" would undo that deploy, so the promotion is only recorded as over."""
    moved = _moved_elsewhere(target, state)
    if moved is None:
        return state
    save(record, replace(state, status=machine.SUPERSEDED, reason=moved), state, "superseded")
    raise PromotionOver(
        f"the promotion of {state.version} is over: {moved}; nothing was moved",
        hint=f"cicd status --env {target.environment} shows what is live",
    )


def _locked(target: Target, record: Any, why: str, *, wait: bool = False):
    """advance never waits (the next scheduled run tries again); a person's resume or abort may, behind
    an advance that holds the lock for seconds or a start that holds it through its gates."""
    return record.lock(owner=why, reason=why, ttl=target.settings.lock_ttl_seconds, wait=wait)


def _open(target: Target, record: Any) -> PromotionState:
    state = load(record)
    if state is None or not state.open:
        raise PromotionOver(f"{target.environment}: {_idle(state)}",
                        hint="a deploy to an environment with a promotion: block starts one")  # fmt: skip
    return state


def _idle(state: PromotionState | None) -> str:
    if state is None:
        return "no promotion recorded"
    if state.status == machine.PAUSED:
        return f"the promotion of {state.version} is paused ({state.reason}); resume or abort it"
    return f"the promotion of {state.version} is {state.status}"


def _advance(target: Target, record: Any, out: Reporter) -> PromotionState:
    state = load(record)
    if state is None or not state.active:  # another run finished it while this one waited
        return state  # type: ignore[return-value]
    moved = _moved_elsewhere(target, state)
    if moved:
        out.phase("warn", "promotion", moved)
        return save(record, replace(state, status=machine.SUPERSEDED, reason=moved), state, "superseded")
    if _restore_split(target, record, state, out):  # the step's traffic begins now: so does its clock
        why = f"{state.weight} % restored after an interruption"
        again = replace(state, entered_at=time.time(), reason=why)
        return save(record, again, state, "restore")
    if state.status == machine.ROLLING_BACK:
        verdict = machine.Verdict("Running", "finishing the rollback")
    else:
        verdict = judge(target, state)
    decision = machine.decide(state, verdict, time.time(), target.on_inconclusive)
    return _apply(target, record, out, state, decision, state)


def _moved_elsewhere(target: Target, state: PromotionState) -> str | None:
    """Why the router no longer shows this promotion (a deploy or rollback moved traffic), or None."""
    host = target.primary
    traffic = target.router.read(host)
    canary = target.runtime.status(host, target.slot(state.canary_color))  # type: ignore[arg-type]
    if state.status == machine.ROLLING_BACK:
        return None  # finishing the rollback is due whatever traffic shows
    if traffic is None or not canary.running or canary.version != state.version:
        return f"{state.version} no longer runs in {state.canary_color}: a deploy or rollback took over"
    if traffic.weight(state.canary_color) == 0:  # type: ignore[arg-type]
        return f"traffic went back to {traffic.live_color} outside the promotion (a rollback)"
    return None


def _restore_split(target: Target, record: Any, state: PromotionState, out: Reporter) -> bool:
    """A run killed between writing a step and moving traffic: move it now, as the state says."""
    if state.status == machine.ROLLING_BACK:
        return False
    for host in target.hosts:
        traffic = target.router.read(host)
        if traffic is None or traffic.weight(state.canary_color) != state.weight:  # type: ignore[arg-type]
            if state.status == machine.MONITORING:
                _go_all_in(target, record, state)
            else:
                _switch(target, record, state, split(state.canary_color, state.weight).blue)  # type: ignore[arg-type]
            out.phase("warn", "promotion", f"traffic was {traffic.describe() if traffic else 'unset'}; "
                      f"set to {state.weight} % on {state.canary_color} as recorded")  # fmt: skip
            return True
    return False


def _runner(target: Target, record: Any, state: PromotionState, out: Reporter) -> Runner:
    run = RunState(state.version, state.stable_color, state.stable_version)  # type: ignore[arg-type]
    return Runner(target, record, out, run)


def _switch(target: Target, record: Any, state: PromotionState, blue: int) -> None:
    record.check()  # never move traffic without holding the lock (a run that outlived it stops here)
    traffic = Traffic(blue, 100 - blue, "green" if blue >= 100 - blue else "blue")
    _runner(target, None, state, Reporter(quiet=True)).switch_all(traffic)


def _apply(
    target: Target, record: Any, out: Reporter, state: PromotionState, decision: Decision, old: PromotionState
) -> PromotionState:
    """Carry out one decision: the state first (intent), then the traffic it names."""
    out.phase("info" if decision.action == "wait" else "ok", decision.action, decision.reason)
    if decision.action == "wait":
        return state
    new = machine.after(state, decision, time.time())
    if decision.action == "rollback":
        return _roll_back(target, record, out, new, old)
    saved = save(record, new, old, decision.action)
    Runner._maybe_pause(f"promotion-{decision.action}")  # test-only: a kill between the state and the switch
    if decision.action == "step":
        _switch(target, record, saved, split(saved.canary_color, saved.weight).blue)  # type: ignore[arg-type]
    elif decision.action == "monitor":
        _go_all_in(target, record, saved)
    elif decision.action == "promote":
        _verdict(record, saved, "Successful")
        record.mark_known_good(saved.version)
    out.line(f"  promotion of {saved.version}: {describe(saved)}")
    return saved


def _go_all_in(target: Target, record: Any, state: PromotionState) -> None:
    """100 % to the canary; the stable color stays warm through the monitor window and warm_seconds."""
    _switch(target, record, state, 100 if state.canary_color == "blue" else 0)
    record.switched(state.version, state.canary_color, reason="promotion: monitor window")
    seconds = state.monitor_seconds + target.settings.warm_seconds
    for host in target.hosts:
        until = target.write_warm(host, state.stable_color, state.stable_version, seconds)  # type: ignore[arg-type]
    record.warm(state.stable_color, state.stable_version, until)


def _roll_back(
    target: Target, record: Any, out: Reporter, new: PromotionState, old: PromotionState
) -> PromotionState:
    """Every host back to the stable color (fleet-atomic), the canary drained and stopped; the version
    is no longer known good, and the history shows a rollback (DORA, postmortems)."""
    if old.status != machine.ROLLING_BACK:
        old = save(record, new, old, "rollback")
    record.begin(kind="rollback", version=old.stable_version, strategy="promotion", actor=record.actor,
                 reason=old.reason, previous_version=old.version)  # fmt: skip
    runner = _runner(target, record, old, out)
    runner.switch_back(old.canary_color)  # type: ignore[arg-type]
    _verdict(record, old, "Failed")
    record.rolled_back_from(old.version, old.reason)
    record.finish("succeeded", old.reason, live_version=old.stable_version, live_color=old.stable_color,
                  figures=runner.run.figures)  # fmt: skip
    done = save(record, replace(old, status=machine.ROLLED_BACK), old, "rolled-back")
    out.line(f"  promotion of {done.version}: rolled back to {done.stable_version} on {done.stable_color}")
    return done


def _verdict(record: Any, state: PromotionState, phase: str) -> None:
    """The promotion's outcome is the verification of the deploy that started it (history, status)."""
    if state.deployment_id is not None:
        record.state.record_verification(state.deployment_id, phase, f"{phase}: promotion {state.reason}")
