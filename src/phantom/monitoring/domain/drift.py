"""Drift reports: a window compared with its reference profile under a policy.

:func:`compare` scores every column at once (each statistic is one vectorised
call over all numeric or all categorical columns), then lets the
:class:`~phantom.monitoring.domain.policy.DriftPolicy` decide per column and for
the dataset. Per column, the stats are

* numeric: ``ks_statistic``, ``ks_pvalue``, ``ks_error_bound`` (0 when the KS
  grid is exact, see :mod:`.ecdf`), ``psi``, ``js`` and ``out_of_range_share``
  (current values outside the reference's ``[min, max]``);
* categorical: ``chi2_statistic``, ``chi2_pvalue``, ``chi2_dof``, ``psi``,
  ``js`` and ``other_share`` (current values outside the reference's kept
  categories, unseen ones included).

A column with too few current values (``policy.min_rows``, an empty window
included) or no reference values has *insufficient data*: no stats, not
drifted, and it does not count towards the dataset's share. A report whose
features all lack data says so in :attr:`DriftReport.insufficient_data`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from phantom.monitoring.domain.columns import Columns, Kind, Role
from phantom.monitoring.domain.ecdf import ks_distance
from phantom.monitoring.domain.errors import SchemaMismatch
from phantom.monitoring.domain.policy import DEFAULT_POLICY, DriftPolicy, Statistic
from phantom.monitoring.domain.profile import (
    DEFAULT_BINS,
    DEFAULT_KS_RESOLUTION,
    ReferenceProfile,
    build_profile,
)
from phantom.monitoring.domain.statistics import (
    chi2_homogeneity,
    js_distance,
    ks_pvalue,
    psi,
)
from phantom.monitoring.domain.window import WindowProfile, profile_window

__all__ = ["ColumnDrift", "DriftReport", "compare", "drift_report"]


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """One column's verdict.

    Attributes:
        name: the column.
        role: ``feature`` or ``prediction``.
        kind: ``numeric`` or ``categorical``.
        statistic: the statistic that decided (see the policy).
        threshold: its threshold.
        value: its value (a p-value for tests; NaN with insufficient data).
        drifted: whether the value crossed the threshold.
        insufficient_data: too few values to decide.
        stats: every statistic computed (see the module docstring).
        reference_size: the reference's non-missing values.
        current_size: the window's non-missing values.
        reference_missing: the reference's missing values.
        current_missing: the window's missing values.
    """

    name: str
    role: Role
    kind: Kind
    statistic: Statistic
    threshold: float
    value: float
    drifted: bool
    insufficient_data: bool
    stats: Mapping[str, float]
    reference_size: int
    current_size: int
    reference_missing: int
    current_missing: int

    def to_dict(self) -> dict[str, Any]:
        """The verdict as a JSON-able dict (NaN as ``None``)."""
        return {
            "name": self.name,
            "role": self.role,
            "kind": self.kind,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "value": _json_float(self.value),
            "drifted": self.drifted,
            "insufficient_data": self.insufficient_data,
            "stats": {k: _json_float(v) for k, v in self.stats.items()},
            "reference_size": self.reference_size,
            "current_size": self.current_size,
            "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Per-column verdicts and the dataset's.

    Attributes:
        features: the input columns' verdicts, in the profile's order.
        predictions: the model outputs' verdicts (prediction drift).
        drift_share: the share of features with enough data that drifted.
        share_threshold: the policy's ``drift_share``.
        dataset_drifted: ``drift_share >= share_threshold``.
        insufficient_data: no feature had enough data to decide.
        reference_rows: the reference's rows.
        current_rows: the window's rows.
    """

    features: tuple[ColumnDrift, ...]
    predictions: tuple[ColumnDrift, ...]
    drift_share: float
    share_threshold: float
    dataset_drifted: bool
    insufficient_data: bool
    reference_rows: int
    current_rows: int

    def drifted_features(self) -> tuple[str, ...]:
        """The features whose statistic crossed its threshold (``DriftDetected``)."""
        return tuple(c.name for c in self.features if c.drifted)

    def drifted_predictions(self) -> tuple[str, ...]:
        """The model outputs whose statistic crossed its threshold."""
        return tuple(c.name for c in self.predictions if c.drifted)

    def column(self, name: str) -> ColumnDrift:
        """The verdict on column ``name``.

        Raises:
            KeyError: there is no such column.
        """
        for column in (*self.features, *self.predictions):
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-able dict."""
        return {
            "features": [c.to_dict() for c in self.features],
            "predictions": [c.to_dict() for c in self.predictions],
            "drift_share": self.drift_share,
            "share_threshold": self.share_threshold,
            "dataset_drifted": self.dataset_drifted,
            "insufficient_data": self.insufficient_data,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "drifted_features": list(self.drifted_features()),
        }


def compare(
    profile: ReferenceProfile,
    window: WindowProfile,
    policy: DriftPolicy = DEFAULT_POLICY,
) -> DriftReport:
    """Score ``window`` against ``profile`` and decide under ``policy``.

    Raises:
        SchemaMismatch: the window was not counted against this profile.
        InvalidPolicy: an override names a statistic its column does not have.
    """
    if window.shape != WindowProfile.shape_for(profile):
        raise SchemaMismatch("the window was counted against another profile")
    numeric, categorical = profile.layout.numeric, profile.layout.categorical
    scores = dict(zip(numeric.positions, _numeric_scores(profile, window), strict=True))
    scores.update(
        zip(categorical.positions, _categorical_scores(profile, window), strict=True)
    )
    verdicts = [
        _verdict(profile, i, scores[i], policy) for i in range(len(profile.columns))
    ]
    features = tuple(v for v in verdicts if v.role == "feature")
    decided = [v for v in features if not v.insufficient_data]
    share = sum(v.drifted for v in decided) / len(decided) if decided else 0.0
    return DriftReport(
        features=features,
        predictions=tuple(v for v in verdicts if v.role == "prediction"),
        drift_share=share,
        share_threshold=policy.drift_share,
        dataset_drifted=bool(decided) and share >= policy.drift_share,
        insufficient_data=not decided,
        reference_rows=profile.rows,
        current_rows=window.rows,
    )


def drift_report(  # noqa: PLR0913 - each knob is keyword-only and defaulted
    reference: Columns,
    current: Columns,
    *,
    reference_predictions: Columns | None = None,
    current_predictions: Columns | None = None,
    kinds: Mapping[str, Kind] | None = None,
    policy: DriftPolicy = DEFAULT_POLICY,
    bins: int = DEFAULT_BINS,
    ks_resolution: int | None = DEFAULT_KS_RESOLUTION,
) -> DriftReport:
    """Compare two raw tables: :func:`build_profile`, count, :func:`compare`."""
    profile = build_profile(
        reference,
        predictions=reference_predictions,
        kinds=kinds,
        bins=bins,
        ks_resolution=ks_resolution,
    )
    window = profile_window(profile, current, current_predictions)
    return compare(profile, window, policy)


@dataclass(frozen=True, slots=True)
class _Scores:
    """One column's statistics and current sample."""

    stats: dict[str, float]
    size: int
    missing: int


def _split(
    values: dict[str, npt.NDArray[np.float64]],
    sizes: npt.NDArray[np.int64],
    missing: npt.NDArray[np.int64],
) -> list[_Scores]:
    """Per-column scores from per-statistic arrays."""
    columns = {key: array.tolist() for key, array in values.items()}
    return [
        _Scores({key: column[row] for key, column in columns.items()}, size, lost)
        for row, (size, lost) in enumerate(
            zip(sizes.tolist(), missing.tolist(), strict=True)
        )
    ]


def _numeric_scores(profile: ReferenceProfile, window: WindowProfile) -> list[_Scores]:
    block = profile.layout.numeric
    if not block.positions:
        return []
    n, m = block.count, window.numeric_count
    d = ks_distance(block.below, block.upto, n, window.below, window.upto, m)
    last = window.bins[np.arange(len(block.positions)), block.nbins - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        outside = (window.bins[:, 0] + last) / m
    values = {
        "ks_statistic": d,
        "ks_pvalue": ks_pvalue(d, n, m),
        "ks_error_bound": block.error_bound,
        "psi": psi(block.bin_counts, window.bins),
        "js": js_distance(block.bin_counts, window.bins),
        "out_of_range_share": outside,
    }
    return _split(values, m, window.numeric_missing)


def _categorical_scores(
    profile: ReferenceProfile, window: WindowProfile
) -> list[_Scores]:
    block = profile.layout.categorical
    if not block.positions:
        return []
    m = window.categorical_count
    chi2 = chi2_homogeneity(block.counts, window.categories)
    with np.errstate(invalid="ignore", divide="ignore"):
        other = window.categories[:, block.other] / m
    values = {
        "chi2_statistic": chi2.statistic,
        "chi2_pvalue": chi2.pvalue,
        "chi2_dof": chi2.dof.astype(np.float64),
        "psi": psi(block.counts, window.categories),
        "js": js_distance(block.counts, window.categories),
        "other_share": other,
    }
    return _split(values, m, window.categorical_missing)


def _verdict(
    profile: ReferenceProfile, index: int, scores: _Scores, policy: DriftPolicy
) -> ColumnDrift:
    name, column = profile.names[index], profile.columns[index]
    n, m = column.count, scores.size
    rule = policy.rule_for(name, column.kind, n, m)
    insufficient = n == 0 or m < policy.min_rows
    stats = {} if insufficient else scores.stats
    value = stats.get(rule.key, math.nan)
    return ColumnDrift(
        name=name,
        role=profile.roles[index],
        kind=column.kind,
        statistic=rule.statistic,
        threshold=rule.threshold,
        value=value,
        drifted=not insufficient and rule.crossed(value),
        insufficient_data=insufficient,
        stats=stats,
        reference_size=n,
        current_size=m,
        reference_missing=column.missing,
        current_missing=scores.missing,
    )


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None
