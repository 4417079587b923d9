"""The gates around a switch, as the orchestrator calls them: health, smoke, baseline, verification.

The checks themselves live in cicd.checks; this module adapts them to the deploy target (which URL,
which host to probe from, which access log to read) and returns one GateResult the runner prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cicd.deploy.runtimes.base import Color, Slot
from cicd.hosts.base import Host

if TYPE_CHECKING:
    from cicd.config.deploy import DeploySettings
    from cicd.deploy.target import Target

BASELINE_LOOKBACK_SECONDS = 60.0


@dataclass(frozen=True)
class GateResult:
    ok: bool
    summary: str
    figures: dict[str, float] = field(default_factory=dict)
    detail: Any = None  # the checks' own result object (baseline, verification report)
    phase: str | None = None  # a verification's verdict: Successful, Failed, Inconclusive, Error


def prober_for(host: Host):
    """Probe from where the target is (the host knows how: directly here, with curl over ssh)."""
    return host.probe


def slot_url(slot: Slot) -> str:
    return f"http://{slot.upstream}"


def wait_healthy(host: Host, slot: Slot, settings: DeploySettings, is_alive=None) -> GateResult:
    from cicd.checks.health import wait_healthy as check_health

    result = check_health(slot_url(slot), settings.health, is_alive=is_alive, prober=prober_for(host))
    where = f"{slot.color} on {host.name}"
    if result.ok:
        return GateResult(True, f"{where} {result.reason}", {"health_seconds": result.elapsed_s}, result)
    return GateResult(False, f"{where} failed its health gate: {result.reason}", {}, result)


def probe_health(host: Host, slot: Slot, settings: DeploySettings) -> bool:
    """One health request, no waiting (idempotency checks, warm rollback)."""
    url = f"{slot_url(slot)}{settings.health.path}"
    answer = prober_for(host)(url, host_header=settings.health.host_header, timeout=2.0)
    return answer.status == settings.health.expected_status


def run_smoke(host: Host, preview_listen: str, settings: DeploySettings) -> GateResult:
    from cicd.checks.smoke import run_smoke as check_smoke

    report = check_smoke(
        f"http://{preview_listen}", settings.smoke, settings.health.host_header, prober=prober_for(host)
    )
    return GateResult(report.ok, report.reason, {}, report)


def log_source(host: Host, path: str):
    """The router's access log as the checks read it (a file here, commands on a remote host)."""
    return host.log_source(path)


def _live_url(target: Target) -> str:
    return f"http://{target.settings.router.listen}"


def measure_baseline(target: Target, color: Color) -> GateResult:
    """The live (old) color's figures on every host, before the switch."""
    from cicd.checks.baseline import measure_baseline as check_baseline

    settings = target.settings
    per_host = {}
    for host in target.hosts:
        log = log_source(host, target.router.access_log_path(host))
        traffic = target.router.read(host)
        # Only requests since this color went live: an earlier version on the same port is not the baseline.
        since = traffic.live_since if traffic and traffic.live_since else 0.0
        lookback = round(max(0.5, min(BASELINE_LOOKBACK_SECONDS, time.time() - since)), 1)
        per_host[host.name] = check_baseline(
            _live_url(target),
            settings.verification,
            settings.health,
            log=log,
            upstreams={target.slot(color).upstream},
            prober=prober_for(host),
            lookback_seconds=lookback,
        )
    first = per_host[target.primary.name]
    stats = first.stats
    figures = {
        k: v
        for k, v in (("requests", stats.requests), ("error_rate", stats.error_rate), ("p95_ms", stats.p95_ms))
        if v is not None
    }
    summary = f"{color}: {stats.describe()} ({first.source})"
    return GateResult(True, summary, figures, per_host)


def verify(target: Target, color: Color, window_seconds: float, baseline: GateResult | None) -> GateResult:
    """Watch every host's live traffic on `color` for the window; stop at the first breach."""
    from cicd.checks.verify import VerificationRun, top_up_limit

    settings = target.settings
    verification = settings.verification.model_copy(update={"window_seconds": window_seconds})
    runs = {}
    for host in target.hosts:
        base = (baseline.detail or {}).get(host.name) if baseline else None
        runs[host.name] = VerificationRun(
            _live_url(target),
            verification,
            settings.health,
            log=log_source(host, target.router.access_log_path(host)),
            upstreams={target.slot(color).upstream},
            baseline=base,
            prober=prober_for(host),
        )
        runs[host.name].start()
    ticks = 0
    started = time.monotonic()
    while window_seconds > 0 and not any(run.done for run in runs.values()):
        ticks += 1
        due = min(ticks * verification.interval_seconds, window_seconds)
        time.sleep(max(0.0, due - (time.monotonic() - started)))
        for run in runs.values():
            run.tick()
        if due >= window_seconds:
            break
    if window_seconds > 0:  # a quiet window: active probes until min_samples, then the verdict
        for run in runs.values():
            run.top_up(top_up_limit(verification))
    results = {name: run.finish() for name, run in runs.items()}
    worst = (
        next((r for r in results.values() if r.breached), None)
        or next((r for r in results.values() if not r.ok), None)
        or results[target.primary.name]
    )
    live = worst.cumulative
    figures = {
        k: v
        for k, v in (
            ("verify_requests", live.requests),
            ("verify_error_rate", live.error_rate),
            ("verify_p95_ms", live.p95_ms),
            ("detect_after_s", worst.detect_after_s),
        )
        if v is not None
    }
    hosts = f" on {len(results)} hosts" if len(results) > 1 else ""
    # "Successful: ..." and "Inconclusive: ..." read well; a breach reads "verification failed: <reason>".
    summary = f"{worst.reason}{hosts}" if worst.breached else f"{worst.phase.value}{hosts}: {worst.reason}"
    return GateResult(not worst.breached, summary, figures, results, worst.phase.value)
