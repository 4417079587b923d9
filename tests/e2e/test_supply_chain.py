"""Production takes only what CI built: deploy.yml run by act against a real local production (the
sample service behind nginx), whose supply_chain policy trusts CI's key for cd-staging.yml on main.

An unsigned digest and a digest signed by another key are refused before anyone is asked to approve
and before the target changes; CI's own digest deploys, and the verdict is in the ledger, which then
goes into a signed audit bundle that verifies.
"""

import os
import subprocess

import pytest

from cicd.supply import keys

from .conftest import TOKEN, VENV_BIN, commit, live_version, stop_environment, write_environment

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(360)]

CALLER = """name: Promote
on:
  workflow_dispatch:
    inputs:
      version: {type: string, required: true}
      digest: {type: string, required: true}
permissions: {}
jobs:
  production:
    permissions:
      contents: read
      actions: read
      attestations: read
      deployments: write
      packages: read
    uses: ./.github/workflows/deploy.yml
    with:
      environment: production
      version: ${{ inputs.version }}
      digest: ${{ inputs.digest }}
      reason: promotion drill
"""
APPROVAL = "approval: {required: true, reviewers: [team:42], prevent_self_review: true}\n"
CI_IDENTITY = "https://github.com/acme/sample/.github/workflows/cd-staging.yml@refs/heads/main"


def cicd(*argv: str, cwd, env=None) -> subprocess.CompletedProcess:
    argv = [str(VENV_BIN / "cicd"), *argv]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, env=env)


def attest(repo, store, key, digest):
    """What cd-staging's attest steps do on GitHub, with CI's key standing in for Sigstore."""
    sbom = store.parent / "sbom.cdx.json"
    sbom.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}')
    done = cicd("supply", "attest", "--digest", digest, "--name", "ghcr.io/acme/sample/sample-service",
                "--sbom", str(sbom), "--key", str(key), "--store", str(store), "--repository", "acme/sample",
                "--workflow", ".github/workflows/cd-staging.yml", "--ref", "refs/heads/main",
                "--commit", "c" * 40, cwd=repo)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def production(act, tmp_path, github_api):
    keys_dir, store = tmp_path / "keys", tmp_path / "attestations"
    keys.generate(keys_dir / "ci.key")
    keys.generate(keys_dir / "foreign.key")
    url = write_environment(act.repo, tmp_path / "production-state", name="production")
    env_file = act.repo / "config" / "environments" / "production.yml"
    text = env_file.read_text()
    if "approval:" not in text:  # production is approval-gated; the gate checks GitHub enforces it
        text = text.replace("lock_environment:", APPROVAL + "lock_environment:", 1)
    env_file.write_text(text + f"""supply_chain:
  verifier: local
  repository: acme/sample
  workflow: .github/workflows/cd-staging.yml
  ref: refs/heads/main
  attestations: {store}
  trusted_keys:
    - {{identity: "{CI_IDENTITY}", public_key: {keys_dir / "ci.key.pub"}}}
""")
    (act.repo / ".github" / "workflows" / "promote.yml").write_text(CALLER)
    commit(act.repo, "chore: production trusts CI's key")
    # What an administrator does once: the GitHub Environment's protection, from the file.
    env = {**os.environ, "GITHUB_API_URL": github_api.url, "GITHUB_REPOSITORY": "acme/sample",
           "GITHUB_TOKEN": TOKEN}
    env.pop("GITHUB_ACTIONS", None)
    applied = cicd("github", "environments", "apply", "--env", "production", cwd=act.repo, env=env)
    assert applied.returncode == 0, applied.stderr
    yield url, keys_dir, store
    stop_environment(act.repo, "production")


def promote(act, version, digest):
    return act.run("workflow_dispatch", "promote.yml",
                   {"inputs": {"version": version, "digest": digest}, "ref": "refs/heads/main",
                    "repository": {"full_name": "acme/sample"}})


def test_production_refuses_unsigned_and_foreign_digests_and_deploys_ci_own(act, production, github_api):
    url, keys_dir, store = production
    unsigned, foreign, own = ("sha256:" + c * 64 for c in "abc")
    attest(act.repo, store, keys_dir / "foreign.key", foreign)
    attest(act.repo, store, keys_dir / "ci.key", own)

    run = promote(act, "2.0.0", unsigned)
    assert run.returncode != 0
    assert f"production refuses {unsigned}: no provenance attestation" in run.output
    run = promote(act, "2.0.0", foreign)
    assert run.returncode != 0
    assert "signed only by keys this policy does not trust" in run.output
    assert live_version(url) is None  # refused in the gate: nothing started, nothing switched

    run = promote(act, "2.1.0", own)
    assert run.returncode == 0, run.output[-8000:]
    assert live_version(url) == "2.1.0"
    assert f"accepted: {own} for production" in run.output

    shown = cicd("audit", "show", "--env", "production", "--json", cwd=act.repo)
    verdicts = [line for line in shown.stdout.splitlines() if '"supply.verify"' in line]
    assert len(verdicts) == 1 and '"accepted"' in verdicts[0]  # the deploy job records; the gate does not

    bundle = act.work / "bundle"
    made = cicd("audit", "bundle", "--env", "production", "--out", str(bundle), "--key",
                str(keys_dir / "ci.key"), cwd=act.repo)
    assert made.returncode == 0, made.stderr
    checked = cicd("audit", "verify-bundle", str(bundle), "--trusted-key", str(keys_dir / "ci.key.pub"),
                   cwd=act.repo)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f'"digest":"{own}","envelope"' in (bundle / "attestations.jsonl").read_text()
