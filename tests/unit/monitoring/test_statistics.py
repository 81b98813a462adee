"""Drift statistics equal SciPy's on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats  # type: ignore[import-untyped]
from scipy.spatial.distance import jensenshannon  # type: ignore[import-untyped]

from phantom.monitoring.domain.distributions import chi2_sf, kolmogorov_sf
from phantom.monitoring.domain.statistics import (
    PSI_EPSILON,
    chi2_homogeneity,
    js_distance,
    ks_2samp,
    ks_pvalue,
    proportions,
    psi,
)

samples = st.lists(
    st.integers(-20, 20) | st.floats(-1e6, 1e6, allow_nan=False, width=32),
    min_size=1,
    max_size=300,
)
counts = st.lists(st.integers(0, 500), min_size=2, max_size=12)


@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_ks_statistic_equals_scipy_exactly_with_ties(
    a: list[float], b: list[float]
) -> None:
    ours = ks_2samp(a, b)
    if len(a) == len(b) == 1:  # n*m/(n+m) rounds to 0: SciPy divides by zero
        assert ours.statistic == float(a[0] != b[0])
        assert np.isnan(ours.pvalue)
        return
    theirs = scipy_stats.ks_2samp(a, b, method="asymp")
    assert ours.statistic == theirs.statistic
    assert ours.pvalue == pytest.approx(theirs.pvalue, abs=5e-6)


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [(100_000, 100_000, 0.01), (50_000, 2_000, 0.05), (300, 40, 0.3)],
)
def test_ks_matches_scipy_on_large_continuous_samples(
    n: int, m: int, shift: float
) -> None:
    rng = np.random.default_rng(n + m)
    a, b = rng.normal(size=n), rng.normal(shift, 1.0, size=m)
    ours = ks_2samp(a, b)
    theirs = scipy_stats.ks_2samp(a, b, method="asymp")
    assert abs(ours.statistic - theirs.statistic) <= 1e-9
    assert ours.pvalue == pytest.approx(theirs.pvalue, abs=5e-6)


def test_ks_2samp_drops_non_finite_values_and_refuses_empty_samples() -> None:
    ours = ks_2samp([1.0, np.nan, 2.0, np.inf], [1.5, 2.5])
    assert ours.statistic == scipy_stats.ks_2samp([1.0, 2.0], [1.5, 2.5]).statistic
    with pytest.raises(ValueError, match="finite"):
        ks_2samp([np.nan], [1.0])


@pytest.mark.parametrize("n", [1, 2, 10, 140, 141, 500, 3_000, 50_000])
def test_kolmogorov_sf_follows_scipy_kstwo(n: int) -> None:
    d = np.linspace(0.0, min(1.0, 4 / np.sqrt(n)), 12 if n > 10_000 else 120)
    expected = scipy_stats.kstwo.sf(d, n)
    assert np.max(np.abs(kolmogorov_sf(d, n) - expected)) < 5e-6


def test_kolmogorov_sf_edges() -> None:
    assert kolmogorov_sf([0.0, 1.0, 0.9], [500, 500, 500]).tolist() == [1.0, 0.0, 0.0]


def test_ks_pvalue_uses_the_effective_sample_size_and_gives_nan_when_empty() -> None:
    d = 0.03
    expected = scipy_stats.kstwo.sf(d, np.round(1000 * 3000 / 4000))
    assert ks_pvalue(d, 1000, 3000) == pytest.approx(expected, abs=1e-6)
    assert np.isnan(ks_pvalue(d, 1000, 0))


@settings(max_examples=200, deadline=None)
@given(
    counts.flatmap(
        lambda c: st.tuples(
            st.just(c), st.lists(st.integers(0, 500), min_size=len(c), max_size=len(c))
        )
    )
)
def test_js_distance_equals_scipy_base_2(pair: tuple[list[int], list[int]]) -> None:
    p, q = pair
    if sum(p) == 0 or sum(q) == 0:
        assert np.isnan(js_distance(p, q))
        return
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-9)


def test_js_distance_is_vectorised_over_features_and_bounded() -> None:
    rng = np.random.default_rng(0)
    p, q = rng.integers(0, 50, (7, 12)), rng.integers(0, 50, (7, 12))
    expected = jensenshannon(p, q, base=2, axis=1)
    np.testing.assert_allclose(js_distance(p, q), expected, atol=1e-12)
    assert js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert js_distance([3, 1], [6, 2]) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    counts.flatmap(
        lambda c: st.tuples(
            st.just(c), st.lists(st.integers(0, 500), min_size=len(c), max_size=len(c))
        )
    )
)
def test_chi2_equals_scipy_contingency_without_correction(
    pair: tuple[list[int], list[int]],
) -> None:
    p, q = np.asarray(pair[0]), np.asarray(pair[1])
    ours = chi2_homogeneity(p, q)
    keep = (p + q) > 0
    if p.sum() == 0 or q.sum() == 0 or keep.sum() < 2:
        assert ours.pvalue == 1.0 or np.isnan(ours.statistic)
        return
    theirs = scipy_stats.chi2_contingency([p[keep], q[keep]], correction=False)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9, abs=1e-9)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)
    assert ours.dof == theirs.dof


def test_chi2_with_one_category_has_nothing_to_test() -> None:
    result = chi2_homogeneity([[10, 0]], [[3, 0]])
    assert result.statistic.tolist() == [0.0]
    assert result.pvalue.tolist() == [1.0]
    assert result.dof.tolist() == [0]
    assert chi2_sf([1.0], [0]).tolist() == [1.0]


def test_psi_smooths_empty_bins_and_is_symmetric() -> None:
    p, q = [50, 50, 0], [40, 40, 20]
    pp = np.maximum(np.asarray(p) / 100, PSI_EPSILON)
    qq = np.asarray(q) / 100
    assert psi(p, q) == pytest.approx(np.sum((qq - pp) * np.log(qq / pp)))
    assert psi(p, q) == pytest.approx(psi(q, p))
    assert np.isfinite(psi(p, q))
    assert psi([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0)


def test_zero_padded_bins_change_no_statistic() -> None:
    p, q = np.array([10, 20, 30]), np.array([15, 15, 30])
    padded_p, padded_q = np.r_[p, 0, 0], np.r_[q, 0, 0]
    assert psi(p, q) == psi(padded_p, padded_q)
    assert js_distance(p, q) == js_distance(padded_p, padded_q)
    assert chi2_homogeneity(p, q).pvalue == chi2_homogeneity(padded_p, padded_q).pvalue


def test_proportions_of_nothing_are_nan() -> None:
    assert np.isnan(proportions([0, 0])).all()
