"""`cicd run`, `cicd graph` and `cicd plan` through the real entry point (in process, or as a subprocess
when signals are involved)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cicd.cli import main

PIPELINE = """\
name: demo
variables:
  GREETING: hello
stages:
  - name: build
    jobs:
      - name: compile
        command: echo "$GREETING from compile" && mkdir -p dist && touch dist/app.tgz
        artifacts: [dist/*.tgz]
  - name: test
    dependencies: [build]
    jobs:
      - name: unit
        command: echo unit ok
      - name: lint
        command: echo lint ok
  - name: deploy
    dependencies: [test]
    when: {branches: [main, release/*]}
    jobs:
      - name: ship
        command: touch shipped
"""


def write_project(root: Path, pipeline: str = PIPELINE) -> Path:
    (root / "config" / "environments").mkdir(parents=True, exist_ok=True)
    (root / "config" / "pipeline.yml").write_text(textwrap.dedent(pipeline))
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(write_project(tmp_path))
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_REF_NAME", "GITHUB_HEAD_REF"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def only_result(project: Path) -> dict:
    (path,) = (project / ".cicd" / "runs").glob("*/result.json")
    return json.loads(path.read_text())


def test_run_succeeds_and_writes_the_result(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--branch", "main", "--output", "out/result.json"]) == 0
    out = capsys.readouterr().out
    assert "[compile] hello from compile" in out
    assert re.search(r"^ship\s+deploy\s+success", out, re.M)
    result = only_result(project)
    assert result == json.loads((project / "out" / "result.json").read_text())
    assert result["status"] == "success"
    assert [s["name"] for s in result["steps"]] == ["compile", "unit", "lint", "ship"]
    assert result["artifacts"] == ["dist/app.tgz"]
    assert (project / "shipped").exists()
    assert "demo: success in " in out and f".cicd/runs/{result['pipeline_id']}/result.json" in out


def test_branch_condition_skips_with_the_reason(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--branch", "feature/x"]) == 0
    out = capsys.readouterr().out
    assert "[ship] skipped: branch 'feature/x' does not match main, release/*" in out
    assert not (project / "shipped").exists()


def test_branch_comes_from_github_ref_name(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REF_NAME", "release/2.0")
    assert main(["run"]) == 0
    assert (project / "shipped").exists()


def test_failure_exits_1_and_skips_dependents(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(project, PIPELINE.replace("echo unit ok", "echo broken; exit 5"))
    assert main(["run", "--branch", "main"]) == 1
    steps = {s["name"]: s for s in only_result(project)["steps"]}
    assert steps["unit"]["status"] == "failed" and steps["unit"]["exit_code"] == 5
    assert steps["ship"]["reason"] == "dependency test failed"
    assert "demo: failed in" in capsys.readouterr().out


def test_var_overrides_reach_the_job_environment(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--job", "compile", "--var", "GREETING=it's $(id) `x`"]) == 0
    assert "[compile] it's $(id) `x` from compile" in capsys.readouterr().out


def test_malformed_var_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--var", "NOVALUE"]) == 2
    assert "--var 'NOVALUE': expected NAME=VALUE" in capsys.readouterr().err


def test_stage_and_job_selection(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--stage", "test", "--job", "compile"]) == 0
    assert [s["name"] for s in only_result(project)["steps"]] == ["compile", "unit", "lint"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stage", "nope"], "error: unknown stage 'nope' (hint: valid stages: build, test, deploy)"),
        (["--job", "nope"], "error: unknown job 'nope' (hint: valid jobs: compile, unit, lint, ship)"),
    ],
)
def test_unknown_selection_exits_1_with_valid_names(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["run", *argv]) == 1
    assert capsys.readouterr().err.strip() == message
    assert not (project / ".cicd").exists()


def test_dry_run_prints_the_order_and_runs_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--dry-run", "--branch", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Dry run of pipeline demo: nothing is executed. Jobs in start order:"
    assert "   1. build/compile  (timeout 600s, retry 0)" in out
    assert "   4. deploy/ship  skipped: branch 'dev' does not match main, release/*" in out
    assert not (project / ".cicd").exists() and not (project / "dist").exists()


def test_invalid_config_is_one_located_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(project, PIPELINE.replace("command: echo unit ok", "comand: echo unit ok"))
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "config/pipeline.yml:" in err and "comand" in err
    assert "Traceback" not in err


def test_inside_actions_each_job_is_one_whole_group_and_a_summary_is_written(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    chatty = "for i in $(seq 1 40); do echo {name} $i; sleep 0.005; done"
    write_project(
        project,
        f"""\
        name: demo
        stages:
          - name: s
            jobs:
              - name: left
                command: {chatty.format(name="left")}
              - name: right
                command: {chatty.format(name="right")}
        """,
    )
    assert main(["run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in ("left", "right"):
        start = next(i for i, line in enumerate(lines) if line.startswith(f"::group::{name} (success in "))
        assert lines[start + 1 : start + 41] == [f"{name} {i}" for i in range(1, 41)]
        assert lines[start + 41] == "::endgroup::"
    text = summary.read_text()
    assert "```mermaid\nflowchart LR\n" in text
    assert '    s0j0["left: success"]' in text
    assert re.search(r"\| left \| s \| success \| \d+\.\ds \| 1 \|  \|", text)


def test_graph_prints_mermaid(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('flowchart LR\n  subgraph s0["build"]\n    s0j0["compile"]\n  end\n')
    assert out.endswith("  s0 --> s1\n  s1 --> s2\n")
    assert main(["graph", "--markdown"]) == 0
    assert capsys.readouterr().out == f"```mermaid\n{out}```\n"


def test_plan_uses_the_previous_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "(no previous run: timeouts as upper bounds)" in out
    assert "Parallel levels:\n  1. build (compile)\n  2. test (unit, lint)\n  3. deploy (ship)" in out
    assert main(["run", "--branch", "main"]) == 0
    run_id = only_result(project)["pipeline_id"]
    capsys.readouterr()
    assert main(["plan", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["previous_run"] == run_id
    assert plan["execution_order"] == ["build", "test", "deploy"]
    assert [(step["stage"], step["source"]) for step in plan["critical_path"]] == [
        ("build", "previous run"),
        ("test", "previous run"),
        ("deploy", "previous run"),
    ]
    assert plan["critical_path_seconds"] < 5


# --- cancellation: a real `cicd run` process and a real signal ----------------------------------------

SLOW = """\
name: slow
stages:
  - name: work
    jobs:
      - name: hang
        command: bash -c 'sleep 300 & echo $! > grandchild.pid; wait' & wait
  - name: after
    dependencies: [work]
    jobs:
      - name: never
        command: touch never-ran
"""


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "\nState:\tZ" in status.read_text()


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_cancels_the_run_kills_children_and_writes_the_result(
    tmp_path: Path, signum: int, exit_code: int
) -> None:
    write_project(tmp_path, SLOW)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cicd", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pidfile = tmp_path / "grandchild.pid"
    try:
        assert wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())
        grandchild = int(pidfile.read_text())
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == exit_code, err
    result = only_result(tmp_path)
    name = signal.Signals(signum).name
    assert result["status"] == "cancelled"
    steps = {s["name"]: s for s in result["steps"]}
    assert (steps["hang"]["status"], steps["hang"]["reason"]) == ("cancelled", f"cancelled by {name}")
    assert (steps["never"]["status"], steps["never"]["reason"]) == ("skipped", "pipeline cancelled")
    assert wait_for(lambda: process_gone(grandchild), timeout=5)
    assert not (tmp_path / "never-ran").exists()
    assert "slow: cancelled in" in out


def test_secrets_reach_jobs_but_never_their_logs(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", "tok-5f3a9c1e77")
    write_project(
        project,
        """\
        name: demo
        secrets: [DEPLOY_TOKEN, UNSET_TOKEN]
        stages:
          - name: s
            jobs:
              - name: use
                command: 'test -n "$DEPLOY_TOKEN" && echo "token=$DEPLOY_TOKEN"'
        """,
    )
    monkeypatch.delenv("UNSET_TOKEN", raising=False)
    assert main(["run"]) == 0
    captured = capsys.readouterr()
    assert "[use] token=***" in captured.out
    assert "tok-5f3a9c1e77" not in captured.out
    assert "warning: secrets not set, jobs will not see them: UNSET_TOKEN" in captured.err
    (log,) = (project / ".cicd" / "runs").glob("*/logs/use.log")
    assert log.read_text() == "token=***\n"


def test_in_a_terminal_a_live_display_then_the_table(tmp_path: Path) -> None:
    import pty
    import select

    write_project(
        tmp_path,
        """\
        name: tty
        stages:
          - name: a
            jobs:
              - {name: one, command: 'for i in 1 2 3; do echo one $i; sleep 0.2; done'}
              - {name: two, command: 'echo broken; exit 3'}
        """,
    )
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cicd", "run"],
        cwd=tmp_path,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed: the run is over
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(primary)
    assert proc.wait(timeout=10) == 1
    text = output.decode("utf-8", "replace")
    assert "\x1b[" in text  # styled, redrawn in place
    assert "broken" in text  # the failed job's log tail
    assert re.search(r"^two\s+a\s+failed\s+\S+\s+exit code 3", text.replace("\r", ""), re.M)


def test_a_reader_that_goes_away_does_not_change_the_outcome(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        """\
        name: piped
        stages:
          - name: s
            jobs:
              - {name: chatty, command: 'sleep 0.5; for i in $(seq 1 2000); do echo line $i; done'}
        """,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cicd", "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"pipeline piped: 1 jobs")
    proc.stdout.close()  # like `cicd run | head -1`
    assert proc.wait(timeout=30) == 0
    result = only_result(tmp_path)
    assert result["status"] == "success"
    (log,) = (tmp_path / ".cicd" / "runs").glob("*/logs/chatty.log")
    assert log.read_text().splitlines()[-1] == "line 2000"
