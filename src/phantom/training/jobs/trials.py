"""Evaluate one trial: fit and score the pipeline on every fold.

:func:`evaluate_trial` is what an executor runs, in this process or on a Ray
worker, so it and its arguments are plain top-level, picklable values. It never
raises for a bad parameter combination or a model that fails to fit: the
outcome then carries the error text and no score. Warnings raised while fitting
and scoring (convergence, undefined metrics) are silenced inside the trial only.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from phantom.kernel.errors import InvalidField
from phantom.training.jobs.estimators import ParamValue
from phantom.training.jobs.metrics import score_model
from phantom.training.jobs.pipelines import ModelRecipe, build_pipeline
from phantom.training.jobs.spec import TrainingSpec
from phantom.training.jobs.training_data import FeatureLayout

__all__ = ["Fold", "TrialData", "TrialOutcome", "evaluate_trial", "make_folds"]

MAX_ERROR: Final = 2_000
Fold = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]
"""Row indices to train on, and to score on."""


@dataclass(frozen=True, slots=True)
class TrialData:
    """What every trial of one search shares: sent to each worker once."""

    recipe: ModelRecipe
    x: npt.NDArray[Any]
    y: npt.NDArray[Any]
    layout: FeatureLayout
    folds: tuple[Fold, ...]


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """A trial's mean score and per-fold scores, or the error that stopped it."""

    score: float | None
    fold_scores: tuple[float, ...]
    duration_s: float
    error: str | None = None


def make_folds(spec: TrainingSpec, y: npt.NDArray[Any]) -> tuple[Fold, ...]:
    """The train/score splits of ``spec``'s ``cv`` (or ``holdout``) over ``y``.

    Raises:
        InvalidField: the data cannot be split that way (too few rows or members
            of a class); names ``cv`` or ``holdout``.
    """
    classify = spec.task == "classification"
    rows = np.arange(len(y))
    field = "cv" if spec.cv is not None else "holdout"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a class smaller than the folds
            if spec.cv is None:
                seed = spec.search.seed if spec.search else 0
                train, test = train_test_split(
                    rows,
                    test_size=spec.holdout,
                    random_state=seed,
                    stratify=y if classify else None,
                )
                return ((np.asarray(train), np.asarray(test)),)
            cv = spec.cv
            seed_or_none = cv.seed if cv.shuffle else None
            kind = StratifiedKFold if classify else KFold
            splitter = kind(
                n_splits=cv.folds, shuffle=cv.shuffle, random_state=seed_or_none
            )
            return tuple(splitter.split(rows, y))
    except ValueError as exc:
        raise InvalidField(field, str(exc)[:300]) from None


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def evaluate_trial(data: TrialData, params: Mapping[str, ParamValue]) -> TrialOutcome:
    """Fit and score the pipeline with ``params`` on each fold of ``data``."""
    started = time.perf_counter()
    scores: list[float] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for train, test in data.folds:
                model = build_pipeline(data.recipe, data.layout, params)
                model.fit(data.x[train], data.y[train])
                scores.append(
                    score_model(data.recipe.metric, model, data.x[test], data.y[test])
                )
    except Exception as exc:  # noqa: BLE001 - a failed trial is a result, not a crash
        return TrialOutcome(
            None, tuple(scores), time.perf_counter() - started, _error(exc)
        )
    elapsed = time.perf_counter() - started
    mean = float(np.mean(scores))
    if not math.isfinite(mean):
        return TrialOutcome(None, tuple(scores), elapsed, "the score is not finite")
    return TrialOutcome(mean, tuple(scores), elapsed)
