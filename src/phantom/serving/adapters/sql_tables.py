"""The serving tables (created by the context's Alembic branch, serving0001).

Every table has ``tenant_id`` first in its primary key. Times are microseconds
since the Unix epoch; JSON documents are text columns.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from phantom.kernel.db.metadata import new_metadata

__all__ = ["conversions", "deployments", "metadata", "traffic"]

metadata = new_metadata()

deployments = Table(
    "serving_deployments",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("deployment_id", String(64), primary_key=True),
    Column("model", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("alias", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("canary_percent", Integer),
    Column("state", String(16), nullable=False),
    Column("steps", Text, nullable=False),
    Column("previous_version", Integer),
    Column("previous_traffic", Text),
    Column("error", Text),
    Column("created_by", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

traffic = Table(
    "serving_traffic",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("alias", String(40), primary_key=True),
    Column("canary_version", Integer),
    Column("canary_percent", Integer),
    Column("shadow_version", Integer),
    Column("updated_at_us", BigInteger, nullable=False),
)

conversions = Table(
    "serving_conversions",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("source_digest", String(64), nullable=False),
    Column("onnx_digest", String(64), nullable=False),
    Column("classes", Text),
    Column("created_at_us", BigInteger, nullable=False),
)
