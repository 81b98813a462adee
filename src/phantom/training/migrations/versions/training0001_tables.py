"""Training tables: datasets and their versions, experiments, runs, run artifacts.

Every table is confined to the transaction's tenant on PostgreSQL (ADR 0010).
Metric points live in the analytics store, not here.

Revision ID: training0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "training0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = (
    "training_datasets",
    "training_dataset_versions",
    "training_experiments",
    "training_runs",
    "training_run_artifacts",
)


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), nullable=False)


def _us(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=nullable)


def upgrade() -> None:
    """Create the training tables, then secure them."""
    op.create_table(
        "training_datasets",
        _id("tenant_id"),
        _id("dataset_id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        _id("created_by"),
        _us("created_at_us"),
        _us("updated_at_us"),
        sa.PrimaryKeyConstraint("tenant_id", "dataset_id", name="pk_training_datasets"),
        sa.UniqueConstraint(
            "tenant_id", "name", name="uq_training_datasets_tenant_id_name"
        ),
    )
    op.create_table(
        "training_dataset_versions",
        _id("tenant_id"),
        _id("dataset_id"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        _id("created_by"),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "dataset_id", "version", name="pk_training_dataset_versions"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dataset_id"],
            ["training_datasets.tenant_id", "training_datasets.dataset_id"],
            name="fk_training_dataset_versions_tenant_id_training_datasets",
        ),
    )
    op.create_table(
        "training_experiments",
        _id("tenant_id"),
        _id("experiment_id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        _id("created_by"),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "experiment_id", name="pk_training_experiments"
        ),
        sa.UniqueConstraint(
            "tenant_id", "name", name="uq_training_experiments_tenant_id_name"
        ),
    )
    op.create_table(
        "training_runs",
        _id("tenant_id"),
        _id("run_id"),
        _id("experiment_id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.String(64)),
        sa.Column("dataset_version", sa.Integer),
        sa.Column("job_id", sa.String(64)),
        _id("created_by"),
        _us("started_at_us"),
        _us("ended_at_us", nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "run_id", name="pk_training_runs"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "experiment_id"],
            ["training_experiments.tenant_id", "training_experiments.experiment_id"],
            name="fk_training_runs_tenant_id_training_experiments",
        ),
    )
    op.create_index(
        "ix_training_runs_tenant_id_experiment_id",
        "training_runs",
        ["tenant_id", "experiment_id"],
    )
    op.create_table(
        "training_run_artifacts",
        _id("tenant_id"),
        _id("run_id"),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        _us("created_at_us"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "run_id", "name", name="pk_training_run_artifacts"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["training_runs.tenant_id", "training_runs.run_id"],
            name="fk_training_run_artifacts_tenant_id_training_runs",
        ),
    )
    for table in _TABLES:
        grant_app_access(op, table)
        enable_tenant_rls(op, table)


def downgrade() -> None:
    """Drop the training tables."""
    op.drop_index("ix_training_runs_tenant_id_experiment_id", "training_runs")
    for table in reversed(_TABLES):
        op.drop_table(table)
