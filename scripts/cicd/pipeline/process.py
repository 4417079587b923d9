"""One attempt of one job: `bash -c COMMAND` under its reaper, output to its log and to the display.

The command runs under reaper.py (a child subreaper in its own session) so that a timeout, a cancel,
the end of the job or the death of cicd itself ends everything the job started, `setsid` descendants
included. Values reach the command only through its environment. A thread reads the output; the
caller's thread waits on the process, so nothing polls while a job runs.
"""

from __future__ import annotations

import codecs
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cicd import secrets
from cicd.pipeline.joblog import CappedLog

KILL_GRACE_SECONDS = 2.0
# The reaper ends the job within its grace period; past this margin it is itself stuck, and killed.
REAPER_MARGIN_SECONDS = 3.0
REAPER = Path(__file__).with_name("reaper.py")
# A process the reaper could not reach may hold the output pipe open; we stop waiting for it.
OUTPUT_DRAIN_SECONDS = 2.0
OUTPUT_DRAIN_LIMIT_SECONDS = 60.0  # even if such a process keeps writing
READ_BYTES = 64 * 1024
MAX_LINE_CHARS = 64 * 1024  # a longer line is shown in pieces (the log keeps it whole)
# With no new output for this long, what is held back for redaction and cannot be a secret is shown.
IDLE_SECONDS = 0.2


@dataclass(frozen=True)
class AttemptOutcome:
    exit_code: int | None  # None when the job was killed by us
    stopped_by: str | None  # None, "timeout" or the reason given to stop()
    duration_seconds: float

    @property
    def ok(self) -> bool:
        return self.stopped_by is None and self.exit_code == 0


class JobProcess:
    """A job's reaper and everything below it; `run` from the job's thread, `stop` from any thread."""

    def __init__(self, command: str, *, env: Mapping[str, str], cwd: Path):
        grace = str(KILL_GRACE_SECONDS)
        self._argv = [sys.executable, "-I", "-S", str(REAPER), str(os.getpid()), grace, "--"]
        self._argv += ["bash", "-c", command]
        self._env = dict(env)
        self._cwd = cwd
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped_by: str | None = None

    def run(self, timeout: float, log: CappedLog, on_line: Callable[[str], None]) -> AttemptOutcome:
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
        if not copier.drain(reader):
            log.write("[cicd] output still held open by a process outside the job; log cut here\n")
        stopped_by = self._stopped_by
        return AttemptOutcome(None if stopped_by else code, stopped_by, time.monotonic() - started)

    def stop(self, reason: str) -> None:
        """End the job and all it started; the first reason given is the one recorded."""
        with self._lock:
            if self._stopped_by is None:
                self._stopped_by = reason
            proc = self._proc
        if proc is not None:
            end_reaped(proc)


def end_reaped(proc: subprocess.Popen[bytes]) -> None:
    """Ask the reaper to end its job (SIGTERM, then SIGKILL after its grace); a reaper that does not
    finish in time is itself stuck, and killed."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(KILL_GRACE_SECONDS + REAPER_MARGIN_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()


class OutputCopier:
    """Copies a job's output to its log and, line by line, to the display; secrets redacted in both.

    Redaction runs on the stream before it is split into lines, so a value split across two reads or
    spanning several lines (a PEM key) is caught whole.
    """

    def __init__(
        self, proc: subprocess.Popen[bytes], log: CappedLog, on_line: Callable[[str], None] | None
    ):
        self._proc = proc
        self._log = log
        self._on_line = on_line
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._redactor = secrets.StreamRedactor()
        self._partial = ""  # the start of a line not yet ended
        self.reads = 0

    def run(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        with stdout:
            fd, settled = stdout.fileno(), True
            while True:
                # Wait without a timeout, except once after new output while some is held back.
                idle = None if settled or not self._redactor.holding else IDLE_SECONDS
                if not select.select([fd], [], [], idle)[0]:
                    self._emit(self._redactor.settle())
                    settled = True
                    continue
                data = os.read(fd, READ_BYTES)
                if not data:
                    break
                self.reads, settled = self.reads + 1, False
                self._emit(self._redactor.feed(self._decoder.decode(data)))
        self._emit(self._redactor.feed(self._decoder.decode(b"", final=True)) + self._redactor.flush())
        self._log.end_line()
        if self._partial:
            self._show(self._partial)

    def _emit(self, text: str) -> None:
        if not text:
            return
        self._log.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        while len(self._partial) > MAX_LINE_CHARS:
            lines.append(self._partial[:MAX_LINE_CHARS])
            self._partial = self._partial[MAX_LINE_CHARS:]
        for line in lines:
            self._show(line)

    def _show(self, line: str) -> None:
        if self._on_line is not None:
            try:
                self._on_line(line)
            except Exception:  # a broken terminal must not stop the draining, or the job would block
                self._on_line = None

    def drain(self, reader: threading.Thread) -> bool:
        """Wait for the end of the output once the job has ended. As long as output still arrives (a slow
        display) keep waiting; stop when nothing came for OUTPUT_DRAIN_SECONDS (a process outside the
        job holds the pipe open), or after OUTPUT_DRAIN_LIMIT_SECONDS. True when the output ended."""
        seen, deadline = -1, time.monotonic() + OUTPUT_DRAIN_LIMIT_SECONDS
        while reader.is_alive() and self.reads != seen and time.monotonic() < deadline:
            seen = self.reads
            reader.join(OUTPUT_DRAIN_SECONDS)
        return not reader.is_alive()
