"""Each validation rule, asserting the exact file, line, column and message."""

# Expected messages are compared whole, so some lines are long.
# ruff: noqa: E501

from __future__ import annotations

import pytest

VALID = """\
name: demo
environment: staging
stages:
  - name: build
    jobs:
      - name: compile
        command: make
  - name: test
    dependencies: [build]
    jobs:
      - name: unit
        command: make test
"""


def test_valid_config_has_no_problems(config):
    config.write("pipeline.yml", VALID)
    assert config.problems() == []


def test_unknown_key_with_did_you_mean(config):
    config.write("pipeline.yml", VALID.replace("command: make test", "command: make test\n        timout: 5"))
    assert config.problems() == [
        "pipeline.yml:13:9: error: unknown key 'timout' (did you mean 'timeout'?) (stages[1].jobs[0])"
    ]


def test_unknown_key_without_close_match_lists_allowed_keys(config):
    config.write("pipeline.yml", VALID + "colour: blue\n")
    assert config.problems() == [
        "pipeline.yml:13:1: error: unknown key 'colour' (allowed keys: name, trigger, environment, "
        "timeout_seconds, variables, secrets, stages, steps, rollback)"
    ]


def test_wrong_type(config):
    config.write("pipeline.yml", VALID.replace("command: make\n", "command: make\n        retry: many\n"))
    assert config.problems() == [
        "pipeline.yml:8:16: error: 'retry' must be an integer, got 'many' (stages[0].jobs[0].retry)"
    ]


def test_wrong_type_number_for_string_suggests_quotes(config):
    config.write("pipeline.yml", VALID.replace("command: make\n", "command: 1.10\n"))
    assert config.problems() == [
        "pipeline.yml:7:18: error: 'command' must be a string, got 1.1 (quote it to make it a string) "
        "(stages[0].jobs[0].command)"
    ]


def test_wrong_type_list_item(config):
    config.write("pipeline.yml", "name: demo\nstages: [build]\n")
    assert config.problems() == [
        "pipeline.yml:2:10: error: each item of 'stages' must be a mapping, got 'build' (stages[0])"
    ]


def test_variable_of_wrong_type_names_every_allowed_type(config):
    config.write("pipeline.yml", VALID + "variables: {LIST: [1, 2]}\n")
    assert config.problems() == [
        "pipeline.yml:13:19: error: 'LIST' must be a string, an integer, a number or true or false, got a list "
        "(variables.LIST)"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("timeout: 0", "'timeout' must be between 1 and 86400, got 0"),
        ("timeout: 100000", "'timeout' must be between 1 and 86400, got 100000"),
        ("retry: -1", "'retry' must be between 0 and 10, got -1"),
    ],
)
def test_out_of_range(config, line, message):
    config.write("pipeline.yml", VALID.replace("command: make\n", f"command: make\n        {line}\n"))
    key = line.split(":")[0]
    assert config.problems() == [
        f"pipeline.yml:8:{11 + len(key)}: error: {message} (stages[0].jobs[0].{key})"
    ]


def test_pipeline_timeout_out_of_range(config):
    config.write("pipeline.yml", VALID + "timeout_seconds: 0\n")
    assert config.problems() == [
        "pipeline.yml:13:18: error: 'timeout_seconds' must be between 1 and 604800, got 0 (timeout_seconds)"
    ]


def test_missing_required_key(config):
    config.write("pipeline.yml", VALID.replace("        command: make\n", ""))
    assert config.problems() == [
        "pipeline.yml:6:9: error: missing required key 'command' (stages[0].jobs[0])"
    ]


def test_neither_stages_nor_steps(config):
    config.write("pipeline.yml", "name: demo\n")
    assert config.problems() == [
        "pipeline.yml:1:1: error: missing required key 'stages' (or the flat 'steps' shorthand)"
    ]


def test_both_stages_and_steps(config):
    config.write("pipeline.yml", VALID + "steps:\n  - {name: x, command: 'true'}\n")
    assert config.problems() == [
        "pipeline.yml:14:3: error: give either 'stages' or the flat 'steps' shorthand, not both (steps)"
    ]


def test_bad_name_pattern(config):
    config.write("pipeline.yml", VALID.replace("name: compile", "name: 'com pile'"))
    assert config.problems() == [
        "pipeline.yml:6:15: error: 'name' is not valid: got 'com pile'; use letters, digits, '_', '.' and '-', "
        "starting with a letter or digit (stages[0].jobs[0].name)"
    ]


def test_empty_jobs(config):
    config.write(
        "pipeline.yml",
        VALID.replace("    jobs:\n      - name: unit\n        command: make test\n", "    jobs: []\n"),
    )
    assert config.problems() == [
        "pipeline.yml:10:11: error: 'jobs' must have at least 1 item (stages[1].jobs)"
    ]


def test_trigger_literal_lists_allowed_values(config):
    config.write("pipeline.yml", VALID + "trigger: pushh\n")
    assert config.problems() == [
        "pipeline.yml:13:10: error: 'trigger' must be one of manual, push, pull_request, schedule; got 'pushh' "
        "(did you mean 'push'?) (trigger)"
    ]


def test_rollback_strategy_outside_allowed_set(config):
    config.write("pipeline.yml", VALID + "rollback:\n  strategy: blue-green\n")
    assert config.problems() == [
        "pipeline.yml:14:13: error: 'strategy' must be one of previous_version, blue_green, canary_abort; "
        "got 'blue-green' (did you mean 'blue_green'?) (rollback.strategy)"
    ]


def test_duplicate_stage_names(config):
    config.write("pipeline.yml", VALID + "  - name: build\n    jobs: [{name: other, command: x}]\n")
    assert config.problems() == [
        "pipeline.yml:13:11: error: duplicate stage name 'build' (first defined at line 4) "
        "(stage names must be unique) (stages[2].name)"
    ]


def test_duplicate_job_names_across_stages(config):
    config.write("pipeline.yml", VALID.replace("name: unit", "name: compile"))
    assert config.problems() == [
        "pipeline.yml:11:15: error: duplicate job name 'compile' (first defined at line 6) "
        "(job names must be unique across the pipeline: logs are kept by job name) (stages[1].jobs[0].name)"
    ]


def test_duplicate_step_names(config):
    config.write("pipeline.yml", "name: demo\nsteps:\n  - {name: a, command: x}\n  - {name: a, command: y}\n")
    assert config.problems() == [
        "pipeline.yml:4:12: error: duplicate job name 'a' (first defined at line 3) "
        "(job names must be unique across the pipeline: logs are kept by job name) (steps[1].name)"
    ]


def test_dependency_on_missing_stage(config):
    config.write("pipeline.yml", VALID.replace("dependencies: [build]", "dependencies: [biuld]"))
    assert config.problems() == [
        "pipeline.yml:9:20: error: stage 'test' depends on unknown stage 'biuld' (did you mean 'build'?) "
        "(stages[1].dependencies[0])"
    ]


def test_dependency_on_missing_stage_lists_known_stages(config):
    config.write("pipeline.yml", VALID.replace("dependencies: [build]", "dependencies: [deploy]"))
    assert config.problems() == [
        "pipeline.yml:9:20: error: stage 'test' depends on unknown stage 'deploy' (known stages: build, test) "
        "(stages[1].dependencies[0])"
    ]


def test_self_dependency(config):
    config.write("pipeline.yml", VALID.replace("dependencies: [build]", "dependencies: [build, test]"))
    assert config.problems() == [
        "pipeline.yml:9:27: error: stage 'test' depends on itself (remove it from its own dependencies) "
        "(stages[1].dependencies[1])"
    ]


def test_cycle_is_printed(config):
    text = VALID.replace("  - name: build\n", "  - name: build\n    dependencies: [test]\n")
    config.write("pipeline.yml", text)
    assert config.problems() == [
        "pipeline.yml:10:20: error: dependency cycle: build -> test -> build "
        "(remove one of these dependencies) (stages[1].dependencies[0])"
    ]


def test_longer_cycle_reported_once(config):
    config.write(
        "pipeline.yml",
        """\
        name: demo
        stages:
          - {name: a, dependencies: [c], jobs: [{name: ja, command: x}]}
          - {name: b, dependencies: [a], jobs: [{name: jb, command: x}]}
          - {name: c, dependencies: [b], jobs: [{name: jc, command: x}]}
          - {name: d, dependencies: [a], jobs: [{name: jd, command: x}]}
        """,
    )
    assert config.problems() == [
        "pipeline.yml:4:30: error: dependency cycle: a -> c -> b -> a (remove one of these dependencies) "
        "(stages[1].dependencies[0])"
    ]


def test_environment_without_file(config):
    config.write("pipeline.yml", VALID.replace("environment: staging", "environment: stagin"))
    assert config.problems() == [
        "pipeline.yml:2:14: error: environment 'stagin' has no file environments/stagin.yml "
        "(did you mean 'staging'?) (environment)"
    ]


def test_environment_name_disagrees_with_file_name(config):
    config.write("pipeline.yml", VALID)
    config.write("environments/production.yml", "name: prod\ntype: production\n")
    assert config.problems() == [
        "environments/production.yml:1:7: error: environment name 'prod' does not match its file name "
        "'production.yml' (set name: production, or rename the file to prod.yml) (name)"
    ]


def test_missing_secrets_with_require_secrets(config, monkeypatch):
    monkeypatch.setenv("CICD_TEST_PRESENT", "s3cr3t-value")
    monkeypatch.delenv("CICD_TEST_ABSENT", raising=False)
    monkeypatch.delenv("CICD_TEST_DEPLOY_KEY", raising=False)
    config.write("pipeline.yml", VALID + "secrets: [CICD_TEST_PRESENT, CICD_TEST_ABSENT]\n")
    config.write(
        "environments/staging.yml", "name: staging\ntype: staging\nsecrets:\n  - CICD_TEST_DEPLOY_KEY\n"
    )
    assert config.problems() == []
    problems = config.problems(require_secrets=True)
    assert problems == [
        "environments/staging.yml:4:5: error: secret 'CICD_TEST_DEPLOY_KEY' is not set "
        "(export CICD_TEST_DEPLOY_KEY in the environment, or add it as a GitHub secret) (secrets[0])",
        "pipeline.yml:13:30: error: secret 'CICD_TEST_ABSENT' is not set "
        "(export CICD_TEST_ABSENT in the environment, or add it as a GitHub secret) (secrets[1])",
    ]
    assert not any("s3cr3t-value" in problem for problem in problems)


def test_every_problem_of_every_file_in_one_run(config):
    config.write(
        "pipeline.yml",
        """\
        name: demo
        trigger: sometimes
        stages:
          - name: build
            dependencies: [build]
            jobs:
              - {name: a, command: x, timout: 3}
          - name: build
            jobs: [{name: a, command: y, retry: 99}]
        """,
    )
    config.write("environments/staging.yml", "name: staging\ntype: stagging\n")
    assert config.problems() == [
        "environments/staging.yml:2:7: error: 'type' must be one of development, staging, production; "
        "got 'stagging' (did you mean 'staging'?) (type)",
        "pipeline.yml:2:10: error: 'trigger' must be one of manual, push, pull_request, schedule; got 'sometimes' "
        "(trigger)",
        "pipeline.yml:5:20: error: stage 'build' depends on itself (remove it from its own dependencies) "
        "(stages[0].dependencies[0])",
        "pipeline.yml:7:31: error: unknown key 'timout' (did you mean 'timeout'?) (stages[0].jobs[0])",
        "pipeline.yml:8:11: error: duplicate stage name 'build' (first defined at line 4) "
        "(stage names must be unique) (stages[1].name)",
        "pipeline.yml:9:19: error: duplicate job name 'a' (first defined at line 7) "
        "(job names must be unique across the pipeline: logs are kept by job name) (stages[1].jobs[0].name)",
        "pipeline.yml:9:41: error: 'retry' must be between 0 and 10, got 99 (stages[1].jobs[0].retry)",
    ]


def test_duplicate_yaml_key_alongside_model_problems(config):
    config.write("pipeline.yml", VALID + "name: again\ntrigger: never\n")
    assert config.problems() == [
        "pipeline.yml:13:1: error: duplicate key 'name' (first defined at line 1) (remove one of them)",
        "pipeline.yml:14:10: error: 'trigger' must be one of manual, push, pull_request, schedule; got 'never' "
        "(trigger)",
    ]


def test_yaml_types_are_not_coerced(config):
    config.write("pipeline.yml", VALID.replace("command: make\n", 'command: make\n        retry: "3"\n        timeout: true\n'))
    assert config.problems() == [
        "pipeline.yml:8:16: error: 'retry' must be an integer, got '3' (stages[0].jobs[0].retry)",
        "pipeline.yml:9:18: error: 'timeout' must be an integer, got true (stages[0].jobs[0].timeout)",
    ]


def test_invalid_variable_name_is_located_at_the_key(config):
    config.write("pipeline.yml", VALID + "variables:\n  my-var: 1\n")
    assert config.problems() == [
        "pipeline.yml:14:3: error: the key is not valid: got 'my-var'; use letters, digits and '_', "
        "not starting with a digit (variables.my-var)"
    ]


def test_problems_per_file_are_capped(config):
    jobs = "".join(f"      - {{name: j{i}, command: x, timout: 1}}\n" for i in range(300))
    config.write("pipeline.yml", f"name: demo\nstages:\n  - name: s\n    jobs:\n{jobs}")
    problems = config.problems()
    assert len(problems) == 101
    assert problems[0] == "pipeline.yml:5:32: error: unknown key 'timout' (did you mean 'timeout'?) (stages[0].jobs[0])"
    assert problems[-1] == "pipeline.yml: error: 200 more problems not shown; fix the ones above first"
