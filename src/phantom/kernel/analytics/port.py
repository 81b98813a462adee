"""The analytics store port: high-volume, append-mostly analytical data.

It holds experiment-tracking metric time series and, through
:class:`~phantom.kernel.analytics.predictions.PredictionQueries`, the serving
prediction log, its labels and roll-ups. The value types (:class:`MetricPoint`,
:class:`MetricHistory`, :class:`MetricStats`) and the :class:`AnalyticsStore`
protocol carry nothing of any one engine: the embedded adapter is DuckDB. The
argument checks every adapter applies live in :mod:`phantom.kernel.analytics.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol

from phantom.kernel.analytics.predictions import (
    FeedbackRecord,
    LabelledPrediction,
    PredictionQueries,
    PredictionRecord,
    ServingStats,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_ID_CHARS",
    "MAX_KEY_CHARS",
    "AnalyticsStore",
    "FeedbackRecord",
    "LabelledPrediction",
    "MetricHistory",
    "MetricPoint",
    "MetricStats",
    "PredictionRecord",
    "ServingStats",
    "sampled_positions",
]

MAX_ID_CHARS: Final = 64
"""The longest tenant or run id, in characters."""

MAX_KEY_CHARS: Final = 250
"""The longest metric key, in characters."""


class MetricPoint(NamedTuple):
    """One measurement of one metric of one run.

    Attributes:
        tenant_id: the owning tenant (1 to 64 characters).
        run_id: the run measured (1 to 64 characters).
        key: the metric's name (1 to 250 characters, no NUL).
        step: the training step, ``0 <= step < 2**63``.
        timestamp_us: when it was measured, in microseconds since the epoch
            (any signed 64-bit value).
        value: the measurement; NaN and ±infinity are stored as given.
    """

    tenant_id: str
    run_id: str
    key: str
    step: int
    timestamp_us: int
    value: float


@dataclass(frozen=True, slots=True)
class MetricHistory:
    """One metric of one run, as three parallel columns.

    Columnar so that a 100k-point history is cheap to build and to serialise.
    The three lists have the same length and are ordered by
    ``(step, timestamp_us, value)``.
    """

    key: str
    steps: list[int]
    timestamps_us: list[int]
    values: list[float]

    def __len__(self) -> int:
        """Return the number of points."""
        return len(self.steps)


@dataclass(frozen=True, slots=True)
class MetricStats:
    """A summary of one metric of one run.

    Attributes:
        last: the latest value (see :meth:`AnalyticsStore.latest_metrics`).
        min: the smallest value, NaN left out (NaN when every value is NaN).
        max: the largest value, NaN left out (NaN when every value is NaN).
        count: how many points were logged, NaN ones included.
        last_step: the highest step logged.
    """

    last: float
    min: float
    max: float
    count: int
    last_step: int


class AnalyticsStore(PredictionQueries, Protocol):
    """A synchronous, thread-safe, tenant-scoped store of analytical data.

    Contract (every adapter passes ``phantom.testing.contracts.analytics``):

    * **Tenant isolation.** Every read and delete takes a ``tenant_id`` and sees
      only that tenant's data: passing another tenant's run id finds nothing.
    * **Validation.** Ids are 1 to 64 characters, keys 1 to 250, neither holds NUL
      or a lone surrogate; steps are ints in ``[0, 2**63)``; timestamps ints in the
      signed 64-bit range; values ints or floats (``bool`` is refused), stored as
      floats, NaN and ±infinity faithfully. A violation is :class:`InvalidInput`
      whose detail names the field (and, in a batch, the point's index), and whose
      ``errors`` member carries its location, e.g. ``["points", 3, "step"]``.
    * **Atomic batches.** :meth:`append_metrics` writes all of a batch or, on any
      error, none of it. Once it returns, the points survive a crash of the
      process. Identical points are all kept (the store is append-only).
    * **Ordering.** A history is ordered by ``(step, timestamp_us, value)``, NaN
      after every number. "Latest" means the point that sorts last in that order.
    * **Concurrency.** Every method is safe to call from several threads at once;
      concurrent appends lose nothing.
    * **Failures.** A backend that cannot be used raises :class:`Unavailable`;
      after :meth:`close` every method except :meth:`close` raises it.
    """

    def append_metrics(self, points: Sequence[MetricPoint]) -> int:
        """Append one batch of points, atomically, and return how many were written.

        The points may belong to several tenants, runs and keys. An empty batch
        writes nothing and returns 0.

        Raises:
            InvalidInput: a point is malformed; nothing of the batch is written.
            Unavailable: the store cannot be used.
        """
        ...

    def metric_history(
        self,
        tenant_id: str,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
    ) -> MetricHistory:
        """Return the points of one metric of one run, in order.

        Args:
            tenant_id: the tenant asking.
            run_id: the run.
            key: the metric.
            max_points: at most this many points (>= 1). A longer history is
                sampled evenly by position, first and last points always kept:
                the points at :func:`sampled_positions` ``(n, max_points)``.
                ``None`` returns every point.

        Returns:
            The history; empty (not an error) when nothing matches.

        Raises:
            InvalidInput: an argument is malformed.
            Unavailable: the store cannot be used.
        """
        ...

    def latest_metrics(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, float]]:
        """Return each run's latest value of each of its metrics.

        The latest value is the one at the highest step; ties go to the latest
        timestamp, then to the largest value (NaN above every number). This is
        what run search and side-by-side comparison show.

        Args:
            tenant_id: the tenant asking.
            run_ids: the runs wanted (a ``str`` is refused, not iterated);
                duplicates are harmless.

        Returns:
            ``run_id -> key -> value``; runs without points are left out.

        Raises:
            InvalidInput: an argument is malformed.
            Unavailable: the store cannot be used.
        """
        ...

    def metric_summary(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, MetricStats]]:
        """Return a :class:`MetricStats` for each metric of each run.

        Args:
            tenant_id: the tenant asking.
            run_ids: the runs wanted, as for :meth:`latest_metrics`.

        Returns:
            ``run_id -> key -> stats``; runs without points are left out.

        Raises:
            InvalidInput: an argument is malformed.
            Unavailable: the store cannot be used.
        """
        ...

    def delete_run(self, tenant_id: str, run_id: str) -> int:
        """Delete every point of the tenant's run and return how many went.

        Raises:
            InvalidInput: an argument is malformed.
            Unavailable: the store cannot be used.
        """
        ...

    def ping(self) -> None:
        """Check that the store is usable (for ``/readyz``).

        Raises:
            Unavailable: the store cannot be used or is closed.
        """
        ...

    def close(self) -> None:
        """Release the store; idempotent. It is unusable afterwards."""
        ...


def sampled_positions(count: int, max_points: int) -> list[int]:
    """Return the positions a history of ``count`` points keeps for ``max_points``.

    With ``count <= max_points`` every position is kept. Otherwise position ``i``
    of ``max_points`` is ``round(i * (count - 1) / (max_points - 1))`` (halves
    rounded up), so the first and the last point are always kept; a single point
    kept is the last one.

    Args:
        count: the length of the full history (>= 0).
        max_points: the most points wanted (>= 1).

    Returns:
        Increasing positions in ``range(count)``.
    """
    if count <= max_points:
        return list(range(count))
    if max_points == 1:
        return [count - 1]
    span, gaps = 2 * (count - 1), 2 * (max_points - 1)
    return [(i * span + max_points - 1) // gaps for i in range(max_points)]
