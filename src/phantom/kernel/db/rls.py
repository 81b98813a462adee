"""PostgreSQL row-level security: roles, grants and tenant policies (ADR 0010).

Every context's migrations call two helpers, which do nothing on SQLite::

    from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

    def upgrade() -> None:
        op.create_table("registry_models", sa.Column("tenant_id", ...), ...)
        grant_app_access(op, "registry_models")
        enable_tenant_rls(op, "registry_models")

:func:`grant_app_access` gives the app role DML (never TRUNCATE, REFERENCES,
TRIGGER or DDL) on a table. :func:`enable_tenant_rls` turns on ``ENABLE`` and
``FORCE ROW LEVEL SECURITY`` with one policy per command for the app role, all on
``tenant_id = current_setting('app.tenant_id', true)``: a transaction sees and
writes the rows of the tenant it set (:func:`phantom.kernel.db.tenant.set_tenant`)
and, with no tenant set, none at all. The migration runner creates the roles and
grants schema usage (:func:`ensure_roles`, :func:`grant_schema_access`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Literal, Protocol

from sqlalchemy import Connection, text

from phantom.kernel.db.roles import DatabaseRoles
from phantom.kernel.errors import ConfigError

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext

__all__ = [
    "APP_PRIVILEGES",
    "TENANT_SETTING",
    "MigrationOperations",
    "Privilege",
    "enable_tenant_rls",
    "ensure_roles",
    "grant_app_access",
    "grant_schema_access",
    "tenant_match",
]

Privilege = Literal["SELECT", "INSERT", "UPDATE", "DELETE"]
"""The only table privileges the app and system roles are ever granted."""

APP_PRIVILEGES: Final[tuple[Privilege, ...]] = ("SELECT", "INSERT", "UPDATE", "DELETE")
"""What :func:`grant_app_access` grants unless told otherwise."""

TENANT_SETTING: Final = "app.tenant_id"
"""The transaction-local setting that names the current tenant."""


class MigrationOperations(Protocol):
    """What the helpers use of ``alembic.op`` (or an ``Operations`` object)."""

    def get_bind(self) -> Connection:
        """The connection the migration runs on."""
        ...

    def get_context(self) -> MigrationContext:
        """The running migration context."""
        ...

    def execute(self, sqltext: str) -> None:
        """Run one statement."""
        ...


_CURRENT_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')"
# After a transaction that set it ends, the setting reads '' rather than NULL:
# NULLIF turns both into NULL, which equals nothing.

_ROLE_ATTRIBUTES = "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
_ENSURE_ROLE = """
DO $phantom$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{name}') THEN
    BEGIN
      CREATE ROLE {role} {attributes} NOREPLICATION;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;  -- created by a concurrent migration of another database
    END;
  END IF;
  IF NOT pg_catalog.pg_has_role(current_user, '{name}', 'MEMBER') THEN
    BEGIN
      GRANT {role} TO CURRENT_USER;
    EXCEPTION WHEN unique_violation THEN
      NULL;
    END;
  END IF;
END
$phantom$
"""
_PRIVILEGED = (
    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname IN (:app, :system)"
    " AND (rolsuper OR rolbypassrls) ORDER BY rolname"
)
_COLUMN_TYPE = (
    "SELECT t.typcategory, format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a"
    " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
    " WHERE a.attrelid = to_regclass(:table) AND a.attname = :column"
    " AND NOT a.attisdropped"
)


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def ensure_roles(conn: Connection, roles: DatabaseRoles) -> None:
    """Create the app and system roles if missing and let the current user use them.

    Roles are cluster-wide: this is idempotent and safe against another database
    being migrated at the same time. An existing role is kept as it is (operators
    may make it a LOGIN role), but never one that bypasses row-level security.

    Raises:
        ConfigError: one of the roles is a superuser or has BYPASSRLS.
    """
    for name in (roles.app, roles.system):
        statement = _ENSURE_ROLE.format(
            name=name, role=_quote(conn, name), attributes=_ROLE_ATTRIBUTES
        )
        conn.execute(text(statement))
    privileged = conn.execute(
        text(_PRIVILEGED), {"app": roles.app, "system": roles.system}
    ).scalars()
    names = ", ".join(privileged)
    if names:
        msg = (
            f"role(s) {names} are SUPERUSER or BYPASSRLS, so row-level security "
            "would not apply to them; use other PHANTOM_DATABASE_*_ROLE names"
        )
        raise ConfigError(msg)


def grant_schema_access(conn: Connection, schema: str, roles: DatabaseRoles) -> None:
    """Grant both roles ``USAGE`` on ``schema`` and the app role its sequences.

    Nothing else on the schema: neither role may create objects in it.
    """
    where, app, system = (_quote(conn, n) for n in (schema, roles.app, roles.system))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {where} TO {app}, {system}"))
    conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {where} TO {app}"))


def _postgres(op: MigrationOperations) -> Connection | None:
    bind = op.get_bind()
    return bind if bind.dialect.name == "postgresql" else None


def _roles(op: MigrationOperations, roles: DatabaseRoles | None) -> DatabaseRoles:
    if roles is not None:
        return roles
    config = op.get_context().config
    configured = None if config is None else config.attributes.get("roles")
    return configured if isinstance(configured, DatabaseRoles) else DatabaseRoles()


def _privileges(privileges: Iterable[str]) -> tuple[Privilege, ...]:
    chosen = list(dict.fromkeys(p.upper() for p in privileges))
    refused = [p for p in chosen if p not in APP_PRIVILEGES]
    if refused:
        msg = f"only {', '.join(APP_PRIVILEGES)} may be granted, not {refused}"
        raise ConfigError(msg)
    return tuple(p for p in APP_PRIVILEGES if p in chosen)


def grant_app_access(
    op: MigrationOperations,
    table: str,
    privileges: Iterable[Privilege] = APP_PRIVILEGES,
    *,
    system: Iterable[Privilege] = (),
    roles: DatabaseRoles | None = None,
) -> None:
    """Grant the app role ``privileges`` on ``table`` (and the system role ``system``).

    Call it for every table the application uses, with tenant rows or not. A
    context that wants an append-only table grants ``("SELECT", "INSERT")``. No-op
    on SQLite.

    Args:
        op: the migration's ``alembic.op``.
        table: the table, in the context's schema.
        privileges: what the app role may do (a subset of :data:`APP_PRIVILEGES`).
        system: what the system role may do; empty for anything tenant-scoped that
            no kernel component reads across tenants.
        roles: the role names; by default those the migration runner was given.

    Raises:
        ConfigError: a privilege outside SELECT/INSERT/UPDATE/DELETE was asked for.
    """
    granted = (_privileges(privileges), _privileges(system))
    conn = _postgres(op)
    if conn is None:
        return
    names = _roles(op, roles)
    target = _quote(conn, table)
    for what, role in zip(granted, (names.app, names.system), strict=True):
        if what:
            op.execute(f"GRANT {', '.join(what)} ON {target} TO {_quote(conn, role)}")


def tenant_match(conn: Connection, table: str, column: str = "tenant_id") -> str:
    """The policy expression ``<column> = <current tenant>`` for ``table``.

    String columns are compared as they are (a cast to ``varchar(n)`` would
    truncate); other types (``uuid``) get the setting cast to the column's type.

    Raises:
        ConfigError: ``table`` has no such column.
    """
    row = conn.execute(
        text(_COLUMN_TYPE), {"table": _quote(conn, table), "column": column}
    ).first()
    if row is None:
        msg = f"table {table!r} has no column {column!r} to scope rows by tenant"
        raise ConfigError(msg)
    category, type_name = row
    current = (
        _CURRENT_TENANT if category == "S" else f"({_CURRENT_TENANT})::{type_name}"
    )
    return f"{_quote(conn, column)} = {current}"


_APP_CLAUSES: Final[dict[Privilege, str]] = {
    "SELECT": "USING ({match})",
    "INSERT": "WITH CHECK ({match})",
    "UPDATE": "USING ({match}) WITH CHECK ({match})",
    "DELETE": "USING ({match})",
}


def _policy(name: str, target: str, command: Privilege, role: str, match: str) -> str:
    clause = _APP_CLAUSES[command].format(match=match)
    return f"CREATE POLICY {name} ON {target} FOR {command} TO {role} {clause}"


def enable_tenant_rls(
    op: MigrationOperations,
    table: str,
    *,
    system: Iterable[Privilege] = (),
    column: str = "tenant_id",
    roles: DatabaseRoles | None = None,
) -> None:
    """Confine ``table`` to the transaction's tenant with row-level security.

    ``ENABLE`` and ``FORCE ROW LEVEL SECURITY`` (the owner is bound too, unless it
    is a superuser or BYPASSRLS), and policies ``tenant_select``, ``tenant_insert``,
    ``tenant_update`` and ``tenant_delete`` for the app role (``USING`` and ``WITH
    CHECK`` where the command has them). No-op on SQLite.

    Args:
        op: the migration's ``alembic.op``.
        table: a table with a tenant column, in the context's schema.
        system: commands the system role may run across every tenant; each gets a
            ``system_<command>`` policy and the matching grant. Keep it empty unless
            a kernel component needs it, and say why in the context's ADR.
        column: the tenant column.
        roles: the role names; by default those the migration runner was given.

    Raises:
        ConfigError: ``table`` has no ``column``, or a command is not DML.
    """
    commands = _privileges(system)
    conn = _postgres(op)
    if conn is None:
        return
    names = _roles(op, roles)
    target, app = _quote(conn, table), _quote(conn, names.app)
    match = tenant_match(conn, table, column)
    op.execute(f"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {target} FORCE ROW LEVEL SECURITY")
    for command in APP_PRIVILEGES:
        name = f"tenant_{command.lower()}"
        op.execute(_policy(name, target, command, app, match))
    if commands:
        system_role = _quote(conn, names.system)
        op.execute(f"GRANT {', '.join(commands)} ON {target} TO {system_role}")
        for command in commands:
            name = f"system_{command.lower()}"
            op.execute(_policy(name, target, command, system_role, "true"))
