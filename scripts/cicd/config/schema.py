"""JSON Schema of the config files, exported for editors (yaml-language-server reads the
`# yaml-language-server: $schema=...` line at the top of each file)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from cicd.config.models import Environment, Pipeline
from cicd.errors import CicdError, Location
from cicd.trust.policy import AutoMergePolicy

SCHEMAS: dict[str, type[BaseModel]] = {
    "pipeline.schema.json": Pipeline,
    "environment.schema.json": Environment,
    "automerge.schema.json": AutoMergePolicy,
}
_TITLES = {
    "pipeline.schema.json": "cicd pipeline (config/pipeline.yml)",
    "environment.schema.json": "cicd environment (config/environments/<name>.yml)",
    "automerge.schema.json": "cicd trust-gated auto-merge policy (config/automerge.yml)",
}


def render(name: str) -> str:
    schema = SCHEMAS[name].model_json_schema()
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": name,
        "title": _TITLES[name],
        **{k: v for k, v in schema.items() if k != "title"},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_schemas(output_dir: Path) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = output_dir / name
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


def check_schemas(output_dir: Path) -> None:
    """Raise when a committed schema differs from a fresh export (the models changed)."""
    for name in SCHEMAS:
        path = output_dir / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != render(name):
            what = "missing" if current is None else "out of date"
            raise CicdError(f"JSON Schema {what}", hint="run: cicd schema", location=Location(str(path)))
