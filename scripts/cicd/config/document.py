"""A config file as located data: the values read from it and the line and column of each key path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cicd.errors import Location, Problem

Path_ = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based line and column


class SourceError(Exception):
    """The file cannot be read as one YAML mapping; carries the one fatal problem."""

    def __init__(self, problem: Problem):
        super().__init__(problem.render())
        self.problem = problem


@dataclass
class Document:
    """One config file: its data and where each key path sits in the text."""

    file: str
    data: Any
    key_marks: dict[Path_, Mark] = field(default_factory=dict)
    value_marks: dict[Path_, Mark] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, path: Path_, *, key: bool = False, key_path: Path_ | None = None) -> Location:
        """Location of `path` (its key when `key`), falling back to the nearest enclosing node."""
        marks = self.key_marks if key else self.value_marks
        probe = tuple(path)
        while probe not in marks and probe:
            probe = probe[:-1]
            marks = self.value_marks
        line, col = marks.get(probe, (1, 1))
        shown = path if key_path is None else key_path
        return Location(self.file, line, col, format_path(shown) or None)


def format_path(path: Path_) -> str:
    """`stages[1].jobs[0].timeout` for ('stages', 1, 'jobs', 0, 'timeout')."""
    text = ""
    for item in path:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text


def describe(value: Any) -> str:
    """A short human description of a YAML value for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
