"""What other contexts (and the SDK) may use of the monitoring context.

The request and response shapes of the monitoring routes. Drift reports travel
as the domain's ``DriftReport.to_dict()`` document (per feature: kind, statistic,
threshold, value, drifted, sizes, missing counts, all statistics).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DriftReportInfo",
    "FeedbackItem",
    "FeedbackRequest",
    "FeedbackResult",
    "PerformanceInfo",
    "ServingStatsInfo",
]


class _Dto(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftReportInfo(_Dto):
    """A drift report: the window, the reference, the verdicts.

    ``report_id`` is set when the report was recorded in the history.
    """

    report_id: str | None
    model: str
    version: int
    since: datetime
    until: datetime
    reference_source: str
    reference_rows: int
    skipped_requests: int
    report: dict[str, Any]
    created_at: datetime | None = None


class FeedbackItem(_Dto):
    """The true value of instance ``row`` of prediction ``prediction_id``."""

    prediction_id: str = Field(min_length=1, max_length=64)
    label: bool | int | float | str
    row: int = Field(0, ge=0, le=1_000_000)


class FeedbackRequest(_Dto):
    """Up to 10,000 labels for a model's logged predictions."""

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=10_000)


class FeedbackResult(_Dto):
    """How many labels were stored."""

    stored: int


class PerformanceInfo(_Dto):
    """Metrics from labels over a window, and the label-free estimate."""

    model: str
    version: int | None
    since: datetime
    until: datetime
    task: str
    labelled: int
    metrics: dict[str, float]
    answered: int
    estimated: dict[str, float]


class ServingStatsInfo(_Dto):
    """A model version's logged traffic on one route over a window."""

    model: str
    version: int
    route: str
    requests: int
    rows: int
    errors: int
    error_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    first: datetime
    last: datetime
