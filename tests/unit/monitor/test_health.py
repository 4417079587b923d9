from __future__ import annotations

import pytest

from cicd.monitor.health import Baseline, JobView, RunView, health


def earlier(seconds: float, unit: float, attempts: int = 1) -> dict:
    return {"status": "success", "duration_seconds": seconds, "steps": [
        {"name": "lint", "stage": "quality", "status": "success", "duration_seconds": 1.0, "attempts": 1},
        {"name": "unit", "stage": "test", "status": "success", "duration_seconds": unit,
         "attempts": attempts},
    ]}


BASELINE = Baseline.of([earlier(10, 8), earlier(12, 9), earlier(11, 10, attempts=2), earlier(10, 8)])


def test_a_clean_run_like_the_others_scores_1():
    run = RunView("r1", "p", "success", 10.5, [JobView("lint", "quality", "success", 1.0, 1)])
    report = health(run, BASELINE)
    assert report["health_score"] == 1.0 and report["status"] == "completed" and report["alerts"] == []
    assert report["metrics"]["expected_seconds"] == 10.5  # median of 10, 10, 11, 12


def test_slow_run_over_p95_and_a_known_flaky_job_lower_the_score():
    jobs = [JobView("lint", "quality", "success", 1.0, 1), JobView("unit", "test", "running", 15.0, 1)]
    report = health(RunView("r2", "p", "running", 21.0, jobs), BASELINE)
    parts = report["metrics"]["health_components"]
    assert parts == {"failures": 0.0, "retries": 0.0, "slowdown": 1.0, "flaky": 0.5}  # 21 / 10.5 = 2x
    assert report["health_score"] == pytest.approx(1 - 0.25 - 0.15 * 0.5)
    over = [a for a in report["alerts"] if a["kind"] == "job_over_p95"]
    assert [a["job"] for a in over] == ["unit"] and "p95 of 10.0s" in over[0]["message"]
    assert report["current_stage"] == "test"
    assert report["progress_percentage"] == pytest.approx(100 * (1 + 0.95) / 2)


def test_no_history_means_no_slowdown_and_no_p95_alert():
    jobs = [JobView("unit", "test", "failed", 500.0, 1), JobView("pack", "build", "pending")]
    report = health(RunView("r3", "p", "failed", 900.0, jobs), Baseline.of([]))
    assert report["metrics"]["health_components"]["slowdown"] == 0.0
    assert [a["kind"] for a in report["alerts"]] == ["failing_stage"]
    assert report["health_score"] == pytest.approx(0.6)
