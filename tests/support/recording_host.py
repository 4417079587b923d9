"""A recording Host: every command the deploy core sends is kept, in order, and answered the way a
Linux host with HAProxy would answer it, from a small in-memory model (files, live pids, HAProxy
weights and sessions, which versions answer their health checks).

The runtime and router under test are the real ones (runtimes/process.py, routers/haproxy.py): only
the machine is modelled, so a test reads what the core asked for, in which order, and what it
concluded. Only the commands those two send are understood; anything else fails the test.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cicd.checks.http import ProbeResult
from cicd.hosts.base import CommandResult

COLORS = ("blue", "green")


@dataclass
class EmptyLog:
    """An access log nobody writes to: verification then relies on its active probes."""

    description: str = "recorded host log"

    def seek_end(self) -> None:
        pass

    def read_new(self) -> list[str]:
        return []

    def read_recent(self, max_bytes: int) -> list[str]:
        return []


@dataclass
class RecordingHost:
    name: str = "web-1"
    address: str = "10.0.0.1"
    home: str = "/home/deploy"
    local = False
    files: dict[str, bytes] = field(default_factory=dict)
    commands: list[tuple[str, ...]] = field(default_factory=list)  # argv, then stdin if any
    alive: set[int] = field(default_factory=set)
    weights: dict[tuple[str, str], int] = field(default_factory=dict)
    # successive `scur` answers per color once it has weight 0 (then 0): requests still in flight
    in_flight: dict[str, list[int]] = field(default_factory=dict)
    broken_versions: set[str] = field(default_factory=set)  # these answer their health check with 503
    next_pid: int = 4000

    # -- the Host interface --------------------------------------------------------------------------
    def resolve(self, path: str) -> str:
        return path if posixpath.isabs(path) else posixpath.join(self.home, path)

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = 60.0,
        check: bool = True,
    ) -> CommandResult:
        argv = tuple(argv)
        self.commands.append(argv + ((input,) if input else ()))  # what went on stdin is recorded too
        handler = getattr(self, f"_{argv[0].replace('python3', 'python')}", None)
        assert handler is not None, f"the recording host does not know {argv}"
        stdout = handler(argv, input or "") or ""
        return CommandResult(argv, 0, stdout, "")

    def put(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        self.files[path] = data

    def get(self, path: str) -> bytes | None:
        if path.startswith("/proc/"):
            pid = path.split("/")[2]
            alive = path.endswith("/stat") and pid.isdigit() and int(pid) in self.alive
            return f"{pid} (proc) S 1".encode() if alive else None
        return self.files.get(path)

    def probe(self, url: str, *, method: str = "GET", host_header=None, timeout=2.0, body_limit=512):
        port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        version = self._version_on_port(port)
        status = 503 if version is None or version in self.broken_versions else 200
        return ProbeResult(url, status, 1.0, body_excerpt=json.dumps({"version": version}))

    def log_source(self, path: str) -> EmptyLog:
        return EmptyLog()

    def unix_request(self, path: str, data: bytes, *, timeout: float = 5.0) -> bytes:
        self.commands.append(("unix", path, data.decode()))
        return self._api(data.decode()).encode()

    # -- what the host model answers ---------------------------------------------------------------
    def _version_on_port(self, port: int) -> str | None:
        for path, data in self.files.items():
            if path.endswith(".json") and "/run/" in path:
                record = json.loads(data)
                pid_file = path[: -len(".json")] + ".pid"
                pid = self.files.get(pid_file, b"").strip()
                if record.get("port") == port and pid.isdigit() and int(pid) in self.alive:
                    return record["version"]
        return None

    def commands_with(self, *words: str) -> list[int]:
        """Indexes of the recorded commands whose argv (or input) mentions every word."""
        return [i for i, argv in enumerate(self.commands) if all(any(w in a for a in argv) for w in words)]

    def _spawn(self, pid_file: str) -> None:
        self.next_pid += 1
        self.alive.add(self.next_pid)
        self.files[pid_file] = f"{self.next_pid}\n".encode()

    def _sh(self, argv: tuple[str, ...], _input: str) -> str:
        label = argv[3]
        if label == "cicd-haproxy":  # $1 binary $2 config $3 access log $4 error log $5 pid file
            self._spawn(argv[8])
            for color in COLORS:
                self.weights.setdefault(("live", color), 0)
        elif label == "cicd-start":  # $1 release dir $2 log $3 pid file, then the command
            self._spawn(argv[6])
        else:
            raise AssertionError(f"unknown script {label}")
        return ""

    def _kill(self, argv: tuple[str, ...], _input: str) -> str:
        self.alive.discard(abs(int(argv[-1])))
        return ""

    def _mkdir(self, argv, _input) -> str:
        return ""

    def _rm(self, argv: tuple[str, ...], _input: str) -> str:
        for path in argv[2:]:
            for key in [k for k in self.files if k == path or k.startswith(path + "/")]:
                del self.files[key]
        return ""

    def _mv(self, argv: tuple[str, ...], _input: str) -> str:
        source, target = argv[-2], argv[-1]
        for key in [k for k in self.files if k == source or k.startswith(source + "/")]:
            self.files[target + key[len(source) :]] = self.files.pop(key)
        return ""

    def _tar(self, argv, _input) -> str:
        return ""

    def _find(self, argv, _input) -> str:
        return ""

    def _tail(self, argv, _input) -> str:
        return ""

    def _test(self, argv, _input) -> str:
        return ""

    def _haproxy(self, argv, _input) -> str:
        return ""  # `haproxy -c`: every rendered config is valid here

    def _python(self, argv: tuple[str, ...], _input: str) -> str:
        """The router's drain loop (argv: socket, timeout, servers), or a log file's size (rotation)."""
        if "getsize" in argv[2]:
            return f"{len(self.files.get(argv[3], b''))}\n"
        return str(self._drain(set(argv[5:]))) + "\n"

    def _api(self, commands: str) -> str:
        out = []
        for command in (c.strip() for c in commands.replace("\n", ";").split(";")):
            if command.startswith("set weight "):
                server, weight = command.removeprefix("set weight ").split()
                proxy, color = server.split("/")
                self.weights[(proxy, color)] = int(weight)
            elif command == "show stat":
                out.append(self._show_stat())
        return "".join(out)

    def _drain(self, servers: set[str]) -> int:
        for _ in range(100):  # the loop on the host asks until nothing is in flight (bounded here)
            rows = [line.split(",") for line in self._show_stat().splitlines()[1:]]
            busy = sum(int(row[2]) for row in rows if f"{row[0]}/{row[1]}" in servers)
            if not busy:
                return 0
        return busy

    def _show_stat(self) -> str:
        rows = ["# pxname,svname,scur,stot,hrsp_5xx,rtime,weight"]
        for proxy in ("live", "preview"):
            for color in COLORS:
                pending = self.in_flight.get(color, []) if proxy == "live" else []
                weight = self.weights.get((proxy, color), 0)
                # sessions finish one answer at a time once the color gets no new requests
                scur = (pending.pop(0) if weight == 0 else pending[0]) if pending else 0
                rows.append(f"{proxy},{color},{scur},0,0,1,{weight}")
        return "\n".join(rows) + "\n"


def make_target(host: RecordingHost):
    """Environment `prod` on the recording host: the real process runtime serving examples/service
    behind the real HAProxy router, health checked fast, no verification window."""
    from cicd.config.deploy import DeploySettings
    from cicd.deploy.routers import build_router
    from cicd.deploy.runtimes import build_runtime
    from cicd.deploy.target import Target

    repo = Path(__file__).resolve().parents[2]
    settings = DeploySettings.model_validate(
        {
            "runtime": {
                "kind": "process",
                "command": ["python3", "-m", "sample_service.app", "--port", "{port}"],
                "default_artifact": str(repo / "examples" / "service"),
            },
            "colors": {"blue": {"port": 9001}, "green": {"port": 9002}},
            "router": {"kind": "haproxy", "listen": "127.0.0.1:9000", "preview_listen": "127.0.0.1:9009"},
            "health": {"interval_seconds": 0.01, "timeout_seconds": 0.2},
            "verification": {"window_seconds": 0},
        }
    )
    runtime = build_runtime(settings.runtime, environment="prod", base_dir=str(repo))
    router = build_router(settings.router, environment="prod")
    return Target("prod", settings, [host], runtime, router, str(repo))
