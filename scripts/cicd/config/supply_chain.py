"""The `supply_chain:` block of an environment: which builds it accepts (docs/SECURITY.md).

`cicd supply verify --env NAME` refuses any digest that this workflow of this repository did not
build on this ref, with a valid provenance attestation and (by default) an SBOM. `verifier: github`
asks GitHub's attestation store and Sigstore (`gh attestation verify`, `cosign verify`); `verifier:
local` checks DSSE envelopes in `attestations` against the ed25519 `trusted_keys`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Repository = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", max_length=140)]
WorkflowPath = Annotated[str, StringConstraints(pattern=r"^\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml$")]
GitRef = Annotated[str, StringConstraints(pattern=r"^refs/(heads|tags)/[A-Za-z0-9_./-]+$", max_length=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class TrustedKeyFile(_Strict):
    # The builder identity this key stands for, spelled as Sigstore spells a workflow's identity:
    # https://github.com/OWNER/REPO/.github/workflows/FILE@refs/heads/main
    identity: str = Field(min_length=1)
    public_key: str = Field(min_length=1)  # PEM file, relative to the project root


class SupplyChain(_Strict):
    verifier: Literal["github", "local"] = "github"
    # owner/name; default: the repository the workflow runs in ($GITHUB_REPOSITORY)
    repository: Repository | None = None
    workflow: WorkflowPath = ".github/workflows/cd-staging.yml"
    ref: GitRef = "refs/heads/main"
    require_sbom: bool = True
    attestations: str = ".cicd/attestations"  # verifier local: the attestation store
    trusted_keys: list[TrustedKeyFile] = Field(default_factory=list)
