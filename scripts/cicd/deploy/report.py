"""Phase lines for humans: short, one per phase, with timings. Plain text (CI logs stay readable)."""

from __future__ import annotations

import sys
from typing import TextIO

from cicd import secrets
from cicd.errors import CicdError

MARKS = {"ok": "✓", "fail": "✗", "info": "·", "warn": "!", "dry": "-"}


class Reporter:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False):
        self.stream = stream or sys.stdout
        self.quiet = quiet

    def line(self, text: str) -> None:
        if not self.quiet:  # hook output and service logs pass here: no registered secret is shown
            print(secrets.redact(text), file=self.stream, flush=True)

    def phase(self, status: str, phase: str, message: str, seconds: float | None = None) -> None:
        timing = f" ({seconds:.2f}s)" if seconds is not None else ""
        self.line(f"  {MARKS.get(status, '·')} {phase:<10} {message}{timing}")

    def detail(self, text: str) -> None:
        for row in text.rstrip().splitlines():
            self.line(f"      | {row}")


def describe(err: BaseException) -> str:
    """One line for a failure: an expected error's message, else what kind of bug it was."""
    if isinstance(err, CicdError | KeyboardInterrupt):
        return str(err) or "interrupted"
    return f"internal error: {type(err).__name__}: {err}"
