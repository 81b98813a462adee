"""The prediction log, feedback and roll-ups of the ClickHouse analytics store.

:class:`ClickhousePredictions` is mixed into
:class:`~phantom.kernel.analytics.clickhouse.ClickhouseAnalyticsStore`, which
lends its session through ``_call``. Records are checked by
:mod:`~phantom.kernel.analytics.prediction_checks` and sent as one Arrow batch.
:meth:`ClickhousePredictions.serving_stats` reads the raw log (exact
percentiles over any microsecond window); the hourly roll-up
``predictions_hourly`` is there for dashboards that chart long periods.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Final

from phantom.kernel.analytics.clickhouse_session import rows
from phantom.kernel.analytics.prediction_checks import (
    check_feedback,
    check_predictions,
    check_window,
    record_batch,
)
from phantom.kernel.analytics.predictions import (
    MAX_WINDOW_ROWS,
    FeedbackRecord,
    LabelledPrediction,
    PredictionRecord,
    ServingStats,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from phantom.kernel.analytics.clickhouse_session import ClickhouseSession

__all__ = ["ClickhousePredictions"]

_FILTERS: Final = """
    AND ({version:Nullable(Int64)} IS NULL OR p.version = {version:Nullable(Int64)})
    AND ({since:Nullable(Int64)} IS NULL OR p.timestamp_us >= {since:Nullable(Int64)})
    AND ({until:Nullable(Int64)} IS NULL OR p.timestamp_us < {until:Nullable(Int64)})
"""
_RECENT: Final = f"""
    SELECT p.tenant_id, p.prediction_id, p.model, p.version, p.route,
           p.timestamp_us, p.latency_us, p.rows, p.inputs, p.outputs, p.status
    FROM predictions AS p
    WHERE p.tenant_id = {{tenant:String}} AND p.model = {{model:String}}
    {_FILTERS}
    AND ({{status:Nullable(String)}} IS NULL OR p.status = {{status:Nullable(String)}})
    ORDER BY p.timestamp_us DESC, p.prediction_id DESC
    LIMIT {{limit:UInt32}}
"""  # noqa: S608 - constant fragments
_LABELLED: Final = f"""
    WITH labels AS (
        SELECT prediction_id, row AS label_row,
               argMax(label, (timestamp_us, label)) AS latest_label
        FROM feedback
        WHERE tenant_id = {{tenant:String}} AND model = {{model:String}}
        GROUP BY prediction_id, row
    )
    SELECT p.prediction_id, p.version, p.route, p.timestamp_us, l.label_row,
           p.outputs, l.latest_label
    FROM predictions AS p
    INNER JOIN labels AS l ON l.prediction_id = p.prediction_id
    WHERE p.tenant_id = {{tenant:String}} AND p.model = {{model:String}}
    AND p.status = 'ok' AND p.route IN ('primary', 'canary')
    AND l.label_row < p.rows
    {_FILTERS}
    ORDER BY p.timestamp_us DESC, p.prediction_id DESC, l.label_row
    LIMIT {{limit:UInt32}}
"""  # noqa: S608 - constant fragments
_STATS: Final = f"""
    SELECT p.model, p.version, p.route, count() AS requests,
           sum(p.rows) AS total_rows, countIf(p.status = 'error') AS errors,
           quantilesExactInclusive(0.5, 0.95, 0.99)(p.latency_us) AS latency,
           min(p.timestamp_us) AS first_us, max(p.timestamp_us) AS last_us
    FROM predictions AS p
    WHERE p.tenant_id = {{tenant:String}}
    AND ({{model:Nullable(String)}} IS NULL OR p.model = {{model:Nullable(String)}})
    {_FILTERS}
    GROUP BY p.model, p.version, p.route
    ORDER BY p.model, p.version, p.route
"""  # noqa: S608 - constant fragments


class ClickhousePredictions:
    """The :class:`~phantom.kernel.analytics.predictions.PredictionQueries` part."""

    def _call(
        self, action: str
    ) -> AbstractContextManager[ClickhouseSession]:  # pragma: no cover
        raise NotImplementedError

    def append_predictions(self, records: Sequence[PredictionRecord]) -> int:
        """Append logged predictions in one ``INSERT``; return how many."""
        checked = check_predictions(records)
        with self._call("append predictions") as session:
            if checked:
                batch = record_batch(PredictionRecord._fields, checked)
                session.insert("predictions", batch)
        return len(checked)

    def append_feedback(self, records: Sequence[FeedbackRecord]) -> int:
        """Append labels in one ``INSERT``; return how many."""
        checked = check_feedback(records)
        with self._call("append feedback") as session:
            if checked:
                session.insert(
                    "feedback", record_batch(FeedbackRecord._fields, checked)
                )
        return len(checked)

    def recent_predictions(  # noqa: PLR0913 - the port's keyword filters
        self,
        tenant_id: str,
        model: str,
        *,
        limit: int = 100,
        version: int | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        status: str | None = None,
    ) -> list[PredictionRecord]:
        """The tenant's latest predictions of ``model``, newest first."""
        window = check_window(
            tenant_id,
            model,
            version=version,
            since_us=since_us,
            until_us=until_us,
            limit=limit,
            status=status,
        )
        params = window.params(
            "tenant", "model", "version", "since", "until", "status", "limit"
        )
        with self._call("read predictions") as session:
            found = session.query(_RECENT, params)
        return [PredictionRecord(*row) for row in rows(found)]

    def labelled_predictions(  # noqa: PLR0913 - the port's keyword filters
        self,
        tenant_id: str,
        model: str,
        *,
        version: int | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        limit: int = MAX_WINDOW_ROWS,
    ) -> list[LabelledPrediction]:
        """Answered rows with their latest label, newest first."""
        window = check_window(
            tenant_id,
            model,
            version=version,
            since_us=since_us,
            until_us=until_us,
            limit=limit,
        )
        params = window.params("tenant", "model", "version", "since", "until", "limit")
        with self._call("read labelled predictions") as session:
            found = session.query(_LABELLED, params)
        return [LabelledPrediction(*row) for row in rows(found)]

    def serving_stats(
        self,
        tenant_id: str,
        *,
        model: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> list[ServingStats]:
        """Logged traffic per model, version and route."""
        window = check_window(tenant_id, model, since_us=since_us, until_us=until_us)
        params = window.params("tenant", "model", "version", "since", "until")
        with self._call("read serving stats") as session:
            found = session.query(_STATS, params)
        return [
            ServingStats(
                model=model_,
                version=int(version_),
                route=route,
                requests=int(requests),
                rows=int(total_rows),
                errors=int(errors),
                latency_p50_us=float(latency[0]),
                latency_p95_us=float(latency[1]),
                latency_p99_us=float(latency[2]),
                first_us=int(first_us),
                last_us=int(last_us),
            )
            for (
                model_,
                version_,
                route,
                requests,
                total_rows,
                errors,
                latency,
                first_us,
                last_us,
            ) in rows(found)
        ]
