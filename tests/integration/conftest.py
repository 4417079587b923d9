"""Shared fixtures of the integration tests: real sshd hosts, a Docker-compatible engine (podman's
Docker API service), an OCI registry and deployable test images. Helpers live in tests/integration/support.

    sshd_hosts        two sshd hosts on 127.0.0.2 and 127.0.0.3 (fresh per test)
    sshd_fleet        a factory: sshd_fleet.start("web-1", isolated=True) for a host in its own netns
    docker_engine     podman system service on a private socket; DOCKER_HOST points at it (session)
    registry          docker-registry on a free loopback port (session)
    service_image     a FROM-scratch busybox httpd image builder: service_image("1.0.0") -> reference
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # tests.integration.support is importable however pytest was started
    sys.path.insert(0, str(REPO))

from tests.integration.support.sshd import SSHD, SshdFleet  # noqa: E402


def _need_sshd() -> None:
    if not Path(SSHD).exists() or shutil.which("ssh") is None:
        pytest.skip("openssh-server/openssh-client are not installed (scripts/install-system-deps.sh)")


@pytest.fixture
def sshd_fleet(tmp_path_factory):
    """Start hosts with `.start(name, address=..., isolated=False, env=None)`; all stop after the test."""
    _need_sshd()
    fleet = SshdFleet(tmp_path_factory.mktemp("sshd"))
    yield fleet
    fleet.shut_down()


@pytest.fixture
def sshd_hosts(sshd_fleet):
    """Two real sshd hosts on distinct loopback addresses; `host.spec()` is a deploy.hosts entry."""
    return [sshd_fleet.start("web-1", address="127.0.0.2"), sshd_fleet.start("web-2", address="127.0.0.3")]
