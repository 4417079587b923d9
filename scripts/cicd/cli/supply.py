"""Verbs `supply keygen|attest|verify|scan-policy` and `audit bundle|verify-bundle` (registered by
cli/state.py under `audit`): what production accepts, and the signed record of what it ran."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
from pathlib import Path

from cicd.errors import SupplyChainError, UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    supply = subparsers.add_parser("supply", help="sign, attest and verify what CI builds (supply chain)")
    verbs = supply.add_subparsers(dest="supply_verb", metavar="VERB", required=True)

    keygen = verbs.add_parser("keygen", help="create an ed25519 signing key (local stand-in for Sigstore)")
    keygen.add_argument("--out", type=Path, required=True, help="private key file (the .pub goes beside it)")
    keygen.set_defaults(handler=run_keygen)

    attest = verbs.add_parser("attest", help="sign provenance and SBOM statements about a digest (local key)")
    attest.add_argument("--digest", required=True, help="sha256:<hex> of the artifact")
    attest.add_argument("--name", required=True, help="the artifact's name, e.g. ghcr.io/acme/app")
    attest.add_argument("--type", choices=("provenance", "sbom", "both"), default="both")
    attest.add_argument("--sbom", type=Path, help="CycloneDX JSON SBOM of the artifact (--type sbom, both)")
    attest.add_argument("--key", type=Path, required=True, help="ed25519 private key (cicd supply keygen)")
    attest.add_argument("--store", type=Path, default=Path(".cicd/attestations"), help="attestation store")
    attest.add_argument("--repository", default=os.environ.get("GITHUB_REPOSITORY", ""), help="owner/name")
    attest.add_argument("--workflow", required=True, help="the building workflow, .github/workflows/FILE")
    attest.add_argument("--ref", default=os.environ.get("GITHUB_REF", ""), help="e.g. refs/heads/main")
    attest.add_argument("--commit", default=os.environ.get("GITHUB_SHA", ""), help="commit built")
    attest.add_argument("--run-id", default=os.environ.get("GITHUB_RUN_ID", "local"), help="build run")
    attest.set_defaults(handler=run_attest)

    verify = verbs.add_parser("verify", help="refuse a digest CI did not build, attest and describe (SBOM)")
    verify.add_argument("--env", required=True, metavar="NAME", help="environment whose supply_chain applies")
    verify.add_argument("--digest", required=True, help="sha256:<hex> about to be deployed")
    verify.add_argument("--artifact", default="", help="image reference (verifier github)")
    verify.add_argument("--config-dir", type=Path, default=Path("config"), help="config directory")
    verify.add_argument("--no-record", action="store_true", help="do not write the verdict to the ledger")
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify.set_defaults(handler=run_verify)

    scan = verbs.add_parser("scan-policy", help="check the scanners' policy; refuse expired ignores")
    scan.add_argument("--policy", type=Path, default=Path("config/security-policy.yml"))
    scan.add_argument("--trivyignore", type=Path, help="write Trivy's .trivyignore.yaml here")
    scan.add_argument("--today", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default today)")
    scan.set_defaults(handler=run_scan_policy)


def register_audit(actions: argparse._SubParsersAction, common) -> None:
    bundle = actions.add_parser("bundle", help="write a signed audit bundle (directory and .tar.gz)")
    common(bundle)
    bundle.add_argument("--out", type=Path, required=True, help="new directory for the bundle")
    bundle.add_argument("--key", type=Path, required=True, help="ed25519 private key that signs the manifest")
    bundle.add_argument("--attestations", type=Path, help="attestation store (default: the policy's)")
    bundle.add_argument("--release-tag", default="", help="the release this bundle belongs to")
    bundle.add_argument(
        "--github-attestations", action="store_true",
        help="first download each deployed image's attestations from GitHub (gh attestation download)",
    )  # fmt: skip
    bundle.set_defaults(handler=run_audit_bundle)
    check = actions.add_parser("verify-bundle", help="check a bundle's files, signature and ledger chain")
    check.add_argument("bundle", type=Path, help="bundle directory or .tar.gz")
    check.add_argument("--trusted-key", type=Path, help="public key the bundle must be signed with")
    check.set_defaults(handler=run_audit_verify_bundle)


def run_keygen(args: argparse.Namespace) -> int:
    from cicd.supply import keys

    if args.out.exists():
        raise UsageError(f"{args.out} exists; refusing to overwrite a key")
    public = keys.generate(args.out)
    print(f"private key: {args.out} (keep it secret)\npublic key:  {public}")
    return 0


def run_attest(args: argparse.Namespace) -> int:
    from cicd.supply import attestations, dsse, keys, statement

    if not (args.repository and args.ref and args.commit):
        raise UsageError("--repository, --ref and --commit are required outside GitHub Actions")
    if args.type != "provenance" and args.sbom is None:
        raise UsageError(f"--type {args.type} needs --sbom FILE (CycloneDX JSON)")
    key = keys.load_private(args.key)
    digest = statement.normalize_digest(args.digest)
    made = []
    if args.type != "sbom":
        builder = statement.Builder(args.repository, args.workflow, args.ref)
        provenance = statement.provenance(args.name, digest, builder, args.commit, args.run_id)
        made.append(("provenance", provenance))
    if args.type != "provenance":
        made.append(("sbom", statement.sbom(args.name, digest, _read_json(args.sbom))))
    for kind, body in made:
        print(f"{kind}: {attestations.put(args.store, digest, kind, dsse.sign(body, key))}")
    return 0


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SupplyChainError(f"cannot read the SBOM {path}: {err}") from err


def run_verify(args: argparse.Namespace) -> int:
    from cicd import gha
    from cicd.config import load_environment
    from cicd.supply import gate

    env = load_environment(args.config_dir, args.env)
    if env.supply_chain is None:
        message = f"{args.env} has no supply_chain policy: nothing verified (see docs/SECURITY.md)"
        if env.type == "production":  # every production should have one: say so where reviewers look
            gha.warning(message)
        print(f"warning: {message}")
        return 0
    base_dir = Path(args.config_dir).resolve().parent
    verdict = gate.check(env.supply_chain, args.digest, artifact=args.artifact, base_dir=base_dir)
    if not args.no_record:
        _record(args, env.supply_chain.verifier, verdict)
    if args.json:
        print(json.dumps(verdict.as_dict(), indent=2))
    gha.append_summary(_summary(args.env, verdict))
    for line in verdict.passed:
        print(f"ok: {line}")
    if not verdict.accepted:
        raise SupplyChainError(f"{args.env} refuses {verdict.digest}: " + "; ".join(verdict.reasons))
    print(f"accepted: {verdict.digest} for {args.env}")
    return 0


def _summary(env: str, verdict) -> str:
    """What approvers see in the job summary before they approve."""
    head = "accepted" if verdict.accepted else "refused"
    lines = [f"### Supply chain: {env} {head} `{verdict.digest}`", ""]
    lines += [f"- :white_check_mark: {text}" for text in verdict.passed]
    lines += [f"- :x: {text}" for text in verdict.reasons]
    return "\n".join(lines) + "\n"


def _record(args: argparse.Namespace, verifier: str, verdict) -> None:
    from cicd.cli.state import open_environment_state

    state = open_environment_state(args.config_dir, args.env)
    state.append_audit(
        {
            "action": "supply.verify",
            "digest": verdict.digest,
            "outcome": "accepted" if verdict.accepted else "refused",
            "details": {
                "verifier": verifier,
                "passed": list(verdict.passed),
                "reasons": list(verdict.reasons),
            },
        }
    )


def run_scan_policy(args: argparse.Namespace) -> int:
    from cicd import gha
    from cicd.supply import scan_policy

    policy = scan_policy.load(args.policy, args.today or dt.datetime.now(dt.UTC).date())
    severity = ",".join(policy.severities)
    if args.trivyignore:
        try:
            args.trivyignore.write_text(scan_policy.trivy_ignore_file(policy), encoding="utf-8")
        except OSError as err:
            raise SupplyChainError(f"cannot write {args.trivyignore}: {err.strerror or err}") from err
        gha.set_output("trivyignores", str(args.trivyignore))
    gha.set_output("severity", severity)
    gha.set_output("ignore-unfixed", "true" if policy.ignore_unfixed else "false")
    fixed = "with a fix available" if policy.ignore_unfixed else "fixed or not"
    ignores = len(policy.ignores)
    print(f"ok: {args.policy}: fail on {severity} findings {fixed}; {ignores} ignores, none expired")
    return 0


def run_audit_bundle(args: argparse.Namespace) -> int:
    from cicd import __version__
    from cicd.cli.state import open_environment_state
    from cicd.config import load_environment
    from cicd.supply import bundle, bundle_check, keys

    env = load_environment(args.config_dir, args.env)
    key = keys.load_private(args.key)
    state = open_environment_state(args.config_dir, args.env)
    report = state.verify_audit()
    if not report.ok:
        raise SupplyChainError(f"the {args.env} ledger fails its check ({report.reason}): no bundle written")
    # vars(), not as_dict(): a shallow copy is enough here and a deep one costs seconds on big ledgers.
    ledger = [dict(vars(entry)) for entry in state.audit_entries(limit=2**31 - 1)]
    store = args.attestations
    if store is None and env.supply_chain is not None:
        store = Path(args.config_dir).resolve().parent / env.supply_chain.attestations
    if args.github_attestations:
        store = store or Path(tempfile.mkdtemp(prefix="cicd-attestations-"))
        _download_attestations(store, bundle.excerpt_since_last_bundle(ledger)[0])
    release = {
        "release_tag": args.release_tag or None,
        "live_version": state.current().current_version,
        "commit": os.environ.get("GITHUB_SHA"),
        "cicd_version": __version__,
    }
    written = bundle.write(
        args.out, args.env, ledger, store=store, private_key=key, release=release,
        approval_required=env.approval.required,
    )  # fmt: skip
    problems, _ = bundle_check.check(written.directory, key.public_key())
    if problems:
        raise SupplyChainError(f"the bundle just written fails verification: {problems[0]}")
    state.append_audit(
        {
            "action": bundle.BUNDLE_ACTION,
            "reason": args.release_tag or None,
            "outcome": "written",
            "details": {
                "head_seq": written.head_seq,
                "head_hash": written.head_hash,
                "entries": written.entries,
            },
        }
    )
    print(f"bundle: {written.directory} ({written.entries} ledger entries, {written.digests} digests)")
    print(f"tarball: {written.tarball}")
    print(f"head: seq {written.head_seq} {written.head_hash}")
    return 0


def _download_attestations(store: Path, excerpt: list[dict]) -> None:
    """Sigstore bundles of every image the excerpt deployed (artifact `name@sha256:...`)."""
    from cicd.supply.attestations import download_github
    from cicd.supply.verify import run_command

    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise UsageError("--github-attestations needs $GITHUB_REPOSITORY (owner/name)")
    images = {}
    for entry in excerpt:
        artifact = (entry.get("details") or {}).get("artifact")
        if entry.get("digest") and isinstance(artifact, str) and "@sha256:" in artifact:
            images[entry["digest"]] = artifact
    for digest, image in sorted(images.items()):
        kinds = download_github(store, image, digest, repository, run_command)
        print(f"attestations of {digest}: {', '.join(kinds) or 'none'}")


def run_audit_verify_bundle(args: argparse.Namespace) -> int:
    from cicd.supply import bundle_check

    trusted = None
    if args.trusted_key:
        from cicd.supply.keys import load_public

        trusted = load_public(args.trusted_key)
    problems, manifest = bundle_check.check(args.bundle, trusted)
    if problems:
        for problem in problems:
            print(f"tampered: {problem}")
        raise SupplyChainError(f"{args.bundle}: {len(problems)} problem(s); the bundle cannot be trusted")
    files = len(manifest.get("files", {}))
    head = manifest.get("head_hash")
    print(f"ok: {args.bundle}: {files} files match the signed manifest; the ledger excerpt chains to {head}")
    return 0

