"""Blue-green through the orchestrator (`cicd deploy`/`rollback`) with the docker runtime: the sample
service built by its own Dockerfile, run by a real engine, behind real nginx, on this machine."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import urllib.request

import pytest
from tests.integration.support.fleet import FleetProject, free_ports, last_line

pytestmark = pytest.mark.integration


def live(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return json.loads(response.read())["version"]
    except OSError:
        return None


@pytest.fixture
def project(tmp_path, docker_engine, sample_image):
    sample_image("1.0.0")
    sample_image("2.0.0")
    name = f"dk{secrets.token_hex(3)}"
    blue, green, listen, preview = free_ports(4)
    proj = FleetProject(tmp_path, hosts=[])
    proj.add_env(name, {
        "runtime": {"kind": "docker", "image": sample_image.repository, "container_port": 8080},
        "colors": {"blue": {"port": blue}, "green": {"port": green}},
        "router": {"listen": f"127.0.0.1:{listen}", "preview_listen": f"127.0.0.1:{preview}"},
        "health": {"path": "/healthz", "interval_seconds": 0.2, "timeout_seconds": 20},
        "smoke": [{"name": "quote", "path": "/api/quote?sku=widget&quantity=2", "contains": '"total"'}],
        "verification": {"window_seconds": 1.0, "interval_seconds": 0.25, "min_samples": 2},
        "warm_seconds": 120,
        "releases_to_keep": 2,
    })  # fmt: skip
    proj.name, proj.url = name, f"http://127.0.0.1:{listen}/version"  # type: ignore[attr-defined]
    yield proj
    docker_engine.remove_containers(f"cicd.env={name}")
    pid_file = tmp_path / ".cicd" / "nginx" / name / "nginx.pid"
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def test_blue_green_with_containers_then_warm_rollback(project, docker_engine):
    first = project.deploy(project.name, "1.0.0")
    assert first.returncode == 0, first.stdout + first.stderr
    assert live(project.url) == "1.0.0"
    second = project.deploy(project.name, "2.0.0")
    assert second.returncode == 0, second.stdout + second.stderr
    assert live(project.url) == "2.0.0"
    running = docker_engine.docker("ps", "--filter", f"label=cicd.env={project.name}",
                                   "--format", "{{.Names}} {{.Label \"cicd.version\"}}").stdout
    app = project.envs[project.name]["deploy"]["runtime"]["image"].rsplit("/", 1)[1]
    assert sorted(running.splitlines()) == [  # blue kept warm for an instant rollback
        f"{app}-{project.name}-blue 1.0.0", f"{app}-{project.name}-green 2.0.0",
    ]
    back = project.cicd("rollback", "--env", project.name, "--reason", "checking the warm path")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "warm" in back.stdout and live(project.url) == "1.0.0"


def test_a_missing_image_changes_nothing_and_old_images_are_pruned(project, sample_image, docker_engine):
    assert project.deploy(project.name, "1.0.0").returncode == 0
    result = project.deploy(project.name, "9.9.9")
    assert result.returncode == 1
    assert f"image not found: {sample_image.repository}:9.9.9 on local" in last_line(result)
    assert "Traceback" not in result.stderr
    assert live(project.url) == "1.0.0"

    # releases_to_keep: 2. By 4.0.0, 1.0.0 is neither live, warm, previous nor last known good: it goes.
    for version in ("2.0.0", "3.0.0", "4.0.0"):
        sample_image(version)
        deployed = project.deploy(project.name, version)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    tags = docker_engine.docker("image", "ls", "--format", "{{.Tag}}", sample_image.repository).stdout.split()
    assert "1.0.0" not in tags and {"3.0.0", "4.0.0"} <= set(tags)
    cold = project.cicd("rollback", "--env", project.name, "--to", "1.0.0")
    assert cold.returncode == 1 and "1.0.0 is not retained on local" in last_line(cold)
    assert live(project.url) == "4.0.0"
