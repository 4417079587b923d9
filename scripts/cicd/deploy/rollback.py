"""`cicd rollback`: back to the warm previous color without restarting anything, or to a retained
version through the full gate, or a RollbackError saying why neither is possible.

The default target is a known-good release (one whose verification was Successful) other than the live
one: the warm one when it is known good, else the newest known good. A version rolled back from is no
longer known good, so a second `cicd rollback` never puts it back; `--to VERSION` chooses any retained
version (for instance to undo a mistaken rollback).

Warm: the idle color still runs the wanted version (within warm_seconds of the deploy that replaced
it). One health probe, one fleet-atomic switch; the version rolled away from stays warm in turn, so a
mistaken rollback is undone with `--to` the same way. Cold: the wanted version is started in the idle
color and goes through health and smoke before the switch (blue-green without baseline and verification).
"""

from __future__ import annotations

import time

from cicd.deploy.execution import Outcome, finish_run, record_failure, run_plan
from cicd.deploy.live import Live, converge, healthy, inspect, switch_all
from cicd.deploy.lockholder import steal_if_dead
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter
from cicd.deploy.routers.base import Traffic
from cicd.deploy.runtimes.base import Color
from cicd.deploy.target import Target
from cicd.errors import ConcurrencyError, RollbackError
from cicd.inputs import check_version, clean_reason
from cicd.state.client import LockLostError


def rollback(
    target: Target,
    record: Record,
    *,
    to: str | None,
    reason: str | None,
    actor: str,
    out: Reporter,
    wait: bool = False,
    steal_stale_lock: bool = False,
) -> Outcome:
    if to is not None:
        check_version(to)
    reason = clean_reason(reason)
    started = time.monotonic()
    if steal_stale_lock:
        try:
            out.phase("warn", "lock", steal_if_dead(record, target.environment, reason or "rollback"))
        except ConcurrencyError as err:
            if not wait:
                raise
            out.phase("warn", "lock", f"{err}; waiting for it instead (--wait)")
    with record.lock(
        owner=f"{actor} rollback",
        reason=f"rollback: {reason}" if reason else "rollback",
        ttl=target.settings.lock_ttl_seconds,
        wait=wait,
    ):
        # Converge first (cheap when nothing was interrupted): an expired warm slot or a leftover that
        # never went live must not be mistaken for the instant-rollback target.
        converge(target, out, record)
        live = inspect(target)
        wanted = to or default_target(live, record)[0]
        if wanted is None:
            raise RollbackError(
                f"nothing to roll back to in {target.environment}: no known-good release other than "
                f"{live.version or 'the live one'} (only a release whose verification was Successful is)",
                hint=f"name a retained version: --to VERSION (see `cicd history --env {target.environment}`)",
            )
        if wanted == live.version:
            raise RollbackError(f"{wanted} is already live in {target.environment}")
        warm = bool(live.warm_color and live.warm_version == wanted)
        if not (warm and _warm_everywhere(target, live.warm_color, wanted)):  # type: ignore[arg-type]
            warm = False
            _check_retained(target, wanted)
        record.begin(
            kind="rollback",
            version=wanted,
            strategy="rollback",
            actor=actor,
            reason=reason,
            previous_version=live.version,
        )
        if warm:
            outcome = _rollback_warm(target, record, out, live, started)
        else:
            outcome = _rollback_cold(target, record, out, live, wanted, started)
        if live.version and wanted in record.known_good_versions():
            # back to a known-good release: the version left is judged bad, never a default target again
            record.rolled_back_from(live.version, reason)
        return outcome


def default_target(live: Live, record: Record) -> tuple[str | None, str]:
    """What `cicd rollback` without --to goes to, and how: ("1.3.2", "warm" | "cold"), or (None, "")."""
    good = [version for version in record.known_good_versions() if version != live.version]
    if live.warm_version and live.warm_version in good:
        return live.warm_version, "warm"
    return (good[0], "cold") if good else (None, "")


def _warm_everywhere(target: Target, color: Color, version: str) -> bool:
    for host in target.hosts:
        status = target.runtime.status(host, target.slot(color))
        if not (status.running and status.version == version):
            return False
    return healthy(target, color)


def _rollback_warm(target: Target, record: Record, out: Reporter, live: Live, started: float) -> Outcome:
    assert live.warm_color is not None and live.color is not None
    try:
        switch_ms = _switch_to_warm(target, record, out, live)
    except BaseException as err:
        if isinstance(err, LockLostError):  # the new holder owns the environment now: hands off
            out.phase("fail", "rollback", f"{err}; stopped without touching anything more")
        else:
            failed = Outcome("failed", "rollback", live.warm_version or "", live.version, None, None, 0.0, "")
            record_failure(target, record, out, err, failed, started, live)
        raise
    seconds = time.monotonic() - started
    message = f"rolled back to {live.warm_version} on warm {live.warm_color} (was {live.version})"
    return finish_run(
        record,
        Outcome(
            "succeeded",
            "rollback",
            live.warm_version or "",
            live.version,
            live.warm_color,
            live.warm_version,
            seconds,
            message,
            {"switch_ms": round(switch_ms, 1)},
        ),
        out,
    )


def _switch_to_warm(target: Target, record: Record, out: Reporter, live: Live) -> float:
    assert live.warm_color is not None and live.color is not None
    record.check()  # the fencing token: never move traffic without holding the lock
    switch_started = time.monotonic()
    switch_all(target, Traffic.all_to(live.warm_color))
    switch_ms = (time.monotonic() - switch_started) * 1000
    record.switched(live.warm_version, live.warm_color)
    out.phase(
        "ok", "switch", f"all traffic back to warm {live.warm_color} ({live.warm_version})", switch_ms / 1000
    )
    record.phase("switch", "succeeded", switch_ms / 1000, f"to warm {live.warm_color}")
    for host in target.hosts:  # the rolled-back version stays warm: a mistaken rollback is undone instantly
        target.write_warm(host, live.color, live.version, target.settings.warm_seconds)
    record.warm(live.color, live.version, time.time() + target.settings.warm_seconds)
    return switch_ms


def _check_retained(target: Target, wanted: str) -> None:
    for host in target.hosts:
        kept = target.runtime.releases(host)
        if wanted not in kept:
            raise RollbackError(
                f"{wanted} is not retained on {host.name} (kept: {', '.join(kept) or 'none'}); deploy it "
                f"with `cicd deploy --env {target.environment} --version {wanted} --artifact PATH`"
            )


def _rollback_cold(
    target: Target, record: Record, out: Reporter, live: Live, wanted: str, started: float
) -> Outcome:
    from cicd.deploy.steps import MeasureBaseline, PrepareRelease, Verify
    from cicd.deploy.strategies import build_plan

    out.line(f"rollback to {wanted}: no warm copy, starting it through the full gate")
    plan = build_plan(target.settings, strategy="blue_green", version=wanted, artifact=None, live=live.color)
    plan = [step for step in plan if not isinstance(step, MeasureBaseline | Verify)]
    # the retained release, as it was known good: never the default artifact as it is today
    retained = PrepareRelease(wanted, None, retained=True)
    plan = [retained if isinstance(step, PrepareRelease) else step for step in plan]
    return run_plan(target, record, out, plan, "rollback", wanted, live, started)
