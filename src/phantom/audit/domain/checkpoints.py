"""Signed checkpoints: Ed25519 signatures over a chain's head, kept apart from it.

A checkpoint says "tenant X's chain had hash H at seq N at time T", signed with the
platform's audit key. Rewriting or truncating the chain after a checkpoint cannot be
hidden without that key: the entry at ``N`` must still hash to ``H``, and the chain
must still reach ``N``.

**Signed message.** The Ed25519 signature covers the UTF-8 bytes of::

    {"hash":H,"seq":N,"signed_at":T,"tenant_id":X,"type":"phantom.audit.checkpoint.v1"}

with ``H`` the 64-hex entry hash, ``N`` a decimal integer, ``T`` the signing time in
the chain's timestamp format (``YYYY-MM-DDTHH:MM:SS.ffffffZ``) and ``X`` the tenant id,
all strings JSON-encoded as in :mod:`phantom.audit.domain.chain`.

**Key id.** The first 16 hex digits of ``sha256(raw 32-byte Ed25519 public key)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from phantom.audit.domain.chain import format_timestamp, json_string

__all__ = [
    "CHECKPOINT_TYPE",
    "Checkpoint",
    "CheckpointFault",
    "checkpoint_fault",
    "checkpoint_message",
    "key_id",
    "keys_by_id",
    "sign_checkpoint",
]

CHECKPOINT_TYPE: Final = "phantom.audit.checkpoint.v1"

CheckpointFault = Literal["bad_signature", "unknown_key"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of a chain's hash at one seq.

    Attributes:
        tenant_id: the chain's tenant.
        seq: the entry the checkpoint pins.
        hash: that entry's hash.
        signed_at: when it was signed (UTC).
        key_id: the signing key's id (see :func:`key_id`).
        signature: the 64-byte Ed25519 signature of :func:`checkpoint_message`.
    """

    tenant_id: str
    seq: int
    hash: str
    signed_at: datetime
    key_id: str
    signature: bytes


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the sha256 of the raw public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def keys_by_id(public_keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    """Index public keys by their :func:`key_id`."""
    return {key_id(key): key for key in public_keys}


def checkpoint_message(
    tenant_id: str, seq: int, hash_: str, signed_at: datetime
) -> bytes:
    """The bytes a checkpoint's signature covers."""
    return (
        f'{{"hash":{json_string(hash_)},"seq":{int(seq)},'
        f'"signed_at":"{format_timestamp(signed_at)}",'
        f'"tenant_id":{json_string(tenant_id)},"type":"{CHECKPOINT_TYPE}"}}'
    ).encode()


def sign_checkpoint(
    tenant_id: str,
    seq: int,
    hash_: str,
    signed_at: datetime,
    private_key: Ed25519PrivateKey,
) -> Checkpoint:
    """Sign ``tenant_id``'s chain head (``seq``, ``hash_``) at ``signed_at``."""
    message = checkpoint_message(tenant_id, seq, hash_, signed_at)
    return Checkpoint(
        tenant_id=tenant_id,
        seq=seq,
        hash=hash_,
        signed_at=signed_at,
        key_id=key_id(private_key.public_key()),
        signature=private_key.sign(message),
    )


def checkpoint_fault(
    checkpoint: Checkpoint,
    tenant_id: str,
    keys: Mapping[str, Ed25519PublicKey],
) -> CheckpointFault | None:
    """Why ``checkpoint`` cannot be trusted for ``tenant_id``'s chain, if it cannot.

    The signature is checked against ``tenant_id`` (not the stored tenant column),
    so a checkpoint moved from another tenant's chain is a ``bad_signature``.
    """
    key = keys.get(checkpoint.key_id)
    if key is None:
        return "unknown_key"
    message = checkpoint_message(
        tenant_id, checkpoint.seq, checkpoint.hash, checkpoint.signed_at
    )
    try:
        key.verify(checkpoint.signature, message)
    except InvalidSignature:
        return "bad_signature"
    return None
