"""The search: trials, the best of them, determinism, failures, the saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skops.io as sio

from phantom.kernel.errors import InvalidField, InvalidInput
from phantom.training.jobs.executors import LocalExecutor
from phantom.training.jobs.frames import Frame
from phantom.training.jobs.trainer import (
    SearchCancelled,
    SearchFailed,
    SearchResult,
    TrialResult,
    load_frame,
    run_search,
)
from phantom.training.jobs.training_data import prepare
from tests.unit.training.jobs.datasets import (
    ROWS,
    search_spec,
    write_classification_csv,
    write_regression_csv,
)

FAST_FOREST = "{n_estimators: 10}"
LGBM_SPACE = (
    "{num_leaves: {type: int, low: 4, high: 31},"
    " learning_rate: {type: float, low: 0.01, high: 0.3, log: true},"
    " min_child_samples: {type: int, low: 2, high: 30}}"
)


@pytest.fixture(scope="module")
def classification(tmp_path_factory: pytest.TempPathFactory) -> Frame:
    path = tmp_path_factory.mktemp("data") / "classification.csv"
    return load_frame(write_classification_csv(path), "csv")


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> Frame:
    path = tmp_path_factory.mktemp("data") / "regression.csv"
    return load_frame(write_regression_csv(path), "csv")


def search(spec, frame: Frame, **kwargs) -> tuple[SearchResult, list[TrialResult]]:
    seen: list[TrialResult] = []
    result = run_search(
        spec, frame, executor=LocalExecutor(), on_trial=seen.append, **kwargs
    )
    return result, seen


CASES = [
    ("random_forest", "classification", "{max_depth: {type: int, low: 2, high: 8}}"),
    ("lightgbm", "classification", LGBM_SPACE),
    ("random_forest", "regression", "{max_depth: {type: int, low: 2, high: 8}}"),
    ("lightgbm", "regression", LGBM_SPACE),
]


@pytest.mark.parametrize(("estimator", "task", "space"), CASES)
def test_search_returns_the_best_complete_trial(
    estimator: str, task: str, space: str, classification: Frame, regression: Frame
):
    params = FAST_FOREST if estimator == "random_forest" else "{n_estimators: 30}"
    spec = search_spec(estimator, task=task, space=space, params=params)
    frame = classification if task == "classification" else regression

    result, seen = search(spec, frame)

    assert [t.number for t in seen] == [0, 1, 2, 3, 4]
    assert result.trials == seen
    scores = [t.score for t in seen if t.score is not None]
    assert len(scores) == 5
    pick = max if task == "classification" else min
    assert result.best_score == pick(scores)
    assert result.direction == ("maximize" if task == "classification" else "minimize")
    assert result.metric == ("accuracy" if task == "classification" else "rmse")
    best = seen[result.best_number]
    assert result.best_params == {
        "n_estimators": 10 if "10" in params else 30,
        **best.params,
    }
    assert all(len(t.fold_scores) == 3 for t in seen)
    assert result.model_format == "skops"
    assert result.n_rows == ROWS


def test_seeded_search_is_deterministic(classification: Frame):
    spec = search_spec("lightgbm", space=LGBM_SPACE, params="{n_estimators: 20}")

    first, _ = search(spec, classification)
    second, _ = search(spec, classification)

    assert first.best_params == second.best_params
    assert first.best_score == second.best_score
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert [t.score for t in first.trials] == [t.score for t in second.trials]


def test_saved_model_loads_with_its_trusted_types_and_predicts(
    classification: Frame,
):
    spec = search_spec("random_forest", params=FAST_FOREST, n_trials=2)
    result, _ = search(spec, classification)
    rows = prepare(classification, spec).x[:25]

    trusted = sio.get_untrusted_types(data=result.model_bytes)
    model = sio.loads(result.model_bytes, trusted=trusted)

    assert sorted(trusted) == result.trusted_types
    assert model.predict(rows).shape == (25,)
    assert model.predict_proba(rows).shape == (25, 2)
    assert result.classes == ["ant", "bee"]
    assert set(model.predict(rows)) <= {"ant", "bee"}


def test_lightgbm_model_round_trips_through_skops(regression: Frame):
    spec = search_spec(
        "lightgbm", task="regression", space=LGBM_SPACE, params="{n_estimators: 20}"
    )
    result, _ = search(spec, regression)
    rows = prepare(regression, spec).x[:10]

    model = sio.loads(result.model_bytes, trusted=result.trusted_types)

    assert "lightgbm.basic.Booster" in result.trusted_types
    assert model.predict(rows).shape == (10,)
    assert result.classes is None


def test_boolean_target_keeps_boolean_classes(tmp_path: Path):
    rng = np.random.default_rng(3)
    lines = ["x,flag"] + [
        f"{v:.4f},{'true' if v > 0 else 'false'}" for v in rng.normal(size=60)
    ]
    (tmp_path / "flags.csv").write_text("\n".join(lines) + "\n")
    frame = load_frame(tmp_path / "flags.csv", "csv")
    spec = search_spec("decision_tree", space="{}").model_copy(
        update={"target": "flag"}
    )

    result, _ = search(spec, frame)

    assert result.classes == [False, True]


def test_signature_describes_each_feature(classification: Frame):
    spec = search_spec("decision_tree", n_trials=1)

    result, _ = search(spec, classification)

    by_name = {entry["name"]: entry for entry in result.signature}
    assert list(by_name) == ["x0", "x1", "x2", "x3", "x4", "colour"]
    assert by_name["x0"]["type"] == "float"
    low, high = by_name["x0"]["min"], by_name["x0"]["max"]
    assert isinstance(low, float)
    assert isinstance(high, float)
    assert low < high
    assert by_name["colour"] == {
        "name": "colour",
        "type": "string",
        "categories": ["blue", "green", "red"],
    }


def test_failing_trial_is_recorded_and_the_search_goes_on(classification: Frame):
    spec = search_spec(
        "random_forest",
        params=FAST_FOREST,
        sampler="grid",
        space="{max_features: {type: categorical, choices: [sqrt, not-a-choice]}}",
        n_trials=10,
    )

    result, seen = search(spec, classification)

    assert len(seen) == 2
    failed = [t for t in seen if t.state == "failed"]
    assert len(failed) == 1
    assert failed[0].score is None
    assert failed[0].error is not None
    assert "max_features" in failed[0].error
    assert result.best_params["max_features"] == "sqrt"


def test_search_in_which_every_trial_fails_is_an_error(classification: Frame):
    spec = search_spec(
        "random_forest",
        params="{n_estimators: 10, max_features: nonsense}",
        space="{max_depth: {type: int, low: 2, high: 4}}",
        n_trials=2,
    )

    with pytest.raises(SearchFailed, match="all 2 trials failed; the first error"):
        search(spec, classification)


def test_cancelled_search_reports_the_trials_it_ran(classification: Frame):
    spec = search_spec("decision_tree", n_trials=10, parallelism=2)
    seen: list[TrialResult] = []
    calls = iter([False, False, True])

    with pytest.raises(SearchCancelled):
        run_search(
            spec,
            classification,
            executor=LocalExecutor(),
            on_trial=seen.append,
            should_stop=lambda: next(calls),
        )

    assert [t.number for t in seen] == [0, 1, 2, 3]


def test_timeout_ends_the_search_early_but_keeps_the_best(classification: Frame):
    spec = search_spec("decision_tree", n_trials=50)
    assert spec.search is not None
    spec = spec.model_copy(
        update={"search": spec.search.model_copy(update={"timeout_s": 1e-6})}
    )

    result, seen = search(spec, classification)

    assert len(seen) == 1
    assert result.best_number == 0
    assert result.model_bytes


def test_grid_search_visits_each_point_once(classification: Frame):
    spec = search_spec(
        "decision_tree",
        sampler="grid",
        space=(
            "{max_depth: {type: int, low: 2, high: 6, step: 2},"
            " criterion: {type: categorical, choices: [gini, entropy]}}"
        ),
        n_trials=100,
        parallelism=4,
    )

    result, seen = search(spec, classification)

    points = {(t.params["max_depth"], t.params["criterion"]) for t in seen}
    assert len(seen) == 6
    assert points == {(d, c) for d in (2, 4, 6) for c in ("gini", "entropy")}
    assert result.best_number in range(6)


def test_holdout_scores_one_split(classification: Frame):
    spec = search_spec("decision_tree", n_trials=2, split="holdout: 0.25")

    result, _ = search(spec, classification)

    assert all(len(t.fold_scores) == 1 for t in result.trials)


@pytest.mark.parametrize(
    "metric",
    [
        "roc_auc",
        "log_loss",
        "f1",
        "f1_macro",
        "precision",
        "recall",
        "balanced_accuracy",
    ],
)
def test_multiclass_metrics_score(metric: str, tmp_path: Path):
    frame = load_frame(
        write_classification_csv(tmp_path / "three.csv", classes=3), "csv"
    )
    spec = search_spec(
        "decision_tree",
        space="{max_depth: {type: int, low: 2, high: 5}}",
        n_trials=2,
        extra=f"metric: {metric}",
    )

    result, _ = search(spec, frame)

    assert all(t.state == "complete" for t in result.trials)
    assert result.classes == ["ant", "bee", "cat"]


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2", "mape"])
def test_regression_metrics_score(metric: str, regression: Frame):
    spec = search_spec(
        "ridge",
        task="regression",
        space="{alpha: {type: float, low: 0.1, high: 10.0}}",
        n_trials=2,
        extra=f"metric: {metric}",
    )

    result, _ = search(spec, regression)

    assert all(t.state == "complete" for t in result.trials)


def test_binary_roc_auc_works_with_decision_scores(classification: Frame):
    spec = search_spec(
        "ridge",
        space="{alpha: {type: float, low: 0.1, high: 10.0}}",
        n_trials=2,
        extra="metric: roc_auc",
    )

    result, _ = search(spec, classification)

    assert 0.5 < result.best_score <= 1.0


def test_convergence_warnings_stay_inside_the_trial(classification: Frame):
    spec = search_spec(
        "logistic_regression",
        params="{max_iter: 1}",
        space="{C: {type: float, low: 0.01, high: 10.0, log: true}}",
        n_trials=2,
    )

    result, _ = search(spec, classification)  # filterwarnings=error would raise

    assert all(t.state == "complete" for t in result.trials)


def test_search_without_a_space_runs_one_trial(classification: Frame):
    spec = search_spec("knn", space="{}", n_trials=10)

    result, seen = search(spec, classification)

    assert len(seen) == 1
    assert result.best_params == {}


def test_parquet_loads_like_csv(classification: Frame, tmp_path: Path):
    columns = {c.name: c.values for c in classification.columns}
    table = pa.table(
        {
            name: pa.array(
                [
                    None if isinstance(v, float) and np.isnan(v) else v
                    for v in values.tolist()
                ]
            )
            for name, values in columns.items()
        }
    )
    pq.write_table(table, tmp_path / "data.parquet")

    frame = load_frame(tmp_path / "data.parquet", "parquet")

    assert [c.name for c in frame.columns] == list(columns)
    assert [c.type for c in frame.columns] == [c.type for c in classification.columns]
    assert frame.n_rows == ROWS


@pytest.mark.parametrize(
    ("name", "fmt"), [("bad.parquet", "parquet"), ("bad.csv", "csv")]
)
def test_unreadable_data_is_invalid_input(name: str, fmt, tmp_path: Path):
    path = tmp_path / name
    path.write_bytes(b"PAR1\x00\xff garbage" if fmt == "parquet" else b"")

    with pytest.raises(InvalidInput, match=f"could not read the dataset as {fmt}"):
        load_frame(path, fmt)


def test_missing_target_column_is_named(classification: Frame):
    spec = search_spec("knn", space="{}", extra="features: [x0]").model_copy(
        update={"target": "nope"}
    )

    with pytest.raises(InvalidField, match="target: no such column"):
        search(spec, classification)


def test_missing_feature_column_is_named(classification: Frame):
    spec = search_spec("knn", space="{}", extra="features: [x0, ghost]")

    with pytest.raises(InvalidField, match=r"features\.1: no such column"):
        search(spec, classification)


def test_no_preprocessing_needs_numeric_features(classification: Frame):
    spec = search_spec("knn", space="{}", extra="preprocessing: none")

    with pytest.raises(InvalidField, match="preprocessing: 'none' needs numeric"):
        search(spec, classification)


def test_no_preprocessing_trains_on_numeric_features(regression: Frame):
    spec = search_spec(
        "hist_gradient_boosting",
        task="regression",
        params="{max_iter: 20}",
        space="{max_depth: {type: int, low: 2, high: 4}}",
        n_trials=2,
        extra="preprocessing: none\nfeatures: [a, b, c, d]",
    )

    result, _ = search(spec, regression)

    assert [entry["name"] for entry in result.signature] == ["a", "b", "c", "d"]


def test_regression_target_must_be_numeric(classification: Frame):
    spec = search_spec("ridge", task="regression", space="{}").model_copy(
        update={"target": "colour"}
    )

    with pytest.raises(InvalidField, match="target: regression needs a numeric"):
        search(spec, classification)
