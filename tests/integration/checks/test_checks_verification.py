"""Post-switch verification against real nginx, real upstream processes and real traffic."""

from __future__ import annotations

import time

import pytest
from checks_harness import Load

from cicd.checks import FileLogSource, Phase, measure_baseline, verify
from cicd.config.deploy import HealthCheck, Verification

pytestmark = pytest.mark.integration

HEALTH = HealthCheck(path="/healthz", interval_seconds=0.1, timeout_seconds=5)


def settings(**overrides: float) -> Verification:
    values = {"window_seconds": 3.0, "interval_seconds": 0.25, **overrides}
    return Verification(**values)


def switch_and_verify(router, old_port: int, new_port: int, verification: Verification, **kwargs):
    """What the orchestrator does: baseline on the old color, switch, verify the new one."""
    log = FileLogSource(str(router.access_log))
    baseline = measure_baseline(
        router.url, verification, HEALTH, log=log, upstreams={f"127.0.0.1:{old_port}"}
    )
    router.switch(new_port)
    switched = time.monotonic()
    result = verify(
        router.url,
        verification,
        HEALTH,
        log=log,
        upstreams={f"127.0.0.1:{new_port}"},
        baseline=baseline,
        skip_existing=False,
        **kwargs,
    )
    return baseline, result, time.monotonic() - switched


def test_healthy_new_version_passes_the_whole_window(upstream, router):
    old, new = upstream(), upstream()
    nginx = router(old)
    reports = []
    with Load(nginx.port) as load:
        time.sleep(0.3)
        baseline, result, took = switch_and_verify(nginx, old, new, settings(), on_interval=reports.append)
    assert result.phase is Phase.SUCCESSFUL, result.reason
    assert result.ok and not result.breached
    assert result.cumulative.requests >= 50 and result.cumulative.errors == 0
    assert baseline.stats.requests >= 10 and "access log" in baseline.source
    assert took >= 2.9  # the whole window was watched
    assert len(reports) == result.intervals >= 10 and all(r.phase is Phase.RUNNING for r in reports)
    assert " 0.0 %" in result.reason and "baseline" in result.reason
    assert None not in load.statuses


def test_new_version_with_30_percent_errors_fails_within_seconds(upstream, router):
    old, new = upstream(), upstream(error_share=0.3)
    nginx = router(old)
    with Load(nginx.port):
        time.sleep(0.3)
        _, result, took = switch_and_verify(nginx, old, new, settings(window_seconds=10.0))
    assert result.phase is Phase.FAILED
    assert result.reason.startswith("error rate ") and "> 5.0 %" in result.reason, result.reason
    # well inside the 10 s window
    assert took < 6.0 and result.detect_after_s is not None and result.detect_after_s < 5.0
    assert 0.2 <= result.cumulative.error_rate <= 0.4


def test_five_times_slower_version_fails_on_latency(upstream, router):
    # sleeps, not CPU: a busy machine adds its queueing delay to both colors alike
    old, new = upstream(delay_ms=40), upstream(delay_ms=200)
    nginx = router(old)
    with Load(nginx.port, threads=8, pause_s=0.02):
        time.sleep(0.3)
        baseline, result, _ = switch_and_verify(nginx, old, new, settings(window_seconds=10.0))
    assert result.phase is Phase.FAILED, result.reason
    assert result.reason.startswith("p95 latency ") and "2x baseline" in result.reason
    assert baseline.stats.p95_ms is not None and baseline.stats.p95_ms < 100
    assert result.cumulative.p95_ms is not None and result.cumulative.p95_ms >= 200
    assert result.detect_after_s is not None and result.detect_after_s < 3


def test_quiet_service_is_judged_on_probes_alone(upstream, router):
    old, new = upstream(), upstream()
    nginx = router(old)
    # no user traffic: the probes through the live listener are the only data, and they are enough
    _, result, _ = switch_and_verify(nginx, old, new, settings(window_seconds=2.0, min_samples=5))
    assert result.phase is Phase.SUCCESSFUL, result.reason
    assert 5 <= result.cumulative.requests <= 10


def test_a_quiet_window_is_topped_up_with_probes_until_min_samples_then_judged(upstream, router):
    old, new = upstream(), upstream()
    nginx = router(old)
    # one probe per 0.25 s interval gives about 4 in the window; active probes then fill it up to 20,
    # counted from nginx's access log like user traffic
    _, result, _ = switch_and_verify(nginx, old, new, settings(window_seconds=1.0, min_samples=20))
    assert result.phase is Phase.SUCCESSFUL, result.reason
    assert result.cumulative.requests >= 20


def test_too_few_samples_even_after_the_top_up_is_inconclusive(upstream, router):
    old, new = upstream(), upstream()
    nginx = router(old)
    # the top-up probes for at most another window, at least 5 s: far fewer than 5000 requests
    _, result, _ = switch_and_verify(nginx, old, new, settings(window_seconds=0.5, min_samples=5000))
    assert result.phase is Phase.INCONCLUSIVE
    assert result.reason.startswith("only ") and "need 5000" in result.reason


def test_missing_access_log_is_an_error_not_a_failure(upstream, router, tmp_path):
    nginx = router(upstream())
    missing = FileLogSource(str(tmp_path / "nowhere" / "access.log"))
    result = verify(
        nginx.url, settings(window_seconds=10.0), HEALTH, log=missing, upstreams=None, baseline=None
    )
    assert result.phase is Phase.ERROR and result.breached
    assert "does not exist" in result.reason and "4 reads in a row" in result.reason
    assert result.elapsed_s < 6.0  # 4 intervals of 0.25 s, not the 10 s window


def test_failing_health_probes_fail_a_version_without_traffic(upstream, router):
    old, new = upstream(), upstream(health_status=503)
    nginx = router(old)
    log = FileLogSource(str(nginx.access_log))
    nginx.switch(new)
    result = verify(nginx.url, settings(window_seconds=10.0), HEALTH, log=log, upstreams=None, baseline=None)
    assert result.phase is Phase.FAILED
    assert "health probe failed 3 times in a row" in result.reason and "HTTP 503" in result.reason


def test_log_rotated_by_nginx_reopen_is_followed(upstream, router):
    port = upstream()
    nginx = router(port)
    log = FileLogSource(str(nginx.access_log))
    reports = []

    def rotate_once(report):
        reports.append(report)
        if report.index == 3:
            nginx.access_log.rename(nginx.access_log.with_suffix(".log.1"))
            nginx.signal("reopen")

    with Load(nginx.port, threads=2):
        result = verify(
            nginx.url,
            settings(window_seconds=2.0),
            HEALTH,
            log=log,
            upstreams={f"127.0.0.1:{port}"},
            baseline=None,
            on_interval=rotate_once,
        )
    assert result.phase is Phase.SUCCESSFUL, result.reason
    assert result.log_errors == 0
    assert all(r.interval.requests > 0 for r in reports[4:]), [r.interval.requests for r in reports]


def test_log_truncated_in_place_is_followed(upstream, router):
    port = upstream()
    nginx = router(port)
    log = FileLogSource(str(nginx.access_log))
    reports = []

    def copytruncate_once(report):
        reports.append(report)
        if report.index == 3:
            with nginx.access_log.open("r+") as handle:
                handle.truncate(0)

    with Load(nginx.port, threads=2):
        result = verify(
            nginx.url,
            settings(window_seconds=2.0),
            HEALTH,
            log=log,
            upstreams={f"127.0.0.1:{port}"},
            baseline=None,
            on_interval=copytruncate_once,
        )
    assert result.phase is Phase.SUCCESSFUL, result.reason
    assert all(r.interval.requests > 0 for r in reports[4:]), [r.interval.requests for r in reports]


def test_canary_is_compared_with_the_stable_color_in_the_same_window(upstream, router):
    stable, canary = upstream(delay_ms=40), upstream(delay_ms=200)
    nginx = router(stable, canary)  # one upstream, both servers: a 50 % canary
    with Load(nginx.port, threads=8, pause_s=0.02):
        result = verify(
            nginx.url,
            settings(window_seconds=10.0),
            HEALTH,
            log=FileLogSource(str(nginx.access_log)),
            upstreams={f"127.0.0.1:{canary}"},
            baseline=None,
            concurrent_upstreams={f"127.0.0.1:{stable}"},
        )
    assert result.phase is Phase.FAILED and result.reason.startswith("p95 latency "), result.reason
    assert result.baseline is not None and result.baseline.source == "stable color, same window"
    assert result.detect_after_s is not None and result.detect_after_s < 4
