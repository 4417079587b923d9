"""The docker runtime against a real engine (podman's Docker API service) and a real registry."""

from __future__ import annotations

import json
import secrets
import socket
import time
import urllib.request

import pytest

from cicd.config.deploy import DockerRuntime, HostSpec
from cicd.deploy.runtimes.base import Release, Runtime, Slot
from cicd.deploy.runtimes.docker import DockerRuntimeImpl
from cicd.errors import DeploymentError
from cicd.hosts.local import LocalHost

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(port: int, path: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def runtime(docker_engine, service_image):
    service_image("1.0.0")
    environment = f"t{secrets.token_hex(3)}"
    impl = DockerRuntimeImpl(DockerRuntime(image=service_image.repository, container_port=8080),
                             environment=environment, base_dir=".")
    yield impl
    docker_engine.remove_containers(f"cicd.env={environment}")


def service_image_app(runtime) -> str:
    return runtime.settings.image.rsplit("/", 1)[1]  # cicd-test/web-xxxxxx -> web-xxxxxx


@pytest.fixture
def host(tmp_path):
    return LocalHost("local", cwd=str(tmp_path))


def test_is_a_runtime(runtime):
    assert isinstance(runtime, Runtime)


def test_start_serves_status_reports_stop_removes(runtime, host):
    slot = Slot("blue", free_port())
    runtime.prepare(host, Release("1.0.0"))
    runtime.start(host, slot, Release("1.0.0"))
    assert get_json(slot.port, "/version.json") == {"version": "1.0.0"}
    status = runtime.status(host, slot)
    assert status.running and status.version == "1.0.0"
    with pytest.raises(DeploymentError, match=r"blue on local is still running 1\.0\.0; stop it first"):
        runtime.start(host, slot, Release("1.0.0"))
    started = time.monotonic()
    runtime.stop(host, slot, grace_seconds=5)
    assert time.monotonic() - started < 5  # the image's shell traps TERM: a graceful stop is quick
    assert not runtime.status(host, slot).running
    runtime.stop(host, slot)  # stopping an empty slot is a no-op


def test_containers_are_named_and_labelled(runtime, host, docker_engine):
    slot = Slot("green", free_port())
    runtime.start(host, slot, Release("1.0.0"))
    name = runtime.container(slot)
    assert name == f"{service_image_app(runtime)}-{runtime.environment}-green"
    labels = json.loads(docker_engine.docker("inspect", "--format", "{{json .Config.Labels}}", name).stdout)
    assert labels["cicd.env"] == runtime.environment and labels["cicd.version"] == "1.0.0"
    assert labels["cicd.color"] == "green"


def test_an_image_that_does_not_exist_is_one_clear_line(runtime, host):
    with pytest.raises(DeploymentError) as err:
        runtime.prepare(host, Release("9.9.9"))
    message = str(err.value)
    assert message.startswith(f"image not found: {runtime.settings.image}:9.9.9 on local")
    assert "\n" not in message


def test_a_container_that_exits_shows_its_logs(runtime, host, service_image):
    service_image("0.0.1-broken", broken=True)
    slot = Slot("blue", free_port())
    runtime.start(host, slot, Release("0.0.1-broken"))
    deadline = time.monotonic() + 10
    while runtime.status(host, slot).running and time.monotonic() < deadline:
        time.sleep(0.1)
    status = runtime.status(host, slot)
    assert not status.running and "exit code 3" in status.detail
    assert "boom: missing configuration" in runtime.logs(host, slot)
    runtime.stop(host, slot)  # an exited container is removed too
    assert runtime.status(host, slot).detail == "no container"


def test_a_port_in_use_is_refused_before_docker_run(runtime, host):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        slot = Slot("blue", squatter.getsockname()[1])
        with pytest.raises(DeploymentError, match=rf"port {slot.port} \(blue\) on local is already in use"):
            runtime.start(host, slot, Release("1.0.0"))
    assert runtime.status(host, slot).detail == "no container"


def test_releases_are_the_images_kept_oldest_first(runtime, host, service_image):
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        service_image(version)
        runtime.prepare(host, Release(version))
    service_image("0.9.0")  # on the host, never prepared by the runtime: not a release of ours
    assert runtime.releases(host) == ["1.0.0", "1.1.0", "1.2.0"]
    runtime.remove_release(host, "1.1.0")
    assert "1.1.0" not in runtime.releases(host)
    with pytest.raises(DeploymentError, match="image not found"):
        runtime.prepare(host, Release("1.1.0"))  # gone from the host, and no registry has it


def test_an_artifact_image_is_tagged_as_the_version(runtime, host, service_image):
    source = service_image("2.0.0-rc1")
    runtime.prepare(host, Release("2.0.0", artifact=source))
    slot = Slot("blue", free_port())
    runtime.start(host, slot, Release("2.0.0"))
    assert get_json(slot.port, "/version.json") == {"version": "2.0.0-rc1"}
    assert runtime.status(host, slot).version == "2.0.0"


def test_registry_push_then_pull_by_the_runtime(docker_engine, registry, service_image, host):
    image = f"{registry.address}/cicd-test/pushed-{secrets.token_hex(3)}"
    docker_engine.docker("tag", service_image("1.0.0"), f"{image}:3.0.0")
    pushed = docker_engine.docker("push", f"{image}:3.0.0")
    docker_engine.docker("rmi", f"{image}:3.0.0")
    environment = f"r{secrets.token_hex(3)}"
    runtime = DockerRuntimeImpl(DockerRuntime(image=image), environment=environment, base_dir=".")
    runtime.prepare(host, Release("3.0.0"))  # not on the host: pulled from the registry
    digest = runtime.digest(host, "3.0.0")
    assert digest is not None and digest.startswith("sha256:")
    fmt = "{{json .RepoDigests}}"
    known = docker_engine.docker("image", "inspect", "--format", fmt, f"{image}:3.0.0").stdout
    assert f"{image}@{digest}" in json.loads(known)
    assert pushed.returncode == 0
    assert "3.0.0" in runtime.releases(host)
    slot = Slot("blue", free_port())
    try:
        runtime.start(host, slot, Release("3.0.0"))
        assert get_json(slot.port, "/version.json") == {"version": "1.0.0"}
    finally:
        runtime.stop(host, slot, grace_seconds=2)


def test_the_same_runtime_works_on_a_host_over_ssh(runtime, sshd_fleet, docker_engine):
    target = sshd_fleet.start("docker-1", address="127.0.0.4", env={"DOCKER_HOST": docker_engine.docker_host})
    remote = target.ssh_host()
    slot = Slot("blue", free_port())
    runtime.prepare(remote, Release("1.0.0"))
    runtime.start(remote, slot, Release("1.0.0"))
    assert get_json(slot.port, "/version.json") == {"version": "1.0.0"}
    assert runtime.status(remote, slot).version == "1.0.0"
    runtime.stop(remote, slot, grace_seconds=2)
    assert not runtime.status(remote, slot).running
    assert HostSpec(**target.spec()).transport == "ssh"
