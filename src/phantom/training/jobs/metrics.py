"""How each metric of :mod:`~phantom.training.jobs.metric_catalog` is scored.

``f1``, ``precision`` and ``recall`` score the last class (in sorted order) as
positive for two classes and average weighted by support beyond. ``roc_auc`` is
one-vs-rest for more than two classes, and uses decision scores for models
without class probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn import metrics as skm

from phantom.training.jobs.metric_catalog import CLASSIFICATION_METRICS

__all__ = ["score_model"]


def _scores(model: Any, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:  # noqa: ANN401
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x), dtype=np.float64)
    return np.asarray(model.decision_function(x), dtype=np.float64)


def _roc_auc(model: Any, x: npt.NDArray[Any], y: npt.NDArray[Any]) -> float:  # noqa: ANN401
    classes = model.classes_
    scores = _scores(model, x)
    if len(classes) == 2:
        positive = scores[:, 1] if scores.ndim == 2 else scores
        return float(skm.roc_auc_score(y == classes[1], positive))
    return float(skm.roc_auc_score(y, scores, multi_class="ovr", labels=classes))


def _averaged(model: Any) -> dict[str, Any]:  # noqa: ANN401
    classes = model.classes_
    if len(classes) == 2:
        return {"average": "binary", "pos_label": classes[1], "zero_division": 0}
    return {"average": "weighted", "zero_division": 0}


def _classification(
    metric: str,
    model: Any,  # noqa: ANN401
    x: npt.NDArray[Any],
    y: npt.NDArray[Any],
) -> float:
    if metric == "roc_auc":
        return _roc_auc(model, x, y)
    if metric == "log_loss":
        return float(skm.log_loss(y, model.predict_proba(x), labels=model.classes_))
    predicted = model.predict(x)
    if metric == "accuracy":
        return float(skm.accuracy_score(y, predicted))
    if metric == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y, predicted))
    if metric == "f1_macro":
        return float(skm.f1_score(y, predicted, average="macro", zero_division=0))
    scorer = {"f1": skm.f1_score, "precision": skm.precision_score}.get(
        metric, skm.recall_score
    )
    return float(scorer(y, predicted, **_averaged(model)))


def _regression(metric: str, y: npt.NDArray[Any], predicted: npt.NDArray[Any]) -> float:
    if metric == "rmse":
        return float(skm.root_mean_squared_error(y, predicted))
    if metric == "mae":
        return float(skm.mean_absolute_error(y, predicted))
    if metric == "r2":
        return float(skm.r2_score(y, predicted))
    return float(skm.mean_absolute_percentage_error(y, predicted))


def score_model(
    metric: str,
    model: Any,  # noqa: ANN401 - any fitted estimator or pipeline
    x: npt.NDArray[Any],
    y: npt.NDArray[Any],
) -> float:
    """``metric`` of the fitted ``model`` on ``x`` against the true ``y``."""
    if metric in CLASSIFICATION_METRICS:
        return _classification(metric, model, x, y)
    return _regression(metric, y, model.predict(x))
