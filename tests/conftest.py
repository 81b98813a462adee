"""Fixtures shared by every test tier: databases on each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.ids import uuid7
from phantom.testing.services import temporary_postgres_database

DatabaseFactory = Callable[[], Database]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own on the test PostgreSQL server, dropped at the end."""
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_databases(tmp_path: Path) -> Iterator[DatabaseFactory]:
    """Make migrated SQLite context databases, each in its own file."""
    opened: list[Database] = []

    def make() -> Database:
        name = f"c{uuid7().hex[-12:]}"
        db = open_database(name, f"sqlite:///{tmp_path / name}.sqlite")
        migrate(db)
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.dispose()


@pytest.fixture
def postgres_databases(postgres_url: str) -> Iterator[DatabaseFactory]:
    """Make migrated PostgreSQL context databases, each in its own schema."""
    opened: list[Database] = []

    def make() -> Database:
        db = open_database(f"c{uuid7().hex[-12:]}", postgres_url)
        migrate(db)
        opened.append(db)
        return db

    yield make
    for db in opened:
        with db.owner_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
        db.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def databases(request: pytest.FixtureRequest) -> DatabaseFactory:
    """Database factories for every SQL backend."""
    name = "sqlite_databases" if request.param == "sqlite" else "postgres_databases"
    factory: DatabaseFactory = request.getfixturevalue(name)
    return factory


@pytest.fixture
def database(databases: DatabaseFactory) -> Database:
    """One migrated context database on each SQL backend."""
    return databases()
