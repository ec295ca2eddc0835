"""Anchoring a tenant's genesis in its root admins' OpenPGP keys (§6.5).

Each root admin clearsigns the line `pipo-genesis:<tenant>:<genesis hash hex>`
with gpg (or a smartcard). The server checks each clearsignature with
pysequoia (Sequoia-PGP; PGPy accepts signatures by revoked keys, see
docs/DECISIONS.md) against a certificate whose fingerprint the genesis lists,
refusing revoked and expired certificates, and keeps the proofs so that
clients can check them again with OpenPGP.js.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import pysequoia

from protocol import ProtocolError


class AnchorError(ProtocolError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class VerifiedAnchor:
    fingerprint: str
    certificate: str
    clearsigned: str


def genesis_statement(tenant: str, genesis_hash: bytes) -> str:
    return f"pipo-genesis:{tenant}:{genesis_hash.hex()}"


def verify_anchor(
    *, statement: str, clearsigned: bytes, certificate: bytes, allowed_fingerprints: list[str]
) -> VerifiedAnchor:
    """Raise AnchorError unless `clearsigned` is `statement`, signed by a live
    key of `certificate`, whose fingerprint the genesis lists."""
    try:
        cert = pysequoia.Cert.from_bytes(certificate)
    except Exception:
        raise AnchorError("bad_pgp_key", "The OpenPGP certificate cannot be read.") from None
    fingerprint = str(cert.fingerprint).lower()
    if fingerprint not in {value.lower() for value in allowed_fingerprints}:
        raise AnchorError(
            "pgp_not_in_genesis", f"The genesis does not list the OpenPGP key {fingerprint}."
        )
    if cert.is_revoked:
        raise AnchorError("pgp_key_revoked", f"The OpenPGP key {fingerprint} is revoked.")
    expiration = cert.expiration
    if expiration is not None and expiration <= datetime.now(UTC):
        raise AnchorError("pgp_key_expired", f"The OpenPGP key {fingerprint} has expired.")
    try:
        verified = pysequoia.verify(bytes=clearsigned, store=lambda _key_ids: [cert])
    except Exception:
        raise AnchorError(
            "bad_pgp_signature", "The clearsigned text does not verify with this key."
        ) from None
    if not verified.valid_sigs:
        raise AnchorError("bad_pgp_signature", "The clearsigned text carries no valid signature.")
    text = (verified.bytes or b"").decode("utf-8", "replace").strip()
    if text != statement:
        raise AnchorError(
            "wrong_statement", f"The signed text is not this tenant's genesis ({statement})."
        )
    return VerifiedAnchor(
        fingerprint=fingerprint,
        certificate=certificate.decode("ascii", "replace"),
        clearsigned=clearsigned.decode("utf-8", "replace"),
    )
