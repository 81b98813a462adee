"""What a bounded context hands to the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phantom.kernel.db.uow import Projector
from phantom.kernel.events.inbox import Effect

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["BackgroundTask", "ConsumerSpec", "Module"]

BackgroundTask = Callable[[Any, asyncio.Event], Coroutine[Any, Any, None]]
"""A module's task: ``task(container, stop)``, returning once ``stop`` is set."""


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """A consumer a module runs: its durable name, subject filter and effect."""

    name: str
    effect: Effect
    subjects: str = ">"


@dataclass(frozen=True, slots=True)
class Module:
    """A context's contribution to the running system.

    Attributes:
        name: the context name (also its database and schema name).
        migrations: the context's Alembic script folder, if it has tables.
        projectors: inline projectors run in the writer's transaction.
        consumers: event consumers fed by the bus.
        router: builds the context's HTTP routes from the container.
        bind: called with the container once it is built, so the module's
            consumers can reach the services the composition root made.
        hot_path: its routes carry the data plane (predictions): the gateway
            mounts them before the others, so matching a request to a route
            takes a few comparisons instead of one per route of the platform.
        tasks: background tasks the server runs while it is up, each called
            as ``task(container, stop)`` and expected to return soon after
            ``stop`` is set (scheduled drift reports, say).
    """

    name: str
    migrations: Path | None = None
    projectors: Sequence[Projector] = ()
    consumers: Sequence[ConsumerSpec] = ()
    router: Callable[[Any], APIRouter] | None = field(default=None)
    bind: Callable[[Any], None] | None = field(default=None)
    hot_path: bool = False
    tasks: Sequence[BackgroundTask] = ()
