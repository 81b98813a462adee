"""Drift reports flag the columns that moved, and only those."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats as scipy_stats  # type: ignore[import-untyped]
from scipy.spatial.distance import jensenshannon  # type: ignore[import-untyped]

from phantom.monitoring.domain import (
    DriftPolicy,
    DriftReport,
    DriftRule,
    ReferenceProfile,
    WindowProfile,
    build_profile,
    compare,
    drift_report,
    profile_window,
)
from phantom.monitoring.domain.errors import InvalidPolicy
from phantom.monitoring.domain.reference import NumericProfile

from .tables import SHIFTED, Table, categorical_table, numeric_table


def test_the_three_shifted_features_and_only_they_are_flagged(
    profile: ReferenceProfile, drifted: Table
) -> None:
    report = compare(profile, profile_window(profile, drifted))
    assert report.drifted_features() == SHIFTED
    assert {c.statistic for c in report.features} == {"js"}
    assert report.drift_share == pytest.approx(3 / 20)
    assert not report.dataset_drifted
    assert not report.insufficient_data
    assert (report.reference_rows, report.current_rows) == (100_000, 100_000)


def test_a_fresh_sample_of_the_same_distributions_flags_nothing(
    profile: ReferenceProfile, fresh: Table
) -> None:
    report = compare(profile, profile_window(profile, fresh))
    assert report.drifted_features() == ()
    assert max(c.value for c in report.features) < 0.05
    assert report.drift_share == 0.0


@pytest.mark.parametrize("resolution", [4096, None])
def test_raw_tables_give_the_same_verdicts(
    reference: Table, drifted: Table, fresh: Table, resolution: int | None
) -> None:
    assert (
        drift_report(reference, drifted, ks_resolution=resolution).drifted_features()
        == SHIFTED
    )
    assert (
        drift_report(reference, fresh, ks_resolution=resolution).drifted_features()
        == ()
    )


def test_report_statistics_equal_scipy_on_the_same_data(reference: Table) -> None:
    names = ("f00", "f01", "f02", "f03")
    ref = {k: reference[k] for k in names}
    cur = {
        k: v for k, v in numeric_table(4, 20_000, shifted=True).items() if k in names
    }
    profile = build_profile(ref, ks_resolution=None)
    report = compare(profile, profile_window(profile, cur))
    for column in report.features:
        a, b = ref[column.name], cur[column.name]
        ks = scipy_stats.ks_2samp(a, b, method="asymp")
        assert abs(column.stats["ks_statistic"] - ks.statistic) <= 1e-9
        assert column.stats["ks_pvalue"] == pytest.approx(ks.pvalue, abs=1e-6)
        assert column.stats["ks_error_bound"] == 0.0
        numeric = profile.column(column.name)
        assert isinstance(numeric, NumericProfile)
        p = np.bincount(
            np.searchsorted(numeric.edges, a, side="right"),
            minlength=numeric.edges.size + 1,
        )
        q = np.bincount(
            np.searchsorted(numeric.edges, b, side="right"),
            minlength=numeric.edges.size + 1,
        )
        assert column.stats["js"] == pytest.approx(
            jensenshannon(p, q, base=2), abs=1e-9
        )
        pp, qq = np.maximum(p / p.sum(), 1e-4), np.maximum(q / q.sum(), 1e-4)
        assert column.stats["psi"] == pytest.approx(
            np.sum((qq - pp) * np.log(qq / pp)), abs=1e-9
        )
        assert column.stats["out_of_range_share"] == (q[0] + q[-1]) / q.sum()


def test_categorical_statistics_equal_scipy() -> None:
    ref, cur = categorical_table(1, 5_000), categorical_table(2, 800, shifted=True)
    cur["color"] = cur["color"].astype(object)
    cur["color"][:40] = "purple"
    report = drift_report(ref, cur)
    color = report.column("color")
    assert color.statistic == "chi2"
    assert color.drifted
    ref_counts = [
        np.count_nonzero(ref["color"] == c) for c in ("red", "green", "blue", "black")
    ] + [0]
    cur_counts = [
        np.count_nonzero(cur["color"] == c) for c in ("red", "green", "blue", "black")
    ] + [40]
    chi2 = scipy_stats.chi2_contingency([ref_counts, cur_counts], correction=False)
    assert color.stats["chi2_statistic"] == pytest.approx(chi2.statistic, rel=1e-9)
    assert color.stats["chi2_pvalue"] == pytest.approx(
        chi2.pvalue, rel=1e-9, abs=1e-300
    )
    assert color.stats["chi2_dof"] == chi2.dof == 4
    assert color.stats["js"] == pytest.approx(
        jensenshannon(ref_counts, cur_counts, base=2), abs=1e-9
    )
    assert color.stats["other_share"] == pytest.approx(40 / 800)
    assert not report.column("flag").drifted


def test_large_categorical_samples_are_decided_by_jensen_shannon() -> None:
    report = drift_report(categorical_table(1), categorical_table(2, shifted=True))
    assert report.column("color").statistic == "js"
    assert report.drifted_features() == ("color",)


def test_small_windows_are_decided_by_the_ks_test(profile: ReferenceProfile) -> None:
    window = profile_window(profile, numeric_table(8, 500, shifted=True))
    report = compare(profile, window)
    assert {c.statistic for c in report.features} == {"ks"}
    assert set(SHIFTED) <= set(report.drifted_features())
    assert not report.dataset_drifted
    for column in report.features:
        assert column.value == column.stats["ks_pvalue"]
        assert column.drifted == (column.value < 0.05)


def test_an_empty_window_has_insufficient_data_not_a_crash(
    profile: ReferenceProfile,
) -> None:
    report = compare(profile, WindowProfile.empty(profile))
    assert report.insufficient_data
    assert not report.dataset_drifted
    assert report.drifted_features() == ()
    assert all(
        c.insufficient_data and not c.drifted and c.stats == {} for c in report.features
    )
    assert (
        json.loads(json.dumps(report.to_dict(), allow_nan=False))["features"][0][
            "value"
        ]
        is None
    )
    zero_rows = profile_window(profile, {k: np.zeros(0) for k in profile.names})
    assert compare(profile, zero_rows).insufficient_data


def test_single_row_windows_are_scored(
    profile: ReferenceProfile, reference: Table
) -> None:
    typical = {k: np.array([np.median(v)]) for k, v in reference.items()}
    report = compare(profile, profile_window(profile, typical))
    assert report.drifted_features() == ()
    assert all(c.current_size == 1 and c.statistic == "ks" for c in report.features)
    outlier = {k: np.array([v.max() + 10]) for k, v in reference.items()}
    report = compare(profile, profile_window(profile, outlier))
    assert len(report.drifted_features()) == 20
    assert report.features[0].stats["out_of_range_share"] == 1.0


def test_constant_features_drift_only_when_the_constant_moves() -> None:
    profile = build_profile({"c": np.full(5_000, 2.0)})
    for rows in (10, 5_000):
        same = compare(profile, profile_window(profile, {"c": np.full(rows, 2.0)}))
        moved = compare(profile, profile_window(profile, {"c": np.full(rows, 2.5)}))
        assert same.drifted_features() == ()
        assert same.features[0].stats["ks_statistic"] == 0.0
        assert moved.drifted_features() == ("c",)
        assert moved.features[0].stats["js"] == 1.0


def test_missing_values_are_counted_and_dropped(
    profile: ReferenceProfile, fresh: Table
) -> None:
    window = {k: v[:20_000].copy() for k, v in fresh.items()}
    window["f00"][::4] = np.nan
    window["f01"][:] = np.nan
    report = compare(profile, profile_window(profile, window))
    f00, f01 = report.column("f00"), report.column("f01")
    assert (f00.current_size, f00.current_missing) == (15_000, 5_000)
    assert not f00.drifted
    assert f01.insufficient_data
    assert f01.current_missing == 20_000
    assert report.drift_share == 0.0
    assert not report.insufficient_data


def test_unseen_categories_land_in_other_and_drift() -> None:
    ref = {"c": np.array(["a", "b"] * 500)}
    cur = {"c": np.array(["a", "b", "z", "z"] * 100)}
    report = drift_report(ref, cur)
    column = report.column("c")
    assert column.stats["other_share"] == 0.5
    assert column.drifted
    assert column.statistic == "chi2"


def test_prediction_drift_of_a_classifier_and_a_regressor() -> None:
    rng = np.random.default_rng(11)
    features = {"x": rng.normal(size=20_000)}
    reference_outputs = {
        "label": rng.choice(3, 20_000, p=[0.6, 0.3, 0.1]),
        "value": rng.normal(size=20_000),
    }
    profile = build_profile(
        features, predictions=reference_outputs, kinds={"label": "categorical"}
    )
    steady = {
        "label": rng.choice(3, 5_000, p=[0.6, 0.3, 0.1]),
        "value": rng.normal(size=5_000),
    }
    moved = {
        "label": rng.choice(3, 5_000, p=[0.2, 0.3, 0.5]),
        "value": rng.normal(1.0, 1.0, 5_000),
    }
    inputs = {"x": rng.normal(size=5_000)}
    quiet = compare(profile, profile_window(profile, inputs, steady))
    loud = compare(profile, profile_window(profile, inputs, moved))
    assert quiet.drifted_predictions() == ()
    assert loud.drifted_predictions() == ("label", "value")
    assert loud.drifted_features() == ()
    assert [c.kind for c in loud.predictions] == ["categorical", "numeric"]
    assert not loud.dataset_drifted  # the dataset verdict counts features only


def test_overrides_decide_their_column(profile: ReferenceProfile, fresh: Table) -> None:
    policy = DriftPolicy(
        overrides={"f00": DriftRule("psi", 1e-6), "f01": DriftRule("ks", 0.05)}
    )
    report = compare(profile, profile_window(profile, fresh), policy)
    assert report.column("f00").statistic == "psi"
    assert report.column("f00").drifted
    assert report.column("f01").statistic == "ks"
    with pytest.raises(
        InvalidPolicy, match="chi2 does not apply to numeric column 'f02'"
    ):
        compare(
            profile,
            profile_window(profile, fresh),
            DriftPolicy(overrides={"f02": DriftRule("chi2", 0.05)}),
        )


def test_the_dataset_drifts_at_the_policy_share(
    profile: ReferenceProfile, drifted: Table
) -> None:
    window = profile_window(profile, drifted)
    assert compare(profile, window, DriftPolicy(drift_share=0.15)).dataset_drifted
    assert not compare(profile, window, DriftPolicy(drift_share=0.16)).dataset_drifted
    shifted_everywhere = numeric_table(9, 2_000)
    for name in list(shifted_everywhere)[:12]:
        shifted_everywhere[name] = shifted_everywhere[name] + 1.0
    assert compare(profile, profile_window(profile, shifted_everywhere)).dataset_drifted


def test_reports_serialize_to_json(profile: ReferenceProfile, drifted: Table) -> None:
    report: DriftReport = compare(profile, profile_window(profile, drifted))
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["drifted_features"] == list(SHIFTED)
    f03 = data["features"][3]
    assert f03["name"] == "f03"
    assert f03["drifted"] is True
    assert set(f03["stats"]) == {
        "ks_statistic",
        "ks_pvalue",
        "ks_error_bound",
        "psi",
        "js",
        "out_of_range_share",
    }
    with pytest.raises(KeyError):
        report.column("nope")


def test_a_reference_column_without_values_has_insufficient_data() -> None:
    profile = build_profile({"x": np.full(100, np.nan), "y": np.arange(100.0)})
    report = compare(
        profile, profile_window(profile, {"x": np.arange(5.0), "y": np.arange(5.0)})
    )
    x = report.column("x")
    assert x.insufficient_data
    assert (x.reference_size, x.reference_missing, x.current_size) == (0, 100, 5)
    assert not report.column("y").insufficient_data
    alone = build_profile({"x": np.full(10, np.nan)})
    assert compare(alone, profile_window(alone, {"x": np.ones(3)})).insufficient_data
