"""The event bus port and its adapters, chosen by URL.

``open_bus("memory://")`` gives the in-process :class:`MemoryBus` (the embedded
default); ``open_bus("nats://127.0.0.1:4222?stream=PHANTOM_EVENTS")`` gives the
JetStream :class:`NatsBus`, which connects on first use. The contract every adapter
meets is :class:`EventBus`'s docstring, checked by
:mod:`phantom.testing.contracts.bus`.
"""

from __future__ import annotations

from phantom.kernel.adapters import SchemeRegistry
from phantom.kernel.bus.memory import MemoryBus
from phantom.kernel.bus.nats import NatsBus
from phantom.kernel.bus.port import (
    Delivery,
    EventBus,
    Handler,
    Subscription,
    envelope_payload,
    filter_subject,
    subject_for,
    subject_token,
)

__all__ = [
    "Delivery",
    "EventBus",
    "Handler",
    "MemoryBus",
    "NatsBus",
    "Subscription",
    "envelope_payload",
    "filter_subject",
    "open_bus",
    "subject_for",
    "subject_token",
]


def _registry() -> SchemeRegistry[EventBus]:
    registry: SchemeRegistry[EventBus] = SchemeRegistry("bus")
    registry.register("memory", MemoryBus.from_url)
    registry.register("nats", NatsBus)
    return registry


def open_bus(url: str) -> EventBus:
    """Build the event bus for ``url`` (``memory://`` or ``nats://``).

    Nothing is connected yet: a :class:`NatsBus` connects on its first publish,
    subscribe or ping.

    Raises:
        ConfigError: an unknown scheme (the message lists the known ones), an invalid
            URL, or ``nats://`` without the ``nats`` extra installed.
    """
    return _registry().open(url)
