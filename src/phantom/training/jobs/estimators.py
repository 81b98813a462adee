"""The allow-list of estimators a training spec may name.

A spec says ``estimator: random_forest``; this module maps that name, and the
task, to a class from a fixed table. Nothing is ever imported from a dotted path a
user wrote: the module paths below are constants, imported when first used so
that reading a spec stays cheap and optional libraries (``xgboost``) are only
needed by the specs that name them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from phantom.kernel.errors import InvalidField

__all__ = [
    "ESTIMATORS",
    "EstimatorEntry",
    "ParamValue",
    "Task",
    "make_estimator",
    "param_names",
]

Task = Literal["classification", "regression"]
ParamValue = str | int | float | bool | None
"""What an estimator parameter may be set to from a spec: a JSON scalar."""


@dataclass(frozen=True, slots=True)
class EstimatorEntry:
    """One allowed estimator.

    Attributes:
        classifier: ``(module, class)`` used for classification, if any.
        regressor: ``(module, class)`` used for regression, if any.
        scaled: whether ``auto`` preprocessing standardises numeric features
            (linear models, distance and kernel methods).
        probabilities: whether the classifier can give class probabilities.
        extra: the optional dependency group that provides the module, if any.
        defaults: parameters Phantom sets unless the spec sets them (quiet,
            single-threaded so executors can share the machine).
    """

    classifier: tuple[str, str] | None
    regressor: tuple[str, str] | None
    scaled: bool = False
    probabilities: bool = True
    extra: str | None = None
    defaults: Mapping[str, ParamValue] | None = None

    def target(self, task: Task) -> tuple[str, str] | None:
        """The ``(module, class)`` for ``task``, or ``None`` if it has none."""
        return self.classifier if task == "classification" else self.regressor


_LINEAR: Final = "sklearn.linear_model"
_ENSEMBLE: Final = "sklearn.ensemble"

ESTIMATORS: Final[Mapping[str, EstimatorEntry]] = {
    "logistic_regression": EstimatorEntry(
        (_LINEAR, "LogisticRegression"), None, scaled=True
    ),
    "linear_regression": EstimatorEntry(
        None, (_LINEAR, "LinearRegression"), scaled=True
    ),
    "ridge": EstimatorEntry(
        (_LINEAR, "RidgeClassifier"),
        (_LINEAR, "Ridge"),
        scaled=True,
        probabilities=False,
    ),
    "lasso": EstimatorEntry(None, (_LINEAR, "Lasso"), scaled=True),
    "elastic_net": EstimatorEntry(None, (_LINEAR, "ElasticNet"), scaled=True),
    "random_forest": EstimatorEntry(
        (_ENSEMBLE, "RandomForestClassifier"), (_ENSEMBLE, "RandomForestRegressor")
    ),
    "extra_trees": EstimatorEntry(
        (_ENSEMBLE, "ExtraTreesClassifier"), (_ENSEMBLE, "ExtraTreesRegressor")
    ),
    "gradient_boosting": EstimatorEntry(
        (_ENSEMBLE, "GradientBoostingClassifier"),
        (_ENSEMBLE, "GradientBoostingRegressor"),
    ),
    "hist_gradient_boosting": EstimatorEntry(
        (_ENSEMBLE, "HistGradientBoostingClassifier"),
        (_ENSEMBLE, "HistGradientBoostingRegressor"),
    ),
    "decision_tree": EstimatorEntry(
        ("sklearn.tree", "DecisionTreeClassifier"),
        ("sklearn.tree", "DecisionTreeRegressor"),
    ),
    "knn": EstimatorEntry(
        ("sklearn.neighbors", "KNeighborsClassifier"),
        ("sklearn.neighbors", "KNeighborsRegressor"),
        scaled=True,
    ),
    "svm": EstimatorEntry(("sklearn.svm", "SVC"), ("sklearn.svm", "SVR"), scaled=True),
    "lightgbm": EstimatorEntry(
        ("lightgbm", "LGBMClassifier"),
        ("lightgbm", "LGBMRegressor"),
        defaults={"verbose": -1, "n_jobs": 1},
    ),
    "xgboost": EstimatorEntry(
        ("xgboost", "XGBClassifier"),
        ("xgboost", "XGBRegressor"),
        extra="xgboost",
        defaults={"verbosity": 0, "n_jobs": 1},
    ),
}


def _entry(name: str, task: Task) -> tuple[EstimatorEntry, type[Any]]:
    entry = ESTIMATORS.get(name)
    if entry is None:
        known = ", ".join(sorted(ESTIMATORS))
        raise InvalidField("estimator", f"unknown estimator; choose one of: {known}")
    target = entry.target(task)
    if target is None:
        for_task = sorted(n for n, e in ESTIMATORS.items() if e.target(task))
        msg = f"{name} does not do {task}; choose one of: {', '.join(for_task)}"
        raise InvalidField("estimator", msg)
    module_name, class_name = target
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        extra = entry.extra or module_name
        msg = (
            f"{name} needs the {module_name} package; install the {extra!r} extra "
            f"(pip install 'phantom-ml[{extra}]')"
        )
        raise InvalidField("estimator", msg) from None
    cls: type[Any] = getattr(module, class_name)
    return entry, cls


def param_names(name: str, task: Task) -> frozenset[str]:
    """The parameter names the estimator ``name`` accepts for ``task``.

    These are the constructor's parameters and the ones Phantom sets by default
    (LightGBM's ``verbose`` is a keyword argument, not a named parameter).

    Raises:
        InvalidField: (``estimator``) the name is not allowed, does not do
            ``task``, or its package is not installed.
    """
    entry, cls = _entry(name, task)
    return frozenset(cls(**(entry.defaults or {})).get_params(deep=False))


def make_estimator(
    name: str,
    task: Task,
    params: Mapping[str, ParamValue],
    *,
    seed: int,
    probabilities: bool = False,
) -> Any:  # noqa: ANN401 - an estimator of any of the allowed libraries
    """A new, unfitted estimator configured with ``params``.

    Phantom's defaults come first (quiet output, one thread, ``random_state``
    set to ``seed`` where the estimator has one, class probabilities from SVC
    when ``probabilities``), then ``params`` override them.

    Raises:
        InvalidField: as :func:`param_names`.
    """
    entry, cls = _entry(name, task)
    known = cls().get_params(deep=False)
    settings: dict[str, ParamValue] = dict(entry.defaults or {})
    if "random_state" in known:
        settings["random_state"] = seed
    if probabilities and "probability" in known:
        settings["probability"] = True
    settings.update(params)
    return cls(**settings)
