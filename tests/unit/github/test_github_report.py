"""Markdown reports: job table with timings, JUnit totals, coverage, deploy before/after."""

from __future__ import annotations

import json

from cicd import report

RESULT = {
    "status": "failed",
    "duration_seconds": 70.0,
    "steps": [
        {"name": "lint", "status": "success", "exit_code": 0, "duration_seconds": 12.0, "logs_url": "l.log"},
        {"name": "unit|fast", "status": "failed", "exit_code": 1, "duration_seconds": 65.0},
        {"name": "build", "status": "skipped", "exit_code": None, "duration_seconds": None},
    ],
}

JUNIT = """<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="5" failures="1" errors="0"
 skipped="1" time="2.5"><testcase classname="tests.test_http" name="test_ok"/>
<testcase classname="tests.test_http" name="test_bad"><failure message="x"/></testcase>
</testsuite></testsuites>"""


def test_job_table_has_results_exit_codes_and_timings():
    table = report.job_table(RESULT)
    assert "| [lint](l.log) | ✅ success | 0 | 12.0 s |" in table
    assert "| unit\\|fast | ❌ failed | 1 | 1 min 05 s |" in table
    assert "| build | ⏭️ skipped | - | - |" in table
    assert "wall clock 1 min 10 s, jobs one after another 1 min 17 s" in table


def test_junit_totals_add_up_across_shards(tmp_path):
    paths = []
    for shard in (1, 2):
        path = tmp_path / f"junit-{shard}.xml"
        path.write_text(JUNIT)
        paths.append(path)
    totals = report.merge_totals(paths)
    assert (totals.tests, totals.passed, totals.failures, totals.skipped) == (10, 6, 2, 2)
    assert totals.failed_cases == ("tests.test_http::test_bad",) * 2
    assert report.tests_section(totals).startswith("❌ **Tests:** 6 passed, 2 failed, 0 errors, 2 skipped")


def test_coverage_against_its_target(tmp_path):
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps({"totals": {"percent_covered": 81.25}}))
    percent = report.read_coverage(path)
    assert report.coverage_section(percent, 80) == "✅ **Coverage:** 81.2% (target 80.0%)"
    assert report.coverage_section(percent, 90).startswith("❌")


def test_ci_report_puts_it_together():
    text = report.ci_report(result=RESULT, mermaid="graph LR\n  a --> b", run_url="https://x/runs/1")
    assert text.startswith("### ❌ CI: failed")
    assert "```mermaid\ngraph LR\n  a --> b\n```" in text
    assert text.rstrip().endswith("[Run log](https://x/runs/1)")


def test_deploy_report_shows_before_after_and_verification():
    outcome = report.DeployOutcome(
        environment="staging",
        status="rolled_back",
        strategy="blue_green",
        url="http://127.0.0.1:8080",
        before=report.LiveVersion("1.0.0", "sha256:" + "a" * 64, "blue"),
        after=report.LiveVersion("1.0.0", None, "blue"),
        verification={"error rate": 0.125, "p95 latency ms": 42.0, "requests": 400, "passed": False},
        reason="error rate 12.5% over 1%",
    )
    text = report.deploy_report(outcome)
    assert text.startswith("### ↩️ Deploy to [staging](http://127.0.0.1:8080): rolled_back")
    assert "| Before | `1.0.0` (`sha256:aaaaaaaaaaaa`) on blue |" in text
    assert "| error rate | 0.125 |" in text and "| passed | no |" in text
    assert "**Reason:** error rate 12.5% over 1%" in text
