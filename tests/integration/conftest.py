"""Shared fixtures of the integration tests: real sshd hosts, a Docker-compatible engine (podman's
Docker API service), an OCI registry and deployable test images. Helpers live in tests/integration/support.

    sshd_hosts        two sshd hosts on 127.0.0.2 and 127.0.0.3 (fresh per test)
    sshd_fleet        a factory: sshd_fleet.start("web-1", isolated=True) for a host in its own netns
    docker_engine     podman system service on a private socket; DOCKER_HOST points at it (session)
    registry          docker-registry on a free loopback port (session)
    service_image     builds the FROM-scratch busybox httpd test image: service_image("1.0.0") -> "repo:1.0.0"
                      (service_image("2.0.0", broken=True): a container that exits at once)
    sample_image      examples/service built with its own Dockerfile on a local python base image:
                      sample_image("1.0.0") -> "repo:1.0.0" (session cache per version)
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # tests.integration.support is importable however pytest was started
    sys.path.insert(0, str(REPO))

from tests.integration.support.engine import Engine, Registry  # noqa: E402
from tests.integration.support.images import busybox_context, python_base_context  # noqa: E402
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


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory):
    """podman's Docker API service on a private socket and storage; DOCKER_HOST points at it."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (scripts/install-system-deps.sh installs it)")
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is missing: the docker runtime drives any engine through it")
    engine = Engine.start(tmp_path_factory.mktemp("engine", numbered=True))
    previous = {key: os.environ.get(key) for key in ("DOCKER_HOST", "DOCKER_BUILDKIT")}
    os.environ.update(DOCKER_HOST=engine.docker_host, DOCKER_BUILDKIT="0")
    yield engine
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    engine.stop()


@pytest.fixture(scope="session")
def registry(docker_engine, tmp_path_factory):
    """An OCI registry on 127.0.0.1 (plain HTTP, which the engine was told at start); `.address`."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (scripts/install-system-deps.sh installs it)")
    server = Registry.start(tmp_path_factory.mktemp("registry"), docker_engine.registry_port)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def service_image(docker_engine, tmp_path_factory):
    """Build (once per session and version) the busybox test service; returns its reference."""
    root = tmp_path_factory.mktemp("images")
    repository = f"cicd-test/web-{secrets.token_hex(3)}"
    built: set[str] = set()

    def build(version: str, *, broken: bool = False) -> str:
        """A broken image must have a version of its own: references are cached per session."""
        reference = f"{repository}:{version}"
        if reference not in built:
            context = busybox_context(root, version, broken=broken)
            docker_engine.docker("build", "-q", "-t", reference, str(context))
            built.add(reference)
        return reference

    build.repository = repository  # type: ignore[attr-defined]
    return build


@pytest.fixture(scope="session")
def sample_image(docker_engine, tmp_path_factory):
    """examples/service built by its own Dockerfile with BASE = a local python rootfs image."""
    root = tmp_path_factory.mktemp("sample")
    tag = secrets.token_hex(3)
    base = f"cicd-test/python-base:{tag}"
    docker_engine.docker("build", "-q", "-t", base, str(python_base_context(root)))
    repository = f"cicd-test/sample-{tag}"
    built: set[str] = set()

    def build(version: str) -> str:
        reference = f"{repository}:{version}"
        if reference not in built:
            docker_engine.docker("build", "-q", "--build-arg", f"BASE={base}", "-t", reference,
                                 str(REPO / "examples" / "service"))
            built.add(reference)
        return reference

    build.repository = repository  # type: ignore[attr-defined]
    return build


@pytest.fixture
def fleet(sshd_fleet, tmp_path):
    """A project with two sshd hosts, web-1 and web-2, each in its own network namespace; web-2's
    HOME holds the FAIL_MARKER file so an artifact can be made to fail there only."""
    from tests.integration.support.fleet import FAIL_MARKER, FleetProject

    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (scripts/install-system-deps.sh installs it)")
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("hosts in network namespaces need root and iproute2 (.ci/run runs as root)")
    hosts = [
        sshd_fleet.start("web-1", isolated=True),
        sshd_fleet.start("web-2", isolated=True),
    ]
    (hosts[1].home / FAIL_MARKER).write_text("")
    return FleetProject(tmp_path / "project", hosts)
