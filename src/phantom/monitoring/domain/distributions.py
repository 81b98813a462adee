"""Tail probabilities of the test statistics: Kolmogorov's and chi-squared.

:func:`kolmogorov_sf` is ``P(D_n >= d)`` for the two-sided one-sample
Kolmogorov-Smirnov statistic, the distribution ``scipy.stats.kstwo`` evaluates
and ``scipy.stats.ks_2samp(method="asymp")`` uses for two samples (with
``n = round(n1 * n2 / (n1 + n2))``). SciPy computes it exactly (a Durbin matrix
power of order ``2nd``), which costs tens of milliseconds per value at
``n = 50_000``; a drift report needs twenty of them in a few milliseconds. So,
following Simard & L'Ecuyer (2011), the one SciPy relies on:

* ``n <= 140``: SciPy's exact ``kstwo`` (cheap at these sizes);
* otherwise: the Pelz-Good (1976) asymptotic series, four terms in ``1/sqrt(n)``.

Measured against ``kstwo.sf`` over ``d`` in ``[0, 4/sqrt(n)]``, the largest
absolute difference is 3.1e-6 at ``n = 141``, 1.3e-7 at ``n = 500`` and under
5e-8 from ``n = 3_000`` on (in the far tail, where both are below 1e-3).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = ["chi2_sf", "kolmogorov_sf"]

_EXACT_MAX_N: Final = 140
"""Up to this ``n`` the exact distribution is cheap (SciPy's own cut-over)."""
_PI2: Final = math.pi**2
_SQRT2PI: Final = math.sqrt(2 * math.pi)
_Z_MIN: Final = 0.0418
"""Below this ``z = sqrt(n) d`` the CDF underflows to 0 (SciPy's cut-off)."""
_NX2_ZERO: Final = 370.0
"""From this ``n d**2`` on the survival probability is 0 in float64."""

Floats = npt.NDArray[np.float64]


def chi2_sf(statistic: npt.ArrayLike, dof: npt.ArrayLike) -> Floats:
    """``P(X >= statistic)`` for ``X ~ chi2(dof)`` (SciPy's ``chi2.sf``).

    A ``dof`` of 0 (one category seen) gives 1.0: there is nothing to test.
    """
    stat = np.asarray(statistic, dtype=np.float64)
    k = np.asarray(dof, dtype=np.float64)
    safe = np.where(k > 0, k, 1.0)
    p = np.asarray(special.chdtrc(safe, stat), dtype=np.float64)
    return np.where(k > 0, p, 1.0)


def kolmogorov_sf(d: npt.ArrayLike, n: npt.ArrayLike) -> Floats:
    """``P(D_n >= d)``, two-sided one-sample Kolmogorov-Smirnov (see the module).

    Args:
        d: statistics in ``[0, 1]``.
        n: sample sizes (positive integers, as floats are fine), broadcast with ``d``.

    Returns:
        The survival probabilities, clipped to ``[0, 1]``.
    """
    x, size = np.broadcast_arrays(
        np.asarray(d, dtype=np.float64), np.asarray(n, dtype=np.float64)
    )
    out = np.ones(x.shape, dtype=np.float64)
    small = (size <= _EXACT_MAX_N) & (x > 0)
    if small.any():
        out[small] = _kstwo_sf(x[small], size[small])
    large = (size > _EXACT_MAX_N) & (x > 0)
    if large.any():
        out[large] = 1.0 - _pelz_good_cdf(x[large], size[large])
    out[(size > _EXACT_MAX_N) & (size * x * x >= _NX2_ZERO)] = 0.0
    out[x >= 1.0] = 0.0
    return np.clip(out, 0.0, 1.0)


def _kstwo_sf(x: Floats, n: Floats) -> Floats:
    # scipy.stats takes half a second to import: only small windows need it.
    from scipy.stats import distributions  # noqa: PLC0415

    return np.asarray(distributions.kstwo.sf(x, n), dtype=np.float64)


def _pelz_good_cdf(x: Floats, n: Floats) -> Floats:
    """``P(D_n <= x)`` by Pelz and Good's series, vectorised (SciPy's ``_ksstats``)."""
    z = np.sqrt(n) * x
    z = np.maximum(z, _Z_MIN)
    z2 = z * z
    z4 = z2 * z2
    z6 = z4 * z2
    kmax = math.ceil(16 * float(z.max()) / math.pi)
    k = np.arange(1, kmax + 1, dtype=np.float64)[:, None]
    odd2 = (2 * k - 1) ** 2
    q_odd = np.exp(-_PI2 / 8 / z2 * odd2)
    c1 = -z2 + _PI2 / 4 * odd2
    c2 = (
        (6 * z6 + 2 * z4)
        + (2 * z4 - 5 * z2) * _PI2 / 4 * odd2
        + _PI2**2 * (1 - 2 * z2) / 16 * odd2**2
    )
    c3 = (
        (-30 * z6 - 90 * z4 * z4)
        + _PI2 * (135 * z4 - 96 * z6) / 4 * odd2
        + _PI2**2 * (-60 * z2 + 212 * z4) / 16 * odd2**2
        + _PI2**3 * (5 - 30 * z2) / 64 * odd2**3
    )
    k2 = k * k
    q_all = np.exp(-_PI2 / 2 / z2 * k2)
    k0 = _SQRT2PI / z * q_odd.sum(axis=0)
    k1 = _SQRT2PI / (6 * z4) * (c1 * q_odd).sum(axis=0)
    k2_sum = _SQRT2PI / (72 * z6 * z) * (c2 * q_odd).sum(axis=0)
    k2_sum -= _PI2 * _SQRT2PI / (36 * z2 * z) * (k2 * q_all).sum(axis=0)
    k3 = _SQRT2PI / (6480 * z6 * z4) * (c3 * q_odd).sum(axis=0)
    k3 += _PI2 * _SQRT2PI / (216 * z6) * ((3 * z2 - _PI2 * k2) * k2 * q_all).sum(axis=0)
    root = np.sqrt(n)
    cdf = k0 + k1 / root + k2_sum / n + k3 / (n * root)
    return np.where(np.sqrt(n) * x < _Z_MIN, 0.0, cdf)
