"""The local attestation store: `<root>/sha256-<hex>/{provenance,sbom}.dsse.json`, one folder per digest.

In GitHub the same envelopes live in the repository's attestation store and the registry, inside
Sigstore bundles; `download_github` keeps those as `<kind>.sigstore.json`. Here they are files, so a
digest's proof can travel with it (an artifact, an audit bundle) and be checked offline.
"""

from __future__ import annotations

import json
from pathlib import Path

from cicd.errors import SupplyChainError
from cicd.supply.statement import PROVENANCE_TYPE, SBOM_TYPE, normalize_digest

KINDS = ("provenance", "sbom")


def folder(root: Path, digest: str) -> Path:
    return root / normalize_digest(digest).replace(":", "-")


def put(root: Path, digest: str, kind: str, envelope: dict) -> Path:
    path = folder(root, digest) / f"{kind}.dsse.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(envelope, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as err:
        raise SupplyChainError(f"cannot write attestation {path}: {err.strerror or err}") from err
    return path


def get(root: Path, digest: str, kind: str) -> dict | None:
    """The envelope, or None when there is none; an unreadable file is an error, not an absence."""
    path = folder(root, digest) / f"{kind}.dsse.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SupplyChainError(f"cannot read attestation {path}: {err.strerror or err}") from err
    try:
        envelope = json.loads(text)
    except ValueError as err:
        raise SupplyChainError(f"{path}: not JSON ({err})") from err
    return envelope if isinstance(envelope, dict) else {"invalid": envelope}


def download_github(store: Path, image: str, digest: str, repository: str, runner) -> list[str]:
    """`gh attestation download` of `image@digest`: each Sigstore bundle (which wraps the signed DSSE
    envelope) is kept as `<kind>.sigstore.json` beside local envelopes. Returns the kinds found."""
    import base64
    import tempfile

    digest = normalize_digest(digest)
    pinned = f"oci://{image.split('@', 1)[0]}@{digest}"
    with tempfile.TemporaryDirectory() as tmp:
        code, output = runner(["gh", "attestation", "download", pinned, "--repo", repository], cwd=tmp)
        if code != 0:
            raise SupplyChainError(f"gh attestation download {pinned} failed: {output.splitlines()[-1:]}")
        lines = [line for path in Path(tmp).glob("*.jsonl") for line in path.read_text().splitlines()]
    found = []
    for line in lines:
        bundle = json.loads(line)
        payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        kind = {PROVENANCE_TYPE: "provenance", SBOM_TYPE: "sbom"}.get(payload.get("predicateType"))
        if kind and kind not in found:
            path = folder(store, digest) / f"{kind}.sigstore.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(bundle, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            found.append(kind)
    return found


def get_sigstore(root: Path, digest: str, kind: str) -> dict | None:
    path = folder(root, digest) / f"{kind}.sigstore.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise SupplyChainError(f"cannot read {path}: {err}") from err
