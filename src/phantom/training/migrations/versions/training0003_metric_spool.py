"""Metric points handed over by processes that are not the analytics writer.

The analytics store has one writer process, the API server (ADR 0013). A
standalone ``phantom worker`` writes its trials' points here, in the job's
tenant's transaction; the server drains them into the analytics store. The
system role may SELECT and DELETE across tenants, for the drain only.

Revision ID: training0003
Revises: training0002
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "training0003"
down_revision = "training0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the spool table, then secure it."""
    op.create_table(
        "training_metric_spool",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("spool_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp_us", sa.BigInteger, nullable=False),
        sa.Column("value", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "spool_id", name="pk_training_metric_spool"
        ),
    )
    op.create_index(
        "ix_training_metric_spool_spool_id", "training_metric_spool", ["spool_id"]
    )
    grant_app_access(op, "training_metric_spool", ("SELECT", "INSERT"))
    enable_tenant_rls(op, "training_metric_spool", system=("SELECT", "DELETE"))


def downgrade() -> None:
    """Drop the spool table."""
    op.drop_index("ix_training_metric_spool_spool_id", "training_metric_spool")
    op.drop_table("training_metric_spool")
