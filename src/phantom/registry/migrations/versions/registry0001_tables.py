"""Registry tables: models, their versions, current aliases and alias history.

Every table is confined to the transaction's tenant on PostgreSQL (ADR 0010).

Revision ID: registry0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "registry0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = (
    "registry_models",
    "registry_model_versions",
    "registry_aliases",
    "registry_alias_history",
)
_VERSION_KEY = (
    ["tenant_id", "model_id", "version"],
    [
        "registry_model_versions.tenant_id",
        "registry_model_versions.model_id",
        "registry_model_versions.version",
    ],
)


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), nullable=False)


def _us(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=nullable)


def upgrade() -> None:
    """Create the registry tables, then secure them."""
    op.create_table(
        "registry_models",
        _id("tenant_id"),
        _id("model_id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("archived", sa.Integer, nullable=False),
        _id("created_by"),
        _us("created_at_us"),
        _us("updated_at_us"),
        sa.PrimaryKeyConstraint("tenant_id", "model_id", name="pk_registry_models"),
        sa.UniqueConstraint(
            "tenant_id", "name", name="uq_registry_models_tenant_id_name"
        ),
    )
    op.create_table(
        "registry_model_versions",
        _id("tenant_id"),
        _id("model_id"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("dataset_id", sa.String(64)),
        sa.Column("dataset_version", sa.Integer),
        sa.Column("run_id", sa.String(64)),
        sa.Column("job_id", sa.String(64)),
        sa.Column("parent_version", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        _id("created_by"),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "model_id", "version", name="pk_registry_model_versions"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "model_id"],
            ["registry_models.tenant_id", "registry_models.model_id"],
            name="fk_registry_model_versions_tenant_id_registry_models",
        ),
    )
    op.create_table(
        "registry_aliases",
        _id("tenant_id"),
        _id("model_id"),
        sa.Column("alias", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "model_id", "alias", name="pk_registry_aliases"
        ),
        sa.ForeignKeyConstraint(
            *_VERSION_KEY,
            name="fk_registry_aliases_tenant_id_registry_model_versions",
        ),
    )
    op.create_table(
        "registry_alias_history",
        _id("tenant_id"),
        _id("model_id"),
        sa.Column("alias", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _us("valid_from_us"),
        _us("valid_to_us", nullable=True),
        _id("set_by"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "model_id", "alias", "seq", name="pk_registry_alias_history"
        ),
        sa.ForeignKeyConstraint(
            *_VERSION_KEY,
            name="fk_registry_alias_history_tenant_id_registry_model_versions",
        ),
    )
    for table in _TABLES:
        grant_app_access(op, table)
        enable_tenant_rls(op, table)


def downgrade() -> None:
    """Drop the registry tables."""
    for table in reversed(_TABLES):
        op.drop_table(table)
