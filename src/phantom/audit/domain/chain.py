r"""The audit hash chain: canonical encoding, genesis, linking and sealing.

This docstring is the specification an auditor needs to re-compute a chain without
Phantom's code.

**Genesis.** Each tenant's chain starts from
``genesis = hex(sha256(b"phantom-audit-genesis:" + utf8(tenant_id)))``.

**Link.** For entry ``n`` (``seq`` = n, 1-based, no gaps)::

    hash_n = hex(sha256(ascii(hash_{n-1}) || canonical(entry_n)))

where ``hash_0`` is the genesis, ``hex`` is 64 lowercase hexadecimal digits,
``ascii(hash_{n-1})`` is those 64 characters as bytes (exactly what is stored in
``prev_hash``) and ``||`` is concatenation. In a shell::

    printf '%s%s' "$prev_hash" "$canonical" | sha256sum

**Canonical encoding.** ``canonical(entry)`` is the UTF-8 encoding of one JSON object
holding every field except ``hash``, with keys sorted, no whitespace, in this exact
shape (line breaks added here for reading only)::

    {"action":A,"actor":{"id":AI,"kind":AK,"via":AV},"details":D,"id":U,
     "occurred_at":T,"prev_hash":P,"resource":R,"result":S,"seq":N,"tenant_id":X}

- ``A``, ``AI``, ``AK``, ``AV``, ``P``, ``S``, ``X`` are JSON strings. Strings are
  written raw in UTF-8 (no ``\uXXXX`` for non-ASCII); only ``"``, ``\`` and the
  control characters U+0000 to U+001F are escaped, as ``\"``, ``\\``, ``\b``,
  ``\f``, ``\n``, ``\r``, ``\t`` or ``\u00xx`` (lowercase hex) for the others.
- ``U`` is the entry id as a JSON string in the 8-4-4-4-12 lowercase form.
- ``T`` is the UTC time as a JSON string ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six
  fractional digits and a ``Z``).
- ``R`` is ``null`` or ``{"id":RI,"type":RT}`` with ``RI`` a JSON string or ``null``.
- ``N`` is the decimal integer ``seq``.
- ``D`` is the entry's stored details text, spliced in verbatim. Phantom writes it as
  the canonical JSON of the details object: keys sorted, separators ``,`` and ``:``
  with no spaces, strings as above, integers in decimal, floats in their shortest
  round-trip form (Python's ``repr``), ``true``/``false``/``null``; NaN and the
  infinities are refused. Splicing the stored text means an auditor never needs to
  re-serialise the details.

Everything in the chain is a pure function of the stored columns, so any change to a
stored field, a missing row, an extra row or a change of order breaks a link; see
:mod:`phantom.audit.domain.verify` for how breaks are classified.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Final, NamedTuple

from phantom.audit.domain.entry import (
    ActorRef,
    ChainHead,
    Entry,
    EntryDraft,
    ResourceRef,
)
from phantom.audit.domain.errors import InvalidAuditEntry

__all__ = [
    "GENESIS_PREFIX",
    "canonical",
    "encode_details",
    "format_timestamp",
    "genesis_hash",
    "intrinsic_hash",
    "json_string",
    "link",
    "seal",
]

GENESIS_PREFIX: Final = b"phantom-audit-genesis:"

_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
)
_encode_json = _ENCODER.encode


json_string: Final[Callable[[str], str]] = encode_basestring
"""``value`` as a JSON string literal (non-ASCII kept raw, as specified above).

The C encoder behind ``json.dumps(value, ensure_ascii=False)``, without its wrapper.
"""


def genesis_hash(tenant_id: str) -> str:
    """The hash a tenant's chain starts from (the ``prev_hash`` of entry 1)."""
    return hashlib.sha256(GENESIS_PREFIX + tenant_id.encode("utf-8")).hexdigest()


def format_timestamp(when: datetime) -> str:
    """``when`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    utc = when.astimezone(UTC) if when.utcoffset() else when
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def encode_details(details: object) -> str:
    """The canonical JSON text of a details object.

    Raises:
        InvalidAuditEntry: when ``details`` is not a JSON object with string keys,
            or holds NaN, an infinity or a value JSON cannot represent.
    """
    if not isinstance(details, Mapping) or not all(isinstance(k, str) for k in details):
        msg = "audit details must be a JSON object with string keys"
        raise InvalidAuditEntry(msg)
    try:
        return _encode_json(dict(details))
    except (TypeError, ValueError) as exc:
        msg = f"audit details are not JSON-serialisable: {exc}"
        raise InvalidAuditEntry(msg) from None


def canonical(entry: Entry) -> bytes:
    """The canonical encoding of ``entry`` (every field but ``hash``), as bytes."""
    return _encode(entry, entry.prev_hash).encode("utf-8")


def _encode(fields: Entry | _Unsealed, prev_hash: str) -> str:
    actor, resource = fields.actor, fields.resource
    if resource is None:
        resource_json = "null"
    else:
        resource_id = "null" if resource.id is None else json_string(resource.id)
        resource_json = f'{{"id":{resource_id},"type":{json_string(resource.type)}}}'
    return (
        f'{{"action":{json_string(fields.action)},'
        f'"actor":{{"id":{json_string(actor.id)},"kind":{json_string(actor.kind)},'
        f'"via":{json_string(actor.via)}}},'
        f'"details":{fields.details_json},"id":"{fields.id}",'
        f'"occurred_at":"{format_timestamp(fields.occurred_at)}",'
        f'"prev_hash":{json_string(prev_hash)},"resource":{resource_json},'
        f'"result":{json_string(fields.result)},"seq":{int(fields.seq)},'
        f'"tenant_id":{json_string(fields.tenant_id)}}}'
    )


def link(prev_hash: str, canonical_bytes: bytes) -> str:
    """``hex(sha256(ascii(prev_hash) || canonical_bytes))``."""
    return hashlib.sha256(prev_hash.encode("utf-8") + canonical_bytes).hexdigest()


def intrinsic_hash(entry: Entry) -> str | None:
    """The hash ``entry`` should carry given its own ``prev_hash`` and fields.

    Returns ``None`` when a stored field cannot even be encoded (tampered bytes).
    """
    try:
        return link(entry.prev_hash, canonical(entry))
    except (UnicodeEncodeError, ValueError):
        return None


def seal(tenant_id: str, head: ChainHead, drafts: Sequence[EntryDraft]) -> list[Entry]:
    """Turn ``drafts`` into the entries that follow ``head`` in ``tenant_id``'s chain.

    Args:
        tenant_id: the chain's tenant.
        head: the chain's last entry (``ChainHead(0, genesis_hash(tenant_id))`` when
            the chain is empty).
        drafts: the entries to add, in order.

    Returns:
        The new entries, each linked to the one before.

    Raises:
        InvalidAuditEntry: when a draft's details or strings cannot be encoded.
    """
    entries: list[Entry] = []
    seq, prev = head.seq, head.hash
    for draft in drafts:
        seq += 1
        fields = _Unsealed(
            tenant_id=tenant_id,
            seq=seq,
            id=draft.id,
            occurred_at=draft.occurred_at.astimezone(UTC),
            actor=draft.actor,
            action=draft.action,
            resource=draft.resource,
            result=draft.result,
            details_json=encode_details(draft.details),
        )
        try:
            digest = link(prev, _encode(fields, prev).encode("utf-8"))
        except UnicodeEncodeError:
            msg = "an audit entry holds a string that is not valid Unicode"
            raise InvalidAuditEntry(msg) from None
        entries.append(Entry(*fields, prev_hash=prev, hash=digest))
        prev = digest
    return entries


class _Unsealed(NamedTuple):
    """A draft's fields at its place in the chain (``Entry``'s order), unhashed."""

    tenant_id: str
    seq: int
    id: uuid.UUID
    occurred_at: datetime
    actor: ActorRef
    action: str
    resource: ResourceRef | None
    result: str
    details_json: str
