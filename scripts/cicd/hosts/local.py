"""LocalHost: the Host protocol on this machine (loopback targets, the demo, the tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cicd.errors import HostError
from cicd.hosts.base import CommandResult, resolve_path, unix_exchange

if TYPE_CHECKING:
    from cicd.checks.logsource import LogSource
    from cicd.hosts.probe import ProbeResult


def _tail(text: str, limit: int = 300) -> str:
    text = " ".join(text.strip().split())
    return text if len(text) <= limit else "..." + text[-limit:]


class LocalHost:
    """Runs argv lists with subprocess (never a shell), each in its own process group so a timeout
    kills the whole command, not just its first process."""

    local = True

    def __init__(self, name: str = "local", address: str = "127.0.0.1", *, cwd: str | None = None):
        self.name = name
        self.address = address
        self.cwd = cwd

    def resolve(self, path: str) -> str:
        return resolve_path(self.cwd, path)

    def probe(
        self, url: str, *, method: str = "GET", host_header: str | None = None, timeout: float = 2.0,
        body_limit: int = 512,
    ) -> ProbeResult:  # fmt: skip
        from cicd.hosts.probe import probe  # directly: this machine's loopback is ours

        return probe(url, method=method, host_header=host_header, timeout=timeout, body_limit=body_limit)

    def log_source(self, path: str) -> LogSource:
        from cicd.checks.logsource import FileLogSource

        return FileLogSource(self.resolve(path))

    def unix_request(self, path: str, data: bytes, *, timeout: float = 5.0) -> bytes:
        try:
            return unix_exchange(self.resolve(path), data, timeout)
        except OSError as err:
            raise HostError(f"{self.name}: socket {path}: {err.strerror or err}") from err

    def __repr__(self) -> str:
        return f"LocalHost({self.name!r})"

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
        full_env = {**os.environ, **env} if env else None
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=full_env,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as err:
            raise HostError(f"{self.name}: cannot run {argv[0]!r}: {err.strerror}") from err
        try:
            stdout, stderr = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            self._kill_group(proc)
            raise HostError(f"{self.name}: `{' '.join(argv[:3])}` timed out after {timeout:g}s") from err
        result = CommandResult(argv, proc.returncode, stdout, stderr)
        if check and not result.ok:
            detail = _tail(stderr) or _tail(stdout) or "no output"
            raise HostError(f"{self.name}: `{' '.join(argv[:3])}` exited {proc.returncode}: {detail}")
        return result

    @staticmethod
    def _kill_group(proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()

    def put(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        target = self._path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, mode)
                os.replace(tmp, target)  # atomic: readers see the old file or the new one, never half
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as err:
            raise HostError(f"{self.name}: cannot write {path}: {err.strerror}") from err

    def get(self, path: str) -> bytes | None:
        try:
            return self._path(path).read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            # ESRCH: a /proc/<pid>/ file whose process exited while we read it is gone, like a missing file.
            return None
        except OSError as err:
            raise HostError(f"{self.name}: cannot read {path}: {err.strerror}") from err

    def _path(self, path: str) -> Path:
        candidate = Path(path)
        if not candidate.is_absolute() and self.cwd:
            candidate = Path(self.cwd) / candidate
        return candidate
