"""One database per context, chosen by URL (SQLite file or PostgreSQL schema).

SQLite files run in WAL mode with foreign keys on, a busy timeout and
``BEGIN IMMEDIATE`` for write transactions (so two writers queue instead of failing
half-way with ``SQLITE_BUSY``). On PostgreSQL each context lives in a schema named
after it; the connection's ``search_path`` points there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from phantom.kernel.adapters import SchemeRegistry
from phantom.kernel.errors import ConfigError, Unavailable

__all__ = ["Database", "Dialect", "database_schemes", "open_database"]

Dialect = Literal["sqlite", "postgresql"]

_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}


@dataclass(slots=True)
class Database:
    """A context's database.

    Attributes:
        context: the owning context's name.
        url: the URL it was opened from (credentials included; never log it).
        engine: the SQLAlchemy engine.
        dialect: ``sqlite`` or ``postgresql``.
        schema: the PostgreSQL schema holding the context's tables (``None`` on SQLite).
    """

    context: str
    url: str
    engine: Engine
    dialect: Dialect
    schema: str | None = None

    def ping(self) -> None:
        """Run ``SELECT 1``; raise :class:`Unavailable` when it does not answer."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            msg = f"database of context {self.context!r} is unreachable"
            raise Unavailable(msg) from exc

    def redacted_url(self) -> str:
        """The URL with any password hidden."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite(context: str, url: str) -> Database:
    parsed = make_url(url)
    database = parsed.database or ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        connect_args={"check_same_thread": False, "timeout": 30},
        # Our transactions are explicit (BEGIN ... COMMIT/ROLLBACK through the
        # Connection, which rolls back an open one on close); the checkin hook below
        # still rolls back anything left open, but only then, sparing a rollback
        # call per checkout.
        pool_reset_on_return=None,
    )

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, _record: object) -> None:  # noqa: ANN401
        if dbapi_conn is not None and dbapi_conn.in_transaction:
            dbapi_conn.rollback()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:  # noqa: ANN401
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if database and database != ":memory:":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:  # noqa: ANN401
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: this runs once per transaction, and going through
        # SQLAlchemy's execution pipeline costs as much as a small insert.
        conn.connection.driver_connection.execute(_BEGIN[mode])

    return Database(context=context, url=url, engine=engine, dialect="sqlite")


def _postgresql(context: str, url: str) -> Database:
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    schema = context
    engine = create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={
            "options": f"-csearch_path={schema}",
            "application_name": f"phantom-{context}",
            "connect_timeout": 5,
        },
    )
    return Database(
        context=context, url=url, engine=engine, dialect="postgresql", schema=schema
    )


def _open_sqlite(url: str) -> Callable[[str], Database]:
    return lambda context: _sqlite(context, url)


def _open_postgresql(url: str) -> Callable[[str], Database]:
    try:
        import psycopg  # noqa: F401, PLC0415 - optional driver, imported lazily
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        msg = (
            "PostgreSQL needs the 'postgres' extra: pip install 'phantom-ml[postgres]'"
        )
        raise ConfigError(msg) from exc
    return lambda context: _postgresql(context, url)


def database_schemes() -> SchemeRegistry[Callable[[str], Database]]:
    """The database scheme registry (``sqlite``, ``postgresql``)."""
    registry: SchemeRegistry[Callable[[str], Database]] = SchemeRegistry("database")
    registry.register("sqlite", _open_sqlite)
    registry.register("postgresql", _open_postgresql)
    return registry


def open_database(context: str, url: str) -> Database:
    """Open the database of ``context`` at ``url`` (``sqlite:///`` or ``postgresql://``)."""
    return database_schemes().open(url)(context)
