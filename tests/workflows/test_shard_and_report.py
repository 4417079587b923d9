"""CI helpers: stable test shards, and the report that gates the required check."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cicd.errors import UsageError
from cicd.workflows import report
from cicd.workflows.shard import assign, shard


def test_shards_partition_the_files_balanced_by_size():
    files = [Path(f"t{i}.py") for i in range(7)]
    sizes = {f: s for f, s in zip(files, [900, 100, 100, 100, 400, 400, 100], strict=True)}
    shards = assign(files, 3, sizes)
    assert sorted(f for s in shards for f in s) == sorted(files)
    loads = sorted(sum(sizes[f] for f in s) for s in shards)
    assert loads == [600, 600, 900]
    assert assign(list(reversed(files)), 3, sizes) == shards  # order of discovery does not matter


def test_shard_bounds_and_missing_paths(tmp_path):
    (tmp_path / "test_a.py").write_text("x")
    assert shard([tmp_path], 1, 1) == [tmp_path / "test_a.py"]
    assert shard([tmp_path], 2, 2) == []
    with pytest.raises(UsageError, match="between 1 and 2"):
        shard([tmp_path], 3, 2)
    with pytest.raises(UsageError, match="no such test file"):
        shard([tmp_path / "nope"], 1, 1)


FAILING_JUNIT = """<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.test_p" name="test_ok" file="tests/test_p.py" line="3" time="0.1"/>
<testcase classname="tests.test_p" name="test_skip" file="tests/test_p.py" line="6" time="0">
<skipped message="later"/></testcase>
<testcase classname="tests.test_p" name="test_bad" file="tests/test_p.py" line="9" time="0.2">
<failure message="assert 1 == 2">def test_bad():
&gt;       assert 1 == 2
E       assert 1 == 2

tests/test_p.py:11: AssertionError</failure></testcase></testsuite></testsuites>"""


def test_report_turns_failures_into_annotations_and_fails(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "junit-shard1.xml").write_text(FAILING_JUNIT)
    codecov = "coverage:\n  status:\n    project:\n      default: {target: 80%}\n"
    (tmp_path / "codecov.yml").write_text(codecov)
    summary = tmp_path / "summary.md"
    needs = {"quality": {"result": "success"}, "unit-tests": {"result": "failure"}}
    result = subprocess.run(
        [sys.executable, "-m", "cicd", "workflows", "report", "--results-dir", str(results),
         "--codecov", str(tmp_path / "codecov.yml"), "--needs-json", json.dumps(needs),
         "--body-file", str(tmp_path / "body.md")],
        capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 1
    annotation = "::error file=tests/test_p.py,line=11,title=test failed::tests.test_p::test_bad: assert 1"
    assert annotation in result.stdout
    body = (tmp_path / "body.md").read_text()
    assert body.startswith("## CI report ❌ failed")
    assert "| unit-tests | ❌ failure |" in body and "1 passed, 1 failed, 1 skipped" in body
    assert summary.read_text().strip() == body.strip()


def test_green_needs_every_job_tests_and_coverage():
    tests = report.TestTotals(tests=3)
    assert report.is_green({"a": "success", "b": "skipped"}, tests, 81.0, 80.0)
    assert not report.is_green({"a": "cancelled"}, tests, None, None)
    assert not report.is_green({}, tests, 79.9, 80.0)
    assert report.is_green({}, tests, None, None)


def test_a_coverage_target_with_nothing_measured_fails_with_the_fix(tmp_path):
    tests = report.TestTotals(tests=3)
    assert not report.is_green({"unit-tests": "success"}, tests, None, 90.0)
    text = report.render({"unit-tests": "success"}, tests, None, 90.0)
    assert "## CI report ❌ failed" in text and "❌ not measured (target 90%)" in text
    assert "coverage run --data-file=" in text and "include-hidden-files" in text
    codecov = "coverage:\n  status:\n    project:\n      default: {target: 90%}\n"
    (tmp_path / "codecov.yml").write_text(codecov)
    results = tmp_path / "results"
    results.mkdir()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cicd"), "workflows", "report", "--results-dir", str(results),
         "--codecov", str(tmp_path / "codecov.yml")],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true"},
    )
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "::error::coverage target 90%25 of" in out and "no coverage data files" in out  # %25: escaped


def test_coverage_target_reads_codecov(tmp_path):
    path = tmp_path / "codecov.yml"
    path.write_text("coverage:\n  status:\n    project:\n      default: {target: auto}\n")
    assert report.coverage_target(path) is None
    assert report.coverage_target(tmp_path / "missing.yml") is None
    repo = Path(__file__).resolve().parents[2]
    assert report.coverage_target(repo / "codecov.yml") == 70.0
