"""The privacy tables (created by the context's Alembic branch, privacy0001).

Every table has ``tenant_id`` first in its primary key. Times are microseconds
since the Unix epoch; keys and sealed values are URL-safe base64 text.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from phantom.kernel.db.metadata import new_metadata

__all__ = ["keys", "metadata", "policies", "pseudonyms"]

metadata = new_metadata()

policies = Table(
    "privacy_policies",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("document", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

keys = Table(
    "privacy_keys",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("wrapped", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

pseudonyms = Table(
    "privacy_pseudonyms",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("token", String(80), primary_key=True),
    Column("entity", String(64), nullable=False),
    Column("sealed", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)
