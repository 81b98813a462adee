"""Turn a loaded frame and a spec into the arrays every trial trains on.

The feature matrix is ``float64`` when every feature is numeric, else an
``object`` matrix holding floats, strings and booleans (missing values are
``np.nan`` throughout), the shape in which the saved model later takes rows at
prediction time. Rows whose target is missing are dropped. The input signature
(name, type, and the range or the categories seen of each feature) is recorded
for the registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from phantom.kernel.errors import InvalidField
from phantom.training.jobs.frames import Frame, FrameColumn
from phantom.training.jobs.spec import TrainingSpec

__all__ = ["MAX_CLASSES", "FeatureLayout", "TrainingData", "prepare"]

MAX_CLASSES: Final = 1_000
MAX_CATEGORIES: Final = 1_000
_NUMERIC: Final = frozenset({"integer", "float"})
_CATEGORICAL: Final = frozenset({"boolean", "string"})
_TYPED_LABELS: Final = {"integer": np.int64, "boolean": np.bool_}
"""Label columns given a plain dtype once missing rows are gone (scikit-learn
cannot tell the kind of target an ``object`` array of booleans is)."""


@dataclass(frozen=True, slots=True)
class FeatureLayout:
    """The feature columns, in matrix order, and which positions are which."""

    names: tuple[str, ...]
    numeric: tuple[int, ...]
    categorical: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TrainingData:
    """Features ``x``, target ``y`` and what the registry should know of them."""

    x: npt.NDArray[Any]
    y: npt.NDArray[Any]
    layout: FeatureLayout
    signature: list[dict[str, object]]
    classes: list[object] | None


def _feature_columns(frame: Frame, spec: TrainingSpec) -> list[FrameColumn]:
    if spec.features is None:
        wanted = [c for c in frame.columns if c.name != spec.target]
        return [c for c in wanted if c.type in _NUMERIC | _CATEGORICAL]
    columns = []
    for i, name in enumerate(spec.features):
        column = frame.find(name)
        where = f"features.{i}"
        if column is None:
            raise InvalidField(where, "no such column in the dataset")
        if column.type not in _NUMERIC | _CATEGORICAL:
            msg = f"a {column.type} column; only numbers, booleans and strings"
            raise InvalidField(where, msg)
        columns.append(column)
    return columns


def _missing(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _present(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if values.dtype.kind == "f":
        return np.asarray(~np.isnan(values), dtype=bool)
    if values.dtype == object:
        present = (not _missing(v) for v in values)
        return np.fromiter(present, dtype=bool, count=len(values))
    return np.ones(len(values), dtype=bool)


def _target(
    frame: Frame, spec: TrainingSpec
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    column = frame.find(spec.target or "")
    if column is None:
        raise InvalidField("target", "no such column in the dataset")
    if spec.task == "regression" and column.type not in _NUMERIC:
        raise InvalidField("target", "regression needs a numeric target column")
    keep = _present(column.values)
    y = column.values[keep]
    if spec.task == "classification" and column.type in _TYPED_LABELS:
        y = y.astype(_TYPED_LABELS[column.type])
    return y, keep


def _classes(y: npt.NDArray[Any]) -> list[object]:
    classes = np.unique(y)
    if len(classes) < 2:
        raise InvalidField("target", "classification needs at least two classes")
    if len(classes) > MAX_CLASSES:
        msg = f"more than {MAX_CLASSES} classes; is this a regression?"
        raise InvalidField("target", msg)
    return [c.item() if isinstance(c, np.generic) else c for c in classes]


def _describe(column: FrameColumn, values: npt.NDArray[Any]) -> dict[str, object]:
    entry: dict[str, object] = {"name": column.name, "type": column.type}
    if column.type in _NUMERIC:
        finite = values[np.isfinite(values.astype(np.float64))]
        entry["min"] = float(finite.min()) if finite.size else None
        entry["max"] = float(finite.max()) if finite.size else None
        return entry
    seen = sorted({v for v in values.tolist() if not _missing(v)}, key=str)
    entry["categories"] = seen[:MAX_CATEGORIES]
    if len(seen) > MAX_CATEGORIES:
        entry["categories_truncated"] = True
    return entry


def _matrix(columns: list[FrameColumn], keep: npt.NDArray[np.bool_]) -> Any:  # noqa: ANN401
    if all(c.type in _NUMERIC for c in columns):
        return np.column_stack([c.values[keep].astype(np.float64) for c in columns])
    x = np.empty((int(keep.sum()), len(columns)), dtype=object)
    for i, column in enumerate(columns):
        x[:, i] = column.values[keep]
    return x


def prepare(frame: Frame, spec: TrainingSpec) -> TrainingData:
    """The training arrays for ``spec`` from ``frame``.

    Raises:
        InvalidField: the target or a feature is missing or of the wrong type,
            there are no usable features, too few rows, or (classification) fewer
            than two or more than :data:`MAX_CLASSES` classes.
    """
    y, keep = _target(frame, spec)
    columns = _feature_columns(frame, spec)
    if not columns:
        raise InvalidField("features", "no numeric, boolean or string feature")
    if spec.preprocessing == "none":
        for column in columns:
            if column.type not in _NUMERIC:
                msg = f"'none' needs numeric features; {column.name[:50]!r} is not"
                raise InvalidField("preprocessing", msg)
    if len(y) < 4:
        raise InvalidField("target", "fewer than 4 rows have a target value")
    classes = _classes(y) if spec.task == "classification" else None
    layout = FeatureLayout(
        names=tuple(c.name for c in columns),
        numeric=tuple(i for i, c in enumerate(columns) if c.type in _NUMERIC),
        categorical=tuple(i for i, c in enumerate(columns) if c.type not in _NUMERIC),
    )
    return TrainingData(
        x=_matrix(columns, keep),
        y=y,
        layout=layout,
        signature=[_describe(c, c.values[keep]) for c in columns],
        classes=classes,
    )
