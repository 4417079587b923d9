"""Live output of a run: plain `[job] line` lines, `::group::` blocks inside GitHub Actions, or a rich
progress display in a terminal. Every display is called from several threads and holds its own lock.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Protocol, TextIO

from cicd import gha
from cicd.config.context import JobSpec
from cicd.pipeline.joblog import read_tail
from cicd.pipeline.result import StepResult

FAILED_LOG_TAIL_LINES = 40


class Display(Protocol):
    def job_started(self, job: JobSpec, attempt: int, attempts: int) -> None: ...
    def job_line(self, job: JobSpec, line: str) -> None: ...
    def job_finished(self, step: StepResult, log_path: Path) -> None: ...
    def close(self) -> None: ...


def describe(step: StepResult) -> str:
    if step.status == "skipped":
        return f"skipped: {step.reason}"
    text = f"{step.status} in {step.duration_seconds:.1f}s"
    if step.attempts > 1:
        text += f" after {step.attempts} attempts"
    return f"{text}: {step.reason}" if step.reason and step.status != "success" else text


class PlainDisplay:
    """Each output line as it comes, prefixed with its job; whole lines only, never interleaved."""

    def __init__(self, stream: TextIO | None = None):
        self._out = stream or sys.stdout
        self._lock = threading.Lock()

    def _print(self, text: str) -> None:
        with self._lock:
            try:
                self._out.write(text + "\n")
                self._out.flush()
            except (BrokenPipeError, ValueError):  # `cicd run | head`: the run goes on, the log keeps all
                pass

    def job_started(self, job: JobSpec, attempt: int, attempts: int) -> None:
        retry = f" (attempt {attempt} of {attempts})" if attempt > 1 else ""
        self._print(f"[{job.name}] started{retry}")

    def job_line(self, job: JobSpec, line: str) -> None:
        self._print(f"[{job.name}] {line}")

    def job_finished(self, step: StepResult, log_path: Path) -> None:
        self._print(f"[{step.name}] {describe(step)}")

    def close(self) -> None:
        pass


class GroupDisplay:
    """Inside Actions: one collapsible group per job, printed whole when the job ends, so the output of
    parallel jobs never mixes inside a group. The job's log file is complete at that point."""

    def __init__(self, stream: TextIO | None = None):
        self._out = stream or sys.stdout
        self._lock = threading.Lock()

    def job_started(self, job: JobSpec, attempt: int, attempts: int) -> None:
        pass

    def job_line(self, job: JobSpec, line: str) -> None:
        pass

    def job_finished(self, step: StepResult, log_path: Path) -> None:
        with self._lock:
            self._out.write(gha.command("group", f"{step.name} ({describe(step)})") + "\n")
            self._out.flush()
            if log_path.is_file():
                try:
                    with log_path.open(encoding="utf-8", errors="replace") as log:
                        shutil.copyfileobj(log, self._out)
                except OSError as err:  # the group still closes, and the run goes on
                    self._out.write(f"[cicd] cannot read {log_path}: {err.strerror}\n")
            self._out.write("::endgroup::\n")
            if step.blocks_pipeline:
                self._out.write(
                    gha.command("error", f"{step.name} {describe(step)}", title=f"job {step.name}") + "\n"
                )
            self._out.flush()

    def close(self) -> None:
        pass


class RichDisplay:
    """A terminal display: running jobs live at the bottom (spinner, time, last output line); each
    finished job becomes one line above them, a failed one followed by its log tail. Its height stays
    the number of running jobs, whatever the size of the pipeline."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = Console()
        self._lock = threading.Lock()
        self._running: dict[str, list[str | float]] = {}  # job -> [start time, last line]
        self._counts: dict[str, int] = {}
        self._live = Live(
            console=self._console, get_renderable=self._render, refresh_per_second=8, transient=True
        )
        self._live.start()

    def _render(self):  # type: ignore[no-untyped-def]
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        with self._lock:
            rows = list(self._running.items())
            counts = ", ".join(f"{n} {status}" for status, n in self._counts.items())
        for name, (started, last) in rows:
            elapsed = f"{time.monotonic() - float(started):.1f}s"
            table.add_row(Spinner("dots", style="yellow"), name, elapsed, f"[dim]{last}[/dim]")
        footer = f"[dim]{len(rows)} running{'; ' + counts if counts else ''}[/dim]"
        return Group(table, footer)

    def job_started(self, job: JobSpec, attempt: int, attempts: int) -> None:
        with self._lock:
            self._running[job.name] = [
                time.monotonic(),
                f"attempt {attempt} of {attempts}" if attempt > 1 else "",
            ]

    def job_line(self, job: JobSpec, line: str) -> None:
        from rich.markup import escape

        with self._lock:
            if job.name in self._running:
                self._running[job.name][1] = escape(line[:120])

    def job_finished(self, step: StepResult, log_path: Path) -> None:
        from rich.markup import escape

        with self._lock:
            self._running.pop(step.name, None)
            self._counts[step.status] = self._counts.get(step.status, 0) + 1
        style = _STYLE.get(step.status, step.status)
        self._live.console.print(f"{style} {escape(step.name)} [dim]{escape(describe(step))}[/dim]")
        if step.status in ("failed", "timed_out") and log_path.is_file():
            try:
                lines = read_tail(log_path, FAILED_LOG_TAIL_LINES)  # never the whole log: it may be huge
            except OSError as err:  # the run goes on; the table and result.json still come
                lines = [f"[cicd] cannot read {log_path}: {err.strerror}"]
            self._live.console.print(escape("\n".join(lines)), highlight=False)

    def close(self) -> None:
        self._live.stop()


_STYLE = {
    "running": "[yellow]running[/]",
    "success": "[green]success[/]",
    "failed": "[red]failed[/]",
    "timed_out": "[red]timed_out[/]",
    "cancelled": "[magenta]cancelled[/]",
    "skipped": "[dim]skipped[/]",
}


def choose_display(in_actions: bool, stream: TextIO | None = None) -> Display:
    out = stream or sys.stdout
    if in_actions:
        return GroupDisplay(out)
    if out.isatty():
        return RichDisplay()
    return PlainDisplay(out)
