"""The unit of work: one transaction that rolls back unless committed.

``with uow:`` opens a connection and a transaction. Appended events go to the event
store and through the context's inline projectors on that same connection, so state,
events (the outbox) and read models commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, RootTransaction

from phantom.kernel.db.engine import Database
from phantom.kernel.errors import PhantomError
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.store import AppendResult, EventStore

__all__ = ["Projector", "UnitOfWork"]

Projector = Callable[[Connection, Sequence[Envelope]], None]
"""Updates a read model from just-appended events, in the writer's transaction."""


class UnitOfWork:
    """A transaction on one context database.

    Example::

        with uow:
            uow.append(events, expected_version=3)
            uow.commit()
    """

    def __init__(
        self,
        db: Database,
        store: EventStore,
        projectors: Sequence[Projector] = (),
    ) -> None:
        self.db = db
        self.store = store
        self.projectors = tuple(projectors)
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
        self._conn = self.db.engine.connect()
        self._tx = self._conn.begin()
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
        """
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
