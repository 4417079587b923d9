#!/usr/bin/env python3
"""Zero-downtime benchmark: real nginx, real processes, the real `cicd` CLI, a steady load on loopback.

Measures, in one run:
- blue-green swaps under load: failed requests (target 0) and p99 latency around each switch against
  steady state (target <= 1.5x);
- the same load against the recreate strategy (stop, then start): its failed requests, the baseline;
- rollback to the warm color: `cicd rollback` start to every request answered by the old version
  (target < 1000 ms);
- a broken version (half of its quotes fail) with a 10 s verification window: from its first answer
  to traffic restored on the old version (target < 15000 ms).
Medians over several repetitions. The last line is one JSON object.

    python3 bench/zero_downtime.py [--swaps 5] [--recreates 3] [--rollbacks 3] [--broken 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from load import Load, _percentile, one_request  # noqa: E402  (scripts/load.py, the demo's client)

SERVICE = REPO / "examples" / "service"
BROKEN_PATCH = (
    "        type(self).served = getattr(type(self), 'served', 0) + 1\n"
    "        if self.served > 3 and self.served % 2 == 0:\n"
    "            self._send_json(500, {'error': 'broken on purpose'})\n"
    "            return\n"
)


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


class Bench:
    def __init__(self, root: Path):
        self.root = root
        blue, green, listen, preview = free_ports(4)
        self.url = f"http://127.0.0.1:{listen}"
        self.env = {
            "name": "bench",
            "type": "staging",
            "url": self.url,
            "deploy": {
                "runtime": {
                    "kind": "process",
                    "command": [
                        sys.executable,
                        "-m",
                        "sample_service.app",
                        "--port",
                        "{port}",
                        "--version",
                        "{version}",
                    ],
                    "default_artifact": str(SERVICE),
                    "stop_grace_seconds": 5,
                },
                "colors": {"blue": {"port": blue}, "green": {"port": green}},
                "router": {"listen": f"127.0.0.1:{listen}", "preview_listen": f"127.0.0.1:{preview}"},
                "health": {"path": "/healthz", "interval_seconds": 0.05, "timeout_seconds": 10},
                "smoke": [{"name": "version", "path": "/version"}],
                "verification": {"window_seconds": 1, "interval_seconds": 0.25},
                "warm_seconds": 600,
                "releases_to_keep": 50,
                "lock_ttl_seconds": 5,
            },
        }
        self.write_env()
        self.broken = root / "broken"
        shutil.copytree(SERVICE, self.broken, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        app = self.broken / "sample_service" / "app.py"
        marker = "    def _quote(self, query: dict[str, list[str]]) -> None:\n"
        app.write_text(app.read_text().replace(marker, marker + BROKEN_PATCH))
        self.counter = 0

    def write_env(self, **verification) -> None:
        self.env["deploy"]["verification"].update(verification)
        path = self.root / "config" / "environments" / "bench.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.env, sort_keys=False))

    def cicd(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CICD_TEST_"))}
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "cicd",
                *args,
                "--env",
                "bench",
                "--config-dir",
                str(self.root / "config"),
            ],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    def deploy(self, *extra: str, expect_ok: bool = True) -> tuple[str, float, float]:
        self.counter += 1
        version = f"1.{self.counter}.0"
        started = time.monotonic()
        result = self.cicd("deploy", "--version", version, *extra)
        if expect_ok and result.returncode != 0:
            raise SystemExit(f"deploy {version} failed:\n{result.stdout}{result.stderr}")
        self.last_output = result.stdout + result.stderr
        return version, started, time.monotonic()

    def live_version(self) -> str | None:
        hit = one_request(self.url + "/version")
        return hit.version

    def shut_down(self) -> None:
        for pid_file in self.root.glob(".cicd/run/*/*.pid"):
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.killpg(int(pid_file.read_text()), 9)
        for pid_file in self.root.glob(".cicd/nginx/*/nginx.pid"):
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text()), 15)


class Watcher:
    """Polls /version every few ms on fresh connections; remembers (time, version) pairs."""

    def __init__(self, url: str):
        self.url = url + "/version"
        self.seen: list[tuple[float, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            hit = one_request(self.url, timeout=2)
            self.seen.append((time.monotonic(), hit.version if not hit.failed else None))
            time.sleep(0.003)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def settled_on(self, version: str, after: float) -> float | None:
        """The time from which every answer came from `version` (after `after`), None if never."""
        settled = None
        for at, seen in self.seen:
            if at < after:
                continue
            settled = settled or at if seen == version else None
        return settled


def window(hits, start: float, end: float):
    return [h for h in hits if start <= h.at <= end]


def p99(hits) -> float | None:
    return _percentile(sorted(h.latency_ms for h in hits if not h.failed), 0.99)


def swaps_under_load(bench: Bench, load_hits, count: int, strategy: str) -> tuple[list, list]:
    """Deploy `count` times; returns the deploy windows and the versions."""
    windows = []
    for _ in range(count):
        version, started, ended = bench.deploy("--strategy", strategy)
        windows.append((version, started, ended))
        time.sleep(0.5)
    return windows, [w[0] for w in windows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=5)
    parser.add_argument("--recreates", type=int, default=3)
    parser.add_argument("--rollbacks", type=int, default=3)
    parser.add_argument("--broken", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        raise SystemExit("nginx is not installed: run scripts/install-system-deps.sh")

    root = Path(tempfile.mkdtemp(prefix="cicd-bench-"))
    bench = Bench(root)
    try:
        return run(bench, args)
    finally:
        bench.shut_down()
        shutil.rmtree(root, ignore_errors=True)


def run(bench: Bench, args: argparse.Namespace) -> int:
    bench.deploy()
    load = Load(
        bench.url + "/api/quote?sku=widget&quantity=2", workers=args.workers, seconds=600, pause=0.002
    ).start()
    steady_start = time.monotonic()
    time.sleep(4)
    steady_end = time.monotonic()

    bg_windows, _ = swaps_under_load(bench, load, args.swaps, "blue_green")
    rc_windows, _ = swaps_under_load(bench, load, args.recreates, "recreate")
    hits = list(load.stop().hits)

    steady = window(hits, steady_start, steady_end)
    steady_p99s = [p99(window(hits, t, t + 1.0)) for t in [steady_start + i for i in range(4)]]
    swap_p99s = []
    for version, started, _ended in bg_windows:
        first_new = next((h.at for h in hits if h.version == version and h.at >= started), None)
        if first_new is not None:
            swap_p99s.append(p99(window(hits, first_new - 1.0, first_new + 1.0)))
    failed_bg = sum(
        h.failed for s_, a, b in [(w[0], w[1], w[2]) for w in bg_windows] for h in window(hits, a, b)
    )
    failed_rc = sum(h.failed for w in rc_windows for h in window(hits, w[1], w[2]))
    requests_bg = sum(len(window(hits, w[1], w[2])) for w in bg_windows)

    # Rollback to warm: the previous color is still up; measure command start -> all answers from it.
    rollback_ms: list[float] = []
    switch_ms: list[float] = []
    bench.deploy()  # blue-green again, so the recreate leftovers are gone and a warm color exists
    for _ in range(args.rollbacks):
        before = bench.live_version()
        status = bench.cicd("status", "--json")
        warm = json.loads(status.stdout)["warm_version"]
        with Watcher(bench.url) as watcher:
            started = time.monotonic()
            result = bench.cicd("rollback", "--reason", "benchmark")
            time.sleep(0.5)
        if result.returncode != 0:
            raise SystemExit(f"rollback failed: {result.stderr}")
        settled = watcher.settled_on(warm, started)
        if settled is None or bench.live_version() == before:
            raise SystemExit("rollback did not settle on the warm version")
        rollback_ms.append((settled - started) * 1000)
        switch_line = next((ln for ln in result.stdout.splitlines() if " switch " in ln), "")
        if "(" in switch_line:  # the switch alone, as the command timed it (no interpreter start-up)
            switch_ms.append(float(switch_line.rsplit("(", 1)[1].rstrip("s)")) * 1000)

    # A broken version with a 10 s verification window: first broken answer -> old version restored.
    bench.write_env(window_seconds=10)
    detect_ms = []
    for _ in range(args.broken):
        good = bench.live_version()
        load = Load(
            bench.url + "/api/quote?sku=widget&quantity=2", workers=2, seconds=60, pause=0.005
        ).start()
        with Watcher(bench.url) as watcher:
            version, started, _ended = bench.deploy("--artifact", str(bench.broken), expect_ok=False)
            time.sleep(0.3)
        load.stop()
        if bench.live_version() != good:
            raise SystemExit(f"broken {version} was not rolled back:\n{bench.last_output}")
        first_broken = next((at for at, seen in watcher.seen if seen == version), None)
        restored = watcher.settled_on(good, first_broken or started)
        if first_broken is not None and restored is not None:
            detect_ms.append((restored - first_broken) * 1000)

    result = {
        "swaps": len(bg_windows),
        "requests": len(hits),
        "requests_during_blue_green": requests_bg,
        "failed_requests_blue_green": failed_bg,
        "failed_requests_recreate": failed_rc,
        "recreate_swaps": len(rc_windows),
        "p99_ms_steady": round(statistics.median([v for v in steady_p99s if v is not None]), 2),
        "p99_ms_during_swap": round(statistics.median([v for v in swap_p99s if v is not None]), 2),
        "rollback_to_warm_ms": round(statistics.median(rollback_ms), 1),
        "rollback_switch_ms": round(statistics.median(switch_ms), 1) if switch_ms else None,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "detect_to_rollback_ms": round(statistics.median(detect_ms), 1) if detect_ms else None,
        "steady_requests": len(steady),
        "repetitions": {"rollbacks": len(rollback_ms), "broken": len(detect_ms)},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
