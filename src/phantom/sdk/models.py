"""What the SDK's calls return: frozen models of the server's answers.

They are the SDK's own (the server's DTOs are not imported, so the SDK stays a
plain HTTP client) and ignore members they do not know, so an older SDK keeps
working against a newer server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Artifact",
    "Column",
    "ColumnProfile",
    "Dataset",
    "DatasetVersion",
    "Experiment",
    "Histogram",
    "MetricHistory",
    "MetricSummary",
    "Run",
    "RunComparison",
    "RunStatus",
    "TopValue",
]

RunStatus = Literal["running", "finished", "failed", "killed"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Column(_Model):
    """One column of a dataset version's schema."""

    name: str
    type: str


class Histogram(_Model):
    """Counts in ``len(edges) - 1`` equal-width bins."""

    edges: list[float]
    counts: list[int]


class TopValue(_Model):
    """A frequent value of a categorical column and its count."""

    value: str
    count: int


class ColumnProfile(_Model):
    """What a column holds (numeric statistics, or its top values)."""

    name: str
    type: str
    count: int
    nulls: int
    distinct: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float] | None = None
    histogram: Histogram | None = None
    top: list[TopValue] | None = None


class Dataset(_Model):
    """A dataset: a name and its numbered versions."""

    dataset_id: str
    name: str
    description: str
    latest_version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class DatasetVersion(_Model):
    """One immutable version of a dataset (``profile`` only when asked for one)."""

    dataset_id: str
    name: str
    version: int
    digest: str
    size_bytes: int
    format: Literal["csv", "parquet"]
    row_count: int
    columns: list[Column]
    profile: list[ColumnProfile] | None = None
    source: str
    created_by: str
    created_at: datetime


class Experiment(_Model):
    """A named group of runs."""

    experiment_id: str
    name: str
    description: str
    created_by: str
    created_at: datetime


class Artifact(_Model):
    """A file attached to a run."""

    name: str
    digest: str
    size_bytes: int
    media_type: str
    created_at: datetime


class Run(_Model):
    """A run: params, tags, status, latest metric values and artifacts."""

    run_id: str
    experiment_id: str
    name: str
    status: RunStatus
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]
    artifacts: list[Artifact]
    dataset_id: str | None = None
    dataset_version: int | None = None
    job_id: str | None = None
    created_by: str
    started_at: datetime
    ended_at: datetime | None = None


class MetricSummary(_Model):
    """One metric of a run: last value (at the highest step), range, count."""

    key: str
    last: float
    min: float
    max: float
    count: int
    last_step: int


class RunComparison(_Model):
    """Runs side by side, with the params that differ."""

    runs: list[Run]
    param_keys: list[str]
    metric_keys: list[str]
    differing_params: list[str]


@dataclass(frozen=True, slots=True)
class MetricHistory:
    """One metric's points in step order, as parallel lists.

    Attributes:
        key: the metric.
        steps: each point's step.
        timestamps_us: each point's time, microseconds since the Unix epoch (UTC).
        values: each point's value.
    """

    key: str
    steps: list[int] = field(repr=False)
    timestamps_us: list[int] = field(repr=False)
    values: list[float] = field(repr=False)

    def __len__(self) -> int:
        return len(self.steps)
