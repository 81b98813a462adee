"""The serving context's published events (wire type ``serving.<Name>``).

Each deployment is its own stream (``deployment-<id>``): the deploy saga's start,
each step as it finishes (or fails, or is undone), the traffic changes and ONNX
conversions it makes, and its end. The saga's state is rebuilt from this stream
after a crash. Schema version 1 for all.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.typed import DomainEvent, parse_typed

__all__ = [
    "EVENT_TYPES",
    "DeploymentEnded",
    "DeploymentStarted",
    "DeploymentStepRecorded",
    "ModelConverted",
    "ServingEvent",
    "TrafficSet",
    "parse_event",
]

StepState = Literal["started", "done", "failed", "compensated"]
EndState = Literal["succeeded", "compensated", "failed"]


class ServingEvent(DomainEvent):
    """Base of the serving events: frozen, unknown fields refused."""

    CONTEXT: ClassVar[str] = "serving"


class DeploymentStarted(ServingEvent):
    """A deploy saga began: what it deploys and what it found in place."""

    NAME: ClassVar[str] = "DeploymentStarted"
    deployment_id: str
    model: str
    version: int
    alias: str
    kind: Literal["deploy", "canary", "shadow", "rollback"]
    canary_percent: int | None = None
    previous_version: int | None = None
    previous_traffic: dict[str, int | None] | None = None


class DeploymentStepRecorded(ServingEvent):
    """A saga step started, finished, failed or was undone."""

    NAME: ClassVar[str] = "DeploymentStepRecorded"
    deployment_id: str
    step: str
    state: StepState
    detail: str = ""


class TrafficSet(ServingEvent):
    """An alias's canary and shadow settings changed (all ``None``: cleared)."""

    NAME: ClassVar[str] = "TrafficSet"
    model: str
    alias: str
    canary_version: int | None = None
    canary_percent: int | None = None
    shadow_version: int | None = None


class ModelConverted(ServingEvent):
    """A version's bytes were converted to ONNX (served instead, same answers)."""

    NAME: ClassVar[str] = "ModelConverted"
    model: str
    version: int
    source_digest: str
    onnx_digest: str
    classes: list[Any] | None = None


class DeploymentEnded(ServingEvent):
    """The saga ended: succeeded, compensated (nothing changed) or failed."""

    NAME: ClassVar[str] = "DeploymentEnded"
    deployment_id: str
    state: EndState
    error: str | None = None


EVENT_TYPES: dict[str, type[ServingEvent]] = {
    cls.event_type(): cls
    for cls in (
        DeploymentStarted,
        DeploymentStepRecorded,
        TrafficSet,
        ModelConverted,
        DeploymentEnded,
    )
}
"""Every serving event class by wire type."""


def parse_event(envelope: Envelope) -> ServingEvent | None:
    """The typed event in ``envelope``, or ``None`` when it is not a serving event."""
    return parse_typed(envelope, EVENT_TYPES)
