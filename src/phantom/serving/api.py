"""What the serving context offers other contexts and the gateway: its DTOs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["DeploymentInfo", "DeploymentStep", "PredictionResult", "TrafficInfo"]

DeploymentKind = Literal["deploy", "canary", "shadow", "rollback"]
DeploymentState = Literal["running", "succeeded", "compensated", "failed"]


class _Dto(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeploymentStep(_Dto):
    """One step of a deploy saga as it stands."""

    name: str
    state: Literal["started", "done", "failed", "compensated"]
    detail: str


class DeploymentInfo(_Dto):
    """A deploy saga: what it deploys, its steps, and how it ended."""

    deployment_id: str
    model: str
    version: int
    alias: str
    kind: DeploymentKind
    canary_percent: int | None
    state: DeploymentState
    steps: list[DeploymentStep]
    previous_version: int | None
    error: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class TrafficInfo(_Dto):
    """How one alias of a model is served right now."""

    model: str
    alias: str
    version: int
    canary_version: int | None
    canary_percent: int | None
    shadow_version: int | None


class PredictionResult(_Dto):
    """``POST /v1/models/{name}/predict``'s answer."""

    model: str
    version: int
    prediction_id: str
    predictions: list[Any]
    probabilities: list[list[float]] | None
    classes: list[Any] | None
