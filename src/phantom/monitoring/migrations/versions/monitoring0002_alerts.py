"""Alert rules and their per-model state.

Revision ID: monitoring0002
Revises: monitoring0001
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "monitoring0002"
down_revision = "monitoring0001"
branch_labels = None
depends_on = None

_TABLES = ("monitoring_alert_rules", "monitoring_alert_states")


def upgrade() -> None:
    """Create the alert tables, then secure them."""
    op.create_table(
        "monitoring_alert_rules",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "rule_id", name="pk_monitoring_alert_rules"
        ),
    )
    op.create_table(
        "monitoring_alert_states",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("since_us", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("last_delivery", sa.Text),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "rule_id", "model", name="pk_monitoring_alert_states"
        ),
    )
    for table in _TABLES:
        grant_app_access(op, table)
        # The scheduled evaluation reads every tenant's rules.
        enable_tenant_rls(
            op,
            table,
            system=("SELECT",) if table == "monitoring_alert_rules" else (),
        )


def downgrade() -> None:
    """Drop the alert tables."""
    for table in reversed(_TABLES):
        op.drop_table(table)
