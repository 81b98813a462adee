"""The unit of work: one transaction that rolls back unless committed.

``with uow:`` opens a connection and a transaction. Appended events go to the event
store and through the context's inline projectors on that same connection, so state,
events (the outbox) and read models commit together or not at all.

A unit of work built for a tenant sets it as the transaction's first statement on
PostgreSQL (:func:`~phantom.kernel.db.tenant.set_tenant`), so row-level security
confines everything done through it to that tenant (ADR 0010); on every backend it
refuses to append another tenant's events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, RootTransaction

from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import set_tenant
from phantom.kernel.errors import InvalidInput, PhantomError
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.store import AppendResult, EventStore

__all__ = ["Projector", "UnitOfWork"]

Projector = Callable[[Connection, Sequence[Envelope]], None]
"""Updates a read model from just-appended events, in the writer's transaction."""


class UnitOfWork:
    """A transaction on one context database, for one tenant.

    Args:
        db: the context database (its application engine is used).
        store: the context's event store.
        projectors: inline projectors run on every append.
        tenant_id: the tenant the transaction is confined to. ``None`` only for
            work on tables without tenant rows: on PostgreSQL, tables with
            row-level security then show and accept no rows at all.

    Example::

        with UnitOfWork(db, store, tenant_id="acme") as uow:
            uow.append(events, expected_version=3)
            uow.commit()
    """

    def __init__(
        self,
        db: Database,
        store: EventStore,
        projectors: Sequence[Projector] = (),
        *,
        tenant_id: str | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.projectors = tuple(projectors)
        self.tenant_id = tenant_id
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None

    @property
    def connection(self) -> Connection:
        """The open connection; only valid inside ``with``."""
        if self._conn is None:
            msg = "the unit of work is not open; use it in a with block"
            raise PhantomError(msg)
        return self._conn

    def __enter__(self) -> Self:
        if self._conn is not None:
            msg = "the unit of work is already open"
            raise PhantomError(msg)
        conn = self.db.engine.connect()
        try:
            self._tx = conn.begin()
            if self.tenant_id is not None:
                set_tenant(conn, self.tenant_id)
        except BaseException:
            conn.close()
            self._tx = None
            raise
        self._conn = conn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._tx = None

    def append(
        self, events: Sequence[Envelope], *, expected_version: int | None
    ) -> AppendResult:
        """Append ``events`` to their stream and run the inline projectors.

        Returns the store's :class:`AppendResult`. Projectors see the events with
        their stream versions; a retried append (every id already stored) projects
        nothing.

        Raises:
            InvalidInput: the events belong to another tenant than the unit of work.
        """
        if self.tenant_id is not None and events:
            theirs = events[0].tenant_id
            if theirs != self.tenant_id:
                msg = (
                    f"a unit of work of tenant {self.tenant_id!r} cannot append "
                    f"events of tenant {theirs!r}"
                )
                raise InvalidInput(msg)
        result = self.store.append(
            self.connection, events, expected_version=expected_version
        )
        if result.appended and self.projectors:
            first = result.version - len(events) + 1
            stored = [event.with_version(first + i) for i, event in enumerate(events)]
            for project in self.projectors:
                project(self.connection, stored)
        return result

    def commit(self) -> None:
        """Commit everything done in this unit of work."""
        if self._tx is None:
            msg = "the unit of work is not open; use it in a with block"
            raise PhantomError(msg)
        self._tx.commit()

    def rollback(self) -> None:
        """Throw away everything done in this unit of work."""
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()
