"""The monitoring context's HTTP routes (tenant-scoped, all in OpenAPI).

::

    GET  /v1/models/{name}/drift                a drift report now (not stored)
    POST /v1/models/{name}/drift                a report, recorded in the history
                                                (DriftReported / DriftDetected)
    GET  /v1/models/{name}/drift/history        recorded reports, newest first
    GET  /v1/models/{name}/drift/policy         the model's drift thresholds
    PUT  /v1/models/{name}/drift/policy         replace them
    POST /v1/models/{name}/feedback             ground-truth labels
    GET  /v1/models/{name}/performance          metrics from labels, and estimates
    GET  /v1/monitoring/serving                 latency, throughput, error rates

Windows default to the last 24 hours; ``since``/``until`` are ISO 8601 times.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures at
# runtime.

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from phantom.kernel.events.sql import from_us, to_us
from phantom.monitoring.api import (
    DriftReportInfo,
    FeedbackRequest,
    FeedbackResult,
    PerformanceInfo,
    ServingStatsInfo,
)
from phantom.monitoring.feedback import FeedbackService, Label
from phantom.monitoring.service import DriftView, MonitoringService
from phantom.tenancy.api import Principal, request_principal

__all__ = ["monitoring_router"]

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Unauthorized"},
    403: {"description": "Forbidden"},
    404: {"description": "Not found (also another tenant's models)"},
    422: {"description": "Invalid input, or no reference profile yet"},
}
Caller = Annotated[Principal, Depends(request_principal)]
Name = Annotated[str, Path(min_length=1, max_length=100)]
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Moment = Annotated[datetime | None, Query(description="ISO 8601; default: now")]
Since = Annotated[
    datetime | None, Query(description="ISO 8601; default: 24 hours before until")
]


def _us(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def _drift(view: DriftView) -> DriftReportInfo:
    return DriftReportInfo(
        report_id=view.report_id,
        model=view.model,
        version=view.version,
        since=from_us(view.since_us),
        until=from_us(view.until_us),
        reference_source=view.profile.source,
        reference_rows=view.profile.rows,
        skipped_requests=view.skipped,
        report=view.report.to_dict(),
    )


def monitoring_router(
    monitoring: MonitoringService, feedback: FeedbackService
) -> APIRouter:
    """The monitoring routes over the two services."""
    router = APIRouter(prefix="/v1", tags=["monitoring"])
    _drift_routes(router, monitoring)
    _performance_routes(router, feedback)
    return router


@dataclass(frozen=True)
class _Window:
    """The query parameters of a windowed report."""

    version: VersionQuery = None
    since: Since = None
    until: Moment = None


Window = Annotated[_Window, Depends()]


def _drift_routes(router: APIRouter, monitoring: MonitoringService) -> None:
    async def report(
        caller: Principal, name: str, window: _Window, *, record: bool
    ) -> DriftReportInfo:
        view = await run_in_threadpool(
            lambda: monitoring.drift(
                caller,
                name,
                version=window.version,
                since_us=_us(window.since),
                until_us=_us(window.until),
                record=record,
            )
        )
        return _drift(view)

    @router.get(
        "/models/{name}/drift", operation_id="get_model_drift", responses=_ERRORS
    )
    async def drift_now(caller: Caller, name: Name, window: Window) -> DriftReportInfo:
        """Drift of the version's logged inputs and outputs against its reference."""
        return await report(caller, name, window, record=False)

    @router.post(
        "/models/{name}/drift", operation_id="record_model_drift", responses=_ERRORS
    )
    async def drift_recorded(
        caller: Caller, name: Name, window: Window
    ) -> DriftReportInfo:
        """Run a drift report and record it (DriftDetected when something crossed)."""
        return await report(caller, name, window, record=True)

    @router.get(
        "/models/{name}/drift/history",
        operation_id="model_drift_history",
        responses=_ERRORS,
    )
    async def history(
        caller: Caller,
        name: Name,
        version: VersionQuery = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[dict[str, Any]]:
        """Recorded drift reports, newest first."""
        rows = await run_in_threadpool(
            lambda: monitoring.history(caller, name, version=version, limit=limit)
        )
        return [
            {
                "report_id": r.report_id,
                "model": r.model,
                "version": r.version,
                "since": from_us(r.since_us),
                "until": from_us(r.until_us),
                "rows": r.rows,
                "dataset_drifted": r.dataset_drifted,
                "drift_share": r.drift_share,
                "drifted": r.drifted,
                "report": r.report,
                "created_at": r.created_at,
            }
            for r in rows
        ]

    @router.get(
        "/models/{name}/drift/policy",
        operation_id="get_drift_policy",
        responses=_ERRORS,
    )
    async def get_policy(caller: Caller, name: Name) -> dict[str, Any]:
        """The model's drift thresholds (the defaults until set)."""
        policy = await run_in_threadpool(monitoring.policy, caller, name)
        return policy.to_dict()

    @router.put(
        "/models/{name}/drift/policy",
        operation_id="set_drift_policy",
        responses=_ERRORS,
    )
    async def set_policy(
        caller: Caller, name: Name, document: dict[str, Any]
    ) -> dict[str, Any]:
        """Replace the model's drift thresholds."""
        policy = await run_in_threadpool(monitoring.set_policy, caller, name, document)
        return policy.to_dict()


def _performance_routes(router: APIRouter, feedback: FeedbackService) -> None:
    @router.post(
        "/models/{name}/feedback",
        operation_id="send_feedback",
        responses=_ERRORS,
        status_code=201,
    )
    async def send_feedback(
        caller: Caller, name: Name, body: FeedbackRequest
    ) -> FeedbackResult:
        """Ground truth for logged predictions (a later label of a row wins)."""
        labels = [Label(i.prediction_id, i.label, i.row) for i in body.feedback]
        stored = await run_in_threadpool(feedback.record, caller, name, labels)
        return FeedbackResult(stored=stored)

    @router.get(
        "/models/{name}/performance",
        operation_id="model_performance",
        responses=_ERRORS,
    )
    async def performance(
        caller: Caller, name: Name, window: Window
    ) -> PerformanceInfo:
        """Metrics from labels over a window, and the label-free estimate."""
        found = await run_in_threadpool(
            lambda: feedback.performance(
                caller,
                name,
                version=window.version,
                since_us=_us(window.since),
                until_us=_us(window.until),
            )
        )
        return PerformanceInfo(
            model=found.model,
            version=found.version,
            since=from_us(found.since_us),
            until=from_us(found.until_us),
            task=found.task,
            labelled=found.labelled,
            metrics=found.metrics,
            answered=found.answered,
            estimated=found.estimated,
        )

    @router.get(
        "/monitoring/serving", operation_id="serving_analytics", responses=_ERRORS
    )
    async def serving(
        caller: Caller,
        model: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        since: Since = None,
        until: Moment = None,
    ) -> list[ServingStatsInfo]:
        """Latency percentiles, throughput and error rates per model and version."""
        stats = await run_in_threadpool(
            lambda: feedback.serving(
                caller, model=model, since_us=_us(since), until_us=_us(until)
            )
        )
        return [
            ServingStatsInfo(
                model=s.model,
                version=s.version,
                route=s.route,
                requests=s.requests,
                rows=s.rows,
                errors=s.errors,
                error_rate=s.errors / s.requests if s.requests else 0.0,
                latency_p50_ms=s.latency_p50_us / 1000,
                latency_p95_ms=s.latency_p95_us / 1000,
                latency_p99_ms=s.latency_p99_us / 1000,
                first=from_us(s.first_us),
                last=from_us(s.last_us),
            )
            for s in stats
        ]
