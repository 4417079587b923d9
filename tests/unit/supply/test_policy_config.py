"""The `supply_chain:` block is validated like the rest of an environment file: located, with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cicd.config import load_environment
from cicd.errors import ConfigValidationError


def write(tmp_path: Path, block: str) -> Path:
    env_dir = tmp_path / "config" / "environments"
    env_dir.mkdir(parents=True)
    (env_dir / "production.yml").write_text("name: production\ntype: production\n" + block)
    return tmp_path / "config"


def test_a_valid_policy_reaches_the_environment(tmp_path: Path) -> None:
    config = write(tmp_path, "supply_chain:\n  verifier: local\n  repository: acme/app\n"
                             "  trusted_keys: [{identity: x, public_key: keys/ci.pub}]\n")
    policy = load_environment(config, "production").supply_chain
    assert policy is not None and policy.verifier == "local" and policy.workflow.endswith("cd-staging.yml")
    assert policy.ref == "refs/heads/main" and policy.require_sbom


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("supply_chain:\n  verifer: local\n", ":4:3: error: unknown key 'verifer'"),
        ("supply_chain:\n  verifier: sigstore\n", "supply_chain.verifier"),
        ("supply_chain:\n  workflow: ci.yml\n", "supply_chain.workflow"),
        ("supply_chain:\n  ref: main\n", "supply_chain.ref"),
        ("supply_chain:\n  repository: not-a-repo\n", "supply_chain.repository"),
    ],
)
def test_mistakes_are_located(tmp_path: Path, block: str, expected: str) -> None:
    config = write(tmp_path, block)
    with pytest.raises(ConfigValidationError) as info:
        load_environment(config, "production")
    assert expected in str(info.value)
