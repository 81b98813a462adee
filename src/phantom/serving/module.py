"""The serving context's module: migrations, projector, routes, the preload consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import structlog

from phantom.kernel.module import ConsumerSpec, Module
from phantom.serving.adapters.sql import SERVING_MIGRATIONS, project_serving
from phantom.serving.http import serving_router

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy import Connection

    from phantom.kernel.events.envelope import Envelope
    from phantom.serving.saga import DeploySaga
    from phantom.serving.service import ServingService

__all__ = ["PRELOAD_CONSUMER", "ServingHost", "serving_module"]

PRELOAD_CONSUMER = "serving.preload"
log = structlog.get_logger(__name__)


class ServingHost(Protocol):
    """What the router and the consumer need from the composition root."""

    serving: ServingService | None
    deployments: DeploySaga | None


class _Preloader:
    """On ``registry.AliasMoved``: forget cached routes, load the new version.

    The effect only hands the load to a background thread, so a slow model
    never holds the consumer's transaction.
    """

    def __init__(self) -> None:
        self.serving: ServingService | None = None

    def bind(self, host: Any) -> None:  # noqa: ANN401 - the container
        self.serving = host.serving

    def __call__(self, _conn: Connection, envelope: Envelope) -> None:
        serving = self.serving
        if serving is None or envelope.type != "registry.AliasMoved":
            return
        data = envelope.data
        name, version = data.get("name"), data.get("version")
        serving.invalidate(envelope.tenant_id, name if isinstance(name, str) else None)
        if isinstance(name, str) and isinstance(version, int):
            serving.preload(envelope.tenant_id, name, version)


def serving_module() -> Module:
    """The serving context's contribution to the running system."""
    preloader = _Preloader()

    def router(host: ServingHost) -> APIRouter:
        if host.serving is None or host.deployments is None:
            msg = "the container was built without the serving services"
            raise RuntimeError(msg)
        return serving_router(host.serving, host.deployments)

    return Module(
        name="serving",
        migrations=SERVING_MIGRATIONS,
        projectors=[project_serving],
        consumers=[
            ConsumerSpec(PRELOAD_CONSUMER, preloader, subjects="*.registry.AliasMoved")
        ],
        router=router,
        bind=preloader.bind,
        hot_path=True,
    )
