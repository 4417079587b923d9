"""One attempt of one job: `bash -c COMMAND` in its own session, output to its log and to the display.

The job runs in a new session (and so a new process group), so a timeout or a cancel kills everything it
started, grandchildren included: SIGTERM to the group, then SIGKILL after a short grace. Values reach the
command only through its environment. A thread reads the output; the caller's thread waits on the process,
so nothing polls while a job runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from cicd import secrets

KILL_GRACE_SECONDS = 2.0
# A process that left the job's group (setsid) may hold the output pipe open; we stop waiting for it.
OUTPUT_DRAIN_SECONDS = 2.0
OUTPUT_DRAIN_LIMIT_SECONDS = 60.0  # even if such a process keeps writing
MAX_LINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class AttemptOutcome:
    exit_code: int | None  # None when the job was killed by us
    stopped_by: str | None  # None, "timeout" or the reason given to stop()
    duration_seconds: float

    @property
    def ok(self) -> bool:
        return self.stopped_by is None and self.exit_code == 0


class JobProcess:
    """A job's process group; `run` from the job's thread, `stop` from any thread."""

    def __init__(self, command: str, *, env: Mapping[str, str], cwd: Path):
        self._argv = ["bash", "-c", command]
        self._env = dict(env)
        self._cwd = cwd
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped_by: str | None = None

    def run(self, timeout: float, log: TextIO, on_line: Callable[[str], None]) -> AttemptOutcome:
        started = time.monotonic()
        with self._lock:
            if self._stopped_by is not None:
                return AttemptOutcome(None, self._stopped_by, 0.0)
            self._proc = proc = subprocess.Popen(
                self._argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
            )
        copier = OutputCopier(proc, log, on_line)
        reader = threading.Thread(target=copier.run, daemon=True)
        reader.start()
        try:
            code: int | None = proc.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            self.stop("timeout")
            code = proc.wait()
        # Whatever the job left running in its group (a background server, a stuck child) goes with it.
        kill_group(proc.pid, proc)
        if not copier.drain(reader):
            log.write("[cicd] output still held open by a process outside the job's group; log cut here\n")
        stopped_by = self._stopped_by
        return AttemptOutcome(None if stopped_by else code, stopped_by, time.monotonic() - started)

    def stop(self, reason: str) -> None:
        """Kill the job's whole process group; the first reason given is the one recorded."""
        with self._lock:
            if self._stopped_by is None:
                self._stopped_by = reason
            proc = self._proc
        if proc is not None:
            kill_group(proc.pid, proc)


def kill_group(
    pgid: int, leader: subprocess.Popen[bytes] | None = None, grace: float = KILL_GRACE_SECONDS
) -> bool:
    """SIGTERM the group, wait up to `grace` for it to go, then SIGKILL. False if it was already gone."""
    if not _signal_group(pgid, signal.SIGTERM):
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if leader is not None:
            leader.poll()  # reap the leader, or it would count as alive
        if not _group_alive(pgid):
            return True
        time.sleep(0.02)  # only on the kill path, bounded by the grace period
    _signal_group(pgid, signal.SIGKILL)
    return True


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # the group id was reused by someone else's process: not ours to kill
        return False
    return True


def _group_alive(pgid: int) -> bool:
    """Any live (non-zombie) process left in the group? Killed orphans stay zombies until PID 1 reaps
    them, and a container's PID 1 may take its time; a zombie needs no more killing."""
    if not _signal_group(pgid, 0):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


class OutputCopier:
    """Copies a job's output, line by line, to its log (secrets redacted) and to the display."""

    def __init__(self, proc: subprocess.Popen[bytes], log: TextIO, on_line: Callable[[str], None] | None):
        self._proc = proc
        self._log = log
        self._on_line = on_line
        self.lines = 0

    def run(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        with stdout:
            for raw in iter(lambda: stdout.readline(MAX_LINE_BYTES), b""):
                line = secrets.redact(raw.decode("utf-8", "replace"))
                try:
                    self._log.write(line if line.endswith("\n") else line + "\n")
                except ValueError:  # the job ended and closed its log (output held by a detached process)
                    return
                self.lines += 1
                self._show(line.rstrip("\n"))

    def _show(self, line: str) -> None:
        if self._on_line is not None:
            try:
                self._on_line(line)
            except Exception:  # a broken terminal must not stop the draining, or the job would block
                self._on_line = None

    def drain(self, reader: threading.Thread) -> bool:
        """Wait for the end of the output once the job has ended. As long as lines still arrive (a slow
        display) keep waiting; stop when nothing came for OUTPUT_DRAIN_SECONDS (a process outside the
        job's group holds the pipe open), or after OUTPUT_DRAIN_LIMIT_SECONDS. True when the output ended."""
        seen, deadline = -1, time.monotonic() + OUTPUT_DRAIN_LIMIT_SECONDS
        while reader.is_alive() and self.lines != seen and time.monotonic() < deadline:
            seen = self.lines
            reader.join(OUTPUT_DRAIN_SECONDS)
        return not reader.is_alive()
