"""The tenancy tables (created by the context's Alembic branch, tenancy0001).

Every table has ``tenant_id``; primary, unique and foreign keys include it, with
two deliberate exceptions that are platform-wide handles by design (ADR 0009):
``tenancy_tenants.slug`` and ``tenancy_api_keys.prefix`` (how a presented key
finds its tenant). Times are microseconds since the Unix epoch, as in the kernel.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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

__all__ = ["api_keys", "metadata", "tenants", "users"]

metadata = new_metadata()

tenants = Table(
    "tenancy_tenants",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("slug", String(40), nullable=False),
    Column("isolation", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("max_users", Integer, nullable=False),
    Column("max_api_keys", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    UniqueConstraint("slug", name="uq_tenancy_tenants_slug"),
)

users = Table(
    "tenancy_users",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("is_platform_admin", Boolean, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "email", name="uq_tenancy_users_tenant_id_email"),
    ForeignKeyConstraint(
        ["tenant_id"],
        ["tenancy_tenants.tenant_id"],
        name="fk_tenancy_users_tenant_id_tenancy_tenants",
    ),
)

api_keys = Table(
    "tenancy_api_keys",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("key_id", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("prefix", String(10), nullable=False),
    Column("name", String(100), nullable=False),
    # Space-separated permissions; NULL: the user's permissions.
    Column("scopes", Text),
    # Credential state written next to the projection, never carried by an event.
    Column("secret_hash", String(64)),
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger),
    Column("revoked_at_us", BigInteger),
    Column("last_used_at_us", BigInteger),
    UniqueConstraint("prefix", name="uq_tenancy_api_keys_prefix"),
    ForeignKeyConstraint(
        ["tenant_id", "user_id"],
        ["tenancy_users.tenant_id", "tenancy_users.user_id"],
        name="fk_tenancy_api_keys_tenant_id_tenancy_users",
    ),
    Index("ix_tenancy_api_keys_tenant_id_user_id", "tenant_id", "user_id"),
)
