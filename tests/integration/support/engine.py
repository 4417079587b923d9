"""A Docker-compatible engine for the tests: podman's Docker API service on a private socket and a
private storage root (so nothing is shared with other test runs on the machine), plus an OCI registry
(Debian's docker-registry) on a free loopback port that the engine treats as plain HTTP.

The containers.conf is the one shared/ENVIRONMENT.md verified on this kind of machine (cgroupfs, runc,
no default ulimits). The `docker` CLI is then the real client, as dockerd's would be in GitHub Actions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CONTAINERS_CONF = """[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
"""
REGISTRY_CONF = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(check, what: str, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited {process.returncode}: {log.read_text()[-800:]}")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:g}s: {log.read_text()[-800:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@dataclass
class Engine:
    root: Path
    socket_path: Path
    process: subprocess.Popen
    registry_port: int  # reserved here: the engine must know the registry is plain HTTP before it starts
    runroot: Path  # podman refuses a runroot longer than 50 characters: a short folder in /tmp

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.docker_host, "DOCKER_BUILDKIT": "0"}

    def docker(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=check)

    def remove_containers(self, label: str) -> None:
        """Remove the containers carrying a label (each test labels its own, cicd.env=<unique name>)."""
        found = self.docker("ps", "-aq", "--filter", f"label={label}", check=False).stdout.split()
        if found:
            self.docker("rm", "-f", *found, check=False)

    @classmethod
    def start(cls, root: Path) -> Engine:
        root.mkdir(parents=True, exist_ok=True)
        conf = root / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        registry_port = free_port()
        registries = root / "registries.conf"
        registries.write_text(f'[[registry]]\nlocation = "127.0.0.1:{registry_port}"\ninsecure = true\n')
        sock = root / "podman.sock"
        log = root / "podman.log"
        env = {**os.environ, "CONTAINERS_CONF": str(conf), "CONTAINERS_REGISTRIES_CONF": str(registries)}
        runroot = Path(tempfile.mkdtemp(prefix="cicd-podman-"))
        argv = ["podman", "--root", str(root / "storage"), "--runroot", str(runroot),
                "system", "service", "--time=0", f"unix://{sock}"]
        with log.open("w") as out:
            process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        engine = cls(root, sock, process, registry_port, runroot)

        def answers() -> bool:
            if not sock.exists():
                return False
            probe = engine.docker("version", "--format", "{{.Server.Version}}", timeout=10, check=False)
            return probe.returncode == 0

        try:
            _wait(answers, "podman system service", process, log)
        except RuntimeError:
            _stop(process)
            shutil.rmtree(runroot, ignore_errors=True)
            raise
        return engine

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.remove_containers("cicd.managed=true")
        _stop(self.process)
        self._unmount()
        shutil.rmtree(self.runroot, ignore_errors=True)

    def _unmount(self) -> None:
        """podman's overlay storage mounts itself (and container layers) under the root: unmount those
        mounts, deepest first, so the tmp dir can be removed."""
        prefixes = (str(self.root) + "/", str(self.runroot) + "/")
        with open("/proc/self/mounts") as table:
            mounts = [line.split()[1] for line in table if line.split()[1].startswith(prefixes)]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True)


@dataclass
class Registry:
    address: str
    process: subprocess.Popen

    @classmethod
    def start(cls, root: Path, port: int) -> Registry:
        root.mkdir(parents=True, exist_ok=True)
        address = f"127.0.0.1:{port}"
        conf = root / "config.yml"
        conf.write_text(REGISTRY_CONF.format(root=root / "data", addr=address))
        log = root / "registry.log"
        with log.open("w") as out:
            binary = shutil.which("docker-registry") or "docker-registry"
            process = subprocess.Popen([binary, "serve", str(conf)], stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)

        def answers() -> bool:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return True
            return False

        try:
            _wait(answers, "docker-registry", process, log)
        except RuntimeError:
            _stop(process)
            raise
        return cls(address, process)

    def stop(self) -> None:
        _stop(self.process)
