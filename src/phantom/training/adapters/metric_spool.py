"""Hand metric points to the analytics writer through the training database.

The analytics store has one writer process, the API server (ADR 0013). A process
that is not it — a standalone ``phantom worker`` — uses :class:`SpooledMetrics`:
its :meth:`~SpooledMetrics.append_metrics` writes the batch into
``training_metric_spool`` in one tenant-bound transaction (all or nothing, as
the port promises), and the server's :func:`drain_metric_spool` moves spooled
points into the analytics store in spool order, then deletes them.

Delivery is at least once: a server killed between the analytics append and the
spool delete appends that batch again on its next drain. Reads are not served
here: a process that hands its points over never reads them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import and_, delete, insert, or_, select

from phantom.kernel.analytics import AnalyticsStore, MetricHistory, MetricPoint
from phantom.kernel.analytics.checks import check_points
from phantom.kernel.analytics.port import (
    FeedbackRecord,
    LabelledPrediction,
    MetricStats,
    PredictionRecord,
    ServingStats,
)
from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.errors import InvalidInput, Unavailable
from phantom.kernel.ids import uuid7
from phantom.training.adapters.sql_tables import metric_spool

__all__ = ["SpooledMetrics", "drain_metric_spool"]

DRAIN_BATCH: Final = 10_000
_READS: Final = (
    "this process hands its metric points to the server (the analytics writer) "
    "and cannot read them; read them through the API"
)
_PREDICTIONS: Final = "only the API server (the analytics writer) logs predictions"


class SpooledMetrics:
    """An :class:`AnalyticsStore` that only appends, into the spool table."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._closed = False

    def append_metrics(self, points: Sequence[MetricPoint]) -> int:
        """Spool the batch in its tenant's transaction; all or nothing."""
        if self._closed:
            msg = "the metric spool is closed"
            raise Unavailable(msg)
        columns = check_points(points)
        if not columns.tenant_ids:
            return 0
        tenants = set(columns.tenant_ids)
        if len(tenants) != 1:
            msg = "a spooled batch holds one tenant's points"
            raise InvalidInput(msg)
        rows = [
            {
                "tenant_id": tenant,
                "spool_id": str(uuid7()),
                "run_id": run,
                "key": key,
                "step": step,
                "timestamp_us": stamp,
                "value": repr(float(value)),
            }
            for tenant, run, key, step, stamp, value in zip(*columns, strict=True)
        ]
        with tenant_transaction(self._db, next(iter(tenants)), write=True) as conn:
            conn.execute(insert(metric_spool), rows)
        return len(rows)

    def metric_history(
        self, tenant_id: str, run_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory:
        """Not served here (see the module docstring)."""
        del tenant_id, run_id, key, max_points
        raise Unavailable(_READS)

    def latest_metrics(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, float]]:
        """Not served here (see the module docstring)."""
        del tenant_id, run_ids
        raise Unavailable(_READS)

    def metric_summary(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, MetricStats]]:
        """Not served here (see the module docstring)."""
        del tenant_id, run_ids
        raise Unavailable(_READS)

    def delete_run(self, tenant_id: str, run_id: str) -> int:
        """Not served here (see the module docstring)."""
        del tenant_id, run_id
        raise Unavailable(_READS)

    def append_predictions(self, records: Sequence[PredictionRecord]) -> int:
        """Not served here: only the API server logs predictions."""
        del records
        raise Unavailable(_PREDICTIONS)

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
        """Not served here (see the module docstring)."""
        del tenant_id, model, limit, version, since_us, until_us, status
        raise Unavailable(_READS)

    def append_feedback(self, records: Sequence[FeedbackRecord]) -> int:
        """Not served here: only the API server records feedback."""
        del records
        raise Unavailable(_PREDICTIONS)

    def labelled_predictions(  # noqa: PLR0913 - the port's keyword filters
        self,
        tenant_id: str,
        model: str,
        *,
        version: int | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        limit: int = 1,
    ) -> list[LabelledPrediction]:
        """Not served here (see the module docstring)."""
        del tenant_id, model, version, since_us, until_us, limit
        raise Unavailable(_READS)

    def serving_stats(
        self,
        tenant_id: str,
        *,
        model: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> list[ServingStats]:
        """Not served here (see the module docstring)."""
        del tenant_id, model, since_us, until_us
        raise Unavailable(_READS)

    def ping(self) -> None:
        """The training database answers."""
        self._db.ping()

    def close(self) -> None:
        """Refuse further appends."""
        self._closed = True


def drain_metric_spool(
    db: Database, analytics: AnalyticsStore, *, limit: int = DRAIN_BATCH
) -> int:
    """Move up to ``limit`` spooled points into ``analytics``; return how many.

    Runs on the system engine (the spool holds every tenant's points).
    """
    order = (metric_spool.c.spool_id, metric_spool.c.tenant_id)
    with db.system_engine.connect() as conn, conn.begin():
        rows = conn.execute(select(metric_spool).order_by(*order).limit(limit)).all()
        if not rows:
            return 0
        by_tenant: dict[str, list[MetricPoint]] = {}
        for row in rows:
            by_tenant.setdefault(row.tenant_id, []).append(
                MetricPoint(
                    row.tenant_id,
                    row.run_id,
                    row.key,
                    row.step,
                    row.timestamp_us,
                    float(row.value),
                )
            )
        for points in by_tenant.values():
            analytics.append_metrics(points)
        taken = [
            and_(
                metric_spool.c.tenant_id == r.tenant_id,
                metric_spool.c.spool_id == r.spool_id,
            )
            for r in rows
        ]
        for start in range(0, len(taken), 500):
            conn.execute(delete(metric_spool).where(or_(*taken[start : start + 500])))
    return len(rows)
