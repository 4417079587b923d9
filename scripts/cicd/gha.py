"""GitHub Actions workflow commands: annotations, groups, masks, outputs, step summary.

Outside Actions every function is a no-op (or prints plainly), so commands can call them freely.
Reference: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

# GitHub shows at most 10 error, 10 warning and 10 notice annotations per step; later ones vanish.
ANNOTATIONS_SHOWN_PER_LEVEL = 10
# A step summary larger than 1 MiB is not shown at all.
SUMMARY_LIMIT_BYTES = 1024 * 1024
_annotation_counts: dict[str, int] = {}
_overflow_pending: list[bool] = []  # non-empty once the exit line is registered


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", **properties: object) -> str:
    """Render one workflow command line, e.g. `::error file=a.yml,line=3::bad`."""
    props = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None
    )
    head = f"::{name} {props}" if props else f"::{name}"
    return f"{head}::{escape_data(message)}"


def annotate(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Emit an `error`, `warning` or `notice` annotation when running inside Actions.

    Past GitHub's 10 per level, the message is printed as a plain log line instead, and one line at exit
    says how many were not annotated, so none disappears silently.
    """
    if not in_actions():
        return
    out = stream or sys.stdout
    count = _annotation_counts[level] = _annotation_counts.get(level, 0) + 1
    if count <= ANNOTATIONS_SHOWN_PER_LEVEL:
        print(command(level, message, file=file, line=line, col=col, title=title), file=out)
        return
    if count == ANNOTATIONS_SHOWN_PER_LEVEL + 1 and not _overflow_pending:
        _overflow_pending.append(True)
        atexit.register(flush_annotation_overflow)
    where = ":".join(str(part) for part in (file, line, col) if part is not None)
    print(f"{level}: {where + ': ' if where else ''}{message}", file=out)


def error(message: str, **where: object) -> None:
    annotate("error", message, **where)  # type: ignore[arg-type]


def warning(message: str, **where: object) -> None:
    annotate("warning", message, **where)  # type: ignore[arg-type]


def notice(message: str, **where: object) -> None:
    annotate("notice", message, **where)  # type: ignore[arg-type]


def annotation_overflow() -> str | None:
    """One line naming the annotations GitHub would not have shown, or None."""
    hidden = {
        level: count - ANNOTATIONS_SHOWN_PER_LEVEL
        for level, count in _annotation_counts.items()
        if count > ANNOTATIONS_SHOWN_PER_LEVEL
    }
    if not hidden:
        return None
    counts = ", ".join(f"{n} more {level} message{'s' if n > 1 else ''}" for level, n in hidden.items())
    limit = ANNOTATIONS_SHOWN_PER_LEVEL
    return f"{counts} not annotated (GitHub shows {limit} per level per step); see the log"


def flush_annotation_overflow(stream: TextIO | None = None) -> None:
    """Print the overflow line (as a notice while notices are under the cap) and start counting anew."""
    line = annotation_overflow()
    notices_left = _annotation_counts.get("notice", 0) < ANNOTATIONS_SHOWN_PER_LEVEL
    _annotation_counts.clear()
    _overflow_pending.clear()
    if line and in_actions():
        print(command("notice", line) if notices_left else line, file=stream or sys.stdout, flush=True)


def mask(value: str) -> None:
    """Ask the runner to redact `value` from every later log line."""
    if in_actions() and value:
        for line in value.splitlines():
            if line.strip():
                print(command("add-mask", line), flush=True)


@contextmanager
def group(title: str) -> Iterator[None]:
    """A collapsible log group inside Actions; a plain heading line elsewhere."""
    if in_actions():
        print(command("group", title), flush=True)
        try:
            yield
        finally:
            print("::endgroup::", flush=True)
    else:
        yield


def _append(env_var: str, text: str) -> bool:
    path = os.environ.get(env_var)
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
    return True


def set_output(name: str, value: str) -> bool:
    """Write a step output; multi-line values use a random heredoc delimiter."""
    delimiter = f"ghadelim_{os.urandom(16).hex()}"
    return _append("GITHUB_OUTPUT", f"{name}<<{delimiter}\n{_redacted(value)}\n{delimiter}\n")


def _redacted(text: str) -> str:
    """Outputs and summaries are files the runner does not mask: registered secrets are removed here."""
    from cicd import secrets  # imports this module

    return secrets.redact(text)


def append_summary(markdown: str) -> bool:
    """Append Markdown (Mermaid renders) to the job's step summary; False when not in Actions.

    The summary stays under GitHub's 1 MiB per step: what does not fit is cut, with a note saying so.
    """
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    data = (_redacted(markdown).rstrip("\n") + "\n\n").encode("utf-8")
    room = SUMMARY_LIMIT_BYTES - (os.path.getsize(path) if os.path.exists(path) else 0)
    if len(data) > room:
        note = b"\n\n> Summary cut here: GitHub shows at most 1 MiB per step; the rest is in the log.\n"
        kept = data[: max(0, room - len(note))].decode("utf-8", "ignore").encode("utf-8")
        data = kept + note if room >= len(note) else b""
        print(f"step summary truncated to GitHub's {SUMMARY_LIMIT_BYTES} bytes", file=sys.stderr)
    with open(path, "ab") as handle:
        handle.write(data)
    return True
