"""The verification seam with local keys: CI's own digest passes; anything else is refused with why."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cicd.supply import attestations, dsse, statement
from cicd.supply.dsse import TrustedKey
from cicd.supply.statement import Builder
from cicd.supply.verify import Check, github_checks, verify_local, verify_with

from .conftest import CI, attest, digest_of


def trust(private_key, identity: str = CI.identity) -> list[TrustedKey]:
    return [TrustedKey(identity, private_key.public_key())]


def test_ci_own_digest_is_accepted_with_what_it_passed(tmp_path: Path, ci_key) -> None:
    digest = digest_of("image built by CI")
    attest(tmp_path, digest, ci_key)
    verdict = verify_local(digest, CI, tmp_path, trust(ci_key))
    assert verdict.accepted, verdict.reasons
    assert verdict.passed == (
        f"provenance signed by {CI.identity}",
        "built by .github/workflows/cd-staging.yml of acme/sample on refs/heads/main",
        f"sbom signed by {CI.identity}",
        "SBOM (CycloneDX, 1 components)",
    )


def test_unsigned_digest_is_refused(tmp_path: Path, ci_key) -> None:
    attest(tmp_path, digest_of("another build"), ci_key)
    digest = digest_of("built on a laptop")
    verdict = verify_local(digest, CI, tmp_path, trust(ci_key))
    assert not verdict.accepted
    assert verdict.reasons[0] == (
        f"no provenance attestation for {digest}: CI did not build or attest this digest"
    )


def test_signature_by_another_key_is_refused(tmp_path: Path, ci_key, foreign_key) -> None:
    digest = digest_of("image")
    attest(tmp_path, digest, foreign_key)  # same statement, someone else's key
    verdict = verify_local(digest, CI, tmp_path, trust(ci_key))
    assert not verdict.accepted
    assert verdict.reasons[0].startswith(
        "provenance attestation rejected: signed only by keys this policy does not trust"
    )


def test_trusted_key_of_another_identity_is_refused(tmp_path: Path, ci_key, foreign_key) -> None:
    digest = digest_of("image")
    fork = "https://github.com/mallory/sample/.github/workflows/cd-staging.yml@refs/heads/main"
    attest(tmp_path, digest, foreign_key)
    verdict = verify_local(digest, CI, tmp_path, trust(ci_key) + trust(foreign_key, fork))
    assert not verdict.accepted
    assert verdict.reasons[0] == f"provenance attestation signed by {fork}, expected {CI.identity}"


def test_provenance_of_another_branch_is_refused_even_with_the_trusted_key(tmp_path: Path, ci_key) -> None:
    digest = digest_of("feature build")
    attest(tmp_path, digest, ci_key, Builder("acme/sample", CI.workflow, "refs/heads/feature"))
    verdict = verify_local(digest, CI, tmp_path, trust(ci_key))
    assert not verdict.accepted
    assert verdict.reasons == (
        "the provenance names https://github.com/acme/sample/.github/workflows/cd-staging.yml@refs/heads/feature,"
        f" expected {CI.identity}",
    )


def test_digest_swapped_after_signing_is_refused(tmp_path: Path, ci_key) -> None:
    signed, swapped = digest_of("what CI built"), digest_of("what an attacker pushed")
    attest(tmp_path, signed, ci_key)
    for kind in attestations.KINDS:  # the attacker files CI's envelopes under their own digest
        attestations.put(tmp_path, swapped, kind, attestations.get(tmp_path, signed, kind) or {})
    verdict = verify_local(swapped, CI, tmp_path, trust(ci_key))
    assert not verdict.accepted
    assert f"is about {signed}, not {swapped}: the digest was swapped" in verdict.reasons[0]


def test_statement_edited_after_signing_is_refused(tmp_path: Path, ci_key) -> None:
    signed, swapped = digest_of("what CI built"), digest_of("what an attacker pushed")
    attest(tmp_path, signed, ci_key)
    envelope = attestations.get(tmp_path, signed, "provenance") or {}
    body = json.loads(base64.b64decode(envelope["payload"]))
    body["subject"][0]["digest"]["sha256"] = swapped.removeprefix("sha256:")
    envelope["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    attestations.put(tmp_path, swapped, "provenance", envelope)
    verdict = verify_local(swapped, CI, tmp_path, trust(ci_key), require_sbom=False)
    assert verdict.reasons == (
        "provenance attestation rejected: the signature does not match the statement:"
        " it was altered after signing",
    )


def test_missing_sbom_is_refused_unless_the_policy_waives_it(tmp_path: Path, ci_key) -> None:
    digest = digest_of("image")
    attest(tmp_path, digest, ci_key, sbom=False)
    verdict = verify_local(digest, CI, tmp_path, trust(ci_key))
    assert not verdict.accepted and verdict.reasons[0].startswith("no sbom attestation for")
    assert verify_local(digest, CI, tmp_path, trust(ci_key), require_sbom=False).accepted


def test_sbom_that_is_not_cyclonedx_is_refused(tmp_path: Path, ci_key) -> None:
    digest = digest_of("image")
    attest(tmp_path, digest, ci_key, sbom=False)
    bogus = statement._statement("img", digest, statement.SBOM_TYPE, {"spdxVersion": "SPDX-2.3"})
    attestations.put(tmp_path, digest, "sbom", dsse.sign(bogus, ci_key))
    verdict = verify_local(digest, CI, tmp_path, trust(ci_key))
    assert verdict.reasons == ("the SBOM is not a CycloneDX JSON document (bomFormat must be 'CycloneDX')",)


def test_github_checks_name_the_expected_identity() -> None:
    digest = digest_of("image")
    checks = github_checks("ghcr.io/acme/sample/sample-service@sha256:old", digest, CI)
    gh = [
        "gh", "attestation", "verify", f"oci://ghcr.io/acme/sample/sample-service@{digest}",
        "--repo", "acme/sample",
        "--signer-workflow", "acme/sample/.github/workflows/cd-staging.yml",
        "--source-ref", "refs/heads/main",
        "--cert-oidc-issuer", "https://token.actions.githubusercontent.com",
    ]  # fmt: skip
    assert [c.name for c in checks] == ["provenance", "sbom"]
    assert list(checks[0].argv) == [*gh, "--predicate-type", "https://slsa.dev/provenance/v1"]
    assert list(checks[1].argv) == [*gh, "--predicate-type", "https://cyclonedx.org/bom"]
    assert [c.name for c in github_checks("img", digest, CI, require_sbom=False)] == ["provenance"]


def test_github_verdict_refuses_when_any_command_refuses() -> None:
    checks = [Check("provenance", ("gh", "attestation", "p")), Check("sbom", ("gh", "attestation", "s"))]
    answers = {"p": (0, "ok"), "s": (1, "Error: no attestations found\nfor subject sha256:...")}
    verdict = verify_with(checks, digest_of("image"), CI.identity, lambda argv: answers[argv[-1]])
    assert not verdict.accepted
    assert verdict.passed == (f"provenance verified for {CI.identity}",)
    assert verdict.reasons == ("sbom: `gh attestation s` refused: for subject sha256:...",)
