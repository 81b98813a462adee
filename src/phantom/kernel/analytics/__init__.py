"""The analytics store port and its adapters, chosen by URL.

::

    open_analytics("duckdb://.phantom/analytics.duckdb")   # embedded file (default)
    open_analytics("duckdb://:memory:")                     # private, in memory (tests)

The store holds high-volume, append-mostly analytical data, tenant-scoped:
experiment-tracking metric time series (:class:`MetricPoint` in,
:class:`MetricHistory` and :class:`MetricStats` out), and the serving prediction
log with its feedback labels and roll-ups
(:mod:`phantom.kernel.analytics.predictions`). See :class:`AnalyticsStore` for the
contract every adapter honours. The embedded file has one writer process,
the API server; other processes send points to it over HTTP.
"""

from __future__ import annotations

from phantom.kernel.adapters import SchemeRegistry
from phantom.kernel.analytics.port import (
    AnalyticsStore,
    FeedbackRecord,
    LabelledPrediction,
    MetricHistory,
    MetricPoint,
    MetricStats,
    PredictionRecord,
    ServingStats,
)

__all__ = [
    "AnalyticsStore",
    "FeedbackRecord",
    "LabelledPrediction",
    "MetricHistory",
    "MetricPoint",
    "MetricStats",
    "PredictionRecord",
    "ServingStats",
    "analytics_registry",
    "open_analytics",
]


def analytics_registry() -> SchemeRegistry[AnalyticsStore]:
    """Return a new registry of the built-in analytics schemes.

    Returns:
        A registry knowing ``duckdb``, plus any plugin of the entry-point group
        ``phantom.adapters.analytics``.
    """
    registry: SchemeRegistry[AnalyticsStore] = SchemeRegistry("analytics")

    def open_duckdb(url: str) -> AnalyticsStore:
        from phantom.kernel.analytics.duckdb import (  # noqa: PLC0415 - lazy
            DuckdbAnalyticsStore,
            duckdb_path,
        )

        return DuckdbAnalyticsStore(duckdb_path(url))

    registry.register("duckdb", open_duckdb)
    return registry


def open_analytics(url: str) -> AnalyticsStore:
    """Open the analytics store that ``url`` names.

    Args:
        url: ``duckdb://PATH`` or ``duckdb://:memory:``.

    Returns:
        A new store, its schema created; the caller closes it.

    Raises:
        ConfigError: the scheme is unknown (the message lists the known ones),
            the URL is invalid, or the database cannot be opened as one.
        Unavailable: another process has the database file open.
    """
    return analytics_registry().open(url)
