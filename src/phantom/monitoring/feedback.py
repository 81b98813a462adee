"""Ground truth and performance: feedback labels, metrics, estimates, serving stats.

* ``POST /v1/models/{name}/feedback`` stores labels for logged predictions (one
  per instance: ``row`` is its position in the request). A later label of the
  same row replaces an earlier one. Labels of predictions the log never kept
  (sampled out, or another tenant's ids) are stored and simply never match.
* Performance over a window joins the labels to the logged answers: accuracy,
  macro F1 and ROC AUC for classifiers (equal to scikit-learn's on the same
  labels), MAE and RMSE for regressors.
* Without labels, a classifier's expected accuracy is estimated from its own
  confidence on every logged answer of the window (CBPE-style; it assumes
  calibrated probabilities), so a drop shows before the labels arrive.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from phantom.kernel.analytics import AnalyticsStore, FeedbackRecord, ServingStats
from phantom.kernel.clock import Clock
from phantom.kernel.errors import InvalidField
from phantom.kernel.events.sql import to_us
from phantom.monitoring.domain.performance import (
    classification_metrics,
    expected_accuracy,
    regression_metrics,
)
from phantom.monitoring.logged import outputs_of
from phantom.monitoring.ports import ModelVersions
from phantom.monitoring.windows import window
from phantom.tenancy.api import Permission, Principal, require_permission

__all__ = ["MAX_FEEDBACK", "FeedbackService", "Label", "Performance"]

MAX_FEEDBACK: Final = 10_000
"""The most labels one call may send."""
_MAX_LABEL_CHARS: Final = 1_000


@dataclass(frozen=True, slots=True)
class Label:
    """The true value of one instance of a logged prediction."""

    prediction_id: str
    label: Any
    row: int = 0


@dataclass(frozen=True, slots=True)
class Performance:
    """A window's metrics from labels, and the label-free estimate."""

    model: str
    version: int | None
    since_us: int
    until_us: int
    task: str
    labelled: int
    metrics: dict[str, float]
    answered: int
    estimated: dict[str, float]


def _value(text: str) -> Any:  # noqa: ANN401 - a JSON scalar
    return json.loads(text)


def _same_kind(values: Sequence[Any]) -> np.ndarray[Any, Any]:
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64)
    return np.asarray([str(v) for v in values], dtype=object)


class FeedbackService:
    """Labels in, performance out (see the module docstring)."""

    def __init__(
        self,
        *,
        analytics: Callable[[], AnalyticsStore],
        models: ModelVersions,
        clock: Clock,
    ) -> None:
        self.analytics = analytics
        self.models = models
        self.clock = clock
        self.latest: dict[tuple[str, str], Performance] = {}
        """The latest performance of each model this process computed (gauges)."""

    def record(self, principal: Principal, model: str, labels: Sequence[Label]) -> int:
        """Store ``labels`` for ``model``'s predictions; how many were stored.

        Raises:
            NotFound: no such model in the caller's tenant.
            InvalidField: too many labels, a label that is not a JSON scalar or is
                too long, a negative row.
        """
        require_permission(principal, Permission.MONITORING_WRITE)
        self.models.resolve(principal.tenant_id, model)
        if not 1 <= len(labels) <= MAX_FEEDBACK:
            raise InvalidField("feedback", f"send 1 to {MAX_FEEDBACK} labels")
        now = to_us(self.clock.now())
        records = []
        for index, item in enumerate(labels):
            if isinstance(item.label, dict | list) or item.label is None:
                where = f"feedback.{index}.label"
                raise InvalidField(where, "a label is a number, a string or a boolean")
            text = json.dumps(item.label)
            if len(text) > _MAX_LABEL_CHARS:
                msg = f"feedback.{index}.label"
                raise InvalidField(msg, "at most 1,000 characters")
            records.append(
                FeedbackRecord(
                    principal.tenant_id,
                    model,
                    item.prediction_id,
                    item.row,
                    now,
                    text,
                )
            )
        return self.analytics().append_feedback(records)

    def performance(
        self,
        principal: Principal,
        model: str,
        *,
        version: int | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> Performance:
        """Metrics over a window (default: the last 24 hours) of ``model``'s answers.

        Raises:
            NotFound: no such model or version in the caller's tenant.
        """
        require_permission(principal, Permission.MONITORING_READ)
        tenant_id = principal.tenant_id
        self.models.resolve(tenant_id, model, version=version)
        since, until = window(self.clock, since_us, until_us)
        store = self.analytics()
        pairs = store.labelled_predictions(
            tenant_id, model, version=version, since_us=since, until_us=until
        )
        truths, answers, scores = [], [], []
        for pair in pairs:
            answered = outputs_of(pair.outputs)
            if answered is None or pair.row >= len(answered[0]):
                continue
            predictions, probabilities = answered
            truths.append(_value(pair.label))
            answers.append(predictions[pair.row])
            scores.append(None if probabilities is None else probabilities[pair.row])
        task, metrics = _metrics(truths, answers, scores)
        answered_count, estimated = self._estimate(
            store, tenant_id, model, version=version, window=(since, until)
        )
        found = Performance(
            model=model,
            version=version,
            since_us=since,
            until_us=until,
            task=task if truths else ("classification" if estimated else "unknown"),
            labelled=len(truths),
            metrics=metrics,
            answered=answered_count,
            estimated=estimated,
        )
        self.latest[(tenant_id, model)] = found
        return found

    def serving(
        self,
        principal: Principal,
        *,
        model: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> list[ServingStats]:
        """Logged traffic per model, version and route over a window."""
        require_permission(principal, Permission.MONITORING_READ)
        since, until = window(self.clock, since_us, until_us)
        return self.analytics().serving_stats(
            principal.tenant_id, model=model, since_us=since, until_us=until
        )

    @staticmethod
    def _estimate(
        store: AnalyticsStore,
        tenant_id: str,
        model: str,
        *,
        version: int | None,
        window: tuple[int, int],
    ) -> tuple[int, dict[str, float]]:
        since, until = window
        records = store.recent_predictions(
            tenant_id,
            model,
            version=version,
            since_us=since,
            until_us=until,
            status="ok",
            limit=100_000,
        )
        rows: list[list[float]] = []
        for record in records:
            if record.route == "shadow":
                continue
            answered = outputs_of(record.outputs)
            if answered is not None and answered[1] is not None:
                rows.extend(row for row in answered[1] if isinstance(row, list))
        if not rows:
            return len(records), {}
        try:
            matrix = np.asarray(rows, dtype=np.float64)
        except ValueError:
            return len(records), {}
        return len(records), {"expected_accuracy": expected_accuracy(matrix)}


def _metrics(
    truths: list[Any], answers: list[Any], scores: list[Any]
) -> tuple[str, dict[str, float]]:
    if not truths:
        return "unknown", {}
    y_true, y_pred = _same_kind(truths), _same_kind(answers)
    classifier = any(s is not None for s in scores) or y_pred.dtype == object
    if not classifier and y_true.dtype != object:
        integral = np.all(np.mod(y_pred, 1) == 0) and np.all(np.mod(y_true, 1) == 0)
        classifier = bool(integral) and len(set(y_true.tolist())) <= 20
    if not classifier:
        return "regression", regression_metrics(y_true, y_pred)
    if y_true.dtype != y_pred.dtype:
        y_true = np.asarray([str(v) for v in truths], dtype=object)
        y_pred = np.asarray([str(v) for v in answers], dtype=object)
    probabilities = (
        np.asarray(scores, dtype=np.float64)
        if all(isinstance(s, list) for s in scores)
        else None
    )
    return "classification", classification_metrics(y_true, y_pred, probabilities)
