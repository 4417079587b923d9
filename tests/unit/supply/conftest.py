"""Keys, signed attestations and a project whose production accepts only what CI on main built."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from cicd.supply import attestations, dsse, keys, statement
from cicd.supply.statement import Builder

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"
CI = Builder("acme/sample", ".github/workflows/cd-staging.yml", "refs/heads/main")
BOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "components": [
        {"type": "library", "name": "requests", "version": "2.34.2", "purl": "pkg:pypi/requests@2.34.2"}
    ],
}


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def attest(store: Path, digest: str, private_key, builder: Builder = CI, *, sbom: bool = True) -> None:
    """What CI's build job does: provenance and SBOM statements about `digest`, signed."""
    made = statement.provenance("ghcr.io/acme/sample", digest, builder, "a" * 40, "4242")
    attestations.put(store, digest, "provenance", dsse.sign(made, private_key))
    if sbom:
        bom = statement.sbom("ghcr.io/acme/sample", digest, BOM)
        attestations.put(store, digest, "sbom", dsse.sign(bom, private_key))


@pytest.fixture
def ci_key(tmp_path: Path):
    path = tmp_path / "keys" / "ci.key"
    keys.generate(path)
    return keys.load_private(path)


@pytest.fixture
def foreign_key(tmp_path: Path):
    path = tmp_path / "keys" / "foreign.key"
    keys.generate(path)
    return keys.load_private(path)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci_key) -> Path:
    """The repository's environments; production trusts keys/ci.key.pub as CI on main of acme/sample."""
    shutil.copytree(REPO_CONFIG / "environments", tmp_path / "config" / "environments")
    production = tmp_path / "config" / "environments" / "production.yml"
    text = production.read_text().split("supply_chain:")[0]
    production.write_text(
        text
        + "supply_chain:\n"
        + "  verifier: local\n"
        + "  repository: acme/sample\n"
        + "  workflow: .github/workflows/cd-staging.yml\n"
        + "  ref: refs/heads/main\n"
        + "  attestations: .cicd/attestations\n"
        + "  trusted_keys:\n"
        + f"    - {{identity: '{CI.identity}', public_key: keys/ci.key.pub}}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    return tmp_path


@pytest.fixture
def store(project: Path) -> Path:
    return project / ".cicd" / "attestations"
