"""The NATS JetStream event bus (optional extra ``nats``).

URL: ``nats://[user:pass@]host:4222?stream=PHANTOM_EVENTS&prefix=phantom&ack_wait=30
&duplicate_window=120`` (every query parameter is optional; those are the defaults).
Two more, mostly for tests: ``poll`` (seconds an idle consumer's fetch waits, which
also bounds how long :meth:`Subscription.stop` takes; 1) and ``connect_timeout``
(seconds; 5). ``tls://`` works as well.

* The bus connects on first use and creates the stream (subjects ``<prefix>.>``,
  the given ``duplicate_window``), or updates an existing one to match.
* ``publish`` sets ``Nats-Msg-Id`` to the envelope id and waits for the PubAck, so
  JetStream drops a re-publish within the duplicate window.
* ``subscribe`` creates (or updates) a durable pull consumer with explicit acks, the
  URL's ``ack_wait`` and the filter subject; a background task fetches batches and
  calls the handler one message at a time. A handler that raises is nak'ed with a
  short exponential backoff; one that returns without settling is redelivered by
  the server after ``ack_wait``.

The ``nats`` package is imported only when a bus is built, so Phantom imports without
the extra; without it, building a bus raises :class:`ConfigError`.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import parse_qs, urlsplit

import structlog

from phantom.kernel.bus.port import (
    Handler,
    envelope_payload,
    filter_subject,
    subject_for,
    subject_token,
)
from phantom.kernel.errors import ConfigError, Conflict, InvalidInput, Unavailable
from phantom.kernel.events.envelope import Envelope

if TYPE_CHECKING:  # the driver is optional: its types only for the checker
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

__all__ = ["NatsBus", "NatsOptions"]

log = structlog.get_logger(__name__)

_STREAM_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,255}")
_BATCH: Final = 64
_STOP_GRACE: Final = 10.0  # seconds stop() lets a running handler finish
_RETRY_PAUSE: Final = 1.0  # seconds between fetches while the server is away

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NatsOptions:
    """Settings parsed from a ``nats://`` URL (see the module docstring)."""

    servers: str
    where: str
    stream: str = "PHANTOM_EVENTS"
    prefix: str = "phantom"
    ack_wait: float = 30.0
    duplicate_window: float = 120.0
    poll: float = 1.0
    connect_timeout: float = 5.0

    @classmethod
    def from_url(cls, url: str) -> NatsOptions:
        """Parse ``url``.

        Raises:
            ConfigError: an unknown parameter, a bad number or a bad name.
        """
        split = urlsplit(url)
        where = f"{split.hostname or '127.0.0.1'}:{split.port or 4222}"
        fields: dict[str, Any] = {}
        for key, values in parse_qs(split.query, keep_blank_values=True).items():
            raw = values[-1]
            if key in ("stream", "prefix"):
                fields[key] = raw
            elif key in ("ack_wait", "duplicate_window", "poll", "connect_timeout"):
                try:
                    fields[key] = float(raw)
                except ValueError:
                    msg = f"NATS bus parameter {key}={raw!r} is not a number"
                    raise ConfigError(msg) from None
            else:
                msg = f"unknown NATS bus parameter {key!r}"
                raise ConfigError(msg)
        options = cls(f"{split.scheme}://{split.netloc}", where, **fields)
        options.validate()
        return options

    def validate(self) -> None:
        """Raise :class:`ConfigError` for names NATS refuses or non-positive times."""
        if not _STREAM_NAME.fullmatch(self.stream):
            msg = f"NATS stream name {self.stream!r} must be letters, digits, - and _"
            raise ConfigError(msg)
        tokens = self.prefix.split(".")
        if not all(t and not any(c.isspace() or c in "*>" for c in t) for t in tokens):
            msg = f"NATS subject prefix {self.prefix!r} is not a literal subject"
            raise ConfigError(msg)
        times = (self.ack_wait, self.duplicate_window, self.poll, self.connect_timeout)
        if not all(math.isfinite(t) and t > 0 for t in times):
            msg = "ack_wait, duplicate_window, poll and connect_timeout must be > 0"
            raise ConfigError(msg)


class _NatsDelivery:
    """A :class:`~phantom.kernel.bus.port.Delivery` wrapping one JetStream message."""

    __slots__ = ("_msg", "attempt", "envelope", "settled", "subject")

    def __init__(self, msg: Msg, envelope: Envelope) -> None:
        self._msg = msg
        self.envelope = envelope
        self.subject = msg.subject
        self.attempt = msg.metadata.num_delivered
        self.settled = False

    async def ack(self) -> None:
        if not self.settled:
            self.settled = True
            await _translate(self._msg.ack(), "ack")

    async def nak(self, delay: float | None = None) -> None:
        if not self.settled:
            self.settled = True
            await _translate(self._msg.nak(delay=delay), "nak")


class _NatsSubscription:
    """A durable pull consumer served by one background task."""

    def __init__(
        self,
        bus: NatsBus,
        consumer: str,
        handler: Handler,
        psub: JetStreamContext.PullSubscription,
    ) -> None:
        self._bus = bus
        self.consumer = consumer
        self._handler = handler
        self._psub = psub
        self._poll = bus.options.poll
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"phantom.bus:{consumer}")

    async def stop(self) -> None:
        """Stop fetching; wait for a running handler (at most ~10 s) to finish."""
        self._stopping = True
        if self._task is asyncio.current_task() or self._task.done():
            return
        done, _ = await asyncio.wait({self._task}, timeout=self._poll + _STOP_GRACE)
        if not done:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    def _stop_requested(self) -> bool:
        return self._stopping

    async def _run(self) -> None:
        import nats.errors  # noqa: PLC0415 - optional driver, loaded with the bus

        try:
            while not self._stop_requested():
                try:
                    msgs = await self._psub.fetch(_BATCH, timeout=self._poll)
                except TimeoutError:
                    continue
                except (nats.errors.Error, OSError) as exc:
                    log.warning(
                        "bus.fetch.failed", consumer=self.consumer, error=str(exc)
                    )
                    await asyncio.sleep(_RETRY_PAUSE)
                    continue
                for index, msg in enumerate(msgs):
                    if self._stop_requested():  # hand the rest back at once, unhandled
                        for rest in msgs[index:]:
                            await _quietly(rest.nak(), "nak")
                        break
                    await self._handle(msg)
        finally:
            await _quietly(self._psub.unsubscribe(), "unsubscribe")
            self._bus._forget(self)  # noqa: SLF001 - the bus owns its subscriptions

    async def _handle(self, msg: Msg) -> None:
        try:
            envelope = Envelope.from_json(msg.data)
        except (ValueError, KeyError, TypeError):
            log.exception(
                "bus.message.undecodable", consumer=self.consumer, subject=msg.subject
            )
            await _quietly(msg.term(), "term")
            return
        delivery = _NatsDelivery(msg, envelope)
        try:
            await self._handler(delivery)
        except Exception:  # handler failures are isolated, then retried
            log.warning(
                "bus.handler.failed",
                consumer=self.consumer,
                event_id=str(envelope.id),
                attempt=delivery.attempt,
                exc_info=True,
            )
            delay = min(0.05 * 2 ** (delivery.attempt - 1), 30.0)
            with suppress(Unavailable):
                await delivery.nak(delay)


class NatsBus:
    """An :class:`~phantom.kernel.bus.port.EventBus` on NATS JetStream.

    Args:
        url: ``nats://host:port?stream=..&prefix=..&ack_wait=..&duplicate_window=..``.

    Raises:
        ConfigError: ``nats-py`` is not installed, or the URL is invalid.
    """

    def __init__(self, url: str) -> None:
        """Parse ``url`` and check the driver is installed; connect nothing."""
        try:
            import nats  # noqa: F401, PLC0415 - fail at start-up, not on first use
        except ImportError as exc:
            msg = (
                "the nats:// event bus needs nats-py: "
                "install the extra with pip install 'phantom-ml[nats]'"
            )
            raise ConfigError(msg) from exc
        self.options = NatsOptions.from_url(url)
        self.prefix = self.options.prefix
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._lock = asyncio.Lock()
        self._closed = False
        self._subscriptions: dict[str, _NatsSubscription] = {}
        self._starting: set[str] = set()

    async def publish(self, envelope: Envelope) -> None:
        """See :meth:`phantom.kernel.bus.port.EventBus.publish`."""
        subject = subject_for(envelope, self.prefix)
        payload = envelope_payload(envelope)
        js = await self._jetstream()
        ack = await _translate(
            js.publish(
                subject,
                payload,
                stream=self.options.stream,
                headers={"Nats-Msg-Id": str(envelope.id)},
            ),
            f"publish to {self.options.where}",
        )
        if ack.duplicate:
            log.debug("bus.publish.duplicate", event_id=str(envelope.id), seq=ack.seq)

    async def subscribe(
        self,
        consumer: str,
        handler: Handler,
        *,
        subjects: str = ">",
    ) -> _NatsSubscription:
        """See :meth:`phantom.kernel.bus.port.EventBus.subscribe`."""
        if not consumer:
            msg = "a consumer name cannot be empty"
            raise InvalidInput(msg)
        absolute = filter_subject(subjects, self.prefix)
        if consumer in self._subscriptions or consumer in self._starting:
            msg = f"consumer {consumer!r} is already subscribed on this bus"
            raise Conflict(msg)
        self._starting.add(consumer)
        try:
            js = await self._jetstream()
            durable = subject_token(consumer)
            await self._ensure_consumer(js, durable, absolute)
            psub = await _translate(
                js.pull_subscribe_bind(durable=durable, stream=self.options.stream),
                "bind consumer",
            )
        finally:
            self._starting.discard(consumer)
        subscription = _NatsSubscription(self, consumer, handler, psub)
        self._subscriptions[consumer] = subscription
        return subscription

    async def ping(self) -> None:
        """Connect if needed and make a round trip to the server."""
        await self._jetstream()
        if self._nc is not None:
            await _translate(self._nc.flush(timeout=2), f"ping {self.options.where}")

    async def close(self) -> None:
        """Stop every subscription and close the connection. Idempotent."""
        self._closed = True
        for subscription in list(self._subscriptions.values()):
            await subscription.stop()
        async with self._lock:
            nc, self._nc, self._js = self._nc, None, None
            if nc is not None:
                await _quietly(nc.close(), "close")

    async def delete_stream(self) -> None:
        """Delete this bus's stream and its consumers (tests use it to clean up)."""
        import nats.js.errors  # noqa: PLC0415 - optional driver, loaded with the bus

        async with self._lock:
            js = await self._connect()
            with suppress(nats.js.errors.NotFoundError):
                await _translate(js.delete_stream(self.options.stream), "delete stream")
            self._stream_ready = False

    async def _on_disconnected(self) -> None:
        if self._nc is not None:  # not our own close, nor a failed first connect
            log.warning("bus.nats.disconnected", server=self.options.where)

    async def _on_reconnected(self) -> None:
        log.info("bus.nats.reconnected", server=self.options.where)

    def _forget(self, subscription: _NatsSubscription) -> None:
        if self._subscriptions.get(subscription.consumer) is subscription:
            del self._subscriptions[subscription.consumer]

    async def _jetstream(self) -> JetStreamContext:
        async with self._lock:
            js = await self._connect()
            if not self._stream_ready:
                await self._ensure_stream(js)
                self._stream_ready = True
            return js

    async def _connect(self) -> JetStreamContext:
        if self._closed:
            msg = "the NATS event bus is closed"
            raise Unavailable(msg)
        if self._js is not None:
            return self._js
        import nats.errors  # noqa: PLC0415 - optional driver, loaded with the bus
        from nats.aio.client import Client  # noqa: PLC0415

        nc = Client()
        options = self.options
        try:
            await asyncio.wait_for(
                nc.connect(
                    servers=[options.servers],
                    name="phantom",
                    connect_timeout=math.ceil(options.connect_timeout),
                    max_reconnect_attempts=-1,  # keep trying; calls fail meanwhile
                    error_cb=_on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                ),
                timeout=options.connect_timeout,
            )
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            await _quietly(nc.close(), "close")
            msg = f"NATS unreachable at {options.where}: {exc or type(exc).__name__}"
            raise Unavailable(msg) from exc
        self._nc, self._js = nc, nc.jetstream()
        return self._js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        import nats.js.errors  # noqa: PLC0415 - optional driver, loaded with the bus

        options = self.options
        subject = f"{options.prefix}.>"
        try:
            try:
                info = await js.stream_info(options.stream)
            except nats.js.errors.NotFoundError:
                await js.add_stream(
                    name=options.stream,
                    subjects=[subject],
                    duplicate_window=options.duplicate_window,
                )
                return
            config = info.config
            subjects = list(config.subjects or [])
            if (
                subject in subjects
                and config.duplicate_window == options.duplicate_window
            ):
                return
            if subject not in subjects:
                subjects.append(subject)
            await js.update_stream(
                config.evolve(
                    subjects=subjects, duplicate_window=options.duplicate_window
                )
            )
        except nats.js.errors.APIError as exc:
            msg = f"cannot create or update NATS stream {options.stream!r}: {exc}"
            raise ConfigError(msg) from exc
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            msg = f"NATS unreachable at {options.where}: {exc or type(exc).__name__}"
            raise Unavailable(msg) from exc

    async def _ensure_consumer(
        self, js: JetStreamContext, durable: str, absolute: str
    ) -> None:
        import nats.js.errors  # noqa: PLC0415 - optional driver, loaded with the bus
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy  # noqa: PLC0415

        stream = self.options.stream
        with suppress(nats.js.errors.NotFoundError):
            info = await _translate(js.consumer_info(stream, durable), "consumer info")
            if info.config.filter_subject != absolute:
                msg = (
                    f"consumer {durable!r} exists with subjects "
                    f"{info.config.filter_subject!r}, not {absolute!r}; "
                    "use another consumer name"
                )
                raise ConfigError(msg)
        config = ConsumerConfig(
            name=durable,
            durable_name=durable,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.options.ack_wait,
            filter_subject=absolute,
        )
        await _translate(js.add_consumer(stream, config), "create consumer")


async def _translate(call: Awaitable[T], what: str) -> T:
    """Await ``call``, turning driver errors into :class:`Unavailable`.

    A JetStream ``NotFoundError`` passes through for the caller to handle.
    """
    import nats.errors  # noqa: PLC0415 - optional driver, loaded with the bus
    import nats.js.errors  # noqa: PLC0415

    try:
        return await call
    except nats.js.errors.NotFoundError:
        raise
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        msg = f"NATS {what} failed: {exc or type(exc).__name__}"
        raise Unavailable(msg) from exc


async def _quietly(call: Awaitable[object], what: str) -> None:
    """Await a best-effort clean-up ``call``, logging driver errors."""
    import nats.errors  # noqa: PLC0415 - optional driver, loaded with the bus

    try:
        await call
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        log.debug("bus.nats.cleanup_failed", call=what, error=str(exc))


async def _on_error(exc: Exception) -> None:
    log.warning("bus.nats.error", error=str(exc) or type(exc).__name__)
