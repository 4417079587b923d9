"""Helpers of the deploy integration tests: a project in tmp_path with environment files on free
loopback ports, the real `cicd` CLI as a subprocess, service artifacts (good and deliberately broken),
and a teardown that stops exactly the nginx and slot processes these tests started."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
SERVICE = REPO / "examples" / "service"
sys.path.insert(0, str(REPO / "scripts"))  # scripts/load.py: the load client the demo uses too


def free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in sockets:
        sock.close()
    return ports


def environment(name: str, ports: list[int], **deploy_overrides) -> dict:
    blue, green, listen, preview = ports
    deploy = {
        "strategy": "blue_green",
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
            "stop_grace_seconds": 3,
        },
        "colors": {"blue": {"port": blue}, "green": {"port": green}},
        "router": {"listen": f"127.0.0.1:{listen}", "preview_listen": f"127.0.0.1:{preview}"},
        "health": {"path": "/healthz", "interval_seconds": 0.1, "timeout_seconds": 15},
        "smoke": [
            {"name": "version", "path": "/version"},
            {"name": "quote", "path": "/api/quote?sku=widget&quantity=2", "contains": '"total"'},
        ],
        "verification": {"window_seconds": 1.5, "interval_seconds": 0.25, "min_samples": 5},
        "warm_seconds": 120,
        "releases_to_keep": 3,
        "lock_ttl_seconds": 2,
    }
    for key, value in deploy_overrides.items():
        deploy[key] = {**deploy[key], **value} if isinstance(value, dict) and key in deploy else value
    return {"name": name, "type": "staging", "url": f"http://127.0.0.1:{listen}", "deploy": deploy}


@dataclass
class Project:
    root: Path
    envs: dict[str, dict] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    def add_env(self, name: str, **deploy_overrides) -> dict:
        env = environment(name, free_ports(4), **deploy_overrides)
        self.write_env(env)
        return env

    def write_env(self, env: dict) -> None:
        (self.config_dir / "environments").mkdir(parents=True, exist_ok=True)
        path = self.config_dir / "environments" / f"{env['name']}.yml"
        path.write_text(yaml.safe_dump(env, sort_keys=False))
        self.envs[env["name"]] = env

    def url(self, name: str, path: str = "/version") -> str:
        return self.envs[name]["url"] + path

    def cicd(
        self, *args: str, timeout: float = 60, extra_env: dict | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cicd", *args, "--config-dir", str(self.config_dir)],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(extra_env),
        )

    def popen(self, *args: str, extra_env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "cicd", *args, "--config-dir", str(self.config_dir)],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(extra_env),
        )

    @staticmethod
    def env(extra: dict | None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CICD_TEST_"))}
        return {**env, **(extra or {})}

    def deploy(self, name: str, version: str, *extra: str, **kwargs) -> subprocess.CompletedProcess:
        return self.cicd("deploy", "--env", name, "--version", version, *extra, **kwargs)

    def must_deploy(self, name: str, version: str, *extra: str) -> subprocess.CompletedProcess:
        result = self.deploy(name, version, *extra)
        assert result.returncode == 0, f"deploy {version} failed:\n{result.stdout}{result.stderr}"
        return result

    def status(self, name: str) -> dict:
        result = self.cicd("status", "--env", name, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def artifact(self, name: str, patch: str | None = None) -> Path:
        """A copy of the sample service; `patch` is Python inserted at the top of the quote handler."""
        target = self.root / "artifacts" / name
        shutil.copytree(
            SERVICE, target, ignore=shutil.ignore_patterns("__pycache__", "tests", ".pytest_cache")
        )
        if patch is not None:
            app = target / "sample_service" / "app.py"
            marker = "    def _quote(self, query: dict[str, list[str]]) -> None:\n"
            text = app.read_text()
            assert marker in text
            body = "".join(f"        {line}\n" for line in patch.splitlines())
            app.write_text(text.replace(marker, marker + body))
        return target

    def shut_down(self) -> None:
        """Stop the router instances and slot processes of this project, by their pid files only."""
        routers = [*self.root.glob(".cicd/nginx/*/nginx.pid"), *self.root.glob(".cicd/haproxy/*/haproxy.pid")]
        for pid_file in routers + list(self.root.glob(".cicd/run/*/*.pid")):
            try:
                pid = int(pid_file.read_text().strip())
                os.kill(pid, 15) if pid_file in routers else os.killpg(pid, 9)
            except (ValueError, ProcessLookupError, PermissionError):
                pass
        time.sleep(0.1)


def get(url: str, timeout: float = 2.0) -> tuple[int | None, str]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError as err:
        return None, str(err)
    finally:
        conn.close()


def live_version(project: Project, name: str) -> str | None:
    status, body = get(project.url(name))
    return json.loads(body)["version"] if status == 200 else None


def last_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 30.0) -> list[str]:
    """Read a running command's output until a line holds `needle`; the lines read so far."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"never saw {needle!r}; output so far: {''.join(seen)}")
