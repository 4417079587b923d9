"""Reading a config file: refusing what is not YAML text, then composing it into located data.

Everything that makes a file unreadable as one YAML mapping becomes one SourceError with one located
problem; everything else is left for validation, which reports all problems at once.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from cicd.config.composer import MAX_DEPTH, MAX_NODES, compose
from cicd.config.document import Document, SourceError, describe
from cicd.errors import Location, Problem

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Document", "SourceError", "load_document", "read_text"]

MAX_BYTES = 1024 * 1024  # config files are a few KB; a 200-job pipeline is about 30 KB


def read_text(path: Path, file: str) -> str:
    """The file's text, refusing huge, binary and non-UTF-8 files with one clear problem."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise SourceError(Problem(Location(file), f"cannot read file: {err.strerror or err}")) from err
    if len(raw) > MAX_BYTES:
        size = path.stat().st_size / (1024 * 1024)
        message = f"file is too large ({size:.1f} MB); config files are limited to {MAX_BYTES // 1024} KB"
        raise SourceError(Problem(Location(file, 1, 1), message))
    if b"\0" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\0")) + 1
        raise SourceError(Problem(Location(file, line), "binary file (contains NUL bytes); expected YAML"))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        message = f"not UTF-8 text: invalid byte 0x{raw[err.start]:02x}"
        raise SourceError(Problem(Location(file, line, col), message, "save the file as UTF-8")) from err


def load_document(path: Path, file: str) -> Document:
    """Read and compose `path`; SourceError for anything that is not one YAML mapping."""
    text = read_text(path, file)
    doc = Document(file, None)
    try:
        data = compose(text, doc)
    except yaml.YAMLError as err:
        raise SourceError(_yaml_problem(err, file, text)) from err
    if data is None:
        raise SourceError(Problem(Location(file, 1, 1), "file is empty; expected a mapping of keys"))
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"a single value {describe(data)}"
        raise SourceError(
            Problem(Location(file, 1, 1), f"the top level must be a mapping of keys, got {got}")
        )
    doc.data = data
    return doc


def _yaml_problem(err: yaml.YAMLError, file: str, text: str) -> Problem:
    if isinstance(err, yaml.reader.ReaderError):  # a character YAML does not allow, e.g. a control code
        line = text.count("\n", 0, err.position) + 1
        col = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        message = f"malformed YAML: character #x{err.character:04x} is not allowed ({err.reason})"
        return Problem(Location(file, line, col), message)
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    if "maximum nesting depth" in problem:
        # PyYAML >= 6.0.2 stops flow nesting itself (at 1000 levels, while scanning ahead), before our
        # composer sees level MAX_DEPTH: it is the same refusal, so it reads the same.
        message = f"nesting is deeper than {MAX_DEPTH} levels"
        return Problem(Location(file, mark.line + 1, mark.column + 1) if mark else Location(file), message)
    message = f"malformed YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return Problem(Location(file), message)
    return Problem(Location(file, mark.line + 1, mark.column + 1), message)
