"""Secrets are referenced by name in config and resolved from the environment at run time.

Every command registers the secrets it knows about once, before it prints or stores anything
(`resolve` for names from config, `register` for a value it obtained otherwise). From then on
every registered value is masked in GitHub Actions (one `::add-mask::` per line, as the runner matches
line by line) and redacted from what cicd prints or stores:

- `redact(text)` for a complete text (a message, a history row, a ledger entry);
- `StreamRedactor` for output that arrives in pieces (a job's or a hook's stdout): it holds back a
  tail as long as the longest secret, so a value split across two reads is still caught whole;
- `RedactingFilter` / `install_log_redaction` for the logging module.

A multi-line value (a PEM key) is redacted whole, and each of its lines on its own too, so a job that
prints it with other line endings, indented, or one line at a time does not leak it either.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping

from cicd import gha

REDACTED = "***"
# Very short values would redact ordinary words; GitHub itself skips masking them too.
MIN_SECRET_LENGTH = 4
_known_values: set[str] = set()
_pattern: list[re.Pattern[str] | None] = [None]  # compiled from _known_values, rebuilt on change


def register(value: str) -> None:
    """Mask `value` in Actions and redact it from now on; each line of a multi-line value as well."""
    parts = [value] + [line.strip() for line in value.splitlines()]
    new = {part for part in parts if len(part) >= MIN_SECRET_LENGTH and part not in _known_values}
    if not new:
        return
    _known_values.update(new)
    _pattern[0] = None
    gha.mask(value)


def missing(names: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return [name for name in names if not env.get(name)]


def resolve(names: Iterable[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Values of the named secrets that are set; each one is registered for redaction."""
    env = os.environ if environ is None else environ
    resolved = {name: env[name] for name in names if env.get(name)}
    for value in resolved.values():
        register(value)
    return resolved


def longest() -> int:
    """Length of the longest registered value: what a stream must hold back to catch a split one."""
    return max(map(len, _known_values), default=0)


def _compiled() -> re.Pattern[str] | None:
    if _pattern[0] is None and _known_values:
        # Longest first: where two values start at the same place, the longer one is replaced whole.
        ordered = sorted(_known_values, key=len, reverse=True)
        _pattern[0] = re.compile("|".join(map(re.escape, ordered)))
    return _pattern[0]


def redact(text: str) -> str:
    """Replace every registered secret value in `text`."""
    pattern = _compiled()
    return pattern.sub(REDACTED, text) if pattern is not None else text


class StreamRedactor:
    """Redacts text that arrives in pieces: `feed` each piece, `flush` at the end of the stream.

    What `feed` returns is final: no registered value can start in it and end in a later piece, because
    the last `longest() - 1` characters are held back until more arrives. When the stream pauses,
    `settle` releases what is held back except a tail that could still begin a secret, so a quiet
    job's last line is not kept from the display.
    """

    def __init__(self) -> None:
        self._held = ""

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def feed(self, text: str) -> str:
        buffer = self._held + text
        return self._release(buffer, max(0, len(buffer) - (longest() - 1)))

    def settle(self) -> str:
        return self._release(self._held, _start_of_possible_secret(self._held))

    def flush(self) -> str:
        return self._release(self._held, len(self._held))

    def _release(self, buffer: str, hold: int) -> str:
        """Redact and return buffer[:hold] (more if a value starting before `hold` runs past it); keep
        the rest. A value starting before `hold` is final: the longest one starting there is visible."""
        pattern = _compiled()
        if pattern is None:
            self._held = ""
            return buffer
        out: list[str] = []
        done = 0
        for match in pattern.finditer(buffer):
            if match.start() >= hold:
                break
            out += [buffer[done : match.start()], REDACTED]
            done = match.end()
        keep_from = max(hold, done)
        out.append(buffer[done:keep_from])
        self._held = buffer[keep_from:]
        return "".join(out)


def _start_of_possible_secret(text: str) -> int:
    """Where the earliest suffix of `text` that could still grow into a registered value starts."""
    starts = {value[0] for value in _known_values}
    for index in range(max(0, len(text) - longest() + 1), len(text)):
        if text[index] in starts:
            rest = text[index:]
            if any(len(value) > len(rest) and value.startswith(rest) for value in _known_values):
                return index
    return len(text)


class RedactingFilter(logging.Filter):
    """Logging filter that scrubs registered secret values from every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _known_values:
            record.msg = redact(record.getMessage())
            record.args = ()
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    target = logger or logging.getLogger()
    for handler in target.handlers or []:
        handler.addFilter(RedactingFilter())
    target.addFilter(RedactingFilter())
