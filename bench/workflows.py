"""Wall time of the CI workflow (.github/workflows/ci.yml) on the sample service under act.

`ci_wall_s_act`: act runs the jobs as GitHub would, independent jobs in parallel (as many at once
as there are CPUs, like act's default). `ci_wall_s_serial`: the same workflow with
`--concurrent-jobs 1`, the jobs one after another. Both on a pull_request event, in host mode, with the
third-party actions mapped to the local stand-ins of tests/e2e/actions and the GitHub API stand-in
receiving the sticky comment. Median of --runs runs each. The last line is a JSON object.
"""

from __future__ import annotations

import argparse
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


def one_run(base: Path, api_url: str, serial: bool, index: int) -> tuple[float, bool, int]:
    repo = base / f"repo-{index}"
    repo.mkdir()
    copy_repository(repo)
    work = base / f"work-{index}"
    work.mkdir()
    act = Act(repo, work, api_url, variables={
        "CI_SERVICES": "host", "CI_PROXY_PORT": str(free_port()), "CI_SERVICE_PORT": str(free_port()),
    })
    run = act.run("pull_request", "ci.yml", pull_request_event(repo),
                  extra=["--concurrent-jobs", "1"] if serial else None, timeout=600)
    return run.seconds, run.returncode == 0, len(run.job_results())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-workflows-"))
    api, api_url = start_github_api(base / "github.json")
    try:
        results: dict[str, list[float]] = {"parallel": [], "serial": []}
        green, jobs, count = True, 0, 0
        for index in range(args.runs):
            for mode in ("parallel", "serial"):
                count += 1
                seconds, ok, jobs = one_run(base, api_url, mode == "serial", count)
                results[mode].append(seconds)
                green = green and ok
                verdict = "green" if ok else "RED"
                print(f"{mode:8s} run {index + 1}: {seconds:6.2f} s  ({verdict}, {jobs} jobs)", flush=True)
    finally:
        api.terminate()
        api.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
    act_s = statistics.median(results["parallel"])
    serial_s = statistics.median(results["serial"])
    print(json.dumps({
        "ci_wall_s_act": round(act_s, 2),
        "ci_wall_s_serial": round(serial_s, 2),
        "speedup": round(serial_s / act_s, 2),
        "jobs": jobs,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "all_green": green,
    }))


if __name__ == "__main__":
    main()
