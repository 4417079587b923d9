"""The one verification seam: does this exact digest come from this repository's CI on main, with a
valid provenance attestation and an SBOM?

Two ways to ask, one answer (`Verdict`):
- `verify_local`: DSSE envelopes in a local store, checked against ed25519 keys the policy trusts
  (laptops, tests, air-gapped targets);
- `github_checks` + `verify_with`: `gh attestation verify` commands, built as data with the expected
  identity, run by the caller (GitHub Actions, where GitHub's attestation store and Sigstore answer).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cicd.supply import attestations, statement
from cicd.supply.dsse import EnvelopeRejected, TrustedKey, open_envelope
from cicd.supply.statement import PROVENANCE_TYPE, SBOM_TYPE, Builder

OIDC_ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True)
class Verdict:
    digest: str
    accepted: bool
    reasons: tuple[str, ...] = ()  # why it was refused
    passed: tuple[str, ...] = ()  # the checks it passed, for the trust summary

    def as_dict(self) -> dict:
        return {
            "digest": self.digest,
            "accepted": self.accepted,
            "reasons": list(self.reasons),
            "passed": list(self.passed),
        }


@dataclass
class _Tally:
    passed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def verdict(self, digest: str) -> Verdict:
        return Verdict(digest, not self.reasons, tuple(self.reasons), tuple(self.passed))


def verify_local(
    digest: str, expected: Builder, store: Path, trusted: Sequence[TrustedKey], *, require_sbom: bool = True
) -> Verdict:
    digest = statement.normalize_digest(digest)
    keys = {_key_id(k): k for k in trusted}
    tally = _Tally()
    provenance = _open(store, digest, "provenance", keys, expected, tally)
    if provenance is not None:
        _check_builder(provenance, expected, tally)
    if require_sbom:
        bom = _open(store, digest, "sbom", keys, expected, tally)
        if bom is not None:
            _check_sbom(bom, tally)
    return tally.verdict(digest)


def _key_id(trusted: TrustedKey) -> str:
    from cicd.supply.keys import key_id

    return key_id(trusted.key)


def _open(
    store: Path, digest: str, kind: str, keys: dict[str, TrustedKey], expected: Builder, tally: _Tally
) -> dict | None:
    envelope = attestations.get(store, digest, kind)
    if envelope is None:
        tally.reasons.append(f"no {kind} attestation for {digest}: CI did not build or attest this digest")
        return None
    try:
        body, signer = open_envelope(envelope, keys)
    except EnvelopeRejected as err:
        tally.reasons.append(f"{kind} attestation rejected: {err}")
        return None
    if signer.identity != expected.identity:
        tally.reasons.append(f"{kind} attestation signed by {signer.identity}, expected {expected.identity}")
        return None
    if digest not in statement.subject_digests(body):
        named = ", ".join(statement.subject_digests(body)) or "no digest"
        tally.reasons.append(f"the {kind} attestation is about {named}, not {digest}: the digest was swapped")
        return None
    wanted = PROVENANCE_TYPE if kind == "provenance" else SBOM_TYPE
    if body.get("predicateType") != wanted:
        found = body.get("predicateType")
        tally.reasons.append(f"{kind} attestation has predicate type {found!r}, not {wanted}")
        return None
    tally.passed.append(f"{kind} signed by {signer.identity}")
    return body


def _check_builder(body: dict, expected: Builder, tally: _Tally) -> None:
    builder = statement.built_by(body)
    if builder != expected:
        where = builder.identity if builder else "no workflow"
        tally.reasons.append(f"the provenance names {where}, expected {expected.identity}")
        return
    tally.passed.append(f"built by {expected.workflow} of {expected.repository} on {expected.ref}")


def _check_sbom(body: dict, tally: _Tally) -> None:
    from cicd.errors import SupplyChainError

    try:
        statement.check_cyclonedx(body.get("predicate"))
    except SupplyChainError as err:
        tally.reasons.append(str(err))
        return
    components = body["predicate"].get("components", [])
    tally.passed.append(f"SBOM (CycloneDX, {len(components)} components)")


# ------------------------------------------------------------------ GitHub: commands as data


@dataclass(frozen=True)
class Check:
    name: str
    argv: tuple[str, ...]


def github_checks(image: str, digest: str, expected: Builder, *, require_sbom: bool = True) -> list[Check]:
    """`gh attestation verify` of the provenance (and the SBOM) of `image@digest`: gh checks the
    Sigstore signature, that the certificate names this repository's workflow on the ref, and that
    the statement's subject is this digest."""
    digest = statement.normalize_digest(digest)
    pinned = f"{image.split('@', 1)[0]}@{digest}"
    gh = (
        "gh", "attestation", "verify", f"oci://{pinned}",
        "--repo", expected.repository,
        "--signer-workflow", f"{expected.repository}/{expected.workflow}",
        "--source-ref", expected.ref,
        "--cert-oidc-issuer", OIDC_ISSUER,
    )  # fmt: skip
    checks = [Check("provenance", (*gh, "--predicate-type", PROVENANCE_TYPE))]
    if require_sbom:
        checks.append(Check("sbom", (*gh, "--predicate-type", SBOM_TYPE)))
    return checks


Runner = Callable[[Sequence[str]], "tuple[int, str]"]


def run_command(argv: Sequence[str], cwd: str | None = None) -> tuple[int, str]:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False, cwd=cwd)
    except FileNotFoundError:
        return 127, f"{argv[0]} is not installed"
    except subprocess.TimeoutExpired:
        return 124, f"{argv[0]} did not answer within 120 s"
    return done.returncode, (done.stderr or done.stdout).strip()


def verify_with(checks: list[Check], digest: str, identity: str, runner: Runner = run_command) -> Verdict:
    tally = _Tally()
    for check in checks:
        code, output = runner(check.argv)
        if code == 0:
            tally.passed.append(f"{check.name} verified for {identity}")
        else:
            last = output.splitlines()[-1] if output else f"exit status {code}"
            tally.reasons.append(f"{check.name}: `{' '.join(check.argv[:3])}` refused: {last}")
    return tally.verdict(statement.normalize_digest(digest))
