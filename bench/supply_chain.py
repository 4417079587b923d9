#!/usr/bin/env python3
"""Supply-chain benchmark: the verification seam, signed audit bundles, and tampering.

- verify_ms: median time of `verify_local` for a CI-signed digest (DSSE provenance + SBOM, ed25519),
  the check `cicd supply verify` runs before a production deploy; verify_cli_ms: the whole command,
  interpreter start-up included.
- bundle_ms_1k_deploys: median time to read a ledger of 1,000 production deploys (3,000 entries with
  their supply.verify verdicts), write the bundle (excerpt, attestations of 1,000 digests, trust
  summary, signed manifest, tarball) and check it again.
- tamper_cases / tamper_cases_detected: edits to a bundle (files, manifest, signature, ledger chain)
  and to attestations (unsigned, foreign key, swapped digest, altered statement); each must be caught.
- unsigned_deploy_refused: `cicd supply verify` exits 1 for a digest nobody attested.

    python3 bench/supply_chain.py [--deploys 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from cicd.state import open_state  # noqa: E402
from cicd.supply import attestations, bundle, bundle_check, dsse, keys, statement  # noqa: E402
from cicd.supply.dsse import TrustedKey  # noqa: E402
from cicd.supply.statement import Builder  # noqa: E402
from cicd.supply.verify import verify_local  # noqa: E402

CI = Builder("acme/sample", ".github/workflows/cd-staging.yml", "refs/heads/main")
BOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
       "components": [{"type": "library", "name": "requests", "version": "2.34.2"}]}


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def attest(store: Path, digest: str, key) -> None:
    made = statement.provenance("ghcr.io/acme/sample", digest, CI, "a" * 40, "1")
    attestations.put(store, digest, "provenance", dsse.sign(made, key))
    bom = statement.sbom("ghcr.io/acme/sample", digest, BOM)
    attestations.put(store, digest, "sbom", dsse.sign(bom, key))


def ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def project(root: Path) -> tuple[Path, object, object]:
    """A project whose production trusts keys/ci.key.pub (the unit tests' layout)."""
    keys.generate(root / "keys" / "ci.key")
    keys.generate(root / "keys" / "foreign.key")
    env_dir = root / "config" / "environments"
    env_dir.mkdir(parents=True)
    (env_dir / "production.yml").write_text(f"""name: production
type: production
supply_chain:
  verifier: local
  repository: {CI.repository}
  workflow: {CI.workflow}
  attestations: .cicd/attestations
  trusted_keys:
    - {{identity: "{CI.identity}", public_key: keys/ci.key.pub}}
""")
    return root, keys.load_private(root / "keys" / "ci.key"), keys.load_private(root / "keys" / "foreign.key")


def fill_ledger(root: Path, ci_key, deploys: int) -> object:
    state = open_state("production", str(root / ".cicd" / "state" / "{environment}.db"))
    store = root / ".cicd" / "attestations"
    phases = [{"name": n, "status": "ok", "seconds": 0.1} for n in ("health", "smoke", "switch", "verify")]
    for number in range(deploys):
        digest = digest_of(f"release {number}")
        attest(store, digest, ci_key)
        state.append_audit({"action": "supply.verify", "digest": digest, "outcome": "accepted",
                            "details": {"passed": ["provenance", "sbom"], "reasons": []}})
        run = state.start_deployment(f"1.{number}.0", digest=digest, actor="ci", run_id=str(number))
        state.finish_deployment(run, "succeeded", phases=phases)
    return state


def bundle_once(root: Path, state, ci_key, out: Path) -> list[str]:
    ledger = [dict(vars(entry)) for entry in state.audit_entries(limit=2**31 - 1)]
    bundle.write(out, "production", ledger, store=root / ".cicd" / "attestations", private_key=ci_key,
                 release={"release_tag": "bench"}, approval_required=True)
    return bundle_check.check(out, ci_key.public_key())[0]


def bundle_tampering(fresh, foreign_key) -> dict[str, bool]:
    def edit_entry(root):
        path = root / "ledger" / "excerpt.jsonl"
        path.write_text(path.read_text().replace('"outcome":"succeeded"', '"outcome":"failed"', 1))

    def reseal(root):
        path = root / "ledger" / "excerpt.jsonl"
        path.write_text("".join(path.read_text().splitlines(True)[:-1]))
        head = json.loads((root / "ledger" / "head.json").read_text())
        (root / bundle.MANIFEST).unlink()
        (root / bundle.SIGNATURE).unlink()
        bundle._sign_manifest(root, head, foreign_key)

    def foreign_signature(root):
        sig = json.loads((root / bundle.SIGNATURE).read_text())
        sig["signature"] = base64.b64encode(foreign_key.sign((root / bundle.MANIFEST).read_bytes())).decode()
        (root / bundle.SIGNATURE).write_text(json.dumps(sig))

    cases = {
        "bundle: ledger entry edited": edit_entry,
        "bundle: file added": lambda root: (root / "extra.txt").write_text("x"),
        "bundle: file removed": lambda root: (root / "release.json").unlink(),
        "bundle: attestation edited": lambda root: (root / "attestations.jsonl").write_text(
            (root / "attestations.jsonl").read_text().replace('"kind":"sbom"', '"kind":"provenance"', 1)),
        "bundle: manifest edited": lambda root: (root / bundle.MANIFEST).write_text(
            (root / bundle.MANIFEST).read_text().replace("production", "staging")),
        "signature: by another key": foreign_signature,
        "signature: removed": lambda root: (root / bundle.SIGNATURE).unlink(),
        "signature: entry dropped and manifest re-signed": reseal,
    }
    detected = {}
    for name, tamper in cases.items():
        root, trusted = fresh()
        tamper(root)
        detected[name] = bool(bundle_check.check(root, trusted)[0])
    return detected


def attestation_tampering(work: Path, ci_key, foreign_key) -> dict[str, bool]:
    trusted = [TrustedKey(CI.identity, ci_key.public_key())]
    store = work / "attestation-cases"
    signed, target = digest_of("what CI built"), digest_of("candidate")
    attest(store, signed, ci_key)

    def refused(prepare) -> bool:
        shutil.rmtree(attestations.folder(store, target), ignore_errors=True)
        prepare()
        return not verify_local(target, CI, store, trusted).accepted

    def swapped():
        shutil.copytree(attestations.folder(store, signed), attestations.folder(store, target))

    def altered():
        swapped()
        envelope = attestations.get(store, target, "provenance") or {}
        body = json.loads(base64.b64decode(envelope["payload"]))
        body["subject"][0]["digest"]["sha256"] = target.removeprefix("sha256:")
        envelope["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
        attestations.put(store, target, "provenance", envelope)

    return {
        "attestation: unsigned digest": refused(lambda: None),
        "attestation: signed by another key": refused(lambda: attest(store, target, foreign_key)),
        "attestation: digest swapped after signing": refused(swapped),
        "attestation: statement altered after signing": refused(altered),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deploys", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-supply-") as tmp:
        work = Path(tmp)
        root, ci_key, foreign_key = project(work / "project")
        store = root / ".cicd" / "attestations"
        own = digest_of("CI's own")
        attest(store, own, ci_key)
        trusted = [TrustedKey(CI.identity, ci_key.public_key())]
        assert verify_local(own, CI, store, trusted).accepted
        verify_ms = ms(lambda: verify_local(own, CI, store, trusted), 20)

        cli = [sys.executable, "-m", "cicd", "supply", "verify", "--env", "production", "--no-record",
               "--config-dir", str(root / "config")]
        verify_cli_ms = ms(lambda: subprocess.run([*cli, "--digest", own], check=True, capture_output=True),
                           5)
        unsigned = subprocess.run([*cli, "--digest", digest_of("nobody attested this")], capture_output=True,
                                  text=True)
        unsigned_refused = unsigned.returncode == 1 and "no provenance attestation" in unsigned.stderr

        started = time.perf_counter()
        state = fill_ledger(root, ci_key, args.deploys)
        fill_s = round(time.perf_counter() - started, 1)
        outs = iter(range(10**6))
        problems: list[str] = []
        bundle_ms = ms(lambda: problems.extend(bundle_once(root, state, ci_key, work / f"b{next(outs)}")),
                       args.repeat)
        assert problems == [], problems

        small_state = open_state("production", str(work / "small" / "{environment}.db"))
        for number in range(3):
            digest = digest_of(f"small {number}")
            attest(store, digest, ci_key)
            run = small_state.start_deployment(f"0.{number}", digest=digest)
            small_state.finish_deployment(run, "succeeded")

        def fresh():
            out = Path(tempfile.mkdtemp(dir=work))
            shutil.rmtree(out)
            bundle_once(root, small_state, ci_key, out)
            return out, ci_key.public_key()

        cases = {**bundle_tampering(fresh, foreign_key), **attestation_tampering(work, ci_key, foreign_key)}

    result = {
        "verify_ms": verify_ms,
        "verify_cli_ms": verify_cli_ms,
        "bundle_ms_1k_deploys": bundle_ms,
        "bundle_deploys": args.deploys,
        "ledger_fill_s": fill_s,
        "tamper_cases": len(cases),
        "tamper_cases_detected": sum(cases.values()),
        "undetected": [name for name, found in cases.items() if not found],
        "unsigned_deploy_refused": unsigned_refused,
        "repeat": args.repeat,
    }
    print(json.dumps(result))
    ok = (verify_ms < 500 and bundle_ms < 2000 and unsigned_refused and len(cases) >= 6
          and result["tamper_cases_detected"] == len(cases))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
