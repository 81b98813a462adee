"""Parsing and checking training specs: every refusal names its field."""

from __future__ import annotations

import importlib.util
import json

import pytest

from phantom.kernel.errors import InvalidField, InvalidInput, PayloadTooLarge
from phantom.training.jobs.documents import MAX_SPEC_BYTES
from phantom.training.jobs.spec import TrainingSpec, parse_spec

YAML_SPEC = """
name: churn search
experiment: churn
dataset: customers
dataset_version: 3
target: churned
features: [age, plan, spend]
task: classification
estimator: random_forest
params: {n_estimators: 50}
search:
  sampler: tpe
  n_trials: 20
  parallelism: 2
  space:
    max_depth: {type: int, low: 2, high: 12}
    min_samples_leaf: {type: int, low: 1, high: 20, log: true}
    max_features: {type: float, low: 0.1, high: 1.0}
    criterion: {type: categorical, choices: [gini, entropy]}
metric: roc_auc
priority: 7
register_as: churn-model
"""

BASE = {
    "dataset": "customers",
    "target": "churned",
    "task": "classification",
    "estimator": "random_forest",
}


def parse(**fields: object) -> TrainingSpec:
    return parse_spec(json.dumps({**BASE, **fields}))


def refusal(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_spec(text)
    return caught.value


def test_yaml_spec_parses_with_every_field():
    spec = parse_spec(YAML_SPEC)

    assert spec.kind == "search"
    assert spec.dataset_version == 3
    assert spec.features == ["age", "plan", "spend"]
    assert spec.params == {"n_estimators": 50}
    assert spec.search is not None
    assert spec.search.parallelism == 2
    assert spec.search.space["criterion"].choices == ["gini", "entropy"]
    assert spec.metric == "roc_auc"
    assert spec.priority == 7
    assert spec.register_as == "churn-model"


def test_json_spec_parses_and_fills_the_defaults():
    spec = parse_spec(json.dumps(BASE))

    assert spec.metric == "accuracy"
    assert spec.cv is not None
    assert (spec.cv.folds, spec.cv.shuffle) == (5, True)
    assert spec.search is not None
    assert spec.search.n_trials == 1
    assert spec.preprocessing == "auto"
    assert (spec.priority, spec.max_retries) == (5, 2)
    assert (spec.resources.memory_mb, spec.resources.timeout_s) == (2048, 3600)


def test_regression_defaults_to_rmse():
    spec = parse(task="regression", estimator="ridge")

    assert spec.metric == "rmse"


def test_holdout_replaces_cross_validation():
    spec = parse(holdout=0.2)

    assert spec.cv is None
    assert spec.holdout == 0.2


def test_parsed_spec_round_trips_through_json():
    spec = parse_spec(YAML_SPEC)

    assert parse_spec(spec.model_dump_json()) == spec


def test_entrypoint_spec_needs_no_estimator():
    spec = parse_spec(
        "kind: entrypoint\nentrypoint: {file: train/main.py, args: [--epochs, '3']}"
    )

    assert spec.entrypoint is not None
    assert spec.entrypoint.file == "train/main.py"
    assert spec.entrypoint.args == ["--epochs", "3"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"bogus": 1}, "bogus: unknown field"),
        ({"estimator": "sklearn.svm.SVC"}, "estimator: unknown estimator"),
        ({"estimator": "linear_regression"}, "estimator: linear_regression does not"),
        ({"params": {"n_neurons": 3}}, "params.n_neurons: not a parameter"),
        ({"metric": "rmse"}, "metric: not a classification metric"),
        ({"metric": "log_loss", "estimator": "ridge"}, "metric: ridge gives no"),
        ({"dataset": None}, "dataset: required for kind search"),
        ({"target": None}, "target: required for kind search"),
        ({"priority": 10}, "priority: Input should be less than or equal to 9"),
        ({"cv": {"folds": 5}, "holdout": 0.3}, "holdout: give cv or holdout"),
        ({"cv": {"folds": 1}}, "cv.folds"),
        ({"holdout": 1.5}, "holdout"),
        ({"features": ["a", "churned"]}, "features.1: is the target"),
        ({"features": ["a", "a"]}, "features.1: listed twice"),
        ({"name": "bad\u202ename"}, "name: must not contain control"),
        ({"register_as": "x" * 101}, "register_as: must be at most 100"),
        ({"entrypoint": {"file": "a.py"}}, "entrypoint: only for kind entrypoint"),
        ({"search": {"n_trials": 0}}, "search.n_trials"),
        ({"search": {"n_trials": 1001}}, "search.n_trials"),
        ({"search": {"sampler": "cmaes"}}, "search.sampler"),
        ({"search": {"surprise": True}}, "search.surprise: unknown field"),
    ],
)
def test_invalid_spec_names_the_field(fields: dict[str, object], expected: str):
    error = refusal(json.dumps({**BASE, **fields}))

    assert expected in error.detail


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        (
            {"type": "int", "low": 10, "high": 2},
            "max_depth.high: must be greater than low",
        ),
        (
            {"type": "int", "low": 2, "high": 2},
            "max_depth.high: must be greater than low",
        ),
        ({"type": "int", "low": 1.5, "high": 9}, "max_depth.low: must be an integer"),
        ({"type": "int", "high": 9}, "max_depth.low: required for int"),
        (
            {"type": "int", "low": 0, "high": 9, "log": True},
            "max_depth.low: must be positive",
        ),
        ({"type": "int", "low": 1, "high": 9, "step": 20}, "max_depth.step"),
        (
            {"type": "int", "low": 1, "high": 9, "choices": [1]},
            "max_depth.choices: only",
        ),
        ({"type": "categorical"}, "max_depth.choices: required"),
        ({"type": "categorical", "choices": [1], "low": 1}, "max_depth.low: only"),
        ({"type": "int", "low": 1, "high": 9, "extra": 1}, "max_depth.extra: unknown"),
        ({"type": "normal", "low": 1, "high": 9}, "max_depth.type"),
    ],
)
def test_invalid_search_space_names_the_parameter_field(
    param: dict[str, object], expected: str
):
    error = refusal(json.dumps({**BASE, "search": {"space": {"max_depth": param}}}))

    assert f"search.space.{expected}" in error.detail


def test_search_space_param_must_be_known_to_the_estimator():
    space = {"learning_rate": {"type": "float", "low": 0.01, "high": 0.3}}

    error = refusal(json.dumps({**BASE, "search": {"space": space}}))

    assert error.detail.startswith("search.space.learning_rate: not a parameter")


def test_searched_param_cannot_also_be_fixed():
    space = {"max_depth": {"type": "int", "low": 2, "high": 8}}

    error = refusal(
        json.dumps({**BASE, "params": {"max_depth": 3}, "search": {"space": space}})
    )

    assert error.detail.startswith("search.space.max_depth: also fixed in params")


def test_grid_search_refuses_a_float_space():
    space = {"max_features": {"type": "float", "low": 0.1, "high": 1.0}}

    error = refusal(json.dumps({**BASE, "search": {"sampler": "grid", "space": space}}))

    assert error.detail.startswith("search.space.max_features.type: grid search")


def test_grid_search_refuses_a_huge_grid():
    space = {
        "max_depth": {"type": "int", "low": 1, "high": 1000},
        "min_samples_leaf": {"type": "int", "low": 1, "high": 1000},
    }

    error = refusal(json.dumps({**BASE, "search": {"sampler": "grid", "space": space}}))

    assert error.detail.startswith("search.space: the grid has more than")


@pytest.mark.parametrize(
    "file", ["../x.py", "a/../../x.py", "/etc/x.py", "a\\x.py", "x.sh", "C:x.py"]
)
def test_entrypoint_file_must_stay_inside_the_job(file: str):
    error = refusal(json.dumps({"kind": "entrypoint", "entrypoint": {"file": file}}))

    assert error.detail.startswith("entrypoint.file: ")


def test_entrypoint_kind_refuses_search_fields():
    text = json.dumps(
        {"kind": "entrypoint", "entrypoint": {"file": "a.py"}, "estimator": "knn"}
    )

    assert refusal(text).detail.startswith("estimator: only for kind search")


def test_entrypoint_kind_needs_the_entrypoint():
    assert refusal("kind: entrypoint").detail.startswith("entrypoint: required")


@pytest.mark.skipif(
    importlib.util.find_spec("xgboost") is not None, reason="xgboost is installed"
)
def test_xgboost_without_the_package_asks_for_the_extra():
    error = refusal(json.dumps({**BASE, "estimator": "xgboost"}))

    assert error.detail.startswith("estimator: xgboost needs the xgboost package")
    assert "'xgboost' extra" in error.detail


def test_yaml_alias_bomb_is_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )

    error = refusal(bomb)

    assert isinstance(error, InvalidField)
    assert error.detail == "spec: YAML aliases (*name) are not allowed"


def test_deeply_nested_yaml_is_refused():
    assert "nests deeper" in refusal("a: " + "[" * 100 + "]" * 100).detail


def test_spec_over_256_kb_is_refused():
    text = "name: x\n" + "#" * MAX_SPEC_BYTES

    with pytest.raises(PayloadTooLarge) as caught:
        parse_spec(text)

    assert caught.value.detail.startswith("spec: ")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text", "42", "", "null"])
def test_non_mapping_document_is_refused(text: str):
    assert refusal(text).detail == "spec: the top level must be a mapping of fields"


def test_malformed_yaml_says_where():
    error = refusal("dataset: [unclosed\ntarget: y\n")

    assert error.detail.startswith("spec: not valid YAML or JSON")
    assert "line" in error.detail


def test_python_tags_are_not_constructed():
    error = refusal("dataset: !!python/object/apply:os.system ['true']\n")

    assert error.detail.startswith("spec: not valid YAML or JSON")


def test_several_structural_errors_are_all_listed():
    error = refusal(json.dumps({**BASE, "priority": 99, "max_retries": -1}))

    assert "priority" in error.detail
    assert "max_retries" in error.detail
    errors = error.extra["errors"]
    assert isinstance(errors, list)
    assert [e["loc"] for e in errors] == [["priority"], ["max_retries"]]


def test_refusal_never_echoes_the_value():
    error = refusal(json.dumps({**BASE, "metric": "s3cr3t-metric"}))

    assert "s3cr3t" not in error.detail
    assert error.extra["errors"] == [
        {
            "loc": ["metric"],
            "msg": error.detail.split(": ", 1)[1],
            "type": "value_error",
        }
    ]
