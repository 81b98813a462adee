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
    "AliasAssignment",
    "Artifact",
    "BatchJob",
    "Column",
    "ColumnProfile",
    "Dataset",
    "DatasetVersion",
    "Deployment",
    "DeploymentKind",
    "DeploymentState",
    "DeploymentStep",
    "Experiment",
    "Histogram",
    "JobStatus",
    "MetricHistory",
    "MetricSummary",
    "ModelVersion",
    "Prediction",
    "RegisteredModel",
    "Run",
    "RunComparison",
    "RunStatus",
    "Scalar",
    "TopValue",
]

RunStatus = Literal["running", "finished", "failed", "killed"]
DeploymentKind = Literal["deploy", "canary", "shadow", "rollback"]
DeploymentState = Literal["running", "succeeded", "compensated", "failed"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Scalar = str | int | float | bool | None
"""One JSON value that is not a container: a feature value, a label, a score."""


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


# -- the model registry -------------------------------------------------------


class RegisteredModel(_Model):
    """A registered model: a tenant-unique name over numbered versions."""

    model_id: str
    name: str
    description: str
    latest_version: int
    archived: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class ModelVersion(_Model):
    """One immutable version of a model: its file, signature, metrics, lineage.

    ``signature`` lists the input features (``{name, type, ...}``) in the order
    the model reads them; a version without one cannot serve predictions.
    """

    model_id: str
    name: str
    version: int
    digest: str
    size_bytes: int
    format: str
    signature: list[dict[str, object]]
    metrics: dict[str, float]
    params: dict[str, str]
    description: str
    source: str
    dataset_id: str | None = None
    dataset_version: int | None = None
    run_id: str | None = None
    job_id: str | None = None
    parent_version: int | None = None
    status: Literal["ready", "archived"]
    created_by: str
    created_at: datetime


class AliasAssignment(_Model):
    """One span of an alias's history: ``version`` from ``valid_from`` to ``valid_to``.

    ``valid_to`` is ``None`` while the assignment is current.
    """

    alias: str
    version: int
    valid_from: datetime
    valid_to: datetime | None = None
    set_by: str


# -- serving --------------------------------------------------------------------


class DeploymentStep(_Model):
    """One step of a deploy saga (``validate``, ``convert``, ``warm``...)."""

    name: str
    state: Literal["started", "done", "failed", "compensated"]
    detail: str


class Deployment(_Model):
    """A deploy saga: what it deploys where, its steps, and how it ended.

    ``state`` is final when the server answers a deploy or a rollback:
    ``succeeded``, ``compensated`` (a step failed and the earlier ones were
    undone) or ``failed``.
    """

    deployment_id: str
    model: str
    version: int
    alias: str
    kind: DeploymentKind
    canary_percent: int | None = None
    state: DeploymentState
    steps: list[DeploymentStep]
    previous_version: int | None = None
    error: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime


class Prediction(_Model):
    """A prediction's answer: one label or value per instance, in order.

    ``probabilities`` (one row per instance, columns in ``classes`` order) are
    there for classifiers that give them.
    """

    model: str
    version: int
    prediction_id: str
    predictions: list[Scalar]
    probabilities: list[list[float]] | None = None
    classes: list[Scalar] | None = None

    @property
    def top_probabilities(self) -> list[float] | None:
        """Each instance's highest class probability (``None`` without them)."""
        if self.probabilities is None:
            return None
        return [max(row, default=float("nan")) for row in self.probabilities]


# -- batch inference -------------------------------------------------------------


class BatchJob(_Model):
    """A batch inference job: a model version scoring every row of a dataset.

    ``spec`` holds the ``model``, its pinned ``version`` (and the ``alias`` it was
    resolved from), the ``dataset`` id and pinned ``dataset_version``.
    ``progress`` has ``rows_done`` and ``rows_total``; once it succeeded,
    ``result`` has the Parquet output's ``output_digest``, ``output_bytes``,
    ``rows`` and ``columns``.
    """

    job_id: str
    kind: str
    name: str
    status: JobStatus
    attempts: int
    max_retries: int
    cancel_requested: bool = False
    spec: dict[str, object]
    progress: dict[str, object]
    result: dict[str, object] | None = None
    error: str | None = None
    created_by: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        """Whether the job has ended (succeeded, failed or cancelled)."""
        return self.status in {"succeeded", "failed", "cancelled"}

    @property
    def model(self) -> str:
        """The model that scores."""
        return str(self.spec.get("model"))

    @property
    def version(self) -> int | None:
        """The model version that scores (pinned when the job was queued)."""
        value = self.spec.get("version")
        return value if isinstance(value, int) else None

    @property
    def rows(self) -> int | None:
        """How many rows the output has (``None`` until the job succeeded)."""
        value = (self.result or {}).get("rows")
        return value if isinstance(value, int) else None
