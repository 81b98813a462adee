"""The ``audit-trail`` consumer: every domain event becomes one entry of its chain.

The consumer is subscribed to every subject (``>``). The kernel's
:class:`~phantom.kernel.events.inbox.Consumer` runs :func:`audit_trail_effect` in
one transaction of the audit database scoped to the event's tenant, together with
the ``(audit-trail, event_id)`` inbox row: a redelivered event finds its inbox row
and is skipped, so each event is appended exactly once.

The entry records *that* something happened, not the payload (which may hold
personal data, DESIGN §5): action = the event type, actor = the envelope's actor,
resource = the event's stream, result ``success``, details = event id, stream
version, schema version and correlation/causation ids. Events of the audit context
itself (``audit.*``) are skipped, so the trail never feeds on itself.
"""

from __future__ import annotations

from datetime import UTC
from typing import Final

from sqlalchemy import Connection

from phantom.audit.adapters.sql import SqlAuditLog
from phantom.audit.domain.entry import ActorRef, EntryDraft, ResourceRef, clip
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.inbox import Effect

__all__ = [
    "AUDIT_CONTEXT",
    "AUDIT_TRAIL_CONSUMER",
    "STREAM_RESOURCE",
    "audit_trail_effect",
    "event_draft",
]

AUDIT_CONTEXT: Final = "audit"
"""The audit context's name: its database, schema and event-type prefix."""

AUDIT_TRAIL_CONSUMER: Final = "audit-trail"
"""The durable name of the consumer (its inbox rows and bus subscription)."""

STREAM_RESOURCE: Final = "stream"
"""The resource type of event entries; the resource id is the event's stream."""


def event_draft(envelope: Envelope) -> EntryDraft:
    """The audit entry of one domain event (a summary, never the payload)."""
    actor = envelope.actor
    occurred_at = envelope.occurred_at
    if occurred_at.utcoffset() is None:  # envelopes are UTC; never fail on one
        occurred_at = occurred_at.replace(tzinfo=UTC)
    return EntryDraft(
        action=clip("action", envelope.type),
        actor=ActorRef(
            kind=clip("actor kind", actor.kind),
            id=clip("actor id", actor.id),
            via=clip("actor via", actor.via),
        ),
        occurred_at=occurred_at,
        result="success",
        resource=ResourceRef(STREAM_RESOURCE, clip("resource id", envelope.stream_id)),
        details={
            "event_id": str(envelope.id),
            "stream_version": envelope.stream_version,
            "schema_version": envelope.schema_version,
            "correlation_id": envelope.correlation_id,
            "causation_id": envelope.causation_id,
        },
    )


def audit_trail_effect(schema: str | None = AUDIT_CONTEXT) -> Effect:
    """The consumer effect appending each event to its tenant's chain.

    Args:
        schema: the audit database's PostgreSQL schema. It keys the advisory lock
            that serialises appends, so it must be the one the recorder's
            :class:`~phantom.audit.adapters.sql.SqlAuditLog` uses (the context
            name, as :func:`~phantom.kernel.db.engine.open_database` names it).

    Returns:
        An effect for :class:`~phantom.kernel.module.ConsumerSpec`.
    """
    logs: dict[str, SqlAuditLog] = {}

    def effect(conn: Connection, envelope: Envelope) -> None:
        if envelope.context == AUDIT_CONTEXT:
            return
        dialect = conn.dialect.name
        log = logs.get(dialect)
        if log is None:
            log = logs[dialect] = SqlAuditLog(
                "postgresql" if dialect == "postgresql" else "sqlite", schema
            )
        log.append(conn, envelope.tenant_id, [event_draft(envelope)])

    return effect
