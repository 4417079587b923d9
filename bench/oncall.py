#!/usr/bin/env python3
"""On-call benchmark: the 3 a.m. path of docs/RUNBOOKS.md, played with the real `cicd` CLI on real nginx
and real processes, several times, timed the way a person lives it.

Each repetition:
- a bad version (wrong prices, HTTP 200) goes live. The restore path is the runbook's: `cicd rollback
  --reason ...` (it goes only to a known-good release, so it is safe to run first), then `cicd status`
  to read where things stand. `restore_s` runs from the first command's start until 20 answers in a
  row come from the good version; `commands_to_restore` counts the cicd commands of the path;
- a later deploy is SIGKILLed after its switch, before verification, leaving its lock behind with a
  fresh heartbeat. The recovery is one command, `cicd rollback --steal-stale-lock --reason ...`;
  `stale_lock_restore_s` runs from its start until 20 good answers in a row;
- `status_truthful`: after every path (deploy, rollback, kill, lock stolen) `cicd status --json` is
  compared with what the router serves and with what happened: the live version, the lock holder and
  whether its process is alive, and a rollback target that is never the bad or unverified version.

Medians over the repetitions; the last line is one JSON object.

    python3 bench/oncall.py [--repetitions 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SERVICE = REPO / "examples" / "service"
ENV = "production"
GOOD = "2.0.0"
WRONG_PRICES = (
    "        self._send_json(200, {'sku': 'widget', 'quantity': 2, 'total': '0.02'})\n        return\n"
)
GOOD_IN_A_ROW = 20


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


class Drill:
    """A project folder with a production environment on free loopback ports."""

    def __init__(self, root: Path):
        self.root = root
        blue, green, listen, preview = free_ports(4)
        self.listen = listen
        command = [sys.executable, "-m", "sample_service.app", "--port", "{port}", "--version", "{version}"]
        env = {
            "name": ENV,
            "type": "production",
            "url": f"http://127.0.0.1:{listen}",
            "deploy": {
                "runtime": {"kind": "process", "command": command, "default_artifact": str(SERVICE)},
                "colors": {"blue": {"port": blue}, "green": {"port": green}},
                "router": {"listen": f"127.0.0.1:{listen}", "preview_listen": f"127.0.0.1:{preview}"},
                "health": {"path": "/healthz", "interval_seconds": 0.05, "timeout_seconds": 10},
                "smoke": [{"name": "version", "path": "/version"}],
                "verification": {"window_seconds": 1, "interval_seconds": 0.25, "min_samples": 5},
                "warm_seconds": 600,
                "releases_to_keep": 50,
                # a killed deploy's heartbeat stays fresh: only its pid proves the holder dead
                "lock_ttl_seconds": 60,
            },
        }
        (root / "config" / "environments").mkdir(parents=True)
        (root / "config" / "environments" / f"{ENV}.yml").write_text(yaml.safe_dump(env, sort_keys=False))
        self.bad = root / "wrong-prices"
        shutil.copytree(SERVICE, self.bad, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        app = self.bad / "sample_service" / "app.py"
        marker = "    def _quote(self, query: dict[str, list[str]]) -> None:\n"
        app.write_text(app.read_text().replace(marker, marker + WRONG_PRICES))
        self.commands = 0

    def env(self, extra: dict | None = None) -> dict:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CICD_TEST_"))}
        return {**base, "PYTHONPATH": str(REPO / "scripts"), **(extra or {})}

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "cicd", *args, "--env", ENV, "--config-dir", str(self.root / "config")]

    def cicd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        self.commands += 1
        result = subprocess.run(self.argv(*args), cwd=self.root, capture_output=True, text=True,
                                env=self.env(), timeout=180)  # fmt: skip
        if check and result.returncode not in (0, 3, 4):
            raise SystemExit(f"cicd {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def status(self) -> dict:
        return json.loads(self.cicd("status", "--json").stdout)

    def served(self) -> str | None:
        conn = http.client.HTTPConnection("127.0.0.1", self.listen, timeout=2)
        try:
            conn.request("GET", "/version")
            response = conn.getresponse()
            body = response.read()
            return json.loads(body)["version"] if response.status == 200 else None
        except (OSError, ValueError):
            return None
        finally:
            conn.close()

    def until_all_good(self, started: float, limit: float = 30.0) -> float:
        """Seconds from `started` to the first of GOOD_IN_A_ROW answers in a row from the good version."""
        streak, first = 0, None
        while time.monotonic() - started < limit:
            if self.served() == GOOD:
                first = first or time.monotonic()
                streak += 1
                if streak >= GOOD_IN_A_ROW:
                    return round(first - started, 3)
            else:
                streak, first = 0, None
        raise SystemExit(f"traffic never settled on {GOOD} within {limit:g}s")

    def kill_after_switch(self, version: str) -> int:
        pause = {"CICD_TEST_PAUSE_AT": "verify", "CICD_TEST_PAUSE_SECONDS": "300"}
        proc = subprocess.Popen(
            self.argv("deploy", "--version", version), cwd=self.root, text=True, env=self.env(pause),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            if "paused before verify" in line:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return proc.pid

    def shut_down(self) -> None:
        pids = list(self.root.glob(".cicd/run/*/*.pid")) + list(self.root.glob(".cicd/nginx/*/nginx.pid"))
        for pid_file in pids:
            try:
                pid = int(pid_file.read_text().strip())
                if pid_file.name == "nginx.pid":
                    os.kill(pid, signal.SIGTERM)
                else:
                    os.killpg(pid, signal.SIGKILL)
            except (ValueError, ProcessLookupError, PermissionError):
                pass


def truthful(state: dict, served: str | None, bad: set[str], *, lock_pid: int | None = None) -> bool:
    """Status matches the router and what happened, and never offers a bad or unverified target."""
    target = (state.get("rollback_target") or {}).get("version")
    checks = [
        state["current_version"] == served,
        target not in bad and target != state["current_version"],
        state["warm_role"] != "rollback target" or state["warm_version"] not in bad,
    ]
    if lock_pid is None:
        checks.append(state["locked"] is False)
    else:
        lock = state["lock"] or {}
        checks += [lock.get("pid") == lock_pid, lock.get("process_alive") is False]
        checks.append(bool(lock.get("expires_at")) and lock.get("host") == socket.gethostname())
    return all(checks)


def repetition(drill: Drill, number: int) -> dict:
    bad_version, killed_version = f"2.1.{number}", f"2.2.{number}"
    drill.cicd("deploy", "--version", bad_version, "--artifact", str(drill.bad))
    truth = [truthful(drill.status(), drill.served(), {bad_version})]

    drill.commands = 0
    started = time.monotonic()
    drill.cicd("rollback", "--reason", f"wrong prices; incident {number}")  # runbook step 1
    restore_s = drill.until_all_good(started)
    truth.append(truthful(drill.status(), drill.served(), {bad_version}))  # step 2: read the status
    commands = drill.commands

    pid = drill.kill_after_switch(killed_version)
    truth.append(truthful(drill.status(), drill.served(), {bad_version, killed_version}, lock_pid=pid))
    started = time.monotonic()
    drill.cicd("rollback", "--steal-stale-lock", "--reason", f"deploy {killed_version} killed")
    stale_s = drill.until_all_good(started)
    truth.append(truthful(drill.status(), drill.served(), {bad_version, killed_version}))
    return {"commands": commands, "restore_s": restore_s, "stale_s": stale_s, "truthful": all(truth)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cicd-oncall-"))
    drill = Drill(root)
    try:
        for version in ("1.0.0", GOOD):
            drill.cicd("deploy", "--version", version)
        runs = [repetition(drill, number) for number in range(1, args.repetitions + 1)]
    finally:
        drill.shut_down()
        shutil.rmtree(root, ignore_errors=True)
    for number, run in enumerate(runs, 1):
        print(f"repetition {number}: {json.dumps(run)}", file=sys.stderr)
    result = {
        "commands_to_restore": max(run["commands"] for run in runs),
        "restore_s": round(statistics.median(run["restore_s"] for run in runs), 3),
        "stale_lock_restore_s": round(statistics.median(run["stale_s"] for run in runs), 3),
        "status_truthful": all(run["truthful"] for run in runs),
        "repetitions": len(runs),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
