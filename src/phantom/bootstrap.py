"""The composition root: builds every adapter from settings, once.

Nothing is built at import. ``build(settings)`` opens a database per context, the
event stores, the bus and the cache; ``Container.migrate()`` brings the schemas up;
the gateway and the CLI are the only callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from phantom.kernel.bus import EventBus, open_bus
from phantom.kernel.cache import Cache, open_cache
from phantom.kernel.clock import Clock, SystemClock
from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.roles import DatabaseRoles
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import ConfigError, NotFound
from phantom.kernel.events.inbox import Consumer
from phantom.kernel.events.relay import OutboxRelay
from phantom.kernel.events.sql import SqlEventStore
from phantom.kernel.module import Module
from phantom.kernel.settings import Settings

__all__ = ["Container", "build", "known_modules"]

log = structlog.get_logger(__name__)


def known_modules() -> dict[str, Module]:
    """The contexts this build of Phantom ships, by name.

    ``system`` is the kernel's own database (dead letters of system consumers, and
    the events of platform-wide administration); the bounded contexts join it as
    they are built.
    """
    return {"system": Module(name="system")}


@dataclass
class Container:
    """Everything built from settings; the one place adapters are wired."""

    settings: Settings
    clock: Clock
    modules: dict[str, Module]
    databases: dict[str, Database]
    stores: dict[str, SqlEventStore]
    bus: EventBus
    cache: Cache
    consumers: dict[str, Consumer] = field(default_factory=dict)

    def database(self, context: str) -> Database:
        """Return ``context``'s database."""
        try:
            return self.databases[context]
        except KeyError:
            msg = f"context {context!r} is not part of this deployment"
            raise NotFound(msg) from None

    def uow(self, context: str, tenant_id: str | None) -> UnitOfWork:
        """Return a new unit of work on ``context``'s database for ``tenant_id``.

        ``None`` is for work on tables without tenant rows only: on PostgreSQL,
        row-level security shows and accepts no tenant rows without a tenant.
        """
        module = self.modules[context]
        return UnitOfWork(
            self.database(context),
            self.stores[context],
            module.projectors,
            tenant_id=tenant_id,
        )

    def relays(self) -> list[OutboxRelay]:
        """One outbox relay per context database."""
        return [
            OutboxRelay(db, self.stores[name], self.bus)
            for name, db in self.databases.items()
        ]

    def consumer(self, name: str) -> Consumer:
        """Return the consumer called ``name``."""
        try:
            return self.consumers[name]
        except KeyError:
            known = ", ".join(sorted(self.consumers)) or "none"
            msg = f"no consumer named {name!r}; known consumers: {known}"
            raise NotFound(msg) from None

    def migrate(self) -> None:
        """Apply every pending migration to every context database."""
        for name, db in self.databases.items():
            migrate(db, self.modules[name].migrations)

    def close(self) -> None:
        """Release connections held by the databases and the cache.

        The bus is asynchronous: close it with :meth:`aclose` instead when a loop
        is running, or ``asyncio.run(container.aclose())`` from synchronous code.
        """
        for db in self.databases.values():
            db.dispose()
        self.cache.close()

    async def aclose(self) -> None:
        """Close the bus, then everything :meth:`close` closes."""
        try:
            await self.bus.close()
        finally:
            self.close()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    modules: Sequence[Module] | None = None,
) -> Container:
    """Build the container for ``settings``.

    Args:
        settings: the configuration.
        clock: the time source (the system clock by default).
        modules: the modules to run instead of the shipped ones (tests).
    """
    available = {m.name: m for m in modules} if modules is not None else known_modules()
    unknown = [name for name in settings.contexts if name not in available]
    if unknown and modules is None:
        ships = ", ".join(sorted(available))
        msg = f"unknown contexts {unknown}; this build ships: {ships}"
        raise ConfigError(msg)
    chosen = (
        {name: available[name] for name in settings.contexts if name in available}
        if modules is None
        else available
    )
    roles = DatabaseRoles(settings.database_app_role, settings.database_system_role)
    databases = {
        name: open_database(name, settings.database_url_for(name), roles=roles)
        for name in chosen
    }
    stores = {
        name: SqlEventStore(db.dialect, db.schema) for name, db in databases.items()
    }
    the_clock = clock or SystemClock()
    container = Container(
        settings=settings,
        clock=the_clock,
        modules=chosen,
        databases=databases,
        stores=stores,
        bus=open_bus(settings.bus_url),
        cache=open_cache(settings.cache_url, max_entries=settings.cache_max_entries),
    )
    for name, module in chosen.items():
        for spec in module.consumers:
            container.consumers[spec.name] = Consumer(
                spec.name,
                databases[name],
                spec.effect,
                max_attempts=settings.max_delivery_attempts,
                clock=the_clock,
            )
    log.debug("bootstrap.built", contexts=sorted(chosen))
    return container
