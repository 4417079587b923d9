"""Helpers for the config tests: a throwaway config directory and the problems of a check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cicd.config.validation import validate_config
from cicd.errors import ConfigValidationError

STAGING = """\
name: staging
type: staging
"""


class ConfigDir:
    """A config directory under tmp_path; files are written dedented, so tests read like the YAML."""

    def __init__(self, root: Path):
        self.root = root
        (root / "environments").mkdir(parents=True)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def problems(self, *files: Path, require_secrets: bool = False) -> list[str]:
        """Every rendered problem of a validation run, file paths relative to the config dir."""
        try:
            validate_config(self.root, files, require_secrets=require_secrets)
        except ConfigValidationError as err:
            return [problem.render().replace(f"{self.root}/", "") for problem in err.problems]
        return []


@pytest.fixture
def config(tmp_path: Path) -> ConfigDir:
    config = ConfigDir(tmp_path / "config")
    config.write("environments/staging.yml", STAGING)
    return config


@pytest.fixture(autouse=True)
def private_validator_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the validator cache of these tests out of the user's cache directory."""
    monkeypatch.setenv("CICD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "validator-cache"))
