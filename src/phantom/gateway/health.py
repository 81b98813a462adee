"""Liveness, readiness and metrics endpoints.

* ``GET /healthz``: the process answers (no dependency is touched).
* ``GET /readyz``: every context database, the bus and the cache answer; a 503
  problem+json lists which check failed and why, without URLs or credentials.
* ``GET /metrics``: Prometheus text format, from the app's own registry.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Final, Literal

import structlog
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import Response

from phantom.gateway.problems import problem_responses
from phantom.kernel.errors import PhantomError, Unavailable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from prometheus_client import CollectorRegistry

    from phantom.bootstrap import Container

__all__ = ["CHECK_TIMEOUT_S", "Liveness", "Readiness", "health_router"]

log = structlog.get_logger(__name__)

CHECK_TIMEOUT_S: Final = 5.0
"""How long one readiness check may take before it counts as failed."""


class Liveness(BaseModel):
    """The answer of ``/healthz``."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """The answer of ``/readyz`` when every dependency answers."""

    status: Literal["ready"] = "ready"
    checks: dict[str, str]


async def _check(name: str, probe: Callable[[], Awaitable[None]]) -> tuple[str, str]:
    """Run one probe; return ``(name, "ok")`` or ``(name, why it failed)``."""
    try:
        await asyncio.wait_for(probe(), timeout=CHECK_TIMEOUT_S)
    except TimeoutError:
        reason = f"no answer within {CHECK_TIMEOUT_S:g} s"
    except PhantomError as exc:
        reason = exc.detail
    except Exception as exc:  # noqa: BLE001 - any failure makes the check fail
        reason = f"unexpected {type(exc).__name__}"
    else:
        return name, "ok"
    log.warning("gateway.readiness_failed", check=name, reason=reason)
    return name, reason


def _probes(container: Container) -> dict[str, Callable[[], Awaitable[None]]]:
    probes: dict[str, Callable[[], Awaitable[None]]] = {}
    for name, db in container.databases.items():
        probes[f"database:{name}"] = partial(asyncio.to_thread, db.ping)
    probes["bus"] = container.bus.ping
    probes["cache"] = partial(asyncio.to_thread, container.cache.ping)
    if container.training is not None:  # the server is the analytics store's writer

        def analytics() -> None:
            container.analytics().ping()

        probes["analytics"] = partial(asyncio.to_thread, analytics)
    return probes


def health_router(container: Container, registry: CollectorRegistry) -> APIRouter:
    """Build the health, readiness and metrics routes for ``container``.

    Args:
        container: whose databases, bus and cache ``/readyz`` checks.
        registry: the app's Prometheus registry that ``/metrics`` exposes.
    """
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness probe", operation_id="healthz")
    async def healthz() -> Liveness:
        return Liveness()

    @router.get(
        "/readyz",
        summary="Readiness probe: databases, bus and cache answer",
        operation_id="readyz",
        responses=problem_responses(503),
    )
    async def readyz() -> Readiness:
        probes = _probes(container)
        results = await asyncio.gather(*(_check(n, p) for n, p in probes.items()))
        checks = dict(results)
        failed = sorted(name for name, result in checks.items() if result != "ok")
        if failed:
            names = ", ".join(failed)
            detail = f"{len(failed)} of {len(checks)} checks failed: {names}"
            raise Unavailable(detail, checks=checks)
        return Readiness(checks=checks)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
