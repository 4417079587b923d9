"""Wall time of the CI workflow (.github/workflows/ci.yml) on the sample service under act.

`ci_wall_s_act`: act runs the jobs as GitHub would, independent jobs in parallel (as many at once
as there are CPUs, like act's default). `ci_wall_s_serial`: the same workflow with
`--concurrent-jobs 1`, the jobs one after another. `ci_critical_path_s`: the longest chain of `needs`
in ci.yml, with each job's duration taken from the serial run (act's JSON log, 1 s resolution): the
wall time when every job has a machine of its own, as on GitHub's hosted runners. All on a
pull_request event, in host mode, with the third-party actions mapped to the local stand-ins of
tests/e2e/actions and the GitHub API stand-in receiving the sticky comment. Median of --runs runs
each. The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.conftest import (  # noqa: E402 - the e2e harness is the way to run act here
    TOKEN,
    Act,
    copy_repository,
    free_port,
    pull_request_event,
)


def start_github_api(state_file: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "github_api.py"), "--port", str(port),
         "--state-file", str(state_file), "--token", TOKEN],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return process, f"http://127.0.0.1:{port}"


def job_seconds(json_log: str) -> dict[str, float]:
    """Duration of each job id (matrix legs merged: the slowest) from act's --json log lines."""
    spans: dict[tuple[str, str], list[datetime.datetime]] = {}
    for line in json_log.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "jobID" in entry and "time" in entry:
            moment = datetime.datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
            key = (entry["jobID"], json.dumps(entry.get("matrix") or {}, sort_keys=True))
            spans.setdefault(key, []).append(moment)
    seconds: dict[str, float] = {}
    for (job, _), moments in spans.items():
        seconds[job] = max(seconds.get(job, 0.0), (max(moments) - min(moments)).total_seconds() + 1)
    return seconds


def critical_path(durations: dict[str, float]) -> float:
    """Longest chain of `needs` through ci.yml's jobs (the staging call never runs on pull requests)."""
    from ruamel.yaml import YAML

    jobs = YAML(typ="safe").load((REPO / ".github" / "workflows" / "ci.yml").read_text())["jobs"]
    finish: dict[str, float] = {}

    def done(job: str) -> float:
        if job not in finish:
            needs = jobs[job].get("needs", [])
            finish[job] = max((done(n) for n in needs), default=0.0) + durations.get(job, 0.0)
        return finish[job]

    return max(done(job) for job in jobs if job in durations)


def one_run(base: Path, api_url: str, serial: bool, index: int) -> tuple[float, bool, int, dict[str, float]]:
    repo = base / f"repo-{index}"
    repo.mkdir()
    copy_repository(repo)
    work = base / f"work-{index}"
    work.mkdir()
    act = Act(repo, work, api_url, variables={
        "CI_SERVICES": "host", "CI_PROXY_PORT": str(free_port()), "CI_SERVICE_PORT": str(free_port()),
    })
    run = act.run("pull_request", "ci.yml", pull_request_event(repo),
                  extra=["--concurrent-jobs", "1", "--json"] if serial else None, timeout=600)
    durations = job_seconds(run.output) if serial else {}
    if run.returncode != 0:  # say why, so a red run is never just a number
        (base / f"red-run-{index}.log").write_text(run.output)
        failed = [line for line in run.output.splitlines() if "❌" in line or "Job failed" in line]
        print("\n".join(failed[-20:]), flush=True)
    return run.seconds, run.returncode == 0, len(durations or run.job_results()), durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-workflows-"))
    api, api_url = start_github_api(base / "github.json")
    try:
        results: dict[str, list[float]] = {"parallel": [], "serial": [], "critical": []}
        green, jobs, count = True, 0, 0
        for index in range(args.runs):
            for mode in ("parallel", "serial"):
                count += 1
                seconds, ok, job_count, durations = one_run(base, api_url, mode == "serial", count)
                jobs = job_count if mode == "parallel" else jobs
                results[mode].append(seconds)
                if durations:
                    results["critical"].append(critical_path(durations))
                green = green and ok
                verdict = "green" if ok else "RED"
                print(f"{mode:8s} run {index + 1}: {seconds:6.2f} s  ({verdict})", flush=True)
    finally:
        api.terminate()
        api.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
    act_s = statistics.median(results["parallel"])
    serial_s = statistics.median(results["serial"])
    print(json.dumps({
        "ci_wall_s_act": round(act_s, 2),
        "ci_wall_s_serial": round(serial_s, 2),
        "ci_critical_path_s": round(statistics.median(results["critical"]), 1),
        "speedup": round(serial_s / act_s, 2),
        "jobs": jobs,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "all_green": green,
    }))


if __name__ == "__main__":
    main()
