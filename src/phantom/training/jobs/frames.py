"""Load a dataset file into columns of NumPy arrays.

DuckDB reads the file as the dataset profiler does (CSV types inferred from the
whole file, so a job sees the types the dataset page shows), hands it over as
Arrow, and each column becomes one array:

- ``integer`` and ``float`` (and decimals): ``float64`` with ``NaN`` for missing,
  except an integer column with no missing value, which stays ``int64``;
- ``boolean`` and ``string``: ``object`` arrays of ``bool``/``str`` with
  ``np.nan`` for missing (the marker scikit-learn's imputers look for);
- ``date``, ``datetime`` and anything else: ``object`` arrays of ``str``, typed
  so that the trainer can leave them out of the features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phantom.kernel.errors import InvalidInput

__all__ = ["ColumnType", "Frame", "FrameColumn", "load_frame", "read_table"]

ColumnType = Literal["integer", "float", "boolean", "string", "date", "datetime"]


@dataclass(frozen=True, slots=True)
class FrameColumn:
    """One column: its name, type and values (see the module docstring)."""

    name: str
    type: ColumnType
    values: npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class Frame:
    """A dataset held in memory, column by column, in file order."""

    columns: tuple[FrameColumn, ...]
    n_rows: int

    def find(self, name: str) -> FrameColumn | None:
        """The column called ``name``, or ``None``."""
        return next((c for c in self.columns if c.name == name), None)


def _column_type(kind: pa.DataType) -> ColumnType:
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "float"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_timestamp(kind):
        return "datetime"
    return "string"


def _objects(column: pa.ChunkedArray) -> npt.NDArray[Any]:
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    values[pc.is_null(column).to_numpy(zero_copy_only=False)] = np.nan
    return values


def _values(column: pa.ChunkedArray, kind: ColumnType) -> npt.NDArray[Any]:
    if kind == "integer" and column.null_count == 0:
        return np.asarray(pc.cast(column, pa.int64()).to_numpy(), dtype=np.int64)
    if kind in {"integer", "float"}:
        as_float = pc.cast(column, pa.float64())
        return np.asarray(as_float.to_numpy(zero_copy_only=False), dtype=np.float64)
    if kind in {"boolean", "string"}:
        return _objects(column)
    return _objects(pc.cast(column, pa.string()))


def read_table(path: Path, fmt: Literal["csv", "parquet"]) -> pa.Table:
    """The dataset file at ``path`` as an Arrow table, typed as the profiler types it.

    Raises:
        InvalidInput: the file cannot be read as ``fmt``.
    """
    con = duckdb.connect(":memory:")
    try:
        if fmt == "parquet":
            relation = con.read_parquet(str(path))
        else:
            relation = con.read_csv(str(path), header=True, sample_size=-1)
        return relation.to_arrow_table()
    except duckdb.Error as exc:
        detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        msg = f"could not read the dataset as {fmt}: {detail}"
        raise InvalidInput(msg) from None
    finally:
        con.close()


def load_frame(path: Path, fmt: Literal["csv", "parquet"]) -> Frame:
    """Read the dataset file at ``path`` (``csv`` with a header row, or ``parquet``).

    Raises:
        InvalidInput: the file cannot be read as ``fmt`` or has no columns.
    """
    table = read_table(path, fmt)
    if table.num_columns == 0:
        raise InvalidInput("the dataset has no columns")
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = _column_type(column.type)
        columns.append(FrameColumn(str(name), kind, _values(column, kind)))
    return Frame(columns=tuple(columns), n_rows=table.num_rows)
