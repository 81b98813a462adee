"""Checkpoints: a documented message, signed with Ed25519, named by key id."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from phantom.audit.domain import EntryQuery, key_id, sign_checkpoint
from phantom.audit.domain.checkpoints import checkpoint_fault
from phantom.kernel.errors import InvalidInput

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
AT = datetime(2026, 2, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_the_key_id_is_a_prefix_of_the_sha256_of_the_raw_public_key() -> None:
    raw = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key_id(KEY.public_key()) == hashlib.sha256(raw).hexdigest()[:16]


def test_a_checkpoint_signs_the_documented_message() -> None:
    checkpoint = sign_checkpoint("acme", 42, "ab" * 32, AT, KEY)
    message = (
        '{"hash":"'
        + "ab" * 32
        + '","seq":42,"signed_at":"2026-02-03T04:05:06.000007Z",'
        '"tenant_id":"acme","type":"phantom.audit.checkpoint.v1"}'
    ).encode()
    KEY.public_key().verify(checkpoint.signature, message)  # raises if not
    assert checkpoint.key_id == key_id(KEY.public_key())
    assert (checkpoint.tenant_id, checkpoint.seq, checkpoint.signed_at) == (
        "acme",
        42,
        AT,
    )
    keys = {checkpoint.key_id: KEY.public_key()}
    assert checkpoint_fault(checkpoint, "acme", keys) is None
    assert checkpoint_fault(checkpoint, "globex", keys) == "bad_signature"
    assert checkpoint_fault(checkpoint, "acme", {}) == "unknown_key"


@pytest.mark.parametrize(
    "fields",
    [
        {"limit": 0},
        {"limit": 501},
        {"since": datetime(2026, 1, 1)},  # noqa: DTZ001
        {"since": AT, "until": AT},
        {"result": "maybe"},
    ],
)
def test_an_impossible_search_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        EntryQuery(**fields)  # type: ignore[arg-type]
