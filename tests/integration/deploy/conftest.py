"""Fixtures of the deploy integration tests (helpers in deploy_harness.py)."""

from __future__ import annotations

import shutil

import pytest
from deploy_harness import Project

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tmp_path):
    if shutil.which("nginx") is None and not __import__("os").path.exists("/usr/sbin/nginx"):
        pytest.skip("nginx is not installed (scripts/install-system-deps.sh installs it)")
    proj = Project(tmp_path)
    yield proj
    proj.shut_down()
