"""How the canary has done since its step began, judged in one pass over the access log.

A scheduled `advance` must not hold a runner for a verification window: the window already happened.
It reads the lines the router logged since the step began (their $msec time), the canary's against the
stable color's in the same period (Kayenta's concurrent baseline; the baseline measured before the
start once the stable color has no traffic left), and asks the canary slot's health check directly.
The thresholds and their wording are verification's own (checks/verdict.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from cicd.checks.accesslog import parse_lines
from cicd.checks.logsource import LogUnavailableError
from cicd.checks.metrics import WindowStats, samples_from_records, window_stats
from cicd.checks.verdict import Baseline, threshold_breach
from cicd.deploy import gates
from cicd.promotion.machine import ERROR, FAILED, INCONCLUSIVE, SUCCESSFUL, PromotionState, Verdict

if TYPE_CHECKING:
    from cicd.deploy.target import Target
    from cicd.hosts.base import Host

# How much of the access log's end one judgement reads (the log is rotated well before it matters).
MAX_LOG_BYTES = 16 * 1024 * 1024
PROBE_PAUSE_SECONDS = 0.2


def judge(target: Target, state: PromotionState, now: float | None = None) -> Verdict:
    """The worst verdict over every host."""
    now = time.time() if now is None else now
    verdicts = [_judge_host(target, host, state, now) for host in target.hosts]
    order = (FAILED, ERROR, INCONCLUSIVE, SUCCESSFUL)
    worst = min(verdicts, key=lambda verdict: order.index(verdict.phase))
    where = f" on {len(verdicts)} hosts" if len(verdicts) > 1 else ""
    return Verdict(worst.phase, worst.summary + where)


def _judge_host(target: Target, host: Host, state: PromotionState, now: float) -> Verdict:
    settings = target.settings.verification
    unhealthy = _health_problem(target, host, state)
    if unhealthy:
        return Verdict(FAILED, unhealthy)
    try:
        lines = host.log_source(target.router.access_log_path(host)).read_recent(MAX_LOG_BYTES)
    except LogUnavailableError as err:
        return Verdict(ERROR, f"metrics source broken: {err}")
    records = [record for record in parse_lines(lines)[0] if record.time >= state.entered_at]
    canary = window_stats(samples_from_records(records, {target.slot(state.canary_color).upstream}))  # type: ignore[arg-type]
    stable = window_stats(samples_from_records(records, {target.slot(state.stable_color).upstream}))  # type: ignore[arg-type]
    elapsed = max(0.001, now - state.entered_at)
    breach = threshold_breach(
        interval=canary, interval_s=elapsed, cumulative=canary, elapsed_s=elapsed, settings=settings,
        baseline=_baseline(state, stable, settings.min_samples),
    )  # fmt: skip
    breach = breach or _query_breach(target)
    if breach:
        return Verdict(FAILED, f"{state.version}: {breach}")
    if canary.requests < settings.min_samples:
        return Verdict(INCONCLUSIVE, f"only {canary.requests} request(s) to {state.version} so far, "
                       f"need {settings.min_samples} to judge")  # fmt: skip
    return Verdict(SUCCESSFUL, f"{state.version}: {canary.describe()} (stable: {stable.describe()})")


def _baseline(state: PromotionState, stable: WindowStats, min_samples: int) -> Baseline | None:
    if stable.requests >= min_samples:
        return Baseline(stable, "stable color, same period")
    recorded = state.baseline
    if not recorded.get("requests"):
        return None
    stats = WindowStats(
        requests=int(recorded["requests"]),
        errors=round(float(recorded.get("error_rate") or 0) * int(recorded["requests"])),
        p95_ms=recorded.get("p95_ms"),
    )
    return Baseline(stats, "stable color before the promotion")


def _health_problem(target: Target, host: Host, state: PromotionState) -> str | None:
    """The canary slot failing its health check max_probe_failures times in a row."""
    slot = target.slot(state.canary_color)  # type: ignore[arg-type]
    tries = target.settings.verification.max_probe_failures
    for attempt in range(tries):
        if gates.probe_health(host, slot, target.settings):
            return None
        if attempt + 1 < tries:
            time.sleep(PROBE_PAUSE_SECONDS)
    where = f"{state.canary_color} on {host.name}"
    return f"{state.version} ({where}) failed its health check {tries} times in a row"


def _query_breach(target: Target) -> str | None:
    prometheus = target.settings.verification.prometheus
    if prometheus is None:
        return None
    from cicd.metrics.promql import QueryUnavailableError, first_breach

    try:
        return first_breach(prometheus)
    except QueryUnavailableError:  # an unreadable Prometheus alone is no reason to roll back
        return None
