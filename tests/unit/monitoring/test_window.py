"""Windows: counted chunk by chunk, they equal the same rows counted at once."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantom.monitoring.domain import (
    ReferenceProfile,
    WindowAccumulator,
    WindowProfile,
    build_profile,
    compare,
    profile_window,
)
from phantom.monitoring.domain.errors import InvalidColumns, SchemaMismatch
from phantom.monitoring.domain.reference import NumericProfile

from .tables import Table, categorical_table, numeric_table


@pytest.fixture(scope="module")
def mixed() -> ReferenceProfile:
    features = {**numeric_table(1, 5_000), **categorical_table(1, 5_000)}
    predictions = {"label": np.random.default_rng(1).integers(0, 3, 5_000)}
    return build_profile(
        features,
        predictions=predictions,
        kinds={"label": "categorical"},
        ks_resolution=512,
    )


def current(rows: int, seed: int = 7) -> tuple[Table, Table]:
    features = {
        **numeric_table(seed, rows, shifted=True),
        **categorical_table(seed, rows, shifted=True),
    }
    features["f05"] = features["f05"].copy()
    features["f05"][::7] = np.nan
    features["color"] = features["color"].astype(object)
    features["color"][::11] = "purple"  # never seen in the reference
    features["color"][::13] = None
    predictions = {"label": np.random.default_rng(seed).integers(0, 4, rows)}
    return features, predictions


def assert_same_window(a: WindowProfile, b: WindowProfile) -> None:
    assert a.rows == b.rows
    for x, y in zip(
        (
            a.below,
            a.upto,
            a.bins,
            a.numeric_missing,
            a.categories,
            a.categorical_missing,
        ),
        (
            b.below,
            b.upto,
            b.bins,
            b.numeric_missing,
            b.categories,
            b.categorical_missing,
        ),
        strict=True,
    ):
        np.testing.assert_array_equal(x, y)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 600), min_size=1, max_size=6))
def test_chunked_windows_equal_one_batch(
    mixed: ReferenceProfile, cuts: list[int]
) -> None:
    features, predictions = current(600)
    accumulator = WindowAccumulator(mixed)
    bounds = [0, *sorted(cuts), 600]
    for start, stop in itertools.pairwise(bounds):
        accumulator.add(
            {k: v[start:stop] for k, v in features.items()},
            {k: v[start:stop] for k, v in predictions.items()},
        )
    batch = profile_window(mixed, features, predictions)
    assert_same_window(accumulator.snapshot(), batch)
    assert (
        compare(mixed, accumulator.snapshot()).to_dict()
        == compare(mixed, batch).to_dict()
    )


def test_merged_windows_equal_one_batch(mixed: ReferenceProfile) -> None:
    features, predictions = current(3_000)
    first = profile_window(
        mixed,
        {k: v[:1_000] for k, v in features.items()},
        {k: v[:1_000] for k, v in predictions.items()},
    )
    second = profile_window(
        mixed,
        {k: v[1_000:] for k, v in features.items()},
        {k: v[1_000:] for k, v in predictions.items()},
    )
    assert_same_window(
        first.merge(second), profile_window(mixed, features, predictions)
    )


def test_windows_count_missing_and_unseen_values(mixed: ReferenceProfile) -> None:
    features, predictions = current(1_001)
    window = profile_window(mixed, features, predictions)
    numeric_row = mixed.layout.numeric.positions.index(mixed.names.index("f05"))
    assert window.numeric_missing[numeric_row] == 143  # every 7th of 1,001
    color_row = mixed.layout.categorical.positions.index(mixed.names.index("color"))
    other = mixed.layout.categorical.other
    unseen = sum(1 for i in range(1_001) if i % 11 == 0 and i % 13 != 0)
    assert window.categories[color_row, other] == unseen
    assert window.categorical_missing[color_row] == len(range(0, 1_001, 13))
    label_row = mixed.layout.categorical.positions.index(mixed.names.index("label"))
    assert window.categories[label_row, other] == np.count_nonzero(
        predictions["label"] == 3
    )


def test_snapshots_do_not_change_as_the_window_grows(mixed: ReferenceProfile) -> None:
    features, predictions = current(100)
    accumulator = WindowAccumulator(mixed)
    accumulator.add(features, predictions)
    before = accumulator.snapshot()
    accumulator.add(features, predictions)
    assert (before.rows, accumulator.rows) == (100, 200)
    assert before.bins.sum() < accumulator.snapshot().bins.sum()


def test_windows_without_predictions_leave_the_outputs_empty(
    mixed: ReferenceProfile,
) -> None:
    features, _ = current(50)
    report = compare(mixed, profile_window(mixed, features))
    assert report.predictions[0].insufficient_data
    assert not report.insufficient_data


def test_chunks_lacking_profile_columns_are_refused_and_leave_the_window_as_it_was(
    mixed: ReferenceProfile,
) -> None:
    features, predictions = current(10)
    accumulator = WindowAccumulator(mixed)
    with pytest.raises(SchemaMismatch, match="f03"):
        accumulator.add({k: v for k, v in features.items() if k != "f03"})
    with pytest.raises(SchemaMismatch, match="label"):
        accumulator.add(features, {})
    with pytest.raises(SchemaMismatch, match="one row per window row"):
        accumulator.add(features, {"label": predictions["label"][:5]})
    with pytest.raises(InvalidColumns, match="not numbers"):
        accumulator.add({**features, "f00": np.array(["x"] * 10)})
    assert accumulator.rows == 0
    assert accumulator.snapshot().bins.sum() == 0


def test_extra_columns_are_ignored(mixed: ReferenceProfile) -> None:
    features, predictions = current(10)
    window = profile_window(mixed, {**features, "extra": np.zeros(10)}, predictions)
    assert_same_window(window, profile_window(mixed, features, predictions))


def test_windows_of_different_profiles_do_not_mix(mixed: ReferenceProfile) -> None:
    other = build_profile({"x": np.arange(10.0)})
    window = profile_window(other, {"x": np.arange(3.0)})
    with pytest.raises(SchemaMismatch):
        window.merge(WindowProfile.empty(mixed))
    with pytest.raises(SchemaMismatch):
        compare(mixed, window)


def test_small_chunks_on_large_grids_count_the_same_as_sorted_ones() -> None:
    rng = np.random.default_rng(3)
    reference = np.round(rng.normal(size=20_000), 2)
    profile = build_profile({"x": reference}, ks_resolution=None)
    values = np.r_[
        reference[:3], rng.normal(size=5), reference.max() + 1, reference.min() - 1
    ]
    one_by_one = WindowAccumulator(profile)
    for value in values:
        one_by_one.add({"x": np.array([value])})
    assert_same_window(one_by_one.snapshot(), profile_window(profile, {"x": values}))


def test_windows_round_trip_through_json_and_merge_later(
    mixed: ReferenceProfile,
) -> None:
    features, predictions = current(300)
    window = profile_window(mixed, features, predictions)
    stored = json.loads(json.dumps(window.to_dict()))
    restored = WindowProfile.from_dict(mixed, stored)
    assert_same_window(restored, window)
    assert restored.merge(window).rows == 600
    with pytest.raises(SchemaMismatch, match="do not fit"):
        WindowProfile.from_dict(build_profile({"x": np.arange(3.0)}), stored)
    with pytest.raises(SchemaMismatch, match="malformed"):
        WindowProfile.from_dict(mixed, {"rows": 1})


def test_reference_profiles_are_read_only(mixed: ReferenceProfile) -> None:
    column = mixed.columns[0]
    assert isinstance(column, NumericProfile)
    with pytest.raises(ValueError, match="read-only"):
        column.bin_counts[0] = 1
