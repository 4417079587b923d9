"""Fixtures for the state store tests: a fresh SQLite file under tmp_path, reached in process or, like a
remote target, as `python -I - DB` through a real LocalHost (a real child process per call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cicd.hosts.local import LocalHost
from cicd.state import StateStore, open_state


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return open_state("staging", str(tmp_path / "state" / "{environment}.db"))


@pytest.fixture(params=["in_process", "subprocess"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    """The same store through both transports: every assertion must hold for both."""
    host = LocalHost("local", cwd=str(tmp_path))
    return open_state("staging", "state/{environment}.db", host, in_process=request.param == "in_process")
