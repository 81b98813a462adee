"""The registry context's published events (wire type ``registry.<Name>``).

Each model is its own stream (``model-<id>``): its registration, its versions,
its aliases' moves and removals, its versions' archiving. Schema version 1 for
all; an upcaster will live next to an event whose shape changes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.typed import DomainEvent, parse_typed

__all__ = [
    "EVENT_TYPES",
    "AliasMoved",
    "AliasRemoved",
    "ModelRegistered",
    "ModelVersionArchived",
    "ModelVersionRegistered",
    "RegistryEvent",
    "parse_event",
]


class RegistryEvent(DomainEvent):
    """Base of the registry events: frozen, unknown fields refused."""

    CONTEXT: ClassVar[str] = "registry"


class ModelRegistered(RegistryEvent):
    """A model name was registered (with its first version, which follows)."""

    NAME: ClassVar[str] = "ModelRegistered"
    model_id: str
    name: str
    description: str


class ModelVersionRegistered(RegistryEvent):
    """A new version of a model: its bytes' digest, format, signature, lineage."""

    NAME: ClassVar[str] = "ModelVersionRegistered"
    model_id: str
    version: int
    digest: str
    size_bytes: int
    format: str
    signature: list[dict[str, Any]]
    metrics: dict[str, float]
    params: dict[str, str]
    description: str
    source: str
    dataset_id: str | None = None
    dataset_version: int | None = None
    run_id: str | None = None
    job_id: str | None = None
    parent_version: int | None = None


class AliasMoved(RegistryEvent):
    """An alias now points at ``version`` (``previous_version`` when it moved)."""

    NAME: ClassVar[str] = "AliasMoved"
    model_id: str
    alias: str
    version: int
    previous_version: int | None = None
    name: str | None = None
    """The model's name (``None`` in events written before it was carried)."""


class AliasRemoved(RegistryEvent):
    """An alias was removed; it pointed at ``previous_version``."""

    NAME: ClassVar[str] = "AliasRemoved"
    model_id: str
    alias: str
    previous_version: int


class ModelVersionArchived(RegistryEvent):
    """A version was archived: it keeps its bytes, no alias may point at it."""

    NAME: ClassVar[str] = "ModelVersionArchived"
    model_id: str
    version: int


EVENT_TYPES: dict[str, type[RegistryEvent]] = {
    cls.event_type(): cls
    for cls in (
        ModelRegistered,
        ModelVersionRegistered,
        AliasMoved,
        AliasRemoved,
        ModelVersionArchived,
    )
}
"""Every registry event class by wire type."""


def parse_event(envelope: Envelope) -> RegistryEvent | None:
    """The typed event in ``envelope``, or ``None`` when it is not a registry event."""
    return parse_typed(envelope, EVENT_TYPES)
