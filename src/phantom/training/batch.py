"""Batch inference: score every row of a dataset file with a model, into Parquet.

A ``batch`` job runs in the worker's own process (no runner subprocess: the
model comes from the registry, checked and loaded, not from a tenant's code).
The model is another context's: the composition root binds
:attr:`~phantom.training.worker.WorkerSettings.load_scorer` to a function that
loads a version for serving and returns a :class:`BatchScorer`, whose ``score``
checks each chunk of rows against the version's signature as an online request
is checked. :func:`score_file` reads the pinned dataset version as training
reads it (:func:`~phantom.training.jobs.frames.read_table`), scores it
``chunk_rows`` rows at a time and appends each chunk to a Parquet file with:

- the model's feature columns, as in the dataset (in the signature's order);
- ``prediction``: the label or value of each row;
- ``proba_<class>``: one column per class, for a model with probabilities.

An output name that a feature already has gets a leading ``_`` (``_prediction``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from phantom.kernel.errors import InvalidInput
from phantom.training.jobs.frames import read_table

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "BatchOutput",
    "BatchScorer",
    "LoadScorer",
    "ResolveModel",
    "Scores",
    "score_file",
]

DEFAULT_CHUNK_ROWS: Final = 10_000
"""Rows scored per call (serving's most instances per request)."""

Scores = tuple[npt.NDArray[Any], npt.NDArray[Any] | None]


@dataclass(frozen=True, slots=True)
class BatchScorer:
    """A model version loaded for batch scoring.

    Attributes:
        model: the model's name.
        version: the version that scores.
        features: the signature's feature names, in the model's order.
        classes: the class labels of the probability columns, if known.
        score: rows (lists of values in ``features`` order, ``None`` for
            missing) -> (predictions, probabilities or ``None``); raises
            :class:`~phantom.kernel.errors.InvalidInput` for rows that do not
            fit the signature, its ``errors`` locating the row and feature.
    """

    model: str
    version: int
    features: tuple[str, ...]
    classes: tuple[Any, ...] | None
    score: Callable[[list[list[Any]]], Scores]


LoadScorer = Callable[[str, str, int], BatchScorer]
"""(tenant id, model, version) -> the version, loaded. Raises ``NotFound`` when
the version is gone and ``InvalidInput`` when it cannot score rows by name."""

ResolveModel = Callable[[str, str, int | None, str | None], int]
"""(tenant id, model, version, alias) -> the number of the version that would
score (a batch job pins it at submission). Raises ``NotFound``."""


@dataclass(frozen=True, slots=True)
class BatchOutput:
    """What :func:`score_file` wrote (``stopped``: ``on_chunk`` said stop)."""

    rows: int
    columns: list[str]
    stopped: bool = False


def _check_features(table: pa.Table, features: Sequence[str]) -> None:
    present = set(table.column_names)
    missing = [name for name in features if name not in present]
    if not missing:
        return
    shown = ", ".join(repr(name[:100]) for name in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    noun = "feature" if len(missing) == 1 else "features"
    msg = f"the dataset has no column for the model's {noun} {shown}{more}"
    raise InvalidInput(msg)


def _cells(column: pa.ChunkedArray) -> list[Any]:
    """The column's values as the signature takes them (``None`` for missing)."""
    if pa.types.is_decimal(column.type):
        column = pc.cast(column, pa.float64())
    values: list[Any] = column.to_pylist()
    if pa.types.is_floating(column.type):
        return [None if v is not None and math.isnan(v) else v for v in values]
    return values


def _output_names(features: Sequence[str], labels: Sequence[str]) -> list[str]:
    taken = set(features)
    names = []
    for label in labels:
        name = label
        while name in taken:
            name = f"_{name}"
        taken.add(name)
        names.append(name)
    return names


def _class_labels(classes: tuple[Any, ...] | None, width: int) -> list[str]:
    if classes is not None and len(classes) == width:
        return [f"proba_{label}" for label in classes]
    return [f"proba_{i}" for i in range(width)]


def _predictions(values: npt.NDArray[Any]) -> pa.Array:
    if values.ndim != 1:
        msg = "the model gives more than one prediction per row"
        raise InvalidInput(msg)
    try:
        return pa.array(values.tolist())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values.tolist()])


def _where(error: InvalidInput, start: int) -> InvalidInput:
    """An error of the chunk starting at row ``start``, naming the dataset row."""
    errors = error.extra.get("errors")
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return error
    loc, message = errors[0].get("loc"), errors[0].get("msg")
    if not isinstance(loc, list) or len(loc) < 2 or not isinstance(loc[1], int):
        return error
    return InvalidInput(f"row {start + loc[1] + 1} of the dataset: {message}")


def _chunk(
    table: pa.Table, scorer: BatchScorer, start: int, stop: int
) -> tuple[pa.Table, int]:
    part = table.slice(start, stop - start).select(list(scorer.features))
    columns = [_cells(part.column(name)) for name in scorer.features]
    rows = [list(row) for row in zip(*columns, strict=True)]
    try:
        predictions, probabilities = scorer.score(rows)
    except InvalidInput as exc:
        raise _where(exc, start) from None
    predictions = np.asarray(predictions)
    if len(predictions) != len(rows):
        msg = "the model gave a different number of predictions than rows"
        raise InvalidInput(msg)
    arrays = [*part.columns, _predictions(predictions)]
    labels = ["prediction"]
    if probabilities is not None:
        proba = np.asarray(probabilities, dtype=np.float64)
        if proba.ndim == 2 and len(proba) == len(rows):
            labels += _class_labels(scorer.classes, proba.shape[1])
            arrays += [pa.array(proba[:, i]) for i in range(proba.shape[1])]
    names = [*scorer.features, *_output_names(scorer.features, labels)]
    return pa.Table.from_arrays(arrays, names=names), len(rows)


def score_file(  # noqa: PLR0913 - the job's inputs, keyword-only
    path: Path,
    fmt: Literal["csv", "parquet"],
    scorer: BatchScorer,
    out: Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_chunk: Callable[[int, int], bool] = lambda _done, _total: True,
) -> BatchOutput:
    """Score every row of the dataset file at ``path`` into Parquet at ``out``.

    ``on_chunk(rows_done, rows_total)`` is called once the file is read and
    after every chunk; ``False`` stops the scoring (``stopped`` in the answer).

    Raises:
        InvalidInput: the file is unreadable or empty, lacks a feature column,
            or a row does not fit the model's signature (the message names the
            row and the feature), or the model refused the rows.
    """
    table = read_table(path, fmt)
    _check_features(table, scorer.features)
    total = table.num_rows
    if total == 0:
        msg = "the dataset version has no rows to score"
        raise InvalidInput(msg)
    if not on_chunk(0, total):
        return BatchOutput(0, [], stopped=True)
    writer: pq.ParquetWriter | None = None
    done = 0
    try:
        while done < total:
            chunk, scored = _chunk(
                table, scorer, done, min(done + max(chunk_rows, 1), total)
            )
            if writer is None:
                writer = pq.ParquetWriter(out, chunk.schema)
            else:
                try:
                    chunk = chunk.cast(writer.schema)
                except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
                    msg = f"the model's outputs changed type at row {done + 1}"
                    raise InvalidInput(msg) from None
            writer.write_table(chunk)
            done += scored
            if not on_chunk(done, total):
                return BatchOutput(done, list(writer.schema.names), stopped=True)
    finally:
        if writer is not None:
            writer.close()
    assert writer is not None  # noqa: S101 - total > 0: one chunk at least
    return BatchOutput(done, list(writer.schema.names))
