"""The PostgreSQL catalog after migrating every shipped module: RLS everywhere.

Generic on purpose: a context joins ``bootstrap.known_modules()`` and its tables are
checked here without this file changing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text

from phantom.bootstrap import Container, build, known_modules
from phantom.kernel.db.engine import open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.rls import grant_app_access
from phantom.kernel.db.roles import DatabaseRoles
from phantom.kernel.errors import ConfigError
from phantom.kernel.ids import uuid7
from phantom.kernel.settings import Settings
from phantom.testing.rls import rls_catalog_problems, tenant_tables
from phantom.testing.services import temporary_postgres_database
from tests.conftest import DatabaseFactory
from tests.support.notes import notes_module

pytestmark = pytest.mark.postgres

KERNEL_TENANT_TABLES = {"kernel_events", "kernel_snapshots", "kernel_dead_letters"}


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """Every shipped module, plus the test-only notes context, on a fresh database."""
    with temporary_postgres_database() as url:
        settings = Settings(
            home=tmp_path_factory.mktemp("home"),
            database_url=url,
            database_urls={},
            contexts=sorted(known_modules()),
        )
        built = build(settings, modules=[*known_modules().values(), notes_module()])
        built.migrate()
        yield built
        built.close()


def schemas(container: Container) -> list[str]:
    return [db.schema for db in container.databases.values() if db.schema]


def roles_of(container: Container) -> DatabaseRoles:
    roles = {db.roles for db in container.databases.values()}
    assert len(roles) == 1
    (only,) = roles
    assert only is not None
    return only


def test_every_known_module_is_migrated(container: Container) -> None:
    assert set(known_modules()) <= set(container.databases)
    assert all(db.dialect == "postgresql" for db in container.databases.values())


def test_every_tenant_table_has_forced_rls_and_app_policies(
    container: Container,
) -> None:
    any_db = next(iter(container.databases.values()))
    with any_db.owner_engine.connect() as conn:
        found = tenant_tables(conn, schemas(container))
        problems = rls_catalog_problems(conn, schemas(container), roles_of(container))
    for schema in schemas(container):  # the check is not vacuous
        assert {f"{schema}.{t}" for t in KERNEL_TENANT_TABLES} <= set(found)
    assert "notes.notes_notes" in found
    assert problems == []


def test_the_checker_names_what_breaks_the_rules(
    postgres_databases: DatabaseFactory,
) -> None:
    db = postgres_databases()
    assert db.roles is not None
    assert db.schema is not None
    with db.owner_engine.connect() as conn:  # rolled back on close
        conn.execute(text("CREATE TABLE leaky (tenant_id text, id int)"))
        conn.execute(text("CREATE TABLE half (tenant_id text, id int)"))
        conn.execute(text("ALTER TABLE half ENABLE ROW LEVEL SECURITY"))
        conn.execute(text("CREATE POLICY open ON half USING (true)"))
        operations = Operations(MigrationContext.configure(conn))
        grant_app_access(operations, "half", roles=db.roles)
        conn.execute(text(f'GRANT TRUNCATE ON half TO "{db.roles.app}"'))
        problems = rls_catalog_problems(conn, [db.schema], db.roles)
    leaky, half = f"{db.schema}.leaky", f"{db.schema}.half"
    assert f"{leaky} has tenant rows but no ROW LEVEL SECURITY" in problems
    assert f"{leaky} has tenant rows but no FORCE ROW LEVEL SECURITY" in problems
    policy = f"{leaky} has no SELECT/INSERT/UPDATE/DELETE policy for {db.roles.app}"
    assert policy in problems
    assert f"{half}: policy open is not bound to the tenant" in problems
    assert f"{half} has tenant rows but no FORCE ROW LEVEL SECURITY" in problems
    assert f"role {db.roles.app} has TRUNCATE on {half}" in problems
    assert not any(p.startswith(f"{db.schema}.kernel_") for p in problems)


def test_migrations_refuse_roles_that_bypass_rls(postgres_url: str) -> None:
    suffix = uuid7().hex[-10:]
    roles = DatabaseRoles(app=f"zz_app_{suffix}", system=f"zz_system_{suffix}")
    db = open_database(f"c{suffix}", postgres_url, roles=roles)
    with db.owner_engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{roles.app}" NOLOGIN BYPASSRLS'))
    try:
        with pytest.raises(ConfigError, match="BYPASSRLS"):
            migrate(db)
    finally:
        with db.owner_engine.begin() as conn:  # the failed migration left nothing
            for role in (roles.app, roles.system):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        db.dispose()
