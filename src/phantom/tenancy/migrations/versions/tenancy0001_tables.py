"""Tenancy tables: tenants, users, API keys; their grants and row-level security.

On PostgreSQL every table is confined to the transaction's tenant for the app role
(ADR 0010). The system role reads across tenants only what platform-scope work
needs (ADR 0009): whole tenant rows (the platform administrators' tenant list, the
slug check), and two columns of the API keys, ``prefix`` and ``tenant_id``, so a
presented key can find its tenant before that tenant is known. Never a hash.

Revision ID: tenancy0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access
from phantom.kernel.db.roles import DatabaseRoles

revision = "tenancy0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tenancy tables, then secure them."""
    _tenants()
    _users()
    _api_keys()
    _secure()


def _tenants() -> None:
    op.create_table(
        "tenancy_tenants",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(40), nullable=False),
        sa.Column("isolation", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("max_users", sa.Integer, nullable=False),
        sa.Column("max_api_keys", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenancy_tenants"),
        sa.UniqueConstraint("slug", name="uq_tenancy_tenants_slug"),
    )


def _users() -> None:
    op.create_table(
        "tenancy_users",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("is_platform_admin", sa.Boolean, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name="pk_tenancy_users"),
        sa.UniqueConstraint(
            "tenant_id", "email", name="uq_tenancy_users_tenant_id_email"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenancy_tenants.tenant_id"],
            name="fk_tenancy_users_tenant_id_tenancy_tenants",
        ),
    )


def _api_keys() -> None:
    op.create_table(
        "tenancy_api_keys",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.Text),
        sa.Column("secret_hash", sa.String(64)),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger),
        sa.Column("revoked_at_us", sa.BigInteger),
        sa.Column("last_used_at_us", sa.BigInteger),
        sa.PrimaryKeyConstraint("tenant_id", "key_id", name="pk_tenancy_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_tenancy_api_keys_prefix"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["tenancy_users.tenant_id", "tenancy_users.user_id"],
            name="fk_tenancy_api_keys_tenant_id_tenancy_users",
        ),
    )
    op.create_index(
        "ix_tenancy_api_keys_tenant_id_user_id",
        "tenancy_api_keys",
        ["tenant_id", "user_id"],
    )


def _secure() -> None:
    """Grants and row-level security (no-ops on SQLite)."""
    grant_app_access(op, "tenancy_tenants", ("SELECT", "INSERT", "UPDATE"))
    enable_tenant_rls(op, "tenancy_tenants", system=("SELECT",))
    grant_app_access(op, "tenancy_users")
    enable_tenant_rls(op, "tenancy_users")
    grant_app_access(op, "tenancy_api_keys")
    enable_tenant_rls(op, "tenancy_api_keys")
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    config = op.get_context().config
    configured = None if config is None else config.attributes.get("roles")
    roles = configured if isinstance(configured, DatabaseRoles) else DatabaseRoles()
    system = bind.dialect.identifier_preparer.quote_identifier(roles.system)
    # Column privileges: the system role can map a prefix to its tenant, nothing more.
    op.execute(f"GRANT SELECT (prefix, tenant_id) ON tenancy_api_keys TO {system}")
    op.execute(
        "CREATE POLICY system_select ON tenancy_api_keys FOR SELECT"
        f" TO {system} USING (true)"
    )


def downgrade() -> None:
    """Drop the tenancy tables."""
    op.drop_index("ix_tenancy_api_keys_tenant_id_user_id", "tenancy_api_keys")
    op.drop_table("tenancy_api_keys")
    op.drop_table("tenancy_users")
    op.drop_table("tenancy_tenants")
