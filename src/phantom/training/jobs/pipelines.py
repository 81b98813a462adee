"""Build the scikit-learn pipeline a trial fits: preprocessing, then the model.

``auto`` preprocessing is a ``ColumnTransformer``: numeric features get the median
of their column for missing values (and, for linear, distance and kernel models,
standard scaling); boolean and string features get their most frequent value and
a one-hot encoding that ignores categories unseen in training and groups the rare
ones beyond :data:`MAX_ONE_HOT` per column. ``none`` passes the (numeric)
features straight to the model. The output is always dense, because several
allowed models refuse sparse input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from phantom.training.jobs.estimators import (
    ESTIMATORS,
    ParamValue,
    Task,
    make_estimator,
)
from phantom.training.jobs.metric_catalog import PROBABILITY_METRICS
from phantom.training.jobs.training_data import FeatureLayout

__all__ = ["MAX_ONE_HOT", "ModelRecipe", "build_pipeline"]

MAX_ONE_HOT: Final = 100


@dataclass(frozen=True, slots=True)
class ModelRecipe:
    """Everything about the model that does not change from trial to trial."""

    estimator: str
    task: Task
    preprocessing: Literal["auto", "none"]
    metric: str
    seed: int
    fixed: Mapping[str, ParamValue] = field(default_factory=dict)


def _preprocessor(layout: FeatureLayout, *, scaled: bool) -> ColumnTransformer:
    numeric: list[tuple[str, object]] = [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True))
    ]
    if scaled:
        numeric.append(("scale", StandardScaler()))
    categorical = [
        (
            "impute",
            SimpleImputer(strategy="most_frequent", keep_empty_features=True),
        ),
        (
            "encode",
            OneHotEncoder(
                handle_unknown="ignore",
                max_categories=MAX_ONE_HOT,
                sparse_output=False,
            ),
        ),
    ]
    parts = []
    if layout.numeric:
        parts.append(("numeric", Pipeline(numeric), list(layout.numeric)))
    if layout.categorical:
        parts.append(("categorical", Pipeline(categorical), list(layout.categorical)))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def build_pipeline(
    recipe: ModelRecipe,
    layout: FeatureLayout,
    params: Mapping[str, ParamValue],
) -> Pipeline:
    """A new, unfitted pipeline for ``recipe`` with ``params`` over ``fixed``."""
    model = make_estimator(
        recipe.estimator,
        recipe.task,
        {**recipe.fixed, **params},
        seed=recipe.seed,
        probabilities=recipe.metric in PROBABILITY_METRICS,
    )
    if recipe.preprocessing == "none":
        return Pipeline([("model", model)])
    scaled = ESTIMATORS[recipe.estimator].scaled
    return Pipeline(
        [("preprocess", _preprocessor(layout, scaled=scaled)), ("model", model)]
    )
