"""Row-level security's kernel pieces on SQLite: no roles, no policies, same code."""

from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from pydantic import ValidationError
from sqlalchemy import Column, Integer, String, text

from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access
from phantom.kernel.db.roles import DatabaseRoles, role_name_error
from phantom.kernel.db.tenant import set_tenant, tenant_transaction
from phantom.kernel.errors import ConfigError, InvalidInput
from phantom.kernel.settings import load_settings


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database("unit", f"sqlite:///{tmp_path / 'unit.sqlite'}")
    migrate(database)
    with database.owner_engine.begin() as conn:
        op = Operations(MigrationContext.configure(conn))
        op.create_table(
            "unit_things",
            Column("tenant_id", String(64), primary_key=True),
            Column("id", Integer, primary_key=True),
        )
        grant_app_access(op, "unit_things")
        enable_tenant_rls(op, "unit_things", system=("SELECT",))
    return database


def count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM unit_things")).scalar_one())


def test_sqlite_has_one_engine_and_no_roles(db: Database) -> None:
    assert db.system_engine is db.engine
    assert db.owner_engine is db.engine
    assert db.roles is None
    assert db.schema is None


def test_the_migration_helpers_do_nothing_on_sqlite(db: Database) -> None:
    with tenant_transaction(db, "a", write=True) as conn:
        conn.execute(text("INSERT INTO unit_things VALUES ('a', 1), ('b', 2)"))
    assert count(db) == 2  # no policies: SQLite relies on the repositories alone


def test_a_tenant_transaction_commits_or_rolls_back(db: Database) -> None:
    with tenant_transaction(db, "a", write=True) as conn:
        conn.execute(text("INSERT INTO unit_things VALUES ('a', 1)"))

    def fail_half_way() -> None:
        with tenant_transaction(db, "a", write=True) as conn:
            conn.execute(text("INSERT INTO unit_things VALUES ('a', 2)"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert count(db) == 1


def test_a_read_transaction_takes_no_write_lock(db: Database) -> None:
    with tenant_transaction(db, "a") as reader, db.engine.begin() as writer:
        writer.execute(text("INSERT INTO unit_things VALUES ('a', 1)"))
        assert reader.execute(text("SELECT count(*) FROM unit_things")).scalar() == 0


def test_an_empty_tenant_is_refused(db: Database) -> None:
    with pytest.raises(InvalidInput, match="tenant"), tenant_transaction(db, ""):
        pass
    with db.engine.connect() as conn, pytest.raises(InvalidInput):
        set_tenant(conn, "")


def test_only_dml_can_be_granted(db: Database) -> None:
    with db.owner_engine.begin() as conn:
        op = Operations(MigrationContext.configure(conn))
        for privileges in (("TRUNCATE",), ("SELECT", "REFERENCES"), ("TRIGGER",)):
            with pytest.raises(ConfigError, match="may be granted"):
                grant_app_access(op, "unit_things", privileges)  # type: ignore[arg-type]
        with pytest.raises(ConfigError):
            enable_tenant_rls(op, "unit_things", system=("TRUNCATE",))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Phantom",
        "1app",
        "app-role",
        'app"; DROP ROLE postgres; --',
        "a" * 64,
        "pg_app",
        "public",
        "none",
        "current_user",
    ],
)
def test_role_names_are_plain_identifiers(name: str) -> None:
    assert role_name_error(name) is not None
    with pytest.raises(ConfigError):
        DatabaseRoles(app=name)


def test_the_app_and_system_roles_differ() -> None:
    assert DatabaseRoles() == DatabaseRoles("phantom_app", "phantom_system")
    with pytest.raises(ConfigError, match="differ"):
        DatabaseRoles(app="same", system="same")


def test_role_settings_are_validated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PHANTOM_DATABASE_APP_ROLE", "acme_app")
    settings = load_settings()
    assert (settings.database_app_role, settings.database_system_role) == (
        "acme_app",
        "phantom_system",
    )
    monkeypatch.setenv("PHANTOM_DATABASE_APP_ROLE", "acme-app")
    with pytest.raises(ValidationError, match="lower-case identifier"):
        load_settings()
    monkeypatch.setenv("PHANTOM_DATABASE_APP_ROLE", "phantom_system")
    with pytest.raises(ValidationError, match="must differ"):
        load_settings()
