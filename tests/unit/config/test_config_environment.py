"""Environment files: the model, the `deploy:` block, and validator errors located at the failing key."""

# Expected messages are compared whole, so some lines are long.
# ruff: noqa: E501

from __future__ import annotations

from pathlib import Path

import pytest

from cicd.config import load_environment
from cicd.errors import ConfigValidationError

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"

DEPLOY = """\
name: staging
type: staging
url: http://127.0.0.1:18080
deploy:
  runtime:
    kind: process
    command: [python3, -m, app, --port, "{port}"]
  colors:
    blue: {port: 18091}
    green: {port: 18092}
  router: {listen: "127.0.0.1:18080", preview_listen: "127.0.0.1:18081"}
  canary_steps: [{weight: 10}, {weight: 50}, {weight: 100}]
"""


def test_deploy_block_is_valid(config):
    config.write("environments/staging.yml", DEPLOY)
    assert config.problems(config.root / "environments/staging.yml") == []


def test_runtime_kind_outside_allowed_set(config):
    config.write("environments/staging.yml", DEPLOY.replace("kind: process", "kind: proc"))
    assert config.problems(config.root / "environments/staging.yml") == [
        "environments/staging.yml:6:11: error: 'kind' must be one of process, docker; got 'proc' (deploy.runtime.kind)"
    ]


def test_port_out_of_range_inside_deploy(config):
    config.write("environments/staging.yml", DEPLOY.replace("18092", "70000"))
    assert config.problems(config.root / "environments/staging.yml") == [
        "environments/staging.yml:10:19: error: 'port' must be between 1 and 65535, got 70000 "
        "(deploy.colors.green.port)"
    ]


def test_unknown_key_inside_runtime_variant(config):
    config.write(
        "environments/staging.yml",
        DEPLOY.replace("    kind: process\n", "    kind: process\n    comand: x\n"),
    )
    assert config.problems(config.root / "environments/staging.yml") == [
        "environments/staging.yml:7:5: error: unknown key 'comand' (did you mean 'command'?) (deploy.runtime)"
    ]


def test_model_validator_error_is_located_at_the_key_it_names(config):
    config.write("environments/staging.yml", DEPLOY.replace("18092", "18091"))
    problems = config.problems(config.root / "environments/staging.yml")
    assert len(problems) == 1
    assert problems[0].startswith("environments/staging.yml:10:19: error: colors.green.port uses port 18091")
    assert problems[0].endswith("(deploy.colors.green.port)")


def test_model_validator_error_naming_a_list_is_located_there(config):
    config.write(
        "environments/staging.yml",
        DEPLOY.replace("{weight: 50}", "{weight: 5}").replace("{weight: 10}", "{weight: 50}"),
    )
    problems = config.problems(config.root / "environments/staging.yml")
    assert len(problems) == 1
    assert problems[0].startswith(
        "environments/staging.yml:12:17: error: canary_steps weights must rise strictly"
    )


def test_wrong_type_for_string_field(config):
    config.write("environments/staging.yml", DEPLOY.replace('"127.0.0.1:18081"', "8081"))
    assert config.problems(config.root / "environments/staging.yml") == [
        "environments/staging.yml:11:55: error: 'preview_listen' must be a string, got 8081 "
        "(quote it to make it a string) (deploy.router.preview_listen)"
    ]


def test_type_outside_allowed_set(config):
    config.write("environments/staging.yml", "name: staging\ntype: qa\n")
    assert config.problems(config.root / "environments/staging.yml") == [
        "environments/staging.yml:2:7: error: 'type' must be one of development, staging, production; got 'qa' (type)"
    ]


def test_load_environment_gives_the_context_with_locations(config):
    config.write("environments/staging.yml", DEPLOY)
    staging = load_environment(config.root, "staging")
    assert (staging.name, staging.type, staging.url) == ("staging", "staging", "http://127.0.0.1:18080")
    assert staging.deploy is not None and staging.deploy.colors.green.port == 18092
    assert staging.lock_environment is True and staging.secrets == ()
    port = staging.locations["deploy.colors.green.port"]
    assert (port.line, port.col, port.key_path) == (10, 19, "deploy.colors.green.port")
    assert staging.source.endswith("environments/staging.yml")


def test_load_environment_unknown_name(config):
    with pytest.raises(ConfigValidationError) as caught:
        load_environment(config.root, "prod")
    assert str(caught.value).endswith("error: no environment 'prod' (known environments: staging)")


def test_load_environment_raises_every_problem(config):
    config.write("environments/staging.yml", "name: stage\ntype: qa\nextra: 1\n")
    with pytest.raises(ConfigValidationError) as caught:
        load_environment(config.root, "staging")
    assert [p.location.line for p in caught.value.problems] == [1, 2, 3]


@pytest.mark.parametrize("name", ["staging", "production"])
def test_repository_environments_load(name):
    environment = load_environment(REPO_CONFIG, name)
    assert environment.name == name
    assert environment.deploy is not None
