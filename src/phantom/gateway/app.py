"""The HTTP application: the contexts' routers behind one set of middlewares.

``create_app(settings)`` is the only way to get one; nothing is built at import.
Its lifespan runs one outbox relay per context database and subscribes every
consumer to the bus; shutting down stops them and closes the bus and the container.

Middlewares, outermost first: metrics, request context, CORS (only when
``PHANTOM_CORS_ORIGINS`` lists origins), body limit, access (the policy table:
authentication, rate limit, permission, idempotency; ADR 0011). The app refuses to
start when a mounted route has no entry in the policy table.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import structlog
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import compile_path

from phantom import __version__
from phantom.audit.tasks import AuditMaintenance, run_audit_tasks
from phantom.bootstrap import Container, build, training_worker
from phantom.gateway.access import AccessControl, AccessMiddleware
from phantom.gateway.auth import API_KEY_HEADER, Authenticator, require
from phantom.gateway.decisions import Decisions
from phantom.gateway.health import health_router
from phantom.gateway.idempotency import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    IdempotencyStore,
)
from phantom.gateway.middleware import (
    BodyLimitMiddleware,
    HttpMetrics,
    HttpMetricsMiddleware,
    RequestContextMiddleware,
)
from phantom.gateway.policy import (
    POLICY,
    RouteKey,
    Rule,
    check_complete,
    mounted_routes,
)
from phantom.gateway.problems import document_problems, install_problem_handlers
from phantom.gateway.ratelimit import RateLimiter
from phantom.kernel.cache.memory import MemoryCache
from phantom.kernel.errors import ConfigError
from phantom.monitoring.metrics import MonitoringCollector
from phantom.serving.metrics import ServingCollector
from phantom.tenancy.http import tenancy_router

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping, Sequence
    from contextlib import AbstractAsyncContextManager

    from starlette.types import Scope

    from phantom.kernel.bus.port import Subscription
    from phantom.kernel.module import Module
    from phantom.kernel.settings import Settings

__all__ = ["PhantomAPI", "create_app"]

log = structlog.get_logger(__name__)

SHUTDOWN_TIMEOUT_S: Final = 10.0
SPOOL_INTERVAL_S: Final = 0.5
"""How often the server looks for metric points spooled by standalone workers."""
"""How long the relays get to finish their round when the app stops."""
_CORS_METHODS: Final = ["GET", "POST", "PATCH", "PUT", "DELETE"]
_CORS_HEADERS: Final = [
    "Authorization",
    "Content-Type",
    API_KEY_HEADER,
    IDEMPOTENCY_HEADER,
    "X-Request-ID",
]
_CORS_EXPOSED: Final = ["Retry-After", "X-Request-ID", REPLAYED_HEADER]


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


async def _drain_metric_spool(container: Container, stop: asyncio.Event) -> None:
    """Move points spooled by standalone workers into the analytics store."""
    while not stop.is_set():
        try:
            moved = await asyncio.to_thread(container.drain_metric_spool)
        except Exception:  # logged; the next round retries
            log.exception("gateway.metric_spool.failed")
            moved = 0
        if moved == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=SPOOL_INTERVAL_S)


def _start_workers(
    container: Container, stop: threading.Event
) -> list[threading.Thread]:
    """The in-process training workers (``PHANTOM_IN_PROCESS_WORKERS``), started."""
    threads = []
    for number in range(container.settings.in_process_workers):
        worker = training_worker(container)
        if worker is None:
            break
        thread = threading.Thread(
            target=worker.run, args=(stop,), name=f"worker-{number}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def _lifespan(
    container: Container,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    interval = container.settings.relay_interval_s

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker_stop = threading.Event()
        workers: list[threading.Thread] = []
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
            if isinstance(container.audit, AuditMaintenance):
                # Stopped with the relays, so its last flush and signature land
                # before the container closes.
                relays.append(
                    asyncio.create_task(
                        run_audit_tasks(container.audit, stop), name="audit"
                    )
                )
            if container.deployments is not None:
                # Sagas a crash left running: finish or compensate them first.
                await asyncio.to_thread(container.deployments.resume_incomplete)
            for module in container.modules.values():
                relays.extend(
                    asyncio.create_task(task(container, stop), name=module.name)
                    for task in module.tasks
                )
            workers = _start_workers(container, worker_stop)
            if container.training is not None and container.settings.analytics_writer:
                relays.append(
                    asyncio.create_task(
                        _drain_metric_spool(container, stop), name="metric-spool"
                    )
                )
            log.info(
                "gateway.started",
                contexts=sorted(container.modules),
                relays=len(relays),
                consumers=len(subscriptions),
                workers=len(workers),
            )
            yield
        finally:
            worker_stop.set()
            for thread in workers:
                await asyncio.to_thread(thread.join, SHUTDOWN_TIMEOUT_S)
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
    extra_policy: Mapping[RouteKey, Rule] | None = None,
) -> FastAPI:
    """Build the gateway application.

    Args:
        settings: the configuration (body limit, contexts, ...).
        container: an already built (and migrated) container to serve; built from
            ``settings`` when omitted. The app's lifespan closes it on shutdown.
        modules: the modules to build the container from instead of the shipped
            ones (tests).
        only: serve only these contexts (``phantom serve --only``).
        extra_policy: policy entries for routes of modules that do not ship with
            Phantom (tests, plugins); they may not change a shipped entry.

    Returns:
        The FastAPI application; its lifespan runs the relays and consumers.

    Raises:
        ConfigError: ``container`` is combined with ``modules``/``only``,
            ``only`` names an unknown context, ``extra_policy`` overrides a
            shipped entry, or a mounted route has no policy entry.
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
    policy = _policy(extra_policy)
    # add_middleware wraps: the last one added runs first.
    app.add_middleware(AccessMiddleware, control=_access(app, built, policy))
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes,
        is_upload=_upload_matcher(policy),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=_CORS_METHODS,
            allow_headers=_CORS_HEADERS,
            expose_headers=_CORS_EXPOSED,
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry))
    app.include_router(health_router(built, registry))
    if built.serving is not None:
        registry.register(ServingCollector(built.serving))
    if built.monitoring is not None and built.feedback is not None:
        registry.register(MonitoringCollector(built.monitoring, built.feedback))
    for router in _context_routers(built):
        app.include_router(router)
    check_complete(mounted_routes(app.routes), policy)
    return app


def _upload_matcher(policy: Mapping[RouteKey, Rule]) -> Callable[[Scope], bool]:
    """Whether a request is for a route whose rule says it takes a file."""
    patterns = [
        (method, compile_path(path)[0])
        for (method, path), rule in policy.items()
        if rule.upload
    ]

    def is_upload(scope: Scope) -> bool:
        method, path = scope.get("method"), str(scope.get("path", ""))
        return any(m == method and p.match(path) for m, p in patterns)

    return is_upload


def _policy(extra: Mapping[RouteKey, Rule] | None) -> dict[RouteKey, Rule]:
    overridden = sorted(set(extra or {}) & set(POLICY))
    if overridden:
        names = ", ".join(f"{method} {path}" for method, path in overridden)
        msg = f"extra_policy may not change the shipped policy of: {names}"
        raise ConfigError(msg)
    return {**POLICY, **(extra or {})}


def _access(
    app: FastAPI, container: Container, policy: Mapping[RouteKey, Rule]
) -> AccessControl:
    settings = container.settings
    authenticator = (
        None
        if container.tenancy is None
        else Authenticator(container.tenancy, ttl=settings.auth_cache_ttl_s)
    )
    cache = container.cache
    return AccessControl(
        routes=app.router.routes,
        policy=policy,
        authenticator=authenticator,
        limiter=RateLimiter(
            cache, rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst
        ),
        idempotency=IdempotencyStore(cache, ttl=settings.idempotency_ttl_s),
        decisions=Decisions(
            container.audit, cache, per_second=settings.audit_denials_per_second
        ),
        blocking_cache=not isinstance(cache, MemoryCache),
    )


def _context_routers(container: Container) -> list[APIRouter]:
    """Every deployed context's router, data-plane routers first.

    Routers that act for the caller get the gateway's ``require`` factory (a
    context never imports the gateway); test and plugin modules build theirs
    from the container (``Module.router``). Starlette tries routes in order, so
    the routers of ``hot_path`` modules (predictions) come first.
    """
    modules = [m for m in container.modules.values() if m.router is not None]
    hot = [m.router(container) for m in modules if m.hot_path and m.router]
    routers: list[APIRouter] = list(hot)
    if container.tenancy is not None:
        routers.append(tenancy_router(container.tenancy, require))
    # The contexts' own routers (audit's included); POLICY decides who may call them.
    routers.extend(m.router(container) for m in modules if not m.hot_path and m.router)
    return routers
