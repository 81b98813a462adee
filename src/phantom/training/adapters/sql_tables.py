"""The training tables (created by the context's Alembic branch, training0001).

Every table has ``tenant_id``; primary, unique and foreign keys include it. Times
are microseconds since the Unix epoch, as in the kernel. JSON documents (schemas,
profiles, params, tags) are text columns, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from phantom.kernel.db.metadata import new_metadata

__all__ = [
    "dataset_versions",
    "datasets",
    "experiments",
    "job_logs",
    "jobs",
    "metadata",
    "metric_spool",
    "run_artifacts",
    "runs",
]

metadata = new_metadata()

datasets = Table(
    "training_datasets",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("dataset_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "name"),
)

dataset_versions = Table(
    "training_dataset_versions",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("dataset_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("format", String(16), nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("columns", Text, nullable=False),
    Column("profile", Text, nullable=False),
    Column("source", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "dataset_id"],
        ["training_datasets.tenant_id", "training_datasets.dataset_id"],
    ),
)

experiments = Table(
    "training_experiments",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("experiment_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "name"),
)

runs = Table(
    "training_runs",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("experiment_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("dataset_id", String(64)),
    Column("dataset_version", Integer),
    Column("job_id", String(64)),
    Column("created_by", String(64), nullable=False),
    Column("started_at_us", BigInteger, nullable=False),
    Column("ended_at_us", BigInteger),
    ForeignKeyConstraint(
        ["tenant_id", "experiment_id"],
        ["training_experiments.tenant_id", "training_experiments.experiment_id"],
    ),
    Index("ix_training_runs_tenant_id_experiment_id", "tenant_id", "experiment_id"),
)

run_artifacts = Table(
    "training_run_artifacts",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "run_id"],
        ["training_runs.tenant_id", "training_runs.run_id"],
    ),
)

jobs = Table(
    "training_jobs",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("job_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("spec", Text, nullable=False),
    Column("files", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_retries", Integer, nullable=False),
    Column("not_before_us", BigInteger, nullable=False),
    Column("lease_owner", String(100)),
    Column("lease_expires_us", BigInteger),
    Column("cancel_requested", Integer, nullable=False),
    Column("progress", Text, nullable=False),
    Column("result", Text),
    Column("error", Text),
    Column("created_by", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("started_at_us", BigInteger),
    Column("finished_at_us", BigInteger),
    Index("ix_training_jobs_status_priority", "status", "priority"),
)

job_logs = Table(
    "training_job_logs",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("job_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("at_us", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("stream", String(8), nullable=False),
    Column("line", Text, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "job_id"],
        ["training_jobs.tenant_id", "training_jobs.job_id"],
    ),
)

metric_spool = Table(
    "training_metric_spool",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("spool_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp_us", BigInteger, nullable=False),
    Column("value", String(40), nullable=False),
    Index("ix_training_metric_spool_spool_id", "spool_id"),
)
