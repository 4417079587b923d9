"""Signed audit bundles: what an environment ran since the last bundle, with the proof of each digest.

Layout of a bundle directory (every file listed with its SHA-256 in MANIFEST.json, which
MANIFEST.sig.json signs):

    ledger/excerpt.jsonl      the ledger entries since the previous bundle, one canonical JSON per line
    ledger/head.json          where the excerpt starts (base seq/hash) and ends (head seq/hash)
    attestations.jsonl        provenance and SBOM of every digest the excerpt deployed, one
                              {digest, kind, envelope | sigstore_bundle} per line (one file in all)
    trust-summary.json        per deploy: outcome, phases passed, who ran it, the supply-chain verdict
    release.json              environment, versions, live version, tool version, commit
    MANIFEST.json, MANIFEST.sig.json

A ledger entry `audit.bundle` (head hash, manifest hash) marks where the next bundle starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from cicd.errors import SupplyChainError
from cicd.supply import attestations
from cicd.supply.statement import DIGEST_RE

GENESIS_HASH = "0" * 64
MANIFEST, SIGNATURE = "MANIFEST.json", "MANIFEST.sig.json"
BUNDLE_ACTION = "audit.bundle"


@dataclass(frozen=True)
class Written:
    directory: Path
    tarball: Path
    head_seq: int
    head_hash: str
    entries: int
    digests: int


def canonical(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def excerpt_since_last_bundle(entries: list[dict]) -> tuple[list[dict], int, str]:
    """(entries after the newest audit.bundle entry, base seq, base hash) of the full ledger."""
    start = 0
    for index, entry in enumerate(entries):
        if entry.get("action") == BUNDLE_ACTION:
            start = index + 1
    base_seq = entries[start - 1]["seq"] if start else 0
    base_hash = entries[start - 1]["hash"] if start else GENESIS_HASH
    return entries[start:], base_seq, base_hash


def write(
    out: Path,
    environment: str,
    ledger: list[dict],
    *,
    store: Path | None,
    private_key,
    release: dict,
    approval_required: bool,
) -> Written:
    """Write the bundle for `ledger` (every entry, oldest first, each with its hash) into `out`."""
    from cicd.supply import trust

    excerpt, base_seq, base_hash = excerpt_since_last_bundle(ledger)
    head_seq = excerpt[-1]["seq"] if excerpt else base_seq
    head_hash = excerpt[-1]["hash"] if excerpt else base_hash
    _fresh_directory(out)
    lines = "".join(canonical(entry) + "\n" for entry in excerpt)
    _write(out / "ledger" / "excerpt.jsonl", lines)
    head = {
        "environment": environment,
        "base_seq": base_seq,
        "base_hash": base_hash,
        "head_seq": head_seq,
        "head_hash": head_hash,
        "entries": len(excerpt),
    }
    _write_json(out / "ledger" / "head.json", head)
    digests = sorted({e["digest"] for e in excerpt if DIGEST_RE.match(str(e.get("digest") or ""))})
    copied = _copy_attestations(store, digests, out / "attestations.jsonl")
    summary = trust.summary(excerpt, copied, approval_required=approval_required)
    _write_json(out / "trust-summary.json", summary)
    _write_json(out / "release.json", {**release, "environment": environment, "digests": digests})
    _sign_manifest(out, head, private_key)
    tarball = _tar(out)
    return Written(out, tarball, head_seq, head_hash, len(excerpt), len(digests))


def _fresh_directory(out: Path) -> None:
    try:
        if out.exists() and any(out.iterdir()):
            raise SupplyChainError(f"{out} is not empty: give the bundle a new directory")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SupplyChainError(f"cannot create {out}: {err.strerror or err}") from err


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise SupplyChainError(f"cannot write {path}: {err.strerror or err}") from err


def _write_json(path: Path, data: object) -> None:
    _write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _copy_attestations(store: Path | None, digests: list[str], dest: Path) -> dict[str, list[str]]:
    """{digest: kinds copied}; a digest without attestations is kept with an empty list."""
    copied: dict[str, list[str]] = {}
    lines = []
    for digest in digests:
        copied[digest] = []
        for kind in attestations.KINDS:
            envelope = attestations.get(store, digest, kind) if store else None
            sigstore = attestations.get_sigstore(store, digest, kind) if store else None
            if envelope is not None:
                lines.append(canonical({"digest": digest, "kind": kind, "envelope": envelope}) + "\n")
            if sigstore is not None:
                lines.append(canonical({"digest": digest, "kind": kind, "sigstore_bundle": sigstore}) + "\n")
            if envelope is not None or sigstore is not None:
                copied[digest].append(kind)
    _write(dest, "".join(lines))
    return copied


def manifest_files(out: Path) -> dict[str, str]:
    """{relative path: sha256} of every file in the bundle except the manifest and its signature."""
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() or p.is_symlink()):
        name = path.relative_to(out).as_posix()
        if name not in (MANIFEST, SIGNATURE):
            files[name] = file_sha256(path) if path.is_file() else "symlink"
    return files


def _sign_manifest(out: Path, head: dict, private_key) -> None:
    import base64

    from cicd.supply.keys import key_id, public_pem

    manifest = {
        "format": "cicd-audit-bundle/1",
        "environment": head["environment"],
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "head_seq": head["head_seq"],
        "head_hash": head["head_hash"],
        "files": manifest_files(out),
    }
    body = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    (out / MANIFEST).write_bytes(body)
    public = private_key.public_key()
    signature = {
        "algorithm": "ed25519",
        "keyid": key_id(public),
        "public_key": public_pem(public).decode("ascii"),
        "signature": base64.b64encode(private_key.sign(body)).decode("ascii"),
    }
    _write_json(out / SIGNATURE, signature)


def _tar(out: Path) -> Path:
    """`<out>.tar.gz`: sorted names, no owners or times, so the same bundle gives the same bytes."""
    tarball = out.with_name(out.name + ".tar.gz")

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    try:
        with tarfile.open(tarball, "w:gz", compresslevel=6) as tar:
            for path in sorted(out.rglob("*")):
                name = f"{out.name}/{path.relative_to(out).as_posix()}"
                tar.add(path, arcname=name, recursive=False, filter=clean)
    except OSError as err:
        raise SupplyChainError(f"cannot write {tarball}: {err.strerror or err}") from err
    os.chmod(tarball, 0o644)
    return tarball
