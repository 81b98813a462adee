"""Typed domain events: the base every context's published events derive from.

A context declares one base with its name, then one class per event::

    class TrainingEvent(DomainEvent):
        CONTEXT: ClassVar[str] = "training"

    class RunStarted(TrainingEvent):
        NAME: ClassVar[str] = "RunStarted"
        run_id: str

``RunStarted.event_type()`` is the envelope's ``type`` (``training.RunStarted``),
``to_data()`` its JSON ``data``; :func:`parse_typed` turns an envelope back into
its event. Events are frozen and refuse unknown fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from phantom.kernel.events.envelope import Envelope

__all__ = ["DomainEvent", "parse_typed"]

E = TypeVar("E", bound="DomainEvent")


class DomainEvent(BaseModel):
    """Base of the published events: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    CONTEXT: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    @classmethod
    def event_type(cls) -> str:
        """The envelope ``type``: ``<context>.<Name>``."""
        return f"{cls.CONTEXT}.{cls.NAME}"

    def to_data(self) -> dict[str, Any]:
        """The envelope's JSON ``data``."""
        return self.model_dump(mode="json")


def parse_typed(envelope: Envelope, types: Mapping[str, type[E]]) -> E | None:
    """The typed event in ``envelope``, or ``None`` when ``types`` lacks its type."""
    cls = types.get(envelope.type)
    return None if cls is None else cls.model_validate(envelope.data)
