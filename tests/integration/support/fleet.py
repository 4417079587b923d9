"""A project whose environment spans several real sshd hosts, each in its own network namespace (so
every host has its own 127.0.0.1 and the same slot and nginx ports, like separate machines), deployed
with the real `cicd` CLI. Helpers read what each host serves through that host (curl over SSH)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
SERVICE = REPO / "examples" / "service"
# A file in one host's HOME (services see HOME, never the host's other variables): a patched service
# that tests this expression exits there.
FAIL_MARKER = "cicd-test-refuse-to-start"
ON_FAILING_HOST = f"os.path.exists(os.path.join(os.environ.get('HOME', '/'), {FAIL_MARKER!r}))"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def process_deploy(hosts: list[dict], ports: list[int], **overrides) -> dict:
    blue, green, listen, preview = ports
    deploy = {
        "strategy": "blue_green",
        "hosts": hosts,
        "runtime": {
            "kind": "process",
            "command": [sys.executable, "-m", "sample_service.app", "--port", "{port}",
                        "--version", "{version}"],
            "default_artifact": str(SERVICE),
            "stop_grace_seconds": 3,
        },
        "colors": {"blue": {"port": blue}, "green": {"port": green}},
        "router": {"listen": f"127.0.0.1:{listen}", "preview_listen": f"127.0.0.1:{preview}"},
        "health": {"path": "/healthz", "interval_seconds": 0.2, "timeout_seconds": 6},
        "smoke": [{"name": "version", "path": "/version"}],
        "verification": {"window_seconds": 1.0, "interval_seconds": 0.25, "min_samples": 2},
        "warm_seconds": 120,
        "releases_to_keep": 3,
        "lock_ttl_seconds": 10,
    }
    for key, value in overrides.items():
        deploy[key] = {**deploy[key], **value} if isinstance(value, dict) and key in deploy else value
    return deploy


@dataclass
class FleetProject:
    root: Path
    hosts: list  # SshdHost
    envs: dict[str, dict] = field(default_factory=dict)

    def add_env(self, name: str, deploy: dict) -> dict:
        env = {"name": name, "type": "staging", "deploy": deploy}
        folder = self.root / "config" / "environments"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.yml").write_text(yaml.safe_dump(env, sort_keys=False))
        self.envs[name] = env
        return env

    def cicd(self, *args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cicd", *args, "--config-dir", str(self.root / "config")],
            cwd=self.root, capture_output=True, text=True, timeout=timeout, env=self._env(env),
        )

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "cicd", *args, "--config-dir", str(self.root / "config")],
            cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self._env(env),
        )

    @staticmethod
    def _env(extra: dict | None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CICD_TEST_"))}
        return {**env, **(extra or {})}

    def deploy(self, name: str, version: str, *extra: str, **kwargs) -> subprocess.CompletedProcess:
        return self.cicd("deploy", "--env", name, "--version", version, *extra, **kwargs)

    def artifact(self, name: str, prologue: str) -> Path:
        """A copy of the sample service with Python run at import time (e.g. refuse to start)."""
        target = self.root / "artifacts" / name
        skip = shutil.ignore_patterns("__pycache__", "tests", ".pytest_cache")
        shutil.copytree(SERVICE, target, ignore=skip)
        app = target / "sample_service" / "app.py"
        marker = "STARTED_AT = time.time()\n"
        text = app.read_text()
        assert marker in text
        app.write_text(text.replace(marker, prologue + "\n" + marker))
        return target

    def served(self, host, name: str, path: str = "/version") -> dict | None:
        """What the environment's live listener on that host answers (asked on the host itself)."""
        listen = self.envs[name]["deploy"]["router"]["listen"]
        argv = ["curl", "-sS", "--max-time", "3", f"http://{listen}{path}"]
        result = host.ssh_host().run(argv, check=False)
        try:
            return json.loads(result.stdout) if result.ok else None
        except ValueError:
            return None

    def live_versions(self, name: str) -> list[str | None]:
        return [(self.served(host, name) or {}).get("version") for host in self.hosts]

    def traffic(self, host, name: str) -> str:
        """The marker line of the nginx config on the host: what is live there, read from the target."""
        conf = host.home / ".cicd" / "nginx" / name / "nginx.conf"
        return next((line for line in conf.read_text().splitlines() if line.startswith("# cicd-traffic")), "")


def last_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else ""


LB_CONF = """pid {root}/nginx.pid;
error_log {root}/error.log warn;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    upstream fleet {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{ proxy_pass http://fleet; }}
    }}
}}
"""


@dataclass
class SharedBalancer:
    """A plain nginx in front of the hosts' own nginx listeners, as a cloud load balancer would be."""

    root: Path
    port: int

    @classmethod
    def start(cls, root: Path, upstreams: list[str]) -> SharedBalancer:
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        port = free_ports(1)[0]
        servers = "\n".join(f"        server {upstream};" for upstream in upstreams)
        (root / "nginx.conf").write_text(LB_CONF.format(root=root, servers=servers, port=port))
        subprocess.run(["nginx", "-p", f"{root}/", "-c", str(root / "nginx.conf")], check=True, timeout=20)
        return cls(root, port)

    def stop(self) -> None:
        pid_file = self.root / "nginx.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), 15)


class Traffic:
    """GET a URL back to back in a thread until stopped (bounded by count); counts failures."""

    def __init__(self, url: str, limit: int = 20_000):
        import threading

        self.url, self.limit = url, limit
        self.requests, self.failures, self.versions = 0, [], set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        import urllib.request

        while not self._stop.is_set() and self.requests < self.limit:
            self.requests += 1
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    self.versions.add(json.loads(response.read())["version"])
            except (OSError, ValueError) as err:
                self.failures.append(repr(err))
