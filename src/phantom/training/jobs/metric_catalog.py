"""The metrics a search can optimise, and whether each is better larger or smaller.

Classification: ``accuracy``, ``balanced_accuracy``, ``f1``, ``f1_macro``,
``precision``, ``recall``, ``roc_auc`` and ``log_loss``. Regression: ``rmse``,
``mae``, ``r2`` and ``mape``. How each is computed is in
:mod:`phantom.training.jobs.metrics`; this module imports no scikit-learn, so
reading a spec stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from phantom.training.jobs.estimators import Task

__all__ = [
    "CLASSIFICATION_METRICS",
    "DEFAULT_METRIC",
    "PROBABILITY_METRICS",
    "REGRESSION_METRICS",
    "Direction",
    "metric_direction",
    "metrics_for",
]

Direction = Literal["maximize", "minimize"]

CLASSIFICATION_METRICS: Final[Mapping[str, Direction]] = {
    "accuracy": "maximize",
    "balanced_accuracy": "maximize",
    "f1": "maximize",
    "f1_macro": "maximize",
    "precision": "maximize",
    "recall": "maximize",
    "roc_auc": "maximize",
    "log_loss": "minimize",
}
REGRESSION_METRICS: Final[Mapping[str, Direction]] = {
    "rmse": "minimize",
    "mae": "minimize",
    "r2": "maximize",
    "mape": "minimize",
}
DEFAULT_METRIC: Final[Mapping[Task, str]] = {
    "classification": "accuracy",
    "regression": "rmse",
}
PROBABILITY_METRICS: Final = frozenset({"log_loss"})
"""Metrics that need ``predict_proba`` (``roc_auc`` can use decision scores)."""


def metrics_for(task: Task) -> Mapping[str, Direction]:
    """The metrics that apply to ``task``, with their directions."""
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def metric_direction(metric: str) -> Direction:
    """Whether ``metric`` is better larger (``maximize``) or smaller."""
    return {**CLASSIFICATION_METRICS, **REGRESSION_METRICS}[metric]
