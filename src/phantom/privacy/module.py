"""The privacy context's module: migrations, projector and routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from phantom.kernel.module import Module
from phantom.privacy.adapters.sql import PRIVACY_MIGRATIONS, project_privacy
from phantom.privacy.http import privacy_router

if TYPE_CHECKING:
    from fastapi import APIRouter

    from phantom.privacy.service import PrivacyService

__all__ = ["PrivacyHost", "privacy_module"]


class PrivacyHost(Protocol):
    """What the router needs from the composition root."""

    privacy: PrivacyService | None


def privacy_module() -> Module:
    """The privacy context's contribution to the running system."""

    def router(host: PrivacyHost) -> APIRouter:
        if host.privacy is None:
            msg = "the container was built without the privacy service"
            raise RuntimeError(msg)
        return privacy_router(host.privacy)

    return Module(
        name="privacy",
        migrations=PRIVACY_MIGRATIONS,
        projectors=[project_privacy],
        router=router,
    )
