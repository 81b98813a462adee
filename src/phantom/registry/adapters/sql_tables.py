"""The registry tables (created by the context's Alembic branch, registry0001).

Every table has ``tenant_id``; primary, unique and foreign keys include it. Times
are microseconds since the Unix epoch, as in the kernel. JSON documents
(signature, metrics, params) are text columns, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from phantom.kernel.db.metadata import new_metadata

__all__ = ["alias_history", "aliases", "metadata", "model_versions", "models"]

metadata = new_metadata()

models = Table(
    "registry_models",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("model_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("archived", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "name"),
)

model_versions = Table(
    "registry_model_versions",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("model_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("format", String(16), nullable=False),
    Column("signature", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("source", String(16), nullable=False),
    Column("dataset_id", String(64)),
    Column("dataset_version", Integer),
    Column("run_id", String(64)),
    Column("job_id", String(64)),
    Column("parent_version", Integer),
    Column("status", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "model_id"],
        ["registry_models.tenant_id", "registry_models.model_id"],
    ),
)

aliases = Table(
    "registry_aliases",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("model_id", String(64), primary_key=True),
    Column("alias", String(40), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "model_id", "version"],
        [
            "registry_model_versions.tenant_id",
            "registry_model_versions.model_id",
            "registry_model_versions.version",
        ],
    ),
)

alias_history = Table(
    "registry_alias_history",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("model_id", String(64), primary_key=True),
    Column("alias", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("valid_from_us", BigInteger, nullable=False),
    Column("valid_to_us", BigInteger),
    Column("set_by", String(64), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "model_id", "version"],
        [
            "registry_model_versions.tenant_id",
            "registry_model_versions.model_id",
            "registry_model_versions.version",
        ],
    ),
)
