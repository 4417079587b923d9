"""Samples and window figures: what counts as an error, whose latency, which percentile."""

from __future__ import annotations

from cicd.checks.accesslog import parse_line
from cicd.checks.http import ProbeResult
from cicd.checks.metrics import (
    RunningStats,
    Sample,
    percentile,
    sample_from_probe,
    samples_from_records,
    window_stats,
)

NEW = "127.0.0.1:9002"
OLD = "127.0.0.1:9001"


def record(status: int, addrs: str, statuses: str, times: str, request_time: str = "0.010"):
    parsed = parse_line(f"1795331982.003\t{status}\t{request_time}\t{addrs}\t{statuses}\t{times}\t/\t-")
    assert parsed is not None
    return parsed


def test_client_errors_are_not_errors_server_errors_are():
    samples = samples_from_records(
        [
            record(404, NEW, "404", "0.004"),
            record(500, NEW, "500", "0.004"),
            record(200, NEW, "200", "0.006"),
        ],
        {NEW},
    )
    assert [s.failed for s in samples] == [False, True, False]
    assert [s.latency_ms for s in samples] == [4.0, 4.0, 6.0]


def test_only_the_watched_upstream_counts():
    records = [record(200, OLD, "200", "0.001"), record(200, NEW, "200", "0.002")]
    assert [s.latency_ms for s in samples_from_records(records, {NEW})] == [2.0]
    assert len(samples_from_records(records, None)) == 2


def test_a_refused_attempt_hidden_by_a_retry_still_counts_against_the_new_color():
    retried = record(200, f"{NEW}, {OLD}", "502, 200", "0.000, 0.003")
    assert samples_from_records([retried], {NEW}) == [Sample(True, 0.0)]
    assert samples_from_records([retried], {OLD}) == [Sample(False, 3.0)]
    # seen from the listener as a whole, the user got a 200
    assert samples_from_records([retried], None) == [Sample(False, 3.0)]


def test_upstream_that_never_answered_is_an_error_unless_the_client_left_first():
    timed_out = record(504, NEW, "504", "1.000", request_time="1.000")
    no_answer = record(502, NEW, "-", "-", request_time="0.200")
    client_left = record(499, NEW, "-", "-", request_time="5.000")
    samples = samples_from_records([timed_out, no_answer, client_left], {NEW})
    assert [s.failed for s in samples] == [True, True, False]
    assert [s.latency_ms for s in samples] == [1000.0, 200.0, 5000.0]


def test_probe_samples():
    assert sample_from_probe(ProbeResult("u", 200, 3.0)) == Sample(False, 3.0, "probe")
    assert sample_from_probe(ProbeResult("u", 503, 3.0)).failed
    assert sample_from_probe(ProbeResult("u", None, 3.0, error="connection refused")).failed


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.50) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile(values, 0.99) == 20.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_window_stats():
    samples = [Sample(False, float(v)) for v in range(1, 19)] + [
        Sample(True, 100.0, "probe"),
        Sample(True, None),
    ]
    stats = window_stats(samples)
    assert (stats.requests, stats.errors, stats.probes) == (20, 2, 1)
    assert stats.error_rate == 0.1
    assert stats.p50_ms == 10.0 and stats.p95_ms == 100.0 and stats.p99_ms == 100.0  # 19 latencies
    assert stats.describe() == "20 requests, 10.0% errors, p95 100.0 ms"
    assert stats.as_dict()["error_rate"] == 0.1
    assert window_stats([]).describe() == "no requests" and window_stats([]).error_rate == 0.0


def test_running_stats_match_window_stats_over_the_same_samples():
    import random

    rng = random.Random(7)
    batches = [
        [
            Sample(rng.random() < 0.1, rng.choice([None, rng.uniform(1, 50)]), rng.choice(["log", "probe"]))
            for _ in range(rng.randint(0, 40))
        ]
        for _ in range(30)
    ]
    running = RunningStats()
    for batch in batches:
        running.add(batch)
    assert running.stats() == window_stats(sample for batch in batches for sample in batch)
