"""`cicd supply keygen|attest|verify`: the commands CI and deploy.yml run, end to end on files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cicd.cli import main
from cicd.state import open_state

from .conftest import BOM, CI, attest, digest_of


def cicd(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ledger(project: Path) -> list[dict]:
    state = open_state("production", str(project / ".cicd" / "state" / "{environment}.db"))
    return [e.as_dict() for e in state.audit_entries()]


def test_ci_attests_with_the_cli_and_production_accepts_it(project: Path, capsys, tmp_path: Path,
                                                           monkeypatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    (tmp_path / "bom.json").write_text(json.dumps(BOM))
    digest = digest_of("pushed by CI")
    code, out, err = cicd(
        capsys, "supply", "attest", "--digest", digest, "--name", "ghcr.io/acme/sample", "--sbom",
        str(tmp_path / "bom.json"), "--key", "keys/ci.key", "--store", ".cicd/attestations",
        "--repository", CI.repository, "--workflow", CI.workflow, "--ref", CI.ref, "--commit", "b" * 40,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = cicd(capsys, "supply", "verify", "--env", "production", "--digest", digest)
    assert code == 0, err
    assert out.splitlines()[-1] == f"accepted: {digest} for production"
    entry = ledger(project)[-1]
    assert (entry["action"], entry["digest"], entry["outcome"]) == ("supply.verify", digest, "accepted")
    assert entry["details"]["verifier"] == "local" and len(entry["details"]["passed"]) == 4
    assert summary.read_text().splitlines()[0] == f"### Supply chain: production accepted `{digest}`"


@pytest.mark.parametrize("case", ["unsigned", "foreign key", "swapped digest"])
def test_production_refuses_with_one_line_and_records_it(case: str, project: Path, store: Path, ci_key,
                                                         foreign_key, capsys) -> None:
    digest = digest_of("candidate")
    if case == "foreign key":
        attest(store, digest, foreign_key)
    elif case == "swapped digest":
        attest(store, digest_of("what CI built"), ci_key)
        signed = store / digest_of("what CI built").replace(":", "-")
        signed.rename(store / digest.replace(":", "-"))
    code, _, err = cicd(capsys, "supply", "verify", "--env", "production", "--digest", digest)
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"error: production refuses {digest}: ")
    reason = {"unsigned": "no provenance attestation", "foreign key": "does not trust",
              "swapped digest": "the digest was swapped"}[case]
    assert reason in err
    assert ledger(project)[-1]["outcome"] == "refused"


def test_environment_without_policy_passes_with_a_warning(project: Path, capsys) -> None:
    code, out, _ = cicd(capsys, "supply", "verify", "--env", "staging", "--digest", digest_of("x"))
    assert code == 0 and "staging has no supply_chain policy: nothing verified" in out


def test_a_production_deploy_without_a_digest_is_refused(project: Path, capsys) -> None:
    code, _, err = cicd(capsys, "supply", "verify", "--env", "production", "--digest", "")
    assert code == 1 and "not a sha256 digest: ''" in err


def test_repository_production_policy_asks_github_for_ci_on_main(monkeypatch, capsys, tmp_path) -> None:
    """The committed policy: gh attestation verify for cd-staging.yml of this repository on main."""
    from cicd.config import load_environment
    from cicd.supply import gate

    repo = Path(__file__).resolve().parents[3]
    policy = load_environment(repo / "config", "production").supply_chain
    assert policy is not None and policy.verifier == "github" and policy.require_sbom
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/sample")
    seen: list[list[str]] = []
    digest = digest_of("image")

    def gh(argv):
        seen.append(list(argv))
        return (1, "Error: no attestations found") if "https://cyclonedx.org/bom" in argv else (0, "")

    verdict = gate.check(policy, digest, artifact="ghcr.io/acme/sample/sample-service@" + digest, runner=gh)
    image = f"oci://ghcr.io/acme/sample/sample-service@{digest}"
    assert [argv[:4] for argv in seen] == [["gh", "attestation", "verify", image]] * 2
    assert "--signer-workflow" in seen[0] and "acme/sample/.github/workflows/cd-staging.yml" in seen[0]
    assert not verdict.accepted and verdict.reasons[0].startswith("sbom: ")


def test_keygen_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    key = tmp_path / "k.key"
    assert cicd(capsys, "supply", "keygen", "--out", str(key))[0] == 0
    assert key.stat().st_mode & 0o777 == 0o600 and (tmp_path / "k.key.pub").is_file()
    code, _, err = cicd(capsys, "supply", "keygen", "--out", str(key))
    assert code == 2 and "refusing to overwrite" in err


def test_attest_one_kind_at_a_time(project: Path, store: Path, capsys) -> None:
    """What the attest-build-provenance and attest-sbom steps each do (one statement per step)."""
    digest = digest_of("one kind")
    common = ["--digest", digest, "--name", "img", "--key", "keys/ci.key", "--store", str(store),
              "--repository", CI.repository, "--workflow", CI.workflow, "--ref", CI.ref, "--commit", "d" * 40]
    code, _, err = cicd(capsys, "supply", "attest", "--type", "sbom", *common)
    assert code == 2 and "--type sbom needs --sbom FILE" in err
    assert cicd(capsys, "supply", "attest", "--type", "provenance", *common)[0] == 0
    folder = store / digest.replace(":", "-")
    assert sorted(p.name for p in folder.iterdir()) == ["provenance.dsse.json"]
    code, _, err = cicd(capsys, "supply", "verify", "--env", "production", "--digest", digest, "--no-record")
    assert code == 1 and "no sbom attestation" in err
