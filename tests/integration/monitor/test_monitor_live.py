"""`cicd monitor` following real `cicd run` processes: live progress to the end, and a killed runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
CICD = [str(Path(sys.executable).parent / "cicd")]

PIPELINE = """
name: watched
stages:
  - name: build
    jobs:
      - {name: compile, command: "sleep 3", timeout: 30}
  - name: test
    dependencies: [build]
    jobs:
      - {name: flaky, command: "test -f once || { touch once; exit 1; }", timeout: 30, retry: 2}
      - {name: broken, command: "sleep 0.5; exit 3", timeout: 30, retry: 2}
"""


def start_run(tmp_path: Path) -> subprocess.Popen:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config/pipeline.yml").write_text(PIPELINE)
    return subprocess.Popen(
        [*CICD, "run", "--config-dir", "config", "--runs-dir", "runs", "--max-parallel", "2"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def wait_for_journal(tmp_path: Path, text: str = '"event": "plan"') -> None:
    deadline = time.monotonic() + 30
    while not any(text in path.read_text() for path in (tmp_path / "runs").glob("*/events.jsonl")):
        assert time.monotonic() < deadline, f"cicd run wrote no {text} to its live record"
        time.sleep(0.05)


def test_watch_follows_a_live_run_to_its_end(tmp_path):
    runner = start_run(tmp_path)
    try:
        wait_for_journal(tmp_path)
        watch = subprocess.run(
            [*CICD, "monitor", "--latest", "--watch", "--json", "--interval", "0.2", "--runs-dir", "runs"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )
    finally:
        runner.wait(timeout=60)
    snapshots = [json.loads(line) for line in watch.stdout.splitlines()]
    assert watch.returncode == 1, watch.stderr  # the run failed: `broken` never passes
    first, last = snapshots[0], snapshots[-1]
    assert first["status"] == "running" and first["current_stage"] == "build"
    assert first["progress_percentage"] < 100
    assert any(s["current_stage"] == "test" and s["status"] == "running" for s in snapshots)
    assert last["status"] == "failed" and last["progress_percentage"] == 100
    assert last["metrics"]["run_status"] == "failed" and last["metrics"]["retries"] == 3  # 1 + 2
    kinds = {alert["kind"] for alert in last["alerts"]}
    assert {"retry_storm", "failing_stage"} <= kinds
    failing = next(a for a in last["alerts"] if a["kind"] == "failing_stage")
    assert failing["stage"] == "test" and failing["jobs"] == ["broken"]
    parts = last["metrics"]["health_components"]
    assert parts["failures"] == pytest.approx(1 / 3, abs=1e-3)
    assert parts["flaky"] == pytest.approx(1 / 3, abs=1e-3)
    assert 0 < last["health_score"] < 0.8
    assert set(last) == {"pipeline_id", "status", "health_score", "current_stage", "progress_percentage",
                         "metrics", "alerts"}


def test_a_killed_runner_is_reported_failed_not_running_forever(tmp_path):
    runner = start_run(tmp_path)
    wait_for_journal(tmp_path, '"event": "started"')  # compile is running: the worst moment, mid-job
    os.killpg(runner.pid, signal.SIGKILL)
    runner.wait(timeout=10)
    shown = subprocess.run([*CICD, "monitor", "--runs-dir", "runs"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=30)
    assert shown.returncode == 1
    assert "runner_gone" in shown.stdout and f"pid {runner.pid}" in shown.stdout
    assert "▶ build/compile" in shown.stdout  # what it was doing when it died


def test_unknown_run_is_one_line(tmp_path):
    (tmp_path / "runs/abc").mkdir(parents=True)
    shown = subprocess.run([*CICD, "monitor", "zzz", "--runs-dir", "runs"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=30)
    assert shown.returncode == 1 and shown.stdout == ""
    assert shown.stderr.startswith("error: no run with id 'zzz'") and len(shown.stderr.splitlines()) == 1
