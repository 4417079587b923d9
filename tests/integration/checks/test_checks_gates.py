"""Health gate and smoke tests against real processes: the sample service, a dead process, nginx."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from checks_harness import free_port, stop_process

from cicd.checks import run_smoke, wait_healthy
from cicd.config.deploy import HealthCheck, SmokeCheck

pytestmark = pytest.mark.integration


@pytest.fixture
def sample_service(sample_service_env):
    procs: list[subprocess.Popen] = []

    def start(version: str = "1.2.3") -> tuple[subprocess.Popen, str]:
        port = free_port()
        argv = [sys.executable, "-m", "sample_service.app", "--port", str(port), "--version", version]
        procs.append(subprocess.Popen(argv, env=sample_service_env, stderr=subprocess.DEVNULL))
        return procs[-1], f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        stop_process(proc)


def test_gate_passes_once_the_sample_service_answers(sample_service):
    proc, url = sample_service()
    result = wait_healthy(
        url, HealthCheck(interval_seconds=0.05, timeout_seconds=10), is_alive=lambda: proc.poll() is None
    )
    assert result.ok, result.reason
    assert result.reason.startswith("healthy after ") and "/healthz answered 200" in result.reason
    assert result.attempt_count >= 1 and not result.died


def test_gate_times_out_with_a_diagnosis_when_nothing_listens():
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = wait_healthy(url, HealthCheck(interval_seconds=0.1, timeout_seconds=1.0))
    took = time.monotonic() - started
    assert not result.ok and not result.died
    assert 1.0 <= took < 5.0  # the 1 s timeout, not an endless wait
    assert result.attempt_count >= 5
    assert result.outcomes == {"connection refused": result.attempt_count}
    assert f"{url}/healthz did not answer 200 within 1 s" in result.reason
    assert "connection refused" in result.reason and result.last_error == "connection refused"


def test_gate_reports_the_wrong_status_it_kept_getting(upstream):
    port = upstream(health_status=503)
    result = wait_healthy(f"http://127.0.0.1:{port}", HealthCheck(interval_seconds=0.1, timeout_seconds=0.5))
    assert not result.ok
    assert "HTTP 503" in result.reason and result.last_attempts[-1].body_excerpt == "health 503\n"


def test_gate_fails_fast_when_the_process_died(sample_service_env):
    port = free_port()
    crashing = "import sys, time; time.sleep(0.3); sys.exit(3)"
    proc = subprocess.Popen([sys.executable, "-c", crashing], env=sample_service_env)
    try:
        started = time.monotonic()
        result = wait_healthy(
            f"http://127.0.0.1:{port}",
            HealthCheck(interval_seconds=0.1, timeout_seconds=30),
            is_alive=lambda: proc.poll() is None,
        )
        took = time.monotonic() - started
    finally:
        stop_process(proc)
    assert not result.ok and result.died
    assert took < 10.0  # not the 30 s timeout
    assert "stopped running" in result.reason and "connection refused" in result.reason


def test_gate_fails_at_once_when_the_process_is_already_gone(sample_service_env):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    result = wait_healthy(
        f"http://127.0.0.1:{free_port()}",
        HealthCheck(timeout_seconds=30),
        is_alive=lambda: proc.poll() is None,
    )
    assert result.died and result.attempt_count == 0 and "exited before the first check" in result.reason


def test_gate_sends_the_host_header_through_nginx_virtual_hosts(upstream, router):
    nginx = router(upstream())
    result = wait_healthy(
        nginx.url, HealthCheck(interval_seconds=0.1, timeout_seconds=5, host_header="app.test")
    )
    assert result.ok, result.reason


def test_smoke_runs_every_check_and_reports_every_failure(sample_service):
    _proc, url = sample_service("2.0.0")
    assert wait_healthy(url, HealthCheck(interval_seconds=0.05, timeout_seconds=10)).ok
    checks = [
        SmokeCheck(name="version", path="/version", contains='"version": "2.0.0"'),
        SmokeCheck(name="missing", path="/nope"),
        SmokeCheck(name="quote", path="/api/quote?sku=widget&quantity=2", contains='"total": "9.99"'),
        SmokeCheck(name="bad-quote", path="/api/quote?sku=widget&quantity=-1", expected_status=400),
        SmokeCheck(name="head", path="/healthz", method="HEAD"),
    ]
    report = run_smoke(url, checks)
    assert not report.ok
    assert [r.name for r in report.results] == ["version", "missing", "quote", "bad-quote", "head"]
    assert [r.name for r in report.failures] == ["missing", "quote"]
    assert report.reason.startswith(
        "2 of 5 smoke check(s) failed: missing: GET /nope answered 404, expected 200"
    )
    assert (
        'quote: GET /api/quote?sku=widget&quantity=2: body does not contain \'"total": "9.99"\''
        in report.reason
    )


def test_smoke_passes_through_the_preview_route_and_reports_an_unreachable_target(upstream, router):
    nginx = router(upstream())
    assert run_smoke(nginx.url, [SmokeCheck(name="api", path="/api/x", contains="ok from")]).ok
    dead = run_smoke(f"http://127.0.0.1:{free_port()}", [SmokeCheck(name="api", path="/api/x")], timeout=1)
    assert not dead.ok and dead.failures[0].problem == "GET /api/x: connection refused"
