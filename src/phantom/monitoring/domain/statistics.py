"""Drift statistics, vectorised: one call scores every feature of a report.

Binned statistics take *counts* with the bins (or categories) along the last
axis and features along any leading axes. A bin that is empty in both
distributions contributes nothing to any of them, so features with different
numbers of bins share one zero-padded array.

* :func:`psi`: population stability index, ``sum((q - p) ln(q / p))`` over
  proportions, each clipped from below at ``epsilon`` (1e-4) so that an empty
  bin on one side gives a large, finite term instead of infinity. Without
  empty bins it is the textbook PSI; it is symmetric in ``p`` and ``q``.
* :func:`js_distance`: Jensen-Shannon *distance* (the square root of the
  divergence) in base 2, so it lies in ``[0, 1]``; equal to
  ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.

An empty distribution (all counts zero) gives NaN.
* :func:`chi2_homogeneity`: Pearson's chi-squared test that the reference and
  the current counts come from one distribution, on the ``2 x C`` contingency
  table; equal to ``scipy.stats.chi2_contingency([ref, cur], correction=False)``
  once categories empty on both sides are dropped (SciPy refuses those). No
  Yates correction, even with two categories.
* :func:`ks_2samp`: the two-sample Kolmogorov-Smirnov statistic, exactly
  SciPy's, with the asymptotic p-value of ``ks_2samp(method="asymp")``
  (see :mod:`.distributions` for how closely).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from phantom.monitoring.domain.distributions import chi2_sf, kolmogorov_sf
from phantom.monitoring.domain.ecdf import EcdfGrid, ecdf_counts, ks_distance

__all__ = [
    "PSI_EPSILON",
    "ChiSquared",
    "KolmogorovSmirnov",
    "chi2_homogeneity",
    "js_distance",
    "ks_2samp",
    "ks_pvalue",
    "proportions",
    "psi",
]

PSI_EPSILON: Final = 1e-4
"""The floor on bin proportions in :func:`psi`."""

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class ChiSquared:
    """Pearson's chi-squared test of homogeneity, one value per feature.

    Attributes:
        statistic: the chi-squared statistic.
        pvalue: ``P(chi2(dof) >= statistic)``.
        dof: degrees of freedom: categories seen on either side, minus one.
    """

    statistic: Floats
    pvalue: Floats
    dof: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class KolmogorovSmirnov:
    """A two-sample KS test.

    Attributes:
        statistic: the largest gap between the two empirical CDFs.
        pvalue: its asymptotic two-sided p-value.
    """

    statistic: float
    pvalue: float


def proportions(counts: npt.ArrayLike) -> Floats:
    """Counts divided by their total along the last axis (NaN where it is 0)."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(c / total, dtype=np.float64)


def psi(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, epsilon: float = PSI_EPSILON
) -> Floats:
    """Population stability index of binned counts (see the module docstring)."""
    p = np.maximum(proportions(reference), epsilon)
    q = np.maximum(proportions(current), epsilon)
    return np.asarray(np.sum((q - p) * np.log(q / p), axis=-1), dtype=np.float64)


def js_distance(reference: npt.ArrayLike, current: npt.ArrayLike) -> Floats:
    """Jensen-Shannon distance in base 2 of binned counts, in ``[0, 1]``."""
    p = proportions(reference)
    q = proportions(current)
    m = (p + q) / 2
    safe_m = np.where(m > 0, m, 1.0)
    left = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / safe_m), 0.0)
    right = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0) / safe_m), 0.0)
    divergence = np.sum(left + right, axis=-1) / 2 / np.log(2.0)
    distance = np.sqrt(np.maximum(divergence, 0.0))
    empty = np.isnan(p).any(axis=-1) | np.isnan(q).any(axis=-1)
    return np.asarray(np.where(empty, np.nan, distance), dtype=np.float64)


def chi2_homogeneity(reference: npt.ArrayLike, current: npt.ArrayLike) -> ChiSquared:
    """Chi-squared test that two count vectors share one distribution.

    Categories empty on both sides are left out; with a single category left,
    the statistic is 0 and the p-value 1.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    n = ref.sum(axis=-1, keepdims=True)
    m = cur.sum(axis=-1, keepdims=True)
    column = ref + cur
    total = n + m
    with np.errstate(invalid="ignore", divide="ignore"):
        e_ref = n * column / total
        e_cur = m * column / total
        terms = (ref - e_ref) ** 2 / e_ref + (cur - e_cur) ** 2 / e_cur
    statistic = np.sum(np.where(column > 0, terms, 0.0), axis=-1)
    dof = np.maximum(np.count_nonzero(column, axis=-1) - 1, 0).astype(np.int64)
    statistic = np.where(dof > 0, statistic, 0.0)
    return ChiSquared(statistic, chi2_sf(statistic, dof), dof)


def ks_pvalue(
    statistic: npt.ArrayLike, reference_size: npt.ArrayLike, current_size: npt.ArrayLike
) -> Floats:
    """Asymptotic two-sided KS p-value, as ``ks_2samp(method="asymp")`` computes it.

    That is ``kstwo.sf(d, round(n * m / (n + m)))``; a zero size gives NaN.
    """
    n = np.asarray(reference_size, dtype=np.float64)
    m = np.asarray(current_size, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = np.round(n * m / (n + m))
    ok = effective >= 1
    p = kolmogorov_sf(statistic, np.where(ok, effective, 1.0))
    return np.where(ok, p, np.nan)


def ks_2samp(reference: npt.ArrayLike, current: npt.ArrayLike) -> KolmogorovSmirnov:
    """Two-sample KS test on raw samples (non-finite values are dropped).

    Raises:
        ValueError: either sample has no finite value.
    """
    a = np.asarray(reference, dtype=np.float64).ravel()
    b = np.asarray(current, dtype=np.float64).ravel()
    a = np.sort(a[np.isfinite(a)])
    b = np.sort(b[np.isfinite(b)])
    if a.size == 0 or b.size == 0:
        msg = "both samples need at least one finite value"
        raise ValueError(msg)
    grid = EcdfGrid.of_sorted(a, None)
    below, upto = ecdf_counts(grid.points, b, presorted=True)
    d = ks_distance(grid.below, grid.upto, a.size, below, upto, b.size)
    return KolmogorovSmirnov(float(d), float(ks_pvalue(d, a.size, b.size)))
