"""The supply chain as the workflow files wire it: build once and prove it, verify before production,
gate pull requests, release what production runs. (The commands themselves are tested in
tests/unit/supply; deploy.yml's gate runs under act in tests/e2e/test_supply_chain.py.)"""

import pytest

from .conftest import triggers

pytestmark = pytest.mark.workflows


def steps(job):
    return job.get("steps", [])


def uses(step, action):
    return str(step.get("uses", "")).startswith(f"{action}@")


def index_of(job, predicate):
    return next(i for i, step in enumerate(steps(job)) if predicate(step))


def test_staging_builds_both_platforms_then_attests_and_signs_the_digest(workflows):
    image = workflows["cd-staging.yml"]["jobs"]["image"]
    assert image["permissions"]["id-token"] == "write" and image["permissions"]["attestations"] == "write"
    build = next(s for s in steps(image) if uses(s, "docker/build-push-action"))
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64" and build["with"]["push"] is True
    sbom = next(s for s in steps(image) if uses(s, "aquasecurity/trivy-action"))
    assert sbom["with"]["format"] == "cyclonedx"
    digest = "${{ steps.push.outputs.digest }}"
    for action in ("actions/attest-build-provenance", "actions/attest-sbom"):
        attest = next(s for s in steps(image) if uses(s, action))
        assert attest["with"]["subject-digest"] == digest and attest["with"]["push-to-registry"] is True
    attest_sbom = next(s for s in steps(image) if uses(s, "actions/attest-sbom"))
    assert attest_sbom["with"]["sbom-path"] == sbom["with"]["output"]
    assert any(s.get("run", "").startswith("cosign sign --yes") for s in steps(image))


def test_deploy_verifies_the_digest_before_approval_and_before_the_deploy(workflows):
    jobs = workflows["deploy.yml"]["jobs"]
    for name, deploy_step in (("gate", None), ("deploy", "cicd workflows deploy-step run")):
        job = jobs[name]
        assert job["permissions"]["attestations"] == "read"
        at = index_of(job, lambda s: "cicd supply verify" in s.get("run", ""))
        verify = steps(job)[at]
        assert verify["if"] == "inputs.operation == 'deploy'"
        assert "--digest \"${CICD_DIGEST}\"" in verify["run"] and verify["env"]["GH_TOKEN"]
        if deploy_step:
            assert at < index_of(job, lambda s, run=deploy_step: s.get("run", "") == run)
            assert "--no-record" not in verify["run"]  # the deploy job writes the verdict to the ledger
    for name in ("cd-production.yml", "cd-staging.yml", "rollback.yml"):
        callers = [j for j in workflows[name]["jobs"].values() if "deploy.yml" in str(j.get("uses", ""))]
        assert callers and all(j["permissions"]["attestations"] == "read" for j in callers), name


def test_pull_requests_pass_every_security_gate(workflows):
    scan = workflows["security-scan.yml"]
    jobs = scan["jobs"]
    assert jobs["codeql"]["strategy"]["matrix"]["language"] == ["python", "actions"]
    analyze = next(s for s in steps(jobs["codeql"]) if uses(s, "github/codeql-action/analyze"))
    assert analyze["with"]["category"] == "/language:${{ matrix.language }}"
    review = next(s for s in steps(jobs["dependency-review"]) if uses(s, "actions/dependency-review-action"))
    assert review["with"]["fail-on-severity"] == "high" and "GPL-3.0-only" in review["with"]["deny-licenses"]
    assert "pip-audit --requirement" in steps(jobs["pip-audit"])[-1]["run"]
    assert "constraints.txt" in steps(jobs["pip-audit"])[-1]["run"]
    assert "detect-secrets-hook --baseline .secrets.baseline" in steps(jobs["secrets"])[-1]["run"]
    for job in (jobs["dependencies"], jobs["image"]):
        policy = next(s for s in steps(job) if s.get("id") == "policy")
        assert policy["run"].startswith("cicd supply scan-policy --policy config/security-policy.yml")
    for job in jobs.values():
        for step in steps(job):
            if uses(step, "github/codeql-action/upload-sarif"):
                assert step["with"]["category"] and job["permissions"]["actions"] == "read"
    on_pr = triggers(workflows["conventional-commits.yml"])["pull_request"]
    assert {"opened", "edited"} <= set(on_pr["types"])  # a retitled pull request is checked again


def test_release_tags_what_production_verified(workflows):
    release = workflows["release.yml"]
    plan, publish = release["jobs"]["plan"], release["jobs"]["release"]
    runs = [s.get("run", "") for s in steps(plan)]
    assert runs[2:] == [
        "cicd workflows staged --env production",
        'cicd release next --to "${REF}"',
        'cicd supply verify --env production --digest "${DIGEST}" --artifact "${ARTIFACT}" --no-record',
    ]
    assert publish["needs"] == ["plan"] and publish["environment"] == "production"
    text = "\n".join(s.get("run", "") for s in steps(publish))
    for piece in ("python3 -m build", "cyclonedx-py environment", "gh attestation download",
                  "cicd audit bundle --env production", "cicd audit verify-bundle", "SHA256SUMS",
                  'imagetools create --tag "${ARTIFACT%@*}:${VERSION}" "${ARTIFACT}"', "gh release create"):
        assert piece in text, piece
    assert any(uses(s, "actions/attest-build-provenance") for s in steps(publish))
