"""Every process a job starts dies with it (defect 10); its log is capped and read from the tail
(defect 11); its output is redacted as a stream (defect 5)."""

from __future__ import annotations

import contextlib
import os
import secrets as token
import tracemalloc
from pathlib import Path

from pipeline_helpers import job, pipeline, process_gone, run, stage, steps_by_name, wait_until

from cicd import secrets
from cicd.pipeline.joblog import CappedLog, read_tail


def test_a_double_forked_daemon_dies_when_its_job_times_out(tmp_path: Path) -> None:
    daemon, child = tmp_path / "daemon.pid", tmp_path / "child.pid"
    command = (
        f"setsid -f sh -c 'echo $$ > {daemon}; trap \"\" TERM; exec sleep 300'; "
        f"sleep 300 & echo $! > {child}; wait"
    )
    result, _ = run(pipeline(stage("s", job("hang", command, timeout=1))), tmp_path)
    assert steps_by_name(result)["hang"].status == "timed_out"
    assert result.duration_seconds < 8  # 1 s timeout + 2 s grace for the one ignoring SIGTERM
    assert wait_until(lambda: process_gone(int(daemon.read_text())))
    assert wait_until(lambda: process_gone(int(child.read_text())))


def test_the_exit_status_of_the_command_is_the_jobs(tmp_path: Path) -> None:
    result, display = run(
        pipeline(
            stage(
                "s",
                job("code", "echo out; echo err >&2; exit 7"),
                job("signal", "kill -SEGV $$"),
                job("pipe", "yes | head -n 2"),
            )
        ),
        tmp_path,
    )
    steps = steps_by_name(result)
    assert (steps["code"].exit_code, steps["code"].reason) == (7, "exit code 7")
    assert steps["signal"].reason == "killed by signal SIGSEGV"
    assert steps["pipe"].status == "success"  # SIGPIPE has its default action again in the job
    assert sorted(display.lines["code"]) == ["err", "out"]


def test_a_job_log_is_capped_keeping_its_tail(tmp_path: Path) -> None:
    limit = 64 * 1024
    command = "for i in $(seq 1 20000); do echo line $i of a chatty job; done; exit 1"
    ctx = pipeline(stage("s", job("chatty", command)))
    from pipeline_helpers import RecordingDisplay

    from cicd.pipeline.executor import PipelineRun, RunOptions

    options = RunOptions(runs_dir=tmp_path / "runs", workdir=tmp_path, log_limit_bytes=limit)
    result = PipelineRun(ctx, ctx.stages, options, RecordingDisplay()).run()
    log = Path(steps_by_name(result)["chatty"].logs_url)
    assert log.stat().st_size <= limit
    text = log.read_text()
    first, *rest = text.splitlines()
    assert first.startswith(f"[cicd] log capped at {limit} bytes: the first ")
    assert rest[0].startswith("line ") and rest[0].endswith(" of a chatty job")  # a whole line
    assert rest[-2:] == ["line 20000 of a chatty job", "[cicd] exit code 1"]
    dropped = int(first.split("the first ")[1].split()[0])
    output = sum(len(f"line {i} of a chatty job\n") for i in range(1, 20001)) + len("[cicd] exit code 1\n")
    assert dropped + len("\n".join(rest)) + 1 == output


def test_the_tail_of_a_huge_log_is_read_without_reading_the_log(tmp_path: Path) -> None:
    log = tmp_path / "huge.log"
    with log.open("wb") as out:
        out.truncate(200 * 1024 * 1024)  # 200 MB (sparse: cheap to make)
        out.seek(0, os.SEEK_END)
        out.write(b"".join(b"tail line %d\n" % i for i in range(100)))
    tracemalloc.start()
    lines = read_tail(log, 40)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert lines == [f"tail line {i}" for i in range(60, 100)]
    assert peak < 2 * 1024 * 1024


def test_a_full_disk_ends_the_log_not_the_writer() -> None:
    with CappedLog(Path("/dev/full")) as log:
        log.write("one\n")
        log.write("two\n")
    assert log.error is not None and "No space left" in log.error.strerror


def test_a_secret_straddling_a_64k_read_and_a_pem_key_never_reach_the_log(tmp_path: Path) -> None:
    value = f"straddle-{token.token_hex(16)}"
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(token.token_hex(30) for _ in range(5))
    pem += "\n-----END PRIVATE KEY-----"
    secrets.register(value)
    secrets.register(pem)
    half = len(value) // 2
    # The first half fills the first 64 KiB read exactly; the rest comes in a later read.
    command = (
        f"python3 -c 'import os,sys,time; v=os.environ[\"V\"]; w=sys.stdout.buffer;"
        f"w.write(b\"x\" * ({64 * 1024} - {half}) + v[:{half}].encode()); w.flush(); time.sleep(0.3);"
        f"w.write(v[{half}:].encode() + b\" end\\n\"); w.flush()'; printf '%s\\n' \"$PEM\""
    )
    result, display = run(
        pipeline(stage("s", job("leaky", command))), tmp_path, env={"V": value, "PEM": pem}
    )
    log = Path(steps_by_name(result)["leaky"].logs_url).read_text()
    shown = "\n".join(display.lines["leaky"])
    for text in (log, shown):
        assert value[:half] not in text and value[half:] not in text
        assert all(line not in text for line in pem.splitlines())
        assert "*** end" in text
    assert log.endswith("x*** end\n***\n")


def test_old_runs_are_pruned_keeping_the_newest(tmp_path: Path) -> None:
    import uuid

    from pipeline_helpers import RecordingDisplay

    from cicd.pipeline.executor import PipelineRun, RunOptions

    runs = tmp_path / "runs"
    old = [runs / str(uuid.uuid4()) for _ in range(4)]
    for age, path in enumerate(old):
        (path / "logs").mkdir(parents=True)
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    (runs / "notes").mkdir()
    ctx = pipeline(stage("s", job("a", "true")))
    options = RunOptions(runs_dir=runs, workdir=tmp_path, keep_runs=3)
    result = PipelineRun(ctx, ctx.stages, options, RecordingDisplay()).run()
    left = sorted(path.name for path in runs.iterdir())
    assert left == sorted([result.pipeline_id, old[3].name, old[2].name, "notes"])


def test_kill_0_in_a_job_reaches_the_job_not_its_reaper(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    # As in a shell: `kill 0` ends the whole job, bash included, by SIGTERM (not "exit code 143").
    command = f"trap 'kill 0' EXIT; sleep 300 & echo $! > {pidfile}; echo done"
    result, display = run(pipeline(stage("s", job("trap", command))), tmp_path)
    assert steps_by_name(result)["trap"].reason == "killed by signal SIGTERM"
    assert display.lines["trap"] == ["done"]
    assert wait_until(lambda: process_gone(int(pidfile.read_text())))


def test_both_ways_of_finding_descendants_agree() -> None:
    import subprocess

    from cicd.pipeline import reaper

    tree = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    walked: set[int] = set()
    try:
        assert wait_until(lambda: len(reaper._scan_proc()) >= 3)
        walked, scanned = set(reaper._walk_children()), set(reaper._scan_proc())
        assert tree.pid in walked and len(walked) >= 3 and walked == scanned
    finally:
        for pid in walked | {tree.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        tree.wait()


def test_without_procfs_the_commands_process_group_is_ended(tmp_path: Path) -> None:
    import subprocess
    import sys

    from cicd.pipeline import reaper

    pidfile = tmp_path / "bg.pid"
    # The reaper as on a system without procfs: only the command's process group can be reached.
    code = (
        f"import sys; sys.path.insert(0, {str(Path(reaper.__file__).parent)!r}); import reaper; "
        "reaper.HAVE_PROCFS = False; reaper.main(sys.argv)"
    )
    argv = [sys.executable, "-I", "-S", "-c", code, str(os.getpid()), "2", "--"]
    done = subprocess.run(
        [*argv, "bash", "-c", f"sleep 300 & echo $! > {pidfile}"], timeout=30, start_new_session=True
    )
    assert done.returncode == 0
    assert wait_until(lambda: process_gone(int(pidfile.read_text())))
