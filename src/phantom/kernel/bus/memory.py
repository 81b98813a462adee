"""The in-process event bus: the embedded default, and the unit tests' bus.

Delivery runs in the publisher's task: ``publish`` hands a copy of the envelope,
decoded from its JSON payload as on a real bus, to every matching consumer in turn
(in the order they were first subscribed) and waits until each active one has
settled it. Each consumer has a queue, so a consumer sees one delivery at a time,
in publish order:

* a consumer that is stopped keeps its queue and gets the messages when it
  subscribes again under the same name (durable within this bus object);
* a publish made from inside a handler, to that handler's own consumer, is queued
  behind the delivery in progress and ``publish`` returns without waiting for it
  (waiting would deadlock);
* the queue is bounded (``backlog_limit`` messages, 10,000 by default); when it is
  full the new message is dropped for that consumer and ``bus.backlog.overflow`` is
  logged at error level.

A delivery the handler does not ack (it raised, naked or just returned) is redelivered
at once with ``attempt + 1`` (after the nak's ``delay``, capped at
``max_redelivery_delay``) until it is acked or ``max_attempts_cap`` attempts were made;
then it is dropped for that consumer with ``bus.redelivery.dropped`` logged at error
level. Envelope ids are de-duplicated over ``duplicate_window`` seconds (at most
``max_tracked_ids`` ids are remembered).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import structlog

from phantom.kernel.bus.port import (
    Handler,
    envelope_payload,
    filter_subject,
    subject_for,
)
from phantom.kernel.errors import ConfigError, Conflict, InvalidInput, Unavailable
from phantom.kernel.events.envelope import Envelope

__all__ = ["MemoryBus"]

log = structlog.get_logger(__name__)

_INT_OPTIONS: Final = ("max_attempts_cap", "backlog_limit", "max_tracked_ids")
_FLOAT_OPTIONS: Final = ("duplicate_window", "max_redelivery_delay")


class _MemoryDelivery:
    """A :class:`~phantom.kernel.bus.port.Delivery` handed out by the memory bus."""

    __slots__ = ("acked", "attempt", "delay", "envelope", "settled", "subject")

    def __init__(self, envelope: Envelope, subject: str, attempt: int) -> None:
        self.envelope = envelope
        self.subject = subject
        self.attempt = attempt
        self.settled = False
        self.acked = False
        self.delay: float | None = None

    async def ack(self) -> None:
        if not self.settled:
            self.settled = self.acked = True

    async def nak(self, delay: float | None = None) -> None:
        if not self.settled:
            self.settled = True
            self.delay = delay


@dataclass(slots=True)
class _Item:
    envelope: Envelope
    subject: str
    attempts: int = 0
    done: asyncio.Future[None] | None = None  # set once settled, dropped or parked


@dataclass(slots=True, eq=False)
class _Consumer:
    name: str
    filter: str
    tokens: list[str]
    subscription: _MemorySubscription | None = None
    queue: deque[_Item] = field(default_factory=deque)
    pump: asyncio.Task[object] | None = None
    pump_done: asyncio.Future[None] | None = None


class _MemorySubscription:
    """A running memory-bus subscription."""

    def __init__(self, bus: MemoryBus, consumer: _Consumer, handler: Handler) -> None:
        self._bus = bus
        self._consumer = consumer
        self.handler = handler

    async def stop(self) -> None:
        """Stop delivering; wait for a handler call in progress to finish."""
        consumer = self._consumer
        if consumer.subscription is not self:
            return
        consumer.subscription = None
        done = consumer.pump_done
        if done is not None and consumer.pump is not asyncio.current_task():
            await asyncio.shield(done)


class MemoryBus:
    """An in-process :class:`~phantom.kernel.bus.port.EventBus` on asyncio.

    Args:
        prefix: the first subject token(s).
        max_attempts_cap: deliveries per message and consumer before it is dropped.
        duplicate_window: seconds an envelope id is remembered for de-duplication.
        max_tracked_ids: the most envelope ids remembered at once.
        backlog_limit: the most messages queued per consumer.
        max_redelivery_delay: the cap, in seconds, on a nak's ``delay``.
        clock: monotonic seconds, for the de-duplication window (tests inject one).
    """

    def __init__(  # noqa: PLR0913 - keyword-only tuning knobs, all defaulted
        self,
        *,
        prefix: str = "phantom",
        max_attempts_cap: int = 100,
        duplicate_window: float = 120.0,
        max_tracked_ids: int = 100_000,
        backlog_limit: int = 10_000,
        max_redelivery_delay: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the bus (see the class docstring); nothing starts yet."""
        if max_attempts_cap < 1 or backlog_limit < 1 or max_tracked_ids < 1:
            msg = "max_attempts_cap, backlog_limit and max_tracked_ids must be >= 1"
            raise ConfigError(msg)
        self.prefix = prefix
        self._max_attempts = max_attempts_cap
        self._window = duplicate_window
        self._max_ids = max_tracked_ids
        self._backlog_limit = backlog_limit
        self._max_delay = max_redelivery_delay
        self._clock = clock
        self._seen: OrderedDict[UUID, float] = OrderedDict()
        self._consumers: dict[str, _Consumer] = {}
        self._closed = False

    @classmethod
    def from_url(cls, url: str) -> MemoryBus:
        """Build a bus from ``memory://[?prefix=..&max_attempts_cap=..&...]``.

        Every constructor argument but ``clock`` may be given as a query parameter.

        Raises:
            ConfigError: an unknown parameter or a value of the wrong type.
        """
        query = {
            k: v[-1]
            for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()
        }
        kwargs: dict[str, Any] = {}
        for key, raw in query.items():
            try:
                if key in _INT_OPTIONS:
                    kwargs[key] = int(raw)
                elif key in _FLOAT_OPTIONS:
                    kwargs[key] = float(raw)
                elif key == "prefix":
                    kwargs[key] = raw
                else:
                    msg = f"unknown memory bus parameter {key!r} in {url!r}"
                    raise ConfigError(msg)
            except ValueError:
                msg = f"memory bus parameter {key}={raw!r} is not a number"
                raise ConfigError(msg) from None
        return cls(**kwargs)

    async def publish(self, envelope: Envelope) -> None:
        """See :meth:`phantom.kernel.bus.port.EventBus.publish`."""
        self._check_open()
        subject = subject_for(envelope, self.prefix)
        payload = envelope_payload(envelope)
        if self._is_duplicate(envelope.id):
            log.debug("bus.publish.duplicate", event_id=str(envelope.id))
            return
        tokens = subject.split(".")
        waits: list[asyncio.Future[None]] = []
        for consumer in list(self._consumers.values()):
            if not _matches(consumer.tokens, tokens):
                continue
            item = _Item(Envelope.from_json(payload), subject)
            if not self._enqueue(consumer, item):
                continue
            if consumer.subscription is None:
                continue  # parked until the consumer subscribes again
            if consumer.pump is None:
                await self._pump(consumer)
            elif consumer.pump is not asyncio.current_task():
                item.done = asyncio.get_running_loop().create_future()
                waits.append(item.done)
        for done in waits:
            await done

    async def subscribe(
        self,
        consumer: str,
        handler: Handler,
        *,
        subjects: str = ">",
    ) -> _MemorySubscription:
        """See :meth:`phantom.kernel.bus.port.EventBus.subscribe`.

        Messages queued while the consumer was stopped are delivered before this
        returns.
        """
        self._check_open()
        if not consumer:
            msg = "a consumer name cannot be empty"
            raise InvalidInput(msg)
        absolute = filter_subject(subjects, self.prefix)
        state = self._consumers.get(consumer)
        if state is None:
            state = _Consumer(consumer, absolute, absolute.split("."))
            self._consumers[consumer] = state
        elif state.subscription is not None:
            msg = f"consumer {consumer!r} is already subscribed on this bus"
            raise Conflict(msg)
        elif state.filter != absolute:
            msg = (
                f"consumer {consumer!r} exists with subjects {state.filter!r}, "
                f"not {absolute!r}; use another consumer name"
            )
            raise ConfigError(msg)
        subscription = _MemorySubscription(self, state, handler)
        state.subscription = subscription
        if state.pump is None:
            await self._pump(state)
        return subscription

    async def ping(self) -> None:
        """Raise :class:`Unavailable` once the bus is closed."""
        self._check_open()

    async def close(self) -> None:
        """Stop every subscription; later calls raise :class:`Unavailable`."""
        self._closed = True
        for consumer in list(self._consumers.values()):
            if consumer.subscription is not None:
                await consumer.subscription.stop()

    def _check_open(self) -> None:
        if self._closed:
            msg = "the memory event bus is closed"
            raise Unavailable(msg)

    def _is_duplicate(self, event_id: UUID) -> bool:
        now = self._clock()
        seen = self._seen
        while seen and (
            len(seen) >= self._max_ids
            or next(iter(seen.values())) <= now - self._window
        ):
            seen.popitem(last=False)
        if event_id in seen:
            return True
        seen[event_id] = now
        return False

    def _enqueue(self, consumer: _Consumer, item: _Item) -> bool:
        if len(consumer.queue) >= self._backlog_limit:
            log.error(
                "bus.backlog.overflow",
                consumer=consumer.name,
                event_id=str(item.envelope.id),
                limit=self._backlog_limit,
            )
            return False
        consumer.queue.append(item)
        return True

    async def _pump(self, consumer: _Consumer) -> None:
        """Deliver ``consumer``'s queue in order while it is subscribed."""
        consumer.pump = asyncio.current_task()
        consumer.pump_done = asyncio.get_running_loop().create_future()
        try:
            while consumer.queue and consumer.subscription is not None:
                item = consumer.queue[0]
                if not await self._deliver(consumer, item):
                    break
                consumer.queue.popleft()
                _resolve(item.done)
        finally:
            for parked in consumer.queue:
                _resolve(parked.done)
            _resolve(consumer.pump_done)
            consumer.pump = consumer.pump_done = None

    async def _deliver(self, consumer: _Consumer, item: _Item) -> bool:
        """Deliver until acked or exhausted (True) or the consumer stops (False)."""
        while (subscription := consumer.subscription) is not None:
            item.attempts += 1
            delivery = _MemoryDelivery(item.envelope, item.subject, item.attempts)
            try:
                await subscription.handler(delivery)
            except Exception:  # handler failures are isolated, then retried
                log.warning(
                    "bus.handler.failed",
                    consumer=consumer.name,
                    event_id=str(item.envelope.id),
                    attempt=item.attempts,
                    exc_info=True,
                )
                await delivery.nak()
            if delivery.acked:
                return True
            if item.attempts >= self._max_attempts:
                log.error(
                    "bus.redelivery.dropped",
                    consumer=consumer.name,
                    event_id=str(item.envelope.id),
                    subject=item.subject,
                    attempts=item.attempts,
                )
                return True
            if delivery.delay:
                await asyncio.sleep(min(delivery.delay, self._max_delay))
        return False


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _matches(pattern: Sequence[str], subject: Sequence[str]) -> bool:
    """NATS wildcard matching: ``*`` is one token, a final ``>`` one or more."""
    for index, part in enumerate(pattern):
        if part == ">":
            return len(subject) > index
        if index >= len(subject) or part not in ("*", subject[index]):
            return False
    return len(pattern) == len(subject)
