"""Read a CSV or Parquet file with DuckDB: its schema, row count and profile.

One in-memory DuckDB connection per file: the file is loaded into a table once
(types inferred from the whole file for CSV), external access is then switched
off, and every statistic comes from SQL over that table — one aggregate query for
all columns, one histogram query per numeric column, one top-values query per
other column. Column names are quoted, never interpolated raw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import duckdb

from phantom.kernel.errors import InvalidField, InvalidInput
from phantom.training.api import (
    ColumnInfo,
    ColumnProfile,
    ColumnType,
    Histogram,
    TopValue,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Profiled", "detect_format", "profile_file"]

Format = Literal["csv", "parquet"]

BINS: Final = 20
TOP: Final = 20
MAX_COLUMNS: Final = 2_000
QUANTILES: Final = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
_PARQUET_MAGIC: Final = b"PAR1"
_INTEGERS: Final = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT"}
    | {"UINTEGER", "UBIGINT", "UHUGEINT"}
)
_FLOATS: Final = frozenset({"FLOAT", "DOUBLE", "REAL"})
_NUMERIC: Final = frozenset({"integer", "float"})


@dataclass(frozen=True, slots=True)
class Profiled:
    """A file's row count, schema and per-column profile."""

    row_count: int
    columns: list[ColumnInfo]
    profile: list[ColumnProfile]


def detect_format(head: bytes, tail: bytes, declared: str | None) -> Format:
    """The file's format, from its bytes (Parquet's magic) and the declared one.

    Raises:
        InvalidField: the declared format is unknown or contradicts the bytes.
    """
    parquet = head.startswith(_PARQUET_MAGIC) and tail.endswith(_PARQUET_MAGIC)
    if declared is None:
        return "parquet" if parquet else "csv"
    if declared not in {"csv", "parquet"}:
        raise InvalidField("format", "must be csv or parquet")
    if (declared == "parquet") != parquet:
        raise InvalidField("format", f"the bytes are not {declared}")
    return "parquet" if declared == "parquet" else "csv"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_type(duck: str) -> ColumnType:
    base = duck.split("(", maxsplit=1)[0].upper()
    if base in _INTEGERS:
        return "integer"
    if base in _FLOATS or base == "DECIMAL":
        return "float"
    if base == "BOOLEAN":
        return "boolean"
    if base == "DATE":
        return "date"
    if base.startswith("TIMESTAMP"):
        return "datetime"
    return "string"


def _finite(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _load(con: duckdb.DuckDBPyConnection, path: Path, fmt: Format) -> None:
    try:
        if fmt == "parquet":
            relation = con.read_parquet(str(path))
        else:
            relation = con.read_csv(str(path), header=True, sample_size=-1)
        relation.create("d")
    except duckdb.Error as exc:
        detail = str(exc).splitlines()[0][:300]
        msg = f"could not read the file as {fmt}: {detail}"
        raise InvalidInput(msg) from None
    con.execute("SET enable_external_access = false")


def _schema(con: duckdb.DuckDBPyConnection) -> list[ColumnInfo]:
    rows = con.execute("DESCRIBE d").fetchall()
    if len(rows) > MAX_COLUMNS:
        msg = f"the file has {len(rows)} columns; at most {MAX_COLUMNS} are profiled"
        raise InvalidInput(msg)
    return [ColumnInfo(name=str(r[0]), type=_column_type(str(r[1]))) for r in rows]


def _aggregates(
    con: duckdb.DuckDBPyConnection, columns: Sequence[ColumnInfo]
) -> tuple[int, list[tuple[object, ...]]]:
    parts = ["count(*)"]
    for column in columns:
        q = _quote(column.name)
        parts += [f"count({q})", f"approx_count_distinct({q})"]
        if column.type in _NUMERIC:
            x = f"CAST({q} AS DOUBLE)"
            quantiles = ", ".join(str(p) for p in QUANTILES)
            parts += [
                f"avg({x})",
                f"stddev_samp({x})",
                f"min({x})",
                f"max({x})",
                f"quantile_cont({x}, [{quantiles}])",
            ]
    row = con.execute(f"SELECT {', '.join(parts)} FROM d").fetchone()  # noqa: S608 - quoted names
    assert row is not None  # noqa: S101 - an aggregate always answers one row
    total = int(row[0])
    per_column, i = [], 1
    for column in columns:
        width = 7 if column.type in _NUMERIC else 2
        per_column.append(tuple(row[i : i + width]))
        i += width
    return total, per_column


def _histogram(
    con: duckdb.DuckDBPyConnection, name: str, low: float, high: float
) -> Histogram:
    width = (high - low) / BINS
    edges = [low + width * i for i in range(BINS)] + [high]
    if width <= 0:
        count = con.execute(f"SELECT count({_quote(name)}) FROM d").fetchone()  # noqa: S608
        return Histogram(edges=[low, high], counts=[int(count[0]) if count else 0])
    x = f"CAST({_quote(name)} AS DOUBLE)"
    # low and width are floats this module computed: safe to write as literals.
    bucket = f"least(CAST(floor(({x} - {low!r}) / {width!r}) AS INTEGER), {BINS - 1})"
    rows = con.execute(
        f"SELECT {bucket} AS b, count(*) FROM d "  # noqa: S608 - quoted names, floats
        f"WHERE {x} IS NOT NULL AND isfinite({x}) GROUP BY ALL"
    ).fetchall()
    counts = [0] * BINS
    for bucket, count in rows:
        counts[max(0, min(BINS - 1, int(bucket)))] += int(count)
    return Histogram(edges=edges, counts=counts)


def _top(con: duckdb.DuckDBPyConnection, name: str) -> list[TopValue]:
    q = _quote(name)
    rows = con.execute(
        f"SELECT CAST({q} AS VARCHAR) AS v, count(*) AS c FROM d "  # noqa: S608
        f"WHERE {q} IS NOT NULL GROUP BY v ORDER BY c DESC, v LIMIT {TOP}"
    ).fetchall()
    return [TopValue(value=str(v)[:200], count=int(c)) for v, c in rows]


def _profile(
    con: duckdb.DuckDBPyConnection,
    column: ColumnInfo,
    total: int,
    stats: tuple[object, ...],
) -> ColumnProfile:
    count = int(stats[0])  # type: ignore[call-overload]
    base = {
        "name": column.name,
        "type": column.type,
        "count": count,
        "nulls": total - count,
        "distinct": int(stats[1]),  # type: ignore[call-overload]
    }
    if column.type not in _NUMERIC:
        return ColumnProfile(**base, top=_top(con, column.name))
    mean, std, low, high = (_finite(v) for v in stats[2:6])
    raw = stats[6]
    quantiles = None
    if isinstance(raw, list) and count:
        quantiles = {
            f"p{round(p * 100)}": v
            for p, v in zip(QUANTILES, (_finite(x) for x in raw), strict=True)
            if v is not None
        }
    histogram = None
    if low is not None and high is not None:
        histogram = _histogram(con, column.name, low, high)
    return ColumnProfile(
        **base,
        mean=mean,
        std=std,
        min=low,
        max=high,
        quantiles=quantiles,
        histogram=histogram,
    )


def profile_file(path: Path, fmt: Format) -> Profiled:
    """Load ``path`` as ``fmt`` and profile every column.

    Raises:
        InvalidInput: the file cannot be read as ``fmt``, has no columns, or has
            too many.
    """
    con = duckdb.connect(":memory:")
    try:
        _load(con, path, fmt)
        columns = _schema(con)
        if not columns:
            msg = "the file has no columns"
            raise InvalidInput(msg)
        total, stats = _aggregates(con, columns)
        profile = [
            _profile(con, column, total, column_stats)
            for column, column_stats in zip(columns, stats, strict=True)
        ]
        return Profiled(row_count=total, columns=columns, profile=profile)
    finally:
        con.close()
