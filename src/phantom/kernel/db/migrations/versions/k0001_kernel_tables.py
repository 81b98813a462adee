"""Kernel tables: events (the outbox), snapshots, relay cursors, inbox, dead letters.

On PostgreSQL the app role gets only what the kernel does with each table, tenant
rows are confined by row-level security, and the system role reads across tenants
only where the relay and dead-letter listing need it (ADR 0010).

Revision ID: k0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "k0001"
down_revision = None
branch_labels = None
depends_on = None

_position = sa.BigInteger().with_variant(sa.Integer, "sqlite")
# 16 raw bytes on SQLite (half the size of SQLAlchemy's 32-hex text, ADR 0003).
_event_id = sa.Uuid().with_variant(sa.LargeBinary(16), "sqlite")


def upgrade() -> None:
    """Create the kernel tables."""
    op.create_table(
        "kernel_events",
        sa.Column("position", _position, sa.Identity(always=False), primary_key=True),
        sa.Column("event_id", _event_id, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("schema_version", sa.SmallInteger, nullable=False),
        sa.Column("occurred_at_us", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.String(64)),
        sa.Column("causation_id", sa.String(64)),
        sa.Column("data", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "stream_id", "stream_version", name="uq_kernel_events_stream"
        ),
    )
    op.create_table(
        "kernel_snapshots",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("taken_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "kernel_relay_cursors",
        sa.Column("relay", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "kernel_inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("processed_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "kernel_dead_letters",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("failed_at_us", sa.BigInteger, nullable=False),
        sa.Column("replayed_at_us", sa.BigInteger),
    )
    op.create_index(
        "ix_kernel_dead_letters_consumer",
        "kernel_dead_letters",
        ["consumer", "replayed_at_us"],
    )
    _secure()


def _secure() -> None:
    """Grants and row-level security (no-ops on SQLite)."""
    # Events are append-only for the app; the relay reads every tenant's.
    grant_app_access(op, "kernel_events", ("SELECT", "INSERT"))
    enable_tenant_rls(op, "kernel_events", system=("SELECT",))
    grant_app_access(op, "kernel_snapshots")
    enable_tenant_rls(op, "kernel_snapshots")
    # No tenant rows: the relay's own bookkeeping, the system role's alone.
    grant_app_access(
        op, "kernel_relay_cursors", (), system=("SELECT", "INSERT", "UPDATE")
    )
    # No tenant rows: (consumer, event id) pairs, written in the consumer's
    # tenant-scoped transaction.
    grant_app_access(op, "kernel_inbox", ("SELECT", "INSERT"))
    # Written and replayed in the event's tenant; listed across tenants by admins.
    grant_app_access(op, "kernel_dead_letters", ("SELECT", "INSERT", "UPDATE"))
    enable_tenant_rls(op, "kernel_dead_letters", system=("SELECT",))


def downgrade() -> None:
    """Drop the kernel tables."""
    op.drop_index("ix_kernel_dead_letters_consumer", "kernel_dead_letters")
    for table in (
        "kernel_dead_letters",
        "kernel_inbox",
        "kernel_relay_cursors",
        "kernel_snapshots",
        "kernel_events",
    ):
        op.drop_table(table)
