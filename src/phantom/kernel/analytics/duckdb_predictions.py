"""The prediction log, feedback and roll-ups of the DuckDB analytics store.

:class:`DuckdbPredictions` is mixed into
:class:`~phantom.kernel.analytics.duckdb.DuckdbAnalyticsStore`, which supplies the
cursor lending (``_session``) and the writer lock. Batches arrive as Arrow tables:
DuckDB scans them natively instead of converting each Python string while holding
the GIL (which serving's request threads would wait for).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Final

import pyarrow as pa

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

    import duckdb


__all__ = ["PREDICTION_MIGRATIONS", "DuckdbPredictions"]

PREDICTION_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """
        CREATE TABLE IF NOT EXISTS predictions (
            tenant_id VARCHAR NOT NULL,
            prediction_id VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            route VARCHAR NOT NULL,
            timestamp_us BIGINT NOT NULL,
            latency_us BIGINT NOT NULL,
            rows INTEGER NOT NULL,
            inputs VARCHAR NOT NULL,
            outputs VARCHAR NOT NULL
        )
        """,
    ),
    (
        "ALTER TABLE predictions ADD COLUMN status VARCHAR DEFAULT 'ok'",
        """
        CREATE TABLE IF NOT EXISTS feedback (
            tenant_id VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            prediction_id VARCHAR NOT NULL,
            row INTEGER NOT NULL,
            timestamp_us BIGINT NOT NULL,
            label VARCHAR NOT NULL
        )
        """,
    ),
)
"""The schema changes of these tables, in order (the store numbers them)."""

_PREDICTION_BATCH: Final = "phantom_prediction_batch"
_FEEDBACK_BATCH: Final = "phantom_feedback_batch"
_FILTERS: Final = """
    AND ($version IS NULL OR p.version = $version)
    AND ($since IS NULL OR p.timestamp_us >= $since)
    AND ($until IS NULL OR p.timestamp_us < $until)
"""
_RECENT: Final = f"""
    SELECT p.tenant_id, p.prediction_id, p.model, p.version, p.route,
           p.timestamp_us, p.latency_us, p.rows, p.inputs, p.outputs, p.status
    FROM predictions AS p
    WHERE p.tenant_id = $tenant AND p.model = $model
    {_FILTERS}
    AND ($status IS NULL OR p.status = $status)
    ORDER BY p.timestamp_us DESC, p.prediction_id DESC
    LIMIT $limit
"""  # noqa: S608 - a constant fragment, not user input
_LABELLED: Final = f"""
    WITH labels AS (
        SELECT prediction_id, row, arg_max(label, (timestamp_us, label)) AS label
        FROM feedback
        WHERE tenant_id = $tenant AND model = $model
        GROUP BY prediction_id, row
    )
    SELECT p.prediction_id, p.version, p.route, p.timestamp_us, l.row,
           p.outputs, l.label
    FROM predictions AS p
    JOIN labels AS l ON l.prediction_id = p.prediction_id AND l.row < p.rows
    WHERE p.tenant_id = $tenant AND p.model = $model AND p.status = 'ok'
    AND p.route IN ('primary', 'canary')
    {_FILTERS}
    ORDER BY p.timestamp_us DESC, p.prediction_id DESC, l.row
    LIMIT $limit
"""  # noqa: S608 - a constant fragment, not user input
_STATS: Final = f"""
    SELECT p.model, p.version, p.route, count(*), sum(p.rows),
           count(*) FILTER (WHERE p.status = 'error'),
           quantile_cont(p.latency_us, 0.5), quantile_cont(p.latency_us, 0.95),
           quantile_cont(p.latency_us, 0.99),
           min(p.timestamp_us), max(p.timestamp_us)
    FROM predictions AS p
    WHERE p.tenant_id = $tenant AND ($model IS NULL OR p.model = $model)
    {_FILTERS}
    GROUP BY p.model, p.version, p.route
    ORDER BY p.model, p.version, p.route
"""  # noqa: S608 - a constant fragment, not user input


class DuckdbPredictions:
    """The :class:`~phantom.kernel.analytics.predictions.PredictionQueries` part."""

    _write_lock: threading.Lock

    def _session(
        self, action: str
    ) -> AbstractContextManager[duckdb.DuckDBPyConnection]:  # pragma: no cover
        raise NotImplementedError

    def append_predictions(self, records: Sequence[PredictionRecord]) -> int:
        """Append logged predictions in one statement; return how many."""
        checked = check_predictions(records)
        if not checked:
            return 0
        batch = record_batch(PredictionRecord._fields, checked)
        names = ", ".join(PredictionRecord._fields)
        insert = (
            f"INSERT INTO predictions ({names}) SELECT {names} FROM {_PREDICTION_BATCH}"  # noqa: S608 - constant names
        )
        self._insert("append predictions", _PREDICTION_BATCH, batch, insert)
        return len(checked)

    def append_feedback(self, records: Sequence[FeedbackRecord]) -> int:
        """Append labels in one statement; return how many."""
        checked = check_feedback(records)
        if not checked:
            return 0
        batch = record_batch(FeedbackRecord._fields, checked)
        names = ", ".join(FeedbackRecord._fields)
        insert = f"INSERT INTO feedback ({names}) SELECT {names} FROM {_FEEDBACK_BATCH}"  # noqa: S608 - constant names
        self._insert("append feedback", _FEEDBACK_BATCH, batch, insert)
        return len(checked)

    def _insert(self, action: str, view: str, batch: pa.Table, insert: str) -> None:
        with self._session(action) as cursor, self._write_lock:
            cursor.register(view, batch)
            try:
                cursor.execute(insert)
            finally:
                cursor.unregister(view)

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
        with self._session("read predictions") as cursor:
            rows = cursor.execute(_RECENT, params).fetchall()
        return [PredictionRecord(*row) for row in rows]

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
        with self._session("read labelled predictions") as cursor:
            rows = cursor.execute(_LABELLED, params).fetchall()
        return [LabelledPrediction(*row) for row in rows]

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
        with self._session("read serving stats") as cursor:
            rows = cursor.execute(_STATS, params).fetchall()
        return [
            ServingStats(
                model=row[0],
                version=int(row[1]),
                route=row[2],
                requests=int(row[3]),
                rows=int(row[4]),
                errors=int(row[5]),
                latency_p50_us=float(row[6]),
                latency_p95_us=float(row[7]),
                latency_p99_us=float(row[8]),
                first_us=int(row[9]),
                last_us=int(row[10]),
            )
            for row in rows
        ]
