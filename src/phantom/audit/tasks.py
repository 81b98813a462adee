"""The audit's background task: flush usage counts and sign checkpoints.

The gateway's lifespan starts :func:`run_audit_tasks` next to the outbox relays and
stops it with the same event::

    stop = asyncio.Event()
    task = asyncio.create_task(run_audit_tasks(recorder, stop), name="audit")
    ...
    stop.set()
    await task  # the final flush and checkpoint happen before it returns

Every ``interval_s`` (60 s) it appends the usage counts of the minutes that have
closed and signs the head of every chain that grew since its last checkpoint. When
``stop`` is set it flushes everything, the open minute included, and signs once
more, then returns. A round that fails is logged (``audit.tasks.failed``) and the
next one tries again; the task itself only ends when ``stop`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Final, Protocol, runtime_checkable

import structlog

from phantom.audit.domain.checkpoints import Checkpoint

__all__ = ["AUDIT_TASKS_INTERVAL_S", "AuditMaintenance", "run_audit_tasks"]

log = structlog.get_logger(__name__)

AUDIT_TASKS_INTERVAL_S: Final = 60.0
"""How often usage counts are flushed and checkpoints signed (DESIGN §5: per minute)."""


@runtime_checkable
class AuditMaintenance(Protocol):
    """What the task needs of :class:`~phantom.audit.recorder.SqlAuditRecorder`.

    Both methods block (run in a worker thread) and are safe to call from any
    thread. Runtime-checkable, so the gateway can start the task only when the
    container's ``AuditRecorder`` keeps a chain:
    ``isinstance(container.audit, AuditMaintenance)``.
    """

    @property
    def unflushed(self) -> int:
        """Usage drafts drained but not yet appended."""
        ...

    def flush(self, now: datetime | None = None, *, include_open: bool = False) -> int:
        """Append the usage counts of closed minutes (all with ``include_open``)."""
        ...

    def checkpoint_all(self, now: datetime | None = None) -> list[Checkpoint]:
        """Sign the head of every chain that grew since its newest checkpoint."""
        ...


async def _round(recorder: AuditMaintenance, *, final: bool) -> None:
    try:
        await asyncio.to_thread(recorder.flush, include_open=final)
    except Exception:
        log.exception("audit.tasks.failed", step="flush", final=final)
    try:
        await asyncio.to_thread(recorder.checkpoint_all)
    except Exception:
        log.exception("audit.tasks.failed", step="checkpoint", final=final)


async def run_audit_tasks(
    recorder: AuditMaintenance,
    stop: asyncio.Event,
    *,
    interval_s: float = AUDIT_TASKS_INTERVAL_S,
) -> None:
    """Flush usage counts and sign checkpoints every ``interval_s`` until ``stop``.

    Args:
        recorder: the audit recorder.
        stop: set it to end the task; the task then flushes everything (the open
            minute too) and signs the changed chains once more before returning.
        interval_s: seconds between rounds.
    """
    log.debug("audit.tasks.started", interval_s=interval_s)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        if not stop.is_set():
            await _round(recorder, final=False)
    await _round(recorder, final=True)
    left = recorder.unflushed
    if left:
        log.error("audit.usage_lost", entries=left)
    log.debug("audit.tasks.stopped")
