"""Tables as columns: checking them, telling numbers from categories, encoding.

A table is a mapping from column name to a 1-D array-like, all of one length
(a pandas ``DataFrame`` converts with ``{c: df[c].to_numpy() for c in df}``).

* A column is *numeric* when its dtype is integer or float, and *categorical*
  when it is boolean, string, bytes or object. Pass ``kinds`` to say otherwise,
  for example for integer-coded categories or a classifier's labels.
* In a numeric column NaN and +/-inf are *missing*: counted, then left out.
* In a categorical column ``None`` and float NaN are missing; every other value
  is a category. Categories are JSON scalars (``str``, ``int``, ``float``,
  ``bool``); anything else is taken by its ``str()``. As in Python, ``1``,
  ``1.0`` and ``True`` are one category.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from phantom.monitoring.domain.errors import InvalidColumns

__all__ = [
    "Category",
    "Columns",
    "Kind",
    "Role",
    "categorize",
    "check_table",
    "finite_values",
    "infer_kind",
]

Kind: TypeAlias = Literal["numeric", "categorical"]
Role: TypeAlias = Literal["feature", "prediction"]
Category: TypeAlias = str | int | float | bool
Columns: TypeAlias = Mapping[str, npt.ArrayLike]

_NUMERIC_DTYPES = frozenset("iuf")
_CATEGORICAL_DTYPES = frozenset("bOUS")


def check_table(columns: Columns, what: str) -> tuple[dict[str, npt.NDArray[Any]], int]:
    """The columns as 1-D arrays, and their common length.

    Raises:
        InvalidColumns: a column is not 1-D, or the lengths differ.
    """
    arrays: dict[str, npt.NDArray[Any]] = {}
    rows: int | None = None
    for name, values in columns.items():
        array = np.asarray(values)
        if array.ndim != 1:
            msg = f"{what} column {name!r} must be 1-D, not of shape {array.shape}"
            raise InvalidColumns(msg)
        if rows is not None and array.size != rows:
            msg = f"{what} columns differ in length ({rows} and {array.size} rows)"
            raise InvalidColumns(msg)
        rows = array.size
        arrays[name] = array
    return arrays, rows or 0


def infer_kind(name: str, array: npt.NDArray[Any]) -> Kind:
    """``numeric`` for integer and float dtypes, ``categorical`` for the others.

    Raises:
        InvalidColumns: the dtype is neither (complex, datetime, ...).
    """
    if array.dtype.kind in _NUMERIC_DTYPES:
        return "numeric"
    if array.dtype.kind in _CATEGORICAL_DTYPES:
        return "categorical"
    msg = f"column {name!r} has dtype {array.dtype}: pass its kind explicitly"
    raise InvalidColumns(msg)


def finite_values(
    name: str, array: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.float64], int]:
    """The column's finite values as float64, and how many were missing.

    Raises:
        InvalidColumns: the values are not numbers.
    """
    try:
        x = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"numeric column {name!r} holds values that are not numbers"
        raise InvalidColumns(msg) from exc
    finite = np.isfinite(x)
    kept = int(np.count_nonzero(finite))
    if kept == x.size:
        return x, 0
    return x[finite], x.size - kept


def categorize(
    array: npt.NDArray[Any],
) -> tuple[list[Category | None], npt.NDArray[np.intp]]:
    """Factorize a column: its distinct values (``None`` = missing) and each row's.

    Returns:
        ``(uniques, inverse)`` with ``uniques[inverse[i]]`` the category of row ``i``.
    """
    if array.dtype.kind in "biuf":
        values, inverse = np.unique(array, return_inverse=True)
        return [_category(v) for v in values.tolist()], inverse.astype(np.intp)
    seen: dict[object, int] = {}
    codes = [seen.setdefault(v, len(seen)) for v in array.tolist()]
    return [_category(v) for v in seen], np.asarray(codes, dtype=np.intp)


def _category(value: object) -> Category | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
