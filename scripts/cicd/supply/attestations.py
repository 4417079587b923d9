"""The local attestation store: `<root>/sha256-<hex>/{provenance,sbom}.dsse.json`, one folder per digest.

In GitHub the same envelopes live in the repository's attestation store and the registry; here they
are files, so a digest's proof can travel with it (an artifact, an audit bundle) and be checked offline.
"""

from __future__ import annotations

import json
from pathlib import Path

from cicd.errors import SupplyChainError
from cicd.supply.statement import normalize_digest

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
