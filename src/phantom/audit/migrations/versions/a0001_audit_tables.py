"""Audit tables: the entries of every tenant's hash chain, and signed checkpoints.

Both tables are append-only. On SQLite, BEFORE UPDATE and BEFORE DELETE triggers
abort any change. On PostgreSQL, row triggers refuse UPDATE and DELETE and a statement
trigger refuses TRUNCATE, even for the owner; the app role is granted SELECT and
INSERT only, and row-level security confines it to the transaction's tenant
(ADR 0008, ADR 0010). The system role may read across tenants (platform-wide
verification and checkpointing).

Revision ID: a0001
Revises:
"""

from typing import cast

import sqlalchemy as sa
from alembic import op
from alembic.operations import Operations

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "a0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("audit_entries", "audit_checkpoints")
_id = sa.Uuid().with_variant(sa.LargeBinary(16), "sqlite")
# Binary ordering on PostgreSQL, as SQLite's default, so an action prefix is a range.
_action = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")

_SQLITE_TRIGGER = """
CREATE TRIGGER {table}_no_{verb} BEFORE {command} ON {table}
BEGIN
  SELECT RAISE(ABORT, '{table} is append-only: {command} refused');
END
"""
_PG_FUNCTION = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""
_PG_TRIGGERS = (
    (
        "CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
    ),
    (
        "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
    ),
)


def upgrade() -> None:
    """Create the tables, their indexes, the append-only triggers and the grants."""
    op.create_table(
        "audit_entries",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", _id, nullable=False),
        sa.Column("occurred_at_us", sa.BigInteger, nullable=False),
        sa.Column("actor_kind", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("actor_via", sa.String(64), nullable=False),
        sa.Column("action", _action, nullable=False),
        sa.Column("resource_type", sa.String(100)),
        sa.Column("resource_id", sa.String(200)),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    for name, columns in (
        ("time", ["tenant_id", "occurred_at_us"]),
        ("actor", ["tenant_id", "actor_id", "seq"]),
        ("action", ["tenant_id", "action"]),
        ("resource", ["tenant_id", "resource_type", "resource_id", "seq"]),
        ("result", ["tenant_id", "result", "seq"]),
    ):
        op.create_index(f"ix_audit_entries_{name}", "audit_entries", columns)
    op.create_table(
        "audit_checkpoints",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signed_at_us", sa.BigInteger, nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
    )
    _append_only()
    for table in _TABLES:
        grant_app_access(cast("Operations", op), table, ("SELECT", "INSERT"))
        enable_tenant_rls(cast("Operations", op), table, system=("SELECT",))


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in _TABLES:
            for statement in _PG_TRIGGERS:
                op.execute(statement.format(table=table))
        return
    for table in _TABLES:
        for verb, command in (("update", "UPDATE"), ("delete", "DELETE")):
            op.execute(_SQLITE_TRIGGER.format(table=table, verb=verb, command=command))


def downgrade() -> None:
    """Drop the audit tables (their triggers go with them)."""
    op.drop_table("audit_checkpoints")
    for name in ("result", "resource", "action", "actor", "time"):
        op.drop_index(f"ix_audit_entries_{name}", "audit_entries")
    op.drop_table("audit_entries")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_refuse_change()")
