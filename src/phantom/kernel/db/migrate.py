"""Apply Alembic migrations to a context database, one version table per branch.

Each database gets the kernel branch (version table ``kernel_alembic_version``) and
then the context's own branch, if it ships one (``<context>_alembic_version``). On
PostgreSQL the context's schema is created first.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from phantom.kernel.db.engine import Database

__all__ = ["KERNEL_MIGRATIONS", "migrate"]

log = structlog.get_logger(__name__)

KERNEL_MIGRATIONS = Path(str(files("phantom.kernel.db") / "migrations"))


def _upgrade(db: Database, location: Path, version_table: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(location))
    with db.engine.begin() as conn:
        if db.schema is not None:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
            conn.execute(text(f'SET LOCAL search_path TO "{db.schema}"'))
        config.attributes["connection"] = conn
        config.attributes["version_table"] = version_table
        command.upgrade(config, "head")


def migrate(db: Database, context_migrations: Path | None = None) -> None:
    """Bring ``db`` to the newest kernel and context schema."""
    _upgrade(db, KERNEL_MIGRATIONS, "kernel_alembic_version")
    if context_migrations is not None:
        _upgrade(db, context_migrations, f"{db.context}_alembic_version")
    log.info("db.migrated", context=db.context, url=db.redacted_url())
