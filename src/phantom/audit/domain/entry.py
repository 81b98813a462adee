"""Audit entries: what callers hand in (drafts) and what the chain holds (entries)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from phantom.audit.domain.errors import InvalidAuditEntry
from phantom.kernel.context import Actor
from phantom.kernel.ids import uuid7

__all__ = [
    "RESULTS",
    "ActorRef",
    "ChainHead",
    "Entry",
    "EntryDraft",
    "ResourceRef",
    "Result",
    "clip",
]

Result = Literal["success", "denied", "error", "allowed"]
"""How the audited action ended: ``allowed`` is for counted data-plane calls."""

RESULTS: Final[frozenset[str]] = frozenset({"success", "denied", "error", "allowed"})

_LIMITS: Final = {
    "action": 200,
    "actor kind": 32,
    "actor id": 200,
    "actor via": 64,
    "resource type": 100,
    "resource id": 200,
}


def clip(name: str, value: str) -> str:
    """``value`` cut to the length the entry field ``name`` allows.

    For values that come from outside (a presented key id, a stream id): an entry
    that records them clipped is better than no entry. A clipped value ends with
    ``…``. ``name`` is one of ``action``, ``actor kind``, ``actor id``, ``actor
    via``, ``resource type``, ``resource id``.
    """
    limit = _LIMITS[name]
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def _check(name: str, value: str, *, optional: bool = False) -> None:
    if not value and not optional:
        msg = f"the audit entry's {name} is empty"
        raise InvalidAuditEntry(msg)
    if len(value) > _LIMITS[name]:
        msg = f"the audit entry's {name} is longer than {_LIMITS[name]} characters"
        raise InvalidAuditEntry(msg)


@dataclass(frozen=True, slots=True)
class ActorRef:
    """Who acted, as recorded: any strings, so unauthenticated callers fit too.

    Attributes:
        kind: ``user``, ``service``, ``agent``, ``system``, ``api_key``...
        id: the principal's id (empty for an anonymous caller).
        via: how the principal authenticated (``api_key``, ``token``, ``none``...).
    """

    kind: str
    id: str
    via: str

    @classmethod
    def of(cls, actor: Actor) -> ActorRef:
        """The reference of a kernel :class:`~phantom.kernel.context.Actor`."""
        return cls(kind=actor.kind, id=actor.id, via=actor.via)


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """What was acted on: a type (``model``, ``api_key``...) and maybe an id."""

    type: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An audit entry before it gets its place in a tenant's chain.

    Attributes:
        action: ``<context>.<Event>`` or ``<area>.<verb>`` (``auth.denied``).
        actor: who acted.
        occurred_at: when it happened (timezone-aware; stored in UTC to the µs).
        result: ``success``, ``denied``, ``error`` or ``allowed``.
        resource: what was acted on, if anything.
        details: a JSON object (string keys; no NaN or infinities).
        id: the entry id (a UUIDv7 unless given).
    """

    action: str
    actor: ActorRef
    occurred_at: datetime
    result: Result = "success"
    resource: ResourceRef | None = None
    details: Mapping[str, object] = field(default_factory=dict)
    id: uuid.UUID = field(default_factory=uuid7)

    def __post_init__(self) -> None:
        _check("action", self.action)
        _check("actor kind", self.actor.kind)
        _check("actor id", self.actor.id, optional=True)
        _check("actor via", self.actor.via)
        if self.resource is not None:
            _check("resource type", self.resource.type)
            _check("resource id", self.resource.id or "", optional=True)
        if self.result not in RESULTS:
            msg = f"unknown audit result {self.result!r}; use one of {sorted(RESULTS)}"
            raise InvalidAuditEntry(msg)
        offset = self.occurred_at.utcoffset()
        if offset is None:
            msg = "an audit entry's occurred_at must be timezone-aware"
            raise InvalidAuditEntry(msg)


@dataclass(frozen=True, slots=True)
class Entry:
    """One link of a tenant's audit chain, as stored.

    Stored values are kept as they are (``result`` and ``actor.kind`` are plain
    strings): verification, not the type, decides whether they were tampered with.

    Attributes:
        tenant_id: the tenant whose chain this is.
        seq: 1-based, gapless position in the tenant's chain.
        id: the entry id (UUIDv7).
        occurred_at: when it happened (UTC, microseconds).
        actor: who acted.
        action: what was done.
        resource: what it was done to, if anything.
        result: how it ended.
        details_json: the details object as canonical JSON text, hashed verbatim.
        prev_hash: the hash of entry ``seq - 1`` (the genesis hash for ``seq`` 1).
        hash: ``sha256(prev_hash || canonical(entry))`` as lowercase hex.
    """

    tenant_id: str
    seq: int
    id: uuid.UUID
    occurred_at: datetime
    actor: ActorRef
    action: str
    resource: ResourceRef | None
    result: str
    details_json: str
    prev_hash: str
    hash: str

    @property
    def details(self) -> dict[str, object]:
        """The details object (raises ``ValueError`` when the text is not JSON)."""
        value = json.loads(self.details_json)
        if not isinstance(value, dict):
            msg = "the stored details are not a JSON object"
            raise ValueError(msg)  # noqa: TRY004 - a parse failure, not a type check
        return value


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last entry of a chain: its seq (0 when empty) and hash."""

    seq: int
    hash: str
