"""Real sshd test hosts: one sshd per host, on its own loopback address (127.0.0.2, 127.0.0.3, ...) or,
when a test needs hosts that do not share ports, inside its own network namespace.

Each host gets a fresh host key, a login directory of its own (ForceCommand changes into it, so relative
deploy paths on two hosts never meet even though both log in as root on this machine) and a
known_hosts file written from its key. Teardown stops only what these hosts started: the sshd and its
sessions, and processes found by pid files under the host's directory or inside its namespace.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """Every descendant of pid (from /proc), deepest last."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _kill(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def make_key(path: Path, comment: str) -> str:
    """An ed25519 key pair; returns the public key line."""
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path))
    return Path(f"{path}.pub").read_text().strip()


@dataclass
class Namespace:
    """A network namespace joined to this one by a veth pair: the host at .2, this side at .1."""

    name: str
    outer: str
    address: str

    @classmethod
    def create(cls) -> Namespace:
        tag = secrets.token_hex(3)
        name, outer, inner = f"cicd-h-{tag}", f"vc{tag}", f"vp{tag}"
        net = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(256)}.{4 * secrets.randbelow(64)}"
        base = net.rsplit(".", 1)[0] + "."
        last = int(net.rsplit(".", 1)[1])
        here, there = f"{base}{last + 1}", f"{base}{last + 2}"
        _run("ip", "netns", "add", name)
        try:
            _run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            _run("ip", "link", "set", inner, "netns", name)
            _run("ip", "addr", "add", f"{here}/30", "dev", outer)
            _run("ip", "link", "set", outer, "up")
            _run("ip", "netns", "exec", name, "ip", "addr", "add", f"{there}/30", "dev", inner)
            _run("ip", "netns", "exec", name, "ip", "link", "set", inner, "up")
            _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        except subprocess.CalledProcessError:
            cls(name, outer, there).delete()
            raise
        return cls(name, outer, there)

    def pids(self) -> list[int]:
        out = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def cut(self) -> None:
        _run("ip", "link", "set", self.outer, "down")

    def delete(self) -> None:
        for _ in range(3):
            pids = self.pids()
            if not pids:
                break
            _kill(pids)
            time.sleep(0.1)
        subprocess.run(["ip", "link", "del", self.outer], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


@dataclass
class SshdHost:
    """One running test host; `spec()` is a `deploy.hosts` entry for it."""

    name: str
    address: str
    port: int
    user: str
    identity_file: str
    known_hosts_file: str
    home: Path
    log_file: Path
    process: subprocess.Popen
    netns: Namespace | None = None
    host_key_line: str = ""
    stopped: bool = field(default=False)

    def spec(self) -> dict:
        return {
            "name": self.name, "transport": "ssh", "address": self.address, "port": self.port,
            "user": self.user, "identity_file": self.identity_file, "known_hosts_file": self.known_hosts_file,
        }  # fmt: skip

    def host_spec(self):
        from cicd.config.deploy import HostSpec

        return HostSpec(**self.spec())

    def ssh_host(self, **kwargs):
        from cicd.hosts.ssh import SSHHost

        return SSHHost(self.host_spec(), **kwargs)

    def cut_off(self) -> None:
        """Make the host unreachable: its network goes down (namespace) or its sshd and sessions stop."""
        if self.netns is not None:
            self.netns.cut()
        else:
            self._stop_sshd()

    def stop_sshd(self) -> None:
        """Stop this host's sshd and its sessions (connections are refused); what it started runs on."""
        self._stop_sshd()

    def _stop_sshd(self) -> None:
        if self.stopped:
            return
        _kill([self.process.pid, *children_of(self.process.pid)])
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.stopped = True

    def shut_down(self) -> None:
        if self.netns is not None:
            self.netns.delete()  # every process in the namespace is one this host started
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            return
        self._stop_sshd()
        for pid_file in [*self.home.glob(".cicd/nginx/*/nginx.pid"), *self.home.glob(".cicd/run/*/*.pid")]:
            with contextlib.suppress(ValueError, OSError):
                pid = int(pid_file.read_text().strip())
                _kill([pid], signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)


class SshdFleet:
    """Starts test hosts under `root` (a tmp dir) with one client key shared by all of them."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.client_key = self.root / "client_ed25519"
        if not self.client_key.exists():
            make_key(self.client_key, "cicd-tests")
        self.hosts: list[SshdHost] = []
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation directory

    def start(self, name: str, *, address: str | None = None, isolated: bool = False,
              env: dict[str, str] | None = None) -> SshdHost:
        netns = Namespace.create() if isolated else None
        address = netns.address if netns else (address or "127.0.0.2")
        port = 22 if netns else free_port(address)
        work = self.root / name
        home = work / "home"
        home.mkdir(parents=True, exist_ok=True)
        host_key = work / "host_ed25519"
        host_key_line = make_key(host_key, name)
        authorized = work / "authorized_keys"
        authorized.write_text(Path(f"{self.client_key}.pub").read_text())
        known_hosts = work / "known_hosts"
        where = address if port == 22 else f"[{address}]:{port}"
        known_hosts.write_text(f"{where} {' '.join(host_key_line.split()[:2])}\n")
        log_file = work / "sshd.log"
        argv = [
            SSHD, "-D", "-f", "/dev/null", "-h", str(host_key), "-E", str(log_file),
            "-o", f"ListenAddress={address}", "-o", f"Port={port}",
            "-o", f"AuthorizedKeysFile={authorized}", "-o", "StrictModes=no",
            "-o", f"PidFile={work / 'sshd.pid'}", "-o", "PasswordAuthentication=no",
            "-o", "PermitRootLogin=prohibit-password", "-o", "UsePAM=no",
            "-o", "MaxSessions=64", "-o", "MaxStartups=64",
            # A login directory per host: the remote shell parses the command line once, as sshd would.
            "-o", f'ForceCommand=cd {shlex.quote(str(home))} && eval "$SSH_ORIGINAL_COMMAND"',
        ]  # fmt: skip
        # HOME too: bash sourcing root's real ~/.bashrc on every command would cost tenths of a second.
        # sshd takes the first SetEnv line only, so all variables go on one line.
        variables = {"HOME": str(home), **(env or {})}
        argv += ["-o", "SetEnv=" + " ".join(f"{key}={value}" for key, value in variables.items())]
        if netns:
            argv = ["ip", "netns", "exec", netns.name, *argv]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        host = SshdHost(name, address, port, "root", str(self.client_key), str(known_hosts), home,
                        log_file, process, netns, host_key_line)
        self.hosts.append(host)
        self._wait_listening(host)
        return host

    @staticmethod
    def _wait_listening(host: SshdHost, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if host.process.poll() is not None:
                log = host.log_file.read_text() if host.log_file.exists() else ""
                raise RuntimeError(f"sshd for {host.name} exited {host.process.returncode}: {log[-500:]}")
            with contextlib.suppress(OSError), socket.create_connection((host.address, host.port), 0.5):
                return
            time.sleep(0.05)
        raise RuntimeError(f"sshd for {host.name} did not listen on {host.address}:{host.port}")

    def shut_down(self) -> None:
        for host in self.hosts:
            host.shut_down()
        self.hosts.clear()
