"""The analytics store port and its adapters, chosen by URL.

::

    open_analytics("duckdb://.phantom/analytics.duckdb")   # embedded file (default)
    open_analytics("duckdb://:memory:")                     # private, in memory (tests)
    open_analytics("clickhouse://user:pass@host:8123/phantom")  # server (production)
    open_analytics("clickhouses://user:pass@host/phantom?retention_days=90")  # TLS
    open_analytics("chdb://.phantom/analytics.chdb")        # ClickHouse, embedded
    open_analytics("chdb://:memory:")                       # private chDB (tests)

The store holds high-volume, append-mostly analytical data, tenant-scoped:
experiment-tracking metric time series (:class:`MetricPoint` in,
:class:`MetricHistory` and :class:`MetricStats` out), and the serving prediction
log with its feedback labels and roll-ups
(:mod:`phantom.kernel.analytics.predictions`). See :class:`AnalyticsStore` for the
contract every adapter honours. The embedded file has one writer process,
the API server; other processes send points to it over HTTP. The ClickHouse
adapter (:mod:`phantom.kernel.analytics.clickhouse`, extra ``clickhouse``) is
shared by any number of processes; its drivers are imported only when one of its
schemes is opened.
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
        A registry knowing ``duckdb``, ``clickhouse``, ``clickhouses`` and
        ``chdb``, plus any plugin of the entry-point group
        ``phantom.adapters.analytics``.
    """
    registry: SchemeRegistry[AnalyticsStore] = SchemeRegistry("analytics")

    def open_duckdb(url: str) -> AnalyticsStore:
        from phantom.kernel.analytics.duckdb import (  # noqa: PLC0415 - lazy
            DuckdbAnalyticsStore,
            duckdb_path,
        )

        return DuckdbAnalyticsStore(duckdb_path(url))

    def open_clickhouse(url: str) -> AnalyticsStore:
        from phantom.kernel.analytics.clickhouse import (  # noqa: PLC0415 - lazy
            open_clickhouse_store,
        )

        return open_clickhouse_store(url)

    registry.register("duckdb", open_duckdb)
    for scheme in ("clickhouse", "clickhouses", "chdb"):
        registry.register(scheme, open_clickhouse)
    return registry


def open_analytics(url: str) -> AnalyticsStore:
    """Open the analytics store that ``url`` names.

    Args:
        url: ``duckdb://PATH``, ``duckdb://:memory:``, ``clickhouse://…``,
            ``clickhouses://…``, ``chdb://PATH`` or ``chdb://:memory:`` (see
            :mod:`phantom.kernel.analytics.clickhouse_url`).

    Returns:
        A new store, its schema created; the caller closes it.

    Raises:
        ConfigError: the scheme is unknown (the message lists the known ones),
            the URL is invalid, its driver is not installed, or the database
            cannot be opened as one.
        Unavailable: another process has the database file open, or the
            ClickHouse server cannot be reached.
    """
    return analytics_registry().open(url)
