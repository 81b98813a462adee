"""Logged predictions back into columns: what a drift window and feedback read.

The prediction log keeps each request's instances as JSON (records, or arrays in
signature order) and its outputs as ``{"predictions": [...], "probabilities":
[...]}``. :func:`window_columns` turns a batch of logged requests into one column
per signature feature (numbers as floats, NaN for a missing or unparsable value;
strings and booleans as objects) plus the ``prediction`` column; rows that do not
fit the signature are skipped and counted, never guessed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from phantom.monitoring.domain.columns import Kind

__all__ = [
    "NUMERIC_TYPES",
    "PREDICTION",
    "Columns",
    "kinds_of",
    "outputs_of",
    "window_columns",
]

PREDICTION: Final = "prediction"
"""The name of the model-output column of profiles and windows."""
NUMERIC_TYPES: Final = frozenset({"integer", "float"})


@dataclass(frozen=True, slots=True)
class Columns:
    """A window's feature and output columns, and what could not be read."""

    features: dict[str, npt.NDArray[Any]]
    predictions: dict[str, npt.NDArray[Any]]
    rows: int
    skipped: int


def kinds_of(signature: Sequence[Mapping[str, Any]]) -> dict[str, Kind]:
    """Each feature's kind: ``numeric`` for integers and floats, else categorical."""
    kinds: dict[str, Kind] = {}
    for feature in signature:
        numeric = feature.get("type") in NUMERIC_TYPES
        kinds[str(feature["name"])] = "numeric" if numeric else "categorical"
    return kinds


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _rows(instances: object, names: Sequence[str]) -> list[list[object]] | None:
    if not isinstance(instances, list):
        return None
    rows: list[list[object]] = []
    for instance in instances:
        if isinstance(instance, dict):
            rows.append([instance.get(name) for name in names])
        elif isinstance(instance, list) and len(instance) == len(names):
            rows.append(list(instance))
        else:
            return None
    return rows


def outputs_of(text: str) -> tuple[list[Any], list[Any] | None] | None:
    """A logged request's predictions and probabilities (``None``: unreadable)."""
    try:
        outputs = json.loads(text)
    except ValueError:
        return None
    if not isinstance(outputs, dict) or not isinstance(
        outputs.get("predictions"), list
    ):
        return None
    probabilities = outputs.get("probabilities")
    return outputs["predictions"], probabilities if isinstance(
        probabilities, list
    ) else None


def window_columns(
    logged: Iterable[tuple[str, str]],
    signature: Sequence[Mapping[str, Any]],
    *,
    prediction_kind: str,
) -> Columns:
    """Columns of logged ``(inputs, outputs)`` JSON pairs (see the module docs)."""
    names = [str(f["name"]) for f in signature]
    kinds = kinds_of(signature)
    values: dict[str, list[object]] = {name: [] for name in names}
    outputs: list[object] = []
    skipped = 0
    for inputs_text, outputs_text in logged:
        try:
            instances = json.loads(inputs_text)
        except ValueError:
            instances = None
        rows = _rows(instances, names)
        answered = outputs_of(outputs_text)
        if rows is None or answered is None or len(answered[0]) != len(rows):
            skipped += 1
            continue
        for row in rows:
            for name, value in zip(names, row, strict=True):
                values[name].append(value)
        outputs.extend(answered[0])
    features = {
        name: np.asarray([_number(v) for v in column], dtype=np.float64)
        if kinds[name] == "numeric"
        else np.asarray([str(v) for v in column], dtype=object)
        for name, column in values.items()
    }
    prediction = (
        np.asarray([_number(v) for v in outputs], dtype=np.float64)
        if prediction_kind == "numeric"
        else np.asarray([str(v) for v in outputs], dtype=object)
    )
    return Columns(features, {PREDICTION: prediction}, len(outputs), skipped)
