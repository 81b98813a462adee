"""The monitoring context's module: migrations, projector, routes, the schedule."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from fastapi import APIRouter

from phantom.kernel.module import Module
from phantom.monitoring.adapters.sql import MONITORING_MIGRATIONS, project_monitoring
from phantom.monitoring.alerting.http import alerts_router
from phantom.monitoring.http import monitoring_router

if TYPE_CHECKING:
    from phantom.monitoring.alerting.service import AlertService
    from phantom.monitoring.feedback import FeedbackService
    from phantom.monitoring.service import MonitoringService

__all__ = [
    "MonitoringHost",
    "monitoring_module",
    "run_alert_schedule",
    "run_drift_schedule",
]

log = structlog.get_logger(__name__)


class MonitoringHost(Protocol):
    """What the router and the schedule need from the composition root."""

    monitoring: MonitoringService | None
    feedback: FeedbackService | None
    alerts: AlertService | None


async def _every(
    interval: float, work: Callable[[], int], stop: asyncio.Event, name: str
) -> None:
    """Run ``work`` in a thread every ``interval`` seconds until ``stop`` is set."""
    if interval <= 0:
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            done = await asyncio.to_thread(work)
        except Exception:  # logged; the next round tries again
            log.exception("schedule.failed", task=name)
            continue
        log.debug("schedule.ran", task=name, count=done)


async def run_drift_schedule(host: Any, stop: asyncio.Event) -> None:  # noqa: ANN401 - the container
    """Every ``drift_interval_s``, report on each profiled version with traffic."""
    monitoring: MonitoringService | None = host.monitoring
    if monitoring is not None:
        interval = float(host.settings.drift_interval_s)
        await _every(interval, monitoring.run_scheduled, stop, "monitoring")


async def run_alert_schedule(host: Any, stop: asyncio.Event) -> None:  # noqa: ANN401 - the container
    """Every ``alert_interval_s``, evaluate every tenant's alert rules."""
    alerts: AlertService | None = host.alerts
    if alerts is not None:
        interval = float(host.settings.alert_interval_s)
        await _every(interval, alerts.run_scheduled, stop, "alerts")


def monitoring_module() -> Module:
    """The monitoring context's contribution to the running system."""

    def router(host: MonitoringHost) -> APIRouter:
        if host.monitoring is None or host.feedback is None:
            msg = "the container was built without the monitoring services"
            raise RuntimeError(msg)
        router = APIRouter()
        router.include_router(monitoring_router(host.monitoring, host.feedback))
        if host.alerts is not None:
            router.include_router(alerts_router(host.alerts))
        return router

    return Module(
        name="monitoring",
        migrations=MONITORING_MIGRATIONS,
        projectors=[project_monitoring],
        router=router,
        tasks=[run_drift_schedule, run_alert_schedule],
    )
