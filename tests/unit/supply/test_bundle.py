"""`cicd audit bundle` / `verify-bundle` on a real state store: an intact bundle verifies, and every
kind of tampering is reported by the file it touched."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path

import pytest

from cicd.cli import main
from cicd.state import open_state
from cicd.supply import bundle_check, keys

from .conftest import attest, digest_of


def cicd(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def deploy(project: Path, version: str, digest: str, *, verified: bool = True) -> None:
    state = open_state("production", str(project / ".cicd" / "state" / "{environment}.db"))
    if verified:
        state.append_audit({"action": "supply.verify", "digest": digest, "outcome": "accepted",
                            "details": {"passed": ["provenance signed by CI"], "reasons": []}})
    run = state.start_deployment(version, digest=digest, actor="alice", run_id="77", reason="release")
    phases = [{"name": n, "status": "ok", "seconds": 0.5} for n in ("health", "smoke", "switch", "verify")]
    state.finish_deployment(run, "succeeded", phases=phases)
    state.append_audit({"action": "deploy.figures", "outcome": "succeeded",
                        "details": {"verification": "Successful", "error_rate": 0.0}})
    state.mark_known_good(version)


@pytest.fixture
def bundled(project: Path, ci_key, store: Path, capsys) -> Path:
    """Two production deploys of CI-attested digests, bundled into project/bundle."""
    for version in ("1.0.0", "1.1.0"):
        digest = digest_of(version)
        attest(store, digest, ci_key)
        deploy(project, version, digest)
    code, out, err = cicd(capsys, "audit", "bundle", "--env", "production", "--out", "bundle",
                          "--key", "keys/ci.key", "--release-tag", "v1.1.0")
    assert code == 0, err
    assert "10 ledger entries, 2 digests" in out
    return project / "bundle"


def test_bundle_holds_excerpt_attestations_trust_summary_and_release(bundled: Path, project: Path, capsys):
    names = sorted(p.relative_to(bundled).as_posix() for p in bundled.rglob("*") if p.is_file())
    assert names == [
        "MANIFEST.json", "MANIFEST.sig.json", "attestations.jsonl", "ledger/excerpt.jsonl",
        "ledger/head.json", "release.json", "trust-summary.json",
    ]
    lines = [json.loads(line) for line in (bundled / "attestations.jsonl").read_text().splitlines()]
    digests = sorted(digest_of(v) for v in ("1.0.0", "1.1.0"))
    expected = [(d, k) for d in digests for k in ("provenance", "sbom")]
    assert [(a["digest"], a["kind"]) for a in lines] == expected
    summary = json.loads((bundled / "trust-summary.json").read_text())
    assert summary["counts"] == {"deploys": 2, "succeeded": 2, "supply_chain_verified": 2,
                                 "with_provenance": 2, "with_sbom": 2, "known_good": 2}
    first = summary["deploys"][0]
    seen = (first["version"], first["actor"], first["run_id"], first["approval_required"])
    assert seen == ("1.0.0", "alice", "77", True)
    assert first["phases"] == ["health", "smoke", "switch", "verify"]
    assert first["figures"] == {"verification": "Successful", "error_rate": 0.0} and first["known_good"]
    release = json.loads((bundled / "release.json").read_text())
    assert release["release_tag"] == "v1.1.0" and release["environment"] == "production"
    assert (project / "bundle.tar.gz").is_file()

    code, out, _ = cicd(capsys, "audit", "verify-bundle", "bundle", "--trusted-key", "keys/ci.key.pub")
    assert code == 0 and "5 files match the signed manifest; the ledger excerpt chains to" in out
    assert cicd(capsys, "audit", "verify-bundle", "bundle.tar.gz")[0] == 0


def test_next_bundle_starts_after_the_last_one(bundled: Path, project: Path, ci_key, store: Path, capsys):
    head = json.loads((bundled / "ledger" / "head.json").read_text())
    digest = digest_of("1.2.0")
    attest(store, digest, ci_key)
    deploy(project, "1.2.0", digest, verified=False)
    code, out, _ = cicd(capsys, "audit", "bundle", "--env", "production", "--out", "next",
                        "--key", "keys/ci.key")
    assert code == 0 and "4 ledger entries, 1 digests" in out  # start, finish, figures, known good
    second = json.loads((project / "next" / "ledger" / "head.json").read_text())
    assert second["base_seq"] == head["head_seq"] + 1  # right after the audit.bundle entry
    summary = json.loads((project / "next" / "trust-summary.json").read_text())
    assert summary["deploys"][0]["supply_chain"]["checked"] is False
    assert bundle_check.check(project / "next")[0] == []


def test_bundle_refuses_a_non_empty_directory(bundled: Path, capsys):
    code, _, err = cicd(capsys, "audit", "bundle", "--env", "production", "--out", "bundle",
                        "--key", "keys/ci.key")
    assert code == 1 and "bundle is not empty: give the bundle a new directory" in err


def _edit_excerpt(root: Path, _key) -> None:
    path = root / "ledger" / "excerpt.jsonl"
    path.write_text(path.read_text().replace('"actor":"alice"', '"actor":"mallory"', 1))


def _drop_last_entry_and_reseal(root: Path, other_key) -> None:
    """An attacker removes the last entry and re-signs a fresh manifest with their own key."""
    from cicd.supply.bundle import _sign_manifest

    path = root / "ledger" / "excerpt.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    head = json.loads((root / "ledger" / "head.json").read_text())
    (root / "MANIFEST.json").unlink()
    (root / "MANIFEST.sig.json").unlink()
    _sign_manifest(root, head, other_key)


def _swap_signature(root: Path, other_key) -> None:
    sig = json.loads((root / "MANIFEST.sig.json").read_text())
    sig["signature"] = base64.b64encode(other_key.sign((root / "MANIFEST.json").read_bytes())).decode()
    (root / "MANIFEST.sig.json").write_text(json.dumps(sig))


def _relabel_sbom(root: Path, _key) -> None:
    """The SBOM envelope passed off as provenance."""
    path = root / "attestations.jsonl"
    path.write_text(path.read_text().replace('"kind":"sbom"', '"kind":"provenance"', 1))


TAMPERING = {
    "edited ledger entry": (_edit_excerpt, ["ledger/excerpt.jsonl: edited", "ledger/excerpt.jsonl:"]),
    "added file": (lambda root, key: (root / "notes.txt").write_text("x"), ["notes.txt: added"]),
    "removed file": (lambda root, key: (root / "release.json").unlink(), ["release.json: removed"]),
    "relabelled SBOM": (_relabel_sbom, ["attestations.jsonl: edited"]),
    "edited manifest": (
        lambda root, key: (root / "MANIFEST.json").write_text(
            (root / "MANIFEST.json").read_text().replace("production", "staging")),
        ["MANIFEST.json: the signature does not match"],
    ),
    "signature by another key": (_swap_signature, ["MANIFEST.json: the signature does not match"]),
    "entry dropped, manifest re-signed": (_drop_last_entry_and_reseal, ["MANIFEST.sig.json: signed by key"]),
    "head moved": (
        lambda root, key: (root / "ledger" / "head.json").write_text(
            (root / "ledger" / "head.json").read_text().replace('"head_seq": 10', '"head_seq": 9')),
        ["ledger/head.json: edited", "ledger/excerpt.jsonl: ends at seq 10"],
    ),
    "signature removed": (
        lambda root, key: (root / "MANIFEST.sig.json").unlink(), ["MANIFEST.sig.json: missing"]
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_reported_by_file(case: str, bundled: Path, foreign_key, capsys) -> None:
    tamper, expected = TAMPERING[case]
    tamper(bundled, foreign_key)
    code, out, err = cicd(capsys, "audit", "verify-bundle", "bundle", "--trusted-key", "keys/ci.key.pub")
    assert code == 1, out
    assert "the bundle cannot be trusted" in err and err.count("\n") == 1
    for text in expected:
        assert text in out, out


def test_tampered_tarball_is_refused(bundled: Path, project: Path, foreign_key, capsys) -> None:
    tampered = project / "tampered.tar.gz"
    with tarfile.open(project / "bundle.tar.gz") as src, tarfile.open(tampered, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name.endswith("release.json"):
                continue
            dst.addfile(member, data)
    code, out, _ = cicd(capsys, "audit", "verify-bundle", str(tampered))
    assert code == 1 and "release.json: removed" in out


def test_verify_bundle_of_a_missing_path_is_one_line(tmp_path: Path, capsys) -> None:
    code, out, err = cicd(capsys, "audit", "verify-bundle", str(tmp_path / "nope"))
    assert code == 1 and "no such bundle directory or tarball" in out and err.count("\n") == 1


def test_keys_are_checked(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(Exception, match="not a PEM key"):
        keys.load_public(tmp_path / "junk.pem")


def test_github_attestations_are_downloaded_into_the_bundle(project: Path, store: Path, capsys,
                                                            monkeypatch) -> None:
    """With verifier github the proof lives in GitHub: `gh attestation download` (answered here the
    way gh writes its file: one Sigstore bundle per line, each wrapping the DSSE envelope)."""
    from cicd.supply import attestations, statement

    from .conftest import BOM, CI

    digest = digest_of("image on GitHub")
    image = f"ghcr.io/acme/sample/sample-service@{digest}"
    seen = []

    def gh(argv, cwd=None):
        seen.append(list(argv))
        lines = []
        for made in (statement.provenance("ghcr.io/acme/sample/sample-service", digest, CI, "c" * 40, "9"),
                     statement.sbom("ghcr.io/acme/sample/sample-service", digest, BOM)):
            payload = base64.b64encode(json.dumps(made).encode()).decode()
            lines.append(json.dumps({
                "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": {"certificate": {"rawBytes": "MIIC..."}},
                "dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json",
                                 "signatures": [{"sig": "MEUC..."}]},
            }))
        (Path(cwd) / f"{digest}.jsonl").write_text("\n".join(lines) + "\n")
        return 0, ""

    monkeypatch.setattr("cicd.supply.verify.run_command", gh)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/sample")
    state = open_state("production", str(project / ".cicd" / "state" / "{environment}.db"))
    state.finish_deployment(state.start_deployment("3.0.0", digest=digest, artifact=image), "succeeded")
    code, out, err = cicd(capsys, "audit", "bundle", "--env", "production", "--out", "gh",
                          "--key", "keys/ci.key", "--github-attestations")
    assert code == 0, err
    assert f"attestations of {digest}: provenance, sbom" in out
    assert seen == [["gh", "attestation", "download", f"oci://{image}", "--repo", "acme/sample"]]
    lines = [json.loads(line) for line in (project / "gh" / "attestations.jsonl").read_text().splitlines()]
    assert [(a["kind"], "sigstore_bundle" in a) for a in lines] == [("provenance", True), ("sbom", True)]
    summary = json.loads((project / "gh" / "trust-summary.json").read_text())
    assert summary["counts"]["with_provenance"] == 1 and summary["counts"]["with_sbom"] == 1

    def failing(argv, cwd=None):
        return 1, "HTTP 404: no attestations found"

    with pytest.raises(Exception, match=r"gh attestation download .* failed"):
        attestations.download_github(store, image, digest_of("other"), "acme/sample", failing)
