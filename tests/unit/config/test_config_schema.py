"""The committed JSON Schema matches the models, and every config file points editors at it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cicd.config.schema import SCHEMAS, check_schemas, render, write_schemas
from cicd.errors import CicdError

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_is_current(name):
    committed = (REPO / "config" / "schema" / name).read_text(encoding="utf-8")
    assert committed == render(name), "the models changed: run `cicd schema` and commit config/schema/"


def test_schema_describes_the_models():
    pipeline = json.loads(render("pipeline.schema.json"))
    assert pipeline["additionalProperties"] is False
    assert pipeline["required"] == ["name"]
    job = pipeline["$defs"]["Job"]["properties"]
    assert job["timeout"]["default"] == 600 and job["timeout"]["minimum"] == 1
    rollback = pipeline["$defs"]["Rollback"]["properties"]["strategy"]
    assert rollback["enum"] == ["previous_version", "blue_green", "canary_abort"]
    environment = json.loads(render("environment.schema.json"))
    assert "deploy" in environment["properties"]


def test_check_detects_stale_and_missing_files(tmp_path):
    with pytest.raises(CicdError, match="JSON Schema missing"):
        check_schemas(tmp_path)
    write_schemas(tmp_path)
    check_schemas(tmp_path)
    (tmp_path / "pipeline.schema.json").write_text("{}\n")
    with pytest.raises(CicdError, match="JSON Schema out of date"):
        check_schemas(tmp_path)


@pytest.mark.parametrize(
    ("path", "schema"),
    [("config/pipeline.yml", "schema/pipeline.schema.json"),
     ("config/automerge.yml", "schema/automerge.schema.json")]
    + [
        (str(p.relative_to(REPO)), "../schema/environment.schema.json")
        for p in (REPO / "config/environments").glob("*.yml")
    ],
)
def test_config_files_name_their_schema(path, schema):
    first_line = (REPO / path).read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema={schema}"
    assert ((REPO / path).parent / schema).resolve().is_file()
