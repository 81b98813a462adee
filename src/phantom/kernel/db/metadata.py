"""Table metadata conventions and the kernel's own tables.

Every context database also holds the kernel tables: the event store
(``kernel_events``, which doubles as the ordered outbox), snapshots, the relay's
cursor, the consumers' inbox and the dead letters. They are created by the kernel's
Alembic branch (``phantom/kernel/db/migrations``); the ``Table`` objects here
describe them for queries and tests.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

__all__ = [
    "NAMING_CONVENTION",
    "dead_letters",
    "events",
    "inbox",
    "kernel_metadata",
    "new_metadata",
    "relay_cursors",
    "snapshots",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """Return a ``MetaData`` with Phantom's naming convention (one per context)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


kernel_metadata = new_metadata()

_Position = BigInteger().with_variant(Integer, "sqlite")

events = Table(
    "kernel_events",
    kernel_metadata,
    Column("position", _Position, primary_key=True, autoincrement=True),
    Column("event_id", Uuid().with_variant(LargeBinary(16), "sqlite"), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("type", String(200), nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    Column("occurred_at_us", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("correlation_id", String(64)),
    Column("causation_id", String(64)),
    Column("data", Text, nullable=False),
    UniqueConstraint(
        "tenant_id", "stream_id", "stream_version", name="uq_kernel_events_stream"
    ),
)

snapshots = Table(
    "kernel_snapshots",
    kernel_metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("stream_id", String(200), primary_key=True),
    Column("stream_version", Integer, nullable=False),
    Column("type", String(200), nullable=False),
    Column("state", Text, nullable=False),
    Column("taken_at_us", BigInteger, nullable=False),
)

relay_cursors = Table(
    "kernel_relay_cursors",
    kernel_metadata,
    Column("relay", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

inbox = Table(
    "kernel_inbox",
    kernel_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("processed_at_us", BigInteger, nullable=False),
)

dead_letters = Table(
    "kernel_dead_letters",
    kernel_metadata,
    Column("id", Uuid, primary_key=True),
    Column("consumer", String(100), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failed_at_us", BigInteger, nullable=False),
    Column("replayed_at_us", BigInteger),
    Index("ix_kernel_dead_letters_consumer", "consumer", "replayed_at_us"),
)
