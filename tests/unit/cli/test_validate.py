"""`cicd validate` and `cicd schema` through the real entry point, in process."""

# Expected messages are compared whole, so some lines are long.
# ruff: noqa: E501

from __future__ import annotations

import os
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cicd.cli import main

REPO = Path(__file__).resolve().parents[3]

PIPELINE = """\
name: demo
environment: staging
stages:
  - name: build
    jobs:
      - name: compile
        command: make
"""
STAGING = "name: staging\ntype: staging\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with a valid config/, as the working directory."""
    (tmp_path / "config" / "environments").mkdir(parents=True)
    (tmp_path / "config" / "pipeline.yml").write_text(PIPELINE)
    (tmp_path / "config" / "environments" / "staging.yml").write_text(STAGING)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("CICD_CACHE_DIR", str(tmp_path / "validator-cache"))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as stop:  # argparse's own usage errors
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_valid_config(project, capsys):
    assert run(capsys, "validate") == (0, "ok: 2 files valid\n", "")


def test_invalid_config_prints_every_problem_and_exits_1(project, capsys):
    (project / "config" / "pipeline.yml").write_text(PIPELINE.replace("command: make", "command: make\n        timout: 5\n        retry: -1"))
    (project / "config" / "environments" / "staging.yml").write_text("name: stage\ntype: staging\n")
    code, out, err = run(capsys, "validate")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "config/environments/staging.yml:1:7: error: environment name 'stage' does not match its file name 'staging.yml' (set name: staging, or rename the file to stage.yml) (name)",
        "config/pipeline.yml:8:9: error: unknown key 'timout' (did you mean 'timeout'?) (stages[0].jobs[0])",
        "config/pipeline.yml:9:16: error: 'retry' must be between 0 and 10, got -1 (stages[0].jobs[0].retry)",
    ]


def test_github_actions_annotations(project, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    (project / "config" / "pipeline.yml").write_text(PIPELINE.replace("command: make", "command: make\n        timout: 5"))
    code, out, err = run(capsys, "validate")
    assert code == 1
    assert out.splitlines() == [
        "::error file=config/pipeline.yml,line=8,col=9::unknown key 'timout' (did you mean 'timeout'?)"
    ]
    assert err.startswith("config/pipeline.yml:8:9: error: unknown key 'timout'")


def test_no_annotations_outside_actions(project, capsys):
    (project / "config" / "pipeline.yml").write_text("name: [\n")
    code, out, err = run(capsys, "validate")
    assert (code, out) == (1, "")
    assert err.startswith("config/pipeline.yml:2:1: error: malformed YAML")


def test_config_dir_option(project, capsys, monkeypatch):
    monkeypatch.chdir(project.parent)
    code, out, _ = run(capsys, "validate", "--config-dir", str(project / "config"))
    assert (code, out) == (0, "ok: 2 files valid\n")


def test_missing_config_dir_is_a_usage_error(project, capsys):
    code, out, err = run(capsys, "validate", "--config-dir", "nowhere")
    assert (code, out, err) == (2, "", "error: config directory not found: nowhere (hint: pass --config-dir DIR)\n")


def test_config_dir_without_pipeline_is_a_usage_error(project, capsys):
    (project / "config" / "pipeline.yml").unlink()
    code, _, err = run(capsys, "validate")
    assert (code, err) == (2, "error: no pipeline.yml in config (hint: pass --config-dir DIR or name the files)\n")


def test_missing_file_argument_is_a_usage_error(project, capsys):
    code, _, err = run(capsys, "validate", "config/nope.yml")
    assert (code, err) == (2, "error: no such file: config/nope.yml\n")


def test_unknown_option_is_a_usage_error(project, capsys):
    code, _, err = run(capsys, "validate", "--frobnicate")
    assert code == 2 and "unrecognized arguments: --frobnicate" in err


def test_file_arguments_are_recognised_by_location_and_contents(project, capsys):
    other = project / "elsewhere"
    other.mkdir()
    (other / "prod.yml").write_text("name: prod\ntype: production\n")  # an environment by its contents
    (other / "ci.yml").write_text("name: ci\nsteps: [{name: a, command: x}]\n")  # a pipeline
    code, out, _ = run(capsys, "validate", "config/environments/staging.yml", "elsewhere/prod.yml", "elsewhere/ci.yml")
    assert (code, out) == (0, "ok: 3 files valid\n")


def test_single_environment_file_with_problem(project, capsys):
    (project / "config" / "environments" / "staging.yml").write_text("name: staging\ntype: qa\n")
    code, _, err = run(capsys, "validate", "config/environments/staging.yml")
    assert code == 1
    assert err == "config/environments/staging.yml:2:7: error: 'type' must be one of development, staging, production; got 'qa' (type)\n"


def test_require_secrets_names_the_secret_never_its_value(project, capsys, monkeypatch):
    monkeypatch.setenv("CICD_TEST_SET_SECRET", "hunter2-value")
    monkeypatch.delenv("CICD_TEST_UNSET_SECRET", raising=False)
    (project / "config" / "pipeline.yml").write_text(PIPELINE + "secrets: [CICD_TEST_SET_SECRET, CICD_TEST_UNSET_SECRET]\n")
    assert run(capsys, "validate")[0] == 0
    code, out, err = run(capsys, "validate", "--require-secrets")
    assert code == 1
    assert err == (
        "config/pipeline.yml:8:33: error: secret 'CICD_TEST_UNSET_SECRET' is not set (export CICD_TEST_UNSET_SECRET "
        "in the environment, or add it as a GitHub secret) (secrets[1])\n"
    )
    assert "hunter2-value" not in out + err
    monkeypatch.setenv("CICD_TEST_UNSET_SECRET", "another-value")
    assert run(capsys, "validate", "--require-secrets")[:2] == (0, "ok: 2 files valid\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "config/pipeline.yml:1:1: error: file is empty; expected a mapping of keys"),
        (b"\x00\x01garbage", "config/pipeline.yml:1: error: binary file (contains NUL bytes); expected YAML"),
        (b"name: caf\xe9\n", "config/pipeline.yml:1:10: error: not UTF-8 text: invalid byte 0xe9 (save the file as UTF-8)"),
        (b"[1, 2]\n", "config/pipeline.yml:1:1: error: the top level must be a mapping of keys, got a list"),
    ],
)
def test_hostile_files_give_one_line(project, capsys, content, message):
    (project / "config" / "pipeline.yml").write_bytes(content)
    assert run(capsys, "validate") == (1, "", message + "\n")


def test_schema_verb_writes_and_checks(project, capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert out.splitlines() == ["wrote config/schema/pipeline.schema.json", "wrote config/schema/environment.schema.json",
                                "wrote config/schema/automerge.schema.json"]
    assert run(capsys, "schema", "--check")[:2] == (0, "ok: schemas in config/schema are current\n")
    (project / "config" / "schema" / "environment.schema.json").write_text("{}\n")
    code, _, err = run(capsys, "schema", "--check")
    assert (code, err) == (1, "error: config/schema/environment.schema.json: JSON Schema out of date (hint: run: cicd schema)\n")


def test_committed_schema_matches_through_the_cli(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert run(capsys, "schema", "--check")[0] == 0


def test_python_m_cicd_validate_on_the_repository_config(tmp_path):
    env = {**os.environ, "CICD_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "cicd", "validate"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("ok: ") and result.stdout.endswith(" files valid\n")


# --- property tests: no input ever produces a traceback ---------------------------------------------

KEYS = [
    "name", "trigger", "environment", "timeout_seconds", "variables", "secrets", "stages", "steps", "rollback",
    "jobs", "command", "timeout", "retry", "continue_on_fail", "dependencies", "when", "branches", "strategy",
    "enabled", "type", "url", "approval", "deploy", "runtime", "kind", "colors", "blue", "green", "port",
    "hosts", "router", "listen", "health", "smoke", "canary_steps", "weight", "artifacts", "<<",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.sampled_from(["process", "docker", "blue_green", "push", "staging", "build", "x", "", "{port}"]),
    st.text(max_size=12),
)
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=25,
)
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def assert_clean_run(capsys, *argv: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code in (0, 1), (code, err)
    assert "Traceback" not in out + err and "internal error" not in out + err, err


@PROPERTY_SETTINGS
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_arbitrary_text_never_crashes(project, capsys, text):
    (project / "config" / "pipeline.yml").write_text(text, encoding="utf-8")
    assert_clean_run(capsys, "validate")


@PROPERTY_SETTINGS
@given(text=st.text(alphabet=string.printable + "-:[]{}&*!|>'\"%@`#,?", max_size=200))
def test_yaml_punctuation_soup_never_crashes(project, capsys, text):
    (project / "config" / "pipeline.yml").write_text(text, encoding="utf-8")
    assert_clean_run(capsys, "validate")


@PROPERTY_SETTINGS
@given(pipeline=structures, environment=structures)
def test_arbitrary_yaml_structures_never_crash(project, capsys, pipeline, environment):
    config = project / "config"
    (config / "pipeline.yml").write_text(yaml.safe_dump(pipeline, allow_unicode=True))
    (config / "environments" / "staging.yml").write_text(yaml.safe_dump(environment, allow_unicode=True))
    assert_clean_run(capsys, "validate")


@PROPERTY_SETTINGS
@given(binary=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(project, capsys, binary):
    (project / "config" / "pipeline.yml").write_bytes(binary)
    assert_clean_run(capsys, "validate")


@PROPERTY_SETTINGS
@given(jobs=st.lists(structures, max_size=4), stage=st.dictionaries(st.sampled_from(KEYS), structures, max_size=4))
def test_pipeline_shaped_structures_never_crash(project, capsys, jobs, stage):
    document = {"name": "demo", "stages": [{"name": "a", "jobs": jobs, **stage}, stage]}
    (project / "config" / "pipeline.yml").write_text(yaml.safe_dump(document))
    assert_clean_run(capsys, "validate")


def test_repository_config_copy_validates(tmp_path, capsys, monkeypatch):
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CICD_CACHE_DIR", str(tmp_path / "validator-cache"))
    assert run(capsys, "validate")[0] == 0


def test_fifo_is_refused_without_blocking(project, capsys):
    fifo = project / "config" / "pipe.yml"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "validate", "config/pipe.yml")
    assert (code, err) == (1, "config/pipe.yml: error: not a regular file\n")


def test_directory_is_refused(project, capsys):
    code, _, err = run(capsys, "validate", "config/environments")
    assert (code, err) == (1, "config/environments: error: not a regular file\n")


def test_annotations_use_repository_relative_paths_from_a_subdirectory(project, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project))
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    (project / "config" / "pipeline.yml").write_text(PIPELINE + "colour: red\n")
    code, out, _ = run(capsys, "validate", "--config-dir", "../config")
    assert code == 1
    assert out.startswith("::error file=config/pipeline.yml,line=8,col=1::unknown key 'colour'")
