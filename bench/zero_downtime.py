#!/usr/bin/env python3
"""Zero-downtime benchmark: real routers (nginx and HAProxy, side by side), real processes, the real
`cicd` CLI, four kinds of load at once on loopback.

For each router, in one run:
- blue-green swaps through `cicd deploy` while these run together:
  `wrk` with 64 keep-alive connections; a client opening a connection per request; a stream of POSTs
  on a keep-alive connection (never retried); long requests (the sample's /slow, 2 s) in flight
  across every switch. A failure is every socket error, every 5xx the versions did not produce
  themselves, every long request cut short;
- latency of a keep-alive probe: p50 alone before the loads start (the router and service), p50 and
  p99 under the loads in steady state, p99 around each switch;
- the recreate strategy under the same keep-alive load: its failures, the baseline that must lose;
- `cicd rollback` to the warm color: command start to every answer from the old version, and the
  switch alone as the command timed it;
- a broken version (half of its quotes answer 500) rolled back by verification: connection errors and
  502/503/504 during its switch and switch back (its own 500s do not count), and the time from its
  first answer to the old version restored.
Medians over the repetitions. The last line is one JSON object: the default router's figures, and
`routers` with the same keys for each router.

    python3 bench/zero_downtime.py [--swaps 5] [--rollbacks 3] [--broken 2] [--routers haproxy,nginx]
"""

from __future__ import annotations

import argparse
import contextlib
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
import threading
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from load import Load, _percentile, one_request  # noqa: E402  (scripts/load.py, the demo's client)

SERVICE = REPO / "examples" / "service"
DEFAULT_ROUTER = "haproxy"
KEEPALIVE_CONNECTIONS = 64
LONG_SECONDS = 2.0
BROKEN_PATCH = (
    "        type(self).served = getattr(type(self), 'served', 0) + 1\n"
    "        if self.served > 3 and self.served % 2 == 0:\n"
    "            self._send_json(500, {'error': 'broken on purpose'})\n"
    "            return\n"
)
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "seconds": %.3f, "connect": %d, "read": %d, "write": %d,'
    .. ' "timeout": %d, "status": %d}\\n', summary.requests, summary.duration / 1e6, e.connect, e.read,
    e.write, e.timeout, e.status))
end
"""


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


class Bench:
    """A project folder with one environment on free loopback ports, deployed with the real CLI."""

    def __init__(self, root: Path, router: str):
        self.root = root
        blue, green, listen, preview = free_ports(4)
        self.url = f"http://127.0.0.1:{listen}"
        command = [sys.executable, "-m", "sample_service.app", "--port", "{port}", "--version", "{version}"]
        self.env = {
            "name": "bench",
            "type": "staging",
            "url": self.url,
            "deploy": {
                "runtime": {"kind": "process", "command": command, "default_artifact": str(SERVICE)},
                "colors": {"blue": {"port": blue}, "green": {"port": green}},
                "router": {
                    "kind": router,
                    "listen": f"127.0.0.1:{listen}",
                    "preview_listen": f"127.0.0.1:{preview}",
                    "drain_timeout_seconds": 10,
                },
                "health": {"path": "/healthz", "interval_seconds": 0.05, "timeout_seconds": 10},
                "smoke": [{"name": "version", "path": "/version"}],
                # wrk saturates both cores on purpose: latency then says nothing about a version, so the
                # verification judges errors (the broken version) and a latency floor far above the load's
                "verification": {"window_seconds": 1, "interval_seconds": 0.25, "latency_floor_ms": 1000},
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
        self.last_output = ""

    def write_env(self, **verification) -> None:
        self.env["deploy"]["verification"].update(verification)
        path = self.root / "config" / "environments" / "bench.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.env, sort_keys=False))

    def cicd(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CICD_TEST_"))}
        config = str(self.root / "config")
        argv = [sys.executable, "-m", "cicd", *args, "--env", "bench", "--config-dir", config]
        return subprocess.run(argv, cwd=self.root, capture_output=True, text=True, timeout=120, env=env)

    def deploy(self, *extra: str, expect_ok: bool = True) -> tuple[str, float, float]:
        self.counter += 1
        version = f"1.{self.counter}.0"
        started = time.monotonic()
        result = self.cicd("deploy", "--version", version, *extra)
        self.last_output = result.stdout + result.stderr
        if expect_ok and result.returncode != 0:
            raise SystemExit(f"deploy {version} failed:\n{self.last_output}")
        return version, started, time.monotonic()

    def live_version(self) -> str | None:
        return one_request(self.url + "/version").version

    def shut_down(self) -> None:
        for pid_file in self.root.glob(".cicd/run/*/*.pid"):
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.killpg(int(pid_file.read_text()), 9)
        routers = [*self.root.glob(".cicd/nginx/*/nginx.pid"), *self.root.glob(".cicd/haproxy/*/*.pid")]
        for pid_file in routers:
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text()), 15)


class Wrk:
    """wrk with keep-alive connections until stopped (SIGINT: wrk ends and reports, the Lua `done` hook
    with the errors), or for at most `seconds`. A busy machine makes deploys slow: the load must last
    as long as they do."""

    def __init__(self, url: str, connections: int, script: Path, seconds: float = 240):
        # a request is a timeout only after 10 s: on 2 busy cores, 2 s (wrk's default) is queueing
        argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script)]
        argv.append(url)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGINT)
        output, _ = self.proc.communicate(timeout=60)
        line = next((ln for ln in output.splitlines() if ln.startswith("WRK ")), None)
        if line is None:
            raise SystemExit(f"wrk did not report:\n{output}")
        report = json.loads(line[4:])
        report["failed"] = sum(report[k] for k in ("connect", "read", "write", "timeout", "status"))
        return report


class Loop(threading.Thread):
    """Calls `once` until stopped; each call returns (at, latency_ms, ok, detail)."""

    def __init__(self, once, pause: float = 0.0):
        super().__init__(daemon=True)
        self.once, self.pause = once, pause
        self.hits: list[tuple[float, float, bool, str]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.hits.append(self.once())
            if self.pause:
                time.sleep(self.pause)

    def stop(self) -> list[tuple[float, float, bool, str]]:
        self.stopping.set()
        self.join(timeout=LONG_SECONDS + 10)
        return self.hits


class KeepAliveClient:
    """One persistent connection; a failed request is counted, never retried, and a new connection
    is opened for the next one (as an API client that does not retry POSTs behaves)."""

    def __init__(self, url: str, method: str, path: str, body: bytes | None = None, timeout: float = 10):
        self.port = int(url.rsplit(":", 1)[1])
        self.method, self.path, self.body, self.timeout = method, path, body, timeout
        self.conn: http.client.HTTPConnection | None = None

    def __call__(self) -> tuple[float, float, bool, str]:
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.conn.request(self.method, self.path, body=self.body)
            response = self.conn.getresponse()
            response.read()
            ok = response.status < 500
            return started, (time.monotonic() - started) * 1000, ok, str(response.status)
        except (OSError, http.client.HTTPException) as err:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return started, (time.monotonic() - started) * 1000, False, type(err).__name__


def window(hits, start: float, end: float) -> list:
    return [hit for hit in hits if start <= hit[0] <= end]


def percentile(hits, fraction: float) -> float | None:
    return _percentile(sorted(hit[1] for hit in hits if hit[2]), fraction)


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def swaps(bench: Bench, script: Path, count: int) -> dict:
    """`count` blue-green swaps under the four loads at once."""
    url = bench.url
    probe = Loop(KeepAliveClient(url, "GET", "/version"), pause=0.005)
    posts = Loop(KeepAliveClient(url, "POST", "/api/orders", b'{"sku": "widget", "quantity": 2}'), 0.005)
    longs = [Loop(KeepAliveClient(url, "GET", f"/slow?seconds={LONG_SECONDS:g}")) for _ in range(3)]
    close = Load(url + "/api/quote?sku=widget&quantity=2", workers=2, seconds=600, pause=0.005)
    steady_seconds = 3.0
    quote = url + "/api/quote?sku=widget&quantity=2"
    probe.start()
    quiet_start = time.monotonic()
    time.sleep(2.0)  # the probe alone: the router's own latency, before the loads saturate 2 cores
    quiet = window(probe.hits, quiet_start, time.monotonic())
    for loop in (posts, *longs):
        loop.start()
    close.start()
    wrk = Wrk(quote, KEEPALIVE_CONNECTIONS, script)
    steady_start = time.monotonic()
    time.sleep(steady_seconds)
    steady_end = time.monotonic()
    deploys = [bench.deploy() for _ in range(count)]
    time.sleep(0.5)
    keepalive = wrk.stop()
    probe_hits, post_hits = probe.stop(), posts.stop()
    long_hits = [hit for loop in longs for hit in loop.stop()]
    close_hits = close.stop().hits
    steady = window(probe_hits, steady_start, steady_end)
    around = [window(probe_hits, started, ended) for _version, started, ended in deploys]
    return {
        "keepalive_connections": KEEPALIVE_CONNECTIONS,
        "swaps": len(deploys),
        "rps_keepalive": round(keepalive["requests"] / keepalive["seconds"]),
        "requests_keepalive": keepalive["requests"],
        "failed_requests_keepalive": keepalive["failed"],
        "keepalive_errors": {k: keepalive[k] for k in ("connect", "read", "write", "timeout", "status")},
        "requests_close": len(close_hits),
        "failed_requests_close": sum(hit.failed for hit in close_hits),
        "close_errors": dict(Counter(hit.error or f"HTTP {hit.status}" for hit in close_hits if hit.failed)),
        "posts": len(post_hits),
        "failed_posts": sum(not hit[2] for hit in post_hits),
        "long_requests": len(long_hits),
        "long_requests_cut": sum(not hit[2] or hit[1] < LONG_SECONDS * 1000 - 50 for hit in long_hits),
        "p50_ms_steady": percentile(quiet, 0.50),
        "p50_ms_under_load": percentile(steady, 0.50),
        "p99_ms_steady": percentile(steady, 0.99),
        "p99_ms_during_swap": median(percentile(hits, 0.99) for hits in around),
    }


def recreate_baseline(bench: Bench, script: Path, count: int) -> dict:
    wrk = Wrk(bench.url + "/version", 16, script)
    time.sleep(1.0)
    for _ in range(count):
        bench.deploy("--strategy", "recreate")
    return {"recreate_swaps": count, "failed_requests_recreate": wrk.stop()["failed"]}


def settled_on(seen: list[tuple[float, str | None]], version: str, after: float) -> float | None:
    """The time from which every answer came from `version` (after `after`), None if never."""
    settled = None
    for at, answered in seen:
        if at >= after:
            settled = (settled or at) if answered == version else None
    return settled


def watch(url: str) -> Loop:
    def once():
        hit = one_request(url + "/version", timeout=2)
        return hit.at, hit.latency_ms, not hit.failed, hit.version or ""

    return Loop(once, pause=0.003)


def rollbacks(bench: Bench, count: int) -> dict:
    """Each repetition deploys a new version (blue-green: the previous one stays warm), then rolls
    back to the warm one: a version rolled back from is never a rollback target again."""
    took: list[float | None] = []
    switched: list[float] = []
    bench.deploy()  # blue-green after the recreate baseline: a verified version to keep warm
    for _ in range(count):
        bench.deploy()
        status = bench.cicd("status", "--json")
        target = json.loads(status.stdout).get("rollback_target") if status.stdout.startswith("{") else None
        if not target or target.get("how") != "warm":
            raise SystemExit(f"no warm version to roll back to:\n{status.stdout}{status.stderr}")
        watcher = watch(bench.url)
        watcher.start()
        started = time.monotonic()
        result = bench.cicd("rollback", "--reason", "benchmark")
        time.sleep(0.3)
        seen = [(at, version) for at, _ms, _ok, version in watcher.stop()]
        if result.returncode != 0:
            raise SystemExit(f"rollback failed: {result.stderr}")
        settled = settled_on(seen, target["version"], started)
        took.append((settled - started) * 1000 if settled is not None else None)
        switch_line = next((line for line in result.stdout.splitlines() if " switch " in line), "")
        if "(" in switch_line:  # the switch alone, as the command timed it (no interpreter start-up)
            switched.append(float(switch_line.rsplit("(", 1)[1].rstrip("s)")) * 1000)
    return {"rollback_to_warm_ms": median(took), "rollback_switch_ms": median(switched), "rollbacks": count}


def broken_versions(bench: Bench, script: Path, count: int) -> dict:
    bench.write_env(window_seconds=3)
    detect, failed = [], 0
    for _ in range(count):
        good = bench.live_version()
        wrk = Wrk(bench.url + "/api/quote?sku=widget&quantity=2", 16, script)
        watcher = watch(bench.url)
        watcher.start()
        version, started, _ended = bench.deploy("--artifact", str(bench.broken), expect_ok=False)
        time.sleep(0.3)
        hits = watcher.stop()
        report = wrk.stop()
        if bench.live_version() != good:
            raise SystemExit(f"broken {version} was not rolled back:\n{bench.last_output}")
        # wrk counts every non-2xx in `status`; the broken version's own 500s (on quotes) are not failures
        # of the switch, so only socket errors count from wrk. The watcher asks /version, which no
        # version breaks: any failed answer there (502/503/504, a socket error) counts.
        failed += report["failed"] - report["status"]
        failed += sum(not ok for _at, _ms, ok, _version in hits)
        first_broken = next((at for at, _ms, _ok, seen in hits if seen == version), None)
        restored = settled_on([(at, seen) for at, _ms, _ok, seen in hits], good, first_broken or started)
        if first_broken is not None and restored is not None:
            detect.append((restored - first_broken) * 1000)
    bench.write_env(window_seconds=1)
    return {"failed_requests_auto_rollback": failed, "detect_to_rollback_ms": median(detect), "broken": count}


def measure(router: str, args: argparse.Namespace, script: Path) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"cicd-bench-{router}-"))
    bench = Bench(root, router)
    try:
        bench.deploy()
        figures = swaps(bench, script, args.swaps)
        figures.update(recreate_baseline(bench, script, args.recreates))
        figures.update(rollbacks(bench, args.rollbacks))
        figures.update(broken_versions(bench, script, args.broken))
        return figures
    finally:
        bench.shut_down()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=5)
    parser.add_argument("--recreates", type=int, default=2)
    parser.add_argument("--rollbacks", type=int, default=3)
    parser.add_argument("--broken", type=int, default=2)
    parser.add_argument("--routers", default="haproxy,nginx")
    args = parser.parse_args()
    for binary in ("wrk", *args.routers.split(",")):
        if shutil.which(binary) is None and not os.path.exists(f"/usr/sbin/{binary}"):
            raise SystemExit(f"{binary} is not installed: run scripts/install-system-deps.sh")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_REPORT)
    script = Path(handle.name)
    try:
        routers = {router: measure(router, args, script) for router in args.routers.split(",")}
    finally:
        script.unlink()
    default = DEFAULT_ROUTER if DEFAULT_ROUTER in routers else next(iter(routers))
    result = {
        "router": default,
        **routers[default],
        "load_average_1m": round(os.getloadavg()[0], 2),
        "routers": routers,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
