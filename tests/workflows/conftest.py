from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / ".github"
WORKFLOWS = GITHUB / "workflows"


def load(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def workflows() -> dict[str, dict]:
    return {p.name: load(p) for p in sorted(WORKFLOWS.glob("*.yml"))}


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as True; ruamel's safe loader keeps "on".
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, list):
        return {name: None for name in on}
    return on or {}
