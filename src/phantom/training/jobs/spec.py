"""The declarative training spec: what to train, on which data, how to search.

::

    kind: search                  # or: entrypoint, batch
    experiment: churn
    dataset: customers            # a dataset name or id
    target: churned
    task: classification          # or: regression
    estimator: random_forest      # one name of the allow-list (estimators.py)
    params: {n_estimators: 200}   # fixed parameters
    search:
      n_trials: 20
      space: {max_depth: {type: int, low: 2, high: 12}}
    cv: {folds: 5}                # or: holdout: 0.2
    metric: roc_auc
    register_as: churn-model

:func:`parse_spec` reads YAML or JSON text, validates the structure (unknown
fields are refused at every level), then the rules the types cannot state, and
returns the spec with its defaults made explicit (``metric``, ``search``, ``cv``).

A ``batch`` job scores every row of a dataset version with a registered model
(``model``, and ``version`` or ``alias``: the ``production`` alias by default)
and writes the predictions as a Parquet artifact::

    kind: batch
    dataset: customers
    model: churn-model
    alias: production             # or: version: 3
Every refusal is an :class:`~phantom.kernel.errors.InvalidInput` whose message
starts with the dotted path of the offending field.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phantom.kernel.errors import InvalidField, InvalidInput
from phantom.kernel.text import clean_label
from phantom.registry.api import MODEL_NAME_RULE, is_model_name
from phantom.training.jobs.documents import load_document
from phantom.training.jobs.estimators import ESTIMATORS, ParamValue, Task, param_names
from phantom.training.jobs.metric_catalog import (
    DEFAULT_METRIC,
    PROBABILITY_METRICS,
    metrics_for,
)
from phantom.training.jobs.search_space import SearchSpec, check_search

__all__ = [
    "DEFAULT_ALIAS",
    "CvSpec",
    "EntrypointSpec",
    "ResourcesSpec",
    "TrainingSpec",
    "parse_spec",
]

_SEARCH_ONLY: Final = ("estimator", "search", "cv", "holdout", "metric")
_NOT_BATCH: Final = (
    *_SEARCH_ONLY,
    "target",
    "features",
    "task",
    "register_as",
    "entrypoint",
)
_BATCH_ONLY: Final = ("model", "version", "alias")
DEFAULT_ALIAS: Final = "production"
"""The alias a batch job scores with when it names neither version nor alias."""
_MESSAGES: Final = {"extra_forbidden": "unknown field", "missing": "required"}


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False
    )


class CvSpec(_Spec):
    """K-fold cross-validation (stratified for classification)."""

    folds: int = Field(default=5, ge=2, le=20)
    shuffle: bool = True
    seed: int = Field(default=0, ge=0, le=2**32 - 1)


class EntrypointSpec(_Spec):
    """A user's script, run by the worker instead of the built-in search."""

    file: str = Field(min_length=1, max_length=255)
    args: list[str] = Field(default_factory=list, max_length=100)


class ResourcesSpec(_Spec):
    """Limits the worker applies to the job's process."""

    memory_mb: int = Field(default=2048, ge=128, le=1_048_576)
    timeout_s: int = Field(default=3600, ge=1, le=7 * 86_400)


class TrainingSpec(_Spec):
    """A training job, as submitted. See the module docstring for an example."""

    kind: Literal["search", "entrypoint", "batch"] = "search"
    name: str | None = None
    experiment: str = "default"
    dataset: str | None = None
    dataset_version: int | None = Field(default=None, ge=1)
    target: str | None = Field(default=None, min_length=1, max_length=1_000)
    features: list[str] | None = Field(default=None, min_length=1, max_length=2_000)
    task: Task | None = None
    estimator: str | None = None
    preprocessing: Literal["auto", "none"] = "auto"
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=200)
    search: SearchSpec | None = None
    cv: CvSpec | None = None
    holdout: float | None = Field(default=None, gt=0, lt=1)
    metric: str | None = None
    priority: int = Field(default=5, ge=0, le=9)
    max_retries: int = Field(default=2, ge=0, le=10)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    register_as: str | None = None
    entrypoint: EntrypointSpec | None = None
    model: str | None = None
    version: int | None = Field(default=None, ge=1)
    alias: str | None = None


def _refusal(exc: ValidationError) -> InvalidInput:
    errors: list[dict[str, Any]] = [
        {
            "loc": [str(part)[:50] for part in error["loc"]],
            "msg": _MESSAGES.get(error["type"], error["msg"]),
            "type": error["type"],
        }
        for error in exc.errors(include_url=False, include_input=False)
    ]
    found = [(".".join(e["loc"]) or "spec", e["msg"]) for e in errors]
    if len(found) == 1:
        return InvalidField(*found[0])
    detail = "; ".join(f"{path}: {msg}" for path, msg in found[:10])
    return InvalidInput(detail, errors=errors)


def _check_entry_file(path: str) -> None:
    field = "entrypoint.file"
    if any(unicodedata.category(c).startswith("C") or c in "\\:" for c in path):
        raise InvalidField(field, "must be a relative path of / separated names")
    parts = PurePosixPath(path).parts
    if path.startswith("/") or ".." in parts:
        raise InvalidField(field, "must be inside the job's files (no / or ..)")
    if not path.endswith(".py") or not parts:
        raise InvalidField(field, "must name a .py file")


def _check_entrypoint(spec: TrainingSpec) -> TrainingSpec:
    if spec.entrypoint is None:
        raise InvalidField("entrypoint", "required for kind entrypoint")
    for field in _SEARCH_ONLY:
        if getattr(spec, field) is not None:
            raise InvalidField(field, "only for kind search")
    if spec.params:
        raise InvalidField("params", "only for kind search")
    if spec.register_as is not None:
        msg = "only for kind search (an entry point registers through the SDK)"
        raise InvalidField("register_as", msg)
    _check_entry_file(spec.entrypoint.file)
    for i, arg in enumerate(spec.entrypoint.args):
        if len(arg) > 4_000 or "\x00" in arg:
            where = f"entrypoint.args.{i}"
            raise InvalidField(where, "at most 4000 characters, no NUL")
    return spec


def _check_batch(spec: TrainingSpec) -> TrainingSpec:
    for field in ("dataset", "model"):
        if getattr(spec, field) is None:
            raise InvalidField(field, "required for kind batch")
    for field in _NOT_BATCH:
        if getattr(spec, field) is not None:
            raise InvalidField(field, "not for kind batch")
    if spec.params:
        raise InvalidField("params", "only for kind search")
    if spec.version is not None and spec.alias is not None:
        raise InvalidField("alias", "give a version or an alias, not both")
    if not is_model_name(spec.model or ""):
        raise InvalidField("model", f"a model name: {MODEL_NAME_RULE}")
    if spec.version is None and spec.alias is None:
        return spec.model_copy(update={"alias": DEFAULT_ALIAS})
    return spec


def _check_not_batch(spec: TrainingSpec) -> None:
    for field in _BATCH_ONLY:
        if getattr(spec, field) is not None:
            raise InvalidField(field, "only for kind batch")


def _check_features(spec: TrainingSpec) -> None:
    if spec.features is None:
        return
    seen: set[str] = set()
    for i, feature in enumerate(spec.features):
        where = f"features.{i}"
        if feature == spec.target:
            raise InvalidField(where, "is the target; drop it from features")
        if feature in seen:
            raise InvalidField(where, "listed twice")
        seen.add(feature)


def _metric(spec: TrainingSpec, task: Task, estimator: str) -> str:
    metric = spec.metric or DEFAULT_METRIC[task]
    known = metrics_for(task)
    if metric not in known:
        msg = f"not a {task} metric; choose one of: {', '.join(known)}"
        raise InvalidField("metric", msg)
    if metric in PROBABILITY_METRICS and not ESTIMATORS[estimator].probabilities:
        msg = f"{estimator} gives no class probabilities; choose another metric"
        raise InvalidField("metric", msg)
    return metric


def _check_search(spec: TrainingSpec) -> TrainingSpec:
    for field in ("dataset", "target", "task", "estimator"):
        if getattr(spec, field) is None:
            raise InvalidField(field, "required for kind search")
    if spec.entrypoint is not None:
        raise InvalidField("entrypoint", "only for kind entrypoint")
    assert spec.task is not None  # noqa: S101 - checked just above
    assert spec.estimator is not None  # noqa: S101
    known = param_names(spec.estimator, spec.task)
    for name in spec.params:
        if name not in known:
            where = f"params.{name[:50]}"
            raise InvalidField(where, f"not a parameter of {spec.estimator}")
    search = spec.search or SearchSpec(n_trials=1)
    check_search(search, estimator=spec.estimator, known=known, fixed=spec.params)
    _check_features(spec)
    if spec.cv is not None and spec.holdout is not None:
        raise InvalidField("holdout", "give cv or holdout, not both")
    cv = spec.cv or (CvSpec() if spec.holdout is None else None)
    metric = _metric(spec, spec.task, spec.estimator)
    return spec.model_copy(update={"search": search, "cv": cv, "metric": metric})


def _clean_labels(spec: TrainingSpec) -> TrainingSpec:
    labels: dict[str, str] = {
        "experiment": clean_label("experiment", spec.experiment, max_length=100)
    }
    for field in ("name", "dataset", "register_as", "model", "alias"):
        value = getattr(spec, field)
        if value is not None:
            labels[field] = clean_label(field, value, max_length=100)
    if "register_as" in labels and not is_model_name(labels["register_as"]):
        raise InvalidField("register_as", f"a model name: {MODEL_NAME_RULE}")
    return spec.model_copy(update=labels)


def parse_spec(text: str) -> TrainingSpec:
    """Parse and check a training spec written in YAML or JSON.

    Args:
        text: the document, at most 256 KB once UTF-8 encoded.

    Returns:
        The spec, with ``metric``, ``search`` and ``cv`` (unless ``holdout``)
        filled in for ``kind: search``, and ``alias`` (``production``) for a
        ``kind: batch`` that names no version.

    Raises:
        InvalidInput: the document is malformed or breaks a rule; an
            :class:`~phantom.kernel.errors.InvalidField` (or, for several
            structural errors at once, an ``InvalidInput`` carrying
            ``errors=[{loc, msg, type}]``) names the offending field path.
    """
    document = load_document(text)
    try:
        spec = TrainingSpec.model_validate(document)
    except ValidationError as exc:
        raise _refusal(exc) from None
    spec = _clean_labels(spec)
    if spec.kind == "batch":
        return _check_batch(spec)
    _check_not_batch(spec)
    if spec.kind == "entrypoint":
        return _check_entrypoint(spec)
    return _check_search(spec)
