"""The prediction log: sampled, bounded, never in the request's way.

:meth:`PredictionLog.offer` is called on the request path. It decides the
sample (``sample_rate``), and puts the entry on a bounded queue without
blocking: when the queue is full the entry is dropped and counted (exported
in ``/metrics`` as ``phantom_prediction_log_dropped_total``), never waited for.
A drain thread serialises entries to JSON and appends them in batches to the
analytics store. Nothing is written to the relational database or the audit
chain per prediction.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import structlog
from pydantic_core import to_json

from phantom.kernel.analytics import AnalyticsStore, PredictionRecord

__all__ = ["LogEntry", "LogStats", "PredictionLog"]

MAX_LOGGED_CHARS: Final = 100_000
"""Inputs or outputs longer than this are logged as a note of their size."""
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One scored request, as the request path hands it over (not yet JSON)."""

    tenant_id: str
    prediction_id: str
    model: str
    version: int
    route: str
    timestamp_us: int
    latency_us: int
    rows: int
    inputs: Any
    outputs: Any
    status: str = "ok"


@dataclass(slots=True)
class LogStats:
    """Counters for ``/metrics``."""

    offered: int = 0
    sampled_out: int = 0
    dropped: int = 0
    written: int = 0
    failed: int = 0
    unscrubbed: int = 0


def _json(value: object) -> str:
    try:
        text = to_json(value, serialize_unknown=True).decode()
    except (ValueError, TypeError) as exc:
        return to_json({"unloggable": type(exc).__name__}).decode()
    if len(text) > MAX_LOGGED_CHARS:
        return to_json({"truncated": True, "chars": len(text)}).decode()
    return text


class PredictionLog:
    """The bounded, sampled prediction log (see the module docstring).

    Args:
        store: gives the analytics store to write to (opened lazily).
        capacity: the most entries waiting; more are dropped and counted.
        sample_rate: the share of predictions logged, 0 to 1.
        batch_size: the most entries per append.
        interval_s: how long the drain thread waits for a batch to fill.
        scrub: ``scrub(tenant_id, inputs)`` → the inputs with personal data
            anonymized by the tenant's policy, run on the drain thread. When it
            fails, the inputs are not logged at all (counted as ``unscrubbed``).
    """

    def __init__(  # noqa: PLR0913 - the log's knobs, all keyword-only but the store
        self,
        store: Callable[[], AnalyticsStore],
        *,
        capacity: int = 10_000,
        sample_rate: float = 1.0,
        batch_size: int = 1_000,
        interval_s: float = 0.5,
        scrub: Callable[[str, Any], Any] | None = None,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            msg = "the prediction log sample rate must be between 0 and 1"
            raise ValueError(msg)
        self._store = store
        self._scrub = scrub
        self.sample_rate = sample_rate
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.stats = LogStats()
        self.capacity = max(capacity, 1)
        self._queue: deque[LogEntry] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def offer(self, entry: LogEntry) -> bool:
        """Queue ``entry`` if sampled and there is room; never blocks."""
        self.stats.offered += 1
        if self.sample_rate < 1.0 and random.random() >= self.sample_rate:  # noqa: S311 - sampling
            self.stats.sampled_out += 1
            return False
        self._ensure_started()
        if len(self._queue) >= self.capacity:
            self.stats.dropped += 1
            return False
        self._queue.append(entry)  # atomic; the drain thread pops the other end
        return True

    @property
    def pending(self) -> int:
        """Entries waiting to be written."""
        return len(self._queue)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="prediction-log", daemon=True
                )
                self._thread.start()

    def _take(self) -> list[LogEntry]:
        """Up to ``batch_size`` entries, waiting up to ``interval_s`` for the first."""
        if not self._queue:
            self._stop.wait(self.interval_s)
        batch: list[LogEntry] = []
        pop = self._queue.popleft
        while len(batch) < self.batch_size:
            try:
                batch.append(pop())
            except IndexError:
                break
        return batch

    def _run(self) -> None:
        while not self._stop.is_set():
            self.flush(self._take())
        self.flush()

    def flush(self, batch: list[LogEntry] | None = None) -> int:
        """Write ``batch`` (default: everything queued now); how many were written."""
        if batch is None:
            batch = []
            while True:
                try:
                    batch.append(self._queue.popleft())
                except IndexError:
                    break
        if not batch:
            return 0
        records = [
            PredictionRecord(
                tenant_id=e.tenant_id,
                prediction_id=e.prediction_id,
                model=e.model,
                version=e.version,
                route=e.route,
                timestamp_us=e.timestamp_us,
                latency_us=e.latency_us,
                rows=e.rows,
                inputs=_json(self._scrubbed(e)),
                outputs=_json(e.outputs),
                status=e.status,
            )
            for e in batch
        ]
        try:
            written = self._store().append_predictions(records)
        except Exception:
            self.stats.failed += len(records)
            log.warning(
                "serving.prediction_log.failed", entries=len(records), exc_info=True
            )
            return 0
        self.stats.written += written
        return written

    def _scrubbed(self, entry: LogEntry) -> Any:  # noqa: ANN401 - JSON-like
        """The entry's inputs after the scrubber; a note if it failed (fail closed)."""
        if self._scrub is None:
            return entry.inputs
        try:
            return self._scrub(entry.tenant_id, entry.inputs)
        except Exception:
            self.stats.unscrubbed += 1
            log.warning(
                "serving.prediction_log.unscrubbed",
                tenant_id=entry.tenant_id,
                model=entry.model,
                exc_info=True,
            )
            return {"unscrubbed": "inputs withheld: the privacy scrubber failed"}

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the drain thread after writing what is queued."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        else:
            self.flush()
