"""load_pipeline: the frozen runtime context, the `steps:` shorthand, and ConfigValidationError."""

# Expected messages are compared whole, so some lines are long.
# ruff: noqa: E501

from __future__ import annotations

from pathlib import Path

import pytest

from cicd.config import load_pipeline
from cicd.errors import ConfigValidationError

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


def test_repository_pipeline_is_valid():
    pipeline = load_pipeline(REPO_CONFIG)
    assert pipeline.name == "sample-service"
    assert pipeline.environment == "staging"
    assert all(isinstance(value, str) for value in pipeline.variables.values())
    assert len({job.name for job in pipeline.jobs}) == len(pipeline.jobs)


def test_stages_become_specs_with_defaults_and_locations(config):
    path = config.write(
        "pipeline.yml",
        """\
        name: demo
        variables: {FLAG: true, COUNT: 3, RATIO: 0.5, TEXT: hi, OFF: false}
        stages:
          - name: build
            jobs:
              - {name: compile, command: make}
          - name: test
            dependencies: [build, build]
            when: {branches: ["main"]}
            jobs:
              - {name: unit, command: make test, timeout: 30, retry: 2, continue_on_fail: true, artifacts: [a.xml]}
        """,
    )
    pipeline = load_pipeline(config.root)
    assert pipeline.variables == {"FLAG": "true", "COUNT": "3", "RATIO": "0.5", "TEXT": "hi", "OFF": "false"}
    assert (pipeline.trigger, pipeline.timeout_seconds, pipeline.environment) == ("manual", 3600, None)
    assert (pipeline.rollback.enabled, pipeline.rollback.strategy) == (True, "previous_version")
    build, test = pipeline.stages
    assert build.dependencies == () and test.dependencies == ("build",)
    assert test.when is not None and test.when.branches == ["main"]
    compile_job = build.jobs[0]
    assert (compile_job.stage, compile_job.timeout, compile_job.retry, compile_job.continue_on_fail) == (
        "build",
        600,
        0,
        False,
    )
    unit = pipeline.stage("test").jobs[0]
    assert (unit.timeout, unit.retry, unit.continue_on_fail, unit.artifacts) == (30, 2, True, ("a.xml",))
    assert unit.location is not None and (unit.location.line, unit.location.col) == (11, 9)
    assert unit.location.key_path == "stages[1].jobs[0]"
    assert test.location is not None and test.location.line == 7
    assert pipeline.source == str(path)


def test_flat_steps_become_a_chain_of_one_job_stages(config):
    config.write(
        "pipeline.yml",
        """\
        name: seeds
        steps:
          - {name: lint, command: ruff check .}
          - {name: test, command: pytest, retry: 1}
          - {name: build, command: make, continue_on_fail: true}
        """,
    )
    pipeline = load_pipeline(config.root)
    assert [(stage.name, stage.dependencies) for stage in pipeline.stages] == [
        ("lint", ()),
        ("test", ("lint",)),
        ("build", ("test",)),
    ]
    assert [len(stage.jobs) for stage in pipeline.stages] == [1, 1, 1]
    assert pipeline.stage("test").jobs[0].retry == 1
    assert pipeline.stage("build").jobs[0].stage == "build"


def test_path_argument_overrides_the_default_file(config, tmp_path):
    other = tmp_path / "other.yml"
    other.write_text("name: other\nsteps: [{name: a, command: x}]\n")
    assert load_pipeline(config.root, other).name == "other"


def test_every_problem_is_raised_together(config):
    config.write(
        "pipeline.yml", "name: demo\ntrigger: x\nstages:\n  - {name: a, jobs: [{name: j}], extra: 1}\n"
    )
    with pytest.raises(ConfigValidationError) as caught:
        load_pipeline(config.root)
    rendered = [problem.render().replace(f"{config.root}/", "") for problem in caught.value.problems]
    assert rendered == [
        "pipeline.yml:2:10: error: 'trigger' must be one of manual, push, pull_request, schedule; got 'x' (trigger)",
        "pipeline.yml:4:22: error: missing required key 'command' (stages[0].jobs[0])",
        "pipeline.yml:4:34: error: unknown key 'extra' (allowed keys: name, dependencies, when, jobs) (stages[0])",
    ]
    assert str(caught.value).endswith("(and 2 more)")


def test_missing_pipeline_file(config):
    with pytest.raises(ConfigValidationError) as caught:
        load_pipeline(config.root)
    assert str(caught.value) == f"{config.root}/pipeline.yml: error: file not found"


def test_require_secrets(config, monkeypatch):
    monkeypatch.delenv("CICD_TEST_TOKEN", raising=False)
    config.write("pipeline.yml", "name: demo\nsecrets: [CICD_TEST_TOKEN]\nsteps: [{name: a, command: x}]\n")
    assert load_pipeline(config.root).secrets == ("CICD_TEST_TOKEN",)
    with pytest.raises(ConfigValidationError, match="secret 'CICD_TEST_TOKEN' is not set"):
        load_pipeline(config.root, require_secrets=True)
    monkeypatch.setenv("CICD_TEST_TOKEN", "value-1234")
    assert load_pipeline(config.root, require_secrets=True).secrets == ("CICD_TEST_TOKEN",)
