"""What the training context offers other contexts and the gateway.

The DTOs of its HTTP answers and the queries another context may call (the
registry reads a run's lineage, monitoring a dataset version's profile). Other
contexts import this module and :mod:`phantom.training.events`, nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ArtifactInfo",
    "ColumnInfo",
    "ColumnProfile",
    "DatasetInfo",
    "DatasetVersionInfo",
    "ExperimentInfo",
    "Histogram",
    "JobInfo",
    "JobLogLine",
    "JobStatus",
    "MetricSummary",
    "RunComparison",
    "RunInfo",
    "RunStatus",
    "TopValue",
]

RunStatus = Literal["running", "finished", "failed", "killed"]
"""A run's status; only ``running`` may change, and only to one of the others."""

ColumnType = Literal["integer", "float", "boolean", "string", "date", "datetime"]


class _Dto(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnInfo(_Dto):
    """One column of a dataset's inferred schema."""

    name: str
    type: ColumnType


class Histogram(_Dto):
    """Counts in ``len(edges) - 1`` equal-width bins; the last bin is closed."""

    edges: list[float]
    counts: list[int]


class TopValue(_Dto):
    """A frequent value of a categorical column and how often it occurs."""

    value: str
    count: int


class ColumnProfile(_Dto):
    """What a column holds: the reference monitoring compares traffic with.

    Numeric columns have ``mean``..``histogram``; the others ``top`` values.
    ``distinct`` is approximate (HyperLogLog) on large columns.
    """

    name: str
    type: ColumnType
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


class DatasetInfo(_Dto):
    """A registered dataset: a name and its numbered versions."""

    dataset_id: str
    name: str
    description: str
    latest_version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class DatasetVersionInfo(_Dto):
    """One immutable version of a dataset: its bytes' digest, schema and profile."""

    dataset_id: str
    name: str
    version: int
    digest: str
    size_bytes: int
    format: Literal["csv", "parquet"]
    row_count: int
    columns: list[ColumnInfo]
    profile: list[ColumnProfile] | None = None
    source: Literal["upload", "path"]
    created_by: str
    created_at: datetime


class ExperimentInfo(_Dto):
    """An experiment: a named group of runs."""

    experiment_id: str
    name: str
    description: str
    created_by: str
    created_at: datetime


class ArtifactInfo(_Dto):
    """A file attached to a run under ``name`` (its bytes are content-addressed)."""

    name: str
    digest: str
    size_bytes: int
    media_type: str
    created_at: datetime


class RunInfo(_Dto):
    """A run: its params, tags, status, latest metric values and artifacts."""

    run_id: str
    experiment_id: str
    name: str
    status: RunStatus
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]
    artifacts: list[ArtifactInfo]
    dataset_id: str | None
    dataset_version: int | None
    job_id: str | None
    created_by: str
    started_at: datetime
    ended_at: datetime | None


JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobInfo(_Dto):
    """A training job: its spec, where it is, and what it found.

    ``progress`` holds ``trials_done``, ``trials_total``, ``best_score`` and
    ``best_run_id`` while a search runs; ``result`` the best run, its params and
    score, and the model's digest and format once it succeeded. A ``batch``
    job's ``progress`` holds ``rows_done`` and ``rows_total``; its ``result``
    the Parquet output's ``output_digest``, ``output_bytes``, ``rows``,
    ``columns``, the ``model`` and ``version`` that scored, and ``format``.
    """

    job_id: str
    kind: Literal["search", "entrypoint", "batch"]
    name: str
    status: JobStatus
    priority: int
    attempts: int
    max_retries: int
    cancel_requested: bool
    spec: dict[str, Any]
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobLogLine(_Dto):
    """One line a job printed (``stream``: ``stdout``, ``stderr`` or ``event``)."""

    seq: int
    at: datetime
    attempt: int
    stream: str
    line: str


class MetricSummary(_Dto):
    """One metric of a run: its last value (at the highest step) and range."""

    key: str
    last: float
    min: float
    max: float
    count: int
    last_step: int


class RunComparison(_Dto):
    """Runs side by side: every param and metric key any of them has."""

    runs: list[RunInfo]
    param_keys: list[str]
    metric_keys: list[str]
    differing_params: list[str]

    @classmethod
    def of(cls, runs: list[RunInfo]) -> RunComparison:
        """Compare ``runs``: the union of keys, and the params that differ."""
        params = sorted({key for run in runs for key in run.params})
        metrics = sorted({key for run in runs for key in run.metrics})
        differing = [
            key for key in params if len({run.params.get(key) for run in runs}) > 1
        ]
        return cls(
            runs=runs,
            param_keys=params,
            metric_keys=metrics,
            differing_params=differing,
        )
