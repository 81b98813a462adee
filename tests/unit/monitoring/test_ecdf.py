"""The KS sketch counts the same whichever way it places values."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from phantom.monitoring.domain.ecdf import EcdfGrid, ecdf_counts

values = st.lists(st.integers(-30, 30).map(float), min_size=0, max_size=200)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-30, 30).map(float), min_size=1, max_size=200), values)
def test_sorted_and_placed_counts_agree_with_a_direct_count(
    reference: list[float], current: list[float]
) -> None:
    grid = EcdfGrid.of_sorted(np.sort(np.asarray(reference)), None)
    x = np.asarray(current)
    below = np.array([np.count_nonzero(x < p) for p in grid.points])
    upto = np.array([np.count_nonzero(x <= p) for p in grid.points])
    for counts in (
        ecdf_counts(grid.points, np.sort(x), presorted=True),
        ecdf_counts(grid.points, x),
    ):
        np.testing.assert_array_equal(counts[0], below)
        np.testing.assert_array_equal(counts[1], upto)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 64), st.integers(1, 2_000))
def test_quantile_grids_bound_the_mass_between_points(resolution: int, n: int) -> None:
    data = np.sort(np.random.default_rng(n).lognormal(size=n))
    grid = EcdfGrid.of_sorted(data, resolution)
    assert grid.points[0] == data[0]
    assert grid.points[-1] == data[-1]
    assert grid.points.size <= resolution + 1
    gaps = (grid.below[1:] - grid.upto[:-1]) / n
    assert gaps.max(initial=0.0) == grid.error_bound
    assert grid.error_bound <= 1 / resolution
