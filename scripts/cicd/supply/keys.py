"""ed25519 signing keys in PEM files, and the key id that names a public key in signatures."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cicd.errors import SupplyChainError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def generate(private_path: Path) -> Path:
    """Write a new private key (mode 0600) and its public key beside it (`.pub`); returns the .pub path."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem)
    public_path = private_path.with_name(private_path.name + ".pub")
    public_path.write_bytes(public_pem(key.public_key()))
    return public_path


def public_pem(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = _load(path, lambda data: load_pem_private_key(data, password=None))
    if not isinstance(key, Ed25519PrivateKey):
        raise SupplyChainError(f"{path}: not an ed25519 private key (create one with `cicd supply keygen`)")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = _load(path, load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise SupplyChainError(f"{path}: not an ed25519 public key (the .pub of `cicd supply keygen`)")
    return key


def _load(path: Path, parse):
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SupplyChainError(f"cannot read key {path}: {err.strerror or err}") from err
    try:
        return parse(data)
    except (ValueError, TypeError) as err:
        raise SupplyChainError(f"{path}: not a PEM key ({err})") from err


def key_id(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key: stable, and says nothing but which key signed."""
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()
