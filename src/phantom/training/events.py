"""The training context's published events (wire type ``training.<Name>``).

Each dataset, experiment and run is its own stream (``dataset-<id>``,
``experiment-<id>``, ``run-<id>``). Metric points are not events: they go to the
analytics store in batches (DESIGN §3), far too many for an event log.

Schema version 1 for all; an upcaster will live next to an event whose shape
changes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.typed import DomainEvent, parse_typed

__all__ = [
    "EVENT_TYPES",
    "DatasetRegistered",
    "DatasetVersionAdded",
    "ExperimentCreated",
    "JobCancelRequested",
    "JobFinished",
    "JobSubmitted",
    "RunArtifactLogged",
    "RunEnded",
    "RunParamsLogged",
    "RunStarted",
    "RunTagsSet",
    "TrainingEvent",
    "parse_event",
]


class TrainingEvent(DomainEvent):
    """Base of the training events: frozen, unknown fields refused."""

    CONTEXT: ClassVar[str] = "training"


class DatasetRegistered(TrainingEvent):
    """A dataset name was registered; its versions follow."""

    NAME: ClassVar[str] = "DatasetRegistered"
    dataset_id: str
    name: str
    description: str


class DatasetVersionAdded(TrainingEvent):
    """A new version of a dataset: its content digest, schema and profile."""

    NAME: ClassVar[str] = "DatasetVersionAdded"
    dataset_id: str
    version: int
    digest: str
    size_bytes: int
    format: str
    row_count: int
    columns: list[dict[str, Any]]
    profile: dict[str, Any]
    source: str


class ExperimentCreated(TrainingEvent):
    """An experiment (a named group of runs) was created."""

    NAME: ClassVar[str] = "ExperimentCreated"
    experiment_id: str
    name: str
    description: str


class RunStarted(TrainingEvent):
    """A run started in an experiment."""

    NAME: ClassVar[str] = "RunStarted"
    run_id: str
    experiment_id: str
    name: str
    params: dict[str, str]
    tags: dict[str, str]
    dataset_id: str | None = None
    dataset_version: int | None = None
    job_id: str | None = None


class RunParamsLogged(TrainingEvent):
    """Parameters were logged; a parameter, once logged, never changes."""

    NAME: ClassVar[str] = "RunParamsLogged"
    run_id: str
    params: dict[str, str]


class RunTagsSet(TrainingEvent):
    """Tags were set (a tag may be overwritten)."""

    NAME: ClassVar[str] = "RunTagsSet"
    run_id: str
    tags: dict[str, str]


class RunEnded(TrainingEvent):
    """A run ended: ``finished``, ``failed`` or ``killed``."""

    NAME: ClassVar[str] = "RunEnded"
    run_id: str
    status: str


class RunArtifactLogged(TrainingEvent):
    """A file was attached to a run under a name; its bytes are in the store."""

    NAME: ClassVar[str] = "RunArtifactLogged"
    run_id: str
    name: str
    digest: str
    size_bytes: int
    media_type: str


class JobSubmitted(TrainingEvent):
    """A training job was queued."""

    NAME: ClassVar[str] = "JobSubmitted"
    job_id: str
    kind: str
    name: str
    priority: int
    dataset: str | None = None


class JobCancelRequested(TrainingEvent):
    """Someone asked for a job to stop."""

    NAME: ClassVar[str] = "JobCancelRequested"
    job_id: str


class JobFinished(TrainingEvent):
    """A job ended: ``succeeded``, ``failed`` or ``cancelled``, after ``attempts``."""

    NAME: ClassVar[str] = "JobFinished"
    job_id: str
    status: str
    attempts: int
    best_run_id: str | None = None
    model_digest: str | None = None
    error: str | None = None


EVENT_TYPES: dict[str, type[TrainingEvent]] = {
    cls.event_type(): cls
    for cls in (
        DatasetRegistered,
        DatasetVersionAdded,
        ExperimentCreated,
        RunStarted,
        RunParamsLogged,
        RunTagsSet,
        RunEnded,
        RunArtifactLogged,
        JobSubmitted,
        JobCancelRequested,
        JobFinished,
    )
}
"""Every training event class by wire type."""


def parse_event(envelope: Envelope) -> TrainingEvent | None:
    """The typed event in ``envelope``, or ``None`` when it is not a training event."""
    return parse_typed(envelope, EVENT_TYPES)
