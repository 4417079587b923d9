"""DSSE envelopes (github.com/secure-systems-lab/dsse): the signature covers the payload type and the
exact payload bytes through the pre-authentication encoding, so neither can be swapped unnoticed.
The same envelope sits inside the Sigstore bundles that `actions/attest-build-provenance` publishes."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cicd.supply.keys import key_id

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

IN_TOTO = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class TrustedKey:
    """A public key and the builder identity it stands for (a workflow of a repository on a ref)."""

    identity: str
    key: Ed25519PublicKey


class EnvelopeRejected(Exception):
    """The envelope is malformed or no trusted key signed it; `str()` says which."""


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign(statement: dict, private_key: Ed25519PrivateKey) -> dict:
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = private_key.sign(pae(IN_TOTO, payload))
    return {
        "payloadType": IN_TOTO,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": key_id(private_key.public_key()), "sig": base64.b64encode(signature).decode("ascii")}
        ],
    }


def open_envelope(envelope: object, trusted: dict[str, TrustedKey]) -> tuple[dict, TrustedKey]:
    """The statement and the trusted key that signed it; raises EnvelopeRejected with the reason."""
    from cryptography.exceptions import InvalidSignature

    payload_type, payload, signatures = _fields(envelope)
    unknown = []
    for entry in signatures:
        signer = trusted.get(str(entry.get("keyid")))
        if signer is None:
            unknown.append(str(entry.get("keyid"))[:16])
            continue
        try:
            signer.key.verify(_b64(entry.get("sig"), "signature"), pae(payload_type, payload))
        except InvalidSignature:
            raise EnvelopeRejected(
                "the signature does not match the statement: it was altered after signing"
            ) from None
        return _statement(payload), signer
    raise EnvelopeRejected(f"signed only by keys this policy does not trust (key id {', '.join(unknown)}…)")


def _fields(envelope: object) -> tuple[str, bytes, list[dict]]:
    if not isinstance(envelope, dict):
        raise EnvelopeRejected("not a DSSE envelope (expected a JSON object)")
    payload_type = envelope.get("payloadType")
    if payload_type != IN_TOTO:
        raise EnvelopeRejected(f"payloadType is {payload_type!r}, expected {IN_TOTO!r}")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise EnvelopeRejected("the envelope carries no signature")
    payload = _b64(envelope.get("payload"), "payload")
    return payload_type, payload, [s for s in signatures if isinstance(s, dict)]


def _b64(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as err:
        raise EnvelopeRejected(f"the envelope's {what} is not base64") from err


def _statement(payload: bytes) -> dict:
    try:
        statement = json.loads(payload)
    except ValueError as err:
        raise EnvelopeRejected("the signed payload is not JSON") from err
    if not isinstance(statement, dict):
        raise EnvelopeRejected("the signed payload is not an in-toto statement")
    return statement
