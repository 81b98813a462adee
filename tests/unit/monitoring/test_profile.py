"""Reference profiles: what they keep, and that they store and read back."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from phantom.kernel.errors import InvalidInput
from phantom.monitoring.domain import (
    ReferenceProfile,
    build_profile,
    compare,
    profile_window,
)
from phantom.monitoring.domain.ecdf import EcdfGrid
from phantom.monitoring.domain.errors import InvalidColumns, InvalidProfile
from phantom.monitoring.domain.reference import CategoricalProfile, NumericProfile

from .tables import Table, categorical_table


def numeric(profile: ReferenceProfile, name: str) -> NumericProfile:
    column = profile.column(name)
    assert isinstance(column, NumericProfile)
    return column


def categorical(profile: ReferenceProfile, name: str) -> CategoricalProfile:
    column = profile.column(name)
    assert isinstance(column, CategoricalProfile)
    return column


def test_numeric_columns_get_decile_bins_with_empty_outer_bins(
    profile: ReferenceProfile,
) -> None:
    column = numeric(profile, "f00")
    assert column.edges.size == 11  # min, 9 deciles, just above max
    assert column.bin_counts[0] == column.bin_counts[-1] == 0
    np.testing.assert_allclose(column.bin_counts[1:-1], 10_000, atol=1)
    assert column.bin_counts.sum() == column.count == 100_000


def test_large_columns_get_a_quantile_grid_with_a_bounded_ks_error(
    profile: ReferenceProfile,
) -> None:
    grid = numeric(profile, "f01").grid
    assert not grid.exact
    assert grid.points.size == 4097
    assert 0 < grid.error_bound <= 1 / 4096 + 1e-9
    assert grid.upto[-1] == grid.size == 100_000


def test_exact_grids_keep_every_distinct_value() -> None:
    values = np.repeat(np.arange(50.0), 3)
    grid = EcdfGrid.of_sorted(values, None)
    assert grid.exact
    np.testing.assert_array_equal(grid.points, np.arange(50.0))
    np.testing.assert_array_equal(grid.upto - grid.below, 3)


def test_columns_with_few_distinct_values_stay_exact_at_any_resolution() -> None:
    profile = build_profile({"x": np.arange(100_000) % 7}, ks_resolution=16)
    assert numeric(profile, "x").grid.exact


def test_a_constant_column_gets_below_at_and_above_bins() -> None:
    column = numeric(build_profile({"c": np.full(1_000, 3.0)}), "c")
    assert column.edges.tolist() == [3.0, np.nextafter(3.0, 4.0)]
    assert column.bin_counts.tolist() == [0, 1_000, 0]


def test_missing_numbers_are_counted_and_left_out() -> None:
    values = np.array([1.0, np.nan, 2.0, np.inf, -np.inf, 3.0])
    column = numeric(build_profile({"x": values}), "x")
    assert (column.count, column.missing) == (3, 3)
    assert column.grid.points.tolist() == [1.0, 2.0, 3.0]


def test_categories_are_counted_most_frequent_first_with_missing_left_out() -> None:
    values = np.array(["b", "a", None, "b", "c", "b", float("nan"), "a"], dtype=object)
    column = categorical(build_profile({"x": values}), "x")
    assert column.categories == ("b", "a", "c")
    assert column.counts.tolist() == [3, 2, 1, 0]
    assert (column.count, column.missing) == (6, 2)


def test_rare_categories_beyond_the_limit_fold_into_other() -> None:
    values = np.array(["a"] * 5 + ["b"] * 3 + ["c", "d"])
    column = categorical(build_profile({"x": values}, max_categories=2), "x")
    assert column.categories == ("a", "b")
    assert column.counts.tolist() == [5, 3, 2]


def test_kinds_follow_dtypes_unless_given() -> None:
    table = {
        "n": np.arange(10),
        "s": np.array(list("ababababab")),
        "b": np.arange(10) % 2 == 0,
    }
    profile = build_profile(table, kinds={"n": "categorical"})
    assert profile.kinds == ("categorical", "categorical", "categorical")
    assert build_profile(table).kinds == ("numeric", "categorical", "categorical")


def test_predictions_are_profiled_as_their_own_role() -> None:
    profile = build_profile(
        {"x": np.arange(10.0)},
        predictions={"label": np.arange(10) % 3},
        kinds={"label": "categorical"},
    )
    assert profile.names == ("x", "label")
    assert profile.roles == ("feature", "prediction")
    assert profile.names_of("prediction") == ("label",)


@pytest.mark.parametrize(
    ("features", "kwargs", "message"),
    [
        ({}, {}, "at least one column"),
        ({"x": np.zeros(0)}, {}, "at least one column"),
        ({"x": np.zeros((3, 2))}, {}, "1-D"),
        ({"x": np.zeros(3), "y": np.zeros(4)}, {}, "differ in length"),
        (
            {"x": np.zeros(3)},
            {"predictions": {"x": np.zeros(3)}},
            "feature and an output",
        ),
        ({"x": np.zeros(3)}, {"predictions": {"p": np.zeros(2)}}, "one row per"),
        ({"x": np.zeros(3)}, {"kinds": {"y": "numeric"}}, "not in the table"),
        ({"x": np.zeros(3)}, {"kinds": {"x": "ordinal"}}, "'numeric' or 'categorical'"),
        ({"x": np.array(["a"])}, {"kinds": {"x": "numeric"}}, "not numbers"),
        ({"x": np.array([1 + 2j])}, {}, "pass its kind"),
        ({"x": np.zeros(3)}, {"bins": 1}, "bins >= 2"),
    ],
)
def test_malformed_references_are_refused(
    features: Table, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidColumns, match=message) as caught:
        build_profile(features, **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.status == 422


def mixed_profile(reference: Table, resolution: int | None) -> ReferenceProfile:
    features = {
        **{k: reference[k] for k in ("f00", "f01", "f02")},
        **categorical_table(5),
    }
    features["f00"] = features["f00"].copy()
    features["f00"][::1000] = np.nan
    rng = np.random.default_rng(6)
    predictions = {"label": rng.integers(0, 3, 100_000), "proba": rng.random(100_000)}
    return build_profile(
        features,
        predictions=predictions,
        kinds={"label": "categorical"},
        ks_resolution=resolution,
    )


def assert_same(a: ReferenceProfile, b: ReferenceProfile) -> None:
    assert (a.names, a.roles, a.kinds, a.rows, a.bins, a.ks_resolution, a.version) == (
        b.names,
        b.roles,
        b.kinds,
        b.rows,
        b.bins,
        b.ks_resolution,
        b.version,
    )
    for x, y in zip(a.columns, b.columns, strict=True):
        assert (x.count, x.missing) == (y.count, y.missing)
        if isinstance(x, NumericProfile):
            assert isinstance(y, NumericProfile)
            np.testing.assert_array_equal(x.edges, y.edges)
            np.testing.assert_array_equal(x.bin_counts, y.bin_counts)
            np.testing.assert_array_equal(x.grid.points, y.grid.points)
            np.testing.assert_array_equal(x.grid.below, y.grid.below)
            np.testing.assert_array_equal(x.grid.upto, y.grid.upto)
            assert x.grid.error_bound == y.grid.error_bound
        else:
            assert isinstance(y, CategoricalProfile)
            assert x.categories == y.categories
            np.testing.assert_array_equal(x.counts, y.counts)


@pytest.mark.parametrize("resolution", [4096, None])
def test_profiles_round_trip_through_json(
    reference: Table, resolution: int | None
) -> None:
    profile = mixed_profile(reference, resolution)
    text = json.dumps(profile.to_dict(), allow_nan=False)
    assert_same(ReferenceProfile.from_dict(json.loads(text)), profile)


@pytest.mark.parametrize("resolution", [4096, None])
def test_profiles_round_trip_through_bytes(
    reference: Table, resolution: int | None
) -> None:
    profile = mixed_profile(reference, resolution)
    blob = profile.to_bytes()
    assert_same(ReferenceProfile.from_bytes(blob), profile)
    if resolution is not None:
        assert len(blob) < 400_000


def test_serialized_profiles_carry_their_version(profile: ReferenceProfile) -> None:
    data = profile.to_dict()
    assert data["version"] == 1
    with pytest.raises(InvalidProfile, match="version 1"):
        ReferenceProfile.from_dict({**data, "version": 2})


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.pop("rows"),
        lambda d: d["columns"][0].pop("grid"),
        lambda d: d["columns"][0].update(kind="ordinal"),
        lambda d: d["columns"][0].update(role="label"),
        lambda d: d["columns"][0].update(bin_counts=[1, 2]),
        lambda d: d["columns"][0].update(
            edges=list(reversed(d["columns"][0]["edges"]))
        ),
        lambda d: d["columns"][0].update(count=7),
        lambda d: d["columns"].append(d["columns"][0]),
    ],
)
def test_malformed_profiles_are_refused(tamper: object) -> None:
    data = build_profile({"x": np.arange(100.0)}).to_dict()
    tamper(data)  # type: ignore[operator]
    with pytest.raises(InvalidProfile):
        ReferenceProfile.from_dict(data)


def test_malformed_categorical_profiles_are_refused() -> None:
    data = build_profile({"c": np.array(list("aab"))}).to_dict()
    data["columns"][0]["counts"] = [2, 1]
    with pytest.raises(InvalidProfile, match="one count per category"):
        ReferenceProfile.from_dict(data)


def test_blobs_that_are_not_profiles_are_refused() -> None:
    with pytest.raises(InvalidProfile):
        ReferenceProfile.from_bytes(b"not an npz")


def test_unknown_columns_raise_key_error(profile: ReferenceProfile) -> None:
    with pytest.raises(KeyError):
        profile.column("nope")


def test_quantile_grid_counts_are_exact_at_its_points(reference: Table) -> None:
    column = numeric(build_profile({"x": reference["f04"]}, ks_resolution=100), "x")
    values = np.sort(reference["f04"])
    np.testing.assert_array_equal(
        column.grid.below, np.searchsorted(values, column.grid.points, "left")
    )
    np.testing.assert_array_equal(
        column.grid.upto, np.searchsorted(values, column.grid.points, "right")
    )
    assert column.grid.error_bound <= 1 / 100 + 1e-9
    # The true statistic lies within the bound of the grid's.
    current = np.random.default_rng(9).lognormal(0.05, 0.5, 5_000)
    profile = build_profile({"x": reference["f04"]}, ks_resolution=100)
    grid_d = (
        compare(profile, profile_window(profile, {"x": current}))
        .features[0]
        .stats["ks_statistic"]
    )
    true_d = scipy_stats.ks_2samp(reference["f04"], current).statistic
    assert grid_d <= true_d <= grid_d + column.grid.error_bound


def test_extreme_values_keep_finite_edges() -> None:
    big = np.finfo(np.float64).max
    column = numeric(build_profile({"x": np.array([0.0, 1.0, big])}), "x")
    assert np.isfinite(column.edges).all()
    assert column.edges[-1] < big  # no float lies above the maximum: no top edge
    assert column.bin_counts.sum() == 3
    assert json.dumps(
        build_profile({"x": np.array([0.0, big])}).to_dict(), allow_nan=False
    )


def test_odd_category_values_become_json_scalars() -> None:
    values = np.array([b"raw", "raw", (1, 2), 3, 3.0, True], dtype=object)
    column = categorical(build_profile({"x": values}), "x")
    assert sorted(map(str, column.categories)) == ["(1, 2)", "3", "True", "raw"]
    assert json.dumps(
        ReferenceProfile.from_dict(build_profile({"x": values}).to_dict()).to_dict()
    )
