"""The outbox → bus → inbox contract, run on every SQL backend with the memory bus.

Subclass :class:`OutboxContract` and provide a ``databases`` fixture returning a
factory of migrated databases (the source and the consumer's live apart, as two
contexts' databases do).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, text

from phantom.kernel.bus.memory import MemoryBus
from phantom.kernel.bus.port import Delivery
from phantom.kernel.db.engine import Database
from phantom.kernel.db.rls import grant_app_access
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import Conflict
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.inbox import Consumer
from phantom.kernel.events.relay import OutboxRelay
from phantom.kernel.events.sql import SqlEventStore
from phantom.testing.contracts.eventstore import make_events

__all__ = ["OutboxContract"]

DatabaseFactory = Callable[[], Database]


def _commit(
    db: Database, events: list[Envelope], expected: int, *, commit: bool = True
) -> None:
    store = SqlEventStore(db.dialect, db.schema)
    with UnitOfWork(db, store, tenant_id=events[0].tenant_id) as uow:
        uow.append(events, expected_version=expected)
        if commit:
            uow.commit()


def _effects_table(db: Database) -> None:
    """A table without tenant rows, created by the owner as a migration would."""
    with db.owner_engine.begin() as conn:
        conn.execute(text("CREATE TABLE contract_effects (event_id VARCHAR(64))"))
        operations = Operations(MigrationContext.configure(conn))
        grant_app_access(operations, "contract_effects", roles=db.roles)


def _effects(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [
            r[0] for r in conn.execute(text("SELECT event_id FROM contract_effects"))
        ]


def _record(conn: Connection, envelope: Envelope) -> None:
    conn.execute(
        text("INSERT INTO contract_effects (event_id) VALUES (:e)"),
        {"e": str(envelope.id)},
    )


class OutboxContract:
    """Committed events reach consumers in order, once in effect; poison is parked."""

    def test_relay_publishes_committed_events_in_stream_order(
        self, databases: DatabaseFactory
    ) -> None:
        db = databases()
        first, second = make_events(3, stream="a"), make_events(2, stream="b")
        _commit(db, first, 0)
        _commit(db, make_events(2, stream="c"), 0, commit=False)  # rolled back
        _commit(db, second, 0)
        _commit(db, make_events(1, stream="a"), 3)
        received: list[Envelope] = []

        async def scenario() -> int:
            bus = MemoryBus()

            async def handler(delivery: Delivery) -> None:
                received.append(delivery.envelope)
                await delivery.ack()

            await bus.subscribe("probe", handler)
            relay = OutboxRelay(
                db, SqlEventStore(db.dialect, db.schema), bus, batch_size=2
            )
            published = await relay.drain()
            await bus.close()
            return published

        assert asyncio.run(scenario()) == 6
        assert {e.stream_id for e in received} == {"a", "b"}
        versions_a = [e.stream_version for e in received if e.stream_id == "a"]
        assert versions_a == [1, 2, 3, 4]
        assert [e.id for e in received[:3]] == [e.id for e in first]

    def test_events_published_again_are_absorbed_by_the_inbox(
        self, databases: DatabaseFactory
    ) -> None:
        source, target = databases(), databases()
        _effects_table(target)
        events = make_events(4)
        _commit(source, events, 0)
        consumer = Consumer("contract-consumer", target, _record)
        for event in [*events, *events]:  # a second relay pass delivers them again
            consumer.handle(event)
        assert sorted(_effects(target)) == sorted(str(e.id) for e in events)

    def test_a_poison_event_is_dead_lettered_after_n_attempts_and_replayable(
        self, databases: DatabaseFactory
    ) -> None:
        source, target = databases(), databases()
        _effects_table(target)
        poison = make_events(1, stream="poison")
        _commit(source, poison, 0)
        _commit(source, make_events(1, stream="fine"), 0)
        healed = False

        def effect(conn: Connection, envelope: Envelope) -> None:
            if envelope.stream_id == "poison" and not healed:
                msg = "cannot handle this one"
                raise ValueError(msg)
            _record(conn, envelope)

        consumer = Consumer("contract-consumer", target, effect, max_attempts=3)

        async def scenario() -> None:
            bus = MemoryBus()
            await bus.subscribe(consumer.name, consumer.on_delivery)
            relay = OutboxRelay(
                source, SqlEventStore(source.dialect, source.schema), bus
            )
            await relay.drain()
            await bus.close()

        asyncio.run(scenario())
        letters = consumer.dead_letters.list()
        assert len(letters) == 1
        assert letters[0].envelope.id == poison[0].id
        assert letters[0].attempts == 3
        assert "cannot handle this one" in letters[0].error
        assert len(_effects(target)) == 1  # the healthy event went through

        with pytest.raises(ValueError, match="cannot handle"):
            consumer.replay(letters[0].id)
        assert len(consumer.dead_letters.list()) == 1  # a failed replay changes nothing

        healed = True
        assert consumer.replay(letters[0].id) is True
        assert str(poison[0].id) in _effects(target)
        assert consumer.dead_letters.list() == []
        assert len(consumer.dead_letters.list(include_replayed=True)) == 1
        with pytest.raises(Conflict):
            consumer.replay(letters[0].id)
