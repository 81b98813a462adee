"""One database per context, chosen by URL (SQLite file or PostgreSQL schema).

SQLite files run in WAL mode with foreign keys on, a busy timeout and
``BEGIN IMMEDIATE`` for write transactions (so two writers queue instead of failing
half-way with ``SQLITE_BUSY``). On PostgreSQL each context lives in a schema named
after it; the connection's ``search_path`` points there.

A PostgreSQL database has three engines on the one URL (ADR 0010): ``engine`` runs
as the app role (row-level security confines it to the transaction's tenant),
``system_engine`` as the system role (cross-tenant kernel readers) and
``owner_engine`` as the URL's own user (migrations only). The role is set in each
connection's startup packet, ``-c role=...``: the same as ``SET ROLE`` on connect,
with no extra round trip, and ``RESET ROLE``/``DISCARD ALL`` fall back to it. On
SQLite the three are one engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from sqlalchemy import Engine, NullPool, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError

from phantom.kernel.adapters import SchemeRegistry
from phantom.kernel.db.roles import DatabaseRoles
from phantom.kernel.errors import ConfigError, Unavailable

__all__ = [
    "Database",
    "DatabaseOpener",
    "DatabaseOptions",
    "Dialect",
    "database_schemes",
    "open_database",
]

Dialect = Literal["sqlite", "postgresql"]

_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}


@dataclass(slots=True)
class Database:
    """A context's database.

    Attributes:
        context: the owning context's name.
        url: the URL it was opened from (credentials included; never log it).
        engine: the application engine (units of work, repositories, consumers);
            on PostgreSQL it runs as the app role, under row-level security.
        dialect: ``sqlite`` or ``postgresql``.
        system_engine: the engine of cross-tenant kernel readers (outbox relay,
            dead-letter listing); the system role on PostgreSQL.
        owner_engine: the engine of migrations, as the URL's own user; never for
            application work.
        schema: the PostgreSQL schema holding the context's tables (``None`` on SQLite).
        roles: the PostgreSQL app and system roles (``None`` on SQLite).
    """

    context: str
    url: str
    engine: Engine
    dialect: Dialect
    system_engine: Engine
    owner_engine: Engine
    schema: str | None = None
    roles: DatabaseRoles | None = None

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
        """Close every pooled connection of every engine."""
        engines = (self.engine, self.system_engine, self.owner_engine)
        for engine in {id(e): e for e in engines}.values():
            engine.dispose()


class DatabaseOptions(NamedTuple):
    """How :func:`open_database` opens a database (see its arguments)."""

    roles: DatabaseRoles
    pool_size: int
    max_overflow: int


DatabaseOpener = Callable[[str, DatabaseOptions], Database]
"""Opens the database of a context (its name) with the given options."""


def _sqlite(context: str, url: str) -> Database:
    parsed = make_url(url)
    database = parsed.database or ""
    if database and database != ":memory:":
        # Private to the platform's user: training jobs run as another (ADR 0014).
        Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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

    return Database(
        context=context,
        url=url,
        engine=engine,
        dialect="sqlite",
        system_engine=engine,
        owner_engine=engine,
    )


def _pg_connect_args(schema: str, name: str, role: str | None) -> dict[str, Any]:
    options = f"-csearch_path={schema}" + (f" -crole={role}" if role else "")
    return {"options": options, "application_name": name, "connect_timeout": 5}


_IDLE_PING_AFTER_S = 30.0
"""A pooled connection idle this long is pinged before use (see ``_ping_if_idle``)."""


def _pg_engine(
    url: URL, schema: str, name: str, role: str, pool: tuple[int, int]
) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool[0],
        max_overflow=pool[1],
        pool_recycle=3600,
        connect_args=_pg_connect_args(schema, name, role),
    )
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:  # noqa: ANN401
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:  # noqa: ANN401
    """Ping only connections that sat idle, instead of ``pool_pre_ping``'s every use.

    A ping is a round trip: on every checkout it cost a quarter of a one-event
    append. A connection that died while idle (a server restart) is replaced here;
    one that dies mid-use fails that transaction, which the caller sees as
    ``Unavailable`` and may retry.
    """
    idle_since = record.info.get("checked_in_at")
    if idle_since is None or time.monotonic() - idle_since < _IDLE_PING_AFTER_S:
        return
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT 1")
        dbapi_conn.rollback()
    except Exception as exc:
        raise DisconnectionError from exc


def _postgresql(context: str, url: str, options: DatabaseOptions) -> Database:
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    schema, roles, name = context, options.roles, f"phantom-{context}"
    app = _pg_engine(
        parsed, schema, name, roles.app, (options.pool_size, options.max_overflow)
    )
    system = _pg_engine(parsed, schema, f"{name}-system", roles.system, (2, 2))
    owner = create_engine(
        parsed,
        poolclass=NullPool,
        connect_args=_pg_connect_args(schema, f"{name}-owner", None),
    )
    return Database(
        context=context,
        url=url,
        engine=app,
        dialect="postgresql",
        system_engine=system,
        owner_engine=owner,
        schema=schema,
        roles=roles,
    )


def _open_sqlite(url: str) -> DatabaseOpener:
    return lambda context, _options: _sqlite(context, url)


def _open_postgresql(url: str) -> DatabaseOpener:
    try:
        import psycopg  # noqa: F401, PLC0415 - optional driver, imported lazily
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        msg = (
            "PostgreSQL needs the 'postgres' extra: pip install 'phantom-ml[postgres]'"
        )
        raise ConfigError(msg) from exc
    return lambda context, options: _postgresql(context, url, options)


def database_schemes() -> SchemeRegistry[DatabaseOpener]:
    """The database scheme registry (``sqlite``, ``postgresql``)."""
    registry: SchemeRegistry[DatabaseOpener] = SchemeRegistry("database")
    registry.register("sqlite", _open_sqlite)
    registry.register("postgresql", _open_postgresql)
    return registry


def open_database(
    context: str,
    url: str,
    *,
    roles: DatabaseRoles | None = None,
    pool_size: int = 10,
    max_overflow: int = 10,
) -> Database:
    """Open the database of ``context`` at ``url`` (``sqlite:///`` or ``postgresql://``).

    Args:
        context: the context's name (its PostgreSQL schema).
        url: where the database is; on PostgreSQL, as the schema owner.
        roles: the PostgreSQL app and system roles (the defaults when ``None``).
        pool_size: connections the PostgreSQL application engine keeps open.
        max_overflow: connections it may open beyond ``pool_size`` under load.
    """
    options = DatabaseOptions(roles or DatabaseRoles(), pool_size, max_overflow)
    return database_schemes().open(url)(context, options)
