"""The docker runtime's pure parts: parsers of recorded `docker` output and the argv it builds."""

from __future__ import annotations

import json

from cicd.config.deploy import DockerRuntime
from cicd.deploy.runtimes.base import Release, Slot
from cicd.deploy.runtimes.docker import DockerRuntimeImpl, parse_digest, parse_image_tags, parse_inspect

# Trimmed from `docker inspect --type container` against podman 4.3's Docker API
RUNNING = json.dumps([{
    "Name": "/web-staging-blue",
    "State": {"Status": "running", "Running": True, "ExitCode": 0},
    "Config": {"Labels": {"cicd.env": "staging", "cicd.version": "1.2.3", "cicd.color": "blue"}},
}])  # fmt: skip
EXITED = json.dumps([{"State": {"Status": "exited", "Running": False, "ExitCode": 3},
                      "Config": {"Labels": {"cicd.version": "1.2.4"}}}])  # fmt: skip


def runtime(image: str = "registry.example.com/team/web") -> DockerRuntimeImpl:
    return DockerRuntimeImpl(DockerRuntime(image=image, env={"LOG_LEVEL": "info"}), environment="staging",
                             base_dir=".")


def test_parse_inspect_running_and_exited():
    assert parse_inspect(RUNNING).running and parse_inspect(RUNNING).version == "1.2.3"
    exited = parse_inspect(EXITED)
    assert not exited.running and exited.detail == "exited (exit code 3)" and exited.version == "1.2.4"
    assert parse_inspect("[]") is None
    assert parse_inspect("not json") is None


def test_parse_image_tags_matches_the_repository_with_or_without_a_registry_prefix():
    listed = "docker.io/team/web:1.0.0\nteam/web:1.1.0\nteam/web:<none>\nteam/webby:9\nother/web:2\n"
    assert parse_image_tags(listed, "team/web") == ["1.0.0", "1.1.0"]
    assert parse_image_tags("127.0.0.1:5000/team/web:3.0.0\n", "127.0.0.1:5000/team/web") == ["3.0.0"]


def test_parse_digest_prefers_the_repositorys_digest_then_the_id():
    both = '["other/app@sha256:111","docker.io/team/web@sha256:abc"] sha256:def'
    assert parse_digest(both, "team/web") == "sha256:abc"
    assert parse_digest('["other/app@sha256:111"] sha256:def', "team/web") == "sha256:def"
    assert parse_digest("[] sha256:def", "team/web") == "sha256:def"
    assert parse_digest("null sha256:def", "team/web") == "sha256:def"


def test_container_name_ports_labels_and_env_names_only():
    impl = runtime()
    argv = impl.run_argv(Slot("green", 18081), Release("1.2.3", env={"API_TOKEN": "s3cret"}))
    assert argv[:5] == ["docker", "run", "-d", "--name", "web-staging-green"]
    assert argv[argv.index("-p") + 1] == "127.0.0.1:18081:8080"
    assert "cicd.version=1.2.3" in argv and "cicd.env=staging" in argv
    assert argv[-1] == "registry.example.com/team/web:1.2.3"
    assert "API_TOKEN" in argv and not any("s3cret" in item for item in argv)
    env = impl.container_env(Slot("green", 18081), Release("1.2.3", env={"API_TOKEN": "s3cret"}))
    assert env["SERVICE_VERSION"] == "1.2.3" and env["LOG_LEVEL"] == "info" and env["API_TOKEN"] == "s3cret"


def test_app_name_comes_from_the_image_repository():
    assert runtime("web").container(Slot("blue", 1)) == "web-staging-blue"
    assert runtime("127.0.0.1:5000/a/b_c.d").container(Slot("blue", 1)) == "b_c.d-staging-blue"
