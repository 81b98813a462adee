"""The outbox relay: publishes a context's stored events to the bus, in order.

The relay reads ``kernel_events`` after its cursor (positions grow in commit order),
publishes each event and then advances the cursor. A crash between publishing and
advancing publishes those events again on restart: delivery is at least once, and the
bus's de-duplication (``Nats-Msg-Id``) and the consumers' inbox absorb the repeats.

The relay reads every tenant's events, so it runs on the system engine (on
PostgreSQL, the system role, which row-level security lets read ``kernel_events``
and nothing else tenant-scoped; ADR 0010).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from phantom.kernel.bus.port import EventBus
from phantom.kernel.db.engine import Database
from phantom.kernel.db.metadata import relay_cursors
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.store import EventStore

__all__ = ["OutboxRelay"]

log = structlog.get_logger(__name__)


class OutboxRelay:
    """Publishes one context database's events to the bus.

    Args:
        db: the context database.
        store: its event store.
        bus: where to publish.
        name: the cursor's name (one cursor per relay target).
        batch_size: events read per round.
    """

    def __init__(
        self,
        db: Database,
        store: EventStore,
        bus: EventBus,
        *,
        name: str = "bus",
        batch_size: int = 500,
    ) -> None:
        self.db = db
        self.store = store
        self.bus = bus
        self.name = name
        self.batch_size = batch_size
        self._insert = (postgresql if db.dialect == "postgresql" else sqlite).insert

    def cursor(self) -> int:
        """The position of the last event known to be published."""
        with self.db.system_engine.connect().execution_options(
            sqlite_begin="DEFERRED"
        ) as conn:
            return self._cursor(conn)

    def _cursor(self, conn: Connection) -> int:
        value = conn.execute(
            select(relay_cursors.c.position).where(relay_cursors.c.relay == self.name)
        ).scalar()
        return int(value or 0)

    def _pending(self) -> list[Envelope]:
        with self.db.system_engine.connect().execution_options(
            sqlite_begin="DEFERRED"
        ) as conn:
            after = self._cursor(conn)
            return self.store.read_all(
                conn, after_position=after, limit=self.batch_size
            )

    def _advance(self, position: int) -> None:
        statement = self._insert(relay_cursors).values(
            relay=self.name, position=position
        )
        statement = statement.on_conflict_do_update(
            index_elements=[relay_cursors.c.relay],
            set_={"position": statement.excluded.position},
        )
        with self.db.system_engine.begin() as conn:
            conn.execute(statement)

    async def run_once(self) -> int:
        """Publish one batch; return how many events were published."""
        events = await asyncio.to_thread(self._pending)
        if not events:
            return 0
        for event in events:
            await self.bus.publish(event)
        last = events[-1].position
        assert last is not None  # noqa: S101 - stored events have positions
        await asyncio.to_thread(self._advance, last)
        log.debug(
            "relay.published", context=self.db.context, count=len(events), to=last
        )
        return len(events)

    async def drain(self) -> int:
        """Publish until nothing is pending; return the total published."""
        total = 0
        while published := await self.run_once():
            total += published
        return total

    async def run(self, stop: asyncio.Event, *, interval: float = 0.2) -> None:
        """Relay until ``stop`` is set, polling every ``interval`` seconds when idle."""
        while not stop.is_set():
            try:
                published = await self.run_once()
            except Exception:
                log.exception("relay.failed", context=self.db.context)
                published = 0
            if not published:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
