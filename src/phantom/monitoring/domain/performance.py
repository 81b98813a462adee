"""Model performance from ground-truth feedback, and estimated before it arrives.

The metrics equal scikit-learn's on the same inputs (tested to 1e-9):

* :func:`accuracy` = ``accuracy_score``;
* :func:`f1` = ``f1_score(average="binary", pos_label=...)`` or, with
  ``average="macro"``, the unweighted mean over every label seen in either
  array (``zero_division=0``: a binary F1 with no positive anywhere is 0);
* :func:`roc_auc` = ``roc_auc_score``: binary from the positive class's
  scores, or one-vs-rest macro from a probability matrix whose columns follow
  ``classes`` (sorted labels by default). Computed as the Mann-Whitney
  statistic with tied scores sharing their average rank, which is the area
  under the ROC curve with ties drawn as diagonals. Unlike scikit-learn it
  does not insist that each row of probabilities sums to 1;
* :func:`mean_absolute_error` and :func:`root_mean_squared_error`.

:func:`expected_accuracy` estimates accuracy without labels, as NannyML's CBPE
does: the chance that a prediction is right is the probability the model gave
its predicted class, ``max(p, 1 - p)`` for a binary model's positive-class
probability ``p`` and the row maximum for a class-probability matrix. The
estimate is only as good as the **assumption that the probabilities are
calibrated** (of the rows given 0.8, 80% are right) on the current data; it
does not survive concept drift, where the inputs look the same but their labels
change. Recalibrate (isotonic or Platt, on held-out data) before relying on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from phantom.monitoring.domain.errors import InvalidFeedback

__all__ = [
    "accuracy",
    "classification_metrics",
    "expected_accuracy",
    "f1",
    "mean_absolute_error",
    "regression_metrics",
    "roc_auc",
    "root_mean_squared_error",
]

Floats = npt.NDArray[np.float64]


def accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """The share of predictions equal to the truth."""
    truth, predicted = _pair(y_true, y_pred)
    return float(np.mean(truth == predicted))


def f1(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    average: Literal["binary", "macro"] = "binary",
    pos_label: object = 1,
) -> float:
    """F1 score of the ``pos_label`` class, or the macro average over labels.

    Raises:
        InvalidFeedback: empty or unequal inputs, or ``binary`` with more than
            two labels.
    """
    truth, predicted = _pair(y_true, y_pred)
    labels, codes = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
    if average == "binary":
        if labels.size > 2:
            msg = f"binary F1 of {labels.size} labels: use 'macro'"
            raise InvalidFeedback(msg)
        hit_true, hit_pred = truth == pos_label, predicted == pos_label
        hits = int(np.count_nonzero(hit_true & hit_pred))
        misses = int(np.count_nonzero(hit_true ^ hit_pred))
        return 2 * hits / (2 * hits + misses) if hits + misses else 0.0
    k = labels.size
    n = truth.size
    confusion = np.bincount(codes[:n] * k + codes[n:], minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(np.float64)
    wrong = confusion.sum(axis=0) + confusion.sum(axis=1) - 2 * tp
    return float(np.mean(2 * tp / (2 * tp + wrong)))


def roc_auc(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    classes: Sequence[object] | None = None,
) -> float:
    """Area under the ROC curve: binary, or one-vs-rest macro for a matrix.

    Args:
        y_true: the labels.
        scores: for two classes, the larger label's scores (1-D, or its column
            of an ``(n, 2)`` matrix); otherwise one column per class.
        classes: the label of each column (default: the sorted labels of
            ``y_true``; required to have the matrix's width).

    Raises:
        InvalidFeedback: shapes disagree, scores are not finite, or a class
            has no positive or no negative row (the area is undefined).
    """
    truth = _labels(y_true)
    score = np.asarray(scores, dtype=np.float64)
    if score.shape[0] != truth.size or score.ndim not in (1, 2):
        raise InvalidFeedback("scores need one row per label")
    if not np.isfinite(score).all():
        raise InvalidFeedback("scores must be finite")
    labels = np.unique(truth) if classes is None else np.asarray(classes)
    if score.ndim == 1 or score.shape[1] == 2:
        if labels.size != 2:
            msg = f"binary ROC AUC needs 2 classes, not {labels.size}"
            raise InvalidFeedback(msg)
        column = score if score.ndim == 1 else score[:, 1]
        return _binary_auc(truth == labels[1], column)
    if score.shape[1] != labels.size:
        msg = f"{score.shape[1]} score columns for {labels.size} classes"
        raise InvalidFeedback(msg)
    return float(
        np.mean([_binary_auc(truth == c, score[:, i]) for i, c in enumerate(labels)])
    )


def mean_absolute_error(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """``mean(|y_true - y_pred|)``."""
    truth, predicted = _numbers(y_true, y_pred)
    return float(np.mean(np.abs(truth - predicted)))


def root_mean_squared_error(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """``sqrt(mean((y_true - y_pred) ** 2))``."""
    truth, predicted = _numbers(y_true, y_pred)
    return float(np.sqrt(np.mean((truth - predicted) ** 2)))


def expected_accuracy(probabilities: npt.ArrayLike) -> float:
    """Accuracy expected from calibrated probabilities, without labels (CBPE).

    Args:
        probabilities: a binary model's positive-class probabilities (1-D), or
            one column per class (2-D).

    Raises:
        InvalidFeedback: empty, or not probabilities in ``[0, 1]``.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.size == 0 or p.ndim not in (1, 2):
        raise InvalidFeedback("probabilities must be a non-empty 1-D or 2-D array")
    if not ((p >= 0) & (p <= 1)).all():
        raise InvalidFeedback("probabilities must lie in [0, 1]")
    confidence = np.maximum(p, 1 - p) if p.ndim == 1 else p.max(axis=1)
    return float(np.mean(confidence))


def classification_metrics(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    probabilities: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """Accuracy and macro F1; with probabilities also ROC AUC and expected accuracy.

    ROC AUC needs both classes present (every class, for a matrix); where it is
    undefined it is left out.
    """
    metrics = {
        "accuracy": accuracy(y_true, y_pred),
        "f1_macro": f1(y_true, y_pred, average="macro"),
    }
    if probabilities is not None:
        metrics["expected_accuracy"] = expected_accuracy(probabilities)
        with contextlib.suppress(InvalidFeedback):
            metrics["roc_auc"] = roc_auc(y_true, probabilities)
    return metrics


def regression_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike
) -> dict[str, float]:
    """Mean absolute error and root mean squared error."""
    return {
        "mae": mean_absolute_error(y_true, y_pred),
        "rmse": root_mean_squared_error(y_true, y_pred),
    }


def _binary_auc(positive: npt.NDArray[np.bool_], score: Floats) -> float:
    n_pos = int(np.count_nonzero(positive))
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise InvalidFeedback("ROC AUC needs positive and negative rows of each class")
    order = np.argsort(score, kind="stable")
    ordered = score[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    group = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    average_rank = (starts + 1 + ends) / 2
    rank_sum = float(np.sum(average_rank[group][positive[order]]))
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _labels(values: npt.ArrayLike) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0:
        raise InvalidFeedback("labels must be a non-empty 1-D array")
    return array


def _pair(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    truth, predicted = _labels(y_true), _labels(y_pred)
    if truth.size != predicted.size:
        msg = f"{truth.size} labels but {predicted.size} predictions"
        raise InvalidFeedback(msg)
    return truth, predicted


def _numbers(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[Floats, Floats]:
    truth, predicted = _pair(y_true, y_pred)
    try:
        pair = truth.astype(np.float64), predicted.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidFeedback("regression targets must be numbers") from exc
    if not (np.isfinite(pair[0]).all() and np.isfinite(pair[1]).all()):
        raise InvalidFeedback("regression targets must be finite")
    return pair
