"""A relay or consumer in a process of its own, which can kill itself with SIGKILL.

Usage::

    crash_worker relay SRC NATS [--kill-before N]
    crash_worker relay SRC NATS [--kill-after N]
    crash_worker consume DST NATS EXPECTED [--kill-after-effect N]

The relay publishes every stored event of SRC and exits once the cursor reaches the
head. ``--kill-before N`` dies just before publishing the N-th event, ``--kill-after
N`` just after the bus acknowledged it (before the cursor moves). The consumer applies
its effect (a row in ``crash_effects``) through the inbox and exits when EXPECTED
distinct events are recorded; ``--kill-after-effect N`` dies after the N-th effect is
committed but before the bus is acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from sqlalchemy import Connection, func, select, text

from phantom.kernel.bus import EventBus, open_bus
from phantom.kernel.bus.port import Delivery
from phantom.kernel.db.engine import open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.inbox import Consumer
from phantom.kernel.events.relay import OutboxRelay
from phantom.kernel.events.sql import SqlEventStore


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class CrashingBus:
    """Delegates to a real bus, dying around the N-th publish."""

    def __init__(self, bus: EventBus, before: int | None, after: int | None) -> None:
        self.bus, self.before, self.after, self.count = bus, before, after, 0

    async def publish(self, envelope: Envelope) -> None:
        self.count += 1
        if self.count == self.before:
            die()
        await self.bus.publish(envelope)
        if self.count == self.after:
            die()

    def __getattr__(self, name: str) -> object:
        return getattr(self.bus, name)


async def relay(args: argparse.Namespace) -> None:
    db = open_database("src", args.db)
    store = SqlEventStore(db.dialect, db.schema)
    bus = open_bus(args.bus)
    crashing = CrashingBus(bus, args.kill_before, args.kill_after)
    relay = OutboxRelay(db, store, crashing, batch_size=7)  # type: ignore[arg-type]
    await relay.drain()
    await bus.close()
    db.dispose()


def effect(conn: Connection, envelope: Envelope) -> None:
    conn.execute(
        text("INSERT INTO crash_effects (event_id) VALUES (:e)"),
        {"e": str(envelope.id)},
    )


async def consume(args: argparse.Namespace) -> None:
    db = open_database("dst", args.db)
    migrate(db)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS crash_effects (event_id TEXT)"))
    consumer = Consumer("crash-consumer", db, effect, max_attempts=50)
    bus = open_bus(args.bus)
    effects = 0

    async def handler(delivery: Delivery) -> None:
        nonlocal effects
        applied = await asyncio.to_thread(consumer.handle, delivery.envelope)
        effects += applied
        if applied and effects == args.kill_after_effect:
            die()
        await delivery.ack()

    subscription = await bus.subscribe("crash-consumer", handler)
    query = select(func.count(func.distinct(text("event_id")))).select_from(
        text("crash_effects")
    )
    for _ in range(600):
        with db.engine.connect() as conn:
            if conn.execute(query).scalar_one() >= args.expected:
                break
        await asyncio.sleep(0.05)
    await subscription.stop()
    await bus.close()
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["relay", "consume"])
    parser.add_argument("db")
    parser.add_argument("bus")
    parser.add_argument("expected", nargs="?", type=int, default=0)
    parser.add_argument("--kill-before", type=int)
    parser.add_argument("--kill-after", type=int)
    parser.add_argument("--kill-after-effect", type=int)
    args = parser.parse_args()
    asyncio.run(relay(args) if args.role == "relay" else consume(args))


if __name__ == "__main__":
    main()
