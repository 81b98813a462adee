"""The training context's module: migrations, inline projector, HTTP routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from phantom.kernel.module import Module
from phantom.training.adapters.sql import TRAINING_MIGRATIONS, project_training
from phantom.training.http import training_router

if TYPE_CHECKING:
    from fastapi import APIRouter

    from phantom.kernel.settings import Settings
    from phantom.training.job_service import JobService
    from phantom.training.service import TrainingService

__all__ = ["TrainingHost", "training_module"]


class TrainingHost(Protocol):
    """What the router needs from the composition root's container."""

    settings: Settings
    training: TrainingService | None
    jobs: JobService | None


def training_module() -> Module:
    """The training context's contribution to the running system."""

    def router(host: TrainingHost) -> APIRouter:
        if host.training is None or host.jobs is None:
            msg = "the container was built without the training services"
            raise RuntimeError(msg)
        return training_router(host.training, host.jobs, host.settings.max_upload_bytes)

    return Module(
        name="training",
        migrations=TRAINING_MIGRATIONS,
        projectors=[project_training],
        router=router,
    )
