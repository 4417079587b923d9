"""Benchmark of the pipeline engine and of the command-line start-up every command pays.

Prints progress lines, then as its last line one JSON object:
  validate_ms_200_jobs         wall time of `cicd validate` on a generated valid 200-job pipeline,
                               interpreter start included (target < 300; the seeds' SLO is 500)
  startup_ms                   wall time of `cicd --version` (target < 150)
  dag_wall_over_critical_path  a DAG of `sleep` jobs with a known critical path, run by `cicd run`
                               with --max-parallel at least its width: pipeline wall / critical path
                               (target <= 1.05)
  per_job_overhead_ms          a chain of N `true` jobs run by `cicd run`: (pipeline wall - the same N
                               commands spawned directly) / N (target < 15)
Each figure is the median of several repetitions. Also reported: per_job_wall_ms (the chain's wall per
job, process start included), the DAG's critical path and the 1-minute load average (the timings are
wall times, so a busy machine inflates them). Run: .venv/bin/python bench/pipeline_engine.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPETITIONS = 5
CHAIN_JOBS = 100
# A DAG of sleeps: stage -> (dependencies, job sleep seconds). Level by level it would take
# 0.4 + 2.4 + 1.8 + 0.6 = 5.2 s; as soon as ready, its critical path is 3.4 s.
DAG = {
    "a": ((), (0.4, 0.2, 0.3)),
    "b": (("a",), (2.4, 1.0)),
    "c": (("a",), (0.6, 0.4)),
    "d": (("c",), (1.8, 0.8, 1.2)),
    "e": (("b", "d"), (0.6,)),
}
DAG_CRITICAL_PATH = 0.4 + 0.6 + 1.8 + 0.6  # a -> c -> d -> e (a -> b -> e is 3.4 s too)
DAG_WIDTH = 5


def cicd_command() -> list[str]:
    script = Path(sys.executable).with_name("cicd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cicd"]


def wall_ms(argv: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return elapsed


def median_of(label: str, measure) -> float:  # type: ignore[no-untyped-def]
    values = [measure() for _ in range(REPETITIONS)]
    value = statistics.median(values)
    print(f"{label}: median {value:.3f} of {', '.join(f'{v:.3f}' for v in values)}", flush=True)
    return value


def write_config(root: Path, pipeline_yaml: str) -> Path:
    config = root / "config"
    (config / "environments").mkdir(parents=True, exist_ok=True)
    (config / "environments" / "staging.yml").write_text("name: staging\ntype: staging\n")
    (config / "pipeline.yml").write_text(pipeline_yaml)
    return config


def two_hundred_jobs() -> str:
    """20 stages of 10 jobs; each stage depends on the one or two before it."""
    lines = ["name: bench-200", "environment: staging", "variables: {LEVEL: '1'}", "stages:"]
    for s in range(20):
        deps = [f"stage-{d}" for d in (s - 1, s - 2) if d >= 0]
        lines += [f"  - name: stage-{s}", f"    dependencies: [{', '.join(deps)}]", "    jobs:"]
        for j in range(10):
            lines += [
                f"      - name: job-{s}-{j}",
                f'        command: echo "stage {s} job {j}" && test -n "$LEVEL"',
                "        timeout: 120",
                "        retry: 1",
            ]
    return "\n".join(lines) + "\n"


def dag_yaml() -> str:
    lines = ["name: bench-dag", "stages:"]
    for name, (deps, sleeps) in DAG.items():
        lines += [f"  - name: {name}", f"    dependencies: [{', '.join(deps)}]", "    jobs:"]
        lines += [f"      - {{name: {name}{i}, command: sleep {s}}}" for i, s in enumerate(sleeps)]
    return "\n".join(lines) + "\n"


def chain_yaml(count: int) -> str:
    return "name: bench-chain\nsteps:\n" + "".join(
        f"  - {{name: step-{i}, command: 'true'}}\n" for i in range(count)
    )


def pipeline_seconds(root: Path, max_parallel: int) -> float:
    """Run `cicd run` and return the pipeline's own wall time from its result (interpreter start excluded)."""
    runs = root / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    argv = [*cicd_command(), "run", "--max-parallel", str(max_parallel), "--runs-dir", str(runs)]
    wall_ms(argv, cwd=root)
    (result,) = runs.glob("*/result.json")
    data = json.loads(result.read_text())
    assert data["status"] == "success", data
    return float(data["duration_seconds"])


def check_critical_path(config: Path) -> None:
    """The engine's own planner must agree with the critical path this benchmark divides by."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from cicd.config import load_pipeline
    from cicd.pipeline.plan import optimize_pipeline_schedule

    sleeps = {f"{name}{i}": s for name, (_, durations) in DAG.items() for i, s in enumerate(durations)}
    plan = optimize_pipeline_schedule(load_pipeline(config), sleeps)
    assert abs(plan.critical_path_seconds - DAG_CRITICAL_PATH) < 1e-9, plan.critical_path_seconds
    assert plan.max_parallel_jobs <= DAG_WIDTH


def direct_spawn_seconds(count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        subprocess.run(["bash", "-c", "true"], check=True)
    return time.perf_counter() - start


def main() -> None:
    env_note = f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}"
    print(f"pipeline engine benchmark ({env_note}), {REPETITIONS} repetitions each", flush=True)
    cicd = cicd_command()
    with tempfile.TemporaryDirectory(prefix="cicd-bench-") as tmp:
        root = Path(tmp)
        big = write_config(root / "big", two_hundred_jobs())
        wall_ms([*cicd, "validate", "--config-dir", str(big)])  # warm the page cache once
        validate = median_of(
            "validate 200 jobs (ms)", lambda: wall_ms([*cicd, "validate", "--config-dir", str(big)])
        )
        startup = median_of("cicd --version (ms)", lambda: wall_ms([*cicd, "--version"]))

        write_config(root / "dag", dag_yaml())
        check_critical_path(root / "dag" / "config")
        ratio = median_of(
            f"DAG wall / critical path {DAG_CRITICAL_PATH:.1f}s",
            lambda: pipeline_seconds(root / "dag", DAG_WIDTH) / DAG_CRITICAL_PATH,
        )

        write_config(root / "chain", chain_yaml(CHAIN_JOBS))
        chain: list[tuple[float, float]] = []  # (pipeline wall, direct spawn), measured back to back

        def overhead_ms() -> float:
            chain.append((pipeline_seconds(root / "chain", 1), direct_spawn_seconds(CHAIN_JOBS)))
            return (chain[-1][0] - chain[-1][1]) * 1000 / CHAIN_JOBS

        overhead = median_of(f"per-job overhead over {CHAIN_JOBS} chained jobs (ms)", overhead_ms)
        per_job_wall = statistics.median(wall for wall, _ in chain) * 1000 / CHAIN_JOBS
        print(f"per-job wall in the chain, process included (ms): median {per_job_wall:.2f}", flush=True)
    print(
        json.dumps(
            {
                "validate_ms_200_jobs": round(validate, 1),
                "startup_ms": round(startup, 1),
                "dag_wall_over_critical_path": round(ratio, 3),
                "per_job_overhead_ms": round(overhead, 2),
                "per_job_wall_ms": round(per_job_wall, 2),
                "dag_critical_path_s": DAG_CRITICAL_PATH,
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
