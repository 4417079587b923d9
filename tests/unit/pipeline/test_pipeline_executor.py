"""The executor with real processes: parallelism, order, timeouts, retries, skips, results, environment."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from pathlib import Path

from pipeline_helpers import job, pipeline, process_gone, run, stage, steps_by_name, wait_until

from cicd.pipeline.result import PIPELINE_STATUSES, STEP_STATUSES


def test_jobs_of_a_stage_run_in_parallel(tmp_path: Path) -> None:
    ctx = pipeline(stage("s", job("one", "sleep 2"), job("two", "sleep 2")))
    result, display = run(ctx, tmp_path)
    assert result.status == "success"
    assert result.duration_seconds < 3.5  # serially it would take 4 s
    assert abs(display.time_of("start", "one") - display.time_of("start", "two")) < 0.5


def test_stages_wait_for_their_dependencies(tmp_path: Path) -> None:
    ctx = pipeline(
        stage("build", job("compile", "sleep 0.3; echo built > out.txt")),
        stage("test", job("check", "cat out.txt"), deps=("build",)),
    )
    result, display = run(ctx, tmp_path)
    assert result.status == "success"
    assert display.time_of("start", "check") >= display.time_of("success", "compile")
    assert display.lines["check"] == ["built"]


def test_an_independent_branch_is_not_held_back_by_a_slow_one(tmp_path: Path) -> None:
    ctx = pipeline(
        stage("slow", job("slow1", "sleep 2")),
        stage("fast", job("fast1", "sleep 0.1")),
        stage("after-fast", job("af1", "true"), deps=("fast",)),
    )
    result, display = run(ctx, tmp_path)
    assert result.status == "success"
    # Level by level, af1 would wait for slow1 (2 s); as soon as ready, it starts right after fast1.
    assert display.time_of("start", "af1") - display.time_of("start", "slow1") < 1.5
    assert display.time_of("success", "af1") < display.time_of("success", "slow1")


def test_max_parallel_bounds_running_jobs(tmp_path: Path) -> None:
    jobs = [
        job(f"j{i}", f"echo start >> {tmp_path}/trace; sleep 0.3; echo end >> {tmp_path}/trace")
        for i in range(4)
    ]
    result, _ = run(pipeline(stage("s", *jobs)), tmp_path, max_parallel=2)
    assert result.status == "success"
    running = peak = 0
    for line in (tmp_path / "trace").read_text().split():
        running += 1 if line == "start" else -1
        peak = max(peak, running)
    assert peak == 2
    assert result.duration_seconds > 0.55  # two waves of 0.3 s, not one


def test_timeout_kills_the_whole_process_group_including_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    # The grandchild ignores nothing but runs in the background, so only a group kill reaches it.
    command = f"bash -c 'sleep 300 & echo $! > {pidfile}; wait' & wait"
    result, _ = run(pipeline(stage("s", job("hang", command, timeout=1))), tmp_path)
    step = steps_by_name(result)["hang"]
    assert step.status == "timed_out"
    assert step.exit_code is None
    assert step.reason == (
        "StepTimeoutError: ran past its timeout of 1s; it and every process it started were killed"
    )
    assert result.status == "failed"
    assert result.duration_seconds < 4
    grandchild = int(pidfile.read_text())
    assert wait_until(lambda: process_gone(grandchild))
    assert "StepTimeoutError" in Path(step.logs_url).read_text()


def test_sigterm_ignoring_job_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    command = "trap '' TERM; echo ready; while true; do sleep 0.1; done"
    result, _ = run(pipeline(stage("s", job("stubborn", command, timeout=1))), tmp_path)
    assert steps_by_name(result)["stubborn"].status == "timed_out"
    assert result.duration_seconds < 6


def test_background_processes_left_by_a_job_are_cleaned_up(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    result, _ = run(pipeline(stage("s", job("leaky", f"sleep 300 & echo $! > {pidfile}"))), tmp_path)
    assert steps_by_name(result)["leaky"].status == "success"
    assert result.duration_seconds < 4
    assert wait_until(lambda: process_gone(int(pidfile.read_text())))


def test_retry_until_success_with_a_counter_file(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    command = f'n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; echo "try $n"; '
    command += "[ $n -ge 3 ]"
    result, display = run(pipeline(stage("s", job("flaky", command, retry=3))), tmp_path)
    step = steps_by_name(result)["flaky"]
    assert (step.status, step.attempts, step.exit_code) == ("success", 3, 0)
    assert counter.read_text().strip() == "3"
    assert display.lines["flaky"] == ["try 1", "try 2", "try 3"]
    log = Path(step.logs_url).read_text()
    assert "try 1\n[cicd] exit code 1; attempt 2 of 4 in" in log
    assert log.rstrip().endswith("try 3")


def test_retries_stop_at_the_limit(tmp_path: Path) -> None:
    result, _ = run(pipeline(stage("s", job("broken", "echo no; exit 3", retry=2))), tmp_path)
    step = steps_by_name(result)["broken"]
    assert (step.status, step.attempts, step.exit_code, step.reason) == ("failed", 3, 3, "exit code 3")


def test_continue_on_fail_lets_the_pipeline_go_on(tmp_path: Path) -> None:
    ctx = pipeline(
        stage("a", job("optional", "exit 1", continue_on_fail=True), job("ok", "true")),
        stage("b", job("next", "true"), deps=("a",)),
    )
    result, _ = run(ctx, tmp_path)
    steps = steps_by_name(result)
    assert steps["optional"].status == "failed"
    assert steps["optional"].reason == "exit code 1; continue_on_fail: the pipeline went on"
    assert steps["next"].status == "success"
    assert result.status == "success"


def test_failed_dependency_skips_dependents_and_fails_the_pipeline(tmp_path: Path) -> None:
    ctx = pipeline(
        stage("build", job("compile", "exit 2")),
        stage("lint", job("ruff", "true")),
        stage("test", job("unit", "touch ran"), deps=("build",)),
        stage("deploy", job("ship", "touch ran"), deps=("test", "lint")),
    )
    result, _ = run(ctx, tmp_path)
    steps = steps_by_name(result)
    assert result.status == "failed"
    assert (steps["unit"].status, steps["unit"].reason) == ("skipped", "dependency build failed")
    assert (steps["ship"].status, steps["ship"].reason) == ("skipped", "dependency test was skipped")
    assert steps["ruff"].status == "success"
    assert not (tmp_path / "ran").exists()


def test_condition_skips_are_recorded_with_their_reason(tmp_path: Path) -> None:
    ctx = pipeline(stage("a", job("a1")), stage("image", job("docker", "touch ran")))
    result, _ = run(ctx, tmp_path, skips={"image": "variable BUILD_IMAGE is 'false', needs 'true'"})
    step = steps_by_name(result)["docker"]
    assert (step.status, step.attempts, step.exit_code) == ("skipped", 0, None)
    assert step.reason == "variable BUILD_IMAGE is 'false', needs 'true'"
    assert result.status == "success"
    assert not (tmp_path / "ran").exists()


def test_variables_reach_commands_as_environment_only(tmp_path: Path) -> None:
    hostile = "$(rm -rf /) $(touch pwned) `touch pwned2` \"quoted\" 'single' ; touch pwned #"
    ctx = pipeline(
        stage("s", job("show", 'printf "%s\\n" "$GREETING" "$HOSTILE"')), variables={"GREETING": "hi"}
    )
    result, display = run(ctx, tmp_path, env={"HOSTILE": hostile})
    assert result.status == "success"
    assert display.lines["show"] == ["hi", hostile]
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_jobs_see_their_run_identity(tmp_path: Path) -> None:
    ctx = pipeline(stage("build", job("compile", 'echo "$CICD_PIPELINE_ID $CICD_STAGE $CICD_JOB"')))
    result, display = run(ctx, tmp_path)
    assert display.lines["compile"] == [f"{result.pipeline_id} build compile"]


def test_pipeline_timeout_stops_running_jobs_and_skips_the_rest(tmp_path: Path) -> None:
    ctx = pipeline(
        stage("a", job("long", "sleep 30")),
        stage("b", job("later", "true"), deps=("a",)),
        timeout_seconds=1,
    )
    result, _ = run(ctx, tmp_path)
    steps = steps_by_name(result)
    assert result.status == "failed"
    assert result.duration_seconds < 5
    assert (steps["long"].status, steps["long"].reason) == (
        "timed_out",
        "pipeline timeout_seconds (1s) reached",
    )
    assert (steps["later"].status, steps["later"].reason) == (
        "skipped",
        "pipeline timeout_seconds (1s) reached",
    )


def test_logs_are_complete_when_the_job_ends(tmp_path: Path) -> None:
    command = "for i in $(seq 1 2000); do echo line $i; done; echo to-stderr >&2"
    result, _ = run(pipeline(stage("s", job("chatty", command))), tmp_path)
    log = Path(steps_by_name(result)["chatty"].logs_url).read_text().splitlines()
    assert log[0] == "line 1" and log[1999] == "line 2000" and log[2000] == "to-stderr"


def test_artifacts_are_the_existing_paths_of_successful_jobs(tmp_path: Path) -> None:
    ctx = pipeline(
        stage(
            "s",
            job("pack", "mkdir -p dist && touch dist/a.tgz dist/b.tgz", artifacts=("dist/*.tgz", "none/*")),
            job("bad", "touch bad.bin; exit 1", artifacts=("bad.bin",), continue_on_fail=True),
        ),
    )
    result, _ = run(ctx, tmp_path)
    assert result.artifacts == ["dist/a.tgz", "dist/b.tgz"]


def test_a_job_that_cannot_start_fails_cleanly(tmp_path: Path) -> None:
    ctx = pipeline(stage("s", job("a", "true")))
    from pipeline_helpers import RecordingDisplay

    from cicd.pipeline.executor import PipelineRun, RunOptions

    options = RunOptions(runs_dir=tmp_path / "runs", workdir=tmp_path / "missing-dir")
    result = PipelineRun(ctx, ctx.stages, options, RecordingDisplay()).run()
    step = steps_by_name(result)["a"]
    assert step.status == "failed" and step.reason.startswith("could not start: FileNotFoundError")


ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_result_follows_the_build_result_contract(tmp_path: Path) -> None:
    ctx = pipeline(
        stage("a", job("ok", "echo hi"), job("bad", "exit 4", continue_on_fail=True)),
        stage("b", job("never", "true"), deps=("a",)),
    )
    result, _ = run(ctx, tmp_path, skips={"b": "branch 'x' does not match main"})
    data = json.loads((tmp_path / "runs" / result.pipeline_id / "result.json").read_text())
    assert set(data) == {
        "pipeline_id",
        "name",
        "status",
        "started_at",
        "completed_at",
        "duration_seconds",
        "steps",
        "artifacts",
        "rollback_triggered",
    }
    assert uuid.UUID(data["pipeline_id"]).version == 4
    assert data["name"] == "demo" and data["status"] in PIPELINE_STATUSES and data["status"] == "success"
    for key in ("started_at", "completed_at"):
        assert ISO_UTC.match(data[key])
        datetime.fromisoformat(data[key])
    assert data["started_at"] <= data["completed_at"]
    assert isinstance(data["duration_seconds"], float)
    assert data["artifacts"] == [] and data["rollback_triggered"] is False
    types = {
        "name": str,
        "stage": str,
        "status": str,
        "duration_seconds": float,
        "attempts": int,
        "logs_url": str,
    }
    for item in data["steps"]:
        assert set(item) == {*types, "exit_code", "reason"}
        for key, kind in types.items():
            assert isinstance(item[key], kind), (key, item)
        assert item["status"] in STEP_STATUSES
        assert item["exit_code"] is None or isinstance(item["exit_code"], int)
        assert Path(item["logs_url"]).is_file()
    assert [(s["name"], s["status"], s["exit_code"], s["reason"]) for s in data["steps"]] == [
        ("ok", "success", 0, None),
        ("bad", "failed", 4, "exit code 4; continue_on_fail: the pipeline went on"),
        ("never", "skipped", None, "branch 'x' does not match main"),
    ]


def test_a_setsid_descendant_holding_the_output_dies_with_the_job(tmp_path: Path) -> None:
    """Defect 10: a `setsid` grandchild used to escape the group kill and live on."""
    pidfile = tmp_path / "detached.pid"
    command = f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 300' & sleep 0.2; echo done"
    result, display = run(pipeline(stage("s", job("detach", command))), tmp_path)
    step = steps_by_name(result)["detach"]
    assert step.status == "success"
    assert result.duration_seconds < 5
    assert display.lines["detach"] == ["done"]
    assert wait_until(lambda: process_gone(int(pidfile.read_text())))
    assert "held open" not in Path(step.logs_url).read_text()


def test_with_one_slot_the_job_on_the_long_chain_goes_first(tmp_path: Path) -> None:
    from pipeline_helpers import RecordingDisplay

    from cicd.pipeline.executor import PipelineRun, RunOptions
    from cicd.pipeline.plan import job_priorities

    ctx = pipeline(
        stage("lint", job("lint1", "sleep 0.3")),
        stage("build", job("build1", "sleep 0.1")),
        stage("test", job("test1", "sleep 0.3"), deps=("build",)),
    )
    durations = {"lint1": 0.3, "build1": 0.1, "test1": 0.5}  # build1 -> test1 is the longer chain
    options = RunOptions(
        runs_dir=tmp_path / "runs",
        workdir=tmp_path,
        max_parallel=1,
        priority=job_priorities(ctx.stages, durations),
    )
    display = RecordingDisplay()
    PipelineRun(ctx, ctx.stages, options, display).run()
    assert [name for _, kind, name in display.events if kind == "start"] == ["build1", "test1", "lint1"]


def test_a_job_waiting_to_retry_when_the_pipeline_times_out_is_timed_out(tmp_path: Path) -> None:
    ctx = pipeline(stage("s", job("flaky", "exit 1", retry=5)), timeout_seconds=1)
    result, _ = run(ctx, tmp_path, backoff=3.0)
    step = steps_by_name(result)["flaky"]
    assert (step.status, step.attempts, step.exit_code) == ("timed_out", 1, None)
    assert step.reason == "pipeline timeout_seconds (1s) reached"
    assert result.duration_seconds < 2.5
