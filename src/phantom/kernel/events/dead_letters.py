"""Dead letters: events a consumer failed to handle after its last attempt.

They live in the consumer's context database (``kernel_dead_letters``), are listed
with ``phantom admin dead-letters list`` and replayed with ``... replay ID``. A letter
is written in its event's tenant; listing and finding one by id read across tenants
through the system engine (ADR 0010).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, insert, select, update

from phantom.kernel.clock import Clock, SystemClock
from phantom.kernel.db.engine import Database
from phantom.kernel.db.metadata import dead_letters
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.errors import Conflict, NotFound
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import from_us, to_us
from phantom.kernel.ids import uuid7

__all__ = ["DeadLetter", "DeadLetterNotFound", "DeadLetterStore"]

_MAX_ERROR_CHARS = 4000


class DeadLetterNotFound(NotFound):
    """No dead letter has that id."""

    code = "dead-letter-not-found"
    title = "Dead letter not found"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event a consumer gave up on."""

    id: uuid.UUID
    consumer: str
    envelope: Envelope
    error: str
    attempts: int
    failed_at: datetime
    replayed_at: datetime | None


class DeadLetterStore:
    """Records, lists and marks dead letters in one context database."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def add(
        self, consumer: str, envelope: Envelope, error: str, attempts: int
    ) -> uuid.UUID:
        """Record that ``consumer`` gave up on ``envelope``; return the letter's id."""
        letter_id = uuid7()
        with tenant_transaction(self.db, envelope.tenant_id, write=True) as conn:
            conn.execute(
                insert(dead_letters).values(
                    id=letter_id,
                    consumer=consumer,
                    event_id=envelope.id,
                    event_type=envelope.type,
                    tenant_id=envelope.tenant_id,
                    envelope=envelope.to_json().decode(),
                    error=error[:_MAX_ERROR_CHARS],
                    attempts=attempts,
                    failed_at_us=to_us(self.clock.now()),
                )
            )
        return letter_id

    def list(
        self, *, consumer: str | None = None, include_replayed: bool = False
    ) -> list[DeadLetter]:
        """Return dead letters of every tenant, oldest first."""
        query = select(dead_letters).order_by(dead_letters.c.failed_at_us)
        if consumer is not None:
            query = query.where(dead_letters.c.consumer == consumer)
        if not include_replayed:
            query = query.where(dead_letters.c.replayed_at_us.is_(None))
        with self.db.system_engine.connect().execution_options(
            sqlite_begin="DEFERRED"
        ) as conn:
            rows = conn.execute(query).mappings().all()
        return [_letter(dict(row)) for row in rows]

    def get(self, letter_id: uuid.UUID, conn: Connection | None = None) -> DeadLetter:
        """Return one dead letter; raise :class:`DeadLetterNotFound` when unknown.

        On ``conn`` (a tenant's transaction: that tenant's letters only), or else
        through the system engine, across tenants.
        """
        query = select(dead_letters).where(dead_letters.c.id == letter_id)
        if conn is not None:
            row = conn.execute(query).mappings().first()
        else:
            with self.db.system_engine.connect().execution_options(
                sqlite_begin="DEFERRED"
            ) as own:
                row = own.execute(query).mappings().first()
        if row is None:
            msg = f"no dead letter {letter_id} in context {self.db.context!r}"
            raise DeadLetterNotFound(msg)
        return _letter(dict(row))

    def mark_replayed(self, conn: Connection, letter_id: uuid.UUID) -> None:
        """Mark a letter replayed inside the caller's transaction."""
        result = conn.execute(
            update(dead_letters)
            .where(
                and_(
                    dead_letters.c.id == letter_id,
                    dead_letters.c.replayed_at_us.is_(None),
                )
            )
            .values(replayed_at_us=to_us(self.clock.now()))
            .returning(dead_letters.c.id)
        ).first()
        if result is None:
            msg = f"dead letter {letter_id} was already replayed"
            raise Conflict(msg)


def _letter(row: dict[str, object]) -> DeadLetter:
    replayed = row["replayed_at_us"]
    return DeadLetter(
        id=_uuid(row["id"]),
        consumer=str(row["consumer"]),
        envelope=Envelope.from_json(str(row["envelope"])),
        error=str(row["error"]),
        attempts=int(str(row["attempts"])),
        failed_at=from_us(int(str(row["failed_at_us"]))),
        replayed_at=None if replayed is None else from_us(int(str(replayed))),
    )


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
