"""in-toto statements about one artifact digest: SLSA v1 build provenance, and a CycloneDX SBOM.

The provenance mirrors what `actions/attest-build-provenance` records for a GitHub Actions build:
the workflow (repository, path, ref) as external parameters, the commit as a resolved dependency and
the run as the invocation, so the local and the GitHub verification ask the same questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cicd.errors import SupplyChainError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PROVENANCE_TYPE = "https://slsa.dev/provenance/v1"
SBOM_TYPE = "https://cyclonedx.org/bom"
BUILD_TYPE = "https://actions.github.io/buildtypes/workflow/v1"
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Builder:
    """Who built it: the workflow file of a repository, run on a ref (e.g. refs/heads/main)."""

    repository: str  # owner/name
    workflow: str  # .github/workflows/cd-staging.yml
    ref: str  # refs/heads/main

    @property
    def identity(self) -> str:
        """The certificate identity Sigstore gives a workflow run, used as-is for local keys."""
        return f"https://github.com/{self.repository}/{self.workflow}@{self.ref}"


def normalize_digest(text: str) -> str:
    value = text.strip().lower()
    value = value if value.startswith("sha256:") else f"sha256:{value}"
    if not DIGEST_RE.match(value):
        raise SupplyChainError(f"not a sha256 digest: {text!r} (expected sha256:<64 hex digits>)")
    return value


def provenance(name: str, digest: str, builder: Builder, commit: str, run_id: str) -> dict:
    predicate = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "workflow": {
                    "ref": builder.ref,
                    "repository": f"https://github.com/{builder.repository}",
                    "path": builder.workflow,
                }
            },
            "resolvedDependencies": [
                {
                    "uri": f"git+https://github.com/{builder.repository}@{builder.ref}",
                    "digest": {"gitCommit": commit},
                }
            ],
        },
        "runDetails": {
            "builder": {"id": builder.identity},
            "metadata": {"invocationId": run_id},
        },
    }
    return _statement(name, digest, PROVENANCE_TYPE, predicate)


def sbom(name: str, digest: str, bom: dict) -> dict:
    check_cyclonedx(bom)
    return _statement(name, digest, SBOM_TYPE, bom)


def _statement(name: str, digest: str, predicate_type: str, predicate: dict) -> dict:
    hex_digest = normalize_digest(digest).removeprefix("sha256:")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": hex_digest}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def subject_digests(statement: dict) -> list[str]:
    subjects = statement.get("subject")
    found = []
    for subject in subjects if isinstance(subjects, list) else []:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digest, dict) and isinstance(digest.get("sha256"), str):
            found.append(f"sha256:{digest['sha256']}")
    return found


def built_by(statement: dict) -> Builder | None:
    """The workflow a provenance statement names, or None when it names none."""
    try:
        workflow = statement["predicate"]["buildDefinition"]["externalParameters"]["workflow"]
        repository = str(workflow["repository"]).removeprefix("https://github.com/")
        return Builder(repository, str(workflow["path"]), str(workflow["ref"]))
    except (KeyError, TypeError):
        return None


def check_cyclonedx(bom: object) -> None:
    """The few facts every CycloneDX JSON document has (bomFormat, specVersion, components)."""
    if not isinstance(bom, dict) or bom.get("bomFormat") != "CycloneDX":
        raise SupplyChainError("the SBOM is not a CycloneDX JSON document (bomFormat must be 'CycloneDX')")
    if not re.match(r"^1\.\d+$", str(bom.get("specVersion", ""))):
        version = bom.get("specVersion")
        raise SupplyChainError(f"the SBOM's specVersion {version!r} is not a CycloneDX 1.x version")
    if not isinstance(bom.get("components", []), list):
        raise SupplyChainError("the SBOM's components must be a list")
