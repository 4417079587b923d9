#!/usr/bin/env python3
"""Fault benchmark: real nginx, real processes, the real `cicd` CLI, keep-alive load throughout.

Cases, each followed by a check that the environment converged (the re-run or the winner succeeds,
the right version serves, the state says so, no deployment is left `running`):
- kill points: SIGKILL of `cicd deploy` before every phase of blue-green (with a live version, so
  baseline and warm are in the plan), inside a canary split, and in recreate's gap;
- lock loss: `cicd unlock --force` during a verification, and SIGSTOP past the lock TTL while another
  deploy takes over; the loser must exit non-zero without acting;
- kill sequences: deploy A; deploy B killed right after its switch; re-run B; deploy C killed right
  after its switch; `cicd rollback` must go to B.
Planted secrets (a hook's secret, the app's secret, the deployer's GITHUB_TOKEN, runner id and registry
password) are searched in every command's output, the service and nginx logs, the history, the ledger,
the database file and /proc/<service>/environ. The last line is one JSON object.

    python3 bench/faults.py [--sequences 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests" / "integration" / "deploy"))
from deploy_harness import Project, live_version  # noqa: E402  (the integration tests' project helper)

from load import Load  # noqa: E402

QUOTE = "/api/quote?sku=widget&quantity=2"
BLUE_GREEN = ["hooks", "prepare", "stop", "start", "health", "smoke", "baseline", "switch", "warm", "verify",
              "known_good", "prune"]  # fmt: skip
KILL_POINTS = [("blue_green", phase) for phase in BLUE_GREEN] + [
    ("canary", "verify"),  # traffic split between the two colors
    ("canary", "warm"),  # right after the full switch
    ("canary", "known_good"),
]  # recreate stops the live version before the new one starts: its gap is by design, not a fault
PLANTED = {
    "DEPLOY_KEY": "dk_bench_planted_4a9f1c",  # the hooks' secret
    "APP_TOKEN": "app_bench_planted_77e0b2",  # handed to the service by name
    "GITHUB_TOKEN": "ghp_bench_planted_c03d18",
    "RUNNER_TRACKING_ID": "runner_bench_planted_5b61",
    "REGISTRY_PASSWORD": "reg_bench_planted_9e2a47",
}
NOT_FOR_THE_SERVICE = ("DEPLOY_KEY", "GITHUB_TOKEN", "RUNNER_TRACKING_ID", "REGISTRY_PASSWORD")


class Run:
    """The project, every command's output (for the leak scan) and the tallies."""

    def __init__(self, root: Path):
        self.project = Project(root)
        self.outputs: list[str] = []
        self.cases = 0
        self.converged = 0
        self.recoveries: list[float] = []
        self.load: Load | None = None
        self.failed_before = 0

    def cicd(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        result = self.project.cicd(*args, extra_env=PLANTED, **kwargs)
        self.outputs.append(result.stdout + result.stderr)
        return result

    def deploy(self, version: str, *extra: str) -> subprocess.CompletedProcess:
        return self.cicd("deploy", "--env", "staging", "--version", version, *extra, timeout=180)

    def paused(self, version: str, phase: str, *extra: str, seconds: float = 60) -> subprocess.Popen:
        env = {**PLANTED, "CICD_TEST_PAUSE_AT": phase, "CICD_TEST_PAUSE_SECONDS": str(seconds)}
        proc = self.project.popen("deploy", "--env", "staging", "--version", version, *extra, extra_env=env)
        seen = ""
        while f"paused before {phase}" not in seen:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{version} never reached {phase}: {seen}{proc.stderr.read()}")
            seen += line
        self.outputs.append(seen)
        return proc

    def finish_loser(self, proc: subprocess.Popen) -> bool:
        out, err = proc.communicate(timeout=120)
        self.outputs.append(out + err)
        return proc.returncode != 0 and "no longer holds the lock" in out + err

    def state(self) -> dict:
        result = self.cicd("status", "--env", "staging", "--json")
        return json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}

    def settled(self, version: str) -> bool:
        history = json.loads(self.cicd("history", "--env", "staging", "--json", "--limit", "200").stdout)
        running = [row for row in history if row["status"] == "running"]
        state = self.state()
        return live_version(self.project, "staging") == version and state.get("current_version") == version \
            and not running  # fmt: skip

    def tally(self, case: str, ok: bool) -> None:
        self.cases += 1
        self.converged += int(ok)
        failed = sum(hit.failed for hit in list(self.load.result.hits)) if self.load else 0
        new, self.failed_before = failed - self.failed_before, failed
        verdict = "converged" if ok else "NOT CONVERGED"
        print(f"{case}: {verdict}, {new} failed request(s)", file=sys.stderr, flush=True)


def kill_points(run: Run, counter: list[int]) -> None:
    for strategy, phase in KILL_POINTS:
        counter[0] += 1
        version = f"2.{counter[0]}.0"
        proc = run.paused(version, phase, "--strategy", strategy)
        proc.kill()
        proc.wait()
        started = time.monotonic()
        rerun = run.deploy(version, "--wait", "--strategy", strategy)
        run.recoveries.append(time.monotonic() - started)
        run.tally(f"kill before {strategy} {phase}", rerun.returncode == 0 and run.settled(version))


def lock_losses(run: Run) -> int:
    forced = run.paused("3.0.0", "verify", seconds=4)
    run.cicd("unlock", "--env", "staging", "--force", "--reason", "bench: stuck deploy")
    winner = run.deploy("3.1.0", "--wait")
    run.tally("unlock --force", run.finish_loser(forced) and winner.returncode == 0 and run.settled("3.1.0"))

    stopped = run.paused("3.2.0", "switch", seconds=1)
    os.kill(stopped.pid, signal.SIGSTOP)
    time.sleep(3.5)  # past the 2 s TTL, heartbeat thread included
    winner = run.deploy("3.3.0", "--wait")
    os.kill(stopped.pid, signal.SIGCONT)
    lost = run.finish_loser(stopped)
    run.tally("SIGSTOP past the TTL", lost and winner.returncode == 0 and run.settled("3.3.0"))
    return 2


def kill_sequences(run: Run, count: int) -> tuple[int, int]:
    wrong = kills = 0
    for number in range(count):
        a, b, c = (f"{4 + number}.{minor}.0" for minor in (1, 2, 3))
        run.deploy(a, "--wait")
        for version in (b, c):
            proc = run.paused(version, "warm")  # right after "✓ switch"
            proc.kill()
            proc.wait()
            kills += 1
            if version == b:
                run.deploy(b, "--wait")
        rollback = run.cicd("rollback", "--env", "staging", "--wait", timeout=180)
        right = rollback.returncode == 0 and live_version(run.project, "staging") == b
        wrong += int(not right)
        run.tally(f"kills after switches, rollback to {b}", right and run.settled(b))
    return kills, wrong


def failing_hook_case(run: Run) -> None:
    """Defect 1: a pre-deploy hook printing its secret and failing; nothing changes, nothing leaks."""
    env = run.project.envs["staging"]
    env["deploy"]["hooks"]["pre_deploy"] = [["./leaky-hook.sh"]]
    run.project.write_env(env)
    failed = run.deploy("9.9.9")
    env["deploy"]["hooks"]["pre_deploy"] = [["./hook.sh"]]
    run.project.write_env(env)
    redacted = "key ***" in failed.stdout + failed.stderr
    run.tally("failing hook printing its secret", failed.returncode == 1 and redacted)


def leaks(run: Run, scanned: list[str]) -> dict[str, int]:
    root = run.project.root
    places = {"terminal": "\n".join(run.outputs)}
    logs = [*root.glob(".cicd/run/staging/*.log"), *root.glob(".cicd/nginx/staging/logs/*.log")]
    places["logs"] = "".join(path.read_text(errors="replace") for path in logs)
    places["history"] = run.cicd("history", "--env", "staging", "--json", "--limit", "500").stdout
    places["ledger"] = run.cicd("audit", "show", "--env", "staging", "--json", "--limit", "5000").stdout
    raw = b"".join(path.read_bytes() for path in root.glob(".cicd/state/staging.db*"))
    places["database"] = raw.decode("latin-1")
    for pid_file in root.glob(".cicd/run/staging/*.pid"):
        environ = Path(f"/proc/{pid_file.read_text().strip()}/environ")
        if environ.exists():
            text = environ.read_bytes().decode("latin-1")
            assert PLANTED["APP_TOKEN"] in text, "the scan must see the service's own environment"
            places[f"environ:{pid_file.stem}"] = text
    found: dict[str, int] = {}
    scanned.extend(places)
    for place, text in places.items():
        if place == "terminal":  # an Actions mask line names the value on purpose; none is printed here
            text = "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))
        names = NOT_FOR_THE_SERVICE if place.startswith("environ:") else tuple(PLANTED)
        hits = sum(text.count(PLANTED[name]) for name in names)
        if hits:
            found[place] = hits
    return found


def setup(run: Run) -> None:
    root = run.project.root
    for name, body in (("hook.sh", "echo hook ran"), ("leaky-hook.sh", 'echo "key $DEPLOY_KEY" >&2; exit 1')):
        (root / name).write_text(f"#!/bin/sh\n{body}\n")
        (root / name).chmod(0o755)
    env = run.project.add_env(
        "staging",
        runtime={"secrets": ["APP_TOKEN"]},
        hooks={"pre_deploy": [["./hook.sh"]], "post_deploy": [["./hook.sh"]], "secrets": ["DEPLOY_KEY"]},
        canary_steps=[{"weight": 25, "pause_seconds": 0.5}, {"weight": 100}],
        verification={"window_seconds": 1.0},
    )
    env["secrets"] = ["DEPLOY_KEY", "APP_TOKEN"]
    run.project.write_env(env)
    run.deploy("1.0.0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=2, help="kill sequences followed by a rollback")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cicd-faults-") as tmp:
        run = Run(Path(tmp))
        try:
            setup(run)
            url = run.project.url("staging", QUOTE)
            load = Load(url, workers=3, seconds=3600, max_requests=10**7, pause=0.002)
            run.load = load.start()
            counter = [0]
            kill_points(run, counter)
            lock_cases = lock_losses(run)
            sequence_kills, wrong = kill_sequences(run, args.sequences)
            failing_hook_case(run)
            result = load.stop().summary()
            scanned: list[str] = []
            found = leaks(run, scanned)
        finally:
            run.project.shut_down()
    figures = {
        "kill_points": len(KILL_POINTS) + sequence_kills,
        "lock_loss_cases": lock_cases,
        "failed_requests_under_faults": result["failed"],
        "requests": result.get("requests"),
        "errors": result.get("errors"),
        "cases": run.cases,
        "converged": run.converged,
        "wrong_rollback_targets": wrong,
        "secret_leaks": sum(found.values()),
        "leaks_by_place": found,
        "service_environs_scanned": sum(place.startswith("environ:") for place in scanned),
        "median_recovery_seconds": round(statistics.median(run.recoveries), 2) if run.recoveries else None,
        "loadavg": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
