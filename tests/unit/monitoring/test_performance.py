"""Feedback metrics equal scikit-learn's; the CBPE estimate follows calibration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics

from phantom.monitoring.domain.errors import InvalidFeedback
from phantom.monitoring.domain.performance import (
    accuracy,
    classification_metrics,
    expected_accuracy,
    f1,
    mean_absolute_error,
    regression_metrics,
    roc_auc,
    root_mean_squared_error,
)

labels = st.integers(2, 300).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=100, deadline=None)
@given(labels)
def test_binary_accuracy_and_f1_equal_sklearn(
    pair: tuple[list[int], list[int]],
) -> None:
    y, p = pair
    assert accuracy(y, p) == pytest.approx(metrics.accuracy_score(y, p), abs=1e-9)
    assert f1(y, p) == pytest.approx(metrics.f1_score(y, p, zero_division=0), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.integers(3, 300), st.integers(0, 2**32 - 1))
def test_binary_roc_auc_equals_sklearn_with_ties(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    scores = np.round(rng.random(n), int(rng.integers(0, 3)))
    assert roc_auc(y, scores) == pytest.approx(
        metrics.roc_auc_score(y, scores), abs=1e-9
    )


@pytest.mark.parametrize("seed", range(5))
def test_multiclass_metrics_equal_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 1_000)
    proba = rng.dirichlet(np.ones(4), 1_000)
    proba[np.arange(1_000), y] += 0.3 * rng.random(1_000)
    proba /= proba.sum(axis=1, keepdims=True)
    predicted = proba.argmax(axis=1)
    assert accuracy(y, predicted) == pytest.approx(
        metrics.accuracy_score(y, predicted), abs=1e-9
    )
    assert f1(y, predicted, average="macro") == pytest.approx(
        metrics.f1_score(y, predicted, average="macro"), abs=1e-9
    )
    assert roc_auc(y, proba) == pytest.approx(
        metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=1e-9
    )


def test_string_labels_and_explicit_classes() -> None:
    y = np.array(["cat", "dog", "eel", "dog", "cat", "eel"])
    predicted = np.array(["cat", "dog", "dog", "dog", "eel", "eel"])
    assert f1(y, predicted, average="macro") == pytest.approx(
        metrics.f1_score(y, predicted, average="macro"), abs=1e-9
    )
    assert f1(y[:4] == "dog", predicted[:4] == "dog", pos_label=True) == pytest.approx(
        metrics.f1_score(y[:4] == "dog", predicted[:4] == "dog"), abs=1e-9
    )
    proba = np.eye(3)[[0, 1, 2, 1, 0, 2]] * 0.7 + 0.1
    order = ["eel", "cat", "dog"]
    reordered = proba[:, [2, 0, 1]]
    assert roc_auc(y, reordered, classes=order) == roc_auc(y, proba)
    assert roc_auc(y, proba) == pytest.approx(
        metrics.roc_auc_score(y, proba, multi_class="ovr"), abs=1e-9
    )


def test_binary_auc_takes_the_positive_column_of_a_two_column_matrix() -> None:
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.2, 0.9, 0.6, 0.4, 0.3])
    assert (
        roc_auc(y, np.c_[1 - p, p])
        == roc_auc(y, p)
        == pytest.approx(metrics.roc_auc_score(y, p))
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=1, max_size=200
    )
)
def test_regression_errors_equal_sklearn(pairs: list[tuple[float, float]]) -> None:
    y, p = np.array(pairs).T
    assert mean_absolute_error(y, p) == pytest.approx(
        metrics.mean_absolute_error(y, p), rel=1e-9, abs=1e-9
    )
    assert root_mean_squared_error(y, p) == pytest.approx(
        metrics.root_mean_squared_error(y, p), rel=1e-9, abs=1e-9
    )
    assert regression_metrics(y, p) == {
        "mae": mean_absolute_error(y, p),
        "rmse": root_mean_squared_error(y, p),
    }


def test_f1_without_any_positive_is_zero() -> None:
    assert f1([0, 0], [0, 0]) == 0.0


def test_expected_accuracy_matches_realised_accuracy_when_calibrated() -> None:
    rng = np.random.default_rng(5)
    p = rng.random(200_000)
    y = rng.random(200_000) < p  # calibrated by construction
    realised = accuracy(y, p > 0.5)
    assert expected_accuracy(p) == pytest.approx(realised, abs=0.005)
    proba = rng.dirichlet(np.ones(3), 200_000)
    drawn = (proba.cumsum(axis=1) > rng.random((200_000, 1))).argmax(axis=1)
    assert expected_accuracy(proba) == pytest.approx(
        accuracy(drawn, proba.argmax(axis=1)), abs=0.005
    )
    assert expected_accuracy([0.5, 1.0, 0.0]) == pytest.approx(5 / 6)


def test_classification_metrics_leave_out_an_undefined_auc() -> None:
    result = classification_metrics([1, 1, 1], [1, 0, 1], [0.9, 0.4, 0.8])
    assert set(result) == {"accuracy", "f1_macro", "expected_accuracy"}
    full = classification_metrics([0, 1, 1], [0, 0, 1], [0.2, 0.4, 0.8])
    assert full["roc_auc"] == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: accuracy([], []),
        lambda: accuracy([1, 2], [1]),
        lambda: accuracy([[1]], [[1]]),
        lambda: f1([0, 1, 2], [0, 1, 2]),
        lambda: roc_auc([0, 0], [0.1, 0.2]),
        lambda: roc_auc([0, 1], [0.1]),
        lambda: roc_auc([0, 1], [0.1, np.nan]),
        lambda: roc_auc([0, 1, 2], [0.1, 0.2, 0.3]),
        lambda: roc_auc([0, 1, 2], np.ones((3, 4)) / 4),
        lambda: mean_absolute_error(["a"], ["b"]),
        lambda: mean_absolute_error([1.0], [np.inf]),
        lambda: expected_accuracy([]),
        lambda: expected_accuracy([1.5]),
    ],
)
def test_unscorable_feedback_is_refused(call: object) -> None:
    with pytest.raises(InvalidFeedback):
        call()  # type: ignore[operator]
