"""Monitoring tables: reference profiles, drift policies, the drift report history.

Every table is confined to the transaction's tenant on PostgreSQL (ADR 0010).

Revision ID: monitoring0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "monitoring0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("monitoring_profiles", "monitoring_policies", "monitoring_reports")


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), nullable=False)


def _us(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False)


def upgrade() -> None:
    """Create the monitoring tables, then secure them."""
    op.create_table(
        "monitoring_profiles",
        _id("tenant_id"),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _id("digest"),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("features", sa.Text, nullable=False),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "model", "version", name="pk_monitoring_profiles"
        ),
    )
    op.create_table(
        "monitoring_policies",
        _id("tenant_id"),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        _id("updated_by"),
        _us("updated_at_us"),
        sa.PrimaryKeyConstraint("tenant_id", "model", name="pk_monitoring_policies"),
    )
    op.create_table(
        "monitoring_reports",
        _id("tenant_id"),
        _id("report_id"),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _us("since_us"),
        _us("until_us"),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("dataset_drifted", sa.Boolean, nullable=False),
        sa.Column("drift_share", sa.Float, nullable=False),
        sa.Column("drifted", sa.Text, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint("tenant_id", "report_id", name="pk_monitoring_reports"),
    )
    op.create_index(
        "ix_monitoring_reports_model",
        "monitoring_reports",
        ["tenant_id", "model", "created_at_us"],
    )
    for table in _TABLES:
        grant_app_access(op, table)
        # The scheduled drift run lists every tenant's profiled versions.
        enable_tenant_rls(
            op, table, system=("SELECT",) if table == "monitoring_profiles" else ()
        )


def downgrade() -> None:
    """Drop the monitoring tables."""
    for table in reversed(_TABLES):
        op.drop_table(table)
