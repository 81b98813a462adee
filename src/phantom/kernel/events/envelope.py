"""The event envelope (DESIGN.md §4): what every stored and published event carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic_core import from_json, to_json

from phantom.kernel.context import SYSTEM, Actor
from phantom.kernel.ids import uuid7

__all__ = ["Envelope", "new_envelope"]


class Envelope(NamedTuple):
    """One domain event with its metadata (immutable).

    A ``NamedTuple`` rather than a frozen dataclass: envelopes are built and
    versioned once per event on the append path, where a frozen dataclass's
    ``__init__`` and ``replace`` cost 4x more (ADR 0003).

    Attributes:
        id: the event id (UUIDv7); appends are idempotent on it.
        type: ``<context>.<EventName>``, e.g. ``registry.ModelVersionRegistered``.
        schema_version: the version of ``data``'s shape, for upcasting.
        tenant_id: the tenant the event belongs to.
        stream_id: the aggregate (stream) the event belongs to.
        stream_version: 1-based, gapless position in the stream (set by the store).
        occurred_at: when it happened (UTC).
        actor: who caused it, and how they authenticated.
        correlation_id: the id shared by everything one request caused.
        causation_id: the id of the command or event that caused this one.
        data: the event's JSON payload.
        position: the global position in its store (``None`` until stored).
    """

    id: uuid.UUID
    type: str
    tenant_id: str
    stream_id: str
    data: dict[str, Any]
    occurred_at: datetime
    schema_version: int = 1
    stream_version: int = 0
    actor: Actor = SYSTEM
    correlation_id: str | None = None
    causation_id: str | None = None
    position: int | None = None

    @property
    def context(self) -> str:
        """The context that published the event (``type`` before the dot)."""
        return self.type.split(".", 1)[0]

    def with_version(self, stream_version: int) -> Envelope:
        """Return a copy at ``stream_version``."""
        return self._replace(stream_version=stream_version)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form used on the bus and in dead letters."""
        return {
            "id": str(self.id),
            "type": self.type,
            "schema_version": self.schema_version,
            "tenant_id": self.tenant_id,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor.to_dict(),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "data": self.data,
            "position": self.position,
        }

    def to_json(self) -> bytes:
        """Serialise to JSON bytes."""
        return to_json(self.to_dict())

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Envelope:
        """Rebuild an envelope from :meth:`to_dict` output."""
        return cls(
            id=uuid.UUID(raw["id"]),
            type=raw["type"],
            schema_version=int(raw.get("schema_version", 1)),
            tenant_id=raw["tenant_id"],
            stream_id=raw["stream_id"],
            stream_version=int(raw.get("stream_version", 0)),
            occurred_at=datetime.fromisoformat(raw["occurred_at"]),
            actor=Actor.from_dict(raw.get("actor") or SYSTEM.to_dict()),
            correlation_id=raw.get("correlation_id"),
            causation_id=raw.get("causation_id"),
            data=dict(raw.get("data") or {}),
            position=raw.get("position"),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Parse :meth:`to_json` output."""
        return cls.from_dict(from_json(raw))


def new_envelope(  # noqa: PLR0913 - the envelope's fields, all keyword-only
    type: str,  # noqa: A002 - the envelope field is called type
    *,
    tenant_id: str,
    stream_id: str,
    data: dict[str, Any],
    actor: Actor = SYSTEM,
    schema_version: int = 1,
    occurred_at: datetime | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Envelope:
    """Make a new, not yet stored envelope with a fresh UUIDv7 id."""
    return Envelope(
        id=uuid7(),
        type=type,
        tenant_id=tenant_id,
        stream_id=stream_id,
        data=data,
        occurred_at=occurred_at or datetime.now(UTC),
        schema_version=schema_version,
        actor=actor,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
