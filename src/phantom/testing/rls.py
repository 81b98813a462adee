"""What the PostgreSQL catalog must show for row-level security to hold (ADR 0010).

:func:`rls_catalog_problems` lists, in words, everything that breaks the rules in
the given schemas; a test asserts the list is empty, so a context whose migration
forgets :func:`~phantom.kernel.db.rls.enable_tenant_rls` fails CI by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from phantom.kernel.db.rls import TENANT_SETTING
from phantom.kernel.db.roles import DatabaseRoles

__all__ = ["rls_catalog_problems", "tenant_tables"]

_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}

_TABLES = """
SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
       pg_get_userbyid(c.relowner),
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
               AND a.attname = 'tenant_id' AND NOT a.attisdropped AND a.attnum > 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(:schemas) AND c.relkind IN ('r', 'p')
ORDER BY 1, 2
"""
_POLICIES = """
SELECT n.nspname, c.relname, p.polname, p.polcmd, p.polpermissive,
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(:schemas)
  AND (0 = ANY(p.polroles) OR (SELECT oid FROM pg_roles WHERE rolname = :app)
       = ANY(p.polroles))
"""
_ROLES = """
SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
FROM pg_roles WHERE rolname = ANY(:roles)
"""
_MEMBERSHIPS = """
SELECT m.rolname, b.rolname FROM pg_roles m CROSS JOIN pg_roles b
WHERE m.rolname = ANY(:roles) AND b.rolname <> m.rolname
  AND pg_has_role(m.oid, b.oid, 'MEMBER')
"""
_PRIVILEGES = """
SELECT n.nspname, c.relname, r.rolname, priv
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN (SELECT rolname FROM pg_roles WHERE rolname = ANY(:roles)) r
CROSS JOIN unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) priv
WHERE n.nspname = ANY(:schemas) AND c.relkind IN ('r', 'p')
  AND has_table_privilege(r.rolname, c.oid, priv)
"""
_SCHEMAS = """
SELECT n.nspname, r.rolname, pg_get_userbyid(n.nspowner) = r.rolname,
       has_schema_privilege(r.rolname, n.oid, 'CREATE')
FROM pg_namespace n
CROSS JOIN (SELECT rolname FROM pg_roles WHERE rolname = ANY(:roles)) r
WHERE n.nspname = ANY(:schemas)
"""


def tenant_tables(conn: Connection, schemas: Sequence[str]) -> list[str]:
    """``schema.table`` of every table with a ``tenant_id`` column in ``schemas``."""
    found = conn.execute(text(_TABLES), {"schemas": list(schemas)}).all()
    return [f"{row[0]}.{row[1]}" for row in found if row[5]]


def _table_problems(
    conn: Connection, schemas: list[str], roles: DatabaseRoles
) -> list[str]:
    problems: list[str] = []
    for schema, table, enabled, forced, owner, tenant in conn.execute(
        text(_TABLES), {"schemas": schemas}
    ):
        name = f"{schema}.{table}"
        if owner in (roles.app, roles.system):
            problems.append(f"{name} is owned by {owner}")
        if tenant and not enabled:
            problems.append(f"{name} has tenant rows but no ROW LEVEL SECURITY")
        if tenant and not forced:
            problems.append(f"{name} has tenant rows but no FORCE ROW LEVEL SECURITY")
    return problems


def _scoped(command: str, using: str | None, check: str | None) -> bool:
    def tenant_bound(expr: str | None) -> bool:
        return expr is not None and TENANT_SETTING in expr

    if command == "a":
        return tenant_bound(check)
    if command in ("r", "d"):
        return tenant_bound(using)
    return tenant_bound(using) and (check is None or tenant_bound(check))


def _policy_problems(
    conn: Connection, schemas: list[str], roles: DatabaseRoles
) -> list[str]:
    problems: list[str] = []
    covered: dict[str, set[str]] = {}
    policies = conn.execute(text(_POLICIES), {"schemas": schemas, "app": roles.app})
    for schema, table, policy, command, permissive, using, check in policies:
        name = f"{schema}.{table}"
        commands = set(_COMMANDS) if command == "*" else {command}
        if permissive and not all(_scoped(c, using, check) for c in commands):
            problems.append(f"{name}: policy {policy} is not bound to the tenant")
        if permissive:
            covered.setdefault(name, set()).update(commands)
    for name in tenant_tables(conn, schemas):
        missing = [_COMMANDS[c] for c in _COMMANDS if c not in covered.get(name, ())]
        if missing:
            problems.append(f"{name} has no {'/'.join(missing)} policy for {roles.app}")
    return problems


def _role_problems(
    conn: Connection, schemas: list[str], roles: DatabaseRoles
) -> list[str]:
    names = [roles.app, roles.system]
    problems: list[str] = []
    found = conn.execute(text(_ROLES), {"roles": names}).all()
    if len(found) != len(names):
        problems.append(f"the roles {names} do not all exist")
    for role, superuser, bypass, createrole, createdb in found:
        for flag, word in ((superuser, "SUPERUSER"), (bypass, "BYPASSRLS")):
            if flag:
                problems.append(f"role {role} is {word}")
        if createrole or createdb:
            problems.append(f"role {role} may create roles or databases")
    for role, other in conn.execute(text(_MEMBERSHIPS), {"roles": names}):
        problems.append(f"role {role} is a member of {other} and gets its rights")
    args = {"roles": names, "schemas": schemas}
    for schema, table, role, privilege in conn.execute(text(_PRIVILEGES), args):
        problems.append(f"role {role} has {privilege} on {schema}.{table}")
    for schema, role, owns, creates in conn.execute(text(_SCHEMAS), args):
        if owns or creates:
            problems.append(f"role {role} owns or may create in schema {schema}")
    return problems


def rls_catalog_problems(
    conn: Connection, schemas: Sequence[str], roles: DatabaseRoles
) -> list[str]:
    """Everything in ``schemas`` that breaks the row-level security rules.

    Every table with a ``tenant_id`` column has ``ENABLE`` and ``FORCE ROW LEVEL
    SECURITY`` and permissive policies, bound to ``app.tenant_id``, covering SELECT,
    INSERT, UPDATE and DELETE for the app role (or an ALL policy); no policy that
    applies to the app role ignores the tenant; neither role owns a table or the
    schema, may create in it, is SUPERUSER or BYPASSRLS, is a member of another
    role (whose policies and rights it would inherit), or holds TRUNCATE,
    REFERENCES or TRIGGER on any table.
    """
    chosen = list(schemas)
    return [
        *_table_problems(conn, chosen, roles),
        *_policy_problems(conn, chosen, roles),
        *_role_problems(conn, chosen, roles),
    ]
