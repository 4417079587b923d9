"""`cicd audit verify-bundle`: every file against the manifest, the manifest against its signature,
and the ledger excerpt against the head it states. Each problem names the file it is about."""

from __future__ import annotations

import base64
import binascii
import json
import tarfile
import tempfile
from pathlib import Path

from cicd.errors import SupplyChainError
from cicd.supply.bundle import GENESIS_HASH, MANIFEST, SIGNATURE, canonical, manifest_files


def check(path: Path, trusted_key=None) -> tuple[list[str], dict]:
    """(problems, manifest) of a bundle directory or its .tar.gz; no problem means intact."""
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        with tempfile.TemporaryDirectory() as tmp:
            root = _extract(path, Path(tmp))
            return check(root, trusted_key) if root else ([f"{path}: not a bundle tarball"], {})
    if not path.is_dir():
        return [f"{path}: no such bundle directory or tarball"], {}
    manifest, problems = _manifest(path)
    if manifest is None:
        return problems, {}
    problems += _signature(path, trusted_key)
    problems += _files(path, manifest)
    problems += _ledger(path, manifest)
    return problems, manifest


def _extract(tarball: Path, dest: Path) -> Path | None:
    # The "data" filter refuses links out of the folder, absolute paths and device files.
    if not hasattr(tarfile, "data_filter"):
        raise SupplyChainError("checking a tarball needs Python 3.11.4+: extract it and check the folder")
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            tar.extractall(dest, filter="data")
    except (OSError, tarfile.TarError):
        return None
    tops = [p for p in dest.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else None


def _manifest(root: Path) -> tuple[dict | None, list[str]]:
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [f"{MANIFEST}: missing: the bundle has no manifest"]
    except (OSError, ValueError) as err:
        return None, [f"{MANIFEST}: unreadable ({err})"]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None, [f"{MANIFEST}: not a bundle manifest (no 'files' mapping)"]
    return manifest, []


def _signature(root: Path, trusted_key) -> list[str]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from cicd.supply.keys import key_id

    try:
        signed = json.loads((root / SIGNATURE).read_text(encoding="utf-8"))
        key = trusted_key or load_pem_public_key(str(signed["public_key"]).encode("ascii"))
        signature = base64.b64decode(str(signed["signature"]), validate=True)
    except FileNotFoundError:
        return [f"{SIGNATURE}: missing: the manifest is unsigned"]
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as err:
        return [f"{SIGNATURE}: unreadable ({type(err).__name__})"]
    if not isinstance(key, Ed25519PublicKey):
        return [f"{SIGNATURE}: not an ed25519 key"]
    if trusted_key is not None and signed.get("keyid") != key_id(trusted_key):
        return [f"{SIGNATURE}: signed by key {str(signed.get('keyid'))[:16]}…, not the trusted key"]
    try:
        key.verify(signature, (root / MANIFEST).read_bytes())
    except InvalidSignature:
        return [f"{MANIFEST}: the signature does not match: the manifest was edited after signing"]
    return []


def _files(root: Path, manifest: dict) -> list[str]:
    listed: dict = manifest["files"]
    present = manifest_files(root)
    problems = [f"{name}: removed (missing)" for name in sorted(set(listed) - set(present))]
    problems += [f"{name}: added (not in the manifest)" for name in sorted(set(present) - set(listed))]
    problems += [
        f"{name}: edited (SHA-256 differs from the manifest)"
        for name in sorted(set(listed) & set(present))
        if listed[name] != present[name]
    ]
    return problems


def _ledger(root: Path, manifest: dict) -> list[str]:
    from cicd.state.store.ledger import chain_hash

    try:
        head = json.loads((root / "ledger" / "head.json").read_text(encoding="utf-8"))
        lines = (root / "ledger" / "excerpt.jsonl").read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError) as err:
        return [f"ledger/: unreadable ({type(err).__name__}: {err})"]
    problems = []
    if head.get("head_hash") != manifest.get("head_hash"):
        problems.append("ledger/head.json: its head hash differs from the manifest's")
    prev, seq = head.get("base_hash", GENESIS_HASH), head.get("base_seq", 0)
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            stated = entry.pop("hash")
        except (ValueError, KeyError, AttributeError, TypeError):
            return [*problems, f"ledger/excerpt.jsonl:{number}: not a ledger entry"]
        if entry.get("seq") != seq + 1 or chain_hash(prev, canonical(entry)) != stated:
            found = entry.get("seq")
            return [*problems, f"ledger/excerpt.jsonl:{number}: does not chain (entry seq {found})"]
        prev, seq = stated, seq + 1
    if prev != head.get("head_hash") or seq != head.get("head_seq"):
        problems.append(f"ledger/excerpt.jsonl: ends at seq {seq} ({prev[:12]}…), not at the stated head")
    return problems
