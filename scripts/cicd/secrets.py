"""Secrets are referenced by name in config and resolved from the environment at run time.

A resolved value is masked in GitHub Actions and registered with the redaction filter, so it never
reaches a log line, a ledger entry, an artifact or an exception message printed by cicd.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

from cicd import gha

REDACTED = "***"
_known_values: set[str] = set()


def redact(text: str) -> str:
    """Replace every registered secret value in `text`."""
    for value in sorted(_known_values, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def register(value: str) -> None:
    # Very short values would redact ordinary words; GitHub itself skips masking them too.
    if len(value) >= 4:
        _known_values.add(value)
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
