"""The production gate: an environment's `supply_chain` policy applied to one digest.

`cicd supply verify` calls `check`; deploy.yml runs it before every deploy to an environment that
has a policy, so a refusal stops the job before anything on the target changes.
"""

from __future__ import annotations

import os
from pathlib import Path

from cicd.config.supply_chain import SupplyChain
from cicd.errors import SupplyChainError
from cicd.supply.dsse import TrustedKey
from cicd.supply.statement import Builder
from cicd.supply.verify import Runner, Verdict, github_checks, run_command, verify_local, verify_with


def expected_builder(policy: SupplyChain) -> Builder:
    repository = policy.repository or os.environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise SupplyChainError(
            "supply_chain.repository is not set and $GITHUB_REPOSITORY is empty",
            hint="name the repository whose CI may build for this environment, e.g. repository: acme/app",
        )
    return Builder(repository, policy.workflow, policy.ref)


def check(
    policy: SupplyChain,
    digest: str,
    *,
    artifact: str = "",
    base_dir: Path = Path("."),
    runner: Runner = run_command,
) -> Verdict:
    expected = expected_builder(policy)
    if policy.verifier == "local":
        trusted = [_trusted_key(entry.identity, base_dir / entry.public_key) for entry in policy.trusted_keys]
        if not trusted:
            raise SupplyChainError("supply_chain.trusted_keys is empty: verifier local needs a key")
        store = base_dir / policy.attestations
        return verify_local(digest, expected, store, trusted, require_sbom=policy.require_sbom)
    if "@" not in artifact and ":" not in artifact:
        raise SupplyChainError(
            f"verifier github needs the image reference, got artifact {artifact!r}",
            hint="pass --artifact registry/name@sha256:...",
        )
    checks = github_checks(artifact, digest, expected, require_sbom=policy.require_sbom)
    return verify_with(checks, digest, expected.identity, runner)


def _trusted_key(identity: str, path: Path) -> TrustedKey:
    from cicd.supply.keys import load_public

    return TrustedKey(identity, load_public(path))
