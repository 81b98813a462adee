"""The monitoring tables (created by the context's Alembic branch, monitoring0001).

Every table has ``tenant_id`` first in its primary key. Times are microseconds
since the Unix epoch; JSON documents are text columns; profiles live in the
artifact store under their digest.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Integer, String, Table, Text

from phantom.kernel.db.metadata import new_metadata

__all__ = ["alert_rules", "alert_states", "metadata", "policies", "profiles", "reports"]

metadata = new_metadata()

profiles = Table(
    "monitoring_profiles",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("features", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

policies = Table(
    "monitoring_policies",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("policy", Text, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

reports = Table(
    "monitoring_reports",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("report_id", String(64), primary_key=True),
    Column("model", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("since_us", BigInteger, nullable=False),
    Column("until_us", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("dataset_drifted", Boolean, nullable=False),
    Column("drift_share", Float, nullable=False),
    Column("drifted", Text, nullable=False),
    Column("report", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

alert_rules = Table(
    "monitoring_alert_rules",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("rule_id", String(64), primary_key=True),
    Column("rule", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

alert_states = Table(
    "monitoring_alert_states",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("rule_id", String(64), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("phase", String(16), nullable=False),
    Column("since_us", BigInteger, nullable=False),
    Column("value", Float),
    Column("last_delivery", Text),
    Column("updated_at_us", BigInteger, nullable=False),
)
