"""Apply Alembic migrations to a context database, one version table per branch.

Each database gets the kernel branch (version table ``kernel_alembic_version``) and
then the context's own branch, if it ships one (``<context>_alembic_version``).
Migrations run on the owner engine. On PostgreSQL the context's schema is created
first, and the app and system roles (ADR 0010) are created if missing and granted
``USAGE`` on the schema; migration scripts reach the role names through
:func:`phantom.kernel.db.rls.grant_app_access` and
:func:`~phantom.kernel.db.rls.enable_tenant_rls`. After each branch the app role is
granted ``USAGE`` on the schema's sequences.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from phantom.kernel.db.engine import Database
from phantom.kernel.db.rls import ensure_roles, grant_schema_access

__all__ = ["KERNEL_MIGRATIONS", "migrate"]

log = structlog.get_logger(__name__)

KERNEL_MIGRATIONS = Path(str(files("phantom.kernel.db") / "migrations"))


def _schema(conn: Connection, db: Database) -> str | None:
    if db.schema is None:
        return None
    return conn.dialect.identifier_preparer.quote_identifier(db.schema)


def _prepare(db: Database) -> None:
    """Create the schema and the roles, and let the roles into the schema."""
    with db.owner_engine.begin() as conn:
        schema = _schema(conn, db)
        if schema is None:
            return
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        if db.roles is not None:
            ensure_roles(conn, db.roles)


def _upgrade(db: Database, location: Path, version_table: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(location))
    with db.owner_engine.begin() as conn:
        schema = _schema(conn, db)
        if schema is not None:
            conn.execute(text(f"SET LOCAL search_path TO {schema}"))
        config.attributes["connection"] = conn
        config.attributes["version_table"] = version_table
        config.attributes["roles"] = db.roles
        command.upgrade(config, "head")
        if db.schema is not None and db.roles is not None:
            grant_schema_access(conn, db.schema, db.roles)


def migrate(db: Database, context_migrations: Path | None = None) -> None:
    """Bring ``db`` to the newest kernel and context schema.

    Raises:
        ConfigError: on PostgreSQL, an existing app or system role bypasses
            row-level security.
    """
    _prepare(db)
    _upgrade(db, KERNEL_MIGRATIONS, "kernel_alembic_version")
    if context_migrations is not None:
        _upgrade(db, context_migrations, f"{db.context}_alembic_version")
    log.info("db.migrated", context=db.context, url=db.redacted_url())
