"""Transactions scoped to one tenant (ADR 0010).

On PostgreSQL the tenant is set with ``SELECT set_config('app.tenant_id', ..., true)``
as the first statement of the transaction. ``true`` makes it transaction-local: it
ends with the commit or rollback, so a pooled connection never carries a tenant to
its next user. Row-level security then shows and accepts that tenant's rows only.
On SQLite there are no roles and no policies; the calls still validate the tenant
and run the transaction, so code paths are the same on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import Connection

from phantom.kernel.db.engine import Database
from phantom.kernel.db.rls import TENANT_SETTING
from phantom.kernel.errors import InvalidInput

__all__ = ["set_tenant", "tenant_transaction"]

_SET_TENANT: Final = f"SELECT set_config('{TENANT_SETTING}', %s, true)"


def set_tenant(conn: Connection, tenant_id: str) -> None:
    """Scope the rest of ``conn``'s current transaction to ``tenant_id``.

    Call it first thing in a transaction. One round trip on PostgreSQL, straight to
    the driver (as the event store's hot path does); nothing on SQLite.

    Raises:
        InvalidInput: ``tenant_id`` is empty.
    """
    if not tenant_id:
        msg = "a tenant-scoped transaction needs a tenant id"
        raise InvalidInput(msg)
    if conn.dialect.name != "postgresql":
        return
    raw = conn.connection.driver_connection
    assert raw is not None  # noqa: S101 - an open connection has a driver connection
    raw.execute(_SET_TENANT, (tenant_id,)).close()


@contextmanager
def tenant_transaction(
    db: Database, tenant_id: str, *, write: bool = False
) -> Iterator[Connection]:
    """Open a transaction on ``db``'s application engine, scoped to ``tenant_id``.

    Commits when the block ends normally and rolls back when it raises. For read
    paths, and for writes that do not go through a unit of work (consumers).

    Args:
        db: the context database.
        tenant_id: the tenant whose rows the transaction may see and write.
        write: on SQLite, take the write lock up front (``BEGIN IMMEDIATE``)
            instead of a deferred read transaction. PostgreSQL ignores it.

    Example::

        with tenant_transaction(db, tenant_id) as conn:
            rows = conn.execute(select(models)).all()
    """
    conn = db.engine.connect()
    if not write:
        conn = conn.execution_options(sqlite_begin="DEFERRED")
    with conn, conn.begin():
        set_tenant(conn, tenant_id)
        yield conn
