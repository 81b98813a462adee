"""Privacy tables: the tenant's policy, its wrapped data key, the pseudonym vault.

Every table is confined to the transaction's tenant on PostgreSQL (ADR 0010).

Revision ID: privacy0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "privacy0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("privacy_policies", "privacy_keys", "privacy_pseudonyms")


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), nullable=False)


def _us(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False)


def upgrade() -> None:
    """Create the privacy tables, then secure them."""
    op.create_table(
        "privacy_policies",
        _id("tenant_id"),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        _id("updated_by"),
        _us("updated_at_us"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_privacy_policies"),
    )
    op.create_table(
        "privacy_keys",
        _id("tenant_id"),
        sa.Column("wrapped", sa.Text, nullable=False),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_privacy_keys"),
    )
    op.create_table(
        "privacy_pseudonyms",
        _id("tenant_id"),
        sa.Column("token", sa.String(80), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint("tenant_id", "token", name="pk_privacy_pseudonyms"),
    )
    for table in _TABLES:
        grant_app_access(op, table)
        enable_tenant_rls(op, table)


def downgrade() -> None:
    """Drop the privacy tables."""
    for table in reversed(_TABLES):
        op.drop_table(table)
