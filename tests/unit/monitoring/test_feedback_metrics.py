"""Which metrics a window of labelled answers gets: classes, values, text labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    root_mean_squared_error,
)

from phantom.monitoring.feedback import _metrics


def test_regressors_get_mae_and_rmse_equal_to_sklearns() -> None:
    rng = np.random.default_rng(5)
    truth = rng.normal(size=200).round(3).tolist()
    answers = (np.asarray(truth) + rng.normal(scale=0.3, size=200)).tolist()
    task, metrics = _metrics(truth, answers, [None] * 200)
    assert task == "regression"
    assert metrics["mae"] == pytest.approx(mean_absolute_error(truth, answers))
    assert metrics["rmse"] == pytest.approx(root_mean_squared_error(truth, answers))


def test_text_labels_are_classes() -> None:
    truth = ["yes", "no", "yes", "maybe", "no"]
    answers = ["yes", "no", "no", "maybe", "no"]
    task, metrics = _metrics(truth, answers, [None] * 5)
    assert task == "classification"
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, answers))
    assert metrics["f1_macro"] == pytest.approx(
        f1_score(truth, answers, average="macro")
    )


def test_integer_answers_without_probabilities_are_classes() -> None:
    task, metrics = _metrics([1, 0, 1, 1], [1, 0, 0, 1], [None] * 4)
    assert task == "classification"
    assert metrics["accuracy"] == 0.75


def test_mixed_label_types_compare_as_text() -> None:
    task, metrics = _metrics(["1", "0"], [1, 0], [[0.2, 0.8], [0.9, 0.1]])
    assert task == "classification"
    assert metrics["accuracy"] == 1.0


def test_no_labels_no_metrics() -> None:
    assert _metrics([], [], []) == ("unknown", {})
