"""The event bus port: publish envelopes, deliver them to durable named consumers.

Subjects
    Every envelope travels on ``<prefix>.<tenant>.<context>.<name>`` (see
    :func:`subject_for`), so a consumer narrows what it receives with a filter
    *relative to the prefix*: ``">"`` (everything), ``"*.registry.>"`` (one
    context, all tenants) or ``f"{subject_token(tenant)}.>"`` (one tenant).
    ``*`` matches exactly one token and ``>`` (last token only) the rest, as in
    NATS.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from phantom.kernel.errors import InvalidInput
from phantom.kernel.events.envelope import Envelope

__all__ = [
    "Delivery",
    "EventBus",
    "Handler",
    "Subscription",
    "envelope_payload",
    "filter_subject",
    "subject_for",
    "subject_token",
]

_SAFE = re.compile(r"[A-Za-z0-9-]")


class Delivery(Protocol):
    """One delivery of one envelope to one consumer.

    A delivery is settled by the first call to :meth:`ack` or :meth:`nak`; later
    calls are ignored.
    """

    @property
    def envelope(self) -> Envelope:
        """The envelope, exactly as published."""
        ...

    @property
    def subject(self) -> str:
        """The full subject it was published on (see :func:`subject_for`)."""
        ...

    @property
    def attempt(self) -> int:
        """How many times this consumer has been given this message (1-based)."""
        ...

    async def ack(self) -> None:
        """Settle the delivery as done: the consumer will not see it again."""
        ...

    async def nak(self, delay: float | None = None) -> None:
        """Settle the delivery as failed and ask for a redelivery.

        Args:
            delay: seconds to wait before the redelivery (adapters may cap it);
                ``None`` redelivers as soon as possible.
        """
        ...


Handler = Callable[[Delivery], Awaitable[None]]
"""An async callable that processes one delivery and acks (or naks) it."""


class Subscription(Protocol):
    """A running subscription of one named consumer."""

    async def stop(self) -> None:
        """Stop delivering; the consumer keeps its position for a later subscribe.

        Waits for a handler call in progress to finish. Idempotent.
        """
        ...


class EventBus(Protocol):
    """Publishes envelopes and delivers them to durable named consumers.

    Publishing:
        ``publish`` returns once the bus has durably accepted the message: for
        NATS, when the JetStream publish ack arrives; for the memory bus, once
        every currently subscribed matching consumer has settled it (acked it,
        or exhausted its attempts) and it has been queued for every matching
        consumer that is stopped. Publishing an envelope whose ``id`` was
        already published within the de-duplication window (120 s by default)
        is accepted and not delivered again. There is no order between
        concurrent publishers.

    Delivering:
        ``subscribe(consumer, handler, subjects=...)`` starts a *durable named
        consumer*. Each message published on a matching subject after the
        consumer was first created is delivered at least once, in publish order
        per subject. A handler that raises or naks gets the message again with
        ``attempt + 1`` (the memory bus at once, after ``nak(delay)`` if given;
        NATS after the nak delay, or after a short backoff when it raised). A
        handler that returns without settling gets it again too (memory bus:
        at once; NATS: after the consumer's ``ack_wait``). A redelivered
        message may arrive after messages published later on NATS, so
        consumers must be idempotent and, where order matters, check
        ``stream_version`` (the inbox does both). Handler failures never reach
        the publisher.

        A consumer name that subscribes again resumes where it left off:
        messages published while it was stopped are delivered when it
        resumes. On NATS the position lives in the server, so it survives
        process restarts; on the memory bus it lives in the bus object. The
        first subscribe of a name sees, on NATS, everything the stream still
        holds; on the memory bus, only what is published from then on. A
        consumer name can have one active subscription per bus object;
        subscribing it twice raises :class:`~phantom.kernel.errors.Conflict`.
        Subscribing a name again with other ``subjects`` raises
        :class:`~phantom.kernel.errors.ConfigError`: pick a new name.

    Errors:
        :class:`~phantom.kernel.errors.Unavailable` when the backing service
        cannot be reached or the bus is closed;
        :class:`~phantom.kernel.errors.InvalidInput` for a bad subject filter
        or an envelope that has no subject (``type`` without a dot).

    Concurrency:
        All methods are coroutine-safe within one event loop. A bus object
        belongs to the event loop that first used it.
    """

    async def publish(self, envelope: Envelope) -> None:
        """Publish ``envelope`` on :func:`subject_for` its tenant and type.

        Raises:
            Unavailable: the bus is closed or its server cannot be reached.
            InvalidInput: the envelope has no valid subject, or its ``data``
                cannot be serialised to JSON.
        """
        ...

    async def subscribe(
        self,
        consumer: str,
        handler: Handler,
        *,
        subjects: str = ">",
    ) -> Subscription:
        """Start (or resume) the durable consumer ``consumer``.

        Args:
            consumer: the durable consumer name (any non-empty string).
            handler: called once per delivery, one delivery at a time.
            subjects: a filter relative to the bus prefix; ``">"`` is everything.

        Returns:
            The running subscription; :meth:`Subscription.stop` pauses it.

        Raises:
            Conflict: ``consumer`` already has an active subscription on this bus.
            ConfigError: ``consumer`` exists with other ``subjects``.
            InvalidInput: ``consumer`` is empty or ``subjects`` is not a filter.
            Unavailable: the bus is closed or its server cannot be reached.
        """
        ...

    async def ping(self) -> None:
        """Check the bus is usable.

        Raises:
            Unavailable: the bus is closed or its server cannot be reached.
        """
        ...

    async def close(self) -> None:
        """Stop every subscription and release connections. Idempotent."""
        ...


def envelope_payload(envelope: Envelope) -> bytes:
    """Return the bytes a bus carries for ``envelope`` (its JSON form).

    Every adapter delivers ``Envelope.from_json(envelope_payload(e))``, the memory
    bus included, so a payload that would change on the wire (a ``datetime`` or a
    ``set`` in ``data``) changes in unit tests too, and handlers never share one
    mutable ``data`` dict.

    Raises:
        InvalidInput: ``data`` holds something JSON cannot carry.
    """
    try:
        return envelope.to_json()
    except ValueError as exc:
        msg = f"event {envelope.id} cannot be serialised to JSON: {exc}"
        raise InvalidInput(msg) from exc


def subject_token(value: str) -> str:
    """Encode ``value`` as one NATS subject token, injectively.

    ASCII letters, digits and ``-`` are kept; every other character (including
    ``_``) becomes ``_`` followed by the two-digit upper-case hex of each of its
    UTF-8 bytes, so two different values never share a token (which would let
    one tenant's filter see another tenant's events).

    Raises:
        InvalidInput: ``value`` is empty.
    """
    if not value:
        msg = "a subject token cannot be empty"
        raise InvalidInput(msg)
    out: list[str] = []
    for char in value:
        if _SAFE.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"_{byte:02X}" for byte in char.encode())
    return "".join(out)


def subject_for(envelope: Envelope, prefix: str = "phantom") -> str:
    """Return the subject ``envelope`` is published on.

    ``f"{prefix}.{tenant}.{context}.{name}"``, where ``context`` and ``name`` are
    ``envelope.type`` split on its first dot, and every token is made subject-safe
    with :func:`subject_token`.

    Raises:
        InvalidInput: ``type`` has no dot, or a part of it is empty.
    """
    context, dot, name = envelope.type.partition(".")
    if not dot or not context or not name:
        msg = f"event type {envelope.type!r} is not '<context>.<EventName>'"
        raise InvalidInput(msg)
    tokens = (subject_token(envelope.tenant_id), subject_token(context))
    return f"{prefix}.{'.'.join(tokens)}.{subject_token(name)}"


def filter_subject(subjects: str, prefix: str) -> str:
    """Validate a consumer filter and return it as an absolute subject filter.

    Args:
        subjects: a filter relative to ``prefix``, such as ``">"`` or ``"t1.>"``.
        prefix: the bus prefix.

    Raises:
        InvalidInput: a token is empty or has whitespace, a wildcard is not a
            whole token, or ``>`` is not the last token.
    """
    tokens = subjects.split(".")
    last = len(tokens) - 1
    for index, part in enumerate(tokens):
        bad = (
            not part
            or any(char.isspace() for char in part)
            or (part != "*" and "*" in part)
            or (">" in part and (part != ">" or index != last))
        )
        if bad:
            msg = f"{subjects!r} is not a subject filter"
            raise InvalidInput(msg)
    return f"{prefix}.{subjects}"
