"""SSHHost: the Host protocol over the OpenSSH client.

Host keys are always checked (StrictHostKeyChecking=yes against `known_hosts_file`, or the user's
known_hosts; `accept-new` only when asked for explicitly), BatchMode=yes so nothing ever waits for a
password, and one master connection per host is reused (ControlMaster/ControlPersist) so the many small
commands of a deploy cost one handshake. The control sockets live in a private directory with a short
path: unix socket paths are limited to 108 bytes.

The remote command line is `shlex.join(argv)`: the remote shell parses it exactly once, so every argv
item arrives as one word whatever it holds. Files travel over stdin/stdout, their paths as positional
parameters of small fixed scripts, never pasted into them.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cicd.errors import HostError
from cicd.hosts.base import UNIX_CLIENT, CommandResult, resolve_path

if TYPE_CHECKING:
    from cicd.checks.logsource import LogSource
    from cicd.config.deploy import HostSpec
    from cicd.hosts.probe import ProbeResult

SSH_FAILED = 255  # ssh's own failures; a remote command exiting 255 is told apart by ssh's stderr
MISSING = 44  # `get` of a file that does not exist
PUT_SCRIPT = (
    'set -e; dir=$(dirname -- "$1"); mkdir -p -- "$dir"; '
    'tmp=$(mktemp "$dir/.cicd-put.XXXXXX"); trap \'rm -f -- "$tmp"\' EXIT; '
    'cat >"$tmp"; chmod "$2" "$tmp"; mv -f -- "$tmp" "$1"; trap - EXIT'
)
# A file may vanish between the test and the read (/proc/<pid>/... of an exiting process): still "missing".
GET_SCRIPT = f'[ -e "$1" ] || exit {MISSING}; cat -- "$1" && exit 0; [ -e "$1" ] || exit {MISSING}; exit 1'
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SAFE_ADDRESS = re.compile(r"^[A-Za-z0-9_.:\[\]%-]+$")

# ssh's stderr -> what went wrong and what to check. Order matters: the first match wins.
FAILURES: tuple[tuple[str, str, str], ...] = (
    ("REMOTE HOST IDENTIFICATION HAS CHANGED", "host key mismatch",
     "the host key changed: verify the new key out of band, then update known_hosts_file"),
    ("host key is known for", "host key unknown",
     "add the host's key to known_hosts_file (ssh-keyscan, verified out of band)"),
    ("Host key verification failed", "host key verification failed",
     "add the host's key to known_hosts_file (ssh-keyscan, verified out of band)"),
    ("Connection refused", "connection refused", "that sshd runs there and the port is right"),
    ("Connection timed out", "timed out", "the address, the port and the firewall"),
    ("Operation timed out", "timed out", "the address, the port and the firewall"),
    ("No route to host", "no route to host", "the address and the network"),
    ("Network is unreachable", "network unreachable", "the address and the network"),
    ("Could not resolve hostname", "unknown host name", "the address in deploy.hosts"),
    ("Permission denied", "authentication failed", "the user and identity_file (the key must be authorized)"),
    ("Connection closed by", "connection closed", "sshd's log on the host"),
    ("Connection reset", "connection reset", "sshd's log on the host"),
    ("kex_exchange_identification", "connection closed during handshake", "sshd's log on the host"),
    ("Identity file", "identity file unreadable", "identity_file"),
)  # fmt: skip


def classify_ssh_failure(stderr: str) -> tuple[str, str] | None:
    """(what, check) when ssh's stderr says ssh itself failed; None when the remote command did."""
    for needle, what, check in FAILURES:
        if needle in stderr:
            return what, check
    if stderr.startswith("ssh: ") or "\nssh: " in stderr:
        return stderr.strip().splitlines()[-1].removeprefix("ssh: "), "the host entry in deploy.hosts"
    return None


def remote_command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """The one command line the remote shell parses: `env K=V ... argv`, every item quoted."""
    items = [str(item) for item in argv]
    if env:
        for key in env:
            if not ENV_NAME.match(key):
                raise HostError(f"invalid environment variable name {key!r} for a remote command")
        items = ["env", *(f"{k}={v}" for k, v in env.items()), *items]
    return shlex.join(items)


def _tail(text: str, limit: int = 300) -> str:
    text = " ".join(text.strip().split())
    return text if len(text) <= limit else "..." + text[-limit:]


class _ControlDir:
    """One private directory per process for the master sockets; the masters end when we exit."""

    path: str | None = None
    used: set[tuple[str, ...]] = set()  # ssh options + address of every master we may have started

    @classmethod
    def get(cls) -> str:
        if cls.path is None:
            cls.path = tempfile.mkdtemp(prefix="cicd-ssh-", dir="/tmp")  # mode 0700, short path
            atexit.register(cls.close_all)
        return cls.path

    @classmethod
    def close_all(cls) -> None:
        for base in list(cls.used):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run([*base[:-1], "-O", "exit", base[-1]], capture_output=True, timeout=5)
        cls.used.clear()
        if cls.path:
            shutil.rmtree(cls.path, ignore_errors=True)
            cls.path = None


class SSHHost:
    """Runs argv lists on a remote machine with `ssh`. See the module docstring for the guarantees."""

    local = False

    def __init__(
        self,
        spec: HostSpec,
        *,
        connect_timeout: float = 10.0,
        accept_new_host_keys: bool = False,
        control_persist: int = 60,
    ):
        if not SAFE_ADDRESS.match(spec.address) or spec.address.startswith("-"):
            raise HostError(f"{spec.name}: invalid address {spec.address!r} in deploy.hosts")
        self.name = spec.name
        self.address = spec.address
        self.port = spec.port
        self.user = spec.user
        # A host without a key of its own uses the deploy key its workflow was handed: deploy.yml writes the
        # DEPLOY_SSH_KEY secret to a 0600 file and names it in CICD_SSH_KEY_FILE.
        self.identity_file = spec.identity_file or os.environ.get("CICD_SSH_KEY_FILE") or None
        self.known_hosts_file = spec.known_hosts_file
        self.connect_timeout = connect_timeout
        self.accept_new_host_keys = accept_new_host_keys
        self.control_persist = control_persist
        self._cwd: str | None = None

    def __repr__(self) -> str:
        return f"SSHHost({self.name!r}, {self.destination()}:{self.port})"

    def destination(self) -> str:
        return f"{self.user}@{self.address}" if self.user else self.address

    @property
    def where(self) -> str:
        return f"ssh {self.destination()}:{self.port}"

    # -- argv ----------------------------------------------------------------------------------------
    def ssh_options(self) -> list[str]:
        checking = "accept-new" if self.accept_new_host_keys else "yes"
        options = {
            "BatchMode": "yes",
            "StrictHostKeyChecking": checking,
            "ConnectTimeout": str(max(1, round(self.connect_timeout))),
            "ServerAliveInterval": "15",
            "ServerAliveCountMax": "3",
            "LogLevel": "ERROR",
            # Commands are clients of the master started by _ensure_master; if it is gone they connect
            # directly rather than become a master whose lifetime would tie up their output pipes.
            "ControlMaster": "no",
            "ControlPath": self.control_path(),
        }
        if self.known_hosts_file:
            options["UserKnownHostsFile"] = os.path.expanduser(self.known_hosts_file)
            options["GlobalKnownHostsFile"] = "/dev/null"
        if self.identity_file:
            options["IdentityFile"] = os.path.expanduser(self.identity_file)
            options["IdentitiesOnly"] = "yes"
        argv = ["ssh", "-T", "-p", str(self.port)]
        for key, value in options.items():
            argv += ["-o", f"{key}={value}"]
        if self.user:
            argv += ["-l", self.user]
        return argv

    def ssh_argv(self, command_line: str) -> list[str]:
        return [*self.ssh_options(), self.address, command_line]

    def control_path(self) -> str:
        key = f"{self.destination()}:{self.port}:{self.known_hosts_file}:{self.identity_file}"
        return os.path.join(_ControlDir.get(), hashlib.sha256(key.encode()).hexdigest()[:20])

    def master_argv(self) -> list[str]:
        """The background master: authenticates, then forks (-f) and holds the connection (-N)."""
        argv = self.ssh_options()
        argv[argv.index("ControlMaster=no")] = "ControlMaster=yes"
        return [*argv, "-o", f"ControlPersist={self.control_persist}", "-N", "-f", self.address]

    # -- the Host protocol ---------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = 60.0,
        check: bool = True,
    ) -> CommandResult:
        argv = tuple(str(item) for item in argv)
        if not argv:
            raise HostError(f"{self.name}: empty command")
        data = input.encode() if input is not None else None
        code, out, err = self._exec(remote_command(argv, env), data, timeout, what=" ".join(argv[:3]))
        result = CommandResult(argv, code, out.decode(errors="replace"), err.decode(errors="replace"))
        if check and not result.ok:
            detail = _tail(result.stderr) or _tail(result.stdout) or "no output"
            raise HostError(f"{self.name}: `{' '.join(argv[:3])}` exited {code}: {detail}")
        return result

    def put(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        line = shlex.join(["sh", "-c", PUT_SCRIPT, "cicd-put", path, f"{mode:o}"])
        code, _, err = self._exec(line, data, 120.0, what=f"put {path}")
        if code != 0:
            raise HostError(f"{self.name}: cannot write {path}: {_tail(err.decode(errors='replace'))}")

    def get(self, path: str) -> bytes | None:
        line = shlex.join(["sh", "-c", GET_SCRIPT, "cicd-get", path])
        code, out, err = self._exec(line, None, 120.0, what=f"get {path}")
        if code == MISSING:
            return None
        if code != 0:
            raise HostError(f"{self.name}: cannot read {path}: {_tail(err.decode(errors='replace'))}")
        return out

    @property
    def cwd(self) -> str:
        """The login directory: relative paths of the deploy config resolve against it (asked once)."""
        if self._cwd is None:
            self._cwd = self.run(["pwd"], timeout=30).stdout.strip() or "/"
        return self._cwd

    def resolve(self, path: str) -> str:
        return resolve_path(self.cwd, path)

    def probe(
        self, url: str, *, method: str = "GET", host_header: str | None = None, timeout: float = 2.0,
        body_limit: int = 512,
    ) -> ProbeResult:  # fmt: skip
        from cicd.checks.remote import curl_prober  # curl on the host: its loopback is not ours

        prober = curl_prober(self)
        return prober(url, method=method, host_header=host_header, timeout=timeout, body_limit=body_limit)

    def log_source(self, path: str) -> LogSource:
        from cicd.checks.remote import HostLogSource

        return HostLogSource(self, self.resolve(path))

    def unix_request(self, path: str, data: bytes, *, timeout: float = 5.0) -> bytes:
        argv = ["python3", "-c", UNIX_CLIENT, self.resolve(path), f"{timeout:g}"]
        result = self.run(argv, input=data.decode(errors="replace"), timeout=timeout + 10)
        return result.stdout.encode()

    def close(self) -> None:
        """End the master connection now (it would otherwise linger for ControlPersist seconds)."""
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([*self.ssh_options(), "-O", "exit", self.address], capture_output=True, timeout=5)
        _ControlDir.used.discard((*self.ssh_options(), self.address))

    # -- execution -----------------------------------------------------------------------------------
    def _fail(self, what: str, check: str) -> HostError:
        return HostError(f"{self.where}: {what} — check {check}")

    def _ensure_master(self) -> None:
        if _master_answers(self.control_path()):
            return
        _ControlDir.used.add((*self.ssh_options(), self.address))
        # stderr to a file: the forked master keeps its stdio, so a pipe would never see EOF
        with tempfile.TemporaryFile() as errors:
            try:
                proc = subprocess.run(self.master_argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=errors, timeout=self.connect_timeout + 20)
            except subprocess.TimeoutExpired as exc:
                raise self._fail("timed out", "the address, the port and the firewall") from exc
            except OSError as err:
                raise self._fail(f"cannot run ssh: {err.strerror}", "openssh-client is installed") from err
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
        if proc.returncode != 0:
            raise self._fail(*(classify_ssh_failure(stderr) or (_tail(stderr) or "ssh failed", "sshd's log")))

    def _exec(
        self, command_line: str, data: bytes | None, timeout: float | None, *, what: str
    ) -> tuple[int, bytes, bytes]:
        """Run one command line; (exit code, stdout, stderr). ssh's own failures raise HostError."""
        self._ensure_master()
        try:
            proc = subprocess.Popen(
                self.ssh_argv(command_line),
                stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise self._fail(f"cannot run ssh: {exc.strerror}", "that openssh-client is installed") from exc
        try:
            stdout, stderr = proc.communicate(input=data, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _abandon(proc)
            raise HostError(f"{self.name} ({self.where}): `{what}` timed out after {timeout:g}s") from exc
        if proc.returncode == SSH_FAILED:
            failure = classify_ssh_failure(stderr.decode(errors="replace"))
            if failure is not None:
                raise self._fail(*failure)
        return proc.returncode, stdout, stderr


def _master_answers(path: str) -> bool:
    """A live master accepts on its socket; a killed one leaves a stale file, removed here so a new
    master can take its place (clients would otherwise each make a full connection)."""
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
            return True
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(path)
            return False


def _abandon(proc: subprocess.Popen) -> None:
    """The master holds copies of a client's pipes (a mux client passes its stdio) until the remote
    command ends, so never wait for EOF after a timeout: kill the client, reap it, drop the pipes.
    The remote command itself runs on until it ends or writes to its closed output."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
