"""Drift and performance rules with no I/O: profiles, windows, statistics, verdicts.

Build a :class:`ReferenceProfile` once per model version with
:func:`build_profile`, count logged rows into a window with a
:class:`WindowAccumulator` (or :func:`profile_window`), and :func:`compare` the
two under a :class:`DriftPolicy` to get a :class:`DriftReport`.
:func:`drift_report` does all three for two raw tables. Ground-truth feedback is
scored by :mod:`.performance`.
"""

from phantom.monitoring.domain.drift import (
    ColumnDrift,
    DriftReport,
    compare,
    drift_report,
)
from phantom.monitoring.domain.policy import DEFAULT_POLICY, DriftPolicy, DriftRule
from phantom.monitoring.domain.profile import ReferenceProfile, build_profile
from phantom.monitoring.domain.window import (
    WindowAccumulator,
    WindowProfile,
    profile_window,
)

__all__ = [
    "DEFAULT_POLICY",
    "ColumnDrift",
    "DriftPolicy",
    "DriftReport",
    "DriftRule",
    "ReferenceProfile",
    "WindowAccumulator",
    "WindowProfile",
    "build_profile",
    "compare",
    "drift_report",
    "profile_window",
]
