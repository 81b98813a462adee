"""The event store port.

A context's event store lives in the context's database, so events are appended in
the same transaction as the state they describe (and that transaction is the
outbox: see ADR 0004). Every method takes the open SQLAlchemy ``Connection`` of the
caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection

from phantom.kernel.events.envelope import Envelope

__all__ = ["AppendResult", "EventStore", "Snapshot"]


class AppendResult(NamedTuple):
    """What an append did.

    Attributes:
        version: the stream's version after the append.
        appended: ``False`` when the events were already stored (a retried append).
    """

    version: int
    appended: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of a stream's aggregate as of ``stream_version``."""

    tenant_id: str
    stream_id: str
    stream_version: int
    type: str
    state: dict[str, Any]
    taken_at: datetime


class EventStore(Protocol):
    """Appends and reads events.

    Contract:
        * ``append`` writes all events of one call to one stream atomically, at
          versions ``expected_version + 1 ...``; versions are gapless and start at 1.
        * ``expected_version=None`` appends at the current head; ``0`` means the
          stream must not exist yet. Any mismatch raises ``VersionConflict`` and
          writes nothing; of two concurrent appends at the same expected version,
          exactly one succeeds.
        * Appending events whose ids are all already stored in that stream is a
          no-op (``appended`` is ``False``): a retried request. Reusing some but not
          all of them raises ``Conflict``; one id twice in one append is
          ``InvalidInput``. Event ids are UUIDv7s made by Phantom, unique across
          streams by construction; the store checks them per stream only, which
          keeps one index off the append path (ADR 0003).
        * Every stored event gets a global ``position``; positions increase in
          commit order, so a reader that has seen position ``p`` never later
          finds a committed event below ``p`` (the relay depends on this).
        * Nothing is visible to other connections until the caller commits.
    """

    def append(
        self,
        conn: Connection,
        events: Sequence[Envelope],
        *,
        expected_version: int | None,
    ) -> AppendResult:
        """Append ``events`` (one tenant, one stream) to their stream."""
        ...

    def stream_version(self, conn: Connection, tenant_id: str, stream_id: str) -> int:
        """Return the stream's current version (0 when it has no events)."""
        ...

    def read_stream(
        self,
        conn: Connection,
        tenant_id: str,
        stream_id: str,
        *,
        after_version: int = 0,
        up_to: datetime | None = None,
    ) -> list[Envelope]:
        """Return the stream's events after ``after_version``, oldest first."""
        ...

    def read_all(
        self,
        conn: Connection,
        *,
        after_position: int = 0,
        limit: int = 1000,
        up_to: datetime | None = None,
    ) -> list[Envelope]:
        """Return up to ``limit`` events after ``after_position`` in position order.

        With ``up_to``, only events that occurred at or before it are returned.
        """
        ...

    def head_position(self, conn: Connection) -> int:
        """Return the highest stored position (0 when the store is empty)."""
        ...

    def save_snapshot(self, conn: Connection, snapshot: Snapshot) -> None:
        """Store ``snapshot``, replacing an older one of the same stream."""
        ...

    def find_snapshot(
        self, conn: Connection, tenant_id: str, stream_id: str
    ) -> Snapshot | None:
        """Return the stream's latest snapshot, if any."""
        ...
