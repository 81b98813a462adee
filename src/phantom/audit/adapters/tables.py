"""The audit context's tables (created by its Alembic branch, ``migrations/``).

``audit_entries`` holds every tenant's chain, one row per entry, keyed by
``(tenant_id, seq)``; ``audit_checkpoints`` holds the signed checkpoints, apart from
the entries. Times are integer microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    Uuid,
)

from phantom.kernel.db.metadata import new_metadata

__all__ = ["checkpoints", "entries", "from_us", "metadata", "to_us"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

metadata = new_metadata()

entries = Table(
    "audit_entries",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", Uuid().with_variant(LargeBinary(16), "sqlite"), nullable=False),
    Column("occurred_at_us", BigInteger, nullable=False),
    Column("actor_kind", String(32), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("actor_via", String(64), nullable=False),
    # Binary order on PostgreSQL too, so an action prefix is an index range.
    Column(
        "action",
        String(200).with_variant(String(200, collation="C"), "postgresql"),
        nullable=False,
    ),
    Column("resource_type", String(100)),
    Column("resource_id", String(200)),
    Column("result", String(16), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_entries_time", "tenant_id", "occurred_at_us"),
    Index("ix_audit_entries_actor", "tenant_id", "actor_id", "seq"),
    Index("ix_audit_entries_action", "tenant_id", "action"),
    Index(
        "ix_audit_entries_resource", "tenant_id", "resource_type", "resource_id", "seq"
    ),
    Index("ix_audit_entries_result", "tenant_id", "result", "seq"),
)

checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("key_id", String(16), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("signed_at_us", BigInteger, nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
)


def to_us(when: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    """The aware UTC datetime ``value`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=value)
