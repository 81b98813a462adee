"""The HTTP application: the contexts' routers behind one set of middlewares.

``create_app(settings)`` is the only way to get one; nothing is built at import.
Its lifespan runs one outbox relay per context database and subscribes every
consumer to the bus; shutting down stops them and closes the bus and the container.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from phantom import __version__
from phantom.bootstrap import Container, build
from phantom.gateway.health import health_router
from phantom.gateway.middleware import (
    BodyLimitMiddleware,
    HttpMetrics,
    HttpMetricsMiddleware,
    RequestContextMiddleware,
)
from phantom.gateway.problems import document_problems, install_problem_handlers
from phantom.kernel.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from contextlib import AbstractAsyncContextManager

    from phantom.kernel.bus.port import Subscription
    from phantom.kernel.module import Module
    from phantom.kernel.settings import Settings

__all__ = ["PhantomAPI", "create_app"]

log = structlog.get_logger(__name__)

SHUTDOWN_TIMEOUT_S: Final = 10.0
"""How long the relays get to finish their round when the app stops."""


class PhantomAPI(FastAPI):
    """FastAPI whose OpenAPI document renders every error as problem+json."""

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI document, with problem+json error responses."""
        if self.openapi_schema is None:
            self.openapi_schema = document_problems(super().openapi())
        return self.openapi_schema


def _container(
    settings: Settings,
    container: Container | None,
    modules: Sequence[Module] | None,
    only: Sequence[str] | None,
) -> Container:
    if container is not None:
        if only is not None or modules is not None:
            msg = "pass either a built container or modules/only, not both"
            raise ConfigError(msg)
        return container
    if only is None:
        return build(settings, modules=modules)
    wanted = list(dict.fromkeys(only))
    if modules is None:
        return build(settings.model_copy(update={"contexts": wanted}))
    by_name = {module.name: module for module in modules}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        msg = f"unknown contexts {unknown}; known: {', '.join(sorted(by_name))}"
        raise ConfigError(msg)
    return build(settings, modules=[by_name[name] for name in wanted])


async def _subscribe(container: Container) -> list[Subscription]:
    subscriptions: list[Subscription] = []
    for module in container.modules.values():
        for spec in module.consumers:
            consumer = container.consumer(spec.name)
            subscriptions.append(
                await container.bus.subscribe(
                    spec.name, consumer.on_delivery, subjects=spec.subjects
                )
            )
    return subscriptions


async def _stop(
    stop: asyncio.Event,
    relays: list[asyncio.Task[None]],
    subscriptions: list[Subscription],
) -> None:
    stop.set()
    if relays:
        _, pending = await asyncio.wait(relays, timeout=SHUTDOWN_TIMEOUT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
    for subscription in subscriptions:
        await subscription.stop()


def _lifespan(
    container: Container,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    interval = container.settings.relay_interval_s

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        relays: list[asyncio.Task[None]] = []
        subscriptions: list[Subscription] = []
        try:
            # Consumers first: a bus only delivers what is published after a
            # consumer first subscribed, and the relays publish at once.
            subscriptions = await _subscribe(container)
            relays = [
                asyncio.create_task(
                    relay.run(stop, interval=interval),
                    name=f"relay:{relay.db.context}",
                )
                for relay in container.relays()
            ]
            log.info(
                "gateway.started",
                contexts=sorted(container.modules),
                relays=len(relays),
                consumers=len(subscriptions),
            )
            yield
        finally:
            await _stop(stop, relays, subscriptions)
            await container.aclose()
            log.info("gateway.stopped")

    return lifespan


def create_app(
    settings: Settings,
    *,
    container: Container | None = None,
    modules: Sequence[Module] | None = None,
    only: Sequence[str] | None = None,
) -> FastAPI:
    """Build the gateway application.

    Args:
        settings: the configuration (body limit, contexts, ...).
        container: an already built (and migrated) container to serve; built from
            ``settings`` when omitted. The app's lifespan closes it on shutdown.
        modules: the modules to build the container from instead of the shipped
            ones (tests).
        only: serve only these contexts (``phantom serve --only``).

    Returns:
        The FastAPI application; its lifespan runs the relays and consumers.

    Raises:
        ConfigError: ``container`` is combined with ``modules``/``only``, or
            ``only`` names an unknown context.
    """
    built = _container(settings, container, modules, only)
    app = PhantomAPI(
        title="Phantom ML",
        version=__version__,
        summary="Multi-tenant machine-learning platform",
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan(built),
    )
    app.state.container = built
    registry = CollectorRegistry(auto_describe=True)
    app.state.metrics_registry = registry
    install_problem_handlers(app)
    # add_middleware wraps: the last one added runs first.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry))
    app.include_router(health_router(built, registry))
    for module in built.modules.values():
        if module.router is not None:
            app.include_router(module.router(built))
    return app
