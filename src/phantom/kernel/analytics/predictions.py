"""The analytics store's serving side: the prediction log, feedback and roll-ups.

Serving appends :class:`PredictionRecord` batches (sampled, scrubbed) from its
drain thread; monitoring reads windows of them for drift, joins them with
:class:`FeedbackRecord` labels for performance (:class:`LabelledPrediction`) and
rolls them up per model, version and route (:class:`ServingStats`).
:class:`PredictionQueries` is the part of
:class:`~phantom.kernel.analytics.port.AnalyticsStore` that does this; its
contract is the store's (tenant isolation, atomic batches, thread safety,
:class:`~phantom.kernel.errors.Unavailable` when closed) plus what each method
says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_WINDOW_ROWS",
    "STATUSES",
    "FeedbackRecord",
    "LabelledPrediction",
    "PredictionQueries",
    "PredictionRecord",
    "ServingStats",
]

STATUSES: Final = frozenset({"ok", "error"})
"""A logged request's outcome: answered, or refused (its outputs hold the code)."""

MAX_LABEL_CHARS: Final = 1_000
"""The longest label, as JSON text."""

MAX_WINDOW_ROWS: Final = 1_000_000
"""The most records one window query returns."""


class PredictionRecord(NamedTuple):
    """One logged prediction request (sampled by the serving context).

    Attributes:
        tenant_id: the owning tenant (1 to 64 characters).
        prediction_id: the id the caller got back (1 to 64 characters).
        model: the model's name (1 to 250 characters).
        version: the version that answered (or scored it, for ``shadow``).
        route: ``primary``, ``canary`` or ``shadow``.
        timestamp_us: when it was answered, in microseconds since the epoch.
        latency_us: how long the model took, in microseconds (>= 0).
        rows: how many instances the request held (>= 1).
        inputs: the instances as JSON text (already scrubbed where a policy says).
        outputs: the predictions (and probabilities) as JSON text; for an
            ``error``, the problem's code.
        status: ``ok``, or ``error`` for a request the model could not answer.
    """

    tenant_id: str
    prediction_id: str
    model: str
    version: int
    route: str
    timestamp_us: int
    latency_us: int
    rows: int
    inputs: str
    outputs: str
    status: str = "ok"


class FeedbackRecord(NamedTuple):
    """The ground truth of one row of one logged prediction.

    Attributes:
        tenant_id: the owning tenant.
        model: the model's name.
        prediction_id: the prediction the label is for.
        row: the instance's position in its request (>= 0).
        timestamp_us: when the label arrived; a later label of the same row
            replaces an earlier one.
        label: the true value as JSON text (at most 1,000 characters).
    """

    tenant_id: str
    model: str
    prediction_id: str
    row: int
    timestamp_us: int
    label: str


class LabelledPrediction(NamedTuple):
    """A logged prediction's row joined with its latest label.

    Attributes:
        prediction_id: the prediction.
        version: the version that answered.
        route: ``primary`` or ``canary`` (shadows never answered anyone).
        timestamp_us: when the prediction was answered.
        row: the instance's position in its request.
        outputs: the whole request's outputs, as logged (JSON text).
        label: the latest label of that row (JSON text).
    """

    prediction_id: str
    version: int
    route: str
    timestamp_us: int
    row: int
    outputs: str
    label: str


class ServingStats(NamedTuple):
    """One model version's logged traffic on one route over a period.

    Counts are of *logged* requests: with a prediction-log sample rate below one
    they are a sample, and the rates and percentiles estimates.

    Attributes:
        model: the model's name.
        version: the version.
        route: ``primary``, ``canary`` or ``shadow``.
        requests: requests logged.
        rows: instances scored.
        errors: requests the model could not answer.
        latency_p50_us: median model latency, in microseconds.
        latency_p95_us: 95th percentile.
        latency_p99_us: 99th percentile.
        first_us: the earliest request's time.
        last_us: the latest request's time.
    """

    model: str
    version: int
    route: str
    requests: int
    rows: int
    errors: int
    latency_p50_us: float
    latency_p95_us: float
    latency_p99_us: float
    first_us: int
    last_us: int


class PredictionQueries(Protocol):
    """The prediction log, its labels and its roll-ups, per tenant.

    Time bounds are in microseconds since the epoch, ``since_us`` inclusive and
    ``until_us`` exclusive; ``None`` leaves that side open.
    """

    def append_predictions(self, records: Sequence[PredictionRecord]) -> int:
        """Append logged predictions, atomically; return how many were written.

        Raises:
            InvalidInput: a record is malformed; nothing of the batch is written.
            Unavailable: the store cannot be used (or does not keep predictions).
        """
        ...

    def recent_predictions(  # noqa: PLR0913 - filters, all keyword-only
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
        """The tenant's latest logged predictions of ``model``, newest first.

        Args:
            tenant_id: the tenant asking.
            model: the model.
            limit: at most this many (1 to :data:`MAX_WINDOW_ROWS`).
            version: only this version's.
            since_us: only those answered at or after this time.
            until_us: only those answered before this time.
            status: only ``ok`` or only ``error`` records.

        Raises:
            InvalidInput: an argument is malformed.
            Unavailable: the store cannot be used.
        """
        ...

    def append_feedback(self, records: Sequence[FeedbackRecord]) -> int:
        """Append labels, atomically; return how many were written.

        Raises:
            InvalidInput: a record is malformed; nothing of the batch is written.
            Unavailable: the store cannot be used.
        """
        ...

    def labelled_predictions(  # noqa: PLR0913 - filters, all keyword-only
        self,
        tenant_id: str,
        model: str,
        *,
        version: int | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        limit: int = MAX_WINDOW_ROWS,
    ) -> list[LabelledPrediction]:
        """Answered rows of ``model`` that have a label, newest first.

        Only ``ok`` records of the ``primary`` and ``canary`` routes count; the
        time bounds apply to when the prediction was answered. Each row appears
        once, with its latest label (ties: the largest label text).

        Raises:
            InvalidInput: an argument is malformed.
            Unavailable: the store cannot be used.
        """
        ...

    def serving_stats(
        self,
        tenant_id: str,
        *,
        model: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> list[ServingStats]:
        """Logged traffic per model, version and route, ordered by those three.

        Raises:
            InvalidInput: an argument is malformed.
            Unavailable: the store cannot be used.
        """
        ...
