"""The analytics port's shared checks and its sampling rule (no store involved)."""

from __future__ import annotations

import enum
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom.kernel.analytics import MetricPoint
from phantom.kernel.analytics.checks import (
    MetricColumns,
    _check_point,
    _fast_columns,
    check_id,
    check_key,
    check_max_points,
    check_points,
    check_run_ids,
)
from phantom.kernel.analytics.port import sampled_positions
from phantom.kernel.errors import InvalidInput


class Step(enum.IntEnum):
    FIRST = 1


def test_a_batch_comes_back_as_columns() -> None:
    columns = check_points(
        [MetricPoint("t", "r", "a", 0, 10, 0.5), MetricPoint("t", "s", "b", 1, 11, 1.5)]
    )
    assert columns == MetricColumns(
        ("t", "t"), ("r", "s"), ("a", "b"), (0, 1), (10, 11), (0.5, 1.5)
    )


def test_an_empty_batch_is_empty_columns() -> None:
    assert check_points([]) == MetricColumns((), (), (), (), (), ())
    assert check_points(()) == MetricColumns((), (), (), (), (), ())


def test_numbers_of_other_types_are_normalised() -> None:
    batch: list[object] = [
        MetricPoint("t", "r", "k", Step.FIRST, 7, 3),
        ("t", "r", "k", np.int32(2), np.int64(8), np.float32(0.5)),
    ]
    columns = check_points(batch)
    assert list(columns.steps) == [1, 2]
    assert list(columns.timestamps_us) == [7, 8]
    assert list(columns.values) == [3.0, 0.5]
    assert [type(v) for v in columns.steps] == [int, int]
    assert [type(v) for v in columns.values] == [float, float]


@pytest.mark.parametrize("value", [np.True_, True])
def test_booleans_of_any_kind_are_refused(value: object) -> None:
    for field in ("step", "timestamp_us", "value"):
        bad = MetricPoint("t", "r", "k", 0, 0, 0.0)._replace(**{field: value})  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match=rf"points\[0\]\.{field}"):
            check_points([bad])


def test_the_first_bad_point_is_named() -> None:
    points = [MetricPoint("t", "r", "k", i, 0, 0.0) for i in range(5)]
    points[3] = points[3]._replace(step=-1)
    points[4] = points[4]._replace(key="")
    with pytest.raises(InvalidInput) as caught:
        check_points(points)
    assert caught.value.detail == "points[3].step: must be at least 0"
    assert caught.value.extra == {
        "errors": [
            {
                "loc": ["points", 3, "step"],
                "msg": "must be at least 0",
                "type": "value_error",
            }
        ]
    }


def test_errors_never_echo_the_offending_value() -> None:
    secret = "s3cr3t-" * 20
    with pytest.raises(InvalidInput) as caught:
        check_points([MetricPoint(secret, "r", "k", 0, 0, 0.0)])
    assert "s3cr3t" not in str(caught.value.detail)
    assert "s3cr3t" not in repr(caught.value.extra)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["t", "u", ""]),
            st.sampled_from(["r", "x" * 65]),
            st.sampled_from(["loss", "a\x00"]),
            st.one_of(st.integers(-2, 2**64), st.booleans(), st.floats()),
            st.one_of(st.integers(-(2**64), 2**64), st.booleans()),
            st.one_of(st.floats(), st.integers(-(10**400), 10**400), st.booleans()),
        ),
        max_size=8,
    )
)
def test_the_fast_path_and_the_point_by_point_path_agree(
    points: list[tuple[object, ...]],
) -> None:
    try:
        expected: MetricColumns | None = (
            MetricColumns(
                *map(
                    tuple,
                    zip(
                        *(_check_point(i, p) for i, p in enumerate(points)), strict=True
                    ),
                )
            )
            if points
            else MetricColumns((), (), (), (), (), ())
        )
    except InvalidInput:
        expected = None
    fast = _fast_columns(points)
    if fast is not None:  # the fast path only ever accepts what is valid
        assert expected is not None
        assert tuple(map(tuple, fast)) == tuple(map(tuple, expected))
    if expected is None:
        with pytest.raises(InvalidInput):
            check_points(points)
    else:
        assert tuple(map(tuple, check_points(points))) == tuple(map(tuple, expected))


@pytest.mark.parametrize(
    ("check", "value", "field"),
    [
        (lambda v: check_id("tenant_id", v), "", "tenant_id"),
        (lambda v: check_id("run_id", v), "x" * 65, "run_id"),
        (check_key, "k" * 251, "key"),
        (check_key, None, "key"),
        (check_max_points, 0, "max_points"),
        (check_max_points, False, "max_points"),
        (check_run_ids, "abc", "run_ids"),
        (check_run_ids, ["ok", 3], "run_ids[1].run_id"),
    ],
)
def test_argument_checks_name_the_argument(
    check: object, value: object, field: str
) -> None:
    assert callable(check)
    with pytest.raises(InvalidInput) as caught:
        check(value)
    assert caught.value.detail.startswith(f"{field}: ")


def test_run_ids_are_deduplicated_in_order() -> None:
    assert check_run_ids(("b", "a", "b")) == ["b", "a"]
    assert check_max_points(None) is None
    assert check_max_points(3) == 3


@given(st.integers(0, 5_000), st.integers(1, 300))
def test_sampled_positions_keep_the_ends_and_space_evenly(
    count: int, most: int
) -> None:
    kept = sampled_positions(count, most)
    assert len(kept) == min(count, most)
    assert kept == sorted(set(kept))
    assert all(0 <= p < count for p in kept)
    if count and most > 1:
        assert kept[0] == 0
    if count:
        assert kept[-1] == count - 1
    if count > most > 1:
        gaps = {b - a for a, b in itertools.pairwise(kept)}
        ideal = (count - 1) / (most - 1)
        assert all(abs(gap - ideal) <= 1 for gap in gaps)
