"""Consumers with an inbox: an exactly-once effect on top of at-least-once delivery.

A consumer's effect and the ``(consumer, event_id)`` inbox row are written in one
transaction of the consumer's context database, so a redelivered event (a relay that
published twice, a consumer killed before its ack) finds its inbox row and is skipped.
A handler that keeps failing is retried with backoff and, after ``max_attempts``,
recorded as a dead letter and acknowledged, so it no longer blocks its subject.

The effect runs on the application engine in a transaction scoped to the event's
tenant (ADR 0010): on PostgreSQL a consumer can only touch that tenant's rows.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable

import structlog
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from phantom.kernel.bus.port import Delivery
from phantom.kernel.clock import Clock, SystemClock
from phantom.kernel.db.engine import Database
from phantom.kernel.db.metadata import inbox
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.events.dead_letters import DeadLetterStore
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import to_us

__all__ = ["Consumer", "Effect"]

log = structlog.get_logger(__name__)

Effect = Callable[[Connection, Envelope], None]
"""A consumer's effect: runs in the inbox row's transaction, scoped to the tenant."""


class Consumer:
    """A named, idempotent event consumer of one context.

    Args:
        name: the durable consumer name (also its bus subscription name).
        db: the consumer's context database (holds its inbox and dead letters).
        effect: what to do with an event, on the given connection.
        max_attempts: deliveries before the event becomes a dead letter.
        clock: time source for inbox and dead-letter timestamps.
    """

    def __init__(
        self,
        name: str,
        db: Database,
        effect: Effect,
        *,
        max_attempts: int = 5,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.db = db
        self.effect = effect
        self.max_attempts = max_attempts
        self.clock = clock or SystemClock()
        self.dead_letters = DeadLetterStore(db, self.clock)
        self._insert = (postgresql if db.dialect == "postgresql" else sqlite).insert

    def handle(self, envelope: Envelope) -> bool:
        """Apply the effect once; ``False`` when the event was already handled."""
        with tenant_transaction(self.db, envelope.tenant_id, write=True) as conn:
            return self._apply(conn, envelope)

    def _apply(self, conn: Connection, envelope: Envelope) -> bool:
        claimed = conn.execute(
            self._insert(inbox)
            .values(
                consumer=self.name,
                event_id=envelope.id,
                processed_at_us=to_us(self.clock.now()),
            )
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        ).first()
        if claimed is None:
            log.debug("inbox.duplicate", consumer=self.name, event_id=str(envelope.id))
            return False
        self.effect(conn, envelope)
        return True

    async def on_delivery(self, delivery: Delivery) -> None:
        """Bus handler: apply, then ack; on failure nak, or dead-letter at the limit."""
        envelope = delivery.envelope
        try:
            await asyncio.to_thread(self.handle, envelope)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if delivery.attempt >= self.max_attempts:
                letter = await asyncio.to_thread(
                    self.dead_letters.add, self.name, envelope, error, delivery.attempt
                )
                log.exception(
                    "inbox.dead_lettered",
                    consumer=self.name,
                    event_id=str(envelope.id),
                    event_type=envelope.type,
                    attempts=delivery.attempt,
                    dead_letter=str(letter),
                    error=error,
                )
                await delivery.ack()
                return
            log.warning(
                "inbox.retry",
                consumer=self.name,
                event_id=str(envelope.id),
                attempt=delivery.attempt,
                error=error,
            )
            await delivery.nak(delay=_backoff(delivery.attempt))
            return
        await delivery.ack()

    def replay(self, letter_id: uuid.UUID) -> bool:
        """Run a dead letter's event through the effect again and mark it replayed.

        Both happen in one transaction, scoped to the event's tenant: a replay that
        fails again leaves the letter as it was. Returns ``False`` when the inbox
        shows the event was handled since.
        """
        tenant_id = self.dead_letters.get(letter_id).envelope.tenant_id
        with tenant_transaction(self.db, tenant_id, write=True) as conn:
            letter = self.dead_letters.get(letter_id, conn)
            self.dead_letters.mark_replayed(conn, letter_id)
            return self._apply(conn, letter.envelope)


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, 50 ms doubling, capped at 10 s."""
    ceiling = min(10.0, 0.05 * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security
