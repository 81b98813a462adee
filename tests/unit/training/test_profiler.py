"""The dataset profiler: schema inference, statistics, format detection."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from phantom.kernel.errors import InvalidField, InvalidInput
from phantom.training.adapters.profiler import detect_format, profile_file

if TYPE_CHECKING:
    from pathlib import Path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_schema_and_numeric_profile(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{'ab'[i % 2]},{i / 10}" for i in range(100))
    path = write(tmp_path / "d.csv", "n,cat,x\n" + rows + "\n,,\n")
    profiled = profile_file(path, "csv")
    assert profiled.row_count == 101
    types = {c.name: c.type for c in profiled.columns}
    assert types == {"n": "integer", "cat": "string", "x": "float"}
    n = profiled.profile[0]
    assert (n.count, n.nulls, n.min, n.max) == (100, 1, 0.0, 99.0)
    assert n.mean == pytest.approx(49.5)
    assert n.quantiles is not None
    assert n.quantiles["p50"] == pytest.approx(49.5)
    assert n.histogram is not None
    assert sum(n.histogram.counts) == 100
    assert len(n.histogram.edges) == len(n.histogram.counts) + 1
    cat = profiled.profile[1]
    assert cat.top is not None
    assert {(t.value, t.count) for t in cat.top} == {("a", 50), ("b", 50)}


def test_constant_column_has_one_bin(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "k\n" + "7\n" * 5)
    (column,) = profile_file(path, "csv").profile
    assert column.histogram is not None
    assert column.histogram.counts == [5]
    assert column.std == 0.0


def test_hostile_column_names_are_quoted(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", '"a"" FROM d; DROP TABLE d; --",b\n1,2\n')
    profiled = profile_file(path, "csv")
    assert profiled.columns[0].name == 'a" FROM d; DROP TABLE d; --'
    assert profiled.profile[0].mean == 1.0


def test_parquet_is_read_and_detected(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    table = pa.table(
        {"x": [1.0, 2.0, math.nan, None], "flag": [True, False, True, None]}
    )
    pq.write_table(table, path)
    data = path.read_bytes()
    assert detect_format(data[:8], data[-8:], None) == "parquet"
    profiled = profile_file(path, "parquet")
    assert profiled.row_count == 4
    assert {c.name: c.type for c in profiled.columns} == {
        "x": "float",
        "flag": "boolean",
    }


def test_declared_format_must_match_the_bytes() -> None:
    assert detect_format(b"a,b\n1,2", b"1,2\n", None) == "csv"
    with pytest.raises(InvalidField):
        detect_format(b"a,b\n1,2", b"1,2\n", "parquet")
    with pytest.raises(InvalidField):
        detect_format(b"a", b"a", "xlsx")


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 not really PAR1")
    with pytest.raises(InvalidInput, match="could not read the file as parquet"):
        profile_file(path, "parquet")
