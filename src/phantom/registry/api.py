"""What the registry context offers other contexts and the gateway.

The DTOs of its HTTP answers (serving resolves an alias to a version's digest
through them). Other contexts import this module and
:mod:`phantom.registry.events`, nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from phantom.registry.domain.rules import MODEL_NAME_RULE, is_model_name

__all__ = [
    "MODEL_NAME_RULE",
    "AliasAssignment",
    "ModelInfo",
    "ModelVersionInfo",
    "VersionStatus",
    "is_model_name",
]

VersionStatus = Literal["ready", "archived"]
"""A version's status: ``ready`` until archived (archived versions keep bytes)."""


class _Dto(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelInfo(_Dto):
    """A registered model: a tenant-unique name over numbered versions."""

    model_id: str
    name: str
    description: str
    latest_version: int
    archived: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class ModelVersionInfo(_Dto):
    """One version of a model: its bytes, format, signature, metrics, lineage."""

    model_id: str
    name: str
    version: int
    digest: str
    size_bytes: int
    format: str
    signature: list[dict[str, Any]]
    metrics: dict[str, float]
    params: dict[str, str]
    description: str
    source: str
    dataset_id: str | None
    dataset_version: int | None
    run_id: str | None
    job_id: str | None
    parent_version: int | None
    status: VersionStatus
    created_by: str
    created_at: datetime


class AliasAssignment(_Dto):
    """One span of an alias's history: ``version`` from ``valid_from`` to ``valid_to``.

    ``valid_to`` is ``None`` while the assignment is current.
    """

    alias: str
    version: int
    valid_from: datetime
    valid_to: datetime | None
    set_by: str
