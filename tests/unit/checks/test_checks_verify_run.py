"""The verification loop and the baseline, driven with a real HTTP server and a log file the test
writes (the nginx-backed runs are in tests/integration/checks)."""

from __future__ import annotations

import json
import socket
import time

from cicd.checks import FileLogSource, Phase, VerificationRun, measure_baseline, verify
from cicd.checks.metrics import WindowStats
from cicd.checks.verdict import Baseline
from cicd.config.deploy import HealthCheck, Verification

UPSTREAM = "127.0.0.1:9002"
HEALTH = HealthCheck(path="/ok", expected_status=200)


def line(status: int, seconds: float = 0.004, upstream: str = UPSTREAM, at: float | None = None) -> str:
    return f"{at or time.time():.3f}\t{status}\t{seconds}\t{upstream}\t{status}\t{seconds}\t/api\t-\n"


def write(path, *lines: str) -> None:
    with open(path, "a") as handle:
        handle.writelines(lines)


def test_probes_alone_judge_a_service_without_a_log(http_server):
    reports = []
    settings = Verification(window_seconds=1.2, interval_seconds=0.1)
    result = verify(
        http_server, settings, HEALTH, log=None, upstreams=None, baseline=None, on_interval=reports.append
    )
    assert result.phase is Phase.SUCCESSFUL, result.reason
    assert result.cumulative.probes == result.cumulative.requests >= 10
    assert [r.index for r in reports] == list(range(1, len(reports) + 1)) and len(reports) == result.intervals
    assert 1.1 <= result.elapsed_s < 4.0
    json.dumps(result.as_dict())


def test_step_by_step_a_breach_must_repeat_before_it_fails(http_server, tmp_path):
    log_path = tmp_path / "access.log"
    log_path.write_text(line(200) * 5)  # before the run: ignored
    run = VerificationRun(
        http_server,
        Verification(window_seconds=60),
        HEALTH,
        log=FileLogSource(str(log_path)),
        upstreams={UPSTREAM},
        baseline=None,
    )
    run.start()
    write(log_path, *[line(500)] * 6, *[line(200)] * 14)  # 30 %
    first = run.tick()
    assert first.phase is Phase.RUNNING and first.reason.startswith("error rate 30.0 % > 5.0 %")
    assert first.interval.requests == 20 and first.probe is not None and first.probe.status == 200
    write(log_path, *[line(500)] * 10, *[line(200)] * 10)
    second = run.tick()
    assert second.phase is Phase.FAILED and run.done
    result = run.finish()
    assert result.phase is Phase.FAILED and result.reason.startswith(
        "error rate 50.0 % > 5.0 % over 20 requests"
    )
    assert result.detected_at is not None and result.detect_after_s is not None and result.breached


def test_a_single_bad_interval_is_forgiven(http_server, tmp_path):
    log_path = tmp_path / "access.log"
    log_path.write_text("")
    run = VerificationRun(
        http_server,
        Verification(window_seconds=60),
        HEALTH,
        log=FileLogSource(str(log_path)),
        upstreams={UPSTREAM},
        baseline=None,
    )
    run.start()
    write(log_path, line(502), *[line(200)] * 9)
    assert run.tick().phase is Phase.RUNNING
    write(log_path, *[line(200)] * 100)
    assert run.tick().phase is Phase.RUNNING
    assert run.finish().phase is Phase.SUCCESSFUL


def test_lines_for_other_upstreams_and_foreign_lines_are_ignored(http_server, tmp_path):
    log_path = tmp_path / "access.log"
    log_path.write_text("")
    run = VerificationRun(
        http_server,
        Verification(window_seconds=60, min_samples=5),
        HEALTH,
        log=FileLogSource(str(log_path)),
        upstreams={UPSTREAM},
        baseline=None,
    )
    run.start()
    write(log_path, *[line(500, upstream="127.0.0.1:9001")] * 50, "garbage line\n", *[line(200)] * 5)
    report = run.tick()
    assert report.interval.requests == 5 and report.interval.errors == 0
    assert run.finish().skipped_lines == 1


def test_failing_probe_path_fails_the_version(http_server):
    settings = Verification(window_seconds=5, interval_seconds=0.05, probe_path="/status/500")
    result = verify(http_server, settings, HEALTH, log=None, upstreams=None, baseline=None)
    assert (
        result.phase is Phase.FAILED
        and result.reason == "health probe failed 3 times in a row (last: HTTP 500)"
    )
    assert result.elapsed_s < 1


def test_probe_path_4xx_is_not_a_failure(http_server):
    settings = Verification(window_seconds=0.5, interval_seconds=0.05, probe_path="/status/404")
    assert verify(http_server, settings, HEALTH, log=None, upstreams=None, baseline=None).ok


def test_zero_window_skips_verification(http_server):
    result = verify(
        http_server, Verification(window_seconds=0), HEALTH, log=None, upstreams=None, baseline=None
    )
    assert result.ok and result.reason == "verification skipped (window_seconds is 0)"


def test_baseline_from_recent_log_history_costs_no_probe(http_server, tmp_path):
    log_path = tmp_path / "access.log"
    old = time.time() - 600
    log_path.write_text(line(500, at=old) * 50 + line(200, seconds=0.010, upstream="127.0.0.1:9001") * 30)
    source = FileLogSource(str(log_path))
    baseline = measure_baseline(http_server, Verification(), HEALTH, log=source, upstreams={"127.0.0.1:9001"})
    assert baseline.source == "access log, last 60 s"
    assert baseline.stats.requests == 30 and baseline.stats.errors == 0 and baseline.stats.p95_ms == 10.0
    write(log_path, line(200))
    assert len(source.read_new()) == 1  # left positioned at the end, for verify(skip_existing=False)


def test_baseline_falls_back_to_probes(http_server, tmp_path):
    settings = Verification(min_samples=5)
    quiet = measure_baseline(
        http_server, settings, HEALTH, log=FileLogSource(str(tmp_path / "empty.log")), upstreams=None
    )
    assert quiet.stats.requests == 20 and quiet.stats.probes == 20  # a p95 needs 20
    assert quiet.source.startswith("access log unreadable: access log") and quiet.source.endswith(
        "20 probe(s)"
    )
    no_log = measure_baseline(http_server, settings, HEALTH, log=None, upstreams=None)
    assert no_log.source == "20 probe(s)" and no_log.stats.p95_ms is not None


def test_baseline_probes_are_bounded_in_time_whatever_min_samples_asks(http_server):
    # It runs before the switch: a huge min_samples must not hold the deploy for minutes.
    started = time.monotonic()
    baseline = measure_baseline(
        http_server, Verification(min_samples=100_000), HEALTH, log=None, upstreams=None, probe_limit_s=0.3
    )
    assert time.monotonic() - started < 5.0
    probes = int(baseline.source.split(" ")[0])
    assert 0 < probes < 100_000 and baseline.stats.requests == probes


def test_latency_regression_against_a_baseline(http_server, tmp_path):
    log_path = tmp_path / "access.log"
    log_path.write_text("")
    baseline = Baseline(WindowStats(requests=100, p50_ms=8, p95_ms=10, p99_ms=12), "test")
    run = VerificationRun(
        http_server,
        Verification(window_seconds=60, breach_intervals=1),
        HEALTH,
        log=FileLogSource(str(log_path)),
        upstreams={UPSTREAM},
        baseline=baseline,
    )
    run.start()
    write(log_path, *[line(200, seconds=0.080)] * 20)
    report = run.tick()
    assert report.phase is Phase.FAILED and report.reason.startswith(
        "p95 latency 80.0 ms > 2x baseline floor 25.0 ms"
    )


def test_unanswered_baseline_probes_do_not_excuse_errors(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nothing_live = f"http://127.0.0.1:{sock.getsockname()[1]}"
    baseline = measure_baseline(nothing_live, Verification(min_samples=3), HEALTH, log=None, upstreams=None)
    assert baseline.stats.requests == 0 and baseline.source == "20 probe(s), 20 unanswered"
    assert baseline.latency_reference_ms(Verification()) is None


def test_interval_reports_read_as_progress_lines(http_server, tmp_path):
    log_path = tmp_path / "access.log"
    log_path.write_text("")
    settings = Verification(window_seconds=60, min_samples=2, breach_intervals=1)
    run = VerificationRun(
        http_server, settings, HEALTH, log=FileLogSource(str(log_path)), upstreams={UPSTREAM}, baseline=None
    )
    run.start()
    write(log_path, line(200), line(200))
    calm = run.tick().describe()
    assert calm.startswith("[") and "] 2 requests, 0.0% errors, p95 4.0 ms (total: 2 requests" in calm
    write(log_path, line(500), line(500))
    failed = run.tick().describe()
    assert "-> Failed: error rate 100.0 % > 5.0 % over 2 requests in " in failed


def test_concurrent_baseline_from_the_stable_color_in_the_same_window(http_server, tmp_path):
    log_path = tmp_path / "access.log"
    log_path.write_text("")
    stale = Baseline(WindowStats(requests=100, p50_ms=8, p95_ms=10, p99_ms=12), "measured an hour ago")
    stable = "127.0.0.1:9001"

    def run_with(concurrent):
        run = VerificationRun(
            http_server,
            Verification(window_seconds=60, breach_intervals=1),
            HEALTH,
            log=FileLogSource(str(log_path)),
            upstreams={UPSTREAM},
            baseline=stale,
            concurrent_upstreams=concurrent,
        )
        run.start()
        # the whole machine got slower: stable and canary alike
        write(log_path, *[line(200, seconds=0.050, upstream=stable)] * 20, *[line(200, seconds=0.060)] * 20)
        return run, run.tick()

    _, alone = run_with(None)
    assert alone.phase is Phase.FAILED and "baseline floor 25.0 ms" in alone.reason  # floored
    run, together = run_with({stable})
    assert together.phase is Phase.RUNNING
    result = run.finish()
    assert result.baseline is not None and result.baseline.source == "stable color, same window"
    assert "(baseline 50.0 ms)" in result.reason


def test_a_log_in_another_format_is_a_broken_metrics_source(http_server, tmp_path):
    log_path = tmp_path / "access.log"
    log_path.write_text("")
    settings = Verification(window_seconds=60, consecutive_error_limit=2)
    run = VerificationRun(
        http_server, settings, HEALTH, log=FileLogSource(str(log_path)), upstreams=None, baseline=None
    )
    run.start()
    combined = '127.0.0.1 - - [22/Nov/2026:07:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"\n'
    write(log_path, combined * 3)
    assert run.tick().log_error is not None
    write(log_path, combined)
    report = run.tick()
    assert report.phase is Phase.ERROR
    assert "has 1 line(s) not in the cicd_access format" in report.reason
