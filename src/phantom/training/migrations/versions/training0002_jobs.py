"""Training jobs: the durable queue and each job's stored log lines.

The system role may SELECT and UPDATE ``training_jobs`` across tenants: a worker
leases the next job before it knows whose it is (ADR 0014). Everything else a
worker does runs in the job's tenant's transaction.

Revision ID: training0002
Revises: training0001
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "training0002"
down_revision = "training0001"
branch_labels = None
depends_on = None


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), nullable=False)


def upgrade() -> None:
    """Create the queue and log tables, then secure them."""
    op.create_table(
        "training_jobs",
        _id("tenant_id"),
        _id("job_id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_retries", sa.Integer, nullable=False),
        sa.Column("not_before_us", sa.BigInteger, nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_expires_us", sa.BigInteger),
        sa.Column("cancel_requested", sa.Integer, nullable=False),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("error", sa.Text),
        _id("created_by"),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("started_at_us", sa.BigInteger),
        sa.Column("finished_at_us", sa.BigInteger),
        sa.PrimaryKeyConstraint("tenant_id", "job_id", name="pk_training_jobs"),
    )
    op.create_index(
        "ix_training_jobs_status_priority", "training_jobs", ["status", "priority"]
    )
    op.create_table(
        "training_job_logs",
        _id("tenant_id"),
        _id("job_id"),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("stream", sa.String(8), nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "job_id", "seq", name="pk_training_job_logs"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["training_jobs.tenant_id", "training_jobs.job_id"],
            name="fk_training_job_logs_tenant_id_training_jobs",
        ),
    )
    grant_app_access(op, "training_jobs")
    enable_tenant_rls(op, "training_jobs", system=("SELECT", "UPDATE"))
    grant_app_access(op, "training_job_logs")
    enable_tenant_rls(op, "training_job_logs")


def downgrade() -> None:
    """Drop the queue and log tables."""
    op.drop_table("training_job_logs")
    op.drop_index("ix_training_jobs_status_priority", "training_jobs")
    op.drop_table("training_jobs")
