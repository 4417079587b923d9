"""GitHub Actions workflow commands: annotations, groups, masks, outputs, step summary.

Outside Actions every function is a no-op (or prints plainly), so commands can call them freely.
Reference: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


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
    """Emit an `error`, `warning` or `notice` annotation when running inside Actions."""
    if in_actions():
        print(command(level, message, file=file, line=line, col=col, title=title), file=stream or sys.stdout)


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
    delimiter = f"ghadelim_{uuid.uuid4().hex}"
    return _append("GITHUB_OUTPUT", f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(markdown: str) -> bool:
    """Append Markdown (Mermaid renders) to the job's step summary; False when not in Actions."""
    return _append("GITHUB_STEP_SUMMARY", markdown.rstrip("\n") + "\n\n")
