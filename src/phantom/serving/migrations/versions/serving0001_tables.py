"""Serving tables: deployments (the deploy saga), traffic splits, ONNX conversions.

Every table is confined to the transaction's tenant on PostgreSQL (ADR 0010).

Revision ID: serving0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import Privilege, enable_tenant_rls, grant_app_access

revision = "serving0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("serving_deployments", "serving_traffic", "serving_conversions")


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), nullable=False)


def _us(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False)


def upgrade() -> None:
    """Create the serving tables, then secure them."""
    op.create_table(
        "serving_deployments",
        _id("tenant_id"),
        _id("deployment_id"),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("canary_percent", sa.Integer),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("previous_version", sa.Integer),
        sa.Column("previous_traffic", sa.Text),
        sa.Column("error", sa.Text),
        _id("created_by"),
        _us("created_at_us"),
        _us("updated_at_us"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "deployment_id", name="pk_serving_deployments"
        ),
    )
    op.create_index(
        "ix_serving_deployments_model",
        "serving_deployments",
        ["tenant_id", "model", "created_at_us"],
    )
    op.create_index("ix_serving_deployments_state", "serving_deployments", ["state"])
    op.create_table(
        "serving_traffic",
        _id("tenant_id"),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("alias", sa.String(40), nullable=False),
        sa.Column("canary_version", sa.Integer),
        sa.Column("canary_percent", sa.Integer),
        sa.Column("shadow_version", sa.Integer),
        _us("updated_at_us"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "model", "alias", name="pk_serving_traffic"
        ),
    )
    op.create_table(
        "serving_conversions",
        _id("tenant_id"),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _id("source_digest"),
        _id("onnx_digest"),
        sa.Column("classes", sa.Text),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "model", "version", name="pk_serving_conversions"
        ),
    )
    for table in _TABLES:
        grant_app_access(op, table)
        # The saga's recovery finds unfinished deployments of every tenant.
        system: tuple[Privilege, ...] = (
            ("SELECT",) if table == "serving_deployments" else ()
        )
        enable_tenant_rls(op, table, system=system)


def downgrade() -> None:
    """Drop the serving tables."""
    for table in reversed(_TABLES):
        op.drop_table(table)
