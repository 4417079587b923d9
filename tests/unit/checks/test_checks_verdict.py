"""Judging: thresholds, the latency floor, the sample minimum, streaks, and the end-of-window verdict."""

from __future__ import annotations

import pytest

from cicd.checks.metrics import WindowStats
from cicd.checks.verdict import Baseline, Counters, Phase, judge_end, judge_moment, threshold_breach
from cicd.config.deploy import Verification

SETTINGS = Verification(window_seconds=10, interval_seconds=0.5)


def stats(requests: int, errors: int = 0, p95: float | None = 10.0) -> WindowStats:
    return WindowStats(requests=requests, errors=errors, p50_ms=p95, p95_ms=p95, p99_ms=p95)


def baseline(requests: int = 50, errors: int = 0, p95: float | None = 10.0) -> Baseline:
    return Baseline(stats(requests, errors, p95), "access log, last 60 s")


def breach(
    interval: WindowStats,
    cumulative: WindowStats | None = None,
    base: Baseline | None = None,
    settings: Verification = SETTINGS,
) -> str | None:
    return threshold_breach(
        interval=interval,
        interval_s=0.5,
        cumulative=cumulative or interval,
        elapsed_s=3.5,
        settings=settings,
        baseline=base,
    )


def test_error_rate_reason_reads_like_a_sentence():
    assert (
        breach(stats(52, 0), stats(52, 18), baseline())
        == "error rate 34.6 % > 5.0 % over 52 requests in 3.5 s"
    )


def test_error_rate_at_the_limit_passes_and_above_fails():
    assert breach(stats(20, 1)) is None  # 5 % is not above 5 %
    assert breach(stats(20, 2)) == "error rate 10.0 % > 5.0 % over 20 requests in 0.5 s"


def test_too_few_requests_are_not_judged():
    assert breach(stats(9, 9)) is None
    assert breach(stats(10, 9)) is not None


def test_a_version_no_worse_than_the_old_one_is_not_failed_on_errors():
    assert breach(stats(100, 8), base=baseline(100, 10)) is None  # old failed 10 %, new 8 %
    assert (
        breach(stats(100, 12), base=baseline(100, 10))
        == "error rate 12.0 % > the old color's 10.0 % over 100 requests in 0.5 s"
    )


def test_latency_against_twice_the_baseline():
    assert breach(stats(20, p95=60.0), base=baseline(p95=30.0)) is None
    assert breach(stats(20, p95=61.0), base=baseline(p95=30.0)) == (
        "p95 latency 61.0 ms > 2x baseline 30.0 ms over 20 requests in 0.5 s"
    )


def test_latency_floor_keeps_tiny_baselines_from_failing_good_versions():
    assert (
        breach(stats(20, p95=45.0), base=baseline(p95=1.0)) is None
    )  # 45x of 1 ms, under 2x the 25 ms floor
    assert breach(stats(20, p95=50.5), base=baseline(p95=1.0)) == (
        "p95 latency 50.5 ms > 2x baseline floor 25.0 ms over 20 requests in 0.5 s"
    )
    tight = SETTINGS.model_copy(update={"latency_floor_ms": 0.0})
    assert breach(stats(20, p95=3.0), base=baseline(p95=1.0), settings=tight) is not None


@pytest.mark.parametrize("base", [None, baseline(requests=3), baseline(p95=None)])
def test_latency_is_not_judged_without_a_usable_baseline(base):
    assert breach(stats(50, p95=5000.0), base=base) is None


def test_cumulative_window_catches_what_each_interval_is_too_thin_to_show():
    assert breach(stats(4, 2), stats(40, 8)) == "error rate 20.0 % > 5.0 % over 40 requests in 3.5 s"


def test_breach_fails_only_after_breach_intervals_in_a_row():
    reason = "error rate 50.0 % > 5.0 % over 20 requests in 0.5 s"
    once = judge_moment(
        breach=reason, counters=Counters(breaches_in_a_row=1), settings=SETTINGS, cumulative=stats(20, 10)
    )
    twice = judge_moment(
        breach=reason, counters=Counters(breaches_in_a_row=2), settings=SETTINGS, cumulative=stats(40, 20)
    )
    assert once == (Phase.RUNNING, reason)
    assert twice == (Phase.FAILED, reason)
    hair_trigger = SETTINGS.model_copy(update={"breach_intervals": 1})
    assert (
        judge_moment(
            breach=reason,
            counters=Counters(breaches_in_a_row=1),
            settings=hair_trigger,
            cumulative=stats(20, 10),
        )[0]
        is Phase.FAILED
    )


def test_probe_failures_and_log_errors_in_a_row():
    failing = Counters(probe_failures_in_a_row=3, last_probe_problem="HTTP 503, expected 200")
    assert judge_moment(breach=None, counters=failing, settings=SETTINGS, cumulative=stats(0)) == (
        Phase.FAILED,
        "health probe failed 3 times in a row (last: HTTP 503, expected 200)",
    )
    broken = Counters(
        log_errors_in_a_row=4, last_log_error="access log /x does not exist", probe_failures_in_a_row=3
    )
    phase, reason = judge_moment(breach=None, counters=broken, settings=SETTINGS, cumulative=stats(0))
    assert phase is Phase.ERROR  # the broken metrics source is reported as such, apart from app failures
    assert reason == "metrics source broken: access log /x does not exist (4 reads in a row)"
    assert (
        judge_moment(
            breach=None, counters=Counters(log_errors_in_a_row=3), settings=SETTINGS, cumulative=stats(0)
        )[0]
        is Phase.RUNNING
    )


def end(
    cumulative: WindowStats,
    *,
    base: Baseline | None = None,
    reads_ok: int = 20,
    counters: Counters | None = None,
):
    return judge_end(
        cumulative=cumulative,
        elapsed_s=10.0,
        settings=SETTINGS,
        baseline=base,
        log_reads_ok=reads_ok,
        counters=counters or Counters(),
    )


def test_end_of_window_verdicts():
    assert end(stats(200, 1, p95=12.0), base=baseline()) == (
        Phase.SUCCESSFUL,
        "error rate 0.5 %, p95 12.0 ms (baseline floor 25.0 ms) over 200 requests in 10.0 s",
    )
    assert end(stats(3)) == (Phase.INCONCLUSIVE, "only 3 request(s) in 10.0 s, need 10 to judge")
    assert (
        end(stats(0), reads_ok=0, counters=Counters(log_errors_in_a_row=2, last_log_error="gone"))[0]
        is Phase.ERROR
    )
    assert "(no baseline)" in end(stats(50))[1]


def test_latency_needs_twenty_samples_so_one_outlier_is_not_the_p95():
    assert breach(stats(19, p95=500.0), base=baseline(p95=30.0)) is None
    assert breach(stats(20, p95=500.0), base=baseline(p95=30.0)) is not None
