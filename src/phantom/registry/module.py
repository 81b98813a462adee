"""The registry context's module: migrations, inline projector, HTTP routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from phantom.kernel.module import Module
from phantom.registry.adapters.sql import REGISTRY_MIGRATIONS, project_registry
from phantom.registry.http import registry_router

if TYPE_CHECKING:
    from fastapi import APIRouter

    from phantom.kernel.settings import Settings
    from phantom.registry.service import RegistryService

__all__ = ["RegistryHost", "registry_module"]


class RegistryHost(Protocol):
    """What the router needs from the composition root's container."""

    settings: Settings
    registry: RegistryService | None


def registry_module() -> Module:
    """The registry context's contribution to the running system."""

    def router(host: RegistryHost) -> APIRouter:
        if host.registry is None:
            msg = "the container was built without the registry service"
            raise RuntimeError(msg)
        return registry_router(host.registry, host.settings.max_upload_bytes)

    return Module(
        name="registry",
        migrations=REGISTRY_MIGRATIONS,
        projectors=[project_registry],
        router=router,
    )
